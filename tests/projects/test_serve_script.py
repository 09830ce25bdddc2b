"""`make run` serves with scripts/serve.sh: a Ctrl-C, hang-up or SIGTERM to its process group stops both processes
once, quietly, with exit 0."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int, *, group: bool = False) -> bool:
    """Whether process ``pid`` (or, with ``group``, any process of the group ``pid``) still exists."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            out.append(int(status.parent.name))
    return out


def _catches(pid: int, sig: signal.Signals) -> bool:
    """Whether process ``pid`` has installed a handler for ``sig`` (SigCgt bitmask in /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


def _wait_for(condition, deadline_s: float, what: str):
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_group_stops_server_and_worker_quietly_with_exit_0(tmp_path, sig):
    port = _free_port()
    env = {**os.environ, "BIN": str(BIN), "PORT": str(port), "QUORUM_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    proc = subprocess.Popen(["./scripts/serve.sh"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def serving():
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        _wait_for(lambda: serving() or proc.poll() is not None, 120, "the server to listen")
        assert proc.poll() is None, proc.stdout.read()
        children = _children(proc.pid)
        assert len(children) == 2, children
        # The worker is up (its INT and TERM handlers are installed): the case where a second signal would
        # make it announce its shutdown twice.
        _wait_for(lambda: any(_catches(c, signal.SIGINT) and _catches(c, signal.SIGTERM) for c in children), 120,
                  "the worker to install its signal handlers")
        os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C or hang-up (or a supervisor's TERM) does
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for child in locals().get("children", []):
            if _alive(child):
                os.kill(child, signal.SIGKILL)
    assert proc.returncode == 0, out
    _wait_for(lambda: not _alive(proc.pid, group=True), 30, "every process of the group to end")
    _wait_for(lambda: not any(_alive(c) for c in children), 30, "the server and the worker to end")
    assert out.count("Warm shutdown") <= 1 and "Segmentation fault" not in out and "Traceback" not in out, out
