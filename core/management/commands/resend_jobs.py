"""Send again the jobs queued while the broker was down (run at start-up; beat does it every minute)."""
from django.core.management.base import BaseCommand

from core.jobs import resend_stale


class Command(BaseCommand):
    help = "Re-send QUEUED import and retrain jobs older than --older-than seconds (default 60)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=60)

    def handle(self, *, older_than, **options):
        sent = resend_stale(older_than_seconds=older_than)
        self.stdout.write(f"Re-sent {sent} queued job(s).")
