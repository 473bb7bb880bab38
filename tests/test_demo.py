"""manage.py demo-data: simulated attempts that are internally consistent."""

from peewee import fn
from test_auth import login, make_user

from quiz.models import Answer, Attempt, Event, Invitation


def test_demo_data_is_consistent_and_shows_in_the_dashboards(app, runner):
    result = runner.invoke(
        args=["demo-data", "--attempts", "300", "--quiz", "basics", "--quiz", "timed"]
    )
    assert result.exit_code == 0, result.output
    assert "Added 300 attempts" in result.output
    assert Attempt.select().count() == 300
    statuses = {s for (s,) in Attempt.select(Attempt.status).tuples()}
    assert statuses == {"submitted", "expired", "in_progress"}
    assert 0 < Invitation.select().count() < 300 and Event.select().count() > 0
    # every finished attempt's score is the sum of its stored (really scored) answers
    sums = dict(
        Answer.select(Answer.attempt, fn.SUM(Answer.score)).group_by(Answer.attempt).tuples()
    )
    for a in Attempt.select().where(Attempt.status != "in_progress"):
        assert abs(a.score - sums.get(a.id, 0)) < 1e-6
        assert 0 <= a.score <= a.max_score and a.level in ("junior", "mid", "senior")
    # abilities differ, so scores spread out
    assert len({a.score for a in Attempt.select().where(Attempt.status == "submitted")}) > 5
    client = app.test_client()
    make_user("rev@example.com", role="reviewer")
    login(client, "rev@example.com")
    assert "Demo Candidate" in client.get("/dashboard/").get_data(as_text=True)
    stats = client.get("/dashboard/quizzes/basics").get_data(as_text=True)
    assert "Cronbach" in stats and "<svg" in stats


def test_demo_data_refuses_unknown_quizzes(runner):
    result = runner.invoke(args=["demo-data", "--attempts", "5", "--quiz", "nope"])
    assert result.exit_code != 0 and "none of these quizzes exist" in result.output
    assert Attempt.select().count() == 0
