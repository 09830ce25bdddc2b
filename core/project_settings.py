"""A manager's project settings (overlap, retraining, queue strategy, adjudication, consensus, labels) after creation."""
from django.db import transaction

from core.models import Annotation, Item, Project
from core.services import labels_set
from ml.active import STRATEGIES
from quorum.lib.errors import Conflict, QuorumError

# (low, high) for each numeric setting, inclusive; the API schema states the same bounds.
BOUNDS = {"overlap": (1, 10), "retrain_every": (1, 1_000_000), "adjudication_k": (1, 10),
          "consensus_threshold": (0.0, 1.0)}
SETTINGS = ("guidelines", "overlap", "retrain_every", "query_strategy", "adjudication_k", "consensus_threshold")


def _check(field: str, value) -> None:
    if field == "query_strategy" and value not in STRATEGIES:
        raise QuorumError(f"Unknown query strategy {value!r}: choose one of {', '.join(STRATEGIES)}.")
    if field in BOUNDS:
        low, high = BOUNDS[field]
        if not low <= value <= high:
            raise QuorumError(f"'{field}' must be between {low} and {high}; got {value}.")


def _set_overlap(project: Project, overlap: int) -> None:
    """Items waiting for the old overlap wait for the new one. Once labeling started, changing it would strand
    items that already have their old number of labels, so it is refused."""
    if Annotation.objects.filter(project=project).exists():
        raise Conflict(f"Overlap cannot change once items have annotations (project {project.name} has some); "
                       "create a new project for a different overlap.")
    Item.objects.filter(project=project, needed=project.overlap, annotation_count=0).update(needed=overlap)
    project.overlap = overlap


@transaction.atomic
def project_update(*, project: Project, labels: list[str] | None = None, **changes) -> Project:
    """Change the given settings of ``project``; ``labels`` must list the current labels first (in order),
    then any new ones: labels are appended, never renamed or removed (annotations point at them)."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise QuorumError(f"Unknown project setting(s) {', '.join(sorted(unknown))}: use {', '.join(SETTINGS)}.")
    project = Project.objects.select_for_update().get(pk=project.pk)
    for field, value in changes.items():
        _check(field, value)
    if "overlap" in changes and changes["overlap"] != project.overlap:
        _set_overlap(project, changes.pop("overlap"))
    for field, value in changes.items():
        setattr(project, field, value)
    project.save(update_fields=[*SETTINGS])
    if labels is not None:
        current = list(project.labels.values_list("name", flat=True))
        wanted = [n.strip() for n in labels]
        if wanted[:len(current)] != current:
            raise Conflict(f"Labels can only be added: send the current labels first, in order "
                           f"({', '.join(current)}), then the new ones.")
        labels_set(project=project, names=wanted[len(current):])
    return project
