"""Members and invitations: managers add existing users or create single-use, expiring invitation links."""
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.models import Invitation, Project, Role
from core.services import membership_set
from core.usernames import check_new_username
from quorum.lib.errors import QuorumError


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(*, project: Project, role: str, created_by, note: str = "") -> tuple[Invitation, str]:
    """Return (invitation, token). The token is shown once; only its hash is stored."""
    if role not in Role.values:
        raise QuorumError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        project=project, role=role, token_hash=_hash(token), note=note[:200], created_by=created_by,
        expires_at=timezone.now() + timedelta(days=settings.QUORUM_INVITE_DAYS))
    return invitation, token


def invitation_for_token(token: str) -> Invitation | None:
    """The usable invitation for ``token``: unknown, used and expired ones are all None (no hint which)."""
    invitation = Invitation.objects.select_related("project").filter(token_hash=_hash(token or "")).first()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= timezone.now():
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, username: str, password: str):
    """Create the account and its membership, and spend the invitation (once, even if two tabs race)."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=_hash(token or "")).first()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= timezone.now():
        raise QuorumError("This invitation link is not valid any more; ask your project manager for a new one.")
    User = get_user_model()
    # Normalised, safe characters, one script, and not a look-alike of anyone's name (core.usernames).
    username = check_new_username(username, list(User.objects.values_list("username", flat=True)))
    user = User(username=username)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise QuorumError(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.save()
    membership_set(project=invitation.project, user=user, role=invitation.role)
    invitation.used_at, invitation.used_by = timezone.now(), user
    invitation.save(update_fields=["used_at", "used_by"])
    return user
