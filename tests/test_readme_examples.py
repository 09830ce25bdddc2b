"""Every curl and Python example of the README's API section, run against a live server with the demo loaded.

The demo goes into a temporary SQLite database (migrate + load_demo, tasks run eagerly so the demo has its
models); the server runs in a subprocess on a free port. The examples run as written; only the address
(http://127.0.0.1:8000) and the token placeholder (qrm_...) are replaced. Each curl call must answer 2xx, or
exactly the status its trailing comment names (`# demo: 400`).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
README_URL = "http://127.0.0.1:8000"
TOKEN_PLACEHOLDER = "qrm_..."
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.S)
CURL = re.compile(r"(?<![\w-])curl (?!--version)")
STATUS_COMMENT = re.compile(r"#[^#'\"]*\b([2-5]\d\d)\b[^#'\"]*$")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")]


def api_examples() -> list[tuple[str, str]]:
    """(language, code) of the README's API section blocks that hold a curl call, a manage.py call or Python."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## API\n"):]
    section = section[:section.index("\n## ", 1)]
    return [(lang, code) for lang, code in BLOCK.findall(section)
            if lang == "python" or CURL.search(code) or "manage.py" in code]


def expected_statuses(script: str) -> list[str]:
    """For each curl call in text order: the status its command's trailing comment names, else "2xx"."""
    out = []
    for match in CURL.finditer(script):
        rest = script[match.start():]
        end = 0
        for line in rest.splitlines(keepends=True):  # the command's last line: the first one not continued
            end += len(line)
            if not line.rstrip("\n").endswith("\\"):
                break
        last = rest[:end].rstrip("\n").splitlines()[-1]
        found = STATUS_COMMENT.search(last)
        out.append(found.group(1) if found else "2xx")
    return out


def test_the_readme_has_examples_of_the_whole_loop():
    code = "\n".join(c for _, c in api_examples())
    for needed in ("/retrain/", "/find-mislabels/", "/health/", "/findings/", "/api/jobs/$JOB/", "-X PATCH",
                   "-X DELETE \"$QUORUM/api/tokens/$ID/\"", "versions/v1/diff/v2/", "predictions/", "label=negative"):
        assert needed in code, needed
    assert expected_statuses('curl a \\\n  b   # demo: 400\ncurl c # yours\n') == ["400", "2xx"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}: {server.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)  # poll the condition; the deadline bounds the wait
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def _run(args, env, cwd=ROOT, timeout=600, input=None):
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input)
    assert done.returncode == 0, f"{args[:3]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readme")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "QUORUM_VAR_DIR": str(tmp / "var"),
           "MEDIA_ROOT": str(tmp / "media"), "CELERY_TASK_ALWAYS_EAGER": "True", "CELERY_BROKER_URL": "memory://",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "quorum.settings"}
    for key in ("SITE_URL", "QUORUM_ALLOW_URL_IMPORT"):
        env.pop(key, None)
    _run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env)
    _run([PYTHON, "manage.py", "load_demo"], env)
    token = _run([PYTHON, "manage.py", "create_token", "manager", "readme"], env).strip()
    port = _free_port()
    proc = subprocess.Popen([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_port(port, proc)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "env": env, "tmp": tmp}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


CURL_WRAPPER = r'''set -euo pipefail
__count=0
curl() {
  local n expect code
  n=$(( $(cat "$README_COUNT") + 1 )); echo "$n" > "$README_COUNT"
  expect=$(sed -n "${n}p" "$README_EXPECT")
  command curl -sS -D "$README_HEADERS" "$@"
  code=$(grep -E '^HTTP/' "$README_HEADERS" | tail -n 1 | awk '{print $2}')
  if [ "$expect" = "2xx" ]; then case "$code" in 2??) return 0 ;; esac
  elif [ "$code" = "$expect" ]; then return 0; fi
  echo "README curl call $n answered $code, expected $expect: curl $*" >&2
  return 1
}
'''


def _localize(code: str, server) -> str:
    code = code.replace(README_URL, server["url"]).replace(TOKEN_PLACEHOLDER, server["token"])
    return code.replace("python manage.py", f"{PYTHON} {ROOT / 'manage.py'}")


def test_every_readme_example_runs_against_the_demo(server, tmp_path):
    examples = api_examples()
    assert [lang for lang, _ in examples].count("python") >= 1 and len(examples) >= 3
    env = {**server["env"], "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}",
           "README_COUNT": str(tmp_path / "count"), "README_EXPECT": str(tmp_path / "expect"),
           "README_HEADERS": str(tmp_path / "headers")}
    for n, (lang, code) in enumerate(examples):
        code = _localize(code, server)
        if lang == "python":
            out = _run([PYTHON, "-"], env, cwd=tmp_path, input=code, timeout=300)
            assert "predictions stored" in out or "final-labels" not in code
            continue
        (tmp_path / "count").write_text("0")
        (tmp_path / "expect").write_text("\n".join(expected_statuses(code)) + "\n")
        script = tmp_path / f"example{n}.sh"
        script.write_text(CURL_WRAPPER + code)
        _run(["bash", str(script)], env, cwd=tmp_path, timeout=300)
        calls = int((tmp_path / "count").read_text())
        assert calls == len(expected_statuses(code)), "every curl call of the example ran"
    # What the examples did is really there: the CI token revoked, the pulled version split, the CSV written.
    assert (tmp_path / "reviews-v1" / "train.jsonl").exists()
    assert (tmp_path / "reviews.csv").read_text().startswith("id,data,final_label")
    first = (tmp_path / "digits.jsonl").read_text().splitlines()[0]
    assert f'"data": "{server["url"]}/items/' in first  # the link points at this server's port
