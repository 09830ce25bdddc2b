"""The import's fast paths (issue 18) give exactly what the field-by-field paths give: the same rows, the same
COPY text, the same problems."""
import gc
import io
import json

import pytest
from django.db import connection
from django.utils import timezone

from core.models import Item, LabelEvent
from data import copy_insert, one_pass, parse
from data.parse import Row
from quorum.lib.errors import ImportErrors

RECORDS = [
    {"text": "plain"},
    {"text": "with label", "label": "  positive "},
    {"text": "blank label", "label": "   "},
    {"text": "nul \x00 inside", "shop": "a"},
    {"text": "meta", "n": 3, "x": 1.5, "ok": True, "none": None, "s": "tab\there"},
    {"text": "unicode é 漢字 \U0001f600", "k": "line\nbreak"},
    {"text": "a list", "tags": ["a", "b"]},  # lists take the long way
    {"text": 12},  # not a string: a problem
    {"text": "   "},  # empty: a problem
    {"text": ""},
    {"label": "positive"},  # missing text
    {"text": "int label", "label": 3},  # made a string by the long way
    {"text": "nul label", "label": "a\x00b"},
    {"text": "long label", "label": "x" * (parse.MAX_VALUE_CHARS + 1)},
    {"text": "long value", "v": "x" * (parse.MAX_VALUE_CHARS + 1)},
    {"text": "many", **{f"k{i}": i for i in range(parse.MAX_METADATA_KEYS + 1)}},
    {"text": "x" * (parse.MAX_TEXT_CHARS + 1)},
    {"text": "nul in metadata", "m": "a\x00b"},
]


def _long_way(name, line, obj, columns=None):
    real = parse._plain_text_row
    try:
        parse._plain_text_row = lambda *args: None
        return parse._text_row(name, line, obj, columns)
    finally:
        parse._plain_text_row = real


@pytest.mark.parametrize("record", RECORDS, ids=range(len(RECORDS)))
def test_a_record_becomes_the_same_row_or_the_same_problems_either_way(record):
    fast = parse._text_row("f.jsonl", 7, dict(record), {"text": 1, "label": 2})
    slow = _long_way("f.jsonl", 7, dict(record), {"text": 1, "label": 2})
    if isinstance(slow, Row):
        assert fast == slow
    else:
        assert [(e.line, e.column, e.reason) for e in fast] == [(e.line, e.column, e.reason) for e in slow]


def test_jsonl_lines_orjson_refuses_are_read_and_reported_as_before():
    data = (b'\xef\xbb\xbf{"text": "bom on line 1"}\n{"text": "nan", "v": NaN}\n\n  \n{"text": "big", "v": 1e400}\n'
            b'[1, 2]\n{"text": "bad \xff byte"}\n{"text": "crlf"}\r\n{"text": "open"\n')
    out = list(parse.iter_jsonl("f.jsonl", io.BytesIO(data)))
    rows = [r for r in out if isinstance(r, Row)]
    problems = [(e.line, e.column, e.reason) for e in out if not isinstance(e, Row)]
    assert [(r.line, r.text) for r in rows] == [(1, "bom on line 1"), (8, "crlf")]
    # NaN and a number too big for a float are no JSON numbers: refused, where they used to be stored as null
    # (or crash the database's JSON check)
    not_finite = ("the value of 'v' is NaN or infinite, which JSON cannot store; write null for a missing value, "
                  "or the number in quotes")
    assert problems == [
        (2, None, not_finite),
        (5, None, not_finite),
        (6, None, "each line must be a JSON object"),
        (7, 15, "not valid UTF-8 (byte 0xff); save the file as UTF-8"),
        (9, 16, "not valid JSON (Expecting ',' delimiter)"),
    ]


@pytest.mark.parametrize("values", [
    ["plain", "tab\there", "back\\slash", "new\nline", "cr\rhere", "", "\\t literally"],
    ["nothing", "special"],
    ["nul \x00 falls back", "tab\t"],
    [],
])
def test_escaping_a_column_at_once_equals_escaping_each_value(values):
    assert copy_insert._escape_all(values) == [copy_insert._escape(v) for v in values]


def _rows(texts, labels):
    return [parse._text_row("f.jsonl", i + 1, {"text": t, **({"label": lab} if lab else {})})
            for i, (t, lab) in enumerate(zip(texts, labels, strict=True))]


