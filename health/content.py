"""Content checks of data health: images, texts, duplicates, conflicting given labels and files skipped at import.

Each finding states its rule in one line (``params["rule"]``); duplicate findings keep their groups of item ids
(``params["groups"]``) so the finding page can show and relabel them group by group.
"""
from __future__ import annotations

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import Count

from core.models import Job, LabelEvent, LabelSource
from health.models import Finding
from health.rows import Progress, Rows, add_finding, plural
from ml import health as H

GROUP_CAP = 1000  # duplicate groups kept on a finding for the grouped view
FILE_CAP = 1000  # skipped files listed on the finding (the count is the true total)
IMPORT_KIND = "import"  # the data app's job kind; health may not import data (siblings), the name is the contract
SEVERE, WARNING, INFO = Finding.Severity.SEVERE, Finding.Severity.WARNING, Finding.Severity.INFO


# ---------------------------------------------------------------- images


def image_checks(rows: Rows, findings: list, progress: Progress) -> tuple[dict, tuple]:
    """Per-image findings and duplicates; returns the report summary and (rows to skip, drift columns)."""
    stats = _image_stats(rows, progress)
    found = H.image_problems(stats, rows.metadata)
    progress(55, "Comparing images with their slice")
    _broken_findings(rows, found, findings)
    _relative_findings(rows, found, stats, findings)
    _duplicates(rows, found["exact"], found["near"], found["exact"] + found["near"], findings, what="images",
                exact_rule="identical decoded pixels (the same picture, perhaps saved in another file format)",
                near_rule="perceptual hashes within 4 of 64 bits AND 16x16 thumbnails within 2 grey levels on "
                          "average, for every pair of the group (re-compressed or slightly resized copies)")
    skip = found["unreadable"] | found["black"] | found["white"]
    readable = ~found["unreadable"]
    summary = {key: int(found[key].sum()) for key in
               ("unreadable", "black", "white", "too_small", "underexposed", "overexposed", "blurry")}
    summary["slice_field"] = found["slice_field"]
    summary["brightness"] = H.histogram(np.array([s.mean for s in stats])[readable], bins=16, range_=(0, 256))
    drift_cols = {"brightness": np.array([s.mean for s in stats]), "sharpness": np.array([s.sharpness for s in stats]),
                  "image size": np.array([float(s.width * s.height) for s in stats])}
    return summary, (skip, drift_cols)


def _image_stats(rows: Rows, progress: Progress) -> list[H.ImageStats]:
    """Each image's statistics, in row order; a missing or undecodable file counts as unreadable."""
    stats: list[H.ImageStats] = []
    n = len(rows.ids)
    for i, name in enumerate(rows.content):
        stats.append(_read(name))
        if i % 200 == 0:
            progress(5 + int(45 * i / max(n, 1)), f"Reading images ({i:,}/{n:,})")
    return stats


def _read(name: str) -> H.ImageStats:
    if not name:
        return H.ImageStats(readable=False)
    try:
        with default_storage.open(name, "rb") as fh:
            return H.read_image_stats(fh)
    except OSError:
        return H.ImageStats(readable=False)


def _broken_findings(rows: Rows, found: dict, findings: list) -> None:
    ids = rows.ids
    add_finding(findings, check="unreadable", severity=SEVERE, title="Unreadable or corrupt files",
                rows=np.flatnonzero(found["unreadable"]), ids=ids, rule="the file is missing or cannot be decoded",
                explanation="Training skips them (they become zero vectors) and annotators see a broken image. "
                            "Re-import them or exclude them.")
    add_finding(findings, check="blank", severity=SEVERE, title="Blank images (all black or all white)",
                rows=np.flatnonzero(found["black"] | found["white"]), ids=ids,
                rule="99% of the pixels at grey level 12 or less (black) or 243 or more (white), whatever the "
                     "project's other images look like",
                explanation="There is nothing to see, so nothing to label: a lens cap, a failed capture or an "
                            "export error. Exclude them.")
    add_finding(findings, check="too_small", severity=WARNING, title="Images too small",
                rows=np.flatnonzero(found["too_small"]), ids=ids,
                rule="shorter side under 32 pixels or under a quarter of the project's median shorter side",
                explanation="Too little detail to label or learn from.")


