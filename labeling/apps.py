from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .autoaccept import on_annotations_complete
        from .signals import annotations_complete

        annotations_complete.connect(on_annotations_complete, dispatch_uid="labeling.autoaccept.spot_check")
