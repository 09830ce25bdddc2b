"""Learning models: model versions with their predictions, auto-accept runs and spot checks, annotator models."""
from learning.models.annotators import AnnotatorConfusion, AnnotatorModel
from learning.models.autoaccept import AutoAcceptCheck, AutoAcceptRun
from learning.models.modeling import ModelVersion, Prediction
from learning.models.settings import LearningSettings

__all__ = ["AnnotatorConfusion", "AnnotatorModel", "AutoAcceptCheck", "AutoAcceptRun", "LearningSettings", "ModelVersion", "Prediction"]
