"""Model versions, predictions, retraining, ranking and auto-accept."""
from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.signals import annotation_total_shifted, annotations_complete
        from learning import (
            annotators,
            autoaccept,
            job_kinds,  # noqa: F401 - registers the retrain and rank jobs
            schedule,
        )

        annotations_complete.connect(autoaccept.on_annotations_complete, dispatch_uid="learning.autoaccept.spot_check")
        annotations_complete.connect(annotators.on_annotations_complete, dispatch_uid="learning.annotators.refit")
        annotation_total_shifted.connect(schedule.on_annotation_total_shifted, dispatch_uid="learning.schedule.shift")
