"""Browser: a reviewer opens the data-health page, follows a finding to its items, and the model versions page."""
import io
import zipfile
from pathlib import Path

import pytest
from django.test import TestCase

from data.parse import parse_zip
from data.write import import_rows
from health.models import Finding
from health.services import request_health
from learning.retraining import retrain
from tests.health_data import encode, scene
from tests.review.test_health import image_health  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
def _login(browser, live_server, username):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def _more_labels(project, n=30):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k in range(n):
            zf.writestr(f"{'cat' if k % 2 else 'dog'}/more{k:02d}.png", encode(scene(7000 + k)))
    rows, errors = parse_zip("more.zip", io.BytesIO(buf.getvalue()))
    import_rows(project=project, rows=rows, errors=errors, name="more.zip")


def test_reviewer_opens_health_and_follows_a_finding_to_its_items(browser, live_server, image_health, people):  # noqa: F811
    project, ids, truth, labels = image_health
    retrain(project)
    _more_labels(project)
    retrain(project)
    with TestCase.captureOnCommitCallbacks(execute=True):
        request_health(project=project, user=people["manager"])
    page = _login(browser, live_server, "reviewer")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("text=Data health")
    page.wait_for_selector("h1:has-text('Data health')")
    assert page.locator(".finding.sev-severe").count() >= 2
    assert page.locator("svg[aria-label^='Confusion matrix']").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "health.png"), full_page=True)

    conflict = Finding.objects.get(project=project, check_name="conflicting_duplicates")
    page.locator(f"#finding-{conflict.pk} >> text=Open the items").click()
    page.wait_for_selector("h1:has-text('Duplicates with different labels')")
    assert page.locator(".thumb img").count() == len(conflict.item_ids)
    labels_shown = page.locator(".thumb strong").all_inner_texts()
    assert {"cat", "dog"} <= set(labels_shown)
    page.locator(".thumb img").evaluate_all("els => els.forEach(e => { e.loading = 'eager'; })")
    page.wait_for_function("[...document.querySelectorAll('.thumb img')].every(i => i.complete && i.naturalWidth > 0)")
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
    assert page.locator("svg polyline").count() == 1
    page.screenshot(path=str(SHOTS / "models.png"), full_page=True)
