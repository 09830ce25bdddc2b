"""Large text imports stream: bounded memory, all-or-nothing, duplicates found across batches; 413 at once."""
import json
import tracemalloc

import pytest
from django.urls import reverse

from core.models import Item, Job, LabelEvent
from data.job_kinds import IMPORT
from data.write import BATCH, import_text_file
from quorum.lib.errors import ImportErrors

pytestmark = pytest.mark.django_db


def _jsonl(path, n, *, last=None, every_label=None):
    with path.open("w") as fh:
        for i in range(n):
            row = {"text": f"review number {i} " + "lorem ipsum " * 20, "shop": i % 7}
            if every_label and i % every_label == 0:
                row["label"] = "positive"
            fh.write(json.dumps(row) + "\n")
        if last is not None:
            fh.write(last + "\n")
    return path


def _peak_import(project, path, name) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = import_text_file(project=project, path=path, name=name)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_the_file(text_project, people, tmp_path):
    from core.services import project_create

    other = project_create(name="Other", kind="text", labels=["positive"], owner=people["manager"])
    small_peak, small = _peak_import(text_project, _jsonl(tmp_path / "s.jsonl", 2 * BATCH, every_label=10), "s.jsonl")
    big_peak, big = _peak_import(other, _jsonl(tmp_path / "b.jsonl", 6 * BATCH, every_label=10), "b.jsonl")
    assert (small.created, big.created) == (2 * BATCH, 6 * BATCH)
    assert LabelEvent.objects.filter(project=other, source="given").count() == 6 * BATCH // 10
    # Three times the rows, about the same peak: only one batch is ever held (reading it all would triple it).
    assert big_peak < 1.5 * small_peak, (small_peak, big_peak)


def test_an_error_on_the_last_line_means_nothing_is_written(text_project, tmp_path):
    path = _jsonl(tmp_path / "bad.jsonl", BATCH * 2 + 5, last='{"text": 12}')
    with pytest.raises(ImportErrors) as exc:
        import_text_file(project=text_project, path=path, name="bad.jsonl")
    assert f"bad.jsonl, line {BATCH * 2 + 6}: 'text' must be a string" in exc.value.message
    assert Item.objects.count() == 0


def test_duplicates_in_different_batches_and_already_in_the_project_are_skipped(text_project, tmp_path):
    path = tmp_path / "d.csv"
    lines = ["text,label"] + [f"row {i}," for i in range(BATCH + 10)] + ["row 3,", "row 5,negative"]
    path.write_text("\n".join(lines) + "\n")
    first = import_text_file(project=text_project, path=path, name="d.csv")
    assert (first.created, first.duplicates) == (BATCH + 10, 2)
    again = import_text_file(project=text_project, path=path, name="d.csv")
    assert (again.created, again.duplicates) == (0, BATCH + 12)


def test_an_unknown_label_is_refused_with_its_line(text_project, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text,label\nfine,positive\nhmm,sarcastic\n")
    with pytest.raises(ImportErrors, match="x.csv, line 3, column 2: label 'sarcastic' is not in this project's labels"):
        import_text_file(project=text_project, path=path, name="x.csv")
    assert Item.objects.count() == 0


def test_the_import_job_streams_text_files(client, text_project, people, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people["manager"])
    upload = SimpleUploadedFile("r.csv", b"text,label\ngood,positive\nbad,\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("data:import", args=[text_project.pk]), {"file": upload})
    assert response.status_code == 302
    job = Job.objects.get(project=text_project, kind=IMPORT)
    assert job.state == Job.State.SUCCEEDED and job.result["created"] == 2


def test_an_upload_over_the_limit_gets_413_at_once(client, text_project, people, settings):
    settings.QUORUM_MAX_UPLOAD_BYTES = 1024
    client.force_login(people["manager"])
    url = reverse("data:import", args=[text_project.pk])
    response = client.post(url, data=b"x" * 5000, content_type="text/csv")
    assert response.status_code == 413
    assert b"the limit is" in response.content and b"Split the file" in response.content
    api = client.post("/api/projects/", data=b"x" * 5000, content_type="application/json")
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"
    assert Job.objects.count() == 0
