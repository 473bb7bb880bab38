"""Quiz statistics: every figure against an independent numpy/scipy computation on generated
attempts, the first-attempts rule, the counts kept up to date as attempts complete, and the
reviewers' page."""

import random
import re
from collections import defaultdict

import numpy as np
import pytest
from analytics_data import first_completed, populate
from conftest import HX
from scipy import stats as sps
from test_auth import login, make_user, token

from quiz import analytics, analytics_queries, analytics_store, attempts
from quiz.models import Answer, Attempt, Question, Quiz, StatState

EXACT = {"rel": 1e-9, "abs": 1e-9}


# --------------------------------------------------------------------------- reference


def reference(records, questions, slot_of, first_only=True):
    """Every figure of the report, computed from the generated records with numpy/scipy."""
    done = [r for r in records if r.status != "in_progress"]
    chosen = first_completed(records) if first_only else done
    by_id = {q.id: q for q in questions}
    totals = np.array([r.total for r in chosen])
    maxes = np.array([sum(by_id[q].points for q in r.question_ids) for r in chosen], float)
    pct = np.round(100 * totals / maxes, 6)
    out = {
        "attempts": len(chosen),
        "mean": pct.mean(),
        "median": np.median(pct),
        "sd": pct.std(ddof=1),
        "skewness": sps.skew(pct, bias=False),
        "kurtosis": sps.kurtosis(pct, bias=False),  # excess kurtosis, unbiased (G2)
        "histogram": list(np.histogram(pct, bins=np.linspace(0, 100, 11))[0]),
    }
    if first_only:
        out["started"] = len({r.candidate for r in records})
        out["completed"] = len({r.candidate for r in done})
    else:
        out["started"], out["completed"] = len(records), len(done)
    # Slots: one column per slot, the attempt's score in it (the sum of its questions there).
    slots = sorted({slot_of[by_id[q].slug] for r in chosen for q in r.question_ids})
    matrix = np.zeros((len(chosen), len(slots)))
    for i, r in enumerate(chosen):
        for q in r.question_ids:
            matrix[i, slots.index(slot_of[by_id[q].slug])] += r.scores.get(q, 0.0)
    p = len(slots)
    out["alpha"] = p / (p - 1) * (1 - matrix.var(axis=0, ddof=1).sum() / totals.var(ddof=1))
    out["error_ratio"] = np.sqrt(1 - out["alpha"])
    out["sem"] = out["error_ratio"] * out["sd"]
    # Items: one per slug, versions pooled, over the attempts that were given it.
    marks = defaultdict(list)  # slug -> [(mark, total, max)]
    earned, possible = defaultdict(float), defaultdict(float)
    for r in chosen:
        for q in r.question_ids:
            x = r.scores.get(q, 0.0)
            marks[by_id[q].slug].append((x, r.total, by_id[q].points))
            earned[by_id[q].topic] += x
            possible[by_id[q].topic] += by_id[q].points
    out["topics"] = {t: 100 * earned[t] / possible[t] for t in possible}
    out["items"] = {}
    for slug, rows in marks.items():
        x, total, top = (np.array(c, float) for c in zip(*rows, strict=True))
        rest = total - x
        cov = np.cov(x, rest, ddof=1)[0, 1]
        best = np.cov(np.sort(x), np.sort(rest), ddof=1)[0, 1]
        out["items"][slug] = {
            "n": len(x),
            "facility": (x / top).mean(),
            "sd": (x / top).std(ddof=1),
            "discrimination": np.corrcoef(x, rest)[0, 1],
            "efficiency": cov / best,
        }
    return out


def assert_matches(report: analytics.Report, ref: dict) -> None:
    for name in ("attempts", "started", "completed"):
        assert getattr(report, name) == ref[name], name
    for name in ("mean", "median", "sd", "skewness", "kurtosis", "alpha", "error_ratio", "sem"):
        assert getattr(report, name) == pytest.approx(ref[name], **EXACT), name
    assert report.completion_rate == pytest.approx(ref["completed"] / ref["started"])
    assert [b.count for b in report.histogram] == ref["histogram"]
    assert {t: a for t, _, a in report.topics} == pytest.approx(ref["topics"], **EXACT)
    assert {q.slug for q in report.questions} == set(ref["items"])
    for q in report.questions:
        want = ref["items"][q.slug]
        assert q.n == want["n"], q.slug
        for name in ("facility", "sd", "discrimination", "efficiency"):
            assert getattr(q, name) == pytest.approx(want[name], **EXACT), (q.slug, name)


