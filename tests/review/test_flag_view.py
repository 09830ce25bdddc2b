"""The flag view and its actions: accept, relabel, escalate, ambiguous, exclude, comment, undo, conflicts."""
import pytest

from core.models import Item, LabelEvent
from review.models import Comment, Flag
from tests.review.helpers import client_for, flag, labeled_items

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def flagged(text_project):
    items = labeled_items(text_project, [("great film", "negative"), ("awful", "negative"), ("fine", "neutral")])
    return [flag(items[0], score=0.9, suggested="positive"), flag(items[1], score=0.5), flag(items[2], score=0.1)]


def _url(project, f, what=""):
    return f"/projects/{project.pk}/review/flags/{f.pk}/{what}"


def test_flag_view_shows_reason_annotations_model_history_and_keys(text_project, people, flagged):
    r = client_for(people["reviewer"]).get(_url(text_project, flagged[0]))
    assert r.status_code == 200
    body = r.content.decode()
    assert "Model disagrees with the label" in body and "great film" in body
    assert 'data-key="1"' in body and "<kbd>E</kbd>" in body and "<kbd>Z</kbd>" in body
    assert "Given at import" in body  # the history's first event


def test_outsider_gets_404_and_annotator_403(text_project, people, flagged):
    assert client_for(people["outsider"]).get(_url(text_project, flagged[0])).status_code == 404
    assert client_for(people["alice"]).get(_url(text_project, flagged[0])).status_code == 403


