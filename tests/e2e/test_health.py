"""Browser: a reviewer opens the data-health page, follows a finding to its items, and the model versions page."""
import io
import zipfile
from pathlib import Path

import pytest
from django.test import TestCase
from playwright.sync_api import expect

from core.models import Item, LabelEvent
from data.parse import parse_zip
from data.write import import_rows
from health.models import Finding
from health.services import request_health
from learning.retraining import retrain
from tests.health_data import encode, scene
from tests.review.test_health import image_health  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
def _more_labels(project, n=30):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k in range(n):
            zf.writestr(f"{'red' if k % 2 else 'green'}/more{k:02d}.png", encode(scene(7000 + k)))
    rows, errors = parse_zip("more.zip", io.BytesIO(buf.getvalue()))
    import_rows(project=project, rows=rows, errors=errors, name="more.zip")


def test_reviewer_opens_health_and_fixes_a_duplicate_group_on_the_finding_page(page_for, live_server, image_health,  # noqa: F811
                                                                                 people):
    project, ids, data = image_health
    retrain(project)
    _more_labels(project)
    retrain(project)
    with TestCase.captureOnCommitCallbacks(execute=True):
        request_health(project=project, user=people["manager"])
    page = page_for("reviewer", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("text=Data health")
    page.wait_for_selector("h1:has-text('Data health')")
    page.wait_for_load_state()  # the whole page parsed before counting what is on it
    assert page.locator(".finding.sev-severe").count() >= 2
    assert page.locator(".finding-rule").count() == page.locator(".finding").count()
    assert page.locator("svg[aria-label^='Confusion matrix']").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "health.png"), full_page=True)

    conflict = Finding.objects.get(project=project, check_name="conflicting_duplicates")
    page.locator(f"#finding-{conflict.pk} >> text=Open the items").click()
    page.wait_for_selector("h1:has-text('Duplicates with different labels')")
    page.wait_for_load_state()
    groups = conflict.params["groups"]
    assert page.locator("section.dup-group").count() == len(groups)
    first = page.locator("#group-1")
    assert first.locator(".thumb img").count() == len(groups[0])
    assert first.locator(".badge.bad").inner_text().startswith("labels:")
    right = data.true_labels[ids.index(groups[0][0])]  # what the photo really shows
    first.locator("select[name=label]").first.select_option(label=right)
    first.locator("button:has-text('Set for all')").click()
    page.wait_for_selector(f"#group-1 .badge.ok:has-text('one label: {right}')")
    assert Item.objects.filter(pk__in=groups[0], final_label__name=right, final_source="reviewer").count() == len(
        groups[0])
    assert LabelEvent.objects.filter(item_id__in=groups[0], cause=f"finding:{conflict.pk}").count() == len(groups[0])
    page.locator(".thumb img").evaluate_all("els => els.forEach(e => { e.loading = 'eager'; })")
    for img in page.locator(".thumb img").all():  # the CSP forbids wait_for_function's eval: poll each image
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("i => i.naturalWidth") > 0
    page.screenshot(path=str(SHOTS / "health_finding.png"), full_page=True)

    page.goto(f"{live_server.url}/projects/{project.pk}/health/")
    blurry = Finding.objects.get(project=project, check_name="blurry")
    card = page.locator(f"#finding-{blurry.pk}")
    card.locator("input[name=reason]").fill("soft focus is part of this data set")
    card.locator("button:has-text('Dismiss')").click()
    page.wait_for_selector(f"#finding-{blurry.pk}.dismissed")
    blurry.refresh_from_db()
    assert blurry.dismissed and blurry.dismissed_reason == "soft focus is part of this data set"

    page.goto(f"{live_server.url}/projects/{project.pk}/models/")
    page.wait_for_selector("h1:has-text('Model versions')")
    page.wait_for_load_state()
    assert page.locator("svg polyline").count() == 1
    page.screenshot(path=str(SHOTS / "models.png"), full_page=True)