def current_questions():
    return list(Question.select().where(Question.current == True).order_by(Question.id))  # noqa: E712


def new_version(slug: str) -> Question:
    """A second version of a question (as the bank editor makes one)."""
    old = Question.get(Question.slug == slug, Question.current == True)  # noqa: E712
    Question.update(current=False).where(Question.id == old.id).execute()
    return Question.create(
        slug=old.slug,
        topic=old.topic,
        level=old.level,
        kind=old.kind,
        prompt=old.prompt + " (v2)",
        points=old.points,
        version=old.version + 1,
    )


# --------------------------------------------------------------------------- pure formulas


def test_moments_match_scipy_sample_formulas():
    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 10.0, size=500).round(1)
    pairs = list(zip(*np.unique(values, return_counts=True), strict=True))
    m = analytics.moments(pairs)
    assert m.mean == pytest.approx(values.mean(), **EXACT)
    assert m.sd == pytest.approx(values.std(ddof=1), **EXACT)
    assert m.skewness == pytest.approx(sps.skew(values, bias=False), **EXACT)
    assert m.kurtosis == pytest.approx(sps.kurtosis(values, bias=False), **EXACT)
    assert analytics.median(pairs) == pytest.approx(np.median(values))
    assert analytics.median([(1.0, 1), (3.0, 1)]) == 2.0
    assert analytics.moments([(5.0, 1)]).sd is None  # one attempt: no spread
    assert analytics.moments([(5.0, 3)]).skewness is None  # no variance: no shape


def test_histogram_bins_match_numpy_including_the_edges():
    values = [0.0, 9.999999, 10.0, 55.5, 89.9, 90.0, 99.99, 100.0]
    bins = analytics.histogram((v, 1) for v in values)
    assert [b.count for b in bins] == list(np.histogram(values, np.linspace(0, 100, 11))[0])
    assert (bins[0].low, bins[-1].high) == (0, 100)


def test_discriminative_efficiency_is_covariance_over_the_sorted_maximum():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, size=200).astype(float)
    rest = (x * 2 + rng.integers(0, 6, size=200)).astype(float)
    cells = defaultdict(int)
    for a, r in zip(x, rest, strict=True):
        cells[(1, a, a + r)] += 1
    item = analytics.Item(1, "q", "t", "mid", 2.0)
    stats = analytics.item_stats(item, [(*k, n) for k, n in cells.items()], {1: 2.0})
    best = np.cov(np.sort(x), np.sort(rest), ddof=1)[0, 1]
    assert stats.efficiency == pytest.approx(np.cov(x, rest, ddof=1)[0, 1] / best, **EXACT)
    assert stats.discrimination == pytest.approx(np.corrcoef(x, rest)[0, 1], **EXACT)
    assert 0 < stats.discrimination < stats.efficiency <= 1


@pytest.mark.parametrize(
    "facility, discrimination, codes",
    [
        (0.1, 0.5, {"too_hard"}),
        (0.95, 0.5, {"too_easy"}),
        (0.5, 0.1, {"low_discrimination"}),
        (0.05, 0.1, {"too_hard", "low_discrimination"}),
        (0.5, 0.3, set()),
        (0.2, 0.25, set()),  # the limits themselves are fine
    ],
)
def test_flags_say_why(facility, discrimination, codes):
    stats = analytics.ItemStats("q", "t", "mid", "", 50, facility, 0.1, discrimination, 0.5, [])
    flags = analytics._flag(stats).flags
    assert {f.code for f in flags} == codes
    for f in flags:
        assert ("Facility" in f.reason) or ("Discrimination" in f.reason)


