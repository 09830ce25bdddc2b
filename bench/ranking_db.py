"""Ranking with its database writes, on PostgreSQL, through real Celery workers: ``python -m bench.ranking_db``.

A fresh database gets one text project of ``--items`` generated items. Two rankings run as the chord of
rank_chunk tasks that a retrain or an upload sends: from a trained version's artifact (feature rows on
disk, margin + diversity + rare-class boost, predictions stored for every item) and from uploaded
probabilities (stored Prediction rows, margin). ``--workers`` worker processes (one Celery worker, prefork)
take the chunks; PostgreSQL and Redis run on the same machine. With several ``--workers`` counts (default 2
and 4) each count gets a fresh trained version and items reset to their unranked state (random priority, no
pre-label), so every count does the same writes. Each ranking reports its chunks' database write time
(``chunk_db_seconds``: mean, max and total over the chunks), from the job's result, and how busy the machine's
cores were meanwhile (``machine_cpu_busy``, 1.0 = all of them all the time: more processes than cores can only
be faster where this stays well under 1). Writes
bench/results/ranking_db.json: ``features`` and ``uploaded`` are the first count's (2), ``by_workers`` has each.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import MachineCpu, fresh_database

PG = os.environ.get("QUORUM_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("QUORUM_BENCH_RANKING_DB", "quorum_bench_ranking")
REDIS = os.environ.get("QUORUM_BENCH_REDIS", "redis://127.0.0.1:6379/12")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ranking_db.json"


def _env(media: Path, chunk: int) -> dict:
    env = dict(os.environ, DATABASE_URL=f"{PG}/{DB_NAME}", CELERY_BROKER_URL=REDIS, CELERY_RESULT_BACKEND=REDIS,
               MEDIA_ROOT=str(media), QUORUM_RANK_CHUNK=str(chunk), LOG_LEVEL="WARNING", DEBUG="False")
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def _setup(n_items: int):
    """A project with n_items items and the (ids, X, y) a trained version is made from."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from core.models import Item, Project
    from core.services import project_create

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench", password="bench-password-1")
    project = project_create(name="Ranking", kind=Project.Kind.TEXT, labels=[str(d) for d in range(10)], owner=owner)
    call_command("generate_items", project=project.pk, count=n_items)
    ids = np.fromiter(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True), np.int64)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((10, 64)).astype(np.float32) * 1.5
    y = rng.integers(0, 10, size=len(ids))
    X = centres[y] + rng.standard_normal((len(ids), 64), dtype=np.float32) * 2.0
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project, (ids, X, y)


def _trained(project, data, name: str):
    """A trained version (the newest) with its artifact, and the project's items back to unranked."""
    import numpy as np
    import psycopg
    from django.db import connection

    from learning import ranking
    from learning.models import ModelVersion
    from ml.training import make_model

    ids, X, y = data
    with connection.cursor() as cursor:  # as after an import: random priority, no pre-label or quality
        cursor.execute("UPDATE labeling_itemrank SET priority = random(), predicted_label_id = NULL, "
                       "predicted_confidence = NULL WHERE project_id = %s", [project.pk])
        cursor.execute("UPDATE labeling_item SET label_quality = NULL WHERE project_id = %s AND label_quality IS NOT NULL",
                       [project.pk])
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE labeling_item")
        conn.execute("VACUUM ANALYZE labeling_itemrank")
    model = make_model(X[:2000]).fit(X[:2000], y[:2000])
    trained = ModelVersion.objects.create(project=project, name=name, algorithm="logistic_regression")
    ranking.save_artifact(trained, model=model, seen=np.arange(10), ids=ids, X=X, oof_ids=ids[:0],
                          oof_proba=np.zeros((0, 10)), labeled_y=y[:2000], strategy="margin_diverse_balanced",
                          n_classes=10)
    return trained


