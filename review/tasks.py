"""Celery tasks of the review app."""
from celery import shared_task

from labeling.models import ModelVersion

from .services import flag_mislabels as flag_mislabels_service


@shared_task(name="review.tasks.flag_mislabels", acks_late=True, reject_on_worker_lost=True)
def flag_mislabels(model_version_id: int) -> int:
    version = ModelVersion.objects.filter(pk=model_version_id).select_related("project").first()
    if version is None:
        return 0
    return flag_mislabels_service(model_version=version)

# Data-health tasks live in their own module; importing it here registers them under review.tasks.*.
from .tasks_health import boost_class, compute_health  # noqa: E402, F401
