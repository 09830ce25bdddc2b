"""Learning models: model versions with their predictions, and auto-accept runs and spot checks."""
from learning.models.autoaccept import AutoAcceptCheck, AutoAcceptRun
from learning.models.modeling import ModelVersion, Prediction

__all__ = ["AutoAcceptCheck", "AutoAcceptRun", "ModelVersion", "Prediction"]