def _uploaded(project, name: str):
    """An uploaded version with a prediction for every item: 10 probabilities made by the server."""
    from django.db import connection

    from learning.models import ModelVersion

    uploaded = ModelVersion.objects.create(project=project, name=name, origin=ModelVersion.Origin.UPLOADED,
                                           algorithm="uploaded")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO labeling_prediction (model_version_id, item_id, probabilities, out_of_fold) "
            "SELECT %s, i.id, to_jsonb(array_cat(ARRAY[i.r], array_fill((1 - i.r) / 9, ARRAY[9]))), false FROM "
            "(SELECT id, 0.1 + 0.9 * random() AS r FROM labeling_item WHERE project_id = %s) i",
            [uploaded.pk, project.pk])
        cursor.execute("ANALYZE")
    return uploaded


def _run(version, n_chunks_expected: int, timeout: float) -> dict:
    from core import jobs
    from core.models import Job
    from learning.job_kinds import RANK  # after django.setup()

    job = jobs.create_job(project=version.project, kind=RANK, params={"model_version": version.pk})
    cpu = MachineCpu().start()
    t0 = time.perf_counter()
    assert jobs.send_task("learning.tasks.rank", args=[job.pk])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in (Job.State.SUCCEEDED, Job.State.FAILED):
            break
        time.sleep(0.1)
    seconds, busy = time.perf_counter() - t0, cpu.busy()
    assert job.state == Job.State.SUCCEEDED, job.error or job.state
    assert job.total == n_chunks_expected, (job.total, n_chunks_expected)
    return {"seconds": round(seconds, 2), "chunks": job.total, "chunk_db_seconds": job.result.get("chunk_db_seconds"),
            "machine_cpu_busy": busy}


def _worker(processes: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "quorum", "worker", "--pool=prefork",
                             f"--concurrency={processes}", "--without-gossip", "--without-mingle",
                             "--without-heartbeat", "-l", "WARNING", "-n", "bench-ranking@%h"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--workers", type=int, action="append",
                        help="worker processes (repeatable); default 2 and 4")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import redis

    fresh_database(PG, DB_NAME)
    redis.Redis.from_url(REDIS).flushdb()
    media = Path(tempfile.mkdtemp(prefix="quorum-bench-ranking-db-"))
    os.environ.update(_env(media, args.chunk_size))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    import django

    django.setup()
    t0 = time.perf_counter()
    project, data = _setup(args.items)
    print(f"set up {args.items:,} items in {time.perf_counter() - t0:.1f} s", flush=True)
    n_chunks = -(-args.items // args.chunk_size)
    by_workers = {}
    for processes in args.workers or [2, 4]:
        trained = _trained(project, data, f"trained-{processes}")
        worker = _worker(processes, _env(media, args.chunk_size))
        try:
            time.sleep(3)  # the worker connects
            tr = _run(trained, n_chunks, timeout=900)
            up = _run(_uploaded(project, f"uploaded-{processes}"), n_chunks, timeout=900)  # now the latest version
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        by_workers[str(processes)] = {"features": tr, "uploaded": up}
        print(f"ranked {args.items:,} items with {processes} worker processes in {n_chunks} chunks: "
              f"from features {tr['seconds']} s (predictions stored for every item; per chunk in the database "
              f"{_per_chunk(tr)}; cores busy {tr['machine_cpu_busy']}), from uploaded probabilities {up['seconds']} s "
              f"(per chunk {_per_chunk(up)}; cores busy {up['machine_cpu_busy']})",
              flush=True)
    first = by_workers[str((args.workers or [2, 4])[0])]
    result = {"items": args.items, "chunk_size": args.chunk_size, "workers": (args.workers or [2, 4])[0],
              "features": first["features"], "uploaded": first["uploaded"], "by_workers": by_workers,
              "database": "PostgreSQL", "broker": "Redis"}
    if not args.no_write:
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _per_chunk(run: dict) -> str:
    db = run.get("chunk_db_seconds") or {}
    return f"mean {db.get('mean', 0):.2f} s, max {db.get('max', 0):.2f} s" if db else "n/a"


if __name__ == "__main__":
    main()
