"""Serve Quorum with gunicorn on PostgreSQL + Redis and measure the labeling hot path over HTTP.

    python -m bench.serve                 # 100,000 then 1,000,000 items, then 50 annotators at once
    python -m bench.serve --items 100000  # one size only
    python -m bench.serve --items 100000 --latency-only  # next/submit latency and the profile, nothing written

The load part runs 50 annotators as fast as they can (overlap 1, then overlap 3), then paced like people
(each labels every 2 s: 25 labels/s offered) at overlap 1 and 3. A Celery worker runs meanwhile, so the
overlap-3 project's annotator model is fitted and refitted the way production does it (learning.tasks
.fit_annotators, sent after every QUORUM_ANNOTATOR_REFIT_EVERY completed items, and after the first 30).

At each size, next-item and submit requests also run in-process under cProfile: ``profile.next`` and
``profile.submit`` hold the query count and SQL time per request, the share of time by area (database
driver, ORM, templates, middleware...) and the frames that cost most.

Writes bench/results/serve.json (figures) and bench/results/serve_plans.txt (EXPLAIN ANALYZE of the queue's
queries at each size). Figures a run did not measure (a size left out) are kept from the previous file with
the date they were measured on. Everything runs against 127.0.0.1 only; the load part is bounded in time
and count.
"""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import fresh_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG = "postgres://postgres@127.0.0.1:5432"
# Several people may benchmark on one machine: the database and the Redis db number can be chosen.
DB_NAME = os.environ.get("QUORUM_BENCH_DB", "quorum_bench_serve")
DATABASE_URL = f"{PG}/{DB_NAME}"
BROKER_URL = f"redis://127.0.0.1:6379/{os.environ.get('QUORUM_BENCH_REDIS_DB', '6')}"
PASSWORD = "bench-password-1"
ASSIGNMENT_RE = re.compile(r'name="assignment" value="(\d+)"')
LABEL_RE = re.compile(r'name="label" value="(\d+)"')
OVERLAP_3_ITEMS = 4000  # enough open items for the fast and the paced overlap-3 runs


def _env() -> dict:
    env = dict(os.environ, DATABASE_URL=DATABASE_URL, CELERY_BROKER_URL=BROKER_URL, CACHE_URL=BROKER_URL, DEBUG="False",
               QUORUM_PRODUCTION="False", LOG_LEVEL="ERROR", DB_CONN_MAX_AGE="600")
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def _django():
    os.environ.update(_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    import django

    django.setup()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


# ---------------------------------------------------------------- server

def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, port: int, workers: int = 2, threads: int = 8):
        self.port = port or _free_port()
        self.cmd = [sys.executable, "-m", "gunicorn", "quorum.wsgi", "-w", str(workers), "--threads", str(threads),
                    "-k", "gthread", "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "60",
                    # A browser keeps its connection open between labels; gunicorn's default of 2 s would
                    # close it under a paced annotator (one label every 2 s) just as the next request goes out.
                    "--keep-alive", "10",
                    "--control-socket", f"/tmp/quorum-bench-{self.port}.ctl"]
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=_env(), start_new_session=True)
        try:
            return self._wait_ready()
        except BaseException:
            self.__exit__()
            raise

    def _wait_ready(self):
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url("/login/"), timeout=10).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 60 s")

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class Worker:
    """A Celery worker (one process) on the benchmark's broker, as production runs beside gunicorn."""

    def __enter__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "quorum", "worker", "--pool=solo", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-l", "WARNING", "-n", f"bench-serve-{os.getpid()}@%h"],
            cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(3)  # the worker connects
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=60)


class Client:
    """One annotator's browser: a requests.Session logged in through /login/, sending htmx requests."""

    def __init__(self, server: Server, username: str, project_id: int):
        import requests

        self.server, self.project_id = server, project_id
        self.s = requests.Session()
        self.s.get(server.url("/login/"), timeout=30)
        token = self.s.cookies["csrftoken"]
        r = self.s.post(server.url("/login/"), data={"username": username, "password": PASSWORD,
                        "csrfmiddlewaretoken": token}, allow_redirects=False, timeout=60)
        if r.status_code != 302:
            raise RuntimeError(f"login failed for {username}: HTTP {r.status_code}")
        self.headers = {"HX-Request": "true", "X-CSRFToken": self.s.cookies["csrftoken"],
                        "Referer": server.url("/")}

    def next(self):
        t = time.perf_counter()
        r = self.s.get(self.server.url(f"/projects/{self.project_id}/label/"), headers=self.headers, timeout=60)
        return r, (time.perf_counter() - t) * 1000

    def submit(self, assignment: str, label: str):
        t = time.perf_counter()
        r = self.s.post(self.server.url(f"/projects/{self.project_id}/label/submit/"), headers=self.headers,
                        data={"assignment": assignment, "label": label, "seconds": "1.5"}, timeout=60)
        return r, (time.perf_counter() - t) * 1000


