"""Playwright with Debian's chromium against pytest-django's live server."""
import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page_for(browser, live_server):
    """page_for(username) -> a logged-in page (password from tests.conftest.make_user).

    At teardown every page is let finish what it was fetching before its context closes: a request still being
    served when the test database is flushed locks a table ("database table is locked") and fails the next test.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    contexts = []

    def _open(username, password="pw-for-tests-1", viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1366, "height": 768})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield _open
    for context in contexts:
        for page in context.pages:
            try:
                page.wait_for_load_state("networkidle", timeout=15000)
            except PlaywrightTimeout:
                pass  # a page that polls (a running job's progress) never idles: closing it stops the polling
        context.close()
