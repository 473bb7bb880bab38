"""A candidate who reads only what the page exposes (field names, values, order) and knows no
Flask must score no better than chance, for every kind (issue 12, item 1).

The bank here is as leaky as a bank author can make it: every right answer comes first in the
bank, so the choices' database ids, and the bank's order, point at it. Scripts that pick by
position or by form value are run over many attempts, and each one's mean credit per kind is
held to chance plus four standard errors. The figures are printed (pytest -s) for the note;
PAGE_ONLY_ATTEMPTS sets how many attempts (200 by default)."""

import html as htmllib
import math
import os
import re
from collections import defaultdict
from itertools import combinations

import pytest
from conftest import HX, make_app

from quiz.db import close_all
from quiz.models import Answer, Attempt, Question

ATTEMPTS = int(os.environ.get("PAGE_ONLY_ATTEMPTS", "200"))

TOPIC = """topic = "leaky"
title = "Leaky"
"""


def _question(slug, kind, choices, code=""):
    lines = [
        "[[questions]]",
        f'slug = "{slug}"',
        'level = "junior"',
        f'kind = "{kind}"',
        f'prompt = "Question {slug}?"',
        'explanation = "Because."',
        'reference = "https://flask.palletsprojects.com/en/stable/"',
    ]
    if code:
        lines.append(f'code = "{code}"')
    if kind == "text":
        lines.append(f"accepted = {choices!r}".replace("'", '"'))
    else:
        items = ", ".join(
            f'{{ text = "{t}"' + (", correct = true }" if right else " }") for t, right in choices
        )
        lines.append(f"choices = [{items}]")
    return "\n".join(lines) + "\n"


def leaky_bank(folder):
    """Right answers first everywhere; two questions per kind."""
    qs = []
    for i in range(2):
        qs.append(
            _question(
                f"s{i}",
                "single",
                [(f"right {i}", True)] + [(f"wrong {i}{j}", False) for j in range(3)],
            )
        )
        qs.append(
            _question(
                f"c{i}",
                "code_output",
                [(f"{i}0", True), (f"{i}1", False), (f"{i}2", False), (f"{i}3", False)],
                code="print(1)",
            )
        )
        qs.append(
            _question(
                f"m{i}",
                "multiple",
                [
                    (f"yes {i}a", True),
                    (f"yes {i}b", True),
                    (f"no {i}a", False),
                    (f"no {i}b", False),
                    (f"no {i}c", False),
                ],
            )
        )
        qs.append(_question(f"o{i}", "ordering", [(f"step {i}{j}", False) for j in range(4)]))
    qs.append(_question("t0", "true_false", [("True", True), ("False", False)]))
    qs.append(_question("t1", "true_false", [("True", False), ("False", True)]))
    qs.append(_question("x0", "text", ["SECRET_KEY"]))
    folder.mkdir()
    (folder / "leaky.toml").write_text(TOPIC + "\n" + "\n".join(qs))
    (folder / "quizzes.toml").write_text(
        '[[quizzes]]\nslug = "leaky"\ntitle = "Leaky"\ndescription = "All of it."\n'
        'public = true\nshuffle = false\nselect = { topics = ["leaky"] }\n'
    )
    return folder


# What a script can read off the question form.
def form_of(page: str) -> dict:
    field = lambda name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1)  # noqa: E731
    return {
        "csrf_token": htmllib.unescape(field("csrf_token")),
        "q": field("q"),
        "question": field("question"),
        "shown": htmllib.unescape(field("shown")),
        "radio": re.findall(r'type="radio" name="choice" value="([^"]+)"', page),
        "boxes": re.findall(r'type="checkbox" name="choices" value="([^"]+)"', page),
        "order": re.findall(r'<select id="order-[^"]+" name="(order-[^"]+)"', page),
        "text": 'name="text"' in page,
    }


# Page-only strategies: each maps what the page shows to the fields it sends.
def pick_one(how):
    def choose(values):
        return {
            "first": values[0],
            "last": values[-1],
            "lowest value": min(values),
            "highest value": max(values),
        }[how]

    return lambda f: {"choice": choose(f["radio"])}


