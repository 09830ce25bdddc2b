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


# ---- Tokens over the API: POST/GET /api/tokens/, DELETE /api/tokens/{id}/ ----------------------------------

def test_api_creates_a_token_shown_once_and_stored_as_a_hash(api_as, people):
    client = api_as()
    client.force_authenticate(None)
    client.force_login(people["alice"])  # a browser session may create tokens too
    response = client.post(reverse("api:tokens"), {"name": "  notebook  "}, format="json")
    assert response.status_code == 201
    body = response.json()
    plain = body["token"]
    token = ApiToken.objects.get(pk=body["id"])
    assert (token.user, token.name, token.digest) == (people["alice"], "notebook", hash_token(plain))
    assert body["prefix"] == token.hint and plain.startswith(body["prefix"]) and plain.startswith("qrm_")
    assert body["last_used_at"] is None and plain not in token.digest
    listed = client.get(reverse("api:tokens")).json()["results"]
    assert [t["name"] for t in listed] == ["notebook"]
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at"}  # never the secret or hash
    assert plain not in str(listed) and token.digest not in str(listed)
    # The new token works on its own.
    assert api_as().get(reverse("api:projects"), HTTP_AUTHORIZATION=f"Token {plain}").status_code == 200


def test_a_token_authenticated_user_can_create_more_tokens(api_as, people):
    client = api_as(people["bob"])
    response = client.post(reverse("api:tokens"), {"name": "ci"}, format="json")
    assert response.status_code == 201
    assert sorted(t["name"] for t in client.get(reverse("api:tokens")).json()["results"]) == ["ci", "tests"]


def test_token_name_is_required_and_bounded(api_as, people):
    client = api_as(people["bob"])
    for body in ({}, {"name": "   "}, {"name": "x" * 101}):
        response = client.post(reverse("api:tokens"), body, format="json")
        assert response.status_code == 400 and "name" in response.json()["error"]["details"]
    assert ApiToken.objects.filter(user=people["bob"]).count() == 1  # only the client's own


def test_anonymous_cannot_list_create_or_revoke_tokens(api_as, people):
    token, _ = ApiToken.issue(user=people["bob"], name="bob's")
    client = api_as()
    assert client.get(reverse("api:tokens")).status_code == 401
    assert client.post(reverse("api:tokens"), {"name": "x"}, format="json").status_code == 401
    assert client.delete(reverse("api:token", args=[token.pk])).status_code == 401
    assert ApiToken.objects.filter(user=people["bob"]).count() == 1 and ApiToken.objects.get().revoked_at is None


def test_list_shows_only_your_live_tokens(api_as, people):
    ApiToken.issue(user=people["bob"], name="bobs-secret-job")
    gone, _ = ApiToken.issue(user=people["alice"], name="old")
    gone.revoke()
    names = [t["name"] for t in api_as(people["alice"]).get(reverse("api:tokens")).json()["results"]]
    assert names == ["tests"]


def test_revoking_your_token_makes_it_401_and_someone_elses_is_404(api_as, people):
    bobs, bob_plain = ApiToken.issue(user=people["bob"], name="bob's")
    alice = api_as(people["alice"])
    response = alice.delete(reverse("api:token", args=[bobs.pk]))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    bobs.refresh_from_db()
    assert bobs.revoked_at is None
    mine, plain = ApiToken.issue(user=people["alice"], name="mine")
    assert alice.delete(reverse("api:token", args=[mine.pk])).status_code == 204
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert alice.delete(reverse("api:token", args=[mine.pk])).status_code == 404  # already revoked
    assert api_as().get(reverse("api:projects"), HTTP_AUTHORIZATION=f"Token {plain}").status_code == 401
    assert api_as().get(reverse("api:projects"), HTTP_AUTHORIZATION=f"Token {bob_plain}").status_code == 200


def test_a_token_can_revoke_itself(api_as, people):
    client = api_as(people["bob"])
    own = ApiToken.objects.get(user=people["bob"])
    assert client.delete(reverse("api:token", args=[own.pk])).status_code == 204
    assert client.get(reverse("api:tokens")).status_code == 401