@pytest.mark.django_db
def test_prepared_rows_without_some_keep_each_row_with_its_own_line_and_event(text_project):
    labels = {lab.name: lab for lab in text_project.labels.all()}
    real = copy_insert._lock_referenced
    copy_insert._lock_referenced = lambda project, ids: False
    try:
        writer = copy_insert.ItemWriter(project=text_project, labels=labels, queue_given=False, name="f.jsonl")
    finally:
        copy_insert._lock_referenced = real
    rows = _rows(["a", "b\tc", "d", "e"], ["positive", None, "negative", "positive"])
    prepared = writer.prepare(rows)
    assert [line.split("\t")[1] for line in prepared.lines] == ["a", "b\\tc", "d", "e"]
    assert prepared.given == [0, 2, 3]
    less = prepared.without({id(rows[0]), id(rows[1])})
    assert less.rows == rows[2:] and less.lines == prepared.lines[2:]
    assert less.given == [0, 1] and less.events == prepared.events[1:]
    assert [e.split("\t")[2] for e in less.events] == ["imported from f.jsonl, line 3", "imported from f.jsonl, line 4"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL COPY")
@pytest.mark.pg_only
def test_special_characters_reach_the_database_unchanged_in_one_pass(text_project, monkeypatch):
    monkeypatch.setattr(one_pass, "BATCH", 2)
    monkeypatch.setattr(copy_insert, "SEND", 1)
    texts = ["tab\there", "back\\slash \\N", "new\nline\r\n", "unicode é \U0001f600", "nul \x00 here"]
    data = b"".join(json.dumps({"text": t, "label": "positive", **({"m": t} if "\x00" not in t else {})}).encode()
                    + b"\n" for t in texts)
    result = one_pass.import_text(project=text_project, name="we\tird\\name.jsonl", stream=io.BytesIO(data))
    assert (result.created, result.labeled) == (5, 5)
    items = list(Item.objects.filter(project=text_project).order_by("id"))
    assert [i.text for i in items] == [t.replace("\x00", "\ufffd") for t in texts]
    assert [i.metadata for i in items] == [{"m": t} for t in texts[:4]] + [{}]
    assert [i.source_name for i in items] == [f"we\tird\\name.jsonl:{n}" for n in range(1, 6)]
    reasons = list(LabelEvent.objects.filter(item__project=text_project, cause="import").order_by("item_id")
                   .values_list("reason", flat=True))
    assert reasons == [f"imported from we\tird\\name.jsonl, line {n}" for n in range(1, 6)]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL COPY")
@pytest.mark.pg_only
def test_the_garbage_collector_is_paused_during_a_one_pass_import_and_runs_again_after(text_project, monkeypatch):
    monkeypatch.setattr(one_pass, "BATCH", 2)
    during = []
    data = b"".join(b'{"text": "item %d"}\n' % i for i in range(5))
    assert gc.isenabled()
    one_pass.import_text(project=text_project, name="items.jsonl", stream=io.BytesIO(data),
                         on_progress=lambda rows: during.append(gc.isenabled()))
    assert during == [False, False, False] and gc.isenabled()
    with pytest.raises(ImportErrors, match="missing the 'text' field"):
        one_pass.import_text(project=text_project, name="bad.jsonl", stream=io.BytesIO(b'{"label": "positive"}\n'))
    assert gc.isenabled()


def _import_timestamps(project):
    before = timezone.now()
    data = b'{"text": "one", "label": "positive"}\n{"text": "two"}\n'
    one_pass.import_text(project=project, name="items.jsonl", stream=io.BytesIO(data))
    after = timezone.now()
    items = list(Item.objects.filter(project=project).values_list("created_at", "updated_at"))
    events = list(LabelEvent.objects.filter(item__project=project, cause="import").values_list("created_at", flat=True))
    return before, after, {t for pair in items for t in pair} | set(events)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL COPY")
@pytest.mark.pg_only
def test_an_import_in_its_own_transaction_is_stamped_with_that_transactions_start(text_project):
    before, after, stamps = _import_timestamps(text_project)
    assert len(stamps) == 1 and before <= stamps.pop() <= after


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL COPY")
@pytest.mark.pg_only
def test_an_import_inside_a_longer_transaction_is_stamped_with_the_time_it_ran(text_project):
    with connection.cursor() as cursor:  # the test's transaction began before the project was made
        cursor.execute("SELECT now()")
        began = cursor.fetchone()[0]
    before, after, stamps = _import_timestamps(text_project)
    stamp = stamps.pop()
    assert not stamps and began < before <= stamp <= after
