"""The labeling endpoints run a constant number of queries: 10 items or 200 items, the same count."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import Project
from core.services import membership_set, project_create
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HX = {"HTTP_HX_REQUEST": "true"}
# The exact counts, so a new per-request query shows up here even if it does not grow with the data (the
# test runs inside a transaction: each service's atomic block adds a SAVEPOINT and a RELEASE, which in
# production are a BEGIN and a COMMIT). Submit: session, user, membership with the project and its labels
# (one statement); SAVEPOINT, assignment and item locked, annotation, assignment done, label event, item
# (count and final label in one UPDATE), retrain check (one statement: the project's annotation count and its
# latest retrain job), RELEASE; then the next item (SAVEPOINT, open lease, candidates, lease with room
# re-checked, RELEASE) and the annotator's progress. The partial here
# finds the lease the page took: one more query (the lease and its item, locked) than when there is none.
# submit: +1 for final_label_changed (the open flags); every endpoint -1 since the labels come with the membership
# PostgreSQL, submit -3: the annotation, its assignment's DONE and the retrain check are one statement, the
# label event and the item's UPDATE another (data-modifying WITH, which SQLite does not have).
# Every endpoint that leases a new item -1: the annotator's progress comes back with the lease (the partial
# here finds the page's lease, so it still asks for the progress).
# Every endpoint -1: the user comes with the membership (core.access.get_project_and_labels_for_request),
# not from a statement of django.contrib.auth's own; every endpoint that finds no open lease -1 more: that
# lookup is a column of the same statement (the partial here finds the page's lease, so it still locks it).
# The submit keeps the annotator's "done" count on their membership (labeling.queue._record): +1 on SQLite (an
# UPDATE of its own), +0 on PostgreSQL (a part of the annotation's statement).
# The submit and the next item's lease share one transaction (labeling.queue.submit_and_serve): -2, the
# serving transaction's own SAVEPOINT and RELEASE (BEGIN and COMMIT in production). next_assignment opens no
# savepoint inside a caller's transaction, so inside the test's transaction every endpoint shows -2 more; in
# production the page, the partial and the skip still BEGIN and COMMIT their serving transaction as before.
EXPECTED = {"page": 5, "partial": 6, "submit": 14, "skip": 7}
# PostgreSQL, submit -1: the assignment and its item are locked in the annotation's statement.
EXPECTED_POSTGRESQL = {**EXPECTED, "submit": 9}


def _project(people, n):
    project = project_create(name=f"{n} items", kind=Project.Kind.TEXT, labels=["yes", "no"], owner=people["manager"])
    membership_set(project=project, user=people["alice"], role="annotator")
    add_texts(project, [f"text number {i}" for i in range(n)])
    return project


def _assignment(html: str) -> str:
    return re.search(r'name="assignment" value="(\d+)"', html).group(1)


def _counts(client, project) -> dict:
    counts = {}
    label = str(project.labels.first().pk)
    url = reverse("labeling:label", args=[project.pk])
    with CaptureQueriesContext(connection) as page:
        response = client.get(url)
    assert response.status_code == 200
    counts["page"] = len(page)
    with CaptureQueriesContext(connection) as partial:
        response = client.get(url, **HX)
    counts["partial"] = len(partial)
    with CaptureQueriesContext(connection) as submit:
        response = client.post(reverse("labeling:submit", args=[project.pk]),
                               {"assignment": _assignment(response.content.decode()), "label": label}, **HX)
    assert response.status_code == 200 and b"notice bad" not in response.content
    counts["submit"] = len(submit)
    with CaptureQueriesContext(connection) as skipped:
        response = client.post(reverse("labeling:skip", args=[project.pk]),
                               {"assignment": _assignment(response.content.decode())}, **HX)
    assert response.status_code == 200
    counts["skip"] = len(skipped)
    return counts


def test_labeling_endpoints_run_the_same_number_of_queries_for_10_and_200_items(client, people):
    client.force_login(people["alice"])
    small = _counts(client, _project(people, 10))
    big = _counts(client, _project(people, 200))
    assert small == big, (small, big)
    assert big == (EXPECTED_POSTGRESQL if connection.vendor == "postgresql" else EXPECTED)
