"""A trained and ranked image project for the ranking tests: digits with a few wrong labels, some unlabeled."""
import io

from data.parse import parse_zip
from data.write import import_rows
from learning.models import ModelVersion
from learning.retraining import retrain
from tests.conftest import digits_zip


def ranked_version(project, settings, *, items: int, wrong: int, unlabeled: int, chunk: int) -> ModelVersion:
    """Import ``items`` digits (``wrong`` mislabeled, the first ``unlabeled`` without a label), rank in chunks of
    ``chunk`` items, and return the retrained version."""
    data, _ = digits_zip(items, wrong=wrong)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    for row in rows[:unlabeled]:
        row.label = None
    import_rows(project=project, rows=rows, errors=errors, name="d.zip")
    settings.QUORUM_RANK_CHUNK = chunk
    return retrain(project)
