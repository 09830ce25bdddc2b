"""One label check for every import path: an unknown label is reported with the same message and line."""
import io

import pytest

from core.models import Item
from data import one_pass
from data.parse import parse_upload
from data.write import import_rows, import_text_file
from quorum.lib.errors import ImportErrors

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# The same records at the same line numbers: the CSV's header takes line 1, the JSONL's first record does.
CSV = b"text,label\nfirst,\na,positive\nb,zeta\nc,alpha\nd,zeta\n"
JSONL = (b'{"text": "zero"}\n{"text": "first"}\n{"text": "a", "label": "positive"}\n'
         b'{"text": "b", "label": "zeta"}\n{"text": "c", "label": "alpha"}\n{"text": "d", "label": "zeta"}\n')
KNOWN = "(positive, negative, neutral); add it to the project or fix the row"
EXPECTED = [(4, f"label 'zeta' is not in this project's labels {KNOWN}"),
            (5, f"label 'alpha' is not in this project's labels {KNOWN}"),
            (6, f"label 'zeta' is not in this project's labels {KNOWN}")]


def _all_at_once(project, name, data, tmp_path):
    rows, errors = parse_upload(name, io.BytesIO(data))
    import_rows(project=project, rows=rows, errors=errors, name=name)


def _streaming(project, name, data, tmp_path):
    path = tmp_path / name
    path.write_bytes(data)
    import_text_file(project=project, path=path, name=name)


def _one_pass(project, name, data, tmp_path):
    if not one_pass.available(project, name):
        pytest.skip("the one-pass import runs on PostgreSQL")
    one_pass.import_text(project=project, name=name, stream=io.BytesIO(data), bounded_memory=True)


@pytest.mark.parametrize("run", [_all_at_once, _streaming, _one_pass], ids=["all_at_once", "streaming", "one_pass"])
@pytest.mark.parametrize(("name", "data"), [("x.csv", CSV), ("x.jsonl", JSONL)], ids=["csv", "jsonl"])
def test_an_unknown_label_is_reported_alike_by_every_import_path(text_project, tmp_path, run, name, data):
    with pytest.raises(ImportErrors) as caught:
        run(text_project, name, data, tmp_path)
    assert [(e.file, e.line, e.reason) for e in caught.value.errors] == [(name, line, r) for line, r in EXPECTED]
    column = ", column 2" if name.endswith(".csv") else ""  # JSON has no columns
    assert caught.value.message == "Nothing was imported: 3 problems found.\n" + "\n".join(
        f"{name}, line {line}{column}: {reason}" for line, reason in EXPECTED)
    assert not Item.objects.filter(project=text_project).exists()
