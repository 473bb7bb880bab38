"""The UI in a real browser: keyboard only, accessibility, small screens, staff journeys,
deadlines and a lost connection."""

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from browser import (
    LiveServer,
    Watch,
    audit,
    require_chromium,
    screenshot,
    scroll_width_at,
    tab_to,
)
from conftest import TEST_BANK

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    live = LiveServer(tmp_path_factory.mktemp("ui") / "instance", TEST_BANK)
    for email, role in (("boss@example.com", "admin"), ("rec@example.com", "recruiter")):
        live.manage("create-user", email, "--role", role, "--password", PASSWORD)
    yield live
    live.stop()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    yield ctx
    ctx.close()


def sign_in(page, server, email):
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/invitations$"))


def check_page(page, problems, name=None):
    """axe, no sideways scrolling at 375 px, usable at 1280 px."""
    problems += [f"{page.url}: {v}" for v in audit(page)]
    width = scroll_width_at(page, 375)
    if width > 375:
        problems.append(f"{page.url}: {width}px wide at 375px")
    if page.evaluate("document.documentElement.scrollWidth") > 1280:
        problems.append(f"{page.url}: scrolls sideways at 1280px")
    if name:
        screenshot(page, name)


def test_keyboard_only_journey(server, context):
    page = context.new_page()
    watch = Watch(page)
    page.goto(server.url + "/")
    tab_to(page, 'a[href="/quizzes/basics"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/quizzes/basics$"))
    tab_to(page, "button[type=submit]:not(.link)")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?q=1$"))

    def next_question(n):
        tab_to(page, 'button[value="next"], button[value="review"]')
        page.keyboard.press("Enter")
        if n < 6:
            page.locator("#progress", has_text=f"Question {n + 1} of 6").wait_for()

    # 1 single: Tab into the radio group, arrows move, Space picks.
    tab_to(page, "input[type=radio]")
    page.keyboard.press("ArrowDown")  # g -> request
    page.keyboard.press("Space")
    next_question(1)
    # 2 multiple: Space ticks checkboxes.
    tab_to(page, "input[type=checkbox][name=choices]")
    page.keyboard.press("Space")
    next_question(2)
    # 3 true/false, 4 code output
    for n in (3, 4):
        tab_to(page, "input[type=radio]")
        page.keyboard.press("Space")
        next_question(n)
    # 5 ordering: each select gets its position with the arrow keys.
    tab_to(page, "select")
    for rank in range(1, 5):
        # Arrow keys, not typed digits: Chromium's type-ahead can join quick keystrokes
        # across selects ("1" then "2" searched as "12") and leave a duplicate rank.
        page.keyboard.press("Home")
        for _ in range(rank):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")  # on to the next item's select
    next_question(5)
    # 6 text: type, then Enter submits the form's first button (Review).
    tab_to(page, "#answer-text")
    page.keyboard.type("SECRET_KEY")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/review$"))
    assert "6 of 6 answered" in page.content()
    tab_to(page, "#finish button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/result$"))
    assert "Estimated level" in page.content()
    rows = server.query("SELECT count(*) FROM answer WHERE response IS NOT NULL")
    assert rows == [(6,)]
    assert watch.problems == []


def test_every_page_is_accessible_and_fits_small_screens(server, context):
    page = context.new_page()
    watch = Watch(page, expected_statuses={404})
    problems: list[str] = []
    page.goto(server.url + "/")
    check_page(page, problems, "catalogue")
    page.goto(server.url + "/quizzes/basics")
    check_page(page, problems, "quiz")
    page.get_by_role("button", name="Start quiz").click()
    page.wait_for_url(re.compile(r"\?q=1$"))
    attempt = page.url.split("?")[0]
    for n in range(1, 7):
        page.goto(f"{attempt}?q={n}")
        check_page(page, problems, f"question-{n}")
    page.goto(attempt + "/review")
    check_page(page, problems, "review")
    page.get_by_role("button", name="Finish quiz").click()
    page.get_by_role("button", name="Yes, finish now").click()
    page.wait_for_url(re.compile(r"/result$"))
    page.get_by_text("How the level is estimated").click()
    check_page(page, problems, "result")
    page.goto(server.url + "/no-such-page")
    check_page(page, problems, "error-404")
    page.goto(server.url + "/login")
    check_page(page, problems, "login")
    sign_in(page, server, "boss@example.com")
    for path, name in (
        ("/invitations", "invitations"),
        ("/invitations/new", "invitation-new"),
        ("/invitations/bulk", "invitation-bulk"),
        ("/bank/users", "users"),
        ("/bank/outbox", "outbox"),
    ):
        page.goto(server.url + path)
        check_page(page, problems, name)
    assert problems == []
    assert watch.problems == []


