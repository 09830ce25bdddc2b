"""Exact duplicates are evidence: one item keeps every given label its copies arrived with, the majority decides
its label, and copies that disagree are counted and flagged for review (contract 1)."""
import io

import pytest

from core.models import Item, LabelEvent, Project
from core.services import project_create
from data.parse import parse_archive, parse_upload
from data.write import MAJORITY_CAUSE, import_rows
from review.models import Flag
from tests.data.import_paths import EVERY_PATH, photo, zipped

pytestmark = pytest.mark.django_db






@pytest.fixture
def states(people):
    return project_create(name="Lamp", kind=Project.Kind.IMAGE, labels=["red", "green", "off"], owner=people["manager"])


def import_zip(project, name, data, **kwargs):
    parsed = parse_archive(name, io.BytesIO(data))
    return import_rows(project=project, rows=parsed.rows, errors=parsed.errors, name=name, notes=parsed.notes, **kwargs)


def given_reasons(item):
    return sorted(LabelEvent.objects.filter(item=item, source="given", cause="import").values_list("to_label__name", "reason"))


def test_byte_identical_images_with_different_labels_become_one_item_with_both_labels_and_a_flag(states):
    same = photo(1)
    result = import_zip(states, "photos.zip", zipped({"red/img_12.jpg": same, "green/img_40.jpg": same,
                                                      "off/img_2.jpg": photo(2)}))
    assert (result.created, result.duplicates, result.conflicting_duplicates) == (2, 1, 1)
    item = Item.objects.get(source_name="photos.zip/red/img_12.jpg")
    assert given_reasons(item) == [("green", "imported from photos.zip/green/img_40.jpg"),
                                   ("red", "imported from photos.zip/red/img_12.jpg")]
    assert item.final_label.name == "red"  # a tie keeps the label the item has
    assert result.conflicts == [{"item": item.pk, "label": "red", "labels": {"red": 1, "green": 1}}]
    flag = Flag.objects.get(item=item)
    assert (flag.reason, flag.status) == ("data_quality", "open")
    assert flag.explanation == "imported twice with labels red and green: exact copies whose given labels disagree"
    assert not Flag.objects.exclude(item=item).exists()


def test_a_copy_in_a_later_import_with_another_label_is_kept_and_flagged(states):
    same = photo(1)
    import_zip(states, "first.zip", zipped({"red/a.jpg": same}))
    result = import_zip(states, "second.zip", zipped({"green/b.jpg": same, "green/c.jpg": photo(3)}))
    assert (result.created, result.duplicates, result.conflicting_duplicates) == (1, 1, 1)
    item = Item.objects.get(source_name="first.zip/red/a.jpg")
    assert given_reasons(item) == [("green", "imported from second.zip/green/b.jpg"),
                                   ("red", "imported from first.zip/red/a.jpg")]
    assert Flag.objects.get(item=item).explanation.startswith("imported twice with labels red and green")


def test_copies_that_agree_keep_every_origin_and_raise_no_flag(states):
    same = photo(1)
    result = import_zip(states, "p.zip", zipped({"red/a.jpg": same, "red/again/a.jpg": same, "b.jpg": same}))
    assert (result.created, result.duplicates, result.conflicting_duplicates) == (1, 2, 0)
    item = Item.objects.get()
    # the unlabeled copy adds nothing; each labeled copy is one given event
    assert [label for label, _ in given_reasons(item)] == ["red", "red"]
    assert not Flag.objects.exists()








TICKETS = (b"text,label\n"
           b"I was charged twice for one order,positive\n"      # 2: the wrong label, first
           b"Where do I change my address?,neutral\n"
           b"I was charged twice for one order,negative\n"      # 4
           b"I was charged twice for one order,negative\n"      # 5
           b"Love the new app,positive\n"
           b"I was charged twice for one order,negative\n")     # 7


