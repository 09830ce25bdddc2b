"""The move of the models out of labeling (and health out of review) keeps every table, row and relation."""
import hashlib
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.models import Annotation, Item, Project
from data.models import DatasetVersion
from health.models import Finding
from learning.models import AutoAcceptCheck, Prediction
from review.models import AuditItem, Comment, Flag

OLD_HEAD = [("labeling", "0010_job_kind_rank"), ("review", "0003_health"), ("api", "0001_initial")]
NEW_APPS = ["core", "learning", "data", "health"]
MOVE_MIGRATIONS = [
    ("core", "0001_initial"), ("learning", "0001_initial"), ("data", "0001_initial"), ("health", "0001_initial"),
    ("review", "0004_health_models_move_to_health"), ("labeling", "0011_models_move_to_their_apps"),
]
TABLES = [
    "auth_user", "labeling_project", "labeling_label", "labeling_membership", "labeling_invitation", "labeling_item",
    "labeling_assignment", "labeling_annotation", "labeling_labelevent", "labeling_job", "labeling_projectstats",
    "labeling_modelversion", "labeling_prediction", "labeling_autoacceptrun", "labeling_autoacceptcheck",
    "labeling_datasetversion", "labeling_datasetversionrow", "review_flag", "review_comment", "review_audit",
    "review_audititem", "review_healthreport", "review_finding",
]
REVIEW_MODELS = {"Flag", "Comment", "Audit", "AuditItem", "HealthReport", "Finding"}
H1, H2 = (hashlib.sha256(text.encode()).hexdigest() for text in ("Great film, if you like sleeping.", "It was fine."))
# Columns a later migration moved to another table, with the key of its rows: core 0005_item_rank moved the
# queue order and the pre-label to labeling_itemrank (one row per item).
MOVED = {"labeling_item": ("labeling_itemrank", "item_id", ["priority", "predicted_label_id", "predicted_confidence"])}


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # reload what is applied now
    return executor


def snapshot() -> dict:
    """Every column name and row of every table the move touches, read with plain SQL."""
    tables = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # the id (project_id for projectstats)
            names = [column[0] for column in cursor.description]
            tables[table] = (names, [tuple(_as_hex(v) for v in row) for row in cursor.fetchall()])
    return tables


def _as_hex(value):
    """A later migration stores the item's content hash as its bytes (core 0003): compare it as the hex it was."""
    return bytes(value).hex() if isinstance(value, bytes | memoryview) else value


def columns_of(tables: dict, like: dict) -> dict:
    """``tables`` cut down to the columns ``like`` has: later migrations may add columns, never change old ones
    (a MOVED column is read from its new table, by the row's id)."""
    out = {}
    for table, (names, rows) in tables.items():
        new_table, key, moved = MOVED.get(table, (None, None, []))
        elsewhere = _moved_values(new_table, key, moved)
        columns = []
        for row in rows:
            values = dict(zip(names, row, strict=True)) | elsewhere.get(row[names.index("id")] if moved else None, {})
            columns.append(tuple(values[name] for name in like[table][0]))
        out[table] = (like[table][0], columns)
    return out


def _moved_values(table: str | None, key: str, moved: list[str]) -> dict:
    if table is None:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key}, {', '.join(moved)} FROM {table}")
        return {row[0]: dict(zip(moved, row[1:], strict=True)) for row in cursor.fetchall()}


def write_old_data(apps) -> None:
    """One of everything, written through the models as they were before the move."""
    def old(name):
        return apps.get_model("review" if name in REVIEW_MODELS else "labeling", name)

    now = timezone.now()
    user = apps.get_model("auth", "User").objects.create(username="ann")
    project = old("Project").objects.create(name="Reviews", kind="text", guidelines="# Be kind")
    positive, negative, neutral = (old("Label").objects.create(project=project, name=name, key=str(i + 1), order=i)
                                   for i, name in enumerate(["positive", "negative", "neutral"]))
    old("Membership").objects.create(project=project, user=user, role="manager")
    old("Invitation").objects.create(project=project, role="annotator", token_hash="t" * 64, note="for bob",
                                     created_by=user, expires_at=now)
    item = old("Item").objects.create(project=project, text="Great film, if you like sleeping.", content_hash=H1,
                                      source_name="reviews.csv:2", metadata={"lang": "en"}, given_label=positive,
                                      final_label=negative, final_source="reviewer", needed=1, annotation_count=1)
    other = old("Item").objects.create(project=project, text="It was fine.", content_hash=H2, final_label=neutral,
                                       final_source="model")
    assignment = old("Assignment").objects.create(project=project, item=item, annotator=user, state="done",
                                                  expires_at=now)
    first = old("Annotation").objects.create(project=project, item=item, annotator=user, label=positive,
                                             assignment=assignment, seconds=3.5)
    old("Annotation").objects.create(project=project, item=item, annotator=user, label=negative, supersedes=first,
                                     suggested_label=positive, accepted_suggestion=False)
    given = old("LabelEvent").objects.create(project=project, item=item, to_label=positive, source="given")
    old("LabelEvent").objects.create(project=project, item=item, from_label=positive, to_label=negative,
                                     source="reviewer", actor=user, reason="sarcasm", cause="flag")
    old("LabelEvent").objects.create(project=project, item=item, from_label=negative, to_label=positive,
                                     source="reviewer", actor=user, undoes=given)
    job = old("Job").objects.create(project=project, kind="health", state="succeeded", params={"k": 5},
                                    result={"findings": 1}, created_by=user, done=2, total=2)
    old("ProjectStats").objects.create(project=project, total=2, labeled=2, by_label={"negative": 1, "neutral": 1})
    model = old("ModelVersion").objects.create(project=project, name="v1", algorithm="logreg", n_train=2,
                                               metrics={"ece": 0.1})
    old("Prediction").objects.create(model_version=model, item=item, probabilities=[0.6, 0.3, 0.1],
                                     out_of_fold=True, embedding=[0.5, -1.0])
    old("Prediction").objects.create(model_version=model, item=other, probabilities=[0.05, 0.05, 0.9])
    run = old("AutoAcceptRun").objects.create(project=project, model_version=model, since=now, target=0.98,
                                              threshold=0.85, n_heldout=40, accepted=1, spot_checks=1)
    old("AutoAcceptCheck").objects.create(project=project, run=run, item=other, model_label=neutral,
                                          human_label=neutral, agreed=True, checked_at=now)
    version = old("DatasetVersion").objects.create(project=project, name="2026-01", content_hash="d" * 64,
                                                   item_count=1, class_counts={"negative": 1}, created_by=user)
    old("DatasetVersionRow").objects.create(version=version, item=item, label="negative", source="reviewer",
                                            confidence=1.0, split="train", annotations=[{"by": "ann"}])
    flag = old("Flag").objects.create(project=project, item=item, reason="model", score=0.9, explanation="model says",
                                      suggested_label=positive, model_version=model, status="resolved",
                                      resolved_by=user, resolved_at=now, label_changed=True, action="relabel")
    old("Comment").objects.create(project=project, item=item, flag=flag, author=user, text="sarcasm, surely")
    audit = old("Audit").objects.create(project=project, size=1, seed=7, created_by=user)
    old("AuditItem").objects.create(audit=audit, item=item, position=0, source_at_draw="reviewer",
                                    label_at_draw=negative, verdict=negative, correct=True, reviewed_by=user)
    report = old("HealthReport").objects.create(project=project, job=job, model_version=model, n_items=2,
                                                results={"duplicates": []})
    old("Finding").objects.create(report=report, project=project, check_name="rare_class", key="neutral",
                                  severity="warning", title="Rare class", count=1, explanation="Only one.",
                                  item_ids=[other.id], params={"label": "neutral"}, dismissed_by=user)


