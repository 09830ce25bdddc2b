"""The labeling screen keeps a big project's counts snapshot a few seconds per process; exact counts never."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import ProjectStats
from core.stats import recount
from labeling import selectors
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db]

HX = {"HTTP_HX_REQUEST": "true"}


def _stats_queries(client, project) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("labeling:label", args=[project.pk]), **HX).content.decode()
    return body, sum("labeling_projectstats" in q["sql"] for q in queries)


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(selectors, "monotonic", lambda: now[0])
    return now


def test_a_big_projects_snapshot_is_read_once_per_few_seconds_then_again(client, text_project, people, settings,
                                                                          clock):
    settings.QUORUM_STATS_EXACT_MAX_ITEMS = 10
    add_texts(text_project, [f"item {i}" for i in range(230)], ["positive"] * 23 + [None] * 207)
    recount(text_project.pk)
    client.force_login(people["alice"])
    body, reads = _stats_queries(client, text_project)
    assert reads >= 1 and "Project: 23 of 230 items labeled (10%)" in body

    ProjectStats.objects.filter(project=text_project).update(labeled=46)  # a recount in the background
    body, reads = _stats_queries(client, text_project)
    assert reads == 0 and "Project: 23 of 230 items labeled (10%)" in body  # the kept snapshot

    clock[0] += selectors.OVERALL_KEEP_SECONDS + 0.1
    body, reads = _stats_queries(client, text_project)
    assert reads >= 1 and "Project: 46 of 230 items labeled (20%)" in body


def test_exact_counts_of_a_smaller_project_move_with_every_label(client, text_project, people, clock):
    add_texts(text_project, [f"item {i}" for i in range(230)])  # below QUORUM_STATS_EXACT_MAX_ITEMS: counted
    client.force_login(people["bob"])
    body, _ = _stats_queries(client, text_project)
    assert "Project: 0 of 230 items labeled (0%)" in body
    assignment = body.split('name="assignment" value="')[1].split('"')[0]
    label = text_project.labels.first().pk
    body = client.post(reverse("labeling:submit", args=[text_project.pk]),
                       {"assignment": assignment, "label": label}, **HX).content.decode()
    assert "Project: 1 of 230 items labeled (0%)" in body  # same second, the new count
