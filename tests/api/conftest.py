"""API test helpers: a client authenticated with a personal token for any user."""
import pytest
from rest_framework.test import APIClient

from api.models import ApiToken


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The shared fixtures create six users; the default hasher makes that seconds per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_as():
    def _client(user=None):
        client = APIClient()
        if user is not None:
            _, plain = ApiToken.issue(user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Token {plain}")
        return client

    return _client


def results(response) -> list:
    assert response.status_code == 200, response.content
    return response.json()["results"]
