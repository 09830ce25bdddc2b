"""The labeling screen reads membership, project and labels in one statement: never stale, same refusals."""
import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.access import get_project_and_labels_for_user
from core.members import member_remove
from core.models import Annotation
from core.selectors import project_labels
from core.services import labels_set
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db]

HX = {"HTTP_HX_REQUEST": "true"}


def test_the_labels_come_with_the_membership_in_key_order(text_project, people):
    project, membership = get_project_and_labels_for_user(people["alice"], text_project.pk)
    assert membership.role == "annotator" and membership.user == people["alice"] and project == text_project
    with CaptureQueriesContext(connection) as queries:
        labels = project_labels(project)
    assert len(queries) == 0
    expected = list(text_project.labels.order_by("order"))
    assert [(lab.pk, lab.name, lab.key, lab.order, lab.project_id) for lab in labels] == [
        (lab.pk, lab.name, lab.key, lab.order, lab.project_id) for lab in expected]


def test_outsiders_and_anonymous_users_get_404(text_project, people):
    from django.contrib.auth.models import AnonymousUser

    for user in (people["outsider"], AnonymousUser()):
        with pytest.raises(Http404):
            get_project_and_labels_for_user(user, text_project.pk)


def test_a_removed_member_is_refused_on_the_very_next_request(client, text_project, people):
    add_texts(text_project, ["one", "two"])
    client.force_login(people["alice"])
    url = reverse("labeling:label", args=[text_project.pk])
    first = client.get(url, **HX)
    assert first.status_code == 200 and 'name="assignment"' in first.content.decode()
    member_remove(project=text_project, username="alice")
    assert client.get(url, **HX).status_code == 404
    assignment = first.content.decode().split('name="assignment" value="')[1].split('"')[0]
    label = text_project.labels.first().pk
    response = client.post(reverse("labeling:submit", args=[text_project.pk]),
                           {"assignment": assignment, "label": label}, **HX)
    assert response.status_code == 404 and not Annotation.objects.filter(project=text_project).exists()


def test_a_label_added_meanwhile_is_offered_and_accepted_on_the_next_request(client, text_project, people):
    add_texts(text_project, ["one", "two"])
    client.force_login(people["alice"])
    url = reverse("labeling:label", args=[text_project.pk])
    assert "sarcastic" not in client.get(url, **HX).content.decode()
    labels_set(project=text_project, names=["sarcastic"])
    body = client.get(url, **HX).content.decode()
    assert "sarcastic" in body and "<kbd>1</kbd>–<kbd>4</kbd>" in body
    added = text_project.labels.get(name="sarcastic")
    assignment = body.split('name="assignment" value="')[1].split('"')[0]
    response = client.post(reverse("labeling:submit", args=[text_project.pk]),
                           {"assignment": assignment, "label": added.pk}, **HX)
    assert response.status_code == 200 and "notice bad" not in response.content.decode()
    assert Annotation.objects.get(project=text_project).label == added
