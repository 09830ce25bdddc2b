"""Import jobs: keep the upload on disk, validate and write it in a Celery task with progress; the job always
ends (succeeded with its result, or failed with a message the user can act on)."""
import logging
import os
import uuid
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import transaction

from core import jobs
from core.models import Job, Project
from data import one_pass, urlfetch
from data.job_kinds import IMPORT
from data.parse import FILE_TYPES, STREAMING_SUFFIXES, parse_archive, parse_upload
from data.write import ImportResult, import_rows, import_text_file
from learning.schedule import request_retrain
from quorum.lib.errors import QuorumError

log = logging.getLogger(__name__)

ACCEPTED = (".csv", ".jsonl", ".ndjson", ".json", ".zip")
# For a URL whose path does not end in a known suffix, the server's Content-Type decides.
CONTENT_TYPES = {"text/csv": ".csv", "application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl",
                 "application/json-lines": ".jsonl", "application/json": ".json", "application/zip": ".zip", "application/x-zip-compressed": ".zip"}


def _upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT).parent / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_import(*, project: Project, uploaded, user, queue_given: bool = False, strict: bool = False) -> Job:
    """Save the upload and queue its import; the file type is checked now so a wrong file fails at once.

    An image archive imports every readable image and lists the others in the job's result, unless
    ``strict`` (then one unreadable file refuses the whole archive).
    """
    name = os.path.basename(uploaded.name or "upload")
    if not name.lower().endswith(ACCEPTED):
        raise QuorumError(f"{name}: unsupported file type; {FILE_TYPES}.")
    if uploaded.size > settings.QUORUM_MAX_UPLOAD_BYTES:
        raise QuorumError(f"{name} is {uploaded.size:,} bytes, over the {settings.QUORUM_MAX_UPLOAD_BYTES:,} byte limit.")
    path = _upload_dir() / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    with path.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    job = jobs.create_job(project=project, kind=IMPORT, user=user,
                          params={"path": str(path), "name": name, "queue_given": queue_given, "strict": strict})
    jobs.enqueue_job(job)
    return job


def start_url_import(*, project: Project, url: str, user, queue_given: bool = False, strict: bool = False) -> Job:
    """Queue an import of the file at ``url``; refused at once if URL imports are off or the host is not public.

    The worker downloads it (checking every redirect hop again) to a file with the size limit, then imports it
    like an upload.
    """
    urlfetch.check_allowed(url, resolver=urlfetch.system_resolver)
    name = _name_from_url(url)
    if Path(name).suffix and not name.lower().endswith(ACCEPTED):
        raise QuorumError(f"{url}: unsupported file type; {FILE_TYPES}.")
    job = jobs.create_job(project=project, kind=IMPORT, user=user,
                          params={"url": url, "name": name, "queue_given": queue_given, "strict": strict})
    jobs.enqueue_job(job)
    return job


def _name_from_url(url: str) -> str:
    return os.path.basename(unquote(PurePosixPath(urlsplit(url).path).name)) or "download"


def _download(job: Job) -> tuple[Path, str]:
    """Fetch the job's URL to an upload file; return (path, name), the name's suffix telling the file type."""
    url, name = job.params["url"], job.params["name"]
    jobs.progress(job, 0, total=1, message=f"Downloading {url}")
    path = _upload_dir() / f"{uuid.uuid4().hex}.download"
    try:
        with path.open("wb") as out:
            fetched = urlfetch.fetch_to_file(url, out, max_bytes=min(settings.QUORUM_URL_IMPORT_MAX_BYTES,
                                                                     settings.QUORUM_MAX_UPLOAD_BYTES),
                                             resolver=urlfetch.system_resolver, opener=urlfetch.open_pinned)
        if not name.lower().endswith(ACCEPTED):
            suffix = CONTENT_TYPES.get(fetched.content_type.split(";")[0].strip().lower())
            if suffix is None:
                raise QuorumError(f"{url}: the address does not end in .csv, .jsonl, .json or .zip and the server calls "
                                  f"the file '{fetched.content_type or 'nothing'}'; use a URL to such a file.")
            name += suffix
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, name


def run_import_job(job: Job) -> None:
    """Run a claimed import job to its end: succeeded with its result, or failed with a message to act on."""
    path = None
    try:
        if "url" in job.params:
            path, name = _download(job)
        else:
            path, name = Path(job.params["path"]), job.params["name"]
        if not path.exists():
            raise QuorumError(f"The uploaded file {name} is no longer on the server (it was removed after an earlier "
                              "attempt, or the server's upload folder was cleared); upload it again.")
        jobs.progress(job, 0, total=1, message=f"Validating {name}")
        result = _import_file(job, path, name, queue_given=job.params.get("queue_given", False),
                              strict=job.params.get("strict", False))
    except QuorumError as exc:
        jobs.fail(job, exc.message)
        return
    except Exception as exc:  # noqa: BLE001 - the job must end, and the user must learn what to do
        jobs.fail_unexpected(job, exc)
        return
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
    jobs.finish(job, result=result.as_dict(), message=result.summary())
    retrain_after_import(project=job.project, result=result)


def retrain_after_import(*, project: Project, result: ImportResult) -> None:
    """Queue one retrain once the import has committed, if it gave items labels (the model learns them, and the
    queue and flags follow). Every import path that writes given labels calls this after writing."""
    if result.labeled:
        transaction.on_commit(lambda: request_retrain(project=project, user=None))


def _import_file(job: Job, path: Path, name: str, *, queue_given: bool, strict: bool = False) -> ImportResult:
    """Import the file the fastest way its type and the database allow, reporting progress on ``job``."""
    if one_pass.available(job.project, name):  # PostgreSQL: parse while COPY writes, one transaction
        size = max(path.stat().st_size, 1)
        with path.open("rb") as fh:
            return one_pass.import_text(
                project=job.project, name=name, stream=fh, queue_given=queue_given, bounded_memory=True,
                on_progress=lambda rows: jobs.progress(  # the parser reads ahead: bytes read, roughly
                    job, min(fh.tell(), size), total=size, message=f"Read {rows:,} items"))
    if name.lower().endswith(STREAMING_SUFFIXES):  # text: two passes over the file, bounded memory
        return import_text_file(project=job.project, path=path, name=name, queue_given=queue_given,
                                on_progress=lambda done, total: jobs.progress(
                                    job, done, total=total, message=f"Writing {total:,} items"))
    with path.open("rb") as fh:
        if name.lower().endswith(".zip"):
            parsed = parse_archive(name, fh)
            rows, errors, notes = parsed.rows, parsed.errors, parsed.notes
        else:
            (rows, errors), notes = parse_upload(name, fh), []
    jobs.progress(job, 0, total=max(len(rows), 1), message=f"Writing {len(rows):,} items")
    return import_rows(project=job.project, rows=rows, errors=errors, name=name, queue_given=queue_given,
                       strict=strict, notes=notes, on_progress=lambda done, total: jobs.progress(job, done, total=total))
