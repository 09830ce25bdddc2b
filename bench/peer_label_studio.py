"""Side by side with Label Studio: import, next item, one label and export, same client, same machine, one run.

Label Studio runs as pip users run it (`label-studio start`, SQLite, legacy API tokens enabled); Quorum runs
under gunicorn on PostgreSQL (bench.serve's server). Both get the same text items and the same `requests`
client code; each step is timed the same way on both:

- import: every item in one request body (Label Studio: a JSON array to /api/projects/<id>/import;
  Quorum: JSONL to /api/projects/<id>/items/), from sending the body until the server answers (and, for
  Label Studio, until an asynchronous import says it is done). The client serialises the body before the
  clock starts: the figure is the server's. The import runs ``--imports`` times (default 3), each into a
  fresh project of the same server, and the median counts; the steps below use the last project;
- next item: Label Studio GET /api/projects/<id>/next; Quorum GET of the labeling partial (a fresh pick from
  the queue each time);
- one label: Label Studio next + POST /api/tasks/<id>/annotations/; Quorum one submit, which returns the
  next item;
- export: every item with its labels, streamed to memory (Label Studio: /export?exportType=JSON with
  download_all_tasks=true; Quorum: /api/projects/<id>/export/).

Label Studio is not a dependency of Quorum: install it in its own venv and point at it:

    python3 -m venv /tmp/ls && /tmp/ls/bin/pip install label-studio==1.23.2
    python -m bench.peer_label_studio --label-studio /tmp/ls/bin/label-studio --items 100000

Writes bench/results/peer.json: both sides' figures and `ratios.<step>` = Label Studio's figure / Quorum's.
Each side also has ``cpu_probe_ms``, a fixed pure-Python loop timed before and after its steps (bench.cpu_probe_ms).
On this shared machine Quorum's serving steps have slow spells in which every process's CPU time per request
(client, gunicorn and PostgreSQL alike) rises ~1.8x while that tight loop does not slow down; the probe shows at
least that the CPU's clock was the same for both sides.
"""
import argparse
import datetime
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import cpu_probe_ms, serve

RESULTS = Path(__file__).resolve().parent / "results" / "peer.json"
LABELS = ["positive", "negative", "neutral", "question"]
WORDS = ("battery screen great awful fast slow price delivery support refund quality broken love hate fine "
         "camera sound light heavy cheap expensive works failed again never always").split()
LS_USER = "bench@example.com"
LS_PASSWORD = "bench-password-1"
QUORUM_ENV = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DEBUG", "LOG_LEVEL",
              "ALLOWED_HOSTS", "DB_CONN_MAX_AGE", "QUORUM_PRODUCTION"}
STEP_TIMEOUT = 1800  # seconds: a peer that hangs ends the run with an error instead of forever


def make_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"text": " ".join(rng.choices(WORDS, k=12)) + f" #{i}", "shop": f"s{i % 50}"} for i in range(n)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))], 2)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - started) * 1000


def wait_http(url: str, seconds: float, proc) -> None:
    """Wait until `url` answers (any status below 500) or the process dies or `seconds` pass."""
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before answering {url}")
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


# ---------------------------------------------------------------- Label Studio

