"""Flags, reviewer decisions, audits, annotator quality and the confusion view."""
from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.signals import annotations_complete, final_label_changed, given_labels_conflict, gold_answered
        from learning.signals import model_ranked
        from review import job_kinds  # noqa: F401 - registers the mislabel-search job
        from review.decisions import on_final_label_changed
        from review.receivers import (
            on_annotations_complete,
            on_given_labels_conflict,
            on_gold_answered,
            on_model_ranked,
        )

        annotations_complete.connect(on_annotations_complete, dispatch_uid="review.annotations_complete")
        gold_answered.connect(on_gold_answered, dispatch_uid="review.gold_answered")
        model_ranked.connect(on_model_ranked, dispatch_uid="review.model_ranked")
        final_label_changed.connect(on_final_label_changed, dispatch_uid="review.final_label_changed")
        given_labels_conflict.connect(on_given_labels_conflict, dispatch_uid="review.given_labels_conflict")
