import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Security tests create many users; the real hasher is tested by Django, not here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
