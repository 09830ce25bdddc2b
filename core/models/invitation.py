"""Invitations: the only way a new person gets an account (there is no open sign-up)."""
from django.conf import settings
from django.db import models

from core.models.project import Project, Role


class Invitation(models.Model):
    """A single-use, expiring link; only the SHA-256 of its token is stored, so a database leak opens nothing."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ANNOTATOR)
    token_hash = models.CharField(max_length=64, unique=True)
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for (shown to managers only).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        db_table = "labeling_invitation"  # kept from before the split into apps
        ordering = ["-created_at", "-id"]
