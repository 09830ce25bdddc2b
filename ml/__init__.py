"""Quorum's science: features, training, ranking, mislabel detection and consensus over numpy arrays.

Nothing in this package imports Django or the apps, so it can be tested and benchmarked on its own.
"""
