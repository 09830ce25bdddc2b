"""The review queue: highest score first, filters by reason, given label, suggested label and annotator."""
import pytest

from labeling.queue import next_assignment, submit_annotation
from review.models import Flag
from tests.review.helpers import client_for, flag, labeled_items

pytestmark = pytest.mark.django_db


def test_queue_orders_by_score_and_counts_per_filter(text_project, people):
    a, b, c = labeled_items(text_project, [("a", "positive"), ("b", "negative"), ("c", "negative")])
    flag(a, score=0.2, suggested="negative")
    flag(b, score=0.9, suggested="positive", reason=Flag.Reason.LOW_CONSENSUS)
    flag(c, score=0.5, suggested="positive")
    client = client_for(people["reviewer"])
    r = client.get(f"/projects/{text_project.pk}/review/")
    body = r.content.decode()
    assert body.index("item " + str(b.pk)) < body.index("item " + str(c.pk)) < body.index("item " + str(a.pk))
    negative = text_project.labels.get(name="negative")
    r = client.get(f"/projects/{text_project.pk}/review/?label={negative.pk}&reason=model")
    rows = [f.pk for f in r.context["flags"]]
    assert rows == [Flag.objects.get(item=c).pk]
    groups = {g["name"]: {o["text"]: o["count"] for o in g["options"]} for g in r.context["groups"]}
    assert groups["reason"]["Model disagrees with the label"] == 1
    assert groups["reason"]["Low consensus confidence"] == 1  # counts ignore the group's own filter
    assert groups["label"] == {"positive": 1, "negative": 1, "neutral": 0}
    titles = {g["name"]: g["title"] for g in r.context["groups"]}
    assert titles["label"] == "Current label"  # "given label" means the label given at import, everywhere


def test_queue_filters_by_annotator(text_project, people):
    text_project.overlap = 2
    text_project.save()
    labeled_items(text_project, [("x", None)])
    for name, label in (("alice", "positive"), ("bob", "negative")):
        lease = next_assignment(project=text_project, annotator=people[name])
        submit_annotation(project=text_project, annotator=people[name], assignment_id=lease.pk,
                          label_id=text_project.labels.get(name=label).pk)
    assert Flag.objects.count() == 1
    client = client_for(people["reviewer"])
    r = client.get(f"/projects/{text_project.pk}/review/?annotator={people['alice'].pk}")
    assert len(r.context["flags"]) == 1
    r = client.get(f"/projects/{text_project.pk}/review/?annotator={people['carol'].pk}")
    assert r.context["flags"] == []


def test_queue_is_for_reviewers_only(text_project, people):
    assert client_for(people["alice"]).get(f"/projects/{text_project.pk}/review/").status_code == 403
    assert client_for(people["outsider"]).get(f"/projects/{text_project.pk}/review/").status_code == 404


def test_the_queue_pages_by_keyset_forward_and_back_without_gaps_or_repeats(text_project, people):
    items = labeled_items(text_project, [(f"t{i}", "negative") for i in range(120)])
    for n, item in enumerate(items):
        flag(item, score=round(1 - (n // 3) / 100, 2))  # ties of three: the id breaks them
    client = client_for(people["reviewer"])
    url = f"/projects/{text_project.pk}/review/"
    pages, r = [], client.get(url)
    while True:
        pages.append([f.pk for f in r.context["flags"]])
        if not r.context["next_url"]:
            break
        assert 'id="page-next"' in r.content.decode()
        r = client.get(url + r.context["next_url"])
    assert [len(p) for p in pages] == [50, 50, 20]
    expected = list(Flag.objects.order_by("-score", "id").values_list("pk", flat=True))
    assert sum(pages, []) == expected
    back = client.get(url + r.context["prev_url"])
    assert [f.pk for f in back.context["flags"]] == pages[1]
    first = client.get(url + back.context["prev_url"])
    assert [f.pk for f in first.context["flags"]] == pages[0] and not first.context["prev_url"]
    assert "120 open flags" in r.content.decode()