def _relative_findings(rows: Rows, found: dict, stats: list, findings: list) -> None:
    ids = rows.ids
    where = _slice_words(found["slice_field"], rows, np.array([s.mean for s in stats]),
                         ~(found["unreadable"] | found["black"] | found["white"] | found["too_small"]))
    add_finding(findings, check="underexposed", severity=WARNING, title="Under-exposed (too dark)",
                rows=np.flatnonzero(found["underexposed"]), ids=ids, params={"slice_field": found["slice_field"]},
                rule=f"brightness more than 3.5 robust SDs (1.4826 x MAD, log scale) below the median {where}, "
                     "and a mean grey level under 90 of 255",
                explanation="Much darker than comparable photos of this project: details that decide the label "
                            "may be lost.")
    add_finding(findings, check="overexposed", severity=WARNING, title="Over-exposed (washed out)",
                rows=np.flatnonzero(found["overexposed"]), ids=ids, params={"slice_field": found["slice_field"]},
                rule=f"distance to white more than 3.5 robust SDs below the median {where}, a mean grey level "
                     "over 170, clipped highlights, and lifted shadows (the darkest 1% at grey level 32 or more, "
                     "3.5 robust SDs above the median): a light picture that keeps its blacks is not reported",
                explanation="Much brighter than comparable photos of this project, with burnt-out highlights and "
                            "no real blacks left.")
    add_finding(findings, check="blurry", severity=WARNING, title="Blurry images",
                rows=np.flatnonzero(found["blurry"]), ids=ids, params={"slice_field": found["slice_field"]},
                rule=f"edge strength (Laplacian over the grey range, exposure-independent) more than 3.5 robust SDs "
                     f"below the median {where}",
                explanation="Far fewer sharp edges than comparable photos: out of focus or shaken.")


def _slice_words(field: str | None, rows: Rows, mean: np.ndarray, valid: np.ndarray) -> str:
    """'of its time_of_day slice (median grey level: day 131, night 42)' or 'of the project's images'."""
    if field is None:
        return "of the project's images"
    column = H.slice_column(rows.metadata, field)
    parts = [f"{value} {np.median(mean[valid & (column == value)]):.0f}"
             for value in sorted(set(column[valid])) if value and (valid & (column == value)).sum() >= H.MIN_SLICE]
    return f"of its {field} slice (median grey level: {', '.join(parts)})"


# ---------------------------------------------------------------- texts


def text_checks(rows: Rows, findings: list, progress: Progress) -> tuple[dict, tuple]:
    """Per-text findings and duplicates; returns the report summary and (rows to skip, drift columns)."""
    texts = rows.content
    progress(10, "Checking texts")
    problems = H.text_problems(texts)
    _text_findings(rows, problems, H.short_text_limit(texts), findings)
    progress(25, "Finding duplicate texts")
    dup = H.text_duplicates(texts)
    _duplicates(rows, dup["exact"], dup["near"], dup["exact"] + dup["very_near"], findings, what="texts",
                exact_rule="the same text once case, punctuation and spacing are ignored",
                near_rule="every pair shares about 70% or more of its 5-character shingles (MinHash); different "
                          "labels are only claimed at 90% or more")
    summary = {k: int(v.sum()) for k, v in problems.items()}
    lengths = np.array([len(t) for t in texts], dtype=float)
    summary["median_length"] = float(np.median(lengths)) if len(lengths) else 0.0
    return summary, (problems["empty"], {"text length": lengths})


def _text_findings(rows: Rows, problems: dict, word_limit: float, findings: list) -> None:
    ids = rows.ids
    add_finding(findings, check="empty_text", severity=WARNING, title="Empty texts", rule="blank or whitespace only",
                rows=np.flatnonzero(problems["empty"]), ids=ids, explanation="There is nothing to label.")
    add_finding(findings, check="short_text", severity=INFO, title="Very short texts",
                rows=np.flatnonzero(problems["short"]), ids=ids,
                rule=f"fewer than {word_limit:g} words (at least 3, or 15% of the project's median word count; "
                     "a word per two characters in Chinese, Japanese or Thai) or fewer than 3 visible characters",
                explanation="Usually too little to decide a label (\"help\", \"Refund?\").")
    add_finding(findings, check="long_text", severity=INFO, title="Very long texts",
                rows=np.flatnonzero(problems["long"]), ids=ids,
                rule="over ten times the median length and over 2,000 characters",
                explanation="Perhaps several records merged into one, and slow to read for annotators.")
    add_finding(findings, check="bad_characters", severity=WARNING, title="Undecodable characters or mojibake",
                rows=np.flatnonzero(problems["bad_chars"] | problems["mojibake"]), ids=ids,
                rule="U+FFFD replacement or control characters, or UTF-8 read as another encoding (ftfy: "
                     "\"â€™\" for \"’\", \"Ã©\" for \"é\")",
                explanation="The file was decoded with the wrong encoding somewhere. Re-export it as UTF-8.")


