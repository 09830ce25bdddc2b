"""The one-pass import (parse in a thread while COPY writes) is all or nothing and reports like import_rows."""
import io
import threading

import pytest
from django.db import connection

from core.models import Item, LabelEvent
from data import one_pass, validate
from data.parse import parse_upload
from data.write import import_rows
from quorum.lib.errors import ImportErrors

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(one_pass, "BATCH", 3)


def _jsonl(lines: list[str]) -> io.BytesIO:
    return io.BytesIO("".join(line + "\n" for line in lines).encode())


def test_a_bad_row_after_batches_were_written_leaves_nothing_behind(text_project, small_batches):
    lines = [f'{{"text": "item {n}", "label": "positive"}}' for n in range(10)] + ["not json"]
    with pytest.raises(ImportErrors) as caught:
        one_pass.import_text(project=text_project, name="big.jsonl", stream=_jsonl(lines))
    assert [(e.file, e.line, e.reason) for e in caught.value.errors] == [
        ("big.jsonl", 11, "not valid JSON (Expecting value)")]
    assert not Item.objects.filter(project=text_project).exists()
    assert not LabelEvent.objects.filter(project=text_project).exists()


def test_every_bad_row_is_reported_not_only_the_first(text_project, small_batches):
    lines = ['{"text": "a"}', '{"label": "positive"}', '{"text": "b"}', '{"text": "c"}', '{"text": 5}']
    with pytest.raises(ImportErrors) as caught:
        one_pass.import_text(project=text_project, name="x.jsonl", stream=_jsonl(lines))
    assert [e.line for e in caught.value.errors] == [2, 5]
    assert not Item.objects.filter(project=text_project).exists()


def test_an_unknown_label_is_refused_with_its_line(text_project, small_batches):
    lines = ['{"text": "a", "label": "positive"}'] * 1 + ['{"text": "b"}', '{"text": "c"}', '{"text": "d", "label": "meh"}']
    with pytest.raises(ImportErrors, match="label 'meh' is not in this project's labels") as caught:
        one_pass.import_text(project=text_project, name="x.jsonl", stream=_jsonl(lines))
    assert [e.line for e in caught.value.errors] == [4]
    assert not Item.objects.filter(project=text_project).exists()


def test_duplicates_across_batches_and_already_in_the_project_are_skipped(text_project, small_batches):
    one_pass.import_text(project=text_project, name="first.jsonl", stream=_jsonl(['{"text": "old"}']))
    lines = ['{"text": "a"}', '{"text": "old"}', '{"text": "b", "label": "negative"}', '{"text": "a"}',
             '{"text": "c"}', '{"text": "b"}', '{"text": "old"}']
    result = one_pass.import_text(project=text_project, name="x.jsonl", stream=_jsonl(lines))
    assert (result.created, result.duplicates) == (3, 4)
    assert sorted(Item.objects.filter(project=text_project).values_list("text", flat=True)) == ["a", "b", "c", "old"]
    event = LabelEvent.objects.get(project=text_project)
    assert (event.item.text, event.to_label.name, event.cause) == ("b", "negative", "import")


def test_it_writes_the_same_items_as_parse_then_write(text_project, small_batches):
    data = (b'text,label,shop\n"tab\there",positive,A\n"new\nline",,B\n"back\\\\slash",negative,\n'
            b'plain,,C\n')
    one_pass.import_text(project=text_project, name="x.csv", stream=io.BytesIO(data))
    fields = ("text", "source_name", "metadata", "content_hash", "given_label__name", "final_label__name",
              "final_source", "needed", "annotation_count", "excluded", "ambiguous", "is_gold")
    got = sorted(Item.objects.filter(project=text_project).values_list(*fields))
    Item.objects.filter(project=text_project).delete()
    rows, errors = parse_upload("x.csv", io.BytesIO(data))
    import_rows(project=text_project, rows=rows, errors=errors, name="x.csv")
    assert got == sorted(Item.objects.filter(project=text_project).values_list(*fields))
    assert len(got) == 4


def test_a_failing_stream_is_reported_and_the_parser_thread_ends(text_project, small_batches):
    class Broken(io.BytesIO):
        def __iter__(self):
            yield b'{"text": "a"}\n'
            raise OSError("connection reset while reading the upload")

    before = threading.active_count()
    with pytest.raises(OSError, match="connection reset"):
        one_pass.import_text(project=text_project, name="x.jsonl", stream=Broken())
    assert threading.active_count() == before
    assert not Item.objects.filter(project=text_project).exists()


@pytest.mark.pg_only  # elsewhere parse-then-write reports every problem, as it always has
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-pass import runs on PostgreSQL")
def test_a_file_of_many_bad_lines_keeps_the_first_problems_and_counts_the_rest(text_project, small_batches,
                                                                               monkeypatch):
    monkeypatch.setattr(validate, "MAX_ERRORS_KEPT", 4)
    with pytest.raises(ImportErrors) as caught:
        one_pass.import_text(project=text_project, name="x.jsonl", stream=_jsonl(["nope"] * 10))
    errors = caught.value.errors
    assert [e.line for e in errors] == [1, 2, 3, 4, None]
    assert errors[-1].reason == "6 more problems not listed; fix the ones above and try again"


def test_progress_is_reported_per_batch(text_project, small_batches):
    seen = []
    one_pass.import_text(project=text_project, name="x.jsonl", stream=_jsonl([f'{{"text": "{n}"}}' for n in range(7)]),
                         on_progress=seen.append)
    # Batches of 3 (small_batches), the first ones smaller so the database starts early: 1, 2, 3, then the rest.
    assert seen == [1, 3, 6, 7] if one_pass.available(text_project, "x.jsonl") else seen == []


def test_bounded_memory_still_finds_duplicates_across_batches(text_project, small_batches):
    lines = ['{"text": "a"}', '{"text": "b"}', '{"text": "c"}', '{"text": "a"}', '{"text": "d"}', '{"text": "b"}',
             '{"text": "d"}']
    result = one_pass.import_text(project=text_project, name="x.jsonl", stream=_jsonl(lines), bounded_memory=True)
    assert (result.created, result.duplicates) == (4, 3)
    assert Item.objects.filter(project=text_project).count() == 4
