from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from labeling.signals import annotations_complete, gold_answered

        from .receivers import on_annotations_complete, on_gold_answered

        annotations_complete.connect(on_annotations_complete, dispatch_uid="review.annotations_complete")
        gold_answered.connect(on_gold_answered, dispatch_uid="review.gold_answered")
