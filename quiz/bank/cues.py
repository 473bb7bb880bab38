"""Test-wiseness cues: what lets a candidate who knows no Flask pick the right answer.

A bank where the right answer is usually the longest choice, or where a multiple-choice
question usually has the same number of right answers, rewards guessing by shape; so do
"all of the above", a right answer that alone repeats the stem's words, and two choices that
say the same thing. `cues()` returns them as `Problem`s for `bank check`; `figures()` gives
the counts that `bank stats --cues` prints. No Flask and no database, like `validate`.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from .validate import BANK, NO_SLUG, Problem, _choices, _questions, _topic_file

# The right answer may be the longest choice in at most this share of single-choice
# questions (chance, with four choices, is a quarter); the same holds for every other rank by
# length (second longest, ..., shortest), or lengthening one wrong choice only moves the cue.
MAX_LONGEST_RIGHT = 1 / 3
# One count of right answers may cover at most this share of multiple-choice questions.
MAX_SAME_RIGHT_COUNT = 1 / 2

ALL_OR_NONE = re.compile(
    r"\b(all|none|both|neither) of (the|these) (above|answers|choices)\b", re.I
)
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
# Words too common to be a cue when a choice repeats them from the stem.
COMMON = frozenset(
    """
    about above after also and another answer any are because before being both but can does
    each every flask from have into its just like more most must only other over same should
    since some such than that the their them then there these they this those through under
    until used uses using what when where which while will with would your code line lines
    call calls called value values return returns true false none
    """.split()  # noqa: SIM905 (a word list reads better as words)
)


def _words(text: str) -> set[str]:
    return {w.casefold() for w in WORD.findall(text)} - COMMON


def _plain(text: str) -> str:
    """A choice as compared for duplicates: spacing and a final full stop folded (case and
    punctuation stay: in code they are the difference)."""
    return re.sub(r"\s+", " ", text).strip().rstrip(".").strip()


@dataclass
class Figures:
    single: int = 0
    longest_right: list[str] = field(default_factory=list)  # slugs
    by_rank: dict = field(default_factory=dict)  # length rank of the right answer -> slugs
    multiple: int = 0
    right_counts: Counter = field(default_factory=Counter)  # (right, of) -> questions
    by_count: dict = field(default_factory=dict)  # right answers -> slugs

    def lines(self) -> list[str]:
        out = [
            f"single-choice questions whose right answer is the longest choice: "
            f"{len(self.longest_right)} of {self.single}"
            + (f" ({len(self.longest_right) / self.single:.0%})" if self.single else "")
        ]
        ranks = ", ".join(f"{RANKS[r]}: {len(s)}" for r, s in sorted(self.by_rank.items()))
        out.append(f"single-choice questions by the right answer's length rank: {ranks}")
        counts = ", ".join(
            f"{right} of {of}: {n}" for (right, of), n in sorted(self.right_counts.items())
        )
        out.append(f"multiple-choice questions by right answers: {counts or 'none'}")
        return out


def _texts(q: dict) -> list[tuple[str, bool]]:
    return [
        (c["text"], c.get("correct") is True) for c in _choices(q) if isinstance(c.get("text"), str)
    ]


RANKS = {1: "longest", 2: "2nd longest", 3: "3rd longest", 4: "4th longest", 5: "5th longest"}
RANKS[6] = "6th longest"  # single-choice questions have 3 to 6 choices


def length_rank(q: dict) -> int | None:
    """1 + the number of wrong choices longer than the (single) right answer: 1 when it is
    the longest (or tied for it); None when every choice has the same length."""
    texts = _texts(q)
    right = [len(t.strip()) for t, ok in texts if ok]
    if len(right) != 1 or len({len(t.strip()) for t, _ in texts}) == 1:
        return None
    return 1 + sum(1 for t, ok in texts if not ok and len(t.strip()) > right[0])


def longest_is_right(q: dict) -> bool:
    """The right answer is the longest choice, or tied for it."""
    return length_rank(q) == 1


def figures(topics: list[dict]) -> Figures:
    out = Figures()
    by_count: dict = {}
    for q in (q for t in topics for q in _questions(t) if isinstance(q, dict)):
        texts = _texts(q)
        if q.get("kind") == "single" and texts:
            out.single += 1
            rank = length_rank(q)
            if rank == 1:
                out.longest_right.append(q.get("slug", NO_SLUG))
            if rank is not None:
                out.by_rank.setdefault(rank, []).append(q.get("slug", NO_SLUG))
        elif q.get("kind") == "multiple" and texts:
            out.multiple += 1
            right = sum(ok for _, ok in texts)
            out.right_counts[(right, len(texts))] += 1
            by_count.setdefault(right, []).append(q.get("slug", NO_SLUG))
    out.by_count = by_count
    return out


def question_cues(q: dict) -> list[str]:
    """The cues of one question: all/none of the above, a right answer that alone repeats
    the stem's words, choices that say the same thing."""
    if q.get("kind") not in ("single", "multiple", "code_output"):
        return []
    out = []
    texts = _texts(q)
    if any(ALL_OR_NONE.search(t) for t, _ in texts):
        out.append('a choice says "all/none of the above": it names no Flask fact; write one')
    plain = [_plain(t) for t, _ in texts]
    same = sorted({t for (t, _), p in zip(texts, plain, strict=True) if plain.count(p) > 1})
    if same:
        out.append(f"choices that differ only in spacing or a full stop: {same}")
    if q.get("kind") != "code_output":
        stem = _words(str(q.get("prompt", "")))
        echoed = [(t, ok, _words(t) & stem) for t, ok in texts]
        right = [e for e in echoed if e[1] and e[2]]
        if len(right) == 1 and not any(words for _, ok, words in echoed if not ok):
            words = ", ".join(sorted(right[0][2]))
            out.append(
                f"only the right answer repeats the stem's words ({words}); reword it or let a "
                "wrong choice use them too"
            )
    return out


