"""The candidate journey in headless Chromium against a live server."""

import re

import pytest
from browser import LiveServer, Watch, require_chromium, screenshot
from conftest import TEST_BANK

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    live = LiveServer(tmp_path_factory.mktemp("live") / "instance", TEST_BANK)
    yield live
    live.stop()


def new_page(browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    return context, context.new_page()


def test_candidate_journey_with_htmx(server, browser):
    context, page = new_page(browser)
    watch = Watch(page)
    page.goto(server.url + "/")
    assert page.locator("h1").inner_text() == "Test your Flask"
    screenshot(page, "catalogue")
    page.get_by_role("link", name="Basics", exact=True).click()
    page.get_by_role("button", name="Start quiz").click()
    page.wait_for_url(re.compile(r"/attempts/[^/?]+\?q=1$"))
    attempt_url = page.url.split("?")[0]
    assert "Question 1 of 6" in page.locator("#progress").inner_text()

    # A marker on window survives htmx swaps but not full page loads.
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("request").check()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(re.compile(r"\?q=2$"))
    assert "Question 2 of 6" in page.locator("#progress").inner_text()
    assert "1 answered" in page.locator("#progress").inner_text()
    assert page.evaluate("window.__marker") == "same page"  # swapped in place, URL pushed

    page.get_by_label("g", exact=True).check()
    page.get_by_label("Flag for review").check()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(re.compile(r"\?q=3$"))
    screenshot(page, "question")

    # Back and forward give the same pages; a reload too.
    page.go_back()
    page.wait_for_url(re.compile(r"\?q=2$"))
    page.locator("#progress", has_text="Question 2 of 6").wait_for()
    assert page.get_by_label("g", exact=True).is_checked()
    assert page.get_by_label("Flag for review").is_checked()
    page.go_forward()
    page.locator("#progress", has_text="Question 3 of 6").wait_for()
    page.reload()
    assert "Question 3 of 6" in page.locator("#progress").inner_text()

    # Jump to the last question; pasting and leaving the page are recorded as events.
    page.goto(attempt_url + "?q=6")
    page.get_by_label("Your answer").fill("SECRET_KEY")
    # While the page unloads (reload, a link), losing focus is not leaving the quiz.
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/events") else None)
    page.evaluate(
        "window.dispatchEvent(new Event('beforeunload'));window.dispatchEvent(new Event('blur'))"
    )
    page.wait_for_timeout(300)
    assert sent == []
    page.evaluate("window.dispatchEvent(new Event('pageshow'))")
    with page.expect_response(re.compile(r"/events$")) as pasted:
        page.get_by_label("Your answer").dispatch_event("paste")
    assert pasted.value.status == 204
    with page.expect_response(re.compile(r"/events$")) as left:
        page.evaluate("window.dispatchEvent(new Event('blur'))")
    assert left.value.status == 204
    # Earlier reloads and page loads were not recorded as leaving the quiz.
    kinds = server.query("SELECT kind, detail FROM event ORDER BY id")
    assert kinds == [("paste", "question 6"), ("focus_lost", "question 6")]
    page.get_by_role("button", name="Review").click()
    page.wait_for_url(re.compile(r"/review$"))
    assert "2 flagged" not in page.content() and "1 flagged" in page.content()
    screenshot(page, "review")
    page.get_by_role("button", name="Finish quiz").click()
    page.wait_for_url(re.compile(r"/review\?confirm=1"))
    page.get_by_role("button", name="Yes, finish now").click()
    page.wait_for_url(re.compile(r"/result$"))
    assert "Estimated level" in page.content()
    assert page.locator(".answer-card").count() == 6
    screenshot(page, "result")
    assert watch.problems == []
    context.close()


def test_resume_after_closing_the_page(server, browser):
    context, page = new_page(browser)
    page.goto(server.url + "/quizzes/basics")
    page.get_by_role("button", name="Start quiz").click()
    page.get_by_label("request").check()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(re.compile(r"\?q=2$"))
    page.close()  # the tab is closed; the browser (and its cookie) stays
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_role("link", name="Continue").first.click()
    page.wait_for_url(re.compile(r"\?q=2$"))
    assert "1 answered" in page.locator("#progress").inner_text()
    context.close()


def test_journey_without_javascript(server, browser):
    context, page = new_page(browser, java_script_enabled=False)
    watch = Watch(page)
    page.goto(server.url + "/quizzes/timed")
    page.get_by_role("button", name="Start quiz").click()
    assert "Question 1 of 2" in page.locator("#progress").inner_text()
    assert "Time left" in page.locator("#progress").inner_text()
    page.get_by_label("request").check()
    page.get_by_role("button", name="Next").click()
    assert "Question 2 of 2" in page.locator("#progress").inner_text()
    page.get_by_role("button", name="Previous").click()
    assert page.get_by_label("request").is_checked()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Your answer").fill("app.secret_key")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Finish quiz").click()
    assert "2 / 2 points" in page.content()
    assert watch.problems == []
    context.close()


def test_htmx_error_is_shown_not_swallowed(server, browser):
    context, page = new_page(browser)
    watch = Watch(page, expected_statuses={400})
    page.goto(server.url + "/quizzes/basics")
    page.get_by_role("button", name="Start quiz").click()
    page.goto(page.url.split("?")[0] + "?q=5")
    page.locator("select").first.select_option("1")  # one position only: invalid
    page.get_by_role("button", name="Next").click()
    alert = page.locator("#alerts .alert")
    alert.wait_for()
    assert "different position from 1 to 4" in alert.inner_text()
    assert re.search(r"\?q=5$", page.url)  # still on the question, the input kept
    assert watch.problems == []
    context.close()


def test_small_screen_has_no_horizontal_scroll(server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(server.url + "/quizzes/basics")
    page.get_by_role("button", name="Start quiz").click()
    attempt = page.url.split("?")[0]
    for url in (
        server.url + "/",
        server.url + "/quizzes/basics",
        attempt + "?q=4",
        attempt + "?q=5",
    ):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} scrolls sideways ({width}px)"
    screenshot(page, "question-375")
    context.close()
