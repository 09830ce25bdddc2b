"""Validate: check parsed rows against the project (kind, labels, duplicates) and collect every problem.

The second stage of an import, between parse.py and write.py. An import is all or nothing: problems are
collected, not raised one by one, and a single ImportErrors lists them before anything is written.
"""
from pathlib import Path

from core.models import Item, Label, Project
from core.services import label_spelling, labels_set, spelling_clashes
from data.parse import Row, iter_text_file
from quorum.lib.errors import ImportErrors, ImportRowError, QuorumError

MAX_ERRORS_KEPT = 1000  # a file of a million bad lines: keep the first problems, count the rest
MAX_LISTED = 1000  # skipped files, duplicate rows and conflicting duplicates listed in a result; counts are exact


# ---- labels ------------------------------------------------------------------------------------------------


def project_labels(project: Project) -> dict[str, Label]:
    """The project's labels by name, in the project's order (the order an unknown-label message lists them)."""
    return {lab.name: lab for lab in project.labels.all()}


def label_error(row: Row, labels: dict[str, Label], name: str) -> ImportRowError | None:
    """The problem with ``row``'s label, or None: the one label check of every import path.

    A project without labels has no problem here: it takes its labels from its first import.
    """
    if row.label is None or not labels or row.label in labels:
        return None
    file, line = _label_place(row, name)
    alike = [n for n in labels if label_spelling(n) == label_spelling(row.label)]
    if alike:
        return ImportRowError(file=file, line=line, column=row.label_column, reason=(
            f"label '{row.label}' is not in this project's labels, but '{alike[0]}' is (they differ only in "
            f"capitals or spaces); write '{alike[0]}'"))
    return ImportRowError(file=file, line=line, column=row.label_column, reason=(
        f"label '{row.label}' is not in this project's labels ({', '.join(labels)}); add it to the project or fix the row"))


def _label_place(row: Row, name: str) -> tuple[str, int | None]:
    """Where ``row``'s label was read: the manifest's line for an image listed there, else the row's own."""
    if row.label_file is not None:
        return row.label_file, row.label_line
    return (name, row.line) if row.line is not None else (row.source_name, None)


def first_label_problems(first_seen: dict[str, tuple[str, int | None]]) -> list[ImportRowError]:
    """A first import creates one label per name it uses, so names that differ only in capitals or spaces
    ("Positive", "positive ") would become two classes: one problem per such group, at the first row of its
    second spelling. ``first_seen``: {label name: (file, line) of its first row}, in the order of the file."""
    problems = []
    for group in spelling_clashes(first_seen):
        where = ", ".join(f"'{n}' ({_at(*first_seen[n])})" for n in group)
        problems.append(ImportRowError(file=first_seen[group[1]][0], line=first_seen[group[1]][1], reason=(
            f"labels {where} differ only in capitals or spaces, and a first import would make each a class of "
            "its own; use one spelling, or create the project's labels first")))
    return problems


def _at(file: str, line: int | None) -> str:
    return f"line {line}" if line is not None else file


def _first_seen(rows: list[Row], name: str) -> dict[str, tuple[str, int | None]]:
    seen: dict[str, tuple[str, int | None]] = {}
    for r in rows:
        if r.label is not None and r.label not in seen:
            seen[r.label] = _label_place(r, name)
    return seen


def resolve_labels(project: Project, rows: list[Row], name: str) -> tuple[dict[str, Label], list[str]]:
    """The project's labels, refusing rows with an unknown one; a first import creates the labels it names."""
    labels = project_labels(project)
    if errors := label_problems(labels, rows, name):
        raise ImportErrors(errors)
    return labels, create_first_labels(project, labels, {r.label for r in rows if r.label is not None})


def label_problems(labels: dict[str, Label], rows: list[Row], name: str) -> list[ImportRowError]:
    """Every problem with ``rows``' labels, in the order of the file: labels the project does not have, or, for a
    project without labels (which takes them from this import), names that differ only in capitals or spaces."""
    if not labels:
        return first_label_problems(_first_seen(rows, name))
    return [e for r in rows if (e := label_error(r, labels, name))]


def create_first_labels(project: Project, labels: dict[str, Label], names: set[str]) -> list[str]:
    """For a project without labels: create ``names`` (sorted), add them to ``labels``, return them."""
    if labels or not names:
        return []
    created = sorted(names)
    for lab in labels_set(project=project, names=created):
        labels[lab.name] = lab
    return created


def by_line(errors: list[ImportRowError]) -> list[ImportRowError]:
    """Problems in the order of the file (stable: problems without a line keep their order, at the end)."""
    return sorted(errors, key=lambda e: (e.line is None, e.line or 0))


# ---- the all-or-nothing collection of problems ----------------------------------------------------------------


class Problems:
    """The first ``MAX_ERRORS_KEPT`` problems of an upload, and how many there were in all."""

    def __init__(self, name: str):
        self.name = name
        self.kept: list[ImportRowError] = []
        self.count = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, error: ImportRowError) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS_KEPT:
            self.kept.append(error)

    def raise_any(self) -> None:
        """Raise ImportErrors with the kept problems and a line counting the others; nothing if there are none."""
        if not self.count:
            return
        errors = list(self.kept)
        if self.count > len(errors):
            errors.append(ImportRowError(file=self.name, line=None, reason=(
                f"{self.count - len(errors):,} more problems not listed; fix the ones above and try again")))
        raise ImportErrors(errors)


def check_parsed(rows: list[Row], errors: list[ImportRowError], name: str) -> None:
    """Refuse an upload that had unreadable records, or none at all."""
    if errors:
        raise ImportErrors(errors)
    if not rows:
        raise QuorumError(f"{name}: no items found.")


