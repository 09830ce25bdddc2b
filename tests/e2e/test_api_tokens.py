"""Browser: create a token on the settings page, see it once, revoke it."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from api.models import ApiToken

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_create_show_once_and_revoke_a_token(page_for, make_user):
    # The session's one browser (tests/e2e/conftest.py): a second Playwright in the same worker cannot start.
    mina = make_user("mina", password="pw-for-tests-1")
    ApiToken.issue(user=mina, name="old laptop")
    page = page_for("mina")
    page.set_viewport_size({"width": 1280, "height": 760})
    page.click("text=API tokens")
    page.fill("input[name=name]", "training notebook")
    page.keyboard.press("Enter")
    token = page.input_value("#new-token")
    assert token.startswith("qrm_")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "api_tokens.png"), full_page=True)
    page.click("button[aria-label='Revoke old laptop']")
    expect(page.locator("text=revoked")).to_have_count(1)  # waits for the page the revoke returns
    assert token not in page.content()
    assert ApiToken.objects.filter(name="old laptop", revoked_at__isnull=False).exists()
