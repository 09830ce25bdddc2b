"""Personal API tokens: created and revoked on the settings page, stored as a hash, shown once."""
import pytest
from django.urls import reverse

from api.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def test_created_token_is_shown_once_and_stored_only_as_a_hash(client, people):
    client.force_login(people["alice"])
    response = client.post(reverse("api_settings:tokens"), {"name": "notebook"})
    assert response.status_code == 201
    plain = response.context["plain"]
    assert plain.startswith("qrm_") and plain in response.content.decode()
    token = ApiToken.objects.get(user=people["alice"])
    assert token.name == "notebook" and token.digest == hash_token(plain) and plain not in token.digest
    again = client.get(reverse("api_settings:tokens"))
    assert plain not in again.content.decode() and "notebook" in again.content.decode()


def test_token_authenticates_and_a_revoked_token_gets_401(client, people, text_project):
    client.force_login(people["alice"])
    plain = client.post(reverse("api_settings:tokens"), {"name": "ci"}).context["plain"]
    headers = {"HTTP_AUTHORIZATION": f"Token {plain}"}
    client.logout()
    assert client.get(reverse("api:projects"), **headers).status_code == 200
    token = ApiToken.objects.get(user=people["alice"])
    assert token.last_used_at is not None
    client.force_login(people["alice"])
    assert client.post(reverse("api_settings:revoke", args=[token.pk])).status_code == 302
    client.logout()
    response = client.get(reverse("api:projects"), **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_user_cannot_revoke_someone_elses_token(client, people):
    token, _ = ApiToken.issue(user=people["bob"], name="bob's")
    client.force_login(people["alice"])
    assert client.post(reverse("api_settings:revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_tokens_page_needs_login_and_lists_only_your_tokens(client, people):
    assert client.get(reverse("api_settings:tokens")).status_code == 302
    ApiToken.issue(user=people["bob"], name="bobs-secret-job")
    client.force_login(people["alice"])
    page = client.get(reverse("api_settings:tokens")).content.decode()
    assert "bobs-secret-job" not in page and reverse("api_settings:tokens") in page  # linked from the top bar


def test_unauthenticated_api_call_gets_401_in_the_error_shape(client):
    response = client.get(reverse("api:projects"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_browser_session_works_for_the_api(client, people, text_project):
    client.force_login(people["alice"])
    assert [p["name"] for p in client.get(reverse("api:projects")).json()["results"]] == ["Reviews"]
