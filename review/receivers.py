"""Listeners for labeling's signals."""
from labeling.models import Item

from .services import flag_annotator_disagreement


def on_annotations_complete(sender, *, item: Item, votes: list[int], disagreement: bool, **kwargs):
    if disagreement:
        flag_annotator_disagreement(item=item, votes=votes)
