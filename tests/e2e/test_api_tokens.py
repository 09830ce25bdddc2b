"""Browser: create a token on the settings page, see it once, revoke it."""
from pathlib import Path

import pytest

from api.models import ApiToken

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def test_create_show_once_and_revoke_a_token(live_server, make_user):
    from playwright.sync_api import sync_playwright

    make_user("mina", password="pw-for-tests-1")
    ApiToken.issue(user=ApiToken._meta.get_field("user").related_model.objects.get(username="mina"), name="old laptop")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "mina")
        page.fill("input[name=password]", "pw-for-tests-1")
        page.click("button[type=submit], input[type=submit]")
        page.click("text=API tokens")
        page.fill("input[name=name]", "training notebook")
        page.keyboard.press("Enter")
        token = page.input_value("#new-token")
        assert token.startswith("qrm_")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "api_tokens.png"), full_page=True)
        page.click("button[aria-label='Revoke old laptop']")
        assert page.locator("text=revoked").count() == 1
        assert token not in page.content()
        browser.close()
    assert ApiToken.objects.filter(name="old laptop", revoked_at__isnull=False).exists()
