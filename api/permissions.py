"""Project access for API views: outsiders get 404, too-low roles 403, via labeling.access."""
from labeling.access import get_project_for_user
from labeling.models import Role


def project_for(request, project_id, role: str = Role.ANNOTATOR):
    project, _ = get_project_for_user(request.user, project_id, role)
    return project
