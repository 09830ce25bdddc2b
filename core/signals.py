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

# Sent inside the writing transaction (by core.services) when items' final label changes to another label.
# Arguments: project_id (an id, so the hot submit path loads no project row for it), item_ids (list of int), label_id (the new final label id, or None when cleared),
# actor (the user who made the change, or None for the system), cause (the LabelEvent cause, e.g. "flag:12",
# "bulk:confusion", "consensus:3"). Review settles or re-scores the items' open flags.
final_label_changed = Signal()

# Sent inside the writing transaction when a project's memberships' annotation counters change without a new
# annotation: a member removed (their count leaves the sum) or added with annotations made before (a member
# removed and added again). Arguments: project_id, delta (int). The retrain schedule, which compares that sum
# with the sum when the last retrain was queued, shifts its reference by the same amount.
annotation_total_shifted = Signal()
