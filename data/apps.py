"""Imports, exports and dataset versions."""
from django.apps import AppConfig


class DataConfig(AppConfig):
    name = "data"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from data import job_kinds  # noqa: F401 - registers the import job with core.jobs
        from data.datasets import dataset_version_tag
        from learning.tracking import TAG_PROVIDERS

        if dataset_version_tag not in TAG_PROVIDERS:
            TAG_PROVIDERS.append(dataset_version_tag)
