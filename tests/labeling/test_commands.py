"""Management commands: import_items, create_token, load_demo."""
import io

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiToken, hash_token
from core.models import Item, Job, Project

pytestmark = pytest.mark.django_db


def test_import_items_reports_counts_and_refuses_bad_files(text_project, tmp_path):
    good = tmp_path / "r.csv"
    good.write_text("text,label\nnice,positive\nnice,\nbad,\n")
    out = io.StringIO()
    call_command("import_items", text_project.pk, str(good), stdout=out)
    assert "Imported 2 items into 'Reviews'; skipped 1 duplicates." in out.getvalue()
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"text": 1}\n')
    with pytest.raises(CommandError, match="b.jsonl, line 1: 'text' must be a string"):
        call_command("import_items", text_project.pk, str(bad), stdout=io.StringIO())
    assert Item.objects.count() == 2


def test_create_token_prints_a_token_stored_only_as_hash(people):
    out = io.StringIO()
    call_command("create_token", "manager", "laptop", stdout=out)
    token = out.getvalue().strip()
    row = ApiToken.objects.get()
    assert row.digest == hash_token(token) and token not in (row.digest, row.hint)


def test_load_demo_builds_the_digits_project_once_with_noisy_given_labels(client):
    out = io.StringIO()
    call_command("load_demo", "--given", "100", stdout=out)
    call_command("load_demo", stdout=out)
    project = Project.objects.get(kind=Project.Kind.IMAGE)
    assert project.items.count() == 1797
    assert project.items.filter(given_label__isnull=False).count() == 100
    assert "Demo logins (password 'quorum-demo')" in out.getvalue()
    assert "already loaded" in out.getvalue()
    keys = dict(project.labels.values_list("name", "key"))
    assert keys["0"] == "0" and keys["1"] == "1"
    # The small text demo the README's examples use: loaded once too, with a first frozen version.
    reviews = Project.objects.get(kind=Project.Kind.TEXT)
    assert (reviews.items.count(), reviews.items.filter(given_label__isnull=False).count()) == (90, 45)
    assert list(reviews.labels.values_list("name", flat=True)) == ["positive", "negative", "neutral"]
    assert reviews.items.filter(final_label__name="negative", metadata__time="night").exists()
    assert reviews.dataset_versions.get().name == "v1" and Project.objects.count() == 2
    # each demo import is listed on its project's import page, like an upload, and only once
    imports = {p.name: list(Job.objects.filter(project=p, kind="import").values_list("state", "params"))
               for p in (project, reviews)}
    assert imports == {project.name: [("succeeded", {"name": "digits.zip"})],
                       reviews.name: [("succeeded", {"name": "reviews.json"})]}
    client.force_login(project.memberships.get(role="manager").user)
    page = client.get(f"/projects/{project.pk}/import/").content.decode()
    assert '<code class="small job-file">digits.zip</code>' in page and "None yet" not in page
