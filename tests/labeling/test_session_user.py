"""The labeling views read the signed-in user with the membership (core.access.get_project_and_labels_for_request)
and refuse exactly whom django.contrib.auth's get_user refuses, from the very next request."""
import re

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import Annotation, Assignment
from labeling.queue import next_assignment
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HX = {"HTTP_HX_REQUEST": "true"}
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class RefusingBackend(ModelBackend):
    """A backend whose own user read refuses everyone: the views must ask it, not read the user themselves."""

    def get_user(self, user_id):
        return None


def _assignment(response) -> str:
    return re.search(r'name="assignment" value="(\d+)"', response.content.decode()).group(1)


def _own_user_reads(queries) -> list[str]:
    """Statements that read the user on their own (django.contrib.auth's get_user)."""
    table = connection.ops.quote_name(get_user_model()._meta.db_table)
    return [q["sql"] for q in queries if q["sql"].lstrip().startswith("SELECT") and f"FROM {table}" in q["sql"]]


@pytest.fixture
def labeling(client, text_project, people):
    add_texts(text_project, ["one", "two", "three"])
    client.force_login(people["alice"])
    return client, reverse("labeling:label", args=[text_project.pk]), reverse("labeling:submit", args=[text_project.pk])


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_members_user_comes_with_the_membership_and_is_the_requests_user(labeling, people):
    client, url, _ = labeling
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **HX)
    assert response.status_code == 200 and 'name="assignment"' in response.content.decode()
    assert _own_user_reads(queries) == []
    request = response.wsgi_request
    assert request.user == people["alice"] and request._cached_user is request.user
    assert request.user.is_authenticated and request.user.username == "alice"
    assert request.user.date_joined == people["alice"].date_joined  # converted as the ORM does (SQLite: text)


def test_a_changed_password_is_refused_on_the_very_next_request_and_the_session_flushed(labeling, people):
    client, url, submit = labeling
    served = client.get(url, **HX)
    alice = people["alice"]
    alice.set_password("a-new-password-2")
    alice.save()
    assert _is_login_redirect(client.get(url, **HX))
    assert SESSION_KEY not in client.session  # get_user flushed it, as Django does
    label = alice.memberships.get().project.labels.first().pk
    response = client.post(submit, {"assignment": _assignment(served), "label": label}, **HX)
    assert _is_login_redirect(response) and not Annotation.objects.exists()


def test_a_deactivated_user_is_refused_on_the_very_next_request(labeling, people):
    client, url, submit = labeling
    served = client.get(url, **HX)
    get_user_model().objects.filter(pk=people["alice"].pk).update(is_active=False)
    assert _is_login_redirect(client.get(url, **HX))
    label = people["alice"].memberships.get().project.labels.first().pk
    response = client.post(submit, {"assignment": _assignment(served), "label": label}, **HX)
    assert _is_login_redirect(response) and not Annotation.objects.exists()


def test_a_backend_that_lets_inactive_users_in_is_asked(client, text_project, people, settings):
    add_texts(text_project, ["one"])
    backend = "django.contrib.auth.backends.AllowAllUsersModelBackend"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, backend]
    client.force_login(people["alice"], backend=backend)
    get_user_model().objects.filter(pk=people["alice"].pk).update(is_active=False)
    response = client.get(reverse("labeling:label", args=[text_project.pk]), **HX)
    assert response.status_code == 200 and response.wsgi_request.user == people["alice"]


def test_a_backend_with_its_own_user_read_decides(client, text_project, people, settings):
    add_texts(text_project, ["one"])
    backend = f"{__name__}.RefusingBackend"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, backend]
    client.force_login(people["alice"], backend=backend)
    assert _is_login_redirect(client.get(reverse("labeling:label", args=[text_project.pk]), **HX))


def test_a_session_of_a_backend_no_longer_in_the_settings_is_refused(labeling, settings):
    client, url, _ = labeling
    assert client.session[BACKEND_SESSION_KEY] == MODEL_BACKEND
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    assert _is_login_redirect(client.get(url, **HX))