class LabelStudio:
    name = "Label Studio"

    def __init__(self, binary: str, port: int):
        import requests

        self.binary, self.port = binary, port or serve._free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(20)
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Token {self.token}"
        self.tmp = tempfile.mkdtemp(prefix="quorum-peer-ls-")

    def __enter__(self):
        # Quorum's own settings (DJANGO_SETTINGS_MODULE, DATABASE_URL, ...) must not leak into Label Studio.
        env = {k: v for k, v in os.environ.items() if k not in QUORUM_ENV}
        env.update(LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true", LOG_LEVEL="ERROR",
                   LABEL_STUDIO_BASE_DATA_DIR=self.tmp, DJANGO_DB="sqlite")
        cmd = [self.binary, "start", "--no-browser", "--port", str(self.port), "--data-dir", self.tmp,
               "--username", LS_USER, "--password", LS_PASSWORD, "--user-token", self.token,
               "--enable-legacy-api-token"]
        self.log = open(Path(self.tmp) / "server.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        try:
            wait_http(f"{self.base}/health", 600, self.proc)  # the first start runs Label Studio's migrations
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def setup(self, labels: list[str]) -> None:
        choices = "".join(f'<Choice value="{name}"/>' for name in labels)
        config = (f'<View><Text name="text" value="$text"/><Choices name="label" toName="text">{choices}'
                  '</Choices></View>')
        r = self.s.post(f"{self.base}/api/projects", json={"title": "Bench", "label_config": config}, timeout=60)
        r.raise_for_status()
        self.project = r.json()["id"]
        self.labels = labels

    @staticmethod
    def body(rows: list[dict]) -> bytes:
        return json.dumps(rows).encode()

    def import_items(self, body: bytes, rows: list[dict]) -> None:
        r = self.s.post(f"{self.base}/api/projects/{self.project}/import", data=body, timeout=STEP_TIMEOUT,
                        headers={"Content-Type": "application/json"})
        r.raise_for_status()
        body = r.json()
        if "import" in body and body.get("task_count") is None:  # asynchronous import: poll until done
            self._wait_import(body["import"])
        count = self.s.get(f"{self.base}/api/projects/{self.project}", timeout=60).json()["task_number"]
        if count != len(rows):
            raise RuntimeError(f"Label Studio holds {count} tasks after importing {len(rows)}")

    def _wait_import(self, import_id: int) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            status = self.s.get(f"{self.base}/api/projects/{self.project}/imports/{import_id}", timeout=60).json()
            if status.get("status") in ("completed", "failed"):
                if status["status"] == "failed":
                    raise RuntimeError(f"Label Studio import failed: {status}")
                return
            time.sleep(0.2)
        raise RuntimeError("Label Studio import did not finish")

    def next(self) -> dict:
        r = self.s.get(f"{self.base}/api/projects/{self.project}/next", timeout=60)
        r.raise_for_status()
        return r.json()

    def label(self, n: int) -> None:
        task = self.next()
        result = [{"from_name": "label", "to_name": "text", "type": "choices",
                   "value": {"choices": [self.labels[n % len(self.labels)]]}}]
        r = self.s.post(f"{self.base}/api/tasks/{task['id']}/annotations/", json={"result": result}, timeout=60)
        r.raise_for_status()

    def export(self) -> int:
        r = self.s.get(f"{self.base}/api/projects/{self.project}/export",
                       params={"exportType": "JSON", "download_all_tasks": "true"}, timeout=STEP_TIMEOUT)
        r.raise_for_status()
        return len(r.json())


# ---------------------------------------------------------------- Quorum

class Quorum:
    name = "Quorum"

    def __init__(self, port: int):
        self.port = port

    def __enter__(self):
        import requests

        serve.fresh_database(serve.PG, serve.DB_NAME)
        serve._flush_redis()
        serve._django()
        from api.models import ApiToken

        self.users = serve._setup_people(1)
        _, token = ApiToken.issue(user=self.users.objects.get(username="manager"), name="bench")
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Token {token}"
        self.server = serve.Server(self.port).__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    def setup(self, labels: list[str]) -> None:
        from core.models import Role
        from core.services import membership_set, project_create

        manager = self.users.objects.get(username="manager")
        # retrain_every high: the comparison is the serving path, and Label Studio trains nothing either.
        self.project = project_create(name="Bench", kind="text", labels=labels, owner=manager, overlap=1,
                                      retrain_every=10**6)
        membership_set(project=self.project, user=self.users.objects.get(username="annotator0"), role=Role.ANNOTATOR)
        self.client = None

    @staticmethod
    def body(rows: list[dict]) -> bytes:
        return "".join(json.dumps(row) + "\n" for row in rows).encode()

    def import_items(self, body: bytes, rows: list[dict]) -> None:
        r = self.api.post(self.server.url(f"/api/projects/{self.project.pk}/items/"), data=body, timeout=STEP_TIMEOUT,
                          headers={"Content-Type": "application/x-ndjson"})
        r.raise_for_status()
        if r.json()["created"] != len(rows):
            raise RuntimeError(f"Quorum created {r.json()['created']} items of {len(rows)}")

    def _annotator(self):
        if self.client is None:
            self.client = serve.Client(self.server, "annotator0", self.project.pk)
        return self.client

    def prepare_next(self) -> None:
        """Untimed, before each timed next: give back the lease the last GET took, so the next GET makes a fresh
        pick from the queue. (Runs before 2026-11-24 evening timed this ORM delete, 1-2 ms, inside the step.)"""
        serve._skip_open_leases("annotator0")

    def next(self) -> tuple:
        r, _ = self._annotator().next()
        assignment, labels = serve._parse(r.text)
        if r.status_code != 200 or assignment is None:
            raise RuntimeError(f"Quorum next item failed: HTTP {r.status_code}")
        return assignment, labels

    def label(self, n: int) -> None:
        assignment, labels = self._pending
        r, _ = self._annotator().submit(assignment, labels[n % len(labels)])
        if r.status_code != 200 or "notice bad" in r.text:
            raise RuntimeError(f"Quorum submit failed: HTTP {r.status_code}")
        self._pending = serve._parse(r.text)

    def prepare_label(self) -> None:
        self._pending = self.next()

    def export(self) -> int:
        lines = 0
        with self.api.get(self.server.url(f"/api/projects/{self.project.pk}/export/"), stream=True,
                          timeout=STEP_TIMEOUT) as r:
            r.raise_for_status()
            for chunk in r.iter_content(chunk_size=1 << 16):
                lines += chunk.count(b"\n")
        return lines


# ---------------------------------------------------------------- the same steps for both

def run_steps(peer, rows: list[dict], rounds: int, warmup: int, imports: int = 3) -> dict:
    probe_before = cpu_probe_ms()
    body = peer.body(rows)
    import_runs = []
    for _ in range(imports):  # each into a fresh project; the last one serves the steps below
        peer.setup(LABELS)
        import_runs.append(round(timed(peer.import_items, body, rows)[1] / 1000, 2))
        print(f"  {peer.name}: imported {len(rows):,} items in {import_runs[-1]:.2f} s", flush=True)
    import_s = statistics.median(import_runs)
    nexts = []
    for _ in range(warmup + rounds):
        if hasattr(peer, "prepare_next"):
            peer.prepare_next()  # untimed
        nexts.append(timed(peer.next)[1])
    nexts = nexts[warmup:]
    if hasattr(peer, "prepare_label"):
        peer.prepare_label()
    labels = [timed(peer.label, n)[1] for n in range(warmup + rounds)][warmup:]
    exported, export_ms = timed(peer.export)
    if exported != len(rows):
        raise RuntimeError(f"{peer.name} exported {exported} items of {len(rows)}")
    fig = {"import_s": import_s, "import_runs_s": import_runs, "next_p50_ms": percentile(nexts, 50),
           "next_p95_ms": percentile(nexts, 95), "label_p50_ms": percentile(labels, 50),
           "label_p95_ms": percentile(labels, 95), "export_s": round(export_ms / 1000, 2), "rounds": rounds,
           "cpu_probe_ms": [probe_before, cpu_probe_ms()]}
    print(f"  {peer.name}: {json.dumps(fig)}", flush=True)
    return fig


def ratios(ls: dict, quorum: dict) -> dict:
    pairs = {"import": "import_s", "next_p95": "next_p95_ms", "label_p95": "label_p95_ms", "export": "export_s"}
    return {name: round(ls[key] / quorum[key], 1) for name, key in pairs.items()}


def find_label_studio(given: str | None) -> str:
    binary = given or os.environ.get("LABEL_STUDIO_BIN") or shutil.which("label-studio")
    if not binary or not Path(binary).exists():
        raise SystemExit("Label Studio is not installed. Install it in its own venv:\n"
                         "  python3 -m venv /tmp/ls && /tmp/ls/bin/pip install label-studio==1.23.2\n"
                         "then pass --label-studio /tmp/ls/bin/label-studio (or set LABEL_STUDIO_BIN).")
    return binary


def label_studio_version(binary: str) -> str:
    python = Path(binary).with_name("python")
    out = subprocess.run([str(python), "-c", "import label_studio; print(label_studio.__version__)"],
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip() or "unknown"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200, help="measured next items and labels per peer")
    parser.add_argument("--label-studio", help="path to the label-studio executable (default: LABEL_STUDIO_BIN or PATH)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--imports", type=int, default=3, help="imports per peer, each into a fresh project; "
                        "the median counts")
    args = parser.parse_args(argv)
    binary = find_label_studio(args.label_studio)
    rows = make_rows(args.items)
    print(f"{args.items:,} text items, {args.rounds} measured rounds each", flush=True)
    with Quorum(args.port) as quorum:
        quorum_fig = run_steps(quorum, rows, args.rounds, warmup=20, imports=args.imports)
    with LabelStudio(binary, args.port) as ls:
        ls_fig = run_steps(ls, rows, args.rounds, warmup=20, imports=args.imports)
    result = {"items": args.items, "measured_on": datetime.date.today().isoformat(),
              "load_average": [round(x, 2) for x in os.getloadavg()],
              "label_studio": {"version": label_studio_version(binary), "server": "label-studio start (SQLite)",
                               **ls_fig},
              "quorum": {"server": "gunicorn -w 2 --threads 8, PostgreSQL", **quorum_fig},
              "ratios": ratios(ls_fig, quorum_fig)}
    print("ratios (Label Studio / Quorum):", json.dumps(result["ratios"]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return result


if __name__ == "__main__":
    main()
