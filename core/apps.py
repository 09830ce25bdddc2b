"""Projects, labels, members, items, annotations, the label history and jobs."""
from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    default_auto_field = "django.db.models.BigAutoField"
