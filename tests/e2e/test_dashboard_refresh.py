"""The project dashboard as a manager meets it: retrain answers at once, the model card updates when the job ends."""
import pytest
from playwright.sync_api import expect

from core import jobs
from core.models import Job
from learning.job_kinds import RETRAIN
from learning.models import ModelVersion
from tests.conftest import add_texts
from tests.e2e.review_support import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_model_card_updates_when_a_running_retrain_ends(text_project, people, page_for, live_server):
    job = Job.objects.create(project=text_project, kind=RETRAIN, state=Job.State.RUNNING, message="training")
    page = page_for("manager")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/")
    expect(page.locator("#retraining")).to_contain_text(f"retraining now (job {job.pk})")
    expect(page.locator("#model-card")).not_to_contain_text("Trains after")  # no stale promise beside a retrain

    ModelVersion.objects.create(project=text_project, name="v1", cv_accuracy=0.864, n_train=40)
    jobs.finish(job, message="Trained v1: 86.4%")
    expect(page.locator("#model-card .stat")).to_have_text("0.864")  # the job's last poll reloads the card
    expect(page.locator("#retraining")).to_have_count(0)
    expect(page.locator(f"#job-{job.pk}")).to_contain_text("Trained v1: 86.4%")


def test_retrain_answers_on_click_and_the_card_shows_the_new_model(text_project, people, page_for, live_server):
    add_texts(text_project, [f"good film {i}" for i in range(12)] + [f"awful film {i}" for i in range(12)],
              ["positive"] * 12 + ["negative"] * 12)
    page = page_for("manager")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/")
    expect(page.locator("#model-card")).to_contain_text("Trains after 50 labels.")
    page.click("#retrain-btn")
    expect(page.locator("#retrain-started")).to_contain_text("Retrain queued as job")
    expect(page.locator("#model-card .stat")).not_to_have_text("—")
    expect(page.locator("#model-card")).to_contain_text("cross-validated accuracy on 24 labels")
    expect(page.locator("#model-card")).not_to_contain_text("Trains after")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "project-dashboard.png"), full_page=True)


def test_the_learning_curve_is_readable_at_1280_px(text_project, people, page_for, live_server):
    for n, (labels, acc) in enumerate([(950, 0.88), (975, 0.9), (1000, 0.93)]):
        ModelVersion.objects.create(project=text_project, name=f"v{n + 1}", cv_accuracy=acc, n_train=labels)
    page = page_for("manager")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/projects/{text_project.pk}/models/")
    dots = page.locator("svg circle")
    expect(dots).to_have_count(3)
    first, last = dots.nth(0).bounding_box(), dots.nth(2).bounding_box()
    assert last["x"] - first["x"] > 300  # the curve uses the plot's width
    sizes = page.eval_on_selector_all("svg text", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 11
    boxes = page.eval_on_selector_all("svg text", "els => els.map(e => { const b = e.getBoundingClientRect(); "
                                      "return [b.left, b.top, b.right, b.bottom]; })")
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1]
    assert not overlaps, overlaps
    page.screenshot(path=str(SCREENSHOTS / "model-versions.png"), full_page=True)