def check_kind(project: Project, rows: list[Row], name: str) -> None:
    wants_image = project.is_image
    if rows and wants_image != (rows[0].image_bytes is not None):
        kind = "images (a .zip or folder)" if wants_image else "text (.csv, .jsonl or .json)"
        raise QuorumError(f"{name}: this is a {project.get_kind_display()} project; import {kind}.")


def check_text_project(project: Project, name: str) -> None:
    if project.is_image:
        raise QuorumError(f"{name}: this is a {project.get_kind_display()} project; import images (a .zip or folder).")


# ---- a large text file, checked in one pass before it is written in another ------------------------------------


class Tally:
    """What validation has found in an upload so far: rows, their problems, and the label names they use."""

    def __init__(self, name: str, labels: dict[str, Label]):
        self.name, self.labels, self.rows = name, labels, 0
        self.problems = Problems(name)  # the rows' own problems (unreadable, missing text, ...)
        self.label_problems = Problems(name)  # valid rows whose label the project does not have
        # for a project without labels, which takes them from its first import: each name and its first row
        self.label_names: dict[str, tuple[str, int | None]] = {}

    def __bool__(self) -> bool:
        """True once the upload is known to be refused."""
        return bool(self.problems or self.label_problems)

    def check(self, r: Row | ImportRowError) -> bool:
        """Record a parsed row or a parse problem; True for a row that may be written."""
        if isinstance(r, ImportRowError):
            self.problems.add(r)
            return False
        self.rows += 1
        if r.label is not None and not self.labels and r.label not in self.label_names:
            self.label_names[r.label] = _label_place(r, self.name)
        if error := label_error(r, self.labels, self.name):
            self.label_problems.add(error)
            return False
        return True

    def check_all(self, batch: list) -> list[Row]:
        """``check`` each of ``batch`` in order (the same problems kept); the rows that may be written."""
        rows = [r for r in batch if not isinstance(r, ImportRowError)]
        if len(rows) != len(batch):
            for r in batch:
                if isinstance(r, ImportRowError):
                    self.problems.add(r)
        self.rows += len(rows)
        used = {r.label for r in rows}
        used.discard(None)
        if not self.labels:
            if not used <= self.label_names.keys():  # a name not seen before: where it first appears
                for name, place in _first_seen(rows, self.name).items():
                    self.label_names.setdefault(name, place)
            return rows
        if used <= self.labels.keys():  # the usual batch: every label known
            return rows
        return [r for r in rows if not self._label_problem(r)]

    def _label_problem(self, r: Row) -> bool:
        if error := label_error(r, self.labels, self.name):
            self.label_problems.add(error)
            return True
        return False

    def raise_any(self) -> None:
        """Every problem found, the rows' own and their labels', in the order of the file (as import_rows does)."""
        if not self and not self.rows:
            raise QuorumError(f"{self.name}: no items found.")
        clashes = first_label_problems(self.label_names) if not self.labels else []
        merged = Problems(self.name)
        merged.kept = by_line(self.problems.kept + self.label_problems.kept + clashes)[:MAX_ERRORS_KEPT]
        merged.count = self.problems.count + self.label_problems.count + len(clashes)
        merged.raise_any()


def scan_text_file(name: str, path: Path, labels: dict[str, Label]) -> Tally:
    """Read the file once, keeping only counts, the first problems and the label names: bounded memory."""
    tally = Tally(name, labels)
    with path.open("rb") as fh:
        for r in iter_text_file(name, fh):
            tally.check(r)
    return tally


# ---- duplicates --------------------------------------------------------------------------------------------------
# A row whose content is already in the project (or earlier in the upload) becomes no new item, but its given
# label is evidence: it is kept as a copy, and write.record_copies adds it to the item's label history.


def dedupe(project: Project, rows: list[Row], copies: list[Row] | None = None) -> tuple[list[Row], int]:
    """The rows whose content is new to the project and to the upload, and how many were not (those go to
    ``copies`` when given)."""
    seen: set[str] = set()
    hashes = [r.content_hash for r in rows]
    if Item.objects.filter(project=project).exists():  # a first import has nothing to compare with
        for start in range(0, len(hashes), 5000):
            seen.update(Item.objects.filter(project=project, content_hash__in=hashes[start:start + 5000])
                        .values_list("content_hash", flat=True))
    unique = new_rows(rows, seen, copies)
    return unique, len(rows) - len(unique)


def new_in_batch(project: Project, batch: list[Row], copies: list[Row] | None = None) -> list[Row]:
    """The batch's rows not in the project yet; rows of earlier batches of this transaction count as in it."""
    seen = set(Item.objects.filter(project=project, content_hash__in=[r.content_hash for r in batch])
               .values_list("content_hash", flat=True))
    return new_rows(batch, seen, copies)


def new_rows(rows: list[Row], seen: set[str], copies: list[Row] | None = None) -> list[Row]:
    """The rows whose content is not in ``seen`` (hashes already in the project), first of each; fills ``seen``.

    The others go to ``copies`` (``keep_copy``).
    """
    unique = []
    for r in rows:
        if r.content_hash not in seen:
            seen.add(r.content_hash)
            unique.append(r)
        elif copies is not None:
            keep_copy(copies, r)
    return unique


def keep_copy(copies: list[Row], row: Row) -> None:
    """Keep a row whose content came before (``lean_copy``): always when it carries a label (evidence for the
    item's history), and while ``copies`` is shorter than MAX_LISTED when it does not, so that the result can
    say which rows were copies of which item without holding a million of them."""
    if row.label is not None or len(copies) < MAX_LISTED:
        copies.append(lean_copy(row))


def lean_copy(row: Row) -> Row:
    """A copy's row without its content (an image's bytes): only its hash, label and origin are kept."""
    return Row(line=row.line, source_name=row.source_name, content_hash=row.content_hash, label=row.label)
