"""From a real lenient zip import to the health report: the contracts between the import and data health.

The archive holds a generated photo set with a manifest (labels and time of day), unreadable files, and
byte-identical copies with the same and with another label. The import keeps one item per content with every
given label (contract 1), lists the unreadable files in its job result (contract 2) and stores the manifest's
other columns as metadata (contract 3); the health report turns them into findings.
"""
import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from core.models import Item, Job, Project
from core.services import project_create
from data.imports import start_import
from ml import synthetic as S
from tests.conftest import add_members
from tests.health.test_image_health import assert_pr, found_items, run_health

pytestmark = pytest.mark.django_db


def photo_zip(data) -> bytes:
    out, manifest = io.BytesIO(), io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["file", "label", "time_of_day", "camera"])
    with zipfile.ZipFile(out, "w") as zf:
        for i, content in enumerate(data.content):
            zf.writestr(f"img_{i:04d}.jpg", content)
            meta = data.metadata[i]
            writer.writerow([f"img_{i:04d}.jpg", data.labels[i], meta["time_of_day"], meta["camera"]])
        zf.writestr("manifest.csv", manifest.getvalue())
    return out.getvalue()


def test_a_lenient_photo_import_feeds_the_health_findings(people):
    project = project_create(name="Lamps", kind=Project.Kind.IMAGE, labels=list(S.STATES), owner=people["manager"],
                             retrain_every=10_000)
    add_members(project, people)
    data = S.photo_set(120, seed=13, n_each=4)
    upload = SimpleUploadedFile("lamps.zip", photo_zip(data), content_type="application/zip")
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = start_import(project=project, uploaded=upload, user=people["manager"])
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    report = run_health(project, people["manager"])
    by_file = {it.source_name.rsplit("/", 1)[-1]: it.pk for it in Item.objects.filter(project=project)}
    # Nothing unreadable is lost silently: the import skipped it (a finding lists the file and why), or it became
    # an item that the health check cannot decode.
    skipped = report.findings.get(check_name="skipped_files")
    assert skipped.count == job.result["skipped_count"] >= 1
    skipped_files = {f["file"].rsplit("/", 1)[-1] for f in skipped.params["files"]}
    broken_items = found_items(report, "unreadable")
    for i in data.truth["unreadable"]:
        name = f"img_{i:04d}.jpg"
        assert name in skipped_files or by_file.get(name) in broken_items, f"{name} was lost silently"
    item_of = lambda i: by_file.get(f"img_{i:04d}.jpg")  # noqa: E731
    conflicting = {item_of(g[0]) for g in data.groups["exact"] if set(g) <= data.truth["conflicting"]}
    assert_pr(found_items(report, "conflicting_imports"), conflicting, "imported twice with different labels")
    assert report.results["content"]["slice_field"] == "time_of_day"
    under = {item_of(i) for i in data.truth["underexposed"]}
    assert_pr(found_items(report, "underexposed"), under, "under-exposed")