def assert_new_models_read_old_data() -> None:
    project = Project.objects.get()
    assert [label.name for label in project.labels.all()] == ["positive", "negative", "neutral"]
    assert project.memberships.get().user.username == "ann"
    assert project.invitations.get().created_by.username == "ann"
    assert project.jobs.get().result == {"findings": 1}
    assert project.stats.by_label == {"negative": 1, "neutral": 1}

    item = Item.objects.get(content_hash=H1)
    assert (item.project, item.metadata, item.source_name) == (project, {"lang": "en"}, "reviews.csv:2")
    assert (item.given_label.name, item.final_label.name, item.final_source) == ("positive", "negative", "reviewer")
    latest = Annotation.objects.get(supersedes__isnull=False)
    assert (latest.label.name, latest.suggested_label.name) == ("negative", "positive")
    assert latest.supersedes.assignment.annotator.username == "ann"
    assert latest.supersedes.superseded_by == latest
    assert [(e.from_label_id and e.from_label.name, e.to_label.name) for e in item.events.all()] == [
        (None, "positive"), ("positive", "negative"), ("negative", "positive")]
    assert item.events.last().undoes == item.events.first()

    prediction = Prediction.objects.get(item=item)
    assert (prediction.model_version.name, prediction.probabilities) == ("v1", [0.6, 0.3, 0.1])
    assert prediction.embedding == [0.5, -1.0] and prediction.out_of_fold
    check = AutoAcceptCheck.objects.get()
    assert (check.item.text, check.model_label.name, check.run.model_version.project) == (
        "It was fine.", "neutral", project)
    row = DatasetVersion.objects.get(name="2026-01").rows.get()
    assert (row.item, row.label, row.annotations) == (item, "negative", [{"by": "ann"}])

    flag = Flag.objects.get()
    assert (flag.item.project.name, flag.suggested_label.name, flag.model_version.name) == ("Reviews", "positive", "v1")
    assert Comment.objects.get().flag == flag
    assert AuditItem.objects.get().verdict.name == "negative"
    finding = Finding.objects.get()
    assert (finding.report.job.kind, finding.report.model_version.name) == ("health", "v1")
    assert finding.item_ids == [Item.objects.get(content_hash=H2).id]
    assert finding.report.project.health_reports.get() == finding.report


def assert_state_only_and_in_sync() -> None:
    call_command("makemigrations", check=True, dry_run=True, stdout=io.StringIO())  # SystemExit on changes
    for app, name in MOVE_MIGRATIONS:
        out = io.StringIO()
        call_command("sqlmigrate", app, name, stdout=out, no_color=True)
        lines = [line.strip() for line in out.getvalue().splitlines()]
        assert [line for line in lines if line and not line.startswith("--") and line not in ("BEGIN;", "COMMIT;")
                ] == [], f"{app}.{name} changes the database"


@pytest.mark.postgres
@pytest.mark.xdist_group("migrations")
@pytest.mark.django_db(transaction=True)
def test_moving_models_to_new_apps_keeps_every_row_and_relation():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        executor = migrate([(app, None) for app in NEW_APPS] + OLD_HEAD)
        assert ("core", "0001_initial") not in executor.loader.applied_migrations
        write_old_data(executor.loader.project_state(OLD_HEAD).apps)
        before = snapshot()
        assert all(rows for _, rows in before.values()), "every table has a row to lose"

        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        assert columns_of(snapshot(), before) == before
        assert_new_models_read_old_data()
        assert_state_only_and_in_sync()
    finally:
        migrate(leaves)
