"""Parsing never guesses: every malformation of a hand-written CSV (or JSONL) is reported with file, line and
column, all of them, and nothing is written, whichever import path reads the file."""

import io

import pytest

from core.models import Item, LabelEvent
from data.parse import MAX_METADATA_KEYS, MAX_VALUE_CHARS
from quorum.lib.errors import ImportErrors
from tests.data.import_paths import EVERY_PATH, all_at_once, streaming

pytestmark = pytest.mark.django_db

QUOTE_HELP = 'inside a quoted value write a quote as two quotes ("")'

# A support-ticket export edited by hand: each line after the header has one problem, or none.
TICKETS = (
    "text,label,channel\n"                                            # 1
    "My order never arrived,negative,email\n"                         # 2 fine
    '"Refund please, now",negative,chat\n'                            # 3 fine (quoted comma)
    '"The app says ""error 5"" when I log in,negative,chat\n'         # 4 quote never closed on its line
    "Thanks for the quick help!,positive,email,extra\n"               # 5 one value too many
    "Where is my parcel,sarcastic,phone\n"                            # 6 unknown label
    "\n"                                                              # 7 empty line
    ",neutral,email\n"                                                # 8 empty text
    "Bad caf\xe9 line,negative,chat\n"                                # 9 Latin-1 byte
    "short,positive\n"                                                # 10 one value missing
    '"closed"junk,positive,web\n'                                     # 11 text after a closing quote
    'ok "quoted" inside,positive,web\n'                               # 12 fine: a quote inside an unquoted value
    '"multi\nline text",neutral,web\n'                                # 13-14 fine: a quoted value over two lines
    "last one,neutral,web\n"                                          # 15 fine
    "\n\n"                                                            # trailing blank lines are fine
).encode("latin-1")

PROBLEMS = [
    "tickets.csv, line 4, column 1: the quote that opens this value is not closed on its line, and the quoting "
    f"breaks on line 11, column 2; close the quote, or {QUOTE_HELP}",
    "tickets.csv, line 5, column 4: 4 values but the header has 3 columns; put a value that contains a comma in "
    "double quotes",
    "tickets.csv, line 6, column 2: label 'sarcastic' is not in this project's labels (positive, negative, "
    "neutral); add it to the project or fix the row",
    "tickets.csv, line 7: empty line; remove it",
    "tickets.csv, line 8, column 1: the text is empty; fill it in or remove the row",
    "tickets.csv, line 9, column 8: not valid UTF-8 (byte 0xe9); save the file as UTF-8",
    "tickets.csv, line 10, column 3: 2 values but the header has 3 columns; the 'channel' column is missing",
    f"tickets.csv, line 11, column 9: text after the closing quote of a quoted value; {QUOTE_HELP}",
]








PATHS = EVERY_PATH


def _refused(run, project, name, data, tmp_path) -> list[str]:
    with pytest.raises(ImportErrors) as caught:
        run(project, name, data, tmp_path)
    assert not Item.objects.filter(project=project).exists()
    assert not LabelEvent.objects.filter(project=project).exists()
    return [e.message for e in caught.value.errors]


@PATHS
def test_every_malformation_of_a_hand_written_csv_is_reported_with_line_and_column(text_project, tmp_path, run):
    assert _refused(run, text_project, "tickets.csv", TICKETS, tmp_path) == PROBLEMS


def test_a_column_count_error_does_not_hide_the_next_lines_problem(text_project, tmp_path):
    data = b"text,label\na,positive,oops\nb,nonsense\n"
    assert _refused(all_at_once, text_project, "x.csv", data, tmp_path) == [
        "x.csv, line 2, column 3: 3 values but the header has 2 columns; put a value that contains a comma in double quotes",
        "x.csv, line 3, column 2: label 'nonsense' is not in this project's labels (positive, negative, neutral); "
        "add it to the project or fix the row"]


