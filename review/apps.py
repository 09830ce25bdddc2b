from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from labeling.signals import annotations_complete

        from .receivers import on_annotations_complete

        annotations_complete.connect(on_annotations_complete, dispatch_uid="review.annotations_complete")