@EVERY_PATH
def test_four_text_copies_keep_all_labels_the_majority_wins_and_the_item_is_flagged(text_project, tmp_path, run):
    result = run(text_project, "tickets.csv", TICKETS, tmp_path)
    assert (result.created, result.duplicates, result.conflicting_duplicates) == (3, 3, 1)
    item = Item.objects.get(text="I was charged twice for one order")
    assert (item.final_label.name, item.given_label.name, item.final_source, item.needed) == (
        "negative", "negative", "given", 0)
    assert given_reasons(item) == [("negative", f"imported from tickets.csv, line {n}") for n in (4, 5, 7)] + [
        ("positive", "imported from tickets.csv, line 2")]
    change = LabelEvent.objects.get(item=item, cause=MAJORITY_CAUSE)
    assert (change.from_label.name, change.to_label.name) == ("positive", "negative")
    assert change.reason == "the given label most of its 4 imported copies carry (negative 3, positive 1)"
    assert Flag.objects.get(item=item).explanation == (
        "imported 4 times with labels negative (3) and positive (1): exact copies whose given labels disagree")


def test_a_label_from_people_is_never_overridden_by_imported_copies(text_project, people):
    from core.services import set_final_label

    rows, errors = parse_upload("a.csv", io.BytesIO(b"text,label\nsame words,positive\n"))
    import_rows(project=text_project, rows=rows, errors=errors, name="a.csv")
    item = Item.objects.get()
    negative = text_project.labels.get(name="negative")
    set_final_label(item=item, label=negative, source="reviewer", actor=people["reviewer"], reason="checked")
    rows, errors = parse_upload("b.csv", io.BytesIO(b"text,label\nsame words,neutral\nsame words,neutral\n"))
    result = import_rows(project=text_project, rows=rows, errors=errors, name="b.csv")
    item.refresh_from_db()
    assert (item.final_label.name, item.final_source) == ("negative", "reviewer")
    assert item.given_label.name == "neutral"  # what most copies arrived with, kept apart from the final label
    assert result.conflicting_duplicates == 1 and result.labeled == 0


def test_uploading_the_same_file_again_adds_no_evidence_and_does_not_reopen_a_settled_conflict(text_project, people):
    def upload():
        rows, errors = parse_upload("tickets.csv", io.BytesIO(TICKETS))
        return import_rows(project=text_project, rows=rows, errors=errors, name="tickets.csv")

    upload()
    item = Item.objects.get(text="I was charged twice for one order")
    events = LabelEvent.objects.filter(item=item).count()
    Flag.objects.filter(item=item).update(status=Flag.Status.RESOLVED)
    again = upload()
    assert (again.created, again.duplicates, again.conflicting_duplicates, again.labeled) == (0, 6, 0, 0)
    assert LabelEvent.objects.filter(item=item).count() == events
    assert not Flag.objects.filter(item=item, status=Flag.Status.OPEN).exists()
    # a copy from another file is new evidence: counted and flagged again
    rows, errors = parse_upload("more.csv", io.BytesIO(b"text,label\nI was charged twice for one order,positive\n"))
    more = import_rows(project=text_project, rows=rows, errors=errors, name="more.csv")
    assert more.conflicting_duplicates == 1
    assert Flag.objects.get(item=item, status=Flag.Status.OPEN).explanation.startswith(
        "imported 5 times with labels negative (3) and positive (2)")


@pytest.mark.postgres  # the one-pass COPY path too
@EVERY_PATH
def test_the_result_names_each_row_that_added_no_item_and_the_item_it_copies(text_project, tmp_path, run):
    # two tickets with the same words but their own ids: the second adds no item, and the result says which
    # row it was and of which item, so the id it carried can be traced; labeled or not
    run(text_project, "old.csv", b"text,label,id\nrefund please,negative,T-1\n", tmp_path)
    old = Item.objects.get(text="refund please")
    result = run(text_project, "new.csv",
                 b"text,label,id\nwhere is my parcel,,T-2\nrefund please,,T-3\nwhere is my parcel,negative,T-4\n",
                 tmp_path)
    parcel = Item.objects.get(text="where is my parcel")
    assert (result.created, result.duplicates) == (1, 2)
    assert sorted(result.as_dict()["duplicate_rows"], key=lambda d: d["row"]) == [
        {"row": "new.csv, line 3", "item": old.pk}, {"row": "new.csv, line 4", "item": parcel.pk}]
    assert parcel.metadata == {"id": "T-2"}  # the first row's metadata; the copy is listed, not merged
