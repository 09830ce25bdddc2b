"""`make run` serves with scripts/serve.sh: a Ctrl-C or SIGTERM to its process group stops both processes once,
quietly, with exit 0."""
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


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition, deadline_s: float, what: str):
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
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
        os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C (or a supervisor's TERM) does
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    _wait_for(lambda: not _group_alive(proc.pid), 30, "every process of the group to end")
    assert out.count("Warm shutdown") <= 1 and "Segmentation fault" not in out and "Traceback" not in out, out