def create_invitation(page, server, time_limit="", result=None):
    sign_in(page, server, "rec@example.com")
    page.get_by_role("link", name="New invitation").click()
    page.get_by_label("Candidate's name").fill("Grace Hopper")
    page.get_by_label("Candidate's e-mail").fill("grace@example.com")
    page.get_by_label("Quiz").select_option("basics")
    page.get_by_label("Time limit in minutes (optional)").fill(time_limit)
    if result:
        page.get_by_label("At the end, the candidate sees").select_option(label=result)
    page.get_by_role("button", name="Create invitation").click()
    page.wait_for_url(re.compile(r"/invitations/\d+/link$"))
    return page.get_by_role("textbox", name="Link").input_value()


def test_recruiter_creates_an_invitation_and_copies_its_link(server, context):
    page = context.new_page()
    watch = Watch(page)
    link = create_invitation(page, server)
    assert re.fullmatch(rf"{server.url}/i/[A-Za-z0-9_-]{{43}}", link)
    page.get_by_role("button", name="Copy link").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == link
    screenshot(page, "invitation-link")
    page.goto(server.url + "/invitations")
    assert "Grace Hopper" in page.content()
    assert watch.problems == []


def test_an_invited_candidate_sees_score_and_topics_but_not_the_key(server, context, browser):
    page = context.new_page()
    link = create_invitation(page, server, result="Score, level and per-topic breakdown")
    cpage = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    watch = Watch(cpage)
    cpage.goto(link)
    cpage.get_by_label("I have read how my data is used").check()
    cpage.get_by_role("button", name="Start quiz").click()
    cpage.wait_for_url(re.compile(r"\?q=1$"))
    cpage.get_by_label("request").check()
    cpage.get_by_role("button", name="Review all").click()
    cpage.get_by_role("button", name="Finish quiz").click()
    cpage.get_by_role("button", name="Yes, finish now").click()  # five questions unanswered
    cpage.wait_for_url(re.compile(r"/result$"))
    text = cpage.locator("main").inner_text()
    assert "points" in text and "By topic" in text
    assert "Right answer" not in text and "Question by question" not in text
    assert "context-local proxy" not in text  # the explanation of the question answered
    assert watch.problems == []


def test_every_admin_page_is_one_menu_away_and_the_menu_fits_a_phone(server, browser):
    """The admin's menu on a 390 px phone takes at most two rows, and its admin entry opens
    (without JavaScript too: a <details>) onto every admin page, API tokens and webhook
    included."""
    for javascript in (True, False):
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, java_script_enabled=javascript
        )
        page = context.new_page()
        sign_in(page, server, "boss@example.com")
        tops = page.eval_on_selector_all(
            "header.site nav > a, header.site nav > details > summary, header.site nav button",
            "items => items.map(e => Math.round(e.getBoundingClientRect().top))",
        )
        rows = 1 + sum(1 for a, b in itertools.pairwise(sorted(tops)) if b - a > 12)
        assert len(tops) == 6 and rows <= 2, tops  # two rows of links, not five
        pages = {
            "Questions": "/bank/questions",
            "Quiz builder": "/bank/quizzes",
            "Users": "/bank/users",
            "Outbox": "/bank/outbox",
            "API tokens": "/bank/api-tokens",
            "Webhook": "/bank/webhook",
        }
        for name, path in pages.items():
            page.get_by_text("Admin", exact=True).click()
            page.get_by_role("link", name=name, exact=True).click()
            page.wait_for_url(server.url + path)
            assert page.locator("h1").first.is_visible()
        context.close()


