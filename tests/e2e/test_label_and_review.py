"""The whole loop in a browser: an annotator labels three items by keyboard, a reviewer resolves a flag."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.models import Annotation, Item, ItemRank, LabelEvent
from review.models import Flag
from tests.conftest import add_texts

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_annotator_labels_three_items_with_the_keyboard_only(page_for, live_server, text_project, people):
    add_texts(text_project, ["I love it", "It broke on day one", "It is a phone", "spare"])
    for rank, text in enumerate(["I love it", "It broke on day one", "It is a phone", "spare"]):
        ItemRank.objects.filter(item__text=text).update(priority=10 - rank)
    page = page_for("alice")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/label/")
    page.wait_for_selector("text=I love it")
    progress = page.locator("#my-progress")
    assert progress.get_attribute("aria-valuenow") == "0"
    page.keyboard.press("1")  # positive
    page.wait_for_selector("text=It broke on day one")
    assert progress.get_attribute("aria-valuenow") == "25"  # 1 of 4: the bar moves with every label
    page.keyboard.press("2")  # negative
    page.wait_for_selector("text=It is a phone")
    page.keyboard.press("3")  # neutral
    page.wait_for_selector("text=spare")
    assert progress.get_attribute("aria-valuenow") == "75"
    assert progress.locator("span").get_attribute("style") == "width:75%"
    assert page.url.endswith("/label/")  # no full page load happened: htmx swapped the items in
    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    got = dict(Annotation.objects.filter(annotator=people["alice"]).values_list("item__text", "label__name"))
    assert got == {"I love it": "positive", "It broke on day one": "negative", "It is a phone": "neutral"}
    assert "3</strong> done" in page.content()


def test_reviewer_resolves_a_flag_with_the_keyboard(page_for, live_server, text_project, people):
    add_texts(text_project, ["terrible, returned it", "ok"], labels=["positive", "neutral"])
    item = Item.objects.get(text="terrible, returned it")
    neg = text_project.labels.get(name="negative")
    Flag.objects.create(project=text_project, item=item, reason="model", score=0.93, suggested_label=neg,
                        explanation="given positive; model says negative (0.93)")
    page = page_for("reviewer")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/review/")
    page.wait_for_selector("text=given positive; model says negative (0.93)")
    page.keyboard.press("Enter")  # open the highlighted flag
    page.wait_for_selector("#decide-form")
    page.keyboard.press("2")  # set "negative"
    page.wait_for_url(f"{live_server.url}/projects/{text_project.pk}/review/")
    page.wait_for_selector("text=Nothing to review")
    item.refresh_from_db()
    assert item.final_label == neg and item.final_source == "reviewer"
    event = LabelEvent.objects.filter(item=item).last()
    assert (event.from_label.name, event.to_label.name, event.actor) == ("positive", "negative", people["reviewer"])
    assert Flag.objects.get().status == "resolved"