def test_chart_scales_bars_to_a_nice_maximum():
    bins = analytics.histogram([(5.0, 3), (55.0, 7)])
    c = analytics.chart(bins)
    assert c.ticks[0][0] == 0 and c.ticks[-1][0] == 10  # 7 rounds up to 10
    tallest = max(c.bars, key=lambda b: b[4])
    assert tallest[0].count == 7 and tallest[4] == pytest.approx(c.plot_height * 0.7)
    assert [label for label, _ in c.edges] == list(range(0, 101, 10))


# --------------------------------------------------------------------------- from the database


@pytest.fixture
def basics(app):
    """The fixed six-question quiz, one question with two versions in use, 150 candidates."""
    quiz = Quiz.get(Quiz.slug == "basics")
    v1 = Question.get(Question.slug == "t-single").id
    v2 = new_version("t-single").id
    groups = [[v1, v2] if q.slug == "t-single" else [q.id] for q in current_questions()]
    records = populate(quiz, 150, random.Random(7), groups=groups)
    questions = list(Question.select())
    return quiz, records, questions, {q.slug: q.slug for q in questions}


@pytest.mark.parametrize("first_only", [True, False])
def test_fixed_quiz_matches_the_reference(basics, first_only):
    quiz, records, questions, slot_of = basics
    ref = reference(records, questions, slot_of, first_only)
    assert ref["attempts"] < len(records)  # retakes and unfinished attempts were generated
    assert_matches(analytics_queries.report(quiz, first_only), ref)
    assert_matches(analytics_store.report(quiz, first_only), ref)


def test_first_attempts_rule(basics):
    """Per invitation or per browser, the lowest-id completed attempt; open ones skipped."""
    quiz, records, *_ = basics
    expected = {r.id for r in first_completed(records)}
    got = {i for (i,) in analytics_queries.first_attempts(quiz).tuples()}
    assert got == expected
    by_candidate = defaultdict(list)
    for r in records:
        by_candidate[r.candidate].append(r)
    retook = [
        rs for rs in by_candidate.values() if len([r for r in rs if r.status != "in_progress"]) > 1
    ]
    skipped_open = [
        rs for rs in by_candidate.values() if rs[0].status == "in_progress" and len(rs) > 1
    ]
    assert retook and skipped_open  # the generated data exercises both cases
    assert all(min(r.id for r in rs if r.status != "in_progress") in got for rs in retook)


def test_versions_are_pooled_by_slug(basics):
    quiz, *_ = basics
    report = analytics_store.report(quiz)
    assert [q.slug for q in report.questions].count("t-single") == 1
    single = next(q for q in report.questions if q.slug == "t-single")
    assert single.n == report.attempts and single.prompt.endswith("(v2)")


def test_drawn_quiz_uses_topic_level_slots(app):
    quiz = Quiz.get(Quiz.slug == "draw")
    groups = defaultdict(list)
    for q in current_questions():
        groups[(q.topic, q.level)].append(q.id)
    records = populate(quiz, 200, random.Random(11), groups=list(groups.values()))
    questions = list(Question.select())
    slot_of = {q.slug: f"{q.topic}/{q.level}" for q in questions}
    report = analytics_store.report(quiz)
    assert report.slots == 3
    assert_matches(report, reference(records, questions, slot_of))
    assert_matches(analytics_queries.report(quiz), reference(records, questions, slot_of))


def test_several_per_group_sums_the_group(app):
    """Two questions drawn per (topic, level): a slot's score is the sum of both."""
    quiz = Quiz.create(
        slug="two-each", title="Two each", selection={"topics": ["basics"], "per_topic_level": 2}
    )
    records = populate(quiz, 120, random.Random(13), groups=[[q.id] for q in current_questions()])
    questions = list(Question.select())
    slot_of = {q.slug: f"{q.topic}/{q.level}" for q in questions}
    for first_only in (True, False):
        ref = reference(records, questions, slot_of, first_only)
        assert_matches(analytics_store.report(quiz, first_only), ref)
        assert_matches(analytics_queries.report(quiz, first_only), ref)
    assert analytics_store.report(quiz).slots == 3