def test_a_quote_left_open_to_the_end_of_the_file_is_found_and_the_lines_after_it_are_still_checked(text_project, tmp_path):
    data = b'text,label\n"never closed,positive\nfine,negative\n,positive\n'
    assert _refused(all_at_once, text_project, "x.csv", data, tmp_path) == [
        f"x.csv, line 2, column 1: the quote that opens this value is never closed; close it, or {QUOTE_HELP}",
        "x.csv, line 4, column 1: the text is empty; fill it in or remove the row"]


def test_a_stray_quote_that_closes_an_open_one_lines_later_is_not_taken_as_one_long_text(text_project, tmp_path):
    # The csv module alone reads lines 2-5 as one value (the "one item holds four raw lines").
    data = b'text,label\n"Where is it,negative\nsecond,positive\nthird,neutral\nfourth",positive\nfifth,neutral\n'
    assert _refused(all_at_once, text_project, "x.csv", data, tmp_path)[0] == (
        "x.csv, line 2: a quoted value runs from line 2 to line 5 and takes in lines that look like rows of their "
        f"own (3, 4); close its quote on line 2, or {QUOTE_HELP}")


def test_a_quoted_value_with_a_lone_carriage_return_inside_is_one_text_not_a_crash(text_project, tmp_path):
    # Found by the importer fuzz test: an inner line with a lone CR made the open-quote check itself raise
    # (the csv module refuses a CR outside quotes), a 500 instead of an import.
    from data.parse import iter_csv

    data = b'text,label\n"a\nx\rb,c\nd",positive\nok,positive\n'
    rows = list(iter_csv("cr.csv", io.BytesIO(data)))
    assert [(r.line, r.text, r.label) for r in rows] == [(2, "a\nx\rb,c\nd", "positive"), (5, "ok", "positive")]


def test_the_header_is_capped_at_200_metadata_columns_with_the_cap_in_the_message(text_project, tmp_path):
    header = ",".join(["text", "label"] + [f"m{i}" for i in range(1_000_000)])
    data = (header + "\nhello,positive" + "," * 1_000_000 + "\n").encode()
    assert _refused(all_at_once, text_project, "wide.csv", data, tmp_path) == [
        f"wide.csv, line 1: the header has 1,000,002 columns, over the limit of {MAX_METADATA_KEYS} metadata columns "
        "besides 'text' and 'label'; keep the columns you need"]


def test_a_long_metadata_value_is_refused_with_the_cap_and_its_column(text_project, tmp_path):
    data = f"text,label,notes\nhello,positive,{'x' * (MAX_VALUE_CHARS + 1)}\n".encode()
    assert _refused(all_at_once, text_project, "x.csv", data, tmp_path) == [
        f"x.csv, line 2, column 3: the value of 'notes' is {MAX_VALUE_CHARS + 1:,} characters, over the limit of "
        f"{MAX_VALUE_CHARS:,} for a metadata value"]


def test_a_header_without_text_or_with_a_repeated_column_is_refused(text_project, tmp_path):
    assert _refused(all_at_once, text_project, "x.csv", b"body,label\nx,positive\n", tmp_path) == [
        "x.csv, line 1: the header must have a 'text' column (it has body, label)"]
    assert _refused(all_at_once, text_project, "x.csv", b"text,label,label\nx,positive,positive\n", tmp_path) == [
        "x.csv, line 1, column 3: the column 'label' appears twice"]


def test_many_problems_are_all_reported_up_to_the_cap_then_counted(text_project, tmp_path, monkeypatch):
    from data import validate

    monkeypatch.setattr(validate, "MAX_ERRORS_KEPT", 3)
    data = b"text,label\n" + b"a,b,c\n" * 10
    messages = _refused(streaming, text_project, "x.csv", data, tmp_path)
    assert messages[:3] == [f"x.csv, line {n}, column 3: 3 values but the header has 2 columns; put a value that "
                            "contains a comma in double quotes" for n in (2, 3, 4)]
    assert messages[3] == "x.csv: 7 more problems not listed; fix the ones above and try again"


