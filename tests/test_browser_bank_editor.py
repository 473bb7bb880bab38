"""The bank editor in headless Chromium: an admin filters, edits with the live preview, saves."""

import os
import re
import subprocess
import sys

import pytest
from browser import (
    ROOT,
    LiveServer,
    Watch,
    audit,
    require_chromium,
    screenshot,
    scroll_width_at,
)
from conftest import TEST_BANK

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "editor@example.com", "a long editor password"
NEW_PROMPT = "Which proxy gives you the **incoming** request?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    live = LiveServer(tmp_path_factory.mktemp("live-bank") / "instance", TEST_BANK)
    # The admin is created the way an operator would, against the server's instance folder.
    env = {**os.environ, "QUIZ_INSTANCE_PATH": str(live.instance)}
    command = [sys.executable, "manage.py", "create-user", EMAIL, "--role", "admin"]
    done = subprocess.run(
        [*command, "--password", PASSWORD], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    yield live
    live.stop()


def sign_in(page, server):
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/invitations$"))


def test_admin_filters_edits_with_live_preview_and_saves(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server)
    page.get_by_text("Admin", exact=True).click()  # the admin menu opens
    page.get_by_role("link", name="Questions").click()
    page.wait_for_url(re.compile(r"/bank/questions$"))
    assert "6 questions" in page.locator("#results-title").inner_text()

    # Live filtering: the results swap in place and the URL follows the filters.
    page.evaluate("window.__marker = 'same page'")
    with page.expect_response(re.compile(r"/bank/questions\?.*q=hooks")):
        page.get_by_label("Search prompt or slug").fill("hooks")
    page.locator("#results-title", has_text="1 question").wait_for()
    page.get_by_label("Kind").select_option("ordering")
    page.wait_for_url(re.compile(r"q=hooks.*kind=ordering"))
    assert page.evaluate("window.__marker") == "same page"
    page.get_by_label("Kind").select_option("")
    page.get_by_label("Search prompt or slug").fill("")
    page.locator("#results-title", has_text="6 questions").wait_for()

    # Open a question; the preview shows the candidate's view of it.
    page.get_by_role("link", name="t-single").click()
    page.wait_for_url(re.compile(r"/bank/questions/t-single/edit$"))
    preview = page.locator("#preview")
    assert "current request" in preview.locator(".prompt").inner_text()
    assert preview.get_by_role("radio").count() == 3

    # Typing updates the preview (htmx posts the form; nothing is saved yet).
    with page.expect_response(re.compile(r"/bank/questions/preview$")) as sent:
        page.get_by_label("Prompt (Markdown)").fill(NEW_PROMPT)
    assert sent.value.status == 200
    preview.locator(".prompt strong", has_text="incoming").wait_for()
    with page.expect_response(re.compile(r"/bank/questions/preview$")):
        page.locator("#choice-3-text").fill("current_app")
    preview.get_by_text("current_app").wait_for()
    assert preview.get_by_role("radio").count() == 4
    assert "request" in preview.locator("dl.compare").inner_text()  # the right answer
    assert server.query("SELECT count(*) FROM question WHERE slug = 't-single'") == [(1,)]
    page.evaluate("window.scrollTo(0, 0)")  # the preview is sticky: show the page's top
    screenshot(page, "bank-editor")

    page.get_by_role("button", name="Save as version 2").click()
    page.wait_for_url(re.compile(r"/bank/questions/t-single/edit$"))
    assert "Saved t-single as version 2" in page.locator(".flashes").inner_text()
    rows = server.query(
        "SELECT version, current, prompt FROM question WHERE slug = 't-single' ORDER BY version"
    )
    assert [(v, c) for v, c, _ in rows] == [(1, 0), (2, 1)]
    assert rows[1][2] == NEW_PROMPT
    assert watch.problems == []
    context.close()


def test_the_editor_works_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server.url + "/bank/questions?kind=text")
    assert page.locator("#results tbody tr").count() == 1
    page.goto(server.url + "/bank/questions/new")
    page.get_by_label("Topic").fill("basics")
    page.get_by_label("Slug").fill("basics-nojs")
    page.get_by_label("Kind").select_option("text")
    page.get_by_label("Prompt (Markdown)").fill("Which function renders a template file?")
    page.locator("#choice-0-text").fill("render_template")
    page.get_by_role("button", name="Preview").click()
    assert "render_template" in page.locator("#preview dl.compare").inner_text()
    page.get_by_role("button", name="Create question").click()
    page.wait_for_url(re.compile(r"/bank/questions/basics-nojs/edit$"))
    assert server.query("SELECT kind FROM question WHERE slug = 'basics-nojs'") == [("text",)]
    assert watch.problems == []
    context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/bank/questions",
        "/bank/questions/t-ordering/edit",
        "/bank/questions/new",
        "/bank/quizzes",
        "/bank/quizzes/draw/edit",
        "/bank/import",
    ],
)
def test_bank_pages_pass_axe_and_fit_a_phone(server, browser, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server.url + path)
    assert audit(page) == []
    assert scroll_width_at(page, 375) <= 375
    assert watch.problems == []
    context.close()
