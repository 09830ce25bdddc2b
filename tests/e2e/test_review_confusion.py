"""Bulk relabel from the confusion view: open a cell, select items, relabel them in one action."""
import pytest
from playwright.sync_api import expect

from core.models import Item
from tests.e2e.review_support import SCREENSHOTS, digits_project_with_flags, history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_bulk_relabel_from_a_confusion_cell(image_project, people, page_for, live_server):
    items, flags = digits_project_with_flags(image_project, n=60, flags=8)
    page = page_for("reviewer")
    page.goto(f"{live_server.url}/projects/{image_project.pk}/review/confusion/")
    expect(page.locator("#confusion")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review-confusion.png"), full_page=True)
    target = flags[0]
    given, predicted = Item.objects.get(pk=target.item_id).final_label, target.suggested_label
    page.locator(f'[data-cell="{given.name}-{predicted.name}"]').click()  # a link: the cell's own page
    boxes = page.locator("#bulk-form input[name=items]")
    expect(boxes.first).to_be_attached()  # read the boxes once that page is there, not the confusion page's
    in_cell = [int(v) for v in boxes.evaluate_all("els => els.map(e => e.value)")]
    assert target.item_id in in_cell
    page.locator("#select-all").click()
    page.select_option("#bulk-label", str(predicted.pk))
    page.fill("input[name=reason]", "model was right")
    page.locator("#bulk-submit").click()
    expect(page.locator(".messages")).to_contain_text(f"Relabeled {len(in_cell)} item")
    expect(page.locator("text=Nothing left in this cell")).to_be_visible()
    for pk in in_cell:
        item = Item.objects.get(pk=pk)
        assert item.final_label == predicted
        assert history(item) == [(None, given.name, "given", None, "import", False),
                                 (given.name, predicted.name, "reviewer", "reviewer", "bulk:confusion", False)]

    # The relabel settled the item's open flag: it is gone from the queue, and the item's history says why.
    from review.models import Flag

    settled = Flag.objects.get(pk=target.pk)
    assert (settled.status, settled.action) == ("resolved", "settled")
    page.goto(f"{live_server.url}/projects/{image_project.pk}/review/")
    expect(page.locator(f'#flag-table tr[data-href*="/flags/{target.pk}/"]')).to_have_count(0)
    page.goto(f"{live_server.url}/items/{target.item_id}/")
    expect(page.locator(f'#history li[data-settled-flag="{target.pk}"]')).to_contain_text(
        f"settled: reviewer set the label to {predicted.name} (bulk relabel from the confusion view)")
    page.screenshot(path=str(SCREENSHOTS / "review-item-settled.png"), full_page=True)
