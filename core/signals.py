"""Signals the higher apps listen to, so labeling never imports them."""
from django.dispatch import Signal

# Sent inside the submit transaction when an item has all the annotations it needs.
# Arguments: item, votes (list of label ids, one per annotator), disagreement (bool), confidence (float or
# None for one annotator), winner (consensus label id), threshold (project.consensus_threshold),
# prior_source (the item's final-label source before these annotations: "model" for an auto-accept spot check).
annotations_complete = Signal()

# Sent inside the submit transaction when an annotator answers a gold item.
# Arguments: item, annotation, correct (bool).
gold_answered = Signal()

# Sent inside the import transaction when items' exact-duplicate copies arrived with two or more different given
# labels (each copy's label is a LabelEvent with source "given"). Arguments: project, item_ids (list of int).
given_labels_conflict = Signal()