# --------------------------------------------------------------------------- kept up to date


def finish_with(quiz, owner, marks, invitation=None):
    """Start an attempt, store these marks (question id -> score) and finish it."""
    attempt = attempts.start(quiz, owner, invitation=invitation)
    for qid in attempt.question_ids:
        if qid in marks:
            Answer.create(attempt=attempt, question=qid, response={"x": 1}, score=marks[qid])
    return attempt


def same_report(a: analytics.Report, b: analytics.Report) -> None:
    assert (a.attempts, a.started, a.completed) == (b.attempts, b.started, b.completed)
    for name in ("mean", "median", "sd", "skewness", "kurtosis", "alpha"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), **EXACT), name
    assert [(q.slug, q.n) for q in a.questions] == [(q.slug, q.n) for q in b.questions]
    for qa, qb in zip(a.questions, b.questions, strict=True):
        for name in ("facility", "discrimination", "efficiency"):
            assert getattr(qa, name) == pytest.approx(getattr(qb, name), **EXACT), name


def test_counts_follow_attempts_as_they_complete(basics):
    quiz, *_ = basics
    analytics_store.report(quiz)  # builds the counts
    built = StatState.get(StatState.quiz == quiz).completed
    rng = random.Random(3)
    ids = [q.id for q in current_questions()]
    # A candidate with two attempts: the later-started one finishes first, then the other,
    # which becomes the candidate's first attempt (lowest id) in place of it.
    early = finish_with(quiz, "two-tabs", {i: float(rng.random() < 0.5) for i in ids})
    late = finish_with(quiz, "two-tabs", {i: 1.0 for i in ids})
    attempts.finish(late)
    same_report(analytics_store.report(quiz), analytics_queries.report(quiz))
    attempts.finish(early)
    for first_only in (True, False):
        same_report(
            analytics_store.report(quiz, first_only), analytics_queries.report(quiz, first_only)
        )
    for n in range(5):  # ordinary candidates
        attempts.finish(finish_with(quiz, f"new-{n}", {i: float(rng.random() < 0.6) for i in ids}))
    state = StatState.get(StatState.quiz == quiz)
    assert state.completed == built + 7
    assert analytics_store.report(quiz, False).attempts == state.completed
    same_report(analytics_store.report(quiz), analytics_queries.report(quiz))


def test_a_failing_listener_never_stops_an_attempt_closing(basics, monkeypatch):
    quiz, *_ = basics
    analytics_store.report(quiz)

    def broken(*args, **kwargs):
        raise RuntimeError("statistics are down")

    monkeypatch.setattr(analytics_store, "contribution", broken)
    attempt = attempts.finish(finish_with(quiz, "unlucky", {}))
    assert attempt.status == "submitted"
    monkeypatch.undo()
    # The counts missed it; the next read notices and rebuilds them.
    assert StatState.get(StatState.quiz == quiz).completed < attempts_completed(quiz)
    same_report(analytics_store.report(quiz), analytics_queries.report(quiz))
    assert StatState.get(StatState.quiz == quiz).completed == attempts_completed(quiz)


def attempts_completed(quiz) -> int:
    return Attempt.select().where(Attempt.quiz == quiz, Attempt.status != "in_progress").count()


def test_an_empty_quiz_has_no_figures(app):
    report = analytics_store.report(Quiz.get(Quiz.slug == "timed"))
    assert report.attempts == 0 and report.mean is None and report.alpha is None
    assert report.questions == [] and sum(b.count for b in report.histogram) == 0


# --------------------------------------------------------------------------- the page


@pytest.fixture
def reviewer(app, client):
    make_user("reviewer@example.com", role="reviewer")
    login(client, "reviewer@example.com")
    return client