def test_the_error_message_lists_twenty_and_says_how_many_more(text_project, tmp_path):
    data = b"text,label\n" + b",positive\n" * 25
    with pytest.raises(ImportErrors) as caught:
        all_at_once(text_project, "x.csv", data, tmp_path)
    lines = caught.value.message.splitlines()
    assert lines[0] == "Nothing was imported: 25 problems found."
    assert lines[1] == "x.csv, line 2, column 1: the text is empty; fill it in or remove the row"
    assert lines[-1] == "… and 5 more" and len(lines) == 22


# ---- JSONL: the same checks where they apply ------------------------------------------------------------------


@PATHS
def test_jsonl_problems_name_line_and_column(text_project, tmp_path, run):
    wide = {"text": "wide", **{f"k{i}": i for i in range(MAX_METADATA_KEYS + 1)}}
    import json

    data = ('{"text": "fine", "label": "positive"}\n'
            '{"text": "   ", "label": "negative"}\n'
            '{"text": "broken", "label": \n'
            + json.dumps(wide) + "\n"
            + '{"text": "caf\xe9"}\n').encode("latin-1")
    assert _refused(run, text_project, "t.jsonl", data, tmp_path) == [
        "t.jsonl, line 2: the text is empty; fill it in or remove the row",
        "t.jsonl, line 3, column 29: not valid JSON (Expecting value)",
        f"t.jsonl, line 4: {MAX_METADATA_KEYS + 1} metadata fields, over the limit of {MAX_METADATA_KEYS}; keep the "
        "columns you need",
        "t.jsonl, line 5, column 14: not valid UTF-8 (byte 0xe9); save the file as UTF-8"]


@pytest.mark.postgres  # the one-pass COPY path too
@PATHS
@pytest.mark.parametrize(("data", "metadata", "source"), [
    # Excel and Sheets users write "Text" and "Label " as often as "text": those columns are the text and the
    # label, never metadata while the label is silently dropped.
    (b"Text,Label ,Channel\nMy order never arrived,negative,email\nThanks for the quick help,positive,chat\n",
     {"Channel": "email"}, "sheet.csv:2"),
    # Excel's "sep=," first line, and columns once touched: "text,label,," with every row ending in ",," (or
    # shorter, as some programs write it). Empty and unnamed, they hold nothing; nothing is lost without them.
    (b"sep=,\r\nText,Label,,\r\nMy order never arrived,negative,,\r\nThanks,positive\r\n", {}, "sheet.csv:3"),
], ids=["header_spellings", "sep_line_and_empty_unnamed_columns"])
def test_a_spreadsheets_csv_is_read_as_its_author_meant(text_project, tmp_path, run, data, metadata, source):
    result = run(text_project, "sheet.csv", data, tmp_path)
    assert result.created == 2
    item = Item.objects.get(text="My order never arrived")
    assert (item.final_label.name, item.metadata, item.source_name) == ("negative", metadata, source)


def test_a_header_that_names_a_column_twice_in_two_spellings_or_uses_semicolons_is_refused(text_project, tmp_path):
    assert _refused(all_at_once, text_project, "x.csv", b"text,label,Label \nx,positive,negative\n", tmp_path) == [
        "x.csv, line 1, column 3: the columns 'label' (column 2), 'Label ' (column 3) both read as 'label'; keep one "
        "of them, or rename the others"]
    assert _refused(all_at_once, text_project, "x.csv", b"text;label\nx;positive\n", tmp_path) == [
        "x.csv, line 1: the header must have a 'text' column (it has text;label); its values are separated by "
        'semicolons, not commas: save the file as comma-separated CSV (in Excel: "CSV UTF-8 (Comma delimited)")']


