"""`manage.py check --deploy` reports nothing with exactly the production settings the README documents:
the environment of docker-compose.yml (its defaults) plus the `.env` block of the README's production section."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _readme_env() -> dict:
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Running in production"):]
    block = re.search(r"```env\n(.*?)```", production, re.S)
    assert block, "the README's production section must show its settings in an ```env block"
    env = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def _compose_env(given: dict) -> dict:
    """The web service's environment as docker compose resolves it with ``given`` as the shell environment."""
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["environment"]

    def resolve(value: str) -> str:
        def one(match):
            name, op, default = match.group(1), match.group(2), match.group(3) or ""
            if name in given:
                return given[name]
            assert op != ":?", f"docker compose refuses to start without {name}"
            return default

        return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, str(value))

    return {name: resolve(value) for name, value in raw.items()}


def documented_production_env() -> dict:
    given = _readme_env()
    assert given.get("SECRET_KEY", "").startswith("<"), "the README shows a placeholder, never a key"
    given["SECRET_KEY"] = secrets.token_urlsafe(50)
    return {**_compose_env(given), **given}


def test_check_deploy_reports_nothing_with_the_documented_production_settings():
    """Nothing at all: no security warning and no drf-spectacular schema warning (W001/W002), none silenced."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **documented_production_env()}
    assert env["QUORUM_PRODUCTION"] == "True"
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced).", done.stdout + done.stderr
    assert "W0" not in done.stderr, done.stderr
