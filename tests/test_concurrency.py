"""Concurrent writers on SQLite: two tabs of one attempt, and many candidates at once."""

from concurrent.futures import ThreadPoolExecutor

from conftest import Candidate, choice_id

from quiz.models import Answer, Attempt

SLUGS = ["t-single", "t-multiple", "t-true-false", "t-code-output", "t-ordering", "t-text"]


def tab_of(app, candidate: Candidate) -> Candidate:
    """A second tab: another client holding the same session cookie."""
    tab = Candidate(app.test_client())
    cookie = candidate.client.get_cookie("quiz_session")
    tab.client.set_cookie("quiz_session", cookie.value)
    tab.token = candidate.token
    return tab


def test_two_tabs_answering_the_same_attempt(app, candidate):
    pid = candidate.start()
    tabs = [candidate, tab_of(app, candidate)]
    right, wrong = choice_id("t-single", "request"), choice_id("t-single", "g")

    def work(i):
        tab = tabs[i % 2]
        statuses = []
        for round_ in range(10):
            choice = right if (i + round_) % 2 else wrong
            statuses.append(tab.answer(pid, 1, "t-single", nav="stay", choice=choice).status_code)
            statuses.append(tab.answer(pid, 6, "t-text", nav="stay", text=f"v{i}").status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [s for statuses in pool.map(work, range(8)) for s in statuses]
    assert results == [303] * 160
    rows = list(Answer.select())
    assert len(rows) == 2  # one row per (attempt, question): the last write wins, no duplicates
    single = next(a for a in rows if a.question.slug == "t-single")
    assert single.response["choice"] in (right, wrong)
    assert single.correct == (single.response["choice"] == right)


def test_finish_racing_with_answers_leaves_a_consistent_result(app, candidate):
    pid = candidate.start()
    tab = tab_of(app, candidate)
    right = choice_id("t-single", "request")

    def answer(_):
        return candidate.answer(pid, 1, "t-single", nav="stay", choice=right).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = pool.map(answer, range(20))
        finished = pool.submit(tab.finish, pid)
        statuses = list(answers)
    assert finished.result().status_code == 303
    assert set(statuses) <= {303, 409}
    attempt = Attempt.get(Attempt.public_id == pid)
    stored = sum(a.score for a in Answer.select())
    assert attempt.status == "submitted" and attempt.score == stored


def test_many_candidates_at_once_lose_nothing(app):
    candidates = [Candidate(app.test_client()) for _ in range(16)]
    pids = [c.start() for c in candidates]

    def take(i):
        c, pid = candidates[i], pids[i]
        codes = []
        for n, slug in enumerate(SLUGS, 1):
            fields = {"text": "SECRET_KEY"} if slug == "t-text" else {}
            if slug in ("t-single", "t-true-false", "t-code-output"):
                fields["choice"] = _first_choice(slug)
            codes.append(c.answer(pid, n, slug, **fields).status_code)
        return codes

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = [code for result in pool.map(take, range(16)) for code in result]
    assert codes == [303] * (16 * 6)
    assert Answer.select().where(Answer.response.is_null(False)).count() == 16 * 4


def _first_choice(slug):
    from quiz.models import Choice, Question

    return Choice.select(Choice.id).join(Question).where(Question.slug == slug).scalar()