# ---------------------------------------------------------------- duplicates


def _duplicates(rows: Rows, exact: list, near: list, conflict_candidates: list, findings: list, *, what: str,
                exact_rule: str, near_rule: str) -> None:
    ids = rows.ids
    conflicts = H.conflicting_groups(conflict_candidates, rows.label)
    add_finding(findings, check="exact_duplicates", severity=WARNING, title=f"Exact duplicate {what}",
                rows=_flat(exact), ids=ids, rule=exact_rule, params={"groups": _id_groups(exact, ids)},
                explanation=f"{plural(len(exact), 'group')}. Duplicates count twice in training and leak between "
                            "cross-validation folds, which inflates the measured accuracy.")
    add_finding(findings, check="near_duplicates", severity=INFO, title=f"Near-duplicate {what}",
                rows=_flat(near), ids=ids, rule=near_rule, params={"groups": _id_groups(near, ids)},
                explanation=f"{plural(len(near), 'group')}; groups never chain: every member is close to every "
                            "other. Check that they are not the same example counted several times.")
    add_finding(findings, check="conflicting_duplicates", severity=SEVERE, title="Duplicates with different labels",
                rows=_flat(conflicts), ids=ids, params={"groups": _id_groups(conflicts, ids)},
                rule="an exact or very-near duplicate group whose labeled members carry two or more labels",
                explanation=f"{plural(len(conflicts), 'group')} of duplicate {what} carry different labels. The "
                            "same content cannot be two classes: set the right label of each group below.")


def _flat(groups: list[list[int]]) -> list[int]:
    """Row positions group by group, so the copies of one picture or text stay side by side."""
    return list(dict.fromkeys(i for g in groups for i in sorted(g)))


def _id_groups(groups: list[list[int]], ids: np.ndarray) -> list[list[int]]:
    return [[int(ids[i]) for i in sorted(g)] for g in groups[:GROUP_CAP]]


def given_conflicts(project, rows: Rows, findings: list) -> int:
    """Items imported more than once with different given labels (one item, several 'given' label events)."""
    conflicted = list(LabelEvent.objects.filter(project=project, source=LabelSource.GIVEN, to_label__isnull=False)
                      .values("item_id").annotate(n=Count("to_label", distinct=True)).filter(n__gte=2)
                      .order_by("item_id").values_list("item_id", flat=True))
    if not conflicted:
        return 0
    names: dict[int, list[str]] = {}
    for item_id, name in (LabelEvent.objects.filter(item_id__in=conflicted[:GROUP_CAP], source=LabelSource.GIVEN,
                                                    to_label__isnull=False)
                          .order_by("to_label__order").values_list("item_id", "to_label__name").distinct()):
        names.setdefault(item_id, []).append(name)
    add_finding(findings, check="conflicting_imports", severity=SEVERE, title="Imported twice with different labels",
                rows=[rows.position[i] for i in conflicted if i in rows.position], ids=rows.ids,
                params={"groups": [[i] for i in conflicted[:GROUP_CAP]],
                        "given": {str(k): v for k, v in names.items()}},
                rule="the same file or text (same content hash) arrived two or more times with different given labels",
                explanation=f"{plural(len(conflicted), 'item')} kept one row but arrived with several labels; each "
                            "label and where it came from is in the item's history. Set the right one below.")
    return len(conflicted)


def skipped_files(project, findings: list) -> int:
    """Files a lenient import skipped as unreadable (the import job's result lists them)."""
    files, total = [], 0
    for job_id, result in (Job.objects.filter(project=project, kind=IMPORT_KIND).order_by("id")
                           .values_list("id", "result")):
        skipped = (result or {}).get("skipped") or []
        total += int((result or {}).get("skipped_count", len(skipped)))
        files.extend({"file": str(s.get("file", "")), "reason": str(s.get("reason", "")), "job": job_id}
                     for s in skipped if isinstance(s, dict))
    if not total:
        return 0
    add_finding(findings, check="skipped_files", severity=WARNING, title="Files skipped at import", rows=[],
                ids=np.array([], dtype=np.int64), count=total, params={"files": files[:FILE_CAP]},
                rule="an import could not read the file and skipped it (its job result lists file and reason)",
                explanation=f"{plural(total, 'file')} never became items. Fix or re-export them and import them "
                            "again; the list below says why each was refused.")
    return total