def test_a_clean_file_still_imports_with_multi_line_values_and_metadata(text_project, tmp_path):
    data = b'text,label,channel\n"line one\nline two",positive,email\n"say ""hi""",,chat\n\n'
    result = all_at_once(text_project, "ok.csv", data, tmp_path)
    assert (result.created, result.duplicates) == (2, 0)
    item = Item.objects.get(text="line one\nline two")
    assert (item.source_name, item.metadata, item.final_label.name) == ("ok.csv:2", {"channel": "email"}, "positive")
    assert Item.objects.get(text='say "hi"').source_name == "ok.csv:4"


@PATHS
def test_a_json_record_names_its_text_and_label_however_it_is_capitalised_or_spaced(text_project, tmp_path, run):
    # An export from a tool that capitalises its keys: "Label" is the label, never metadata on an unlabelled item.
    data = (b'{"Text": "My order never arrived", "Label": "negative", "Channel": "email"}\n'
            b'{"text": "Thanks for the quick help", "label ": "positive"}\n'
            b'{"text": "Where is my parcel", "channel": "phone"}\n')
    result = run(text_project, "export.jsonl", data, tmp_path)
    assert result.created == 3
    item = Item.objects.get(text="My order never arrived")
    assert (item.final_label.name, item.metadata) == ("negative", {"Channel": "email"})
    thanks = Item.objects.get(text="Thanks for the quick help")
    assert (thanks.final_label.name, thanks.metadata) == ("positive", {})
    assert Item.objects.get(text="Where is my parcel").final_label is None


@PATHS
def test_a_json_record_with_two_spellings_of_one_field_is_refused(text_project, tmp_path, run):
    data = b'{"text": "fine", "label": "positive"}\n{"text": "x", "label": "positive", "Label": "negative"}\n'
    assert _refused(run, text_project, "t.jsonl", data, tmp_path) == [
        "t.jsonl, line 2: the fields 'label', 'Label' both read as 'label'; keep one of them, or rename the others"]
    assert not Item.objects.filter(project=text_project).exists()


EXCEL_HELP = 'in Excel: "CSV UTF-8 (Comma delimited)"'


@pytest.mark.postgres  # the one-pass COPY path too
@PATHS
def test_a_value_under_a_column_without_a_name_is_refused_not_dropped(text_project, tmp_path, run):
    assert _refused(run, text_project, "x.csv", b"text,label,,\na,positive,,\nb,negative,,kept?\n", tmp_path) == [
        "x.csv, line 3, column 4: a value in column 4, whose header has no name; name the column in the header, or "
        "remove the value"]


def test_files_saved_as_utf16_with_old_mac_line_ends_or_a_semicolon_sep_line_say_how_to_save_them(text_project, tmp_path):
    utf16 = "text,label\ncafé,positive\n".encode("utf-16")
    assert _refused(all_at_once, text_project, "u.csv", utf16, tmp_path) == [
        "u.csv, line 1: the file is UTF-16 (as Excel's \"Unicode Text\" saves it), not UTF-8; save it as UTF-8 "
        f"({EXCEL_HELP})"]
    assert _refused(all_at_once, text_project, "mac.csv", b"text,label\rhello,positive\r", tmp_path) == [
        "mac.csv, line 1, column 11: a carriage return alone ends a line here, as in files saved by old Mac "
        f"programs, or sits inside a value; save the file with standard line endings ({EXCEL_HELP}), or put that "
        "value in double quotes"]
    assert _refused(all_at_once, text_project, "s.csv", b"sep=;\ntext;label\nhello;positive\n", tmp_path) == [
        "s.csv, line 1: the file says its values are separated by ';' (Excel's \"sep=\" line), not commas: save it "
        f"as comma-separated CSV ({EXCEL_HELP})"]
    # after a sep= line the header is line 2, and its problems say so
    assert _refused(all_at_once, text_project, "h.csv", b"sep=,\nbody,label\nhello,positive\n", tmp_path) == [
        "h.csv, line 2: the header must have a 'text' column (it has body, label)"]
