"""The members page: managers add people and change roles through the same service as the API."""
from django.urls import reverse

from core.models import Membership, Role


def _login(client, user):
    client.force_login(user)
    return client


def test_the_last_manager_cannot_be_demoted_from_the_members_page(client, text_project, people):
    manager = people["manager"]
    response = _login(client, manager).post(reverse("projects:members", args=[text_project.pk]),
                                            {"action": "add", "username": "manager", "role": Role.ANNOTATOR})
    assert response.status_code == 200
    assert "last manager" in response.content.decode()
    assert Membership.objects.get(project=text_project, user=manager).role == Role.MANAGER


def test_a_manager_can_demote_another_manager_from_the_members_page(client, text_project, people):
    Membership.objects.filter(project=text_project, user=people["reviewer"]).update(role=Role.MANAGER)
    response = _login(client, people["manager"]).post(reverse("projects:members", args=[text_project.pk]),
                                                      {"action": "add", "username": "reviewer", "role": Role.REVIEWER})
    assert response.status_code == 302
    assert Membership.objects.get(project=text_project, user=people["reviewer"]).role == Role.REVIEWER


def test_an_unknown_user_name_gets_a_clear_error_on_the_members_page(client, text_project, people):
    response = _login(client, people["manager"]).post(reverse("projects:members", args=[text_project.pk]),
                                                      {"action": "add", "username": " nobody ", "role": Role.ANNOTATOR})
    assert "No active user named &#x27;nobody&#x27;" in response.content.decode()
    assert not Membership.objects.filter(project=text_project, user__username="nobody").exists()
