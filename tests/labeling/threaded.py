"""Setup shared by the thread tests against live PostgreSQL (test_queue_threads, test_submit_and_serve_threads)."""
from core.models import Project, Role
from core.services import membership_set, project_create
from tests.conftest import add_texts

THREADS = 8


def threaded_project(people, make_user, *, overlap: int, items: int, name: str):
    """A text project with ``items`` open items at ``overlap`` and THREADS annotators; returns (project, users)."""
    project = project_create(name=f"{name} k={overlap}", kind=Project.Kind.TEXT, labels=["a", "b"],
                             owner=people["manager"], overlap=overlap, retrain_every=10_000)
    users = [make_user(f"{name}{overlap}_{i}") for i in range(THREADS)]
    for user in users:
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    add_texts(project, [f"item {i}" for i in range(items)])
    return project, users