def pick_two(how):
    def choose(values):
        return {
            "first two": values[:2],
            "last two": values[-2:],
            "lowest two values": sorted(values)[:2],
            "highest two values": sorted(values)[-2:],
        }[how]

    return lambda f: {"choices": choose(f["boxes"])}


def rank(how):
    def arrange(names):
        return {
            "as shown": names,
            "reversed": names[::-1],
            "by name": sorted(names),
            "by name, reversed": sorted(names)[::-1],
        }[how]

    return lambda f: {name: str(n) for n, name in enumerate(arrange(f["order"]), 1)}


STRATEGIES = {
    "radio": {h: pick_one(h) for h in ("first", "last", "lowest value", "highest value")},
    "boxes": {
        h: pick_two(h) for h in ("first two", "last two", "lowest two values", "highest two values")
    },
    "order": {h: rank(h) for h in ("as shown", "reversed", "by name", "by name, reversed")},
    "text": {"a Flask word": lambda f: {"text": "app.config"}},
}


def chance_multiple(n: int, right: int, picked: int) -> float:
    """Expected credit of `picked` random choices out of n with `right` right ones."""
    total = 0.0
    combos = list(combinations(range(n), picked))
    for combo in combos:
        r = sum(1 for i in combo if i < right)
        total += max(0.0, (r - (picked - r)) / right)
    return total / len(combos)


CHANCE = {
    "single": 1 / 4,
    "code_output": 1 / 4,
    "true_false": 1 / 2,
    "multiple": chance_multiple(5, 2, 2),
    "ordering": 1 / 2,  # the expected share of pairs in the right order
    "text": 0.0,
}


def widget(form: dict) -> str:
    return next(w for w in ("radio", "boxes", "order") if form[w]) if not form["text"] else "text"


@pytest.fixture
def leaky_app(tmp_path):
    app = make_app(tmp_path, BANK=leaky_bank(tmp_path / "bank"))
    yield app
    close_all()


def test_a_page_only_script_scores_no_better_than_chance(leaky_app, capsys):
    client = leaky_app.test_client()
    kinds = {q.id: q.kind for q in Question.select()}
    credit = defaultdict(list)  # (kind, strategy) -> credit per answer
    accepted_leaks = 0
    for a in range(ATTEMPTS):
        page = client.get("/quizzes/leaky").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = client.post("/quizzes/leaky/start", data={"csrf_token": token})
        pid = re.search(r"/attempts/([^?]+)", r.headers["Location"]).group(1)
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        sent = {}
        while True:
            form = form_of(page)
            accepted_leaks += "SECRET_KEY" in page
            w = widget(form)
            names = list(STRATEGIES[w])
            how = names[a % len(names)]  # every strategy in turn, across attempts
            data = {k: form[k] for k in ("csrf_token", "q", "question", "shown")}
            data.update(STRATEGIES[w][how](form), nav="next")
            r = client.post(f"/attempts/{pid}/answers", data=data, headers=HX)
            assert r.status_code == 200, r.get_data(as_text=True)
            sent[int(form["question"])] = how
            if 'value="review" class="primary"' in page:
                break
            page = r.get_data(as_text=True)
        attempt = Attempt.get(Attempt.public_id == pid)
        points = dict(Question.select(Question.id, Question.points).tuples())
        for answer in Answer.select().where(Answer.attempt == attempt):
            qid = answer.question_id
            credit[(kinds[qid], sent[qid])].append(answer.score / points[qid])

    assert accepted_leaks == 0, "an accepted answer of a text question reached the page"
    lines, too_good = [], []
    for (kind, how), values in sorted(credit.items()):
        mean = sum(values) / len(values)
        p = CHANCE[kind]
        se = math.sqrt(max(p * (1 - p), 0.01) / len(values))
        lines.append(f"{kind:12} {how:20} {mean:6.3f} (chance {p:.3f}, n={len(values)})")
        if mean > p + 4 * se:
            too_good.append(lines[-1])
    with capsys.disabled():
        print(f"\npage-only scripts over {ATTEMPTS} attempts, mean credit per answer:")
        print("\n".join(lines))
    assert len({k for k, _ in credit}) == 6
    assert not too_good, "page-only scripts beat chance:\n" + "\n".join(too_good)
