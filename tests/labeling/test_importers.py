import io
import json

import pytest

from core.models import Item, LabelEvent
from data.parse import parse_csv, parse_jsonl, parse_upload, parse_zip
from data.write import import_rows
from quorum.lib.errors import ImportErrors, QuorumError
from tests.conftest import png_bytes
from tests.data.import_paths import zipped

pytestmark = pytest.mark.django_db


def _import(project, name, data: bytes):
    rows, errors = parse_upload(name, io.BytesIO(data))
    return import_rows(project=project, rows=rows, errors=errors, name=name)


def test_jsonl_import_keeps_other_fields_as_metadata_and_given_labels(text_project):
    data = b'{"text": "great", "label": "positive", "shop": "A"}\n{"text": "meh", "time": "night"}\n'
    result = _import(text_project, "r.jsonl", data)
    assert (result.created, result.duplicates) == (2, 0)
    great = Item.objects.get(text="great")
    assert great.metadata == {"shop": "A"}
    assert great.final_label.name == "positive" and great.final_source == "given"
    assert great.needed == 0  # a given label does not go to annotators unless asked
    assert Item.objects.get(text="meh").needed == 1
    assert LabelEvent.objects.filter(item=great, source="given", to_label__name="positive").count() == 1


def test_duplicates_in_file_and_project_are_skipped_and_counted(text_project):
    _import(text_project, "a.csv", b"text\nhello\n")
    result = _import(text_project, "b.csv", b"text,label\nhello,\nworld,\nworld,negative\n")
    assert (result.created, result.duplicates) == (1, 2)
    assert Item.objects.filter(project=text_project).count() == 2


def test_bad_rows_name_file_and_line_and_nothing_is_written(text_project):
    data = b'{"text": "ok"}\n{"text": 5}\nnot json\n{"label": "positive"}\n'
    with pytest.raises(ImportErrors) as exc:
        _import(text_project, "bad.jsonl", data)
    message = exc.value.message
    assert "bad.jsonl, line 2: 'text' must be a string" in message
    assert "bad.jsonl, line 3, column 1: not valid JSON (Expecting value)" in message
    assert "bad.jsonl, line 4: missing the 'text' field" in message
    assert Item.objects.count() == 0


def test_unknown_label_is_refused_with_the_known_labels(text_project):
    with pytest.raises(ImportErrors) as exc:
        _import(text_project, "x.csv", b"text,label\nfine,positive\nhmm,sarcastic\n")
    assert "x.csv, line 3, column 2: label 'sarcastic' is not in this project's labels (positive, negative, neutral)" in exc.value.message
    assert Item.objects.count() == 0


def test_csv_without_text_column_is_refused():
    rows, errors = parse_csv("c.csv", io.BytesIO(b"body,label\nx,y\n"))
    assert rows == [] and "header must have a 'text' column" in errors[0].message


def test_invalid_utf8_is_reported():
    _, errors = parse_jsonl("u.jsonl", io.BytesIO(b'{"text": "\xff"}\n'))
    assert "not valid UTF-8" in errors[0].message




def test_zip_class_folders_become_labels_for_a_project_without_labels(people):
    from core.services import project_create

    project = project_create(name="Pets", kind="image", labels=[], owner=people["manager"])
    data = zipped({"cat/1.png": png_bytes(10), "dog/2.png": png_bytes(200), "3.png": png_bytes(90)})
    result = _import(project, "pets.zip", data)
    assert result.created == 3 and result.labels_created == ["cat", "dog"]
    assert sorted(project.labels.values_list("name", flat=True)) == ["cat", "dog"]
    item = Item.objects.get(given_label__name="dog")
    assert item.image.name.endswith(".png") and item.image.storage.exists(item.image.name)


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png", "a/../../evil.png"])
def test_zip_slip_paths_are_refused(image_project, name):
    rows, errors = parse_zip("x.zip", io.BytesIO(zipped({name: png_bytes()})))
    assert rows == [] and "unsafe path" in errors[0].message


def test_svg_html_and_disguised_files_are_refused_as_images(image_project):
    data = zipped({"a.svg": b"<svg onload=alert(1)>", "b.png": b"<html><script>alert(1)</script>", "c.html": b"<b>"})
    with pytest.raises(ImportErrors) as exc:
        _import(image_project, "x.zip", data)
    msg = exc.value.message
    assert "x.zip/a.svg: '.svg' is not an image type" in msg
    assert "x.zip/b.png: not a readable image" in msg
    assert Item.objects.count() == 0


def test_zip_bomb_ratio_is_refused(image_project, settings):
    data = zipped({"big.png": b"\0" * 5_000_000})
    rows, errors = parse_zip("bomb.zip", io.BytesIO(data))
    assert rows == [] and "zip bomb" in errors[0].message


def test_images_over_the_pixel_limit_are_refused(image_project, settings):
    settings.QUORUM_MAX_IMAGE_PIXELS = 100
    rows, errors = parse_zip("x.zip", io.BytesIO(zipped({"0/a.png": png_bytes(size=20)})))
    assert rows == [] and "pixel limit" in errors[0].message


def test_text_file_into_image_project_is_refused_clearly(image_project):
    with pytest.raises(QuorumError, match="Image classification project; import images"):
        _import(image_project, "t.jsonl", json.dumps({"text": "x"}).encode())


@pytest.mark.parametrize("line", [r'{"text": "a\ud800b"}', r'{"text": "ok", "note": "\udc00"}',
                                  r'{"text": "ok \ud83d\ude00", "label": "\ud83d"}'])
def test_a_lone_surrogate_escape_in_jsonl_is_a_clear_problem_not_a_crash(line):
    column = line.rindex("\\") + 1  # the escape on its own (the pair before it in the last case is fine)
    rows, errors = parse_jsonl("s.jsonl", io.BytesIO(f'{{"text": "fine"}}\n{line}\n'.encode()))
    assert [r.text for r in rows] == ["fine"]
    assert [(e.line, e.column) for e in errors] == [(2, column)]
    assert "half of a UTF-16 surrogate pair" in errors[0].message and line[column - 1:column + 5] in errors[0].message


def test_a_surrogate_pair_is_one_character_and_imports():
    rows, errors = parse_jsonl("s.jsonl", io.BytesIO(rb'{"text": "smile \ud83d\ude00", "n": "nan"}' + b"\n"))
    assert not errors and rows[0].text == "smile \U0001F600"
