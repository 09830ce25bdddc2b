"""Real Celery workers for the fault tests: a Redis check, the live test database's URL, start and wait."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def redis_client(url: str):
    """A client for ``url``; skips the test when Redis is not running (``.ci/run`` starts it)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return client


def database_url() -> str:
    """The URL of the test database this process uses, so a worker subprocess writes to the same one."""
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(queue: str, *, broker: str, name: str, pool: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A ``celery worker`` on ``queue`` against the test database; ``env`` adds to the environment."""
    full_env = dict(os.environ, DATABASE_URL=database_url(), CELERY_BROKER_URL=broker,
                    CELERY_TASK_ALWAYS_EAGER="False", LOG_LEVEL="WARNING", **env)
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "quorum", "worker", *pool, "-Q", queue,
                             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
                             "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"],
                            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False
