"""Quiz statistics as Moodle's quiz statistics report defines them. Pure functions: plain
data in (counts aggregated by SQL in analytics_queries.py), plain data out; no Flask, no DB.

Moodle's definitions (question/classes/statistics/questions/calculator.php and
mod/quiz/report/statistics/classes/calculator.php):

- facility index: mean item mark / item maximum;
- item SD: sample SD (n - 1) of the item mark, as a fraction of its maximum;
- discrimination index: Pearson correlation of the item mark with the rest of the quiz
  (attempt total minus the item);
- discriminative efficiency: cov(item, rest) / the largest covariance the same two
  distributions could reach, i.e. with both sorted ascending and paired off;
- skewness k3 / k2^1.5 and kurtosis k4 / k2^2 from the sample cumulants k2, k3, k4;
- coefficient of internal consistency (Cronbach's alpha):
  p / (p - 1) * (1 - sum of slot mark variances / k2), p = number of slots;
- error ratio sqrt(1 - alpha); standard error of measurement = error ratio * SD.

A slot is one place in the quiz: a question for fixed quizzes, a (topic, level) draw group
for quizzes that draw questions at random (as Moodle's random-question slots).
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

FACILITY_LOW = 0.2
FACILITY_HIGH = 0.9
DISCRIMINATION_LOW = 0.25
BINS = 10


@dataclass(frozen=True)
class Item:
    """A question version as the statistics need it."""

    id: int
    slug: str
    topic: str
    level: str
    points: float
    prompt: str = ""


@dataclass
class Data:
    """What SQL aggregated for one quiz and one choice of attempts.

    totals: (score, max_score, count) per distinct attempt total;
    cells: (question id, item score, attempt total, count): every question presented in an
           analysed attempt, unanswered ones with score 0;
    slots: slot -> (sum, sum of squares) of the per-attempt slot score, when a slot can hold
           more than one question per attempt (else derived from `cells`)."""

    items: dict[int, Item]
    started: int
    completed: int
    totals: list[tuple[float, float, int]]
    cells: list[tuple[int, float, float, int]]
    slot_of: dict[str, str] = field(default_factory=dict)  # slug -> slot
    slots: dict[str, tuple[float, float]] | None = None


@dataclass(frozen=True)
class Flag:
    code: str
    reason: str


@dataclass
class ItemStats:
    slug: str
    topic: str
    level: str
    prompt: str
    n: int
    facility: float | None
    sd: float | None
    discrimination: float | None
    efficiency: float | None
    flags: list[Flag]


@dataclass(frozen=True)
class Bin:
    low: int
    high: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}%"


@dataclass
class Report:
    attempts: int
    started: int
    completed: int
    completion_rate: float | None
    mean: float | None  # percent of the maximum score
    median: float | None
    sd: float | None
    skewness: float | None
    kurtosis: float | None
    alpha: float | None
    error_ratio: float | None
    sem: float | None  # percent, like the SD
    slots: int
    histogram: list[Bin]
    topics: list[tuple[str, int, float]]  # (topic, questions, average percent)
    questions: list[ItemStats]

    @property
    def flagged(self) -> list[ItemStats]:
        return [q for q in self.questions if q.flags]


# --------------------------------------------------------------------------- distributions


def percent(score: float, max_score: float) -> float | None:
    """An attempt's score in percent of its maximum (6 decimals: bin edges are exact)."""
    return round(100 * score / max_score, 6) if max_score else None


