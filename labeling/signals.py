"""Signals the higher apps listen to, so labeling never imports them."""
from django.dispatch import Signal

# Sent inside the submit transaction when an item has all the annotations it needs.
# Arguments: item, votes (list of label ids, one per annotator), disagreement (bool).
annotations_complete = Signal()
