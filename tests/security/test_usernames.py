"""User names chosen at invitation sign-up are normalised and validated, and every valid one works in the
member URLs of the API (removing a member by name)."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiToken
from core.invitations import invitation_create
from core.models import Invitation, Membership
from core.usernames import InvalidUsername, normalize_username

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-unusual-passphrase-42"
User = get_user_model()


def _sign_up(project, manager, username):
    invitation, token = invitation_create(project=project, role="annotator", created_by=manager)
    response = Client().post(f"/invite/{token}/", {"username": username, "password": PASSWORD})
    invitation.refresh_from_db()
    return response, invitation


@pytest.mark.parametrize("username, problem", [
    ("m\u0430nager1", "mixes writing systems"),  # Cyrillic а among Latin letters
    ("a\u200bb", "U+200B, ZERO WIDTH SPACE"),
    ("ab\u200d", "invisible"),
    ("a/b", "U+002F, SOLIDUS, which is not allowed"),
    ("a\tb", "white space"),
    ("a\x07b", "control character"),
    ("<b>bold</b>", "U+003C, LESS-THAN SIGN"),
    ("ali ce", "white space"),
    ("..", "must start with a letter or a digit"),
    ("a%2Fb", "U+0025, PERCENT SIGN"),
])
def test_unsafe_user_names_are_refused_with_the_reason(text_project, people, username, problem):
    before = User.objects.count()
    response, invitation = _sign_up(text_project, people["manager"], username)
    assert response.status_code == 200 and problem in response.content.decode()
    assert User.objects.count() == before and invitation.used_at is None  # nothing written, link still usable


@pytest.mark.parametrize("username", ["ALICE", "Alice", "\u0430\u04cf\u0456\u0441\u0435"])  # the last: Cyrillic
def test_a_name_taken_or_looking_like_a_taken_one_is_refused(text_project, people, username):
    response, invitation = _sign_up(text_project, people["manager"], username)
    assert response.status_code == 200 and invitation.used_at is None
    assert "taken" in response.content.decode() or "looks like an existing one" in response.content.decode()


def test_a_whole_script_look_alike_of_an_existing_name_is_refused(text_project, people, make_user):
    make_user("cop")
    response, _ = _sign_up(text_project, people["manager"], "\u0441\u043e\u0440")  # Cyrillic с о р
    assert "looks like an existing one" in response.content.decode()
    assert not User.objects.filter(username="\u0441\u043e\u0440").exists()


def test_names_are_stored_nfkc_normalised(text_project, people):
    response, _ = _sign_up(text_project, people["manager"], "\uff44\uff4f\uff52\uff41")  # full-width ｄｏｒａ
    assert response.status_code == 302 and User.objects.filter(username="dora").exists()


VALID = ["dora", "José", "王芳", "やまだ太郎", "Ελένη", "иван", "a.b-c_d@example.org", "x-1", "école"]


def test_every_valid_name_signs_up_and_its_member_url_removes_it(text_project, people):
    for username in VALID:
        response, _ = _sign_up(text_project, people["manager"], username)
        assert response.status_code == 302, (username, response.content.decode()[-600:])
        assert normalize_username(username) == User.objects.get(pk=Invitation.objects.latest("pk").used_by_id).username
    api = APIClient()
    _, token = ApiToken.issue(user=people["manager"], name="tests")
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for username in VALID:
        stored = normalize_username(username)
        url = reverse("api:member", args=[text_project.pk, stored])
        assert api.delete(url).status_code == 204, (username, url)
        assert not Membership.objects.filter(project=text_project, user__username=stored).exists()


def test_the_rules_as_a_function():
    assert normalize_username("  ｍａｎａｇｅｒ ") == "manager"
    for bad in ("", "a\u202eb", "a\u00a0b", "\u0430dmin"):
        with pytest.raises(InvalidUsername):
            normalize_username(bad)