def histogram(values: Iterable[tuple[float, int]], bins: int = BINS) -> list[Bin]:
    """Counts of percent values in `bins` equal bins over 0-100; the last bin includes 100."""
    width = 100 // bins
    counts = [0] * bins
    for value, count in values:
        counts[min(bins - 1, max(0, int(value // width)))] += count
    return [Bin(i * width, (i + 1) * width, c) for i, c in enumerate(counts)]


def median(values: Iterable[tuple[float, int]]) -> float | None:
    """Median of (value, count) pairs: the middle value, or the mean of the middle two."""
    ordered = sorted(values)
    n = sum(c for _, c in ordered)
    if n == 0:
        return None
    wanted = [(n - 1) // 2, n // 2]  # 0-based ranks of the middle value(s)
    found, seen = [], 0
    for value, count in ordered:
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return sum(found) / 2


@dataclass(frozen=True)
class Moments:
    n: int
    mean: float | None
    variance: float | None  # sample variance k2 (n - 1)
    skewness: float | None
    kurtosis: float | None  # excess kurtosis

    @property
    def sd(self) -> float | None:
        return math.sqrt(self.variance) if self.variance is not None else None


def moments(values: Iterable[tuple[float, int]]) -> Moments:
    """Mean, sample variance, and Moodle's sample skewness and kurtosis (from k2, k3, k4)."""
    values = [(v, c) for v, c in values if c]
    s = sum(c for _, c in values)
    if s == 0:
        return Moments(0, None, None, None, None)
    mean = sum(v * c for v, c in values) / s
    if s < 2:
        return Moments(s, mean, None, None, None)
    p2 = sum(c * (v - mean) ** 2 for v, c in values)
    p3 = sum(c * (v - mean) ** 3 for v, c in values)
    p4 = sum(c * (v - mean) ** 4 for v, c in values)
    m2, m3, m4 = p2 / s, p3 / s, p4 / s
    k2 = s * m2 / (s - 1)
    skewness = kurtosis = None
    if s > 2 and k2 > 0:
        k3 = s * s * m3 / ((s - 1) * (s - 2))
        skewness = k3 / k2**1.5
        if s > 3:
            k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
            kurtosis = k4 / (k2 * k2)
    return Moments(s, mean, k2, skewness, kurtosis)


# --------------------------------------------------------------------------- items


def _sorted_covariance(
    xs: list[tuple[float, int]], ys: list[tuple[float, int]], mx: float, my: float
) -> float:
    """Sum of (x - mx)(y - my) pairing both distributions in ascending order: the largest
    co-variation two such distributions can have (Moodle's covariancemax, times n - 1)."""
    xs, ys = sorted(xs), sorted(ys)
    i = j = 0
    left_x, left_y = xs[0][1], ys[0][1]
    total = 0.0
    while i < len(xs) and j < len(ys):
        take = min(left_x, left_y)
        total += take * (xs[i][0] - mx) * (ys[j][0] - my)
        left_x -= take
        left_y -= take
        if left_x == 0:
            i += 1
            left_x = xs[i][1] if i < len(xs) else 0
        if left_y == 0:
            j += 1
            left_y = ys[j][1] if j < len(ys) else 0
    return total


def item_stats(item: Item, cells: list[tuple[int, float, float, int]], points) -> ItemStats:
    """Statistics of one question (all its versions) from its (id, mark, total, count)
    cells; `points` maps a version id to its maximum mark."""
    n = sum(c for *_, c in cells)
    blank = ItemStats(item.slug, item.topic, item.level, item.prompt, n, None, None, None, None, [])
    if n == 0:
        return blank
    fractions: dict[float, int] = defaultdict(int)
    marks: dict[float, int] = defaultdict(int)
    rests: dict[float, int] = defaultdict(int)
    for qid, x, total, count in cells:
        fractions[x / points[qid] if points[qid] else 0.0] += count
        marks[x] += count
        rests[total - x] += count
    blank.facility = sum(f * c for f, c in fractions.items()) / n
    if n < 2:
        return _flag(blank)
    mx = sum(x * c for x, c in marks.items()) / n
    mr = sum(r * c for r, c in rests.items()) / n
    sxx = sum(c * (x - mx) ** 2 for x, c in marks.items())
    srr = sum(c * (r - mr) ** 2 for r, c in rests.items())
    sxr = sum(c * (x - mx) * (total - x - mr) for _, x, total, c in cells)
    mf = blank.facility
    blank.sd = math.sqrt(sum(c * (f - mf) ** 2 for f, c in fractions.items()) / (n - 1))
    if sxx > 0 and srr > 0:
        blank.discrimination = sxr / math.sqrt(sxx * srr)
    most = _sorted_covariance(list(marks.items()), list(rests.items()), mx, mr)
    if most > 0:
        blank.efficiency = sxr / most
    return _flag(blank)


def _flag(stats: ItemStats) -> ItemStats:
    """Attach Moodle-style warnings: too hard, too easy, does not discriminate."""
    f, d = stats.facility, stats.discrimination
    if f is not None and f < FACILITY_LOW:
        stats.flags.append(
            Flag(
                "too_hard",
                f"Facility {f:.2f} is below {FACILITY_LOW}: few candidates get it right "
                "(too hard, or the key may be wrong).",
            )
        )
    if f is not None and f > FACILITY_HIGH:
        stats.flags.append(
            Flag(
                "too_easy",
                f"Facility {f:.2f} is above {FACILITY_HIGH}: nearly everyone gets it right, "
                "so it tells candidates apart very little.",
            )
        )
    if d is not None and d < DISCRIMINATION_LOW:
        stats.flags.append(
            Flag(
                "low_discrimination",
                f"Discrimination {d:.2f} is below {DISCRIMINATION_LOW}: scoring well on it "
                "hardly goes with scoring well on the rest of the quiz.",
            )
        )
    elif d is None and stats.n >= 2:
        stats.flags.append(
            Flag(
                "no_discrimination",
                "Discrimination cannot be computed: every candidate scored the same on it "
                "(or on the rest of the quiz).",
            )
        )
    return stats


# --------------------------------------------------------------------------- the quiz


def slot_sums(data: Data) -> dict[str, tuple[float, float]]:
    """Slot -> (sum, sum of squares) of slot scores, derived from cells when each analysed
    attempt holds exactly one question per slot."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for qid, x, _, count in data.cells:
        slug = data.items[qid].slug
        acc = sums[data.slot_of.get(slug, slug)]
        acc[0] += x * count
        acc[1] += x * x * count
    return {k: (a, b) for k, (a, b) in sums.items()}


def cronbach_alpha(n: int, slots: dict[str, tuple[float, float]], total_variance) -> float | None:
    """Coefficient of internal consistency from each slot's (sum, sum of squares) over the
    `n` attempts and the sample variance of the attempt totals."""
    p = len(slots)
    if p < 2 or n < 2 or not total_variance:
        return None
    variances = sum((sq - s * s / n) / (n - 1) for s, sq in slots.values())
    return p / (p - 1) * (1 - variances / total_variance)


def analyse(data: Data) -> Report:
    """Every figure of the report for one quiz."""
    by_percent: dict[float, int] = defaultdict(int)
    raw: dict[float, int] = defaultdict(int)
    for score, max_score, count in data.totals:
        value = percent(score or 0.0, max_score or 0.0)
        if value is not None:
            by_percent[value] += count
        raw[score or 0.0] += count
    n = sum(raw.values())
    pct = moments(by_percent.items())
    total = moments(raw.items())
    slots = data.slots if data.slots is not None else slot_sums(data)
    alpha = cronbach_alpha(n, slots, total.variance)
    error_ratio = math.sqrt(1 - alpha) if alpha is not None and alpha <= 1 else None
    sem = error_ratio * pct.sd if error_ratio is not None and pct.sd is not None else None
    return Report(
        attempts=n,
        started=data.started,
        completed=data.completed,
        completion_rate=data.completed / data.started if data.started else None,
        mean=pct.mean,
        median=median(by_percent.items()),
        sd=pct.sd,
        skewness=pct.skewness,
        kurtosis=pct.kurtosis,
        alpha=alpha,
        error_ratio=error_ratio,
        sem=sem,
        slots=len(slots),
        histogram=histogram(by_percent.items()),
        topics=topic_averages(data),
        questions=questions(data),
    )


def questions(data: Data) -> list[ItemStats]:
    """Per-question statistics, one row per slug (its versions pooled), in topic order."""
    by_slug: dict[str, list] = defaultdict(list)
    for cell in data.cells:
        by_slug[data.items[cell[0]].slug].append(cell)
    points = {qid: item.points for qid, item in data.items.items()}
    latest = {}
    for item in sorted(data.items.values(), key=lambda i: i.id):
        latest[item.slug] = item  # the newest version describes the question
    rows = [item_stats(latest[slug], cells, points) for slug, cells in by_slug.items()]
    return sorted(rows, key=lambda r: (r.topic, r.level, r.slug))


def topic_averages(data: Data) -> list[tuple[str, int, float]]:
    """(topic, questions asked, percent of the topic's points earned) over analysed attempts."""
    earned: dict[str, float] = defaultdict(float)
    possible: dict[str, float] = defaultdict(float)
    slugs: dict[str, set] = defaultdict(set)
    for qid, x, _, count in data.cells:
        item = data.items[qid]
        earned[item.topic] += x * count
        possible[item.topic] += item.points * count
        slugs[item.topic].add(item.slug)
    return [
        (topic, len(slugs[topic]), 100 * earned[topic] / possible[topic])
        for topic in sorted(possible)
        if possible[topic]
    ]


# --------------------------------------------------------------------------- the chart


@dataclass(frozen=True)
class Chart:
    """A histogram's geometry in SVG user units (the template draws it; no styles inline)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[tuple[Bin, float, float, float, float]]  # bin, x, y, width, height
    ticks: list[tuple[int, float]]  # (count, y)
    edges: list[tuple[int, float]]  # (percent, x) on the x axis


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... that is at least `value` (at least 1)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def chart(bins: list[Bin], width: int = 640, height: int = 260) -> Chart:
    """Bars and y-axis ticks for `bins`, scaled to a nice maximum."""
    left, top, right, bottom = 48, 12, 8, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_count = _nice_ceiling(max((b.count for b in bins), default=0))
    slot = plot_w / max(len(bins), 1)
    bars = []
    for i, b in enumerate(bins):
        h = plot_h * b.count / top_count
        bars.append((b, left + i * slot + 2, top + plot_h - h, slot - 4, h))
    ticks = [(top_count * k // 4, top + plot_h - plot_h * k / 4) for k in range(5)]
    if top_count < 4:
        ticks = [(c, top + plot_h - plot_h * c / top_count) for c in range(top_count + 1)]
    edges = [(100 * i // max(len(bins), 1), left + i * slot) for i in range(len(bins) + 1)]
    return Chart(width, height, left, top, plot_w, plot_h, bars, ticks, edges)
