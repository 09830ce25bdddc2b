"""Issue 16 point 4: duplicate findings are shown group by group and a reviewer sets a group's (or one item's)
label right there, with history naming the finding."""
import hashlib

import pytest
from django.urls import reverse

from core.models import Item, LabelEvent, Project
from core.services import project_create
from health.models import Finding
from ml import synthetic as S
from tests.conftest import add_members
from tests.health.test_image_health import run_health
from tests.health_data import load_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets_with_copies(people):
    project = project_create(name="Support", kind=Project.Kind.TEXT, labels=list(S.TICKET_CLASSES),
                             owner=people["manager"], retrain_every=10_000)
    add_members(project, people)
    data = S.ticket_set(120, seed=9, n_each=4)
    ids = load_set(project, data, name="tickets.csv")
    # Two items that differ only in case and punctuation, with different labels: one duplicate group of two.
    a = Item.objects.get(pk=ids[0])
    text = a.text.upper().replace(".", "!")
    copy = Item.objects.create(project=project, text=text, content_hash=hashlib.sha256(text.encode()).hexdigest(),
                               final_label=project.labels.exclude(pk=a.final_label_id).first(), final_source="given",
                               needed=0)
    report = run_health(project, people["manager"])
    return project, report, a, copy


def url(finding, name="health:finding"):
    return reverse(name, args=[finding.project_id, finding.pk])


def test_duplicate_finding_page_shows_one_section_per_group(client, people, tickets_with_copies):
    project, report, a, copy = tickets_with_copies
    finding = report.findings.get(check_name="conflicting_duplicates")
    assert [a.pk, copy.pk] in finding.params["groups"]
    client.force_login(people["reviewer"])
    body = client.get(url(finding)).content.decode()
    assert body.count('class="panel dup-group"') == len(finding.params["groups"])
    assert "Set for all 2" in body and "<script" not in body.split("</main>")[0].split("<main")[-1]
    imports = report.findings.get(check_name="conflicting_imports")
    body = client.get(url(imports)).content.decode()
    assert body.count('class="panel dup-group"') == len(imports.params["groups"]) and "given: " in body


def test_no_label_is_chosen_for_the_reviewer_where_the_labels_differ_or_are_missing(client, people,
                                                                                    tickets_with_copies):
    import re

    project, report, a, copy = tickets_with_copies
    finding = report.findings.get(check_name="conflicting_duplicates")
    client.force_login(people["reviewer"])

    def selected(select_id):
        body = client.get(url(finding)).content.decode()
        group = next(g for g in re.findall(r'<section class="panel dup-group".*?</section>', body, re.S)
                     if f'id="item-{a.pk}"' in g)
        select = re.search(rf'<select id="{select_id}" name="label" required>(.*?)</select>', group, re.S).group(1)
        return re.findall(r'<option value="(\d*)"[^>]*\bselected\b', select)

    assert selected(r"group-\d+-label") == [""]  # the group's labels differ: "choose…", never the first label
    assert selected(f"item-{a.pk}-label") == [str(a.final_label_id)]  # labeled: its own label
    copy.final_label, copy.final_source = None, ""  # the other member not labeled (yet)
    copy.save(update_fields=["final_label", "final_source"])
    assert selected(f"item-{copy.pk}-label") == [""]  # unlabeled: "choose…"
    assert selected(r"group-\d+-label") == [str(a.final_label_id)]  # the group's one label is offered for all
    # a submit without a choice changes nothing and says why
    response = client.post(url(finding, "health:finding_label"), {"item": [a.pk, copy.pk], "label": "", "page": 1},
                           follow=True)
    assert "Choose one of the project&#x27;s labels." in response.content.decode()
    assert Item.objects.get(pk=copy.pk).final_label_id is None


def test_reviewer_sets_the_label_of_a_group_with_history_naming_the_finding(client, people, tickets_with_copies):
    project, report, a, copy = tickets_with_copies
    finding = report.findings.get(check_name="conflicting_duplicates")
    right = project.labels.get(name="refund")
    client.force_login(people["reviewer"])
    response = client.post(url(finding, "health:finding_label"),
                           {"item": [a.pk, copy.pk], "label": right.pk, "page": 1, "group": 3})
    assert response.status_code == 302 and response["Location"].endswith("?page=1#group-3")
    for item in (a, copy):
        item.refresh_from_db()
        assert item.final_label == right and item.final_source == "reviewer"
        event = LabelEvent.objects.filter(item=item).last()
        assert event.cause == f"finding:{finding.pk}" and event.actor == people["reviewer"]
        assert event.to_label == right and "Duplicates with different labels" in event.reason
    page = client.get(url(finding)).content.decode()
    assert "one label: refund" in page and "last change:" in page


def test_one_item_of_a_group_can_be_set_alone(client, people, tickets_with_copies):
    project, report, a, copy = tickets_with_copies
    finding = report.findings.get(check_name="conflicting_duplicates")
    label = a.final_label
    client.force_login(people["reviewer"])
    client.post(url(finding, "health:finding_label"), {"item": [copy.pk], "label": label.pk})
    copy.refresh_from_db()
    a.refresh_from_db()
    assert copy.final_label == label and a.final_source == "given"  # the other item is left alone


def test_items_outside_the_finding_and_foreign_labels_are_refused_and_nothing_changes(client, people,
                                                                                    tickets_with_copies):
    project, report, a, copy = tickets_with_copies
    finding = report.findings.get(check_name="conflicting_duplicates")
    outside = Item.objects.filter(project=project).exclude(pk__in=finding.item_ids).first()
    before = LabelEvent.objects.count()
    client.force_login(people["reviewer"])
    response = client.post(url(finding, "health:finding_label"),
                           {"item": [a.pk, outside.pk], "label": a.final_label_id}, follow=True)
    assert "not part of this finding" in response.content.decode()
    other = project_create(name="Other", kind="text", labels=["x"], owner=people["manager"])
    response = client.post(url(finding, "health:finding_label"),
                           {"item": [a.pk], "label": other.labels.get().pk}, follow=True)
    assert "Choose one of the project" in response.content.decode()
    assert LabelEvent.objects.count() == before


def test_annotators_and_outsiders_cannot_set_labels(client, people, tickets_with_copies):
    project, report, a, copy = tickets_with_copies
    finding = report.findings.get(check_name="conflicting_duplicates")
    data = {"item": [a.pk], "label": a.final_label_id}
    client.force_login(people["alice"])
    assert client.post(url(finding, "health:finding_label"), data).status_code == 403
    client.force_login(people["outsider"])
    assert client.post(url(finding, "health:finding_label"), data).status_code == 404
    assert not LabelEvent.objects.filter(cause=f"finding:{finding.pk}").exists()


def test_skipped_files_finding_lists_files_and_reasons(client, people, tickets_with_copies):
    project, report, *_ = tickets_with_copies
    finding = Finding.objects.create(report=report, project=project, check_name="skipped_files", key="skipped_files",
                                     severity="warning", title="Files skipped at import", count=2, explanation="x",
                                     params={"files": [{"file": "red/a.jpg", "reason": "truncated", "job": 1}]})
    client.force_login(people["reviewer"])
    body = client.get(url(finding)).content.decode()
    assert "red/a.jpg" in body and "truncated" in body
