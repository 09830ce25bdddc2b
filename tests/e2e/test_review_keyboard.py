"""A reviewer clears five flags with the keyboard only, then undoes the last decision with Z."""
import time

import pytest
from playwright.sync_api import expect

from core.models import Item, LabelEvent
from review.models import Flag
from tests.e2e.review_support import SCREENSHOTS, digits_project_with_flags, history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reviewer_clears_five_flags_with_the_keyboard_and_undoes_the_last(image_project, people, page_for, live_server):
    items, flags = digits_project_with_flags(image_project)
    before = {f.pk: Item.objects.get(pk=f.item_id).final_label.name for f in flags}
    page = page_for("reviewer")
    page.goto(f"{live_server.url}/projects/{image_project.pk}/review/")
    expect(page.locator("#flag-table tbody tr")).to_have_count(5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review-queue.png"))
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[0].pk))

    # The whole item view fits a 1366x768 laptop screen: nothing below the fold.
    for selector in ("#stage", "#decide-form", "#history", "#neighbours", "#escalate-btn"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 768, selector
    expect(page.locator("#neighbours a")).to_have_count(5)
    # One prediction, two numbers: each says where it comes from.
    expect(page.locator("#flag-confidence-source")).to_contain_text("out-of-fold ensemble on m1")
    expect(page.locator("#top-source")).to_have_text("current model m1, out-of-fold: a model that did not train on this item")
    page.screenshot(path=str(SCREENSHOTS / "review-item.png"))

    def decide(flag, keys, text=None):
        expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flag.pk))
        for key in keys:
            page.keyboard.press(key)
        if text is not None:
            expect(page.locator("#reason-input")).to_be_focused()
            page.keyboard.type(text)
            page.keyboard.press("Enter")

    suggested = [f.suggested_label.name for f in flags]
    decide(flags[0], ["a"])  # accept the current label
    expect(page.locator("#saved")).to_contain_text(f"Item {flags[0].item_id}: kept")
    decide(flags[1], [suggested[1]])  # the model was right: press the digit
    decide(flags[2], ["m"], "could be 1 or 7")  # ambiguous, with a reason
    decide(flags[3], ["x"], "not a digit")  # excluded from training
    decide(flags[4], [suggested[4]])
    page.wait_for_url(f"{live_server.url}/projects/{image_project.pk}/review/")
    expect(page.locator("text=Nothing to review")).to_be_visible()

    states = {f.pk: Flag.objects.get(pk=f.pk) for f in flags}
    assert [states[f.pk].action for f in flags] == ["accept", "relabel", "ambiguous", "exclude", "relabel"]
    it = {f.pk: Item.objects.get(pk=f.item_id) for f in flags}
    assert it[flags[1].pk].final_label.name == suggested[1] and it[flags[4].pk].final_label.name == suggested[4]
    assert it[flags[2].pk].ambiguous and it[flags[3].pk].excluded
    for n, f in enumerate(flags):
        h = history(it[f.pk])
        new = suggested[n] if n in (1, 4) else before[f.pk]
        source = "reviewer" if n in (0, 1, 4) else "given"
        assert h == [(None, before[f.pk], "given", None, "import", False),
                     (before[f.pk], new, source, "reviewer", f"flag:{f.pk}", False)], h

    # Z on the queue undoes the last decision: label back, flag open again, the undo is an event.
    page.keyboard.press("z")
    page.wait_for_url(f"**/review/flags/{flags[4].pk}/")
    expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[4].pk))
    item = Item.objects.get(pk=flags[4].item_id)
    assert item.final_label.name == before[flags[4].pk] and item.final_source == "given"
    assert Flag.objects.get(pk=flags[4].pk).status == "open"
    assert history(item)[1:] == [(before[flags[4].pk], suggested[4], "reviewer", "reviewer", f"flag:{flags[4].pk}", False),
                                 (suggested[4], before[flags[4].pk], "given", "reviewer", f"flag:{flags[4].pk}", True)]
    expect(page.locator("#history li.undo")).to_have_count(1)
    # ...and Z on the flag view undoes the one before (htmx, no page load): the exclusion is lifted.
    page.keyboard.press("z")
    expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[3].pk))
    assert not Item.objects.get(pk=flags[3].item_id).excluded
    assert history(Item.objects.get(pk=flags[3].item_id))[-1][-1] is True


