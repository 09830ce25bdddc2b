import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Security tests create many users; the real hasher is tested by Django, not here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The browser fixtures (Playwright with Debian's chromium) for test_csp_browser.py, shared with tests/e2e.
from tests.e2e.conftest import browser, page_for  # noqa: E402, F401
