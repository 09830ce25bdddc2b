"""Benchmark the API's bulk import and streaming JSONL export of text items on PostgreSQL, over HTTP.

A gunicorn server (one sync worker, warmed by one small request) serves the real WSGI app; the client
is `requests`. The import is one
JSONL request body (application/x-ndjson) to POST /api/projects/{id}/items/ (validated, all or nothing). The export
is GET /api/projects/{id}/export/ streamed to /dev/null, served by a fresh worker whose peak RSS (VmHWM)
is read from /proc after the download.

    python -m bench.api                 # 100,000 and 1,000,000 items
    python -m bench.api --items 100000
    python -m bench.api --split         # the import alone, in-process: where its time goes (Python or PostgreSQL)

The database: QUORUM_BENCH_API_DB (a database name on QUORUM_BENCH_PG, default quorum_bench_api), or DATABASE_URL.
"""
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG = os.environ.get("QUORUM_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DEFAULT_DB = f"{PG}/{os.environ.get('QUORUM_BENCH_API_DB', 'quorum_bench_api')}"
RESULTS = Path(__file__).resolve().parent / "results" / "api.json"
WORDS = ("battery screen great awful fast slow price delivery support refund quality broken love hate fine "
         "camera sound light heavy cheap expensive works failed again never always").split()
LABELS = ["positive", "negative", "neutral", "question"]


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    _create_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _create_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _fresh_project():
    """Empty the bench database and make a project with a manager and a token."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from api.models import ApiToken
    from core.services import project_create

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE labeling_project, api_apitoken, auth_user RESTART IDENTITY CASCADE")
    user = get_user_model().objects.create_user("bench", password=None)
    project = project_create(name="Bench", kind="text", labels=LABELS, owner=user)
    _, token = ApiToken.issue(user=user, name="bench")
    return project, token


def _write_jsonl(path: Path, n: int) -> None:
    rng = random.Random(0)
    with path.open("w") as out:
        for i in range(n):
            text = " ".join(rng.choices(WORDS, k=12)) + f" #{i}"
            row = {"text": text, "shop": f"s{i % 50}"}
            if i % 2 == 0:
                row["label"] = LABELS[i % 4]
            out.write(json.dumps(row) + "\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with one sync worker, so the worker's VmHWM is the serving process's peak memory."""

    def __init__(self, url: str):
        self.port = _free_port()
        env = {**os.environ, "DATABASE_URL": url, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "ERROR"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "quorum.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "1",
             "--timeout", "900", "--log-level", "warning"], env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def warm(self, headers: dict) -> None:
        """One small request first, so the timings do not include loading Django in the worker."""
        import requests

        requests.get(f"{self.base}/api/projects/", headers=headers, timeout=60).raise_for_status()

    def worker_peak_mb(self) -> float:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        status = Path(f"/proc/{children[0]}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        return kb / 1024

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def run(n: int, url: str) -> dict:
    import requests

    project, token = _fresh_project()
    headers = {"Authorization": f"Token {token}"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        _write_jsonl(path, n)
        server = Server(url)
        try:
            server.warm(headers)
            with path.open("rb") as fh:
                started = time.perf_counter()
                response = requests.post(f"{server.base}/api/projects/{project.pk}/items/", data=fh, timeout=900,
                                         headers={**headers, "Content-Type": "application/x-ndjson"})
                import_s = time.perf_counter() - started
            response.raise_for_status()
            assert response.json()["created"] == n, response.text
            import_peak = server.worker_peak_mb()  # flat in the number of items: the import streams in batches
        finally:
            server.stop()
    server = Server(url)  # a fresh worker, so its peak memory is the export's alone
    try:
        server.warm(headers)
        started = time.perf_counter()
        lines = 0
        with requests.get(f"{server.base}/api/projects/{project.pk}/export/", headers=headers, stream=True,
                          timeout=900) as response:
            response.raise_for_status()
            for chunk in response.iter_content(chunk_size=1 << 16):
                lines += chunk.count(b"\n")
        export_s = time.perf_counter() - started
        peak = server.worker_peak_mb()
    finally:
        server.stop()
    assert lines == n, (lines, n)
    return {"items": n, "import_s": round(import_s, 2), "import_peak_rss_mb": round(import_peak, 1),
            "export_jsonl_s": round(export_s, 2),
            "export_peak_rss_mb": round(peak, 1)}


def split(n: int) -> dict:
    """The import alone, in this process (no HTTP): its wall time, this process's CPU time (parsing, checks and
    formatting, both threads) and the PostgreSQL backend's (COPY, indexes, ANALYZE), read from /proc when the
    server runs on this machine. On a shared machine compare these, run back to back, rather than wall times."""
    from django.db import connection

    from data.one_pass import import_text

    project, _ = _fresh_project()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        _write_jsonl(path, n)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        backend_cpu = (lambda: _cpu_seconds(backend)) if backend.exists() else (lambda: float("nan"))
        with path.open("rb") as fh:
            started, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu()
            result = import_text(project=project, name="items.jsonl", stream=fh)
            wall, cpu, pg = time.perf_counter() - started, time.process_time() - cpu, backend_cpu() - pg
    assert result.created == n
    return {"items": n, "import_s": round(wall, 2), "python_cpu_s": round(cpu, 2), "postgres_cpu_s": round(pg, 2)}


def _cpu_seconds(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, action="append", help="items per run (repeatable); default 100000 and 1000000")
    parser.add_argument("--split", action="store_true", help="the import alone, in-process: wall, Python CPU and "
                        "PostgreSQL backend CPU (nothing written to bench/results)")
    args = parser.parse_args(argv)
    url = DEFAULT_DB if "QUORUM_BENCH_API_DB" in os.environ else os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not url.startswith("postgres"):
        raise SystemExit("bench.api runs on PostgreSQL: set DATABASE_URL=postgres://...")
    _setup_django(url)
    if args.split:
        for n in args.items or [100_000, 1_000_000]:
            r = split(n)
            print(f"{n:>9,} items in-process: import {r['import_s']:6.2f} s, Python CPU {r['python_cpu_s']:.2f} s, "
                  f"PostgreSQL backend CPU {r['postgres_cpu_s']:.2f} s", flush=True)
        return
    runs = []
    for n in args.items or [100_000, 1_000_000]:
        result = run(n, url)
        runs.append(result)
        print(f"{n:>9,} items: import {result['import_s']:6.2f} s ({n / result['import_s']:,.0f}/s, peak RSS "
              f"{result['import_peak_rss_mb']:.0f} MB), "
              f"export JSONL {result['export_jsonl_s']:6.2f} s, export peak RSS {result['export_peak_rss_mb']:.0f} MB",
              flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"database": "postgresql", "transport": "HTTP (gunicorn, 1 sync worker)",
                                   "runs": runs}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