def test_page_shows_figures_chart_table_and_flags(basics, reviewer):
    quiz, records, questions, slot_of = basics
    r = reviewer.get("/dashboard/quizzes/basics")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    report = analytics_store.report(quiz)
    assert f"<dd>{report.attempts}</dd>" in html
    assert f"{report.mean:.1f}%" in html and f"{report.alpha:.2f}" in html
    # The SVG: one bar per band, heights proportional to the counts; the same in the table.
    assert html.count('<rect class="bar"') == 10
    assert 'role="img"' in html and "<title" in html
    for b in report.histogram:
        assert f"{b.low}–{b.high}%: {b.count} attempts" in html
    rows = re.findall(r"<tr><th scope=\"row\">(\d+)% to [^<]*</th><td>(\d+)</td></tr>", html)
    assert [(int(a), int(c)) for a, c in rows] == [(b.low, b.count) for b in report.histogram]
    # Every question with its facility; flagged ones with their reasons.
    for q in report.questions:
        assert q.slug in html and f"{100 * q.facility:.1f}%" in html
        for f in q.flags:
            assert f.reason.replace("'", "&#39;") in html
    assert " style=" not in html and "<style" not in html  # CSP: no inline styles


def test_flags_appear_for_a_question_nobody_gets_right(app, reviewer):
    quiz = Quiz.get(Quiz.slug == "basics")
    rng = random.Random(2)
    ids = [q.id for q in current_questions()]
    for n in range(12):
        marks = {i: float(rng.random() < 0.6) for i in ids}
        marks[ids[0]] = 0.0  # nobody answers the first question right
        attempts.finish(finish_with(quiz, f"c{n}", marks))
    html = reviewer.get("/dashboard/quizzes/basics").get_data(as_text=True)
    assert "Facility 0.00 is below 0.2" in html
    assert "every candidate scored the same on it" in html  # no variance: no discrimination


def test_toggle_to_all_attempts_and_htmx_fragment(basics, reviewer):
    quiz, *_ = basics
    everyone = analytics_store.report(quiz, first_only=False)
    r = reviewer.get("/dashboard/quizzes/basics?attempts=all", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith(("{%", '<div id="report"'))
    assert "<html" not in html and f"<dd>{everyone.attempts}</dd>" in html
    assert 'aria-current="page" class="current">All attempts' in html
    page = reviewer.get("/dashboard/quizzes/basics?attempts=nonsense").get_data(as_text=True)
    assert 'aria-current="page" class="current">First attempts' in page


def test_index_lists_quizzes_with_counts(basics, reviewer):
    quiz, records, *_ = basics
    html = reviewer.get("/dashboard/quizzes").get_data(as_text=True)
    done = len([r for r in records if r.status != "in_progress"])
    assert 'href="/dashboard/quizzes/basics"' in html and f"<td>{done}</td>" in html


def test_unknown_quiz_is_404_and_recruiters_are_refused(app, client):
    make_user("admin@example.com", role="admin")
    make_user("rec@example.com", role="recruiter")
    login(client, "admin@example.com")
    assert client.get("/dashboard/quizzes/nope").status_code == 404
    assert client.get("/dashboard/quizzes/basics").status_code == 200
    other = app.test_client()
    login(other, "rec@example.com")
    assert other.get("/dashboard/quizzes/basics").status_code == 403
    assert app.test_client().get("/dashboard/quizzes/basics").status_code == 303  # to sign-in


def test_recalculate_rebuilds_after_changes_behind_its_back(basics, reviewer):
    quiz, *_ = basics
    before = analytics_store.report(quiz, False).attempts
    # An attempt deleted directly in the database: the counts cannot know.
    victim = Attempt.select().where(Attempt.quiz == quiz, Attempt.status == "submitted").first()
    Answer.delete().where(Answer.attempt == victim).execute()
    Attempt.delete().where(Attempt.id == victim.id).execute()
    assert analytics_store.report(quiz, False).attempts == before  # stale
    csrf = token(reviewer, "/dashboard/quizzes/basics")
    r = reviewer.post("/dashboard/quizzes/basics/recalculate", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["Location"] == "/dashboard/quizzes/basics"
    assert analytics_store.report(quiz, False).attempts == before - 1
    same_report(analytics_store.report(quiz, False), analytics_queries.report(quiz, False))
    assert reviewer.post("/dashboard/quizzes/basics/recalculate").status_code == 400  # no CSRF
