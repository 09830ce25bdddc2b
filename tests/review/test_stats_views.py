"""Reviewer stats (reviewers) and annotator quality (managers only)."""
import pytest

from core.models import Item
from labeling.queue import next_assignment, submit_annotation
from review.decisions import resolve_flag
from tests.conftest import add_texts
from tests.review.helpers import client_for, flag, labeled_items

pytestmark = pytest.mark.django_db


def test_reviewer_stats_count_decisions_and_real_errors_by_reason(text_project, people):
    items = labeled_items(text_project, [("a", "positive"), ("b", "positive"), ("c", "positive")])
    flags = [flag(i) for i in items]
    neg = text_project.labels.get(name="negative")
    resolve_flag(flag_id=flags[0].pk, reviewer=people["reviewer"], version=1, label_id=neg.pk)
    resolve_flag(flag_id=flags[1].pk, reviewer=people["reviewer"], version=1, label_id=None)
    r = client_for(people["reviewer"]).get(f"/projects/{text_project.pk}/review/stats/")
    (row,) = r.context["reviewers"]
    assert (row["user"], row["decisions"], row["active_hours"], row["per_hour"]) == (people["reviewer"], 2, 1, 2.0)
    model = next(x for x in r.context["reasons"] if x["value"] == "model")
    assert (model["decided"], model["correct"], model["accuracy"]) == (2, 1, 0.5)


def test_annotator_quality_is_managers_only_and_measures_against_consensus_and_gold(text_project, people):
    text_project.overlap = 3
    text_project.consensus_threshold = 0.6
    text_project.save()
    add_texts(text_project, ["x"])
    for name, label in (("alice", "positive"), ("bob", "positive"), ("carol", "negative")):
        lease = next_assignment(project=text_project, annotator=people[name])
        submit_annotation(project=text_project, annotator=people[name], assignment_id=lease.pk,
                          label_id=text_project.labels.get(name=label).pk)
    assert Item.objects.get().final_source == "consensus"
    assert client_for(people["reviewer"]).get(f"/projects/{text_project.pk}/quality/").status_code == 403
    assert client_for(people["alice"]).get(f"/projects/{text_project.pk}/quality/").status_code == 403
    r = client_for(people["manager"]).get(f"/projects/{text_project.pk}/quality/?annotator={people['carol'].pk}")
    rows = {row["user"].username: row for row in r.context["rows"]}
    assert rows["alice"]["final"]["accuracy"] == 1.0 and rows["carol"]["final"]["accuracy"] == 0.0
    cells = [[c["n"] for c in row["cells"]] for row in r.context["selected"]["rows"]]
    assert cells[0] == [0, 1, 0]  # reference positive, carol said negative