def test_relabel_records_an_event_and_swaps_in_the_next_flag(text_project, people, flagged):
    c = client_for(people["reviewer"])
    positive = text_project.labels.get(name="positive")
    r = c.post(_url(text_project, flagged[0], "resolve/"), {"version": 1, "label": positive.pk}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert f'data-flag="{flagged[1].pk}"' in r.content.decode()
    f = Flag.objects.get(pk=flagged[0].pk)
    assert (f.status, f.action, f.label_changed) == ("resolved", "relabel", True)
    event = LabelEvent.objects.filter(item=f.item).last()
    assert (event.to_label, event.source, event.cause, event.actor) == (positive, "reviewer", f"flag:{f.pk}",
                                                                       people["reviewer"])


def test_second_reviewer_is_refused_with_the_fresh_state(text_project, people, flagged):
    client_for(people["reviewer"]).post(_url(text_project, flagged[0], "resolve/"), {"version": 1})
    r = client_for(people["manager"]).post(_url(text_project, flagged[0], "resolve/"), {"version": 1},
                                           HTTP_HX_REQUEST="true")
    assert r.status_code == 409
    body = r.content.decode()
    assert "Another reviewer already acted on this flag by reviewer" in body and "This flag is resolved" in body
    assert LabelEvent.objects.filter(cause=f"flag:{flagged[0].pk}").count() == 1


def test_escalate_raises_needed_by_k_and_puts_the_item_on_top(text_project, people, flagged):
    text_project.adjudication_k = 2
    text_project.save()
    client_for(people["reviewer"]).post(_url(text_project, flagged[1], "decide/"), {"version": 1, "action": "escalate"})
    item = Item.objects.get(pk=flagged[1].item_id)
    assert item.needed == item.annotation_count + 2 and item.rank.priority >= 2
    assert Flag.objects.get(pk=flagged[1].pk).action == "escalate"
    assert "escalated: 2 more" in LabelEvent.objects.filter(item=item).last().reason


def test_ambiguous_and_exclude_need_a_reason_and_leave_history(text_project, people, flagged):
    c = client_for(people["reviewer"])
    r = c.post(_url(text_project, flagged[0], "decide/"), {"version": 1, "action": "exclude", "reason": " "},
               HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and "Say why" in r.content.decode()
    c.post(_url(text_project, flagged[0], "decide/"), {"version": 1, "action": "exclude", "reason": "duplicate"})
    c.post(_url(text_project, flagged[1], "decide/"), {"version": 1, "action": "ambiguous", "reason": "sarcasm"})
    a, b = Item.objects.get(pk=flagged[0].item_id), Item.objects.get(pk=flagged[1].item_id)
    assert a.excluded and not a.ambiguous and b.ambiguous and not b.excluded
    assert LabelEvent.objects.filter(item=a).last().reason == "marked excluded from training: duplicate"
    assert a.final_label.name == "negative"  # marks never change the label


def test_comment_is_stored_and_shown(text_project, people, flagged):
    c = client_for(people["reviewer"])
    r = c.post(_url(text_project, flagged[0], "comment/"), {"text": "check the guidelines"}, HTTP_HX_REQUEST="true")
    assert "check the guidelines" in r.content.decode()
    assert Comment.objects.get().author == people["reviewer"]
    assert c.post(_url(text_project, flagged[0], "comment/"), {"text": ""}).status_code == 400


def test_undo_restores_the_label_reopens_the_flag_and_is_an_event(text_project, people, flagged):
    c = client_for(people["reviewer"])
    positive = text_project.labels.get(name="positive")
    c.post(_url(text_project, flagged[0], "resolve/"), {"version": 1, "label": positive.pk})
    r = c.post(f"/projects/{text_project.pk}/review/undo/", {"flag": flagged[1].pk}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and f'data-flag="{flagged[0].pk}"' in r.content.decode()
    item = Item.objects.get(pk=flagged[0].item_id)
    assert item.final_label.name == "negative" and item.final_source == "given"
    decision, undo = LabelEvent.objects.filter(item=item, cause=f"flag:{flagged[0].pk}")
    assert undo.undoes == decision and undo.to_label.name == "negative"
    f = Flag.objects.get(pk=flagged[0].pk)
    assert f.status == "open" and f.version == 3 and f.resolved_by is None
    # nothing left to undo: a clear message, nothing written
    r = c.post(f"/projects/{text_project.pk}/review/undo/", {"flag": flagged[0].pk}, HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and "Nothing to undo" in r.content.decode()


def test_undo_of_an_exclusion_clears_the_mark(text_project, people, flagged):
    c = client_for(people["reviewer"])
    c.post(_url(text_project, flagged[0], "decide/"), {"version": 1, "action": "exclude", "reason": "dup"})
    c.post(f"/projects/{text_project.pk}/review/undo/")
    assert not Item.objects.get(pk=flagged[0].item_id).excluded
    assert Flag.objects.get(pk=flagged[0].pk).status == "open"


def test_last_flag_done_sends_the_reviewer_back_to_the_queue(text_project, people):
    (item,) = labeled_items(text_project, [("only", "neutral")])
    f = flag(item)
    r = client_for(people["reviewer"]).post(_url(text_project, f, "resolve/"), {"version": 1}, HTTP_HX_REQUEST="true")
    assert r.headers["HX-Redirect"] == f"/projects/{text_project.pk}/review/"


def test_a_decision_naming_another_flag_changes_nothing(text_project, people, flagged):
    """The form names the flag it was shown for: a post that reaches another flag's URL is refused."""
    c = client_for(people["reviewer"])
    r = c.post(_url(text_project, flagged[1], "resolve/"), {"flag": flagged[0].pk, "version": 1},
               HTTP_HX_REQUEST="true")
    assert r.status_code == 409
    assert f"made on flag {flagged[0].pk}, not on flag {flagged[1].pk}; nothing was changed" in r.content.decode()
    r = c.post(_url(text_project, flagged[1], "decide/"), {"flag": flagged[0].pk, "version": 1, "action": "exclude",
                                                         "reason": "dup"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 409
    assert Flag.objects.filter(status="open").count() == 3
    assert not LabelEvent.objects.filter(cause__startswith="flag:").exists()
    assert not Item.objects.filter(excluded=True).exists()
    r = c.post(_url(text_project, flagged[1], "resolve/"), {"flag": flagged[1].pk, "version": 1})
    assert Flag.objects.get(pk=flagged[1].pk).status == "resolved"
