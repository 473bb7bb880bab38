"""Test-wiseness cues (quiz/bank/cues.py): each rule fires on a bad sample and stays quiet
on a good one, and the shipped bank has none (issue 12, item 5)."""

import pytest

from quiz.bank import BANK_DIR
from quiz.bank.cues import MAX_LONGEST_RIGHT, cues, figures, question_cues
from quiz.bank.inspect import load_bank


def single(slug, right, wrong, prompt="Which one?"):
    choices = [{"text": right, "correct": True}] + [{"text": t} for t in wrong]
    return {"slug": slug, "kind": "single", "prompt": prompt, "choices": choices}


def multiple(slug, right: int, of: int = 5):
    choices = [{"text": f"claim {i}", "correct": i < right} for i in range(of)]
    return {"slug": slug, "kind": "multiple", "prompt": "Which are true?", "choices": choices}


def topic(*questions):
    return {"topic": "demo", "title": "Demo", "_file": "demo.toml", "questions": list(questions)}


def bank_messages(*questions) -> list[str]:
    return [p.message for p in cues([topic(*questions)]) if p.file == "(bank)"]


def test_longest_right_answers_above_a_third_fail_with_the_slugs():
    long_right = [
        single(f"s{i}", "a much longer right answer", ["short", "brief"]) for i in range(2)
    ]
    second = single("s8", "short", ["a much longer wrong answer", "brief"])
    third = single("s9", "short", ["a much longer wrong answer", "a longer wrong one", "tiny"])
    (message,) = bank_messages(*long_right, third)
    assert "longest choice in 2 of 3 single-choice questions" in message
    assert "s0, s1" in message and "s9" not in message
    assert bank_messages(long_right[0], second, third) == []  # 1 of 3 is a third: allowed


def test_every_rank_by_length_is_held_to_a_third():
    """Making the right answer the second longest everywhere only moves the cue."""
    second = [
        single(f"s{i}", "a medium right one", ["the longest wrong choice here", "short", "brief"])
        for i in range(2)
    ]
    shortest = single("s9", "tiny", ["a longer wrong choice", "another wrong one", "and more"])
    (message,) = bank_messages(*second, shortest)
    assert message.startswith("the right answer is the 2nd longest choice in 2 of 3")
    assert "s0, s1" in message
    longest = single("s8", "the longest right answer of all", ["short", "brief", "tiny!"])
    assert bank_messages(second[0], shortest, longest) == []
    assert figures([topic(second[0], shortest, longest)]).by_rank == {
        1: ["s8"],
        2: ["s0"],
        4: ["s9"],
    }


def test_one_count_of_right_answers_above_half_fails_with_the_slugs():
    (message,) = bank_messages(multiple("m1", 3), multiple("m2", 3), multiple("m3", 2))
    assert message.startswith("2 of 3 multiple-choice questions have 3 right answers")
    assert "m1, m2" in message
    assert bank_messages(multiple("m1", 3), multiple("m2", 2)) == []  # half: allowed
    assert bank_messages(multiple("m1", 3, of=4), multiple("m2", 3, of=5), multiple("m3", 2)) != []


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["`g`", "`request`", "All of the above"], "all/none of the above"),
        (["`g`", "`request`", "none of these answers"], "all/none of the above"),
        (["Use `g`.", "Use `g`", "`request`"], "differ only in spacing or a full stop"),
        (["Use  `g`", "Use `g`", "`request`"], "differ only in spacing or a full stop"),
    ],
)
def test_question_cues(texts, expected):
    q = single("q", texts[0], texts[1:])
    assert any(expected in m for m in question_cues(q))


def test_a_right_answer_that_alone_repeats_the_stem_is_flagged():
    prompt = "Which call registers the blueprint on the application?"
    echo = single(
        "q", "app.register_blueprint(bp) on the application", ["bp.init()", "app.add(bp)"], prompt
    )
    assert any("repeats the stem's words (application)" in m for m in question_cues(echo))
    shared = single(
        "q", "app.register_blueprint(bp)", ["the application imports bp", "app.add(bp)"], prompt
    )
    assert question_cues(shared) == []


def test_case_and_punctuation_still_tell_code_apart():
    q = single("q", "{'HOST': 'db'}", ["{'host': 'db'}", "('HOST', 'db')"])
    assert question_cues(q) == []


def test_the_shipped_bank_has_no_cues():
    loaded = load_bank(BANK_DIR)
    problems = cues(loaded.topics)
    assert not problems, "\n".join(str(p) for p in problems)
    found = figures(loaded.topics)
    assert len(found.longest_right) <= found.single * MAX_LONGEST_RIGHT