def _parse(html: str):
    a, labels = ASSIGNMENT_RE.search(html), LABEL_RE.findall(html)
    return (a.group(1) if a else None), labels


# ---------------------------------------------------------------- data

def _setup_people(n_annotators: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User = get_user_model()
    hashed = make_password(PASSWORD)  # hash once: 50 annotators share the password, not 50 slow hashes
    User.objects.bulk_create([User(username=f"annotator{i}", password=hashed) for i in range(n_annotators)]
                             + [User(username="manager", password=hashed)])
    return User


def _project(name: str, overlap: int, users, retrain_every: int = 50):
    from core.models import Role
    from core.services import membership_set, project_create

    manager = users.objects.get(username="manager")
    project = project_create(name=name, kind="text", labels=["positive", "negative", "neutral"], owner=manager,
                             overlap=overlap, retrain_every=retrain_every)
    for user in users.objects.filter(username__startswith="annotator"):
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    return project


def _generate(project_id: int, count: int) -> float:
    from django.core.management import call_command
    from django.db import connection

    t = time.perf_counter()
    call_command("generate_items", project=project_id, count=count)
    connection.close()
    return time.perf_counter() - t


def _skip_open_leases(username: str) -> None:
    """Give back the lease a submit just took, so the next GET measures a fresh pick from the queue.

    The lease is deleted, not marked skipped: a skipped item stays open at the top of the queue, and the
    candidates query walks past every item this annotator skipped, so 300 rounds of skips made the last
    rounds' picks ~1.4 ms slower than the first (measured), which no annotator labeling in order sees.
    """
    from core.models import Assignment

    Assignment.objects.filter(annotator__username=username, state=Assignment.State.LEASED).delete()


def _plans(project, username: str) -> str:
    """EXPLAIN ANALYZE of the queries the labeling endpoints run per request, at this size."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from core.models import Assignment, Item
    from labeling.queue import CANDIDATES, CANDIDATES_SQL, LEASE_SQL
    from labeling.selectors import PROGRESS_SQL, REMAINING_CAP

    user = get_user_model().objects.get(username=username)
    now = timezone.now()
    item = Item.objects.filter(project=project).values_list("pk", flat=True).first()
    queries = [
        ("candidates (FOR UPDATE SKIP LOCKED)", CANDIDATES_SQL.format(exclude="", lock="FOR UPDATE OF i SKIP LOCKED"),
         {"project": project.pk, "annotator": user.pk, "now": now, "limit": CANDIDATES}),
        ("progress (own labels, open items capped)", PROGRESS_SQL,
         {"project": project.pk, "annotator": user.pk, "cap": REMAINING_CAP + 1}),
        # Rolled back below, as every statement here.
        ("lease of one item, with the progress counts in its RETURNING", LEASE_SQL,
         {"project": project.pk, "annotator": user.pk, "cap": REMAINING_CAP + 1, "item": item, "now": now,
          "expires": now}),
    ]
    out = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            for title, sql, params in queries:
                cursor.execute("EXPLAIN ANALYZE " + sql, params)
                out.append(f"-- {title}\n" + "\n".join(r[0] for r in cursor.fetchall()))
        out.append("-- lease re-check of one item\n" + Assignment.objects.filter(
            item_id=item, state="leased", expires_at__gt=now).explain(analyze=True))
        out.append("-- open lease of the annotator\n" + Assignment.objects.filter(
            project=project, annotator=user, state="leased").order_by("-served_at")[:1].explain(analyze=True))
        transaction.set_rollback(True)
    return "\n\n".join(out)


# ---------------------------------------------------------------- measurements

def measure_latency(server: Server, project_id: int, username: str, rounds: int, warmup: int) -> dict:
    client = Client(server, username, project_id)
    nexts, submits = [], []
    for n in range(warmup + rounds):
        _skip_open_leases(username)
        r, ms_next = client.next()
        assignment, labels = _parse(r.text)
        if r.status_code != 200 or assignment is None:
            raise RuntimeError(f"next item failed: HTTP {r.status_code}")
        r, ms_submit = client.submit(assignment, labels[n % len(labels)])
        if r.status_code != 200 or "notice bad" in r.text:
            raise RuntimeError(f"submit failed: HTTP {r.status_code}")
        if n >= warmup:
            nexts.append(ms_next)
            submits.append(ms_submit)
    _skip_open_leases(username)
    return {"next_p50_ms": _percentile(nexts, 50), "next_p95_ms": _percentile(nexts, 95),
            "submit_p50_ms": _percentile(submits, 50), "submit_p95_ms": _percentile(submits, 95),
            "rounds": rounds}


# ---------------------------------------------------------------- profile

# Where a request's time goes, by the file of the function that spent it (exclusive time).
AREAS = [
    ("database driver (send, wait, fetch)", ("/psycopg/", "/psycopg_c/", "/psycopg_binary/")),
    ("ORM (build, compile, instances)", ("/django/db/",)),
    ("templates", ("/django/template/", "/django/templatetags/", "/template_partials/")),
    ("cache / sessions (redis)", ("/redis/", "/django/core/cache/", "/django/contrib/sessions/")),
    ("middleware, auth, request/response", ("/django/middleware/", "/django/contrib/", "/django/core/", "/django/http/",
                                            "/django/utils/", "/django/urls/", "/axes/", "/csp/", "/django_htmx/",
                                            "/whitenoise/", "/django/views/", "/django/test/")),
    ("Quorum code", (str(ROOT) + "/core/", str(ROOT) + "/labeling/", str(ROOT) + "/learning/", str(ROOT) + "/quorum/",
                     str(ROOT) + "/review/")),
]


# Framework functions worth naming in the profile: the user and session reads, rendering, CSP, the view call.
REQUEST_STEPS = {"get_user", "_get_session", "load", "render_to_string", "process_response", "process_request",
                 "_get_response", "execute_sql", "_execute_send", "wait"}


def _area(filename: str) -> str:
    return next((name for name, parts in AREAS if any(p in filename for p in parts)), "other (stdlib, builtins)")


def _frame(key) -> str:
    filename, line, name = key
    short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
    return f"{short}:{line}({name})" if filename != "~" else name


def _summary(stats, calls: int, top: int = 12) -> dict:
    """Exclusive time by area, and the frames with the largest inclusive share below the request wrappers."""
    total = sum(tt for (_, _, tt, _, _) in stats.values()) or 1e-9
    areas: dict[str, float] = {}
    for key, (_, _, tt, _, _) in stats.items():
        areas[_area(key[0])] = areas.get(_area(key[0]), 0.0) + tt
    # Inclusive share of Quorum's own functions and of the framework's per-request steps; the generic
    # chain below them (execute, _fetch_all, ...) is what the areas above already sum up.
    frames = sorted(((ct / total, key) for key, (_, _, _, ct, _) in stats.items()), reverse=True)
    chosen = [{"frame": _frame(key), "share": round(share, 3)} for share, key in frames
              if share < 0.9 and (key[0].startswith(str(ROOT) + "/") and "/.venv/" not in key[0]
                                  or key[2] in REQUEST_STEPS)][:top]
    return {"profiled_ms_per_request": round(total / calls * 1000, 2),
            "areas": {name: round(tt / total, 3) for name, tt in sorted(areas.items(), key=lambda kv: -kv[1])},
            "top": chosen}


def profile_requests(project_id: int, username: str, requests: int = 100) -> dict:
    """Run next-item and submit requests in this process (the full middleware stack, no HTTP server):
    per request the wall time and SQL time unprofiled, the query count, then a cProfile summary."""
    import cProfile
    import pstats

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    headers = {"HTTP_HX_REQUEST": "true"}
    next_url, submit_url = f"/projects/{project_id}/label/", f"/projects/{project_id}/label/submit/"
    sql = {"next": [], "submit": []}

    def timed(kind):
        def wrapper(execute, query, params, many, context):
            t = time.perf_counter()
            try:
                return execute(query, params, many, context)
            finally:
                sql[kind].append(time.perf_counter() - t)
        return wrapper

    def run(kind, profiler=None):
        if kind == "next":
            _skip_open_leases(username)
            call = lambda: client.get(next_url, **headers)  # noqa: E731
        else:
            _skip_open_leases(username)
            assignment, labels = _parse(client.get(next_url, **headers).content.decode())
            call = lambda: client.post(submit_url, {"assignment": assignment, "label": labels[0],  # noqa: E731
                                                    "seconds": "1.5"}, **headers)
        t, cpu = time.perf_counter(), time.thread_time()
        if profiler is None:
            with connection.execute_wrapper(timed(kind)):
                response = call()
        else:
            profiler.enable()
            response = call()
            profiler.disable()
        if response.status_code != 200 or b"notice bad" in response.content:
            raise RuntimeError(f"profiled {kind} failed: HTTP {response.status_code}")
        return time.perf_counter() - t, time.thread_time() - cpu

    out = {}
    for kind in ("next", "submit"):
        for _ in range(20):  # warm up: templates compiled, connections open
            run(kind)
        sql[kind].clear()
        timings = [run(kind) for _ in range(requests)]
        profiler = cProfile.Profile()
        for _ in range(requests):
            run(kind, profiler)
        # CPU time of this thread (Django's side of the request, psycopg included; PostgreSQL's own work
        # excluded): the figure least moved by other load on the machine.
        out[kind] = {"requests": requests, "wall_p50_ms": _percentile([w * 1000 for w, _ in timings], 50),
                     "python_cpu_p50_ms": _percentile([c * 1000 for _, c in timings], 50),
                     "queries": round(len(sql[kind]) / requests, 1),
                     "sql_ms_per_request": round(sum(sql[kind]) / requests * 1000, 2),
                     **_summary(pstats.Stats(profiler).stats, requests)}
    _skip_open_leases(username)
    return out


def _print_profile(profile: dict) -> None:
    for kind, fig in profile.items():
        print(f"profile {kind}: {fig['wall_p50_ms']} ms p50 in-process ({fig['python_cpu_p50_ms']} ms CPU in Python), "
              f"{fig['queries']} queries, "
              f"{fig['sql_ms_per_request']} ms in SQL; under cProfile {fig['profiled_ms_per_request']} ms:")
        for name, share in fig["areas"].items():
            print(f"    {share:6.1%}  {name}")
        for row in fig["top"]:
            print(f"    {row['share']:6.1%}  {row['frame']}")


def run_annotators(server: Server, project_id: int, n: int, seconds: float, max_per_annotator: int,
                   every: float | None = None) -> dict:
    """n annotators label as fast as they can for ``seconds`` (and at most max_per_annotator items each).

    ``every``: pace each annotator to one submit per ``every`` seconds instead, their starts spread evenly
    over the first period (n / every labels per second offered).
    """
    clients: list[Client | None] = [None] * n

    def login(i):
        clients[i] = Client(server, f"annotator{i}", project_id)

    threads = [threading.Thread(target=login, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submitted: list[set] = [set() for _ in range(n)]
    latencies: list[list[float]] = [[] for _ in range(n)]
    errors = [0] * n
    failed_submits = [0] * n
    connection_errors = [0] * n
    start = time.monotonic()
    deadline = start + seconds

    def work(i):
        import requests

        try:
            label(i)
        except requests.ConnectionError:  # counted, not hidden in a dead thread's traceback
            connection_errors[i] += 1

    def label(i):
        c = clients[i]
        r, _ = c.next()
        for k in range(max_per_annotator):
            if every is not None:
                time.sleep(max(0.0, min(deadline, start + every * (k + i / n)) - time.monotonic()))
            if time.monotonic() >= deadline:
                return
            if r.status_code >= 500:
                errors[i] += 1
                return
            assignment, labels = _parse(r.text)
            if assignment is None:
                return  # nothing left for this annotator
            r, ms = c.submit(assignment, labels[(i + k) % len(labels)])
            latencies[i].append(ms)
            if r.status_code >= 500:
                errors[i] += 1
                return
            if r.status_code == 200 and "notice bad" not in r.text:
                submitted[i].add(int(assignment))
            else:
                failed_submits[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    all_ms = [ms for per in latencies for ms in per]
    return {"submitted": set().union(*submitted), "elapsed": elapsed, "server_errors": sum(errors),
            "refused_submits": sum(failed_submits), "connection_errors": sum(connection_errors),
            "submit_p50_ms": _percentile(all_ms, 50) if all_ms else None,
            "submit_p95_ms": _percentile(all_ms, 95) if all_ms else None,
            "submit_p99_ms": _percentile(all_ms, 99) if all_ms else None}


def audit(project_id: int, submitted: set) -> dict:
    """Count in the database what the clients saw: lost, duplicated, over-assigned items, exact-k overlap."""
    from django.db.models import Count, F, Q

    from core.models import Annotation, Assignment, Item

    stored = set(Annotation.objects.filter(assignment_id__in=submitted).values_list("assignment_id", flat=True))
    duplicates = (Annotation.objects.filter(project_id=project_id, supersedes__isnull=True)
                  .values("item", "annotator").annotate(n=Count("id")).filter(n__gt=1).count())
    given = (Assignment.objects.filter(project_id=project_id).exclude(state=Assignment.State.SKIPPED)
             .values("item").annotate(n=Count("annotator", distinct=True), needed=F("item__needed"))
             .filter(n__gt=F("needed")).count())
    count_mismatch = (Item.objects.filter(project_id=project_id)
                      .annotate(real=Count("annotations", filter=Q(annotations__supersedes__isnull=True)))
                      .exclude(real=F("annotation_count")).count())
    complete = Item.objects.filter(project_id=project_id, annotation_count__gte=F("needed"), needed__gt=0)
    exact_k = complete.annotate(k=Count("annotations__annotator", distinct=True)).exclude(k=F("needed")).count()
    return {"annotations": len(stored), "lost_annotations": len(submitted - stored),
            "duplicate_annotations": duplicates + count_mismatch, "duplicate_assignments": given,
            "items_complete": complete.count(), "items_without_exactly_k": exact_k}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, choices=[100_000, 1_000_000], help="measure one size only")
    parser.add_argument("--rounds", type=int, default=300, help="measured next+submit pairs per size")
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each as-fast-as-possible run")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="duration of each paced run")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between two labels of one paced annotator")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--profile-requests", type=int, default=100,
                        help="in-process requests of each kind timed, then profiled (0: no profile)")
    parser.add_argument("--latency-only", action="store_true",
                        help="latency and profile only: no load part, no plans, results printed but not written")
    args = parser.parse_args(argv)
    sizes = [args.items] if args.items else [100_000, 1_000_000]

    fresh_database(PG, DB_NAME)
    _flush_redis()  # refit counts and login throttles of an earlier run would carry over
    _django()
    from django.db import connection

    users = _setup_people(args.annotators)
    project = _project("Bench: overlap 1", 1, users)
    results = {"database": f"PostgreSQL {connection.pg_version // 10000}",
               "server": "gunicorn -w 2 --threads 8 --keep-alive 10, one Celery worker (--pool=solo) in the load part",
               "sizes": {}}
    plans, have = [], 0
    for size in sizes:
        took = _generate(project.pk, size - have)
        have = size
        print(f"generated {size:,} items ({took:.1f} s)", flush=True)
        with Server(args.port) as server:
            fig = measure_latency(server, project.pk, "annotator0", args.rounds, warmup=30)
        fig["generate_seconds"] = round(took, 1)
        fig["measured_on"] = datetime.date.today().isoformat()
        print(f"{size:>9,} items: {json.dumps(fig)}", flush=True)
        if args.profile_requests:
            fig["profile"] = profile_requests(project.pk, "annotator2", args.profile_requests)
            _print_profile(fig["profile"])
            results.setdefault("profile", {"items": size, **fig["profile"]})
        results["sizes"][str(size)] = fig
        if not args.latency_only:
            plans.append(f"==== {size:,} items\n{_plans(project, 'annotator1')}")
        connection.close()

    if args.latency_only:
        return results
    if not args.skip_load:
        results.update(_load(args, project, users))
    results["measured_on"] = datetime.date.today().isoformat()
    results = _keep_previous(results, RESULTS / "serve.json")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "serve_plans.txt").write_text("\n\n".join(_keep_previous_plans(plans, sizes)) + "\n")
    print(f"wrote {RESULTS / 'serve.json'}")
    return results


def _load(args, project, users) -> dict:
    """The load part: as fast as possible at overlap 1 and 3, then paced at overlap 1 and 3."""
    # No retrains during the load (as before, when no worker ran): they would compete for the 2 cores.
    # The worker runs the annotator refits the overlap-3 submits send.
    small = _project("Bench: overlap 3", 3, users, retrain_every=10**6)
    _generate(small.pk, OVERLAP_3_ITEMS)
    _purge_broker()  # retrains the latency part queued
    out = {"load_average": {"before": _load_average()}}  # others may share the machine: say how busy it was
    with Server(args.port) as server, Worker():
        seconds_3 = min(args.seconds, 15.0)
        for key, target, overlap, seconds, every in [
                ("concurrency", project, 1, args.seconds, None),
                ("concurrency_overlap_3", small, 3, seconds_3, None),
                ("overlap_1", project, 1, args.paced_seconds, args.every),
                ("overlap_3", small, 3, args.paced_seconds, args.every)]:
            run = run_annotators(server, target.pk, args.annotators, seconds, max_per_annotator=2000, every=every)
            fig = _load_figures(run, audit(target.pk, run["submitted"]), args.annotators, overlap)
            if overlap > 1:
                fig["consensus"] = _consensus_methods(small.pk)
            if every is None:
                out[key] = fig
            else:
                fig["offered_per_s"] = round(args.annotators / every, 1)
                out.setdefault("paced", {"every_s": every})[key] = fig
            print(f"{'paced' if every else 'load'}, overlap {overlap}: {json.dumps(fig)}", flush=True)
    out["load_average"]["after"] = _load_average()
    _purge_broker()
    return out


def _load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages of the host (2 cores: 2.0 means busy)."""
    return [round(x, 2) for x in os.getloadavg()]


def _load_figures(run: dict, fig: dict, annotators: int, overlap: int) -> dict:
    return {
        "annotators": annotators, "overlap": overlap, "seconds": round(run["elapsed"], 1),
        "annotations": fig["annotations"], "items_complete": fig["items_complete"],
        "items_without_exactly_k": fig["items_without_exactly_k"],
        "duplicate_assignments": fig["duplicate_assignments"], "duplicate_annotations": fig["duplicate_annotations"],
        "lost_annotations": fig["lost_annotations"], "server_errors": run["server_errors"],
        "refused_submits": run["refused_submits"], "connection_errors": run["connection_errors"],
        "throughput_per_s": round(fig["annotations"] / run["elapsed"], 1),
        "submit_p50_ms": run["submit_p50_ms"], "submit_p95_ms": run["submit_p95_ms"],
        "submit_p99_ms": run["submit_p99_ms"],
    }


def _consensus_methods(project_id: int) -> dict:
    """How the project's consensus labels were decided so far, and the annotator model in use now."""
    from django.db.models import Count

    from core.models import LabelEvent
    from learning.models import AnnotatorModel

    causes = dict(LabelEvent.objects.filter(project_id=project_id, cause__startswith="consensus:")
                  .values_list("cause").annotate(n=Count("id")))
    model = AnnotatorModel.objects.filter(project_id=project_id).order_by("-id").first()
    return {"labels_by_method": {c.split(":", 1)[1]: n for c, n in sorted(causes.items())},
            "annotator_model": None if model is None else {"method": model.method, "n_items": model.n_items}}


def _keep_previous(results: dict, path: Path) -> dict:
    """Add the figures of the previous file that this run did not measure, each with the date it was taken."""
    if not path.exists():
        return results
    previous = json.loads(path.read_text())
    since = previous.get("measured_on") or _committed_on(path)
    for size, fig in previous.get("sizes", {}).items():
        if size not in results["sizes"]:
            results["sizes"][size] = {**fig, "measured_on": fig.get("measured_on", since)}
    for key, value in previous.items():
        if key not in results and key != "carried_over":
            results[key] = value
            results.setdefault("carried_over", {})[key] = previous.get("carried_over", {}).get(key, since)
    return results


def _keep_previous_plans(plans: list[str], sizes: list[int]) -> list[str]:
    """The plans of this run, then the previous file's plans of the sizes it did not measure, dated."""
    path = RESULTS / "serve_plans.txt"
    if not path.exists():
        return plans
    since = _committed_on(path)
    kept = []
    for section in re.split(r"(?m)^(?===== )", path.read_text()):
        header = re.match(r"==== ([\d,]+) items(.*)\n", section)
        if header and int(header.group(1).replace(",", "")) not in sizes:
            dated = header.group(2) or f" (measured on {since})"
            kept.append(f"==== {header.group(1)} items{dated}\n" + section[header.end():].rstrip("\n"))
    return plans + kept


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


def _committed_on(path: Path) -> str:
    out = subprocess.run(["git", "log", "-1", "--format=%cs", "--", str(path)], cwd=ROOT, capture_output=True,
                         text=True)
    return out.stdout.strip() or "unknown"


def _purge_broker() -> None:
    """Retrain messages queued during the run point at this benchmark's database: do not leave them behind."""
    from quorum.celery import app

    try:
        app.control.purge()
    except Exception as exc:  # noqa: BLE001 - a leftover message is harmless to the figures; say so
        print(f"could not purge the broker queue: {exc}", file=sys.stderr)


if __name__ == "__main__":
    main()
