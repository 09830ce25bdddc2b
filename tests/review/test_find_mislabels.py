"""The on-demand mislabel search: a job with progress that fills the review queue."""
import io

import pytest

from core.models import Job
from data.parse import parse_zip
from data.write import import_rows
from learning.schedule import request_retrain
from review.job_kinds import FLAG
from review.models import Flag
from tests.conftest import digits_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_find_mislabels_button_runs_a_flag_job_with_progress(client, image_project, people):
    data, _ = digits_zip(150, wrong=10)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    import_rows(project=image_project, rows=rows, errors=errors, name="d.zip")
    request_retrain(project=image_project, user=None)
    Flag.objects.all().delete()  # as if a reviewer had cleared them: the search must find them again
    client.force_login(people["reviewer"])
    response = client.post(f"/projects/{image_project.pk}/review/find-mislabels/")
    job = Job.objects.get(kind=FLAG)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == Job.State.SUCCEEDED and job.result["created"] == Flag.objects.count() > 0
    assert "open in the review queue" in client.get(response["Location"]).content.decode()


def test_find_mislabels_without_a_model_says_what_to_do(client, image_project, people):
    client.force_login(people["reviewer"])
    response = client.post(f"/projects/{image_project.pk}/review/find-mislabels/", follow=True)
    assert "There is no model yet: retrain first" in response.content.decode()
    assert not Job.objects.exists()


def test_annotators_cannot_run_it(client, image_project, people):
    client.force_login(people["alice"])
    assert client.post(f"/projects/{image_project.pk}/review/find-mislabels/").status_code == 403


def _digits_project_with_flags(image_project):
    from learning.models import LearningSettings, ModelVersion

    LearningSettings.objects.create(project=image_project, seed=3)  # the same folds on every run

    data, wrong = digits_zip(150, wrong=10)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    import_rows(project=image_project, rows=rows, errors=errors, name="d.zip")
    request_retrain(project=image_project, user=None)
    return ModelVersion.objects.get(project=image_project)


def test_every_retrain_checks_every_labeled_item_and_flags_the_wrong_ones(image_project):
    version = _digits_project_with_flags(image_project)
    flags = Flag.objects.filter(project=image_project, reason=Flag.Reason.MODEL_DISAGREEMENT)
    assert flags.count() >= 5
    assert all(f.model_version_id == version.pk and f.suggested_label_id != f.item.final_label_id for f in flags)


def test_a_dismissed_flag_is_not_raised_again_for_the_same_label_and_evidence(image_project, people):
    from django.utils import timezone

    from review.services import flag_mislabels

    version = _digits_project_with_flags(image_project)
    dismissed = list(Flag.objects.filter(project=image_project).values_list("item_id", flat=True))
    assert dismissed
    Flag.objects.filter(project=image_project).update(status=Flag.Status.DISMISSED, label_changed=False,
                                                      resolved_at=timezone.now(), resolved_by=people["reviewer"])
    flag_mislabels(model_version=version)
    # no settled item is flagged again on the same evidence (the search may look further, at other items)
    assert not Flag.objects.filter(project=image_project, status=Flag.Status.OPEN, item_id__in=dismissed).exists()
    # the same items with their flags only deleted (never settled) are found again
    Flag.objects.filter(project=image_project).delete()
    assert flag_mislabels(model_version=version) == len(dismissed)


def test_slices_come_from_the_first_metadata_field_with_a_few_values():
    from types import SimpleNamespace

    from review.services import _slices

    def rows(metas):
        return [SimpleNamespace(item=SimpleNamespace(metadata=m)) for m in metas]

    metas = [{"channel": c, "agent": f"a{i}", "when": "night"} for i, c in enumerate(["email", "phone"] * 10)]
    # "agent" has 20 values (too many), "when" one (no split): "channel" decides
    assert _slices(rows(metas)) == [0, 1] * 10
    assert _slices(rows([{"channel": "email"}, {}])) is None  # a field some items lack is not a slice
    assert _slices(rows([None, None])) is None


def test_reviewers_verdicts_reach_the_search_with_the_label_each_flag_doubted(image_project, people, monkeypatch):
    from learning.models import Prediction
    from review import services
    from review.decisions import resolve_flag

    version = _digits_project_with_flags(image_project)
    flags = list(Flag.objects.filter(project=image_project, reason=Flag.Reason.MODEL_DISAGREEMENT).order_by("id"))
    assert len(flags) >= 4
    doubted = {f.item_id: f.item.final_label.order for f in flags}
    changed, kept = flags[: len(flags) // 2], flags[len(flags) // 2:]
    for flag in changed:
        resolve_flag(flag_id=flag.pk, reviewer=people["reviewer"], version=flag.version, label_id=flag.suggested_label_id)
    for flag in kept:
        resolve_flag(flag_id=flag.pk, reviewer=people["reviewer"], version=flag.version, label_id=None)

    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(services, "search_mislabels", spy)
    services.flag_mislabels(model_version=version)
    rows = list(Prediction.objects.filter(model_version=version, out_of_fold=True, item__final_label__isnull=False)
                .order_by("item_id").values_list("item_id", flat=True))
    expected = {rows.index(f.item_id): (doubted[f.item_id], f in changed) for f in flags}
    assert seen["reviewed"] == expected
    # the label a changed flag doubted is the old one, not the reviewer's
    assert all(seen["reviewed"][rows.index(f.item_id)][0] != f.suggested_label.order for f in changed)
