"""Choices shuffled per attempt, stable within it, shown back as the candidate saw them
(issue 12, item 2); the quiz option that keeps the bank's order."""

import re
from html import unescape

from conftest import choice_id
from test_auth import login, make_user

from quiz.models import Quiz

BANK_ORDER = {
    "t-multiple": ["request", "Flask", "g", "Blueprint"],
    "t-ordering": ["before_request", "the view", "after_request", "teardown_request"],
}


def shown(html: str) -> list[str]:
    """The choice or item texts of a question page, in page order."""
    labels = re.findall(r'name="choices?" value="[^"]+"[^>]*>\s*<span>(.*?)</span>', html)
    labels += re.findall(r'aria-label="Position of: ([^"]+)"', html)
    return [unescape(re.sub(r"<[^>]+>", "", t)) for t in labels]


def page(candidate, pid, n) -> str:
    return candidate.client.get(f"/attempts/{pid}?q={n}").get_data(as_text=True)


def test_choices_are_shuffled_per_attempt_and_stable_on_reload(make_candidate):
    orders = set()
    for _ in range(12):
        candidate = make_candidate()
        pid = candidate.start()
        first = shown(page(candidate, pid, 2))
        assert sorted(first) == sorted(BANK_ORDER["t-multiple"])
        assert shown(page(candidate, pid, 2)) == first  # a reload shows the same order
        orders.add(tuple(first))
        assert shown(page(candidate, pid, 3)) == ["True", "False"]  # kept, and said so
    assert len(orders) >= 3  # 24 orders: 12 attempts all alike would be one in 10^15


def test_ordering_items_never_come_in_the_right_order_nor_its_reverse(make_candidate):
    right = BANK_ORDER["t-ordering"]
    for _ in range(20):
        candidate = make_candidate()
        pid = candidate.start()
        items = shown(page(candidate, pid, 5))
        assert sorted(items) == sorted(right) and items not in (right, right[::-1])


def test_a_quiz_can_keep_the_banks_order(make_candidate):
    Quiz.update(shuffle_choices=False).where(Quiz.slug == "basics").execute()
    for _ in range(5):
        candidate = make_candidate()
        pid = candidate.start()
        assert shown(page(candidate, pid, 2)) == BANK_ORDER["t-multiple"]
        items = shown(page(candidate, pid, 5))  # ordering items are shuffled whatever it says
        assert items != BANK_ORDER["t-ordering"]


def test_result_and_reviewer_show_the_order_the_candidate_saw(app, candidate):
    pid = candidate.start()
    seen = shown(page(candidate, pid, 2))
    candidate.answer(pid, 2, "t-multiple", choices=[choice_id("t-multiple", "g")])
    candidate.finish(pid)
    result = candidate.client.get(f"/attempts/{pid}/result").get_data(as_text=True)
    make_user("rev@example.com", role="reviewer")
    reviewer = app.test_client()
    login(reviewer, "rev@example.com")
    review = reviewer.get(f"/dashboard/attempts/{pid}").get_data(as_text=True)
    for html, mine in ((result, "your answer"), (review, "candidate's answer")):
        card = html[html.index("Which of these are context locals?") :]
        block = re.search(r'<details class="shown-choices">(.*?)</details>', card, re.S).group(1)
        items = re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)
        texts = [unescape(re.sub(r"<span.*", "", re.sub(r"\s+", " ", t))).strip() for t in items]
        assert texts == seen
        marks = {t: unescape(i) for t, i in zip(texts, items, strict=True)}
        assert mine in marks["g"] and "right" in marks["g"]
        assert "right" in marks["request"] and mine not in marks["request"]
        assert "right" not in marks["Flask"]
