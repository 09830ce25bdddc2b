"""Projects and members: roles decide, outsiders get 404."""
import pytest
from django.urls import reverse

from core.models import Membership, Role
from tests.api.conftest import results

pytestmark = pytest.mark.django_db


def test_projects_lists_only_member_projects(api_as, people, text_project):
    assert [p["name"] for p in results(api_as(people["alice"]).get(reverse("api:projects")))] == ["Reviews"]
    assert results(api_as(people["outsider"]).get(reverse("api:projects"))) == []


def test_project_detail_has_labels_and_outsider_gets_404(api_as, people, text_project):
    url = reverse("api:project", args=[text_project.pk])
    body = api_as(people["alice"]).get(url).json()
    assert [lab["name"] for lab in body["labels"]] == ["positive", "negative", "neutral"]
    response = api_as(people["outsider"]).get(url)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_manager_adds_a_member_by_username_with_a_role(api_as, people, text_project, make_user):
    make_user("dana")
    response = api_as(people["manager"]).post(reverse("api:members", args=[text_project.pk]),
                                              {"username": "dana", "role": "reviewer"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "reviewer"
    assert Membership.objects.get(project=text_project, user__username="dana").role == Role.REVIEWER
    listed = results(api_as(people["alice"]).get(reverse("api:members", args=[text_project.pk]), {"role": "reviewer"}))
    assert sorted(m["username"] for m in listed) == ["dana", "reviewer"]


def test_adding_an_unknown_username_is_a_clear_400(api_as, people, text_project):
    response = api_as(people["manager"]).post(reverse("api:members", args=[text_project.pk]),
                                              {"username": "nobody", "role": "annotator"}, format="json")
    assert response.status_code == 400 and "No active user named 'nobody'" in response.json()["error"]["message"]


def test_annotator_cannot_add_or_remove_members(api_as, people, text_project):
    client = api_as(people["alice"])
    add = client.post(reverse("api:members", args=[text_project.pk]), {"username": "outsider", "role": "manager"},
                      format="json")
    remove = client.delete(reverse("api:member", args=[text_project.pk, "bob"]))
    assert add.status_code == remove.status_code == 403
    assert not Membership.objects.filter(user=people["outsider"]).exists()
    assert Membership.objects.filter(project=text_project, user=people["bob"]).exists()


def test_outsider_gets_404_on_members(api_as, people, text_project):
    client = api_as(people["outsider"])
    assert client.get(reverse("api:members", args=[text_project.pk])).status_code == 404
    assert client.delete(reverse("api:member", args=[text_project.pk, "bob"])).status_code == 404


def test_manager_removes_a_member_but_not_the_last_manager(api_as, people, text_project):
    client = api_as(people["manager"])
    assert client.delete(reverse("api:member", args=[text_project.pk, "bob"])).status_code == 204
    assert not Membership.objects.filter(project=text_project, user=people["bob"]).exists()
    response = client.delete(reverse("api:member", args=[text_project.pk, "manager"]))
    assert response.status_code == 409 and "last manager" in response.json()["error"]["message"]
    assert client.delete(reverse("api:member", args=[text_project.pk, "bob"])).status_code == 400


def test_a_member_whose_old_username_has_a_slash_can_still_be_removed(api_as, people, text_project, make_user):
    # Names like "a/b" were accepted before usernames were checked; the API must still reach them.
    old = make_user("ops/bot")
    Membership.objects.create(project=text_project, user=old, role=Role.ANNOTATOR)
    url = reverse("api:member", args=[text_project.pk, "ops/bot"])
    assert url.endswith("/members/ops/bot/")
    assert api_as(people["manager"]).delete(url).status_code == 204
    assert not Membership.objects.filter(project=text_project, user=old).exists()
