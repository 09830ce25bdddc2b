"""Real threads against live PostgreSQL: auto-accept runs while annotators label; people's labels win."""
import threading

import pytest
from django.db import connection, connections
from django.db.models import Count

from core.models import Item, LabelEvent, LabelSource
from labeling.queue import next_assignment, submit_annotation
from learning import autoaccept
from learning.models import AutoAcceptRun
from tests.labeling.test_autoaccept import _build

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.pg_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def test_auto_accept_racing_annotators_and_itself_never_overrides_a_person(text_project, people):
    version, sure, _ = _build(text_project, open_sure=300, open_unsure=0)
    autoaccept.configure(project=text_project, enabled=True, target=0.98, spot_check_rate=0.05)
    negative = text_project.labels.get(name="negative")  # the model says "positive" on every open item
    start = threading.Barrier(5)
    failures = []

    def annotate(user):
        try:
            start.wait()
            for _ in range(40):
                assignment = next_assignment(project=text_project, annotator=user)
                if assignment is None:
                    return
                submit_annotation(project=text_project, annotator=user, assignment_id=assignment.pk,
                                  label_id=negative.pk)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            failures.append(exc)
        finally:
            connections.close_all()

    def accept():
        try:
            start.wait()
            autoaccept.run(version=version)
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=annotate, args=(people[n],)) for n in ("alice", "bob", "carol")]
    threads += [threading.Thread(target=accept) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert AutoAcceptRun.objects.count() == 1
    opened = Item.objects.filter(pk__in=[i.pk for i in sure])
    assert not opened.filter(final_label__isnull=True).exists()  # each one labelled by a person or the model
    assert not opened.filter(annotation_count__gt=0).exclude(final_source=LabelSource.ANNOTATOR).exists()
    assert set(opened.filter(annotation_count__gt=0).values_list("final_label__name", flat=True)) == {"negative"}
    assert not opened.filter(final_source=LabelSource.MODEL, annotation_count__gt=0).exists()
    twice = (LabelEvent.objects.filter(source=LabelSource.MODEL).values("item").annotate(n=Count("id"))
             .filter(n__gt=1))
    assert not twice.exists()
