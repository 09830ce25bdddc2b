"""Data-health reports and findings."""
from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from health import job_kinds  # noqa: F401 - registers this app's kinds of job with core.jobs
