"""Test data: a project's history of completed multi-annotator items, written directly (no submits)."""
from core.models import Annotation, Item
from tests.conftest import add_texts

CLASSES = ("positive", "negative", "neutral")


def truth(i: int) -> str:
    return CLASSES[i % 3]


def wrong(i: int) -> str:
    return CLASSES[(i + 1) % 3]


def add_crowd(project, answers: dict, n: int, *, prefix: str = "h") -> list[Item]:
    """``n`` items, each labelled by every annotator in ``answers`` ({user: function(i) -> label name}).

    The items are complete (annotation_count = needed = number of annotators), like items whose
    annotators all submitted.
    """
    texts = [f"{prefix}{i}" for i in range(n)]
    add_texts(project, texts)
    items = sorted(Item.objects.filter(project=project, text__in=texts), key=lambda item: item.pk)
    labels = {lab.name: lab for lab in project.labels.all()}
    Annotation.objects.bulk_create([
        Annotation(project=project, item=item, annotator=user, label=labels[answer(int(item.text[len(prefix):]))])
        for item in items for user, answer in answers.items()])
    Item.objects.filter(pk__in=[item.pk for item in items]).update(annotation_count=len(answers),
                                                                   needed=len(answers))
    return items
