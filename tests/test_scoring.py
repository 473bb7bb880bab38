"""Scoring of every kind, partial credit, text normalisation and level estimation."""

import pytest

from quiz.scoring import Key, Part, estimate_level, normalise_text, passed, score_answer, totals

ABC = [Key(1, "a", True, 0), Key(2, "b", False, 1), Key(3, "c", False, 2)]
MULTI = [Key(1, "a", True, 0), Key(2, "b", True, 1), Key(3, "c", False, 2), Key(4, "d", False, 3)]
ORDER = [Key(10, "first", False, 0), Key(11, "second", False, 1), Key(12, "third", False, 2)]
TEXT = [Key(1, "SECRET_KEY", True, 0), Key(2, "app.secret_key", True, 1)]


@pytest.mark.parametrize("kind", ["single", "true_false", "code_output"])
def test_single_answer_kinds(kind):
    assert score_answer(kind, 2, ABC, {"choice": 1}) == (2.0, True)
    assert score_answer(kind, 2, ABC, {"choice": 2}) == (0.0, False)
    assert score_answer(kind, 2, ABC, None) == (0.0, False)


@pytest.mark.parametrize(
    "picked, credit",
    [
        ([1, 2], 1.0),  # both right
        ([1], 0.5),  # one of two right
        ([1, 2, 3], 0.5),  # two right minus one wrong, over two
        ([1, 3], 0.0),  # one right minus one wrong
        ([3, 4], 0.0),  # floored at zero, never negative
        ([1, 2, 3, 4], 0.0),
    ],
)
def test_multiple_partial_credit(picked, credit):
    scored = score_answer("multiple", 4, MULTI, {"choices": picked})
    assert scored.score == pytest.approx(4 * credit)
    assert scored.correct is (credit == 1.0)


@pytest.mark.parametrize(
    "order, credit",
    [
        ([10, 11, 12], 1.0),
        ([11, 10, 12], 2 / 3),  # pairs (10,12) and (11,12) right, (10,11) wrong
        ([10, 12, 11], 2 / 3),
        ([12, 11, 10], 0.0),
        ([10, 11], 0.0),  # incomplete
        ([10, 10, 11], 0.0),  # repeated
        ([10, 11, 99], 0.0),  # foreign id
    ],
)
def test_ordering_counts_correctly_ordered_pairs(order, credit):
    assert score_answer("ordering", 3, ORDER, {"order": order}).score == pytest.approx(3 * credit)


@pytest.mark.parametrize(
    "given, ok",
    [
        ("SECRET_KEY", True),
        ("  secret_key ", True),
        ("`SECRET_KEY`", True),
        ("'app.secret_key'.", True),
        ("SECRET KEY", False),
        ("", False),
    ],
)
def test_text_is_matched_after_normalising(given, ok):
    assert score_answer("text", 1, TEXT, {"text": given}).correct is ok


def test_normalise_text_folds_case_space_and_quotes():
    assert normalise_text("  “Hello   World”. ") == "hello world"


def test_totals_sum_by_group_in_first_seen_order():
    parts = totals([("b", 1, 2), ("a", 0, 1), ("b", 0.5, 1)])
    assert list(parts) == ["b", "a"]
    assert parts["b"] == Part(1.5, 3) and parts["a"].share == 0


@pytest.mark.parametrize(
    "shares, level",
    [
        ({"junior": (5, 10)}, "junior"),  # below threshold everywhere: the floor
        ({"junior": (6, 10), "mid": (5, 10), "senior": (10, 10)}, "junior"),  # mid blocks
        ({"junior": (6, 10), "mid": (6, 10), "senior": (5, 10)}, "mid"),
        ({"junior": (10, 10), "mid": (10, 10), "senior": (6, 10)}, "senior"),
        ({"junior": (10, 10), "senior": (9, 10)}, "senior"),  # mid not asked: skipped
        ({"mid": (1, 10), "senior": (10, 10)}, "junior"),
    ],
)
def test_level_is_the_highest_reached_with_every_lower_level(shares, level):
    by_level = {k: Part(s, m) for k, (s, m) in shares.items()}
    assert estimate_level(by_level, 0.6) == level


def test_pass_mark():
    assert passed(6, 10, 60) is True
    assert passed(5.9, 10, 60) is False
    assert passed(0, 0, 60) is False
    assert passed(3, 10, None) is None
