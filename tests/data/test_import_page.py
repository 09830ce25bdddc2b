"""The import page and the job page show an import's result: counts, notes, skipped files with reasons and
duplicates with conflicting labels."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import Job
from tests.data.import_paths import photo, zipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamp(people):
    from core.services import project_create

    return project_create(name="Lamp", kind="image", labels=["red", "green", "off"], owner=people["manager"])


def test_the_result_of_an_archive_import_is_shown_with_its_skipped_files_and_conflicts(
        client, lamp, people, django_capture_on_commit_callbacks):
    same = photo(1)
    data = zipped({"images/red/a.jpg": same, "images/green/a_copy.jpg": same, "images/off/b.jpg": photo(2),
                   "images/off/broken.jpg": b"\xff\xd8\xff\xe0 cut short"})
    client.force_login(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("data:import", args=[lamp.pk]),
                               {"file": SimpleUploadedFile("photos.zip", data)})
    job = Job.objects.get(project=lamp, kind="import")
    assert response.status_code == 302 and job.state == "succeeded", job.error
    for page in (client.get(response["Location"]), client.get(reverse("data:import", args=[lamp.pk]))):
        html = page.content.decode()
        assert "<strong>2</strong> new items · <strong>1</strong> duplicate\n" in html
        assert "Everything is inside one folder, &#x27;images/&#x27;: its sub-folders were used as labels." in html
        assert "<td><code>photos.zip/images/off/broken.jpg</code></td><td>not a readable image" in html
        assert "1 item arrived as exact copies with different labels: flagged for review" in html
        assert "red ×1, green ×1" in html
        copied = job.result["duplicate_rows"][0]["item"]
        assert "1 row added no item: its content was already there" in html
        assert (f"<td><code>photos.zip/images/green/a_copy.jpg</code></td><td><a href=\"/items/{copied}/\">item "
                f"{copied}</a>") in html


def test_strict_is_offered_and_refuses_the_archive(client, lamp, people, django_capture_on_commit_callbacks):
    client.force_login(people["manager"])
    data = zipped({"red/a.jpg": photo(1), "red/broken.jpg": b"nope"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("data:import", args=[lamp.pk]),
                    {"file": SimpleUploadedFile("photos.zip", data), "strict": "on"})
    job = Job.objects.get(project=lamp, kind="import")
    assert job.state == "failed" and "photos.zip/red/broken.jpg: not a readable image" in job.error
    assert not lamp.items.exists()


def test_a_json_array_file_imports_from_the_page_and_its_problems_name_the_record(
        client, text_project, people, django_capture_on_commit_callbacks):
    from core.models import Item

    client.force_login(people["manager"])
    records = (b'[\n  {"text": "battery died", "label": "negative", "shop": "A"},\n'
               b'  {"text": "works fine", "label": "positive"},\n  {"text": "no label yet"}\n]\n')
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("data:import", args=[text_project.pk]),
                               {"file": SimpleUploadedFile("export.json", b"\xef\xbb\xbf" + records)})
    job = Job.objects.get(project=text_project, kind="import")
    assert response.status_code == 302 and job.state == "succeeded", job.error
    item = Item.objects.get(text="battery died")
    assert (item.final_label.name, item.metadata, item.source_name) == ("negative", {"shop": "A"}, "export.json:1")
    assert Item.objects.filter(project=text_project).count() == 3

    def refused(name, data):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("data:import", args=[text_project.pk]), {"file": SimpleUploadedFile(name, data)})
        return Job.objects.filter(project=text_project, kind="import").latest("id").error

    # a problem names the record (its place in the array), not a line of the file
    assert ("bad.json, record 2: missing the 'text' field" in refused("bad.json", b'[{"text": "a"}, {"txt": "b"}]')
            and Item.objects.filter(project=text_project).count() == 3)
    assert "broken.json, line 2, column 1: not valid JSON" in refused("broken.json", b'[{"text": "a"},\n]')
    assert "one.json: a .json file must hold one array of records" in refused("one.json", b'{"text": "a"}')
