"""Creating a project: who may (QUORUM_PROJECT_CREATORS), and every setting the README lists is on the form."""
import pytest

from core.models import Project
from tests.review.helpers import client_for

pytestmark = [pytest.mark.django_db]

FORM = {"name": "Tweets", "kind": "text", "labels": "pos, neg, neutral", "guidelines": "", "overlap": 2,
        "retrain_every": 30, "query_strategy": "margin", "adjudication_k": 3, "consensus_threshold": 0.8}


def test_by_default_staff_and_managers_may_create_projects_and_no_one_else(text_project, people, make_user):
    staff = make_user("staffer")
    staff.is_staff = True
    staff.save()
    for user, allowed in ((people["manager"], True), (staff, True), (people["alice"], False),
                          (people["reviewer"], False), (people["outsider"], False)):
        c = client_for(user)
        assert c.get("/projects/new/").status_code == (200 if allowed else 403), user
        assert ('id="new-project"' in c.get("/").content.decode()) is allowed, user
    r = client_for(people["alice"]).post("/projects/new/", FORM)
    assert r.status_code == 403
    assert "Creating projects needs a staff account or the manager role in a project" in r.content.decode()
    assert not Project.objects.filter(name="Tweets").exists()


@pytest.mark.parametrize("rule, alice, manager", [("everyone", 200, 200), ("staff", 403, 403)])
def test_the_setting_decides_who_may_create(settings, text_project, people, rule, alice, manager):
    settings.QUORUM_PROJECT_CREATORS = rule
    assert client_for(people["alice"]).get("/projects/new/").status_code == alice
    assert client_for(people["manager"]).get("/projects/new/").status_code == manager


def test_the_form_sets_strategy_adjudication_k_and_consensus_threshold(text_project, people):
    r = client_for(people["manager"]).post("/projects/new/", FORM)
    project = Project.objects.get(name="Tweets")
    assert r.status_code == 302 and r["Location"] == f"/projects/{project.pk}/"
    assert (project.query_strategy, project.adjudication_k, project.consensus_threshold, project.overlap) == \
        ("margin", 3, 0.8, 2)
    assert [(lab.name, lab.key) for lab in project.labels.order_by("order")] == [("pos", "1"), ("neg", "2"),
                                                                                ("neutral", "3")]


def test_a_threshold_outside_0_1_is_refused_with_the_field_named(text_project, people):
    r = client_for(people["manager"]).post("/projects/new/", {**FORM, "consensus_threshold": 1.5})
    assert r.status_code == 200 and "Ensure this value is less than or equal to 1.0" in r.content.decode()
    assert not Project.objects.filter(name="Tweets").exists()
