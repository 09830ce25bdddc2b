"""Hypothesis fuzzes the importers: only QuorumError ever escapes, and a refused import writes nothing."""
import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Item, Label, LabelEvent
from data.parse import parse_upload
from data.write import import_rows, import_text_file
from quorum.lib.errors import QuorumError

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
                   st.lists(st.integers(), max_size=3))
records = st.dictionaries(
    st.sampled_from(["text", "label", "note", "", "id", "\ufeff"]) | st.text(max_size=8),
    st.one_of(values, st.sampled_from(["positive", "negative", "sarcastic", ""])), max_size=5)


def jsonl_bytes():
    line = st.one_of(records.map(lambda r: json.dumps(r).encode()), st.binary(max_size=40),
                     st.just(b"[1, 2]"), st.just(b'{"text": "x"'), st.just(b""))
    return st.lists(line, max_size=8).map(lambda lines: b"\n".join(lines))


def csv_bytes():
    def build(rows, header):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
        return out.getvalue().encode()

    cell = st.text(max_size=20)
    return st.one_of(
        st.builds(build, st.lists(st.lists(cell, max_size=4), max_size=8),
                  st.sampled_from([["text"], ["text", "label"], ["label"], ["text", "label", "x"], []])),
        st.binary(max_size=80))


def _snapshot(project):
    return (Item.objects.filter(project=project).count(), Label.objects.filter(project=project).count(),
            LabelEvent.objects.filter(project=project).count())


def _check(project, run):
    before = _snapshot(project)
    try:
        result = run()
    except QuorumError:
        assert _snapshot(project) == before  # refused: nothing written, no label created
        return
    after = _snapshot(project)
    assert after[0] == before[0] + result.created


@FUZZ
@given(data=jsonl_bytes() | csv_bytes(), suffix=st.sampled_from([".jsonl", ".csv"]))
def test_in_memory_import_never_crashes_nor_writes_half(text_project, data, suffix):
    def run():
        rows, errors = parse_upload("f" + suffix, io.BytesIO(data))
        return import_rows(project=text_project, rows=rows, errors=errors, name="f" + suffix)

    _check(text_project, run)


@FUZZ
@given(data=jsonl_bytes() | csv_bytes(), suffix=st.sampled_from([".jsonl", ".csv"]))
def test_streaming_import_never_crashes_nor_writes_half(text_project, data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("f" + suffix)
        path.write_bytes(data)
        _check(text_project, lambda: import_text_file(project=text_project, path=path, name="f" + suffix))


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_as_a_zip_are_refused_cleanly(image_project, data):
    def run():
        rows, errors = parse_upload("f.zip", io.BytesIO(b"PK\x03\x04" + data))
        return import_rows(project=image_project, rows=rows, errors=errors, name="f.zip")

    _check(image_project, run)