def test_revoking_asks_first_with_and_without_javascript(server, browser):
    for javascript in (True, False):
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
        )
        page = context.new_page()
        create_invitation(page, server)
        page.goto(server.url + "/invitations")
        page.get_by_role("button", name="Revoke the invitation of Grace Hopper").first.click()
        page.get_by_role("heading", name="Revoke the invitation of Grace Hopper?").wait_for()
        assert "The link stops working for good." in page.content()
        page.get_by_role("link", name="Cancel").click()  # nothing happens
        page.wait_for_url(server.url + "/invitations")
        revoked = page.locator(".tag.status-revoked").count()
        page.get_by_role("button", name="Revoke the invitation of Grace Hopper").first.click()
        page.get_by_role("button", name="Revoke the invitation", exact=True).click()
        page.wait_for_url(server.url + "/invitations")
        assert page.locator(".tag.status-revoked").count() == revoked + 1
        context.close()


def test_invited_candidate_reaches_the_deadline(server, context, browser):
    page = context.new_page()
    link = create_invitation(page, server, time_limit="5")
    candidate = browser.new_context(viewport={"width": 1280, "height": 900})
    cpage = candidate.new_page()
    watch = Watch(cpage, expected_statuses={409})
    cpage.goto(link)
    screenshot(cpage, "invitation-landing")
    cpage.get_by_label("I have read how my data is used").check()
    cpage.get_by_role("button", name="Start quiz").click()
    cpage.wait_for_url(re.compile(r"\?q=1$"))
    pid = cpage.url.split("/attempts/")[1].split("?")[0]
    # Bring the server-kept deadline to three seconds from now.
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=3)
    server.execute(
        "UPDATE attempt SET deadline = ? WHERE public_id = ?",
        (soon.strftime("%Y-%m-%d %H:%M:%S.%f"), pid),
    )
    cpage.reload()
    cpage.locator("time.over").wait_for(timeout=10000)  # the countdown reached 0:00
    assert cpage.locator("time[data-deadline]").first.inner_text() == "0:00"
    cpage.get_by_label("request").check()
    cpage.get_by_role("button", name="Next").click()
    alert = cpage.locator("#alerts .alert")
    alert.wait_for()
    assert "Time is up" in alert.inner_text()
    cpage.get_by_role("link", name="See your result").click()
    cpage.wait_for_url(re.compile(r"/result$"))
    assert "Thank you" in cpage.content()
    assert server.query(f"SELECT status FROM attempt WHERE public_id = '{pid}'") == [("expired",)]
    page.goto(server.url + "/invitations")
    assert "status-completed" in page.content()
    assert all("409" in p for p in watch.problems)
    candidate.close()


def test_lost_connection_is_retried_not_lost(server, context):
    page = context.new_page()
    page.goto(server.url + "/quizzes/basics")
    page.get_by_role("button", name="Start quiz").click()
    page.wait_for_url(re.compile(r"\?q=1$"))
    pid = page.url.split("/attempts/")[1].split("?")[0]
    page.get_by_label("request").check()
    context.set_offline(True)
    page.get_by_role("button", name="Next").click()
    alert = page.locator("#alerts .alert")
    alert.wait_for()
    assert "not saved yet" in alert.inner_text() and "Trying again" in alert.inner_text()
    screenshot(page, "offline")
    context.set_offline(False)
    page.locator("#progress", has_text="Question 2 of 6").wait_for(timeout=15000)
    saved = server.query(
        "SELECT count(*) FROM answer JOIN attempt ON answer.attempt_id = attempt.id "
        f"WHERE attempt.public_id = '{pid}' AND answer.response IS NOT NULL"
    )
    assert saved == [(1,)]