def test_a_session_signed_with_a_fallback_secret_is_kept_with_a_new_key_as_django_does(labeling, settings):
    client, url, _ = labeling
    old_key = client.session.session_key
    old_hash = client.session[HASH_SESSION_KEY]
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-rotated-secret-key-for-this-test-only-0123456789"
    response = client.get(url, **HX)
    assert response.status_code == 200
    assert client.session.session_key != old_key and client.session[HASH_SESSION_KEY] != old_hash
    with CaptureQueriesContext(connection) as queries:  # the session's hash is the current one again
        assert client.get(url, **HX).status_code == 200
    assert _own_user_reads(queries) == []


def test_a_session_without_its_hash_is_refused(labeling):
    client, url, _ = labeling
    session = client.session
    del session[HASH_SESSION_KEY]
    session.save()
    assert _is_login_redirect(client.get(url, **HX))


def test_anonymous_users_go_to_the_login_page_and_a_get_on_submit_is_405(client, text_project, people):
    url, submit = (reverse(name, args=[text_project.pk]) for name in ("labeling:label", "labeling:submit"))
    for response in (client.get(url), client.get(url, **HX), client.get(submit), client.post(submit, {"label": 1})):
        assert _is_login_redirect(response)
    assert client.get(url)["Location"] == f"{reverse('login')}?next={url}"
    client.force_login(people["alice"])
    assert client.get(submit).status_code == 405
    client.force_login(people["outsider"])
    assert client.get(submit).status_code == 405  # as before: the method is checked before the membership
    assert client.post(submit, {"label": 1}, **HX).status_code == 404


def test_a_full_page_load_shows_the_signed_in_user(labeling):
    client, url, _ = labeling
    response = client.get(url)
    assert response.status_code == 200 and "alice" in response.content.decode()


def test_a_refused_submit_serves_the_same_item_again(labeling, text_project):
    client, url, submit = labeling
    served = client.get(url, **HX)
    response = client.post(submit, {"assignment": _assignment(served), "label": 10**9}, **HX)
    assert "notice bad" in response.content.decode() and _assignment(response) == _assignment(served)
    assert Assignment.objects.filter(state=Assignment.State.LEASED).count() == 1


def test_a_submit_and_a_skip_serve_a_new_item_and_leave_one_lease_open(labeling, text_project, people):
    client, url, submit = labeling
    first = _assignment(client.get(url, **HX))
    label = text_project.labels.first().pk
    second = _assignment(client.post(submit, {"assignment": first, "label": label}, **HX))
    third = _assignment(client.post(reverse("labeling:skip", args=[text_project.pk]), {"assignment": second}, **HX))
    assert len({first, second, third}) == 3
    states = dict(Assignment.objects.filter(annotator=people["alice"]).values_list("pk", "state"))
    assert states == {int(first): "done", int(second): "skipped", int(third): "leased"}


def test_a_second_tab_gets_the_open_lease_whatever_stale_lease_it_gives_up(labeling, text_project):
    client, url, _ = labeling
    first = _assignment(client.get(url, **HX))
    # Another tab skips a lease that is no longer open (or was never its own): the open one is served again.
    skip = reverse("labeling:skip", args=[text_project.pk])
    assert _assignment(client.post(skip, {"assignment": str(int(first) + 1000)}, **HX)) == first
    assert _assignment(client.post(skip, {"assignment": str(10**30)}, **HX)) == first
    assert _assignment(client.get(url, **HX)) == first


@pytest.mark.pg_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_lease_served_without_the_open_lease_query_still_commits_without_waiting_for_the_disk(
        text_project, people):
    add_texts(text_project, ["one", "two"])
    seen = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "INSERT INTO labeling_assignment" in sql:
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                seen.append(cursor.fetchone()[0])
        return result

    with connection.execute_wrapper(wrapper):
        assert next_assignment(project=text_project, annotator=people["alice"], open_lease=None) is not None
        with transaction.atomic():  # a caller's transaction keeps its own setting
            assert next_assignment(project=text_project, annotator=people["bob"], open_lease=None) is not None
    assert seen == ["off", "on"]
