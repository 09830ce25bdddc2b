"""The pull_version command downloads a version over HTTP, splits it and checks its content hash."""
import json

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiToken
from data.datasets import version_create
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db(transaction=True)


def test_pull_version_writes_splits_and_verifies_the_hash(live_server, people, text_project, tmp_path):
    add_texts(text_project, [f"text {n}" for n in range(30)], labels=["positive", "negative", "neutral"] * 10)
    version = version_create(project=text_project, name="v1", user=people["manager"])
    _, token = ApiToken.issue(user=people["reviewer"], name="pull")
    call_command("pull_version", text_project.pk, "v1", str(tmp_path / "v1"), url=live_server.url, token=token)
    meta = json.loads((tmp_path / "v1" / "version.json").read_text())
    assert meta["content_hash"] == version.content_hash
    counts = {s: len((tmp_path / "v1" / f"{s}.jsonl").read_text().splitlines()) for s in ("train", "validation", "test")}
    assert counts == version.split_counts and sum(counts.values()) == 30
    assert len((tmp_path / "v1" / "all.jsonl").read_text().splitlines()) == 30


def test_pull_version_reports_a_clear_error(live_server, people, text_project, tmp_path):
    _, token = ApiToken.issue(user=people["outsider"], name="pull")
    with pytest.raises(CommandError, match="failed \\(404\\): No such project"):
        call_command("pull_version", text_project.pk, "v1", str(tmp_path), url=live_server.url, token=token)
    with pytest.raises(CommandError, match="No API token"):
        call_command("pull_version", text_project.pk, "v1", str(tmp_path), url=live_server.url, token="")
