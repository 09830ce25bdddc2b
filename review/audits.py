"""Audit sampling: draw a stratified random sample of labeled items, review it blind, estimate label accuracy."""
import random

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.models import Item, LabelSource, Project
from ml.stats import proportion_estimate, stratified_allocation
from quorum.lib.errors import Conflict, QuorumError
from review.models import Audit, AuditItem

MAX_AUDIT = 1000
SOURCE_GROUPS = {  # the auditor's four sources; a reviewer's decision counts as human
    LabelSource.ANNOTATOR: "human", LabelSource.REVIEWER: "human", LabelSource.CONSENSUS: "consensus",
    LabelSource.MODEL: "model", LabelSource.GIVEN: "given",
}


@transaction.atomic
def draw_audit(*, project: Project, reviewer, size: int, seed: int | None = None) -> Audit:
    """Sample ``size`` labeled items, stratified by (final label, label source), proportional with >= 1 each."""
    if not 1 <= size <= MAX_AUDIT:
        raise QuorumError(f"An audit sample has 1 to {MAX_AUDIT} items; you asked for {size}.")
    rows = list(Item.objects.filter(project=project, final_label__isnull=False, excluded=False, is_gold=False)
                .values_list("pk", "final_label_id", "final_source").order_by("pk"))
    if not rows:
        raise QuorumError("No labeled items to audit yet: label some items first.")
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    strata: dict[tuple, list] = {}
    for pk, label_id, source in rows:
        strata.setdefault((label_id, SOURCE_GROUPS.get(source, source)), []).append((pk, label_id, source))
    keys = sorted(strata, key=str)
    alloc = stratified_allocation([len(strata[k]) for k in keys], size)
    picked = []
    for key, n in zip(keys, alloc, strict=True):
        picked += rng.sample(strata[key], n)
    rng.shuffle(picked)
    audit = Audit.objects.create(project=project, created_by=reviewer, size=len(picked), seed=seed)
    AuditItem.objects.bulk_create([AuditItem(audit=audit, item_id=pk, position=i, label_at_draw_id=label_id,
                                             source_at_draw=source) for i, (pk, label_id, source) in enumerate(picked)])
    return audit


def next_audit_item(audit: Audit) -> AuditItem | None:
    return audit.items.select_related("item").filter(reviewed_at__isnull=True).first()


@transaction.atomic
def record_verdict(*, audit: Audit, audit_item_id: int, reviewer, label_id: int | None) -> AuditItem:
    """Store the auditor's blind label for one sampled item; the last verdict closes the audit with its summary."""
    row = AuditItem.objects.select_for_update().filter(pk=audit_item_id, audit=audit).first()
    if row is None:
        raise QuorumError("That item is not part of this audit; reload the page.")
    if row.reviewed_at is not None:
        raise Conflict("This audit item was already reviewed; here is the next one.")
    label = audit.project.labels.filter(pk=label_id).first() if label_id else None
    if label is None:
        raise QuorumError("Choose a label from this project.")
    row.verdict, row.correct = label, label.pk == row.label_at_draw_id
    row.reviewed_by, row.reviewed_at = reviewer, timezone.now()
    row.save()
    if not audit.items.filter(reviewed_at__isnull=True).exists():
        audit.summary = audit_summary(audit)
        audit.finished_at = timezone.now()
        audit.save(update_fields=["summary", "finished_at"])
    return row


def audit_summary(audit: Audit) -> dict:
    """Estimated label accuracy overall, per class and per source, each with a 95 % Wilson interval."""
    done = AuditItem.objects.filter(audit=audit, reviewed_at__isnull=False)
    labels = {lab.pk: lab.name for lab in audit.project.labels.all()}
    agg = Count("id"), Count("id", filter=Q(correct=True))
    per_class = {labels[r[0]]: proportion_estimate(n=r[1], correct=r[2]) for r in
                 done.values("label_at_draw").annotate(n=agg[0], ok=agg[1]).values_list("label_at_draw", "n", "ok")}
    by_source: dict[str, list[int]] = {}
    for source, n, ok in done.values("source_at_draw").annotate(n=agg[0], ok=agg[1]).values_list(
            "source_at_draw", "n", "ok"):
        group = by_source.setdefault(SOURCE_GROUPS.get(source, source), [0, 0])
        group[0] += n
        group[1] += ok
    total = done.aggregate(n=agg[0], ok=agg[1])
    return {"overall": proportion_estimate(n=total["n"], correct=total["ok"]),
            "per_class": dict(sorted(per_class.items())),
            "per_source": {k: proportion_estimate(n=n, correct=ok) for k, (n, ok) in sorted(by_source.items())}}