def _until(page, condition, deadline_s: float = 30.0) -> bool:
    """Whether ``condition()`` (state that Playwright's callbacks fill in, such as a held route) became true before
    the deadline; Playwright runs those callbacks while the page waits between checks."""
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            return False
        page.wait_for_timeout(50)
    return True


def test_keys_typed_in_a_field_or_during_a_decision_never_decide_a_flag(image_project, people, page_for,
                                                                         live_server):
    items, flags = digits_project_with_flags(image_project)
    page = page_for("reviewer")
    posts, console = [], []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.on("console", lambda m: console.append(m.text))
    page.on("pageerror", lambda e: console.append(f"page error: {e}"))
    page.goto(f"{live_server.url}/projects/{image_project.pk}/review/flags/{flags[0].pk}/")
    expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[0].pk))

    # A comment full of shortcut keys is text: nothing is decided, nothing is sent.
    page.keyboard.press("c")
    expect(page.locator("#comment-input")).to_be_focused()
    page.keyboard.type("a 1 or 7? e x m z j")
    page.keyboard.press("Escape")
    expect(page.locator("#comment-form")).not_to_have_class("inline-form open")
    expect(page.locator("#comment-input")).not_to_be_focused()  # Escape leaves the field: keys are shortcuts again
    assert posts == [] and Flag.objects.filter(status="open").count() == 5

    # The decision on flag 0 is held in flight; every key pressed meanwhile is dropped, and none reaches flag 1.
    held = []
    page.route("**/resolve/", lambda route: held.append(route))
    suggested = page.locator("#decide-form button.suggested")
    expect(suggested).to_contain_text(flags[0].suggested_label.name)
    page.keyboard.press(suggested.get_attribute("data-key"))
    if not _until(page, lambda: held):  # say what the page looked like: this step once timed out in CI, unexplained
        state = page.evaluate("""() => ({url: location.href, active: document.activeElement && document.activeElement.outerHTML.slice(0, 120),
            panel: (document.querySelector('#flag-panel') || {}).outerHTML?.slice(0, 120),
            open: Array.from(document.querySelectorAll('.inline-form.open')).map(f => f.id), htmx: !!window.htmx})""")
        raise AssertionError(f"no decision request after the label key; page {state}; posts {posts}; console {console}")
    for key in ("a", "2", "e", "m", "7", "Enter", "x"):
        page.keyboard.press(key)
    held[0].continue_()
    page.unroute("**/resolve/")
    expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[1].pk))
    expect(page.locator("#reason-form")).not_to_have_class("inline-form open")
    assert len(posts) == 1 and f"/flags/{flags[0].pk}/resolve/" in posts[0]
    assert Flag.objects.get(pk=flags[0].pk).action == "relabel"
    assert Flag.objects.get(pk=flags[1].pk).status == "open"
    assert not LabelEvent.objects.filter(cause=f"flag:{flags[1].pk}").exists()

    # The next flag takes keys at once, and its request names it and its lock counter.
    with page.expect_request("**/resolve/") as request:
        page.keyboard.press("a")
    form = dict(p.split("=", 1) for p in request.value.post_data.split("&"))
    assert (form["flag"], form["version"]) == (str(flags[1].pk), "1")
    expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[2].pk))
    assert Flag.objects.get(pk=flags[1].pk).action == "accept"


def test_the_queue_pages_with_n_and_p_and_j_enter_still_open_a_flag(text_project, people, page_for, live_server):
    from tests.review.helpers import flag, labeled_items

    items = labeled_items(text_project, [(f"text {i}", "negative") for i in range(60)])
    flags = [flag(item, score=round(1 - n / 100, 2)) for n, item in enumerate(items)]
    page = page_for("reviewer")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/review/")
    expect(page.locator("#flag-table tbody tr")).to_have_count(50)
    page.keyboard.press("n")
    expect(page.locator("#flag-table tbody tr")).to_have_count(10)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("#flag-panel")).to_have_attribute("data-flag", str(flags[51].pk))
    page.go_back()
    page.keyboard.press("p")
    expect(page.locator("#flag-table tbody tr")).to_have_count(50)
    expect(page.locator("#page-prev")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "review-queue-paged.png"), full_page=True)
