"""Progress of work inside one long transaction (an all-or-nothing import) is visible while it runs."""
import io

import psycopg
import pytest
from django.db import connection, transaction

from core import jobs
from core.models import Item, Job
from data import one_pass
from data.job_kinds import IMPORT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.pg_only]


def _seen_from_outside(job_id: int) -> tuple[int, int]:
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        return other.execute("SELECT done, total FROM labeling_job WHERE id = %s", [job_id]).fetchone()


def test_progress_inside_a_transaction_is_seen_by_others_at_once(text_project):
    job = jobs.create_job(project=text_project, kind=IMPORT)
    with transaction.atomic():
        jobs.progress(job, 40, total=100, message="Read 40 items")
        assert _seen_from_outside(job.pk) == (40, 100)
    job.refresh_from_db()
    assert (job.done, job.total, job.message) == (40, 100, "Read 40 items")


def test_a_row_the_transaction_itself_holds_falls_back_to_an_update_inside_it(text_project):
    job = jobs.create_job(project=text_project, kind=IMPORT)
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(message="locked here")  # this transaction now holds the row
        jobs.progress(job, 7, total=9)  # the side connection times out on the lock; the update stays inside
        assert Job.objects.get(pk=job.pk).done == 7
        assert _seen_from_outside(job.pk) == (0, 0)
    assert _seen_from_outside(job.pk) == (7, 9)


def test_an_import_reports_its_progress_before_it_commits(text_project, monkeypatch):
    monkeypatch.setattr(one_pass, "BATCH", 5)
    job = jobs.create_job(project=text_project, kind=IMPORT)
    seen = []

    def on_progress(rows):
        jobs.progress(job, rows, total=20)
        seen.append(_seen_from_outside(job.pk)[0])

    lines = "".join(f'{{"text": "row {n}"}}\n' for n in range(20)).encode()
    one_pass.import_text(project=text_project, name="rows.jsonl", stream=io.BytesIO(lines), on_progress=on_progress)
    assert seen and seen[-1] == 20 and seen == sorted(seen)
    assert Item.objects.filter(project=text_project).count() == 20
