"""Labeling screens, one module per screen."""
