"""Labeling: projects, items, annotations, the queue, importers and retraining."""
