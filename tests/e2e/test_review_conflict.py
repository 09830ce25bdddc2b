"""Two reviewers act on one flag at once: the second is refused with a clear message and sees the fresh state."""
import pytest
from playwright.sync_api import expect

from core.models import Item
from review.models import Flag
from tests.e2e.review_support import digits_project_with_flags, history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_second_reviewer_on_the_same_flag_gets_the_conflict_message(image_project, people, page_for, live_server):
    _, flags = digits_project_with_flags(image_project, n=20, flags=2)
    target = flags[0]
    given = Item.objects.get(pk=target.item_id).final_label.name
    url = f"{live_server.url}/projects/{image_project.pk}/review/flags/{target.pk}/"
    first, second = page_for("reviewer"), page_for("manager")
    first.goto(url)
    second.goto(url)
    expect(second.locator("#accept-btn")).to_be_visible()
    first.keyboard.press("a")
    expect(first.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[1].pk))
    suggested = target.suggested_label.name
    second.keyboard.press(suggested)  # the manager, still on the stale page, tries to relabel
    expect(second.locator("#conflict")).to_contain_text("Another reviewer already acted on this flag by reviewer")
    expect(second.locator("#flag-state")).to_contain_text(f"resolved by reviewer: kept {given}")
    expect(second.locator("#decide-form")).to_have_count(0)
    flag = Flag.objects.get(pk=target.pk)
    assert (flag.status, flag.resolved_by, flag.action, flag.version) == ("resolved", people["reviewer"], "accept", 2)
    item = Item.objects.get(pk=target.item_id)
    assert item.final_label.name == given
    assert history(item) == [(None, given, "given", None, "import", False),
                             (given, given, "reviewer", "reviewer", f"flag:{target.pk}", False)]
