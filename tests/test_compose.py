"""docker-compose.yml: the services exist and their commands name real modules, apps and commands."""
import importlib
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _words(command) -> list[str]:
    return command if isinstance(command, list) else shlex.split(command)


def test_the_five_services_exist_with_the_production_environment():
    services = _compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= set(env)
        assert env["QUORUM_PRODUCTION"] == "True"
        assert "postgres" in services[name]["depends_on"] and "redis" in services[name]["depends_on"]
        assert str(env["SECRET_KEY"]).startswith("${SECRET_KEY")  # taken from the environment, never in the file


def test_web_serves_the_real_wsgi_module_and_runs_real_management_commands():
    from django.core.management import get_commands

    command = " ".join(_words(_compose()["services"]["web"]["command"]))
    assert "gunicorn quorum.wsgi" in command
    module = importlib.import_module("quorum.wsgi")
    assert callable(module.application)
    for name in ("migrate", "resend_jobs"):
        assert f"manage.py {name}" in command and name in get_commands()


def test_worker_and_beat_run_the_real_celery_app_and_beat_has_a_schedule():
    from django.conf import settings

    services = _compose()["services"]
    for name, sub in (("worker", "worker"), ("beat", "beat")):
        words = _words(services[name]["command"])
        assert words[:4] == ["celery", "-A", "quorum", sub]
    from quorum.celery import app

    assert app.main == "quorum"
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled and scheduled <= set(app.tasks)


def test_the_dockerfile_builds_the_packages_the_compose_file_runs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("quorum", "labeling", "review", "api", "ml", "templates", "static"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "build: ." in (ROOT / "docker-compose.yml").read_text()
