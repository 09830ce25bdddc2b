"""REST for the whole loop: create and configure a project, retrain, search mislabels, run health, list findings."""
import pytest
from django.urls import reverse

from core.models import Annotation, Item, Job, Membership, Project, Role
from health.models import Finding, HealthReport
from learning.models import ModelVersion
from tests.api.conftest import results
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db

NEW = {"name": "Support tickets", "kind": "text", "labels": ["billing", "bug", "other"], "overlap": 2,
       "retrain_every": 30, "query_strategy": "margin", "adjudication_k": 3, "consensus_threshold": 0.8,
       "auto_accept": True, "auto_accept_target": 0.95, "auto_accept_spot_check_rate": 0.1}


@pytest.fixture(autouse=True)
def manager_of_a_project(people):
    """The default QUORUM_PROJECT_CREATORS lets existing managers create projects: "manager" manages one."""
    from core.services import project_create

    project_create(name="Existing", kind="text", labels=["a"], owner=people["manager"])


def test_a_user_creates_a_project_with_every_setting_and_becomes_its_manager(api_as, people):
    response = api_as(people["manager"]).post(reverse("api:projects"), NEW, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    project = Project.objects.get(pk=body["id"])
    assert [(lab["name"], lab["key"]) for lab in body["labels"]] == [("billing", "1"), ("bug", "2"), ("other", "3")]
    assert (project.overlap, project.retrain_every, project.query_strategy, project.adjudication_k,
            project.consensus_threshold) == (2, 30, "margin", 3, 0.8)
    assert (project.auto_accept, project.auto_accept_target, project.auto_accept_spot_check_rate) == (True, 0.95, 0.1)
    assert project.auto_accept_since is not None  # auto-accept went through learning's service
    assert Membership.objects.get(project=project, user=people["manager"]).role == Role.MANAGER
    assert body["consensus_threshold"] == 0.8 and body["query_strategy"] == "margin"


def test_project_defaults_when_only_name_and_kind_are_given(api_as, people):
    body = api_as(people["manager"]).post(reverse("api:projects"), {"name": "Photos", "kind": "image"},
                                      format="json").json()
    assert (body["overlap"], body["query_strategy"], body["adjudication_k"], body["labels"]) == \
        (1, "margin_diverse_balanced", 2, [])


@pytest.mark.parametrize("change, field", [
    ({"query_strategy": "random-ish"}, "query_strategy"), ({"overlap": 0}, "overlap"),
    ({"consensus_threshold": 1.5}, "consensus_threshold"), ({"adjudication_k": "two"}, "adjudication_k"),
    ({"kind": "audio"}, "kind"), ({"labels": "a,b"}, "labels"), ({"auto_accept_target": 0.2}, "auto_accept_target"),
])
def test_create_refuses_bad_settings_with_the_field_named_and_writes_nothing(api_as, people, change, field):
    response = api_as(people["manager"]).post(reverse("api:projects"), {**NEW, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Project.objects.filter(name="Support tickets").exists()


def test_create_refuses_repeated_labels(api_as, people):
    response = api_as(people["manager"]).post(reverse("api:projects"), {**NEW, "labels": ["a", "b", "a"]}, format="json")
    assert response.status_code == 400 and "repeated: a" in response.json()["error"]["message"]
    assert not Project.objects.filter(name="Support tickets").exists()
    # one class typed two ways is refused too, naming both
    response = api_as(people["manager"]).post(reverse("api:projects"), {**NEW, "labels": ["Billing", "billing "]},
                                              format="json")
    assert response.status_code == 400
    assert "'Billing' and 'billing' would be two classes" in response.json()["error"]["message"]
    assert not Project.objects.filter(name="Support tickets").exists()


def test_manager_changes_settings_others_may_not(api_as, people, text_project):
    url = reverse("api:project", args=[text_project.pk])
    change = {"consensus_threshold": 0.9, "query_strategy": "entropy", "adjudication_k": 4, "retrain_every": 10,
              "auto_accept": True}
    assert api_as(people["reviewer"]).patch(url, change, format="json").status_code == 403
    assert api_as(people["outsider"]).patch(url, change, format="json").status_code == 404
    response = api_as(people["manager"]).patch(url, change, format="json")
    assert response.status_code == 200, response.content
    text_project.refresh_from_db()
    assert (text_project.consensus_threshold, text_project.query_strategy, text_project.adjudication_k,
            text_project.retrain_every, text_project.auto_accept) == (0.9, "entropy", 4, 10, True)
    assert response.json()["auto_accept"] is True


def test_labels_are_appended_never_renamed(api_as, people, text_project):
    client, url = api_as(people["manager"]), reverse("api:project", args=[text_project.pk])
    body = client.patch(url, {"labels": ["positive", "negative", "neutral", "mixed"]}, format="json").json()
    assert [(lab["name"], lab["key"]) for lab in body["labels"]][-1] == ("mixed", "4")
    response = client.patch(url, {"labels": ["good", "negative", "neutral", "mixed"]}, format="json")
    assert response.status_code == 409 and "current labels first" in response.json()["error"]["message"]
    assert list(text_project.labels.values_list("name", flat=True)) == ["positive", "negative", "neutral", "mixed"]


def test_overlap_changes_open_items_until_labeling_starts(api_as, people, text_project):
    add_texts(text_project, ["one", "two"], labels=[None, "positive"])
    client, url = api_as(people["manager"]), reverse("api:project", args=[text_project.pk])
    assert client.patch(url, {"overlap": 3}, format="json").status_code == 200
    assert dict(Item.objects.values_list("text", "needed")) == {"one": 3, "two": 0}  # given labels stay out
    item = Item.objects.get(text="one")
    Annotation.objects.create(project=text_project, item=item, annotator=people["alice"],
                              label=text_project.labels.first())
    response = client.patch(url, {"overlap": 1, "consensus_threshold": 0.5}, format="json")
    assert response.status_code == 409 and "Overlap cannot change" in response.json()["error"]["message"]
    text_project.refresh_from_db()
    assert (text_project.overlap, text_project.consensus_threshold) == (3, 0.7)  # nothing half-written


def test_retrain_returns_a_job_to_poll_managers_only(api_as, people, text_project):
    url = reverse("api:retrain", args=[text_project.pk])
    assert api_as(people["reviewer"]).post(url).status_code == 403
    assert api_as(people["outsider"]).post(url).status_code == 404
    response = api_as(people["manager"]).post(url)
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["kind"] == "retrain" and Job.objects.filter(pk=job["id"], project=text_project).exists()
    again = api_as(people["manager"]).post(url).json()
    assert again["id"] == job["id"]  # one retrain at a time
    polled = api_as(people["alice"]).get(reverse("api:job", args=[job["id"]]))
    assert polled.status_code == 200 and polled.json()["id"] == job["id"]
    assert api_as(people["outsider"]).get(reverse("api:job", args=[job["id"]])).status_code == 404


def test_mislabel_search_needs_a_model_and_a_reviewer(api_as, people, text_project):
    url = reverse("api:find_mislabels", args=[text_project.pk])
    assert api_as(people["alice"]).post(url).status_code == 403
    response = api_as(people["reviewer"]).post(url)
    assert response.status_code == 400 and "retrain first" in response.json()["error"]["message"]
    ModelVersion.objects.create(project=text_project, name="v1")
    response = api_as(people["reviewer"]).post(url)
    assert response.status_code == 202 and response.json()["kind"] == "flag"


def test_health_run_ends_and_its_findings_are_listed(api_as, people, text_project,
                                                     django_capture_on_commit_callbacks):
    add_texts(text_project, ["same words", "same words again", "x"] + [f"text number {n}" for n in range(20)])
    url = reverse("api:health_run", args=[text_project.pk])
    assert api_as(people["alice"]).post(url).status_code == 403
    client = api_as(people["reviewer"])
    assert results(client.get(reverse("api:findings", args=[text_project.pk]))) == []
    with django_capture_on_commit_callbacks(execute=True):  # the eager worker runs the job on commit
        response = client.post(url)
    assert response.status_code == 202 and response.json()["kind"] == "health"
    job = client.get(reverse("api:job", args=[response.json()["id"]])).json()
    assert job["state"] == "succeeded", job
    findings = results(client.get(reverse("api:findings", args=[text_project.pk])))
    report = HealthReport.objects.get(project=text_project)
    assert {f["id"] for f in findings} == set(Finding.objects.filter(report=report).values_list("pk", flat=True))
    assert findings and all(f["report"] == report.pk and f["check"] and f["explanation"] for f in findings)
    severity = findings[0]["severity"]
    only = results(client.get(reverse("api:findings", args=[text_project.pk]), {"severity": severity}))
    assert only and {f["severity"] for f in only} == {severity}
    assert api_as(people["alice"]).get(reverse("api:findings", args=[text_project.pk])).status_code == 403


def test_who_may_create_projects_over_the_api_follows_the_web_rule(api_as, people, settings):
    """QUORUM_PROJECT_CREATORS applies to the API as to the new-project form: an annotator is refused with the
    reason, nothing is written; with "everyone" they may."""
    annotator = people["alice"]
    assert not Membership.objects.filter(user=annotator, role=Role.MANAGER).exists()
    settings.QUORUM_PROJECT_CREATORS = "managers"
    before = Project.objects.count()
    response = api_as(annotator).post(reverse("api:projects"), NEW, format="json")
    assert response.status_code == 403
    assert "ask an administrator or a manager" in response.json()["error"]["message"]
    assert Project.objects.count() == before
    settings.QUORUM_PROJECT_CREATORS = "everyone"
    assert api_as(annotator).post(reverse("api:projects"), NEW, format="json").status_code == 201