def cues(topics: list[dict]) -> list[Problem]:
    """Every cue, per question and bank-wide (the shares), with the slugs to rewrite."""
    problems: list[Problem] = []
    for index, topic in enumerate(topics):
        file = _topic_file(topic, index)
        for q in _questions(topic):
            if isinstance(q, dict):
                slug = str(q.get("slug", NO_SLUG))
                problems += [Problem(file, slug, m, q.get("_line")) for m in question_cues(q)]
    found = figures(topics)
    if found.single and len(found.longest_right) > found.single * MAX_LONGEST_RIGHT:
        problems.append(
            Problem(
                BANK,
                NO_SLUG,
                f"the right answer is the longest choice in {len(found.longest_right)} of "
                f"{found.single} single-choice questions (at most {MAX_LONGEST_RIGHT:.0%}); "
                f"lengthen a wrong choice or shorten the right one in: "
                + ", ".join(found.longest_right),
            )
        )
    for rank, slugs in sorted(found.by_rank.items()):
        if rank > 1 and len(slugs) > found.single * MAX_LONGEST_RIGHT:
            problems.append(
                Problem(
                    BANK,
                    NO_SLUG,
                    f"the right answer is the {RANKS[rank]} choice in {len(slugs)} of "
                    f"{found.single} single-choice questions (at most {MAX_LONGEST_RIGHT:.0%} "
                    f"per rank by length); change the lengths in some of: " + ", ".join(slugs),
                )
            )
    if found.multiple:
        right, slugs = max(found.by_count.items(), key=lambda item: len(item[1]))
        if len(slugs) > found.multiple * MAX_SAME_RIGHT_COUNT:
            problems.append(
                Problem(
                    BANK,
                    NO_SLUG,
                    f"{len(slugs)} of {found.multiple} multiple-choice questions have {right} "
                    f"right answers (at most {MAX_SAME_RIGHT_COUNT:.0%} may share a count); "
                    "change the count in some of: " + ", ".join(slugs),
                )
            )
    return problems
