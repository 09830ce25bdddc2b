"""Project access for API views: outsiders get 404, too-low roles 403, via core.access."""
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from core.access import get_project_for_user
from core.models import Annotation, Role

MAX_ID = 2**63 - 1


def checked_id(value: int) -> int:
    """Ids beyond a bigint cannot exist; refuse them as 404 before the database rejects them."""
    if not 0 < int(value) <= MAX_ID:
        raise Http404("No such object")
    return int(value)


def membership_for(request, project_id, role: str = Role.ANNOTATOR):
    """(project, membership): for views whose answer depends on the caller's role."""
    return get_project_for_user(request.user, checked_id(project_id), role)


def project_for(request, project_id, role: str = Role.ANNOTATOR):
    return membership_for(request, project_id, role)[0]


def blind_items(items: QuerySet, request, membership) -> QuerySet:
    """Blind labeling: an annotator reads only the items they labeled (as in the export); reviewers and
    managers read every item. Without this an annotator could read gold answers and the consensus of items
    still in their queue."""
    if membership.allows(Role.REVIEWER):
        return items
    return items.filter(Exists(Annotation.objects.filter(item=OuterRef("pk"), annotator=request.user)))
