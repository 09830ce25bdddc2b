"""The on-demand mislabel search: a job with progress that fills the review queue."""
import io

import pytest

from core.models import Job
from data.parse import parse_zip
from data.write import import_rows
from learning.schedule import request_retrain
from review.job_kinds import FLAG
from review.models import Flag
from tests.conftest import digits_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_find_mislabels_button_runs_a_flag_job_with_progress(client, image_project, people):
    data, _ = digits_zip(150, wrong=10)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    import_rows(project=image_project, rows=rows, errors=errors, name="d.zip")
    request_retrain(project=image_project, user=None)
    Flag.objects.all().delete()  # as if a reviewer had cleared them: the search must find them again
    client.force_login(people["reviewer"])
    response = client.post(f"/projects/{image_project.pk}/review/find-mislabels/")
    job = Job.objects.get(kind=FLAG)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == Job.State.SUCCEEDED and job.result["created"] == Flag.objects.count() > 0
    assert "open in the review queue" in client.get(response["Location"]).content.decode()


def test_find_mislabels_without_a_model_says_what_to_do(client, image_project, people):
    client.force_login(people["reviewer"])
    response = client.post(f"/projects/{image_project.pk}/review/find-mislabels/", follow=True)
    assert "There is no model yet: retrain first" in response.content.decode()
    assert not Job.objects.exists()


def test_annotators_cannot_run_it(client, image_project, people):
    client.force_login(people["alice"])
    assert client.post(f"/projects/{image_project.pk}/review/find-mislabels/").status_code == 403
