"""Project membership by username: add, change the role of, or remove a member."""
from django.contrib.auth import get_user_model
from django.db import transaction

from core.models import Membership, Project, Role
from core.services import membership_set
from core.signals import annotation_total_shifted
from quorum.lib.errors import Conflict, QuorumError


def member_add(*, project: Project, username: str, role: str) -> Membership:
    """Add a user by username, or change the role of a member; the web members page and the API share it.

    The project always keeps a manager: demoting the last one is refused (Conflict).
    """
    username = username.strip()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise QuorumError(f"No active user named {username!r}: check the spelling, or create an invitation link "
                          "for a new person.")
    with transaction.atomic():
        current = Membership.objects.select_for_update().filter(project=project, user=user).first()
        if current and current.role == Role.MANAGER and role != Role.MANAGER:
            _keep_a_manager(project, leaving=user)
        return membership_set(project=project, user=user, role=role)


@transaction.atomic
def member_remove(*, project: Project, username: str) -> None:
    membership = None
    if "\x00" not in username:  # no username holds NUL, and PostgreSQL refuses it in a query
        membership = Membership.objects.select_for_update().filter(project=project, user__username=username).first()
    if membership is None:
        raise QuorumError(f"{username!r} is not a member of {project.name}.")
    if membership.role == Role.MANAGER:
        _keep_a_manager(project, leaving=membership.user)
    membership.delete()
    if membership.annotation_count:
        annotation_total_shifted.send(sender=Membership, project_id=project.pk, delta=-membership.annotation_count)


def _keep_a_manager(project: Project, *, leaving) -> None:
    others = Membership.objects.select_for_update().filter(project=project, role=Role.MANAGER).exclude(user=leaving)
    if not others.exists():
        raise Conflict(f"{leaving.username} is the last manager of {project.name}; make someone else a manager first.")
