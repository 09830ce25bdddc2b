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


# A hand-written file: one class typed three ways. A project without labels takes them from its first import.
SPELLINGS_CSV = b"text,label\na,positive\nb,negative\nc,Positive\nd, positive \ne,NEGATIVE\nf,positive\n"


@pytest.mark.parametrize("run", [_all_at_once, _streaming], ids=["all_at_once", "streaming"])
def test_a_first_import_refuses_one_label_spelt_two_ways(people, tmp_path, run):
    from core.models import Project
    from core.services import project_create

    project = project_create(name="New", kind=Project.Kind.TEXT, labels=[], owner=people["manager"])
    with pytest.raises(ImportErrors) as caught:
        run(project, "x.csv", SPELLINGS_CSV, tmp_path)
    # one problem per class, at the first row of its second spelling (" positive " is read as "positive")
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (4, "labels 'positive' (line 2), 'Positive' (line 4) differ only in capitals or spaces, and a first import "
            "would make each a class of its own; use one spelling, or create the project's labels first"),
        (6, "labels 'negative' (line 3), 'NEGATIVE' (line 6) differ only in capitals or spaces, and a first import "
            "would make each a class of its own; use one spelling, or create the project's labels first")]
    assert not project.labels.exists() and not Item.objects.filter(project=project).exists()
    # one spelling each: the labels are created and every row is imported
    run(project, "y.csv", b"text,label\na,positive\nb,negative\nc,positive\n", tmp_path)
    assert sorted(project.labels.values_list("name", flat=True)) == ["negative", "positive"]
    assert Item.objects.filter(project=project).count() == 3


@pytest.mark.parametrize("run", [_all_at_once, _streaming, _one_pass], ids=["all_at_once", "streaming", "one_pass"])
def test_a_label_spelt_another_way_names_the_projects_spelling(text_project, tmp_path, run):
    with pytest.raises(ImportErrors) as caught:
        run(text_project, "x.csv", b"text,label\na,positive\nb,Positive\nc,NEUTRAL \n", tmp_path)
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (3, "label 'Positive' is not in this project's labels, but 'positive' is (they differ only in "
            "capitals or spaces); write 'positive'"),
        (4, "label 'NEUTRAL' is not in this project's labels, but 'neutral' is (they differ only in "
            "capitals or spaces); write 'neutral'")]


def test_project_labels_that_differ_only_in_capitals_or_spaces_are_refused(text_project):
    from core.services import labels_set
    from quorum.lib.errors import QuorumError

    with pytest.raises(QuorumError, match="'positive' and 'Positive' would be two classes"):
        labels_set(project=text_project, names=["Positive"])
    with pytest.raises(QuorumError, match="'very  good' and 'Very good' would be two classes"):
        labels_set(project=text_project, names=["very  good", "Very good"])
    assert list(text_project.labels.values_list("name", flat=True)) == ["positive", "negative", "neutral"]
    labels_set(project=text_project, names=["very good"])  # a new class is fine
    assert text_project.labels.count() == 4
    # a project that got such a pair before this check was made can still add other labels
    from core.models import Label

    Label.objects.create(project=text_project, name="Neutral", key="x", order=9)
    labels_set(project=text_project, names=["mixed"])
    assert text_project.labels.filter(name="mixed").exists()
