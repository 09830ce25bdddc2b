"""Import jobs: keep the upload on disk, validate and write it in a Celery task with progress."""
import os
import uuid
from pathlib import Path

from django.conf import settings

from . import jobs
from .errors import QuorumError
from .importers import STREAMING_SUFFIXES, import_rows, import_text_file, parse_upload
from .models import Job, Project

ACCEPTED = (".csv", ".jsonl", ".ndjson", ".zip")


def _upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT).parent / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_import(*, project: Project, uploaded, user, queue_given: bool = False) -> Job:
    """Save the upload and queue its import; the file type is checked now so a wrong file fails at once."""
    name = os.path.basename(uploaded.name or "upload")
    if not name.lower().endswith(ACCEPTED):
        raise QuorumError(f"{name}: unsupported file type; upload .csv or .jsonl for text, .zip for images.")
    if uploaded.size > settings.QUORUM_MAX_UPLOAD_BYTES:
        raise QuorumError(f"{name} is {uploaded.size:,} bytes, over the {settings.QUORUM_MAX_UPLOAD_BYTES:,} byte limit.")
    path = _upload_dir() / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    with path.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    job = jobs.create_job(project=project, kind=Job.Kind.IMPORT, user=user,
                          params={"path": str(path), "name": name, "queue_given": queue_given})
    jobs.enqueue_job(job, "labeling.tasks.import_file")
    return job


def run_import_job(job: Job) -> None:
    path = Path(job.params["path"])
    name = job.params["name"]
    try:
        jobs.progress(job, 0, total=1, message=f"Validating {name}")
        if name.lower().endswith(STREAMING_SUFFIXES):  # text: two passes over the file, bounded memory
            result = import_text_file(project=job.project, path=path, name=name,
                                      queue_given=job.params.get("queue_given", False),
                                      on_progress=lambda done, total: jobs.progress(
                                          job, done, total=total, message=f"Writing {total:,} items"))
            jobs.finish(job, result=result.as_dict(),
                        message=f"Imported {result.created:,} items; skipped {result.duplicates:,} duplicates.")
            return
        with path.open("rb") as fh:
            rows, errors = parse_upload(name, fh)
        jobs.progress(job, 0, total=max(len(rows), 1), message=f"Writing {len(rows):,} items")
        result = import_rows(project=job.project, rows=rows, errors=errors, name=name,
                             queue_given=job.params.get("queue_given", False),
                             on_progress=lambda done, total: jobs.progress(job, done, total=total))
    except QuorumError as exc:
        jobs.fail(job, exc.message)
        return
    finally:
        path.unlink(missing_ok=True)
    jobs.finish(job, result=result.as_dict(),
                message=f"Imported {result.created:,} items; skipped {result.duplicates:,} duplicates.")
