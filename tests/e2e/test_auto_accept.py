"""Browser: a manager turns auto-accept on; the panel shows the threshold, then the spot checks and the stop."""
from pathlib import Path

import pytest

from core.models import LabelSource
from tests.labeling.test_autoaccept import _build, _label_spot_checks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_manager_turns_auto_accept_on_and_sees_it_stop_when_spot_checks_disagree(page_for, live_server,
                                                                                 text_project, people):
    _build(text_project, open_sure=200, open_unsure=20)
    page = page_for("manager")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/auto-accept/")
    page.fill("#id_target", "120")
    page.click("#auto-accept-save")
    assert "Enter a target between 50% and 99.9% (you entered 120%)." in page.locator("#id_target_error").inner_text()
    page.check("#id_enabled")
    page.fill("#id_target", "98")
    page.fill("#id_spot_check", "15")
    page.click("#auto-accept-save")
    panel = page.locator("#auto-accept")
    assert panel.locator(".badge").inner_text() == "active"  # it ran with the latest model at once
    assert "labelled 200 items" in panel.inner_text()
    assert text_project.items.filter(final_source=LabelSource.MODEL).count() == 200

    _label_spot_checks(text_project, people["alice"], wrong=1, total=12)
    page.goto(f"{live_server.url}/projects/{text_project.pk}/")
    assert "11 of 12 agree" in page.locator("#auto-accept").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#auto-accept").screenshot(path=str(SHOTS / "auto_accept.png"))

    _label_spot_checks(text_project, people["alice"], wrong=3, total=8)
    page.goto(f"{live_server.url}/projects/{text_project.pk}/auto-accept/")
    assert page.locator("#auto-accept .badge").inner_text() == "stopped"
    assert "spot checks agree on 16 of 20 (80%" in page.locator("#auto-accept-stopped").inner_text()
    page.screenshot(path=str(SHOTS / "auto_accept_stopped.png"), full_page=True)
