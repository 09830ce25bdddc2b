"""Auto-accept over HTTP: the managers' settings form, the status panels, blind spot checks, exports."""
import json

import pytest
from django.urls import reverse

from core.models import LabelSource
from learning import autoaccept
from learning.models import AutoAcceptCheck
from tests.labeling.test_autoaccept import _build, _label_spot_checks

pytestmark = pytest.mark.django_db


def _url(project):
    return reverse("learning:auto_accept", args=[project.pk])


def test_a_manager_turns_it_on_with_a_target_and_spot_check_rate(client, text_project, people):
    client.force_login(people["manager"])
    page = client.get(_url(text_project))
    body = page.content.decode()
    assert page.status_code == 200 and 'value="98.0"' in body and 'value="5.0"' in body
    assert "labels the model did not train on" in body  # help text says how the threshold is chosen
    response = client.post(_url(text_project), {"enabled": "on", "target": "99", "spot_check": "10"})
    assert response.status_code == 302
    text_project.refresh_from_db()
    assert text_project.auto_accept and text_project.auto_accept_target == pytest.approx(0.99)
    assert text_project.auto_accept_spot_check_rate == pytest.approx(0.10) and text_project.auto_accept_since
    page = client.get(_url(text_project)).content.decode()
    assert "Auto-accept is on" in page and "Waiting for the next retrain" in page


@pytest.mark.parametrize(("target", "rate", "field", "message"), [
    ("99.95", "5", "target", "Enter a target between 50% and 99.9% (you entered 99.95%)."),
    ("40", "5", "target", "Enter a target between 50% and 99.9% (you entered 40%)."),
    ("98", "120", "spot_check", "Enter a share between 0% and 100% (you entered 120%)."),
    ("ninety", "5", "target", "Enter a number."),
])
def test_out_of_range_settings_are_refused_with_a_clear_error(client, text_project, people, target, rate, field,
                                                             message):
    client.force_login(people["manager"])
    response = client.post(_url(text_project), {"enabled": "on", "target": target, "spot_check": rate})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    text_project.refresh_from_db()
    assert text_project.auto_accept is False


def test_only_managers_see_the_settings(client, text_project, people):
    for name, status in (("alice", 403), ("reviewer", 403), ("outsider", 404)):
        client.force_login(people[name])
        assert client.get(_url(text_project)).status_code == status, name
        assert client.post(_url(text_project), {"enabled": "on", "target": "90", "spot_check": "5"}).status_code == status
    text_project.refresh_from_db()
    assert text_project.auto_accept is False


def test_panels_show_active_state_measured_precision_and_model_share(client, text_project, people):
    version, sure, _ = _build(text_project, open_sure=100)
    autoaccept.configure(project=text_project, enabled=True, target=0.98, spot_check_rate=0.25)
    run = autoaccept.run(version=version)
    _label_spot_checks(text_project, people["alice"], wrong=0, total=10)
    client.force_login(people["reviewer"])
    for url in (reverse("projects:project", args=[text_project.pk]), reverse("learning:models", args=[text_project.pk])):
        body = client.get(url).content.decode()
        assert 'id="auto-accept"' in body and '<span class="badge ok">active</span>' in body, url
        assert "10 of 10 agree" in body and "100.0%" in body
        assert f"{run.threshold:.3f}" in body and ">90<" in body  # 100 auto-accepted, 10 relabelled by alice
        assert "Settings</a>" not in body  # reviewers see the panel, not the settings link


def test_the_stop_reason_is_shown(client, text_project, people):
    version, _, _ = _build(text_project, open_sure=100)
    autoaccept.configure(project=text_project, enabled=True, target=0.98, spot_check_rate=0.25)
    autoaccept.run(version=version)
    _label_spot_checks(text_project, people["alice"], wrong=6, total=20)
    client.force_login(people["manager"])
    body = client.get(reverse("projects:project", args=[text_project.pk])).content.decode()
    assert '<span class="badge bad">stopped</span>' in body
    assert "spot checks agree on 14 of 20 (70%" in body and "below the 98% target" in body


def test_a_spot_check_is_labelled_without_the_model_suggestion(client, text_project, people):
    version, _, _ = _build(text_project, open_sure=20)
    autoaccept.configure(project=text_project, enabled=True, target=0.98, spot_check_rate=0.05)
    autoaccept.run(version=version)
    client.force_login(people["alice"])
    page = client.get(reverse("labeling:label", args=[text_project.pk]))
    assert AutoAcceptCheck.objects.filter(item=page.context["item"]).exists()
    assert page.context["suggestion"] is None and "data-suggested" not in page.content.decode()


def test_exports_and_api_say_the_label_came_from_the_model(client, text_project, people):
    version, sure, _ = _build(text_project, open_sure=10)
    autoaccept.configure(project=text_project, enabled=True, target=0.98, spot_check_rate=0.0)
    autoaccept.run(version=version)
    client.force_login(people["manager"])
    export = client.get(f"/api/projects/{text_project.pk}/export/?format=jsonl&sources=model")
    rows = [json.loads(line) for line in b"".join(export.streaming_content).decode().splitlines() if line]
    assert sorted(r["id"] for r in rows) == sorted(i.pk for i in sure)
    assert {r["final_source"] for r in rows} == {"model"}
    labels = client.get(f"/api/projects/{text_project.pk}/final-labels/?page_size=1000").json()["results"]
    assert sum(r["source"] == LabelSource.MODEL for r in labels) == 10
    version_row = client.post(f"/api/projects/{text_project.pk}/versions/", {"name": "v-aa"},
                              content_type="application/json").json()
    assert version_row["source_counts"]["model"] == 10 and version_row["source_counts"]["annotator"] == 100
