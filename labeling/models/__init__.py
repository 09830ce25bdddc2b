"""Labeling models, one module per concept."""
from .item import Annotation, Assignment, Item, LabelEvent, LabelSource
from .job import Job
from .modeling import ModelVersion, Prediction
from .project import Label, Membership, Project, Role

__all__ = [
    "Annotation", "Assignment", "Item", "Job", "Label", "LabelEvent", "LabelSource", "Membership",
    "ModelVersion", "Prediction", "Project", "Role",
]

from .invitation import Invitation  # noqa: E402

__all__ += ["Invitation"]

from .dataset import DatasetVersion, DatasetVersionRow  # noqa: E402

__all__ += ["DatasetVersion", "DatasetVersionRow"]

from .autoaccept import AutoAcceptCheck, AutoAcceptRun  # noqa: E402

__all__ += ["AutoAcceptCheck", "AutoAcceptRun"]

from .stats import ProjectStats  # noqa: E402

__all__ += ["ProjectStats"]
