"""Core models: projects, labels, members, items with their annotations and label history, jobs."""
from core.models.invitation import Invitation
from core.models.item import Annotation, Assignment, Item, ItemRank, LabelEvent, LabelSource
from core.models.job import Job
from core.models.project import Label, Membership, Project, Role
from core.models.stats import ProjectStats

__all__ = [
    "Annotation", "Assignment", "Invitation", "Item", "ItemRank", "Job", "Label", "LabelEvent", "LabelSource", "Membership",
    "Project", "ProjectStats", "Role",
]
