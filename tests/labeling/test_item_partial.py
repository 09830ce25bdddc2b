"""The item partial's forms post to the labeling URLs of the project shown (reversed once per project)."""
import re

import pytest
from django.test.utils import override_script_prefix
from django.urls import reverse

from core.access import _column_names
from core.models import Project
from core.services import membership_set, project_create
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _targets(html: str) -> dict[str, set[str]]:
    return {name: set(re.findall(rf'(?:hx-post|action)="([^"]*/label/{name}/)"', html)) for name in ("submit", "skip", "undo")}


def test_each_projects_partial_posts_to_its_own_labeling_urls(client, text_project, people):
    other = project_create(name="Other", kind=Project.Kind.TEXT, labels=["a", "b"], owner=people["manager"])
    membership_set(project=other, user=people["alice"], role="annotator")
    client.force_login(people["alice"])
    for project in (text_project, other, text_project):
        add_texts(project, [f"{project.name} item"])
        html = client.get(reverse("labeling:label", args=[project.pk]), HTTP_HX_REQUEST="true").content.decode()
        assert _targets(html) == {name: {reverse(f"labeling:{name}", args=[project.pk])} for name in ("submit", "skip", "undo")}


def test_the_partial_follows_the_script_prefix(client, text_project, people):
    add_texts(text_project, ["one"])
    client.force_login(people["alice"])
    url = reverse("labeling:label", args=[text_project.pk])
    assert 'hx-post="/projects/' in client.get(url, HTTP_HX_REQUEST="true").content.decode()
    with override_script_prefix("/quorum/"):  # as WSGIHandler sets it from SCRIPT_NAME
        html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-post="/quorum/projects/{text_project.pk}/label/submit/"' in html


def test_column_names_are_the_descriptions(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 AS one, 'x' AS \"Two words\", NULL AS member_id")
        cursor.fetchall()
        assert _column_names(cursor) == tuple(column[0] for column in cursor.description) == (
            "one", "Two words", "member_id")
