"""The database down: a clear 503 page or API error, no stack trace; the next request works again."""
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "quorum.settings"
import django
django.setup()
from django.test import Client
c = Client(raise_request_exception=False)
c.cookies["sessionid"] = "x" * 32
out = {}
for path in ("/", "/projects/1/label/", "/api/projects/"):
    r = c.get(path)
    out[path] = {"status": r.status_code, "body": r.content.decode(), "type": r["Content-Type"],
                 "retry": r.get("Retry-After")}
print(json.dumps(out))
"""


def test_an_unreachable_database_gives_a_503_page_and_an_api_error_without_a_stack_trace():
    env = dict(os.environ, DATABASE_URL="postgres://postgres@127.0.0.1:1/quorum_nowhere", DEBUG="False",
               LOG_LEVEL="CRITICAL")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for path in ("/", "/projects/1/label/"):
        assert out[path]["status"] == 503 and out[path]["retry"] == "30"
        assert "database cannot be reached" in out[path]["body"]
        assert "Traceback" not in out[path]["body"] and "OperationalError" not in out[path]["body"]
    api = out["/api/projects/"]
    assert api["status"] == 503 and api["type"] == "application/json"
    assert json.loads(api["body"])["error"]["code"] == "database_unavailable"


@pytest.mark.django_db
def test_the_app_recovers_by_itself_when_the_database_comes_back(text_project, people):
    client = Client(raise_request_exception=False)
    client.force_login(people["alice"])
    url = reverse("projects:project", args=[text_project.pk])
    with mock.patch("core.access.Membership.objects.select_related", side_effect=OperationalError("gone")):
        down = client.get(url)
    assert down.status_code == 503 and b"briefly unavailable" in down.content
    assert client.get(url).status_code == 200
