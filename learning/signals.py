"""Signals of the learning app, so it never names the apps above it."""
from django.dispatch import Signal

# Sent by the worker once a retrained model version has ranked the queue (outside any transaction).
# Arguments: version (the ModelVersion). The review app looks for mislabels in its out-of-fold predictions.
model_ranked = Signal()
