"""The one way views fetch projects and items for a user: outsiders get 404, too-low roles get 403."""
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.models import Item, Membership, Project, Role


def get_membership(user, project_id) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("project").filter(project_id=project_id, user=user).first()


def get_project_for_user(user, project_id, role: str = Role.ANNOTATOR) -> tuple[Project, Membership]:
    """Return (project, membership); 404 if the user is not a member, 403 if the role is too low."""
    membership = get_membership(user, project_id)
    if membership is None:
        raise Http404("No such project")
    if not membership.allows(role):
        raise PermissionDenied(f"This needs the {role} role in {membership.project.name}.")
    return membership.project, membership


def get_item_for_user(user, item_id, role: str = Role.ANNOTATOR) -> tuple[Item, Membership]:
    item = Item.objects.select_related("project").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such item")
    _, membership = get_project_for_user(user, item.project_id, role)
    return item, membership


def projects_for_user(user):
    return Project.objects.filter(memberships__user=user).order_by("-created_at")
