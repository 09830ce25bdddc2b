"""Image archives and folders: every readable image is imported and the others listed (contract 2), strict keeps
all-or-nothing, a wrapping folder is seen through, a manifest gives labels and metadata (contract 3), and a
damaged zip fails its job with a clear message."""
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from core.models import Item, Job, LabelEvent
from data.imports import start_import
from data.parse import parse_archive
from data.write import import_rows
from quorum.lib.errors import ImportErrors
from tests.data.import_paths import photo, zipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamp(people):
    from core.services import project_create

    return project_create(name="Lamp", kind="image", labels=["red", "green", "off"], owner=people["manager"])


def run_import(project, user, name, data, capture, **kwargs) -> Job:
    with capture(execute=True):
        job = start_import(project=project, uploaded=SimpleUploadedFile(name, data), user=user, **kwargs)
    job.refresh_from_db()
    return job


def broken_files() -> dict[str, bytes]:
    good = photo(9)
    return {"red/truncated.jpg": good[: len(good) // 3],  # a transfer cut short
            "green/notes.txt": b"taken on the roof",
            "off/drawing.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>"}


def test_a_lenient_import_keeps_every_readable_image_and_lists_the_others(lamp, people, django_capture_on_commit_callbacks):
    good = {f"{label}/img_{i}.jpg": photo(i * 3 + k) for k, label in enumerate(["red", "green", "off"]) for i in range(4)}
    job = run_import(lamp, people["manager"], "photos.zip", zipped({**good, **broken_files()}),
                     django_capture_on_commit_callbacks)
    assert job.state == "succeeded", job.error
    assert Item.objects.filter(project=lamp).count() == 12
    assert job.result["skipped_count"] == 3
    assert sorted(job.result["skipped"], key=lambda s: s["file"]) == [
        {"file": "photos.zip/green/notes.txt", "reason": "'.txt' is not an image type"},
        {"file": "photos.zip/off/drawing.svg", "reason": "'.svg' is not an image type"},
        {"file": "photos.zip/red/truncated.jpg", "reason": "not a readable image (PNG, JPEG, GIF, WebP, BMP or TIFF)"}]
    assert job.message == "Imported 12 items; skipped 0 duplicates; skipped 3 unreadable files."


def test_strict_refuses_the_whole_archive_and_names_every_bad_file(lamp, people, django_capture_on_commit_callbacks):
    job = run_import(lamp, people["manager"], "photos.zip", zipped({"red/a.jpg": photo(1), **broken_files()}),
                     django_capture_on_commit_callbacks, strict=True)
    assert job.state == "failed"
    assert job.error.splitlines() == [
        "Nothing was imported: 3 problems found.",
        "photos.zip/red/truncated.jpg: not a readable image (PNG, JPEG, GIF, WebP, BMP or TIFF)",
        "photos.zip/green/notes.txt: '.txt' is not an image type",
        "photos.zip/off/drawing.svg: '.svg' is not an image type"]
    assert not Item.objects.filter(project=lamp).exists()


def test_a_single_wrapping_folder_is_seen_through_and_noted(lamp):
    parsed = parse_archive("photos.zip", io.BytesIO(zipped({
        "images/red/a.jpg": photo(1), "images/green/b.jpg": photo(2), "images/c.jpg": photo(3)})))
    result = import_rows(project=lamp, rows=parsed.rows, errors=parsed.errors, name="photos.zip", notes=parsed.notes)
    labels = dict(Item.objects.filter(project=lamp).values_list("source_name", "given_label__name"))
    assert labels == {"photos.zip/images/red/a.jpg": "red", "photos.zip/images/green/b.jpg": "green",
                      "photos.zip/images/c.jpg": None}
    assert result.notes == ["Everything is inside one folder, 'images/': its sub-folders were used as labels."]
    assert not lamp.labels.filter(name="images").exists()


def test_a_wrapping_folder_with_its_manifest_and_flat_images_takes_the_manifest_labels(lamp):
    """``photos/manifest.csv`` beside ``photos/a.jpg``: the folder wraps, it is not a label."""
    parsed = parse_archive("photos.zip", io.BytesIO(zipped({
        "photos/manifest.csv": b"file,label,site\na.jpg,red,roof\nb.jpg,green,yard\n",
        "photos/a.jpg": photo(1), "photos/b.jpg": photo(2)})))
    assert parsed.errors == []
    result = import_rows(project=lamp, rows=parsed.rows, errors=parsed.errors, name="photos.zip", notes=parsed.notes)
    items = Item.objects.filter(project=lamp)
    assert dict(items.values_list("source_name", "given_label__name")) == {
        "photos.zip/photos/a.jpg": "red", "photos.zip/photos/b.jpg": "green"}
    assert items.get(source_name="photos.zip/photos/b.jpg").metadata == {"site": "yard"}
    assert "Everything is inside one folder, 'photos/': it was not used as a label." in result.notes
    assert not lamp.labels.filter(name="photos").exists()


def test_one_folder_of_images_without_a_manifest_is_that_label(lamp):
    parsed = parse_archive("red.zip", io.BytesIO(zipped({"red/a.jpg": photo(1), "red/b.jpg": photo(2)})))
    import_rows(project=lamp, rows=parsed.rows, errors=parsed.errors, name="red.zip", notes=parsed.notes)
    assert set(Item.objects.filter(project=lamp).values_list("given_label__name", flat=True)) == {"red"}


def test_a_jpeg_missing_only_its_last_bytes_is_listed_as_damaged_not_imported(lamp):
    """Its headers are intact, so a header check passes it; decoding the pixels does not."""
    good = photo(5)
    parsed = parse_archive("cut.zip", io.BytesIO(zipped({"red/whole.jpg": good, "red/cut.jpg": good[:-40]})))
    assert [r.source_name for r in parsed.rows] == ["cut.zip/red/whole.jpg"]
    [problem] = parsed.errors
    assert str(problem).startswith("cut.zip/red/cut.jpg: the JPEG data is cut short or damaged: it could not be decoded")


MANIFEST = (b"file,label,time_of_day,camera\n"
            b"red/a.jpg,,night,cam-2\n"              # label from the folder
            b"b.jpg,green,day,cam-1\n"               # label from the manifest
            b"missing.jpg,off,day,cam-1\n")          # listed but not in the archive


def test_a_manifest_in_the_archive_gives_labels_and_metadata(lamp, people, django_capture_on_commit_callbacks):
    data = zipped({"manifest.csv": MANIFEST, "red/a.jpg": photo(1), "b.jpg": photo(2), "c.jpg": photo(3)})
    job = run_import(lamp, people["manager"], "site.zip", data, django_capture_on_commit_callbacks)
    assert job.state == "succeeded", job.error
    items = {i.source_name: i for i in Item.objects.filter(project=lamp).select_related("given_label")}
    a, b, c = items["site.zip/red/a.jpg"], items["site.zip/b.jpg"], items["site.zip/c.jpg"]
    assert (a.given_label.name, a.metadata) == ("red", {"time_of_day": "night", "camera": "cam-2"})
    assert (b.given_label.name, b.metadata) == ("green", {"time_of_day": "day", "camera": "cam-1"})
    assert (c.given_label, c.metadata) == (None, {})
    assert job.result["skipped"] == [{"file": "site.zip/manifest.csv",
                                      "reason": "'missing.jpg' is listed but is not in the archive"}]
    assert "Labels and metadata were read from the manifest manifest.csv." in job.result["notes"]
    # the metadata filter the item list uses works on images as on text
    assert list(Item.objects.filter(project=lamp, metadata__time_of_day="night")) == [a]


def test_a_manifest_problem_refuses_the_import_with_the_manifest_line_and_column(lamp):
    manifest = (b'{"file": "red/a.jpg", "label": "blue"}\n{"file": "green/b.jpg", "label": "red", "site": "roof"}\n'
                b'{"file": "green/b.jpg"}\n')
    data = zipped({"shots/labels.jsonl": manifest, "shots/red/a.jpg": photo(1), "shots/green/b.jpg": photo(2),
                   "shots/green/x.jpg": photo(3)})
    parsed = parse_archive("site.zip", io.BytesIO(data))
    with pytest.raises(ImportErrors) as caught:
        import_rows(project=lamp, rows=parsed.rows, errors=parsed.errors, name="site.zip")
    assert [e.message for e in caught.value.errors] == [
        "site.zip/shots/labels.jsonl, line 1: label 'blue' is not in this project's labels (red, green, off); add it "
        "to the project or fix the row",
        "site.zip/shots/labels.jsonl, line 3: 'green/b.jpg' is listed twice (first on line 2)"]
    assert not Item.objects.filter(project=lamp).exists()


def test_an_unknown_label_in_a_manifest_names_the_manifest_line_and_column(lamp):
    data = zipped({"manifest.csv": b"file,label\na.jpg,blue\n", "a.jpg": photo(1)})
    parsed = parse_archive("site.zip", io.BytesIO(data))
    with pytest.raises(ImportErrors) as caught:
        import_rows(project=lamp, rows=parsed.rows, errors=parsed.errors, name="site.zip")
    assert caught.value.errors[0].message == (
        "site.zip/manifest.csv, line 2, column 2: label 'blue' is not in this project's labels (red, green, off); "
        "add it to the project or fix the row")


def test_a_folder_import_reads_a_manifest_next_to_the_folder(lamp, tmp_path):
    folder = tmp_path / "roof"
    (folder / "red").mkdir(parents=True)
    (folder / "red" / "a.jpg").write_bytes(photo(1))
    (folder / "b.jpg").write_bytes(photo(2))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    (tmp_path / "roof.csv").write_text("file,label,time_of_day\nb.jpg,off,night\n")
    out = io.StringIO()
    call_command("import_items", str(lamp.pk), str(folder), stdout=out)
    b = Item.objects.get(project=lamp, given_label__name="off")
    assert b.metadata == {"time_of_day": "night"}
    assert Item.objects.filter(project=lamp).count() == 2
    assert "Skipped roof/broken.jpg: not a readable image" in out.getvalue()
    assert b.source_name == "roof/b.jpg"
    assert "Imported 2 items into 'Lamp'; skipped 0 duplicates; skipped 1 unreadable files." in out.getvalue()


def bad_crc_zip() -> bytes:
    """A stored (uncompressed) zip with one byte of one image flipped: its CRC no longer matches."""
    first, second = photo(1), photo(2)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("red/a.jpg", first)
        zf.writestr("green/b.jpg", second)
    data = bytearray(buf.getvalue())
    at = data.find(second) + len(second) // 2
    data[at] ^= 0xFF
    return bytes(data)


def test_a_zip_with_a_bad_crc_fails_its_job_with_a_clear_message(lamp, people, django_capture_on_commit_callbacks):
    job = run_import(lamp, people["manager"], "photos.zip", bad_crc_zip(), django_capture_on_commit_callbacks)
    assert job.state == "failed" and job.finished_at is not None
    assert job.error == ("photos.zip is damaged: green/b.jpg cannot be read (Bad CRC-32 for file 'green/b.jpg'). "
                         "Nothing was imported; make the archive again (or check it with 'unzip -t') and upload it again.")
    assert not Item.objects.filter(project=lamp).exists()
    assert not LabelEvent.objects.filter(project=lamp).exists()


def test_a_realistic_archive_with_every_confounder_at_once(lamp, people, django_capture_on_commit_callbacks):
    """150 photos in one wrapping folder, a third at night (manifest metadata), a rare class, two byte-identical
    copies (one with another label), one truncated file: everything readable is imported, nothing is lost."""
    entries, lines = {}, ["file,time_of_day,camera"]
    for i in range(150):
        label = "off" if i % 30 == 0 else ("red" if i % 2 else "green")
        path = f"{label}/img_{i:03d}.jpg"
        entries[f"dataset/{path}"] = photo(100 + i)
        lines.append(f"{path},{'night' if i % 3 == 0 else 'day'},cam-{i % 4}")
    entries["dataset/red/copy_of_001.jpg"] = entries["dataset/red/img_001.jpg"]  # same label
    entries["dataset/green/copy_of_003.jpg"] = entries["dataset/red/img_003.jpg"]  # another label
    entries["dataset/red/img_150.jpg"] = photo(999)[:200]  # cut short
    entries["dataset/manifest.csv"] = ("\n".join(lines) + "\n").encode()
    job = run_import(lamp, people["manager"], "lamp.zip", zipped(entries), django_capture_on_commit_callbacks)
    assert job.state == "succeeded", job.error
    r = job.result
    assert (r["created"], r["duplicates"], r["skipped_count"], r["conflicting_duplicates"]) == (150, 2, 1, 1)
    assert r["skipped"] == [{"file": "lamp.zip/dataset/red/img_150.jpg",
                             "reason": "not a readable image (PNG, JPEG, GIF, WebP, BMP or TIFF)"}]
    items = Item.objects.filter(project=lamp)
    assert items.filter(metadata__time_of_day="night").count() == 50
    assert items.filter(given_label__name="off").count() == 5
    assert not lamp.labels.filter(name="dataset").exists()
    conflicted = items.get(source_name="lamp.zip/dataset/red/img_003.jpg")
    assert sorted(conflicted.events.filter(source="given").values_list("to_label__name", flat=True)) == ["green", "red"]


def test_a_first_image_import_refuses_folders_that_name_one_class_two_ways(people):
    from core.services import project_create

    project = project_create(name="New", kind="image", labels=[], owner=people["manager"])
    parsed = parse_archive("cats.zip", io.BytesIO(zipped({"Cat/a.jpg": photo(1), "cat/b.jpg": photo(2),
                                                          "dog/c.jpg": photo(3)})))
    with pytest.raises(ImportErrors) as caught:
        import_rows(project=project, rows=parsed.rows, errors=parsed.errors, name="cats.zip")
    [problem] = caught.value.errors
    assert problem.message == (
        "cats.zip/cat/b.jpg: labels 'Cat' (cats.zip/Cat/a.jpg), 'cat' (cats.zip/cat/b.jpg) differ only in capitals or "
        "spaces, and a first import would make each a class of its own; use one spelling, or create the project's "
        "labels first")
    assert not project.labels.exists() and not Item.objects.filter(project=project).exists()
