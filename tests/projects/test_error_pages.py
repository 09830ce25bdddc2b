"""403 and 404 pages: the site layout, the reason the server knows, the way back; a 403 logs no traceback."""
import logging

import pytest

from tests.review.helpers import client_for

pytestmark = [pytest.mark.django_db]


def test_a_too_low_role_gets_the_reason_and_the_way_back_in_the_site_layout(text_project, people):
    r = client_for(people["alice"]).get(f"/projects/{text_project.pk}/review/")
    assert r.status_code == 403
    body = r.content.decode()
    assert 'class="topbar"' in body and "Log out" in body  # the site layout, with navigation
    assert "This needs the reviewer role in Reviews." in body
    assert f'href="/projects/{text_project.pk}/">Back to Reviews</a>' in body and 'href="/">All your projects' in body


def test_an_unknown_page_or_project_says_so_with_a_way_back(text_project, people):
    c = client_for(people["outsider"])
    r = c.get(f"/projects/{text_project.pk}/review/")
    assert r.status_code == 404
    body = r.content.decode()
    assert "No such project" in body and 'class="topbar"' in body and "All your projects" in body
    assert "Back to Reviews" not in body  # an outsider is not told the project's name
    r = c.get("/no/such/page/")
    assert r.status_code == 404 and "There is nothing at this address." in r.content.decode()


def test_an_htmx_403_is_the_notice_alone_and_the_api_keeps_json(text_project, people):
    r = client_for(people["alice"]).get(f"/projects/{text_project.pk}/review/", HTTP_HX_REQUEST="true")
    assert r.status_code == 403
    body = r.content.decode()
    assert 'id="error-page"' in body and "<html" not in body
    r = client_for(people["alice"]).get("/api/no-such-endpoint/")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_403_is_one_warning_line_without_a_traceback(text_project, people, caplog):
    from quorum.lib.logfilters import NoTracebackFor403

    console = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
               and any(isinstance(f, NoTracebackFor403) for f in h.filters)]
    assert console, "settings.LOGGING puts the filter on the console handler"
    caplog.handler.addFilter(NoTracebackFor403())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client_for(people["alice"]).get(f"/projects/{text_project.pk}/review/")
    forbidden = [r for r in caplog.records if r.name == "django.request" and r.status_code == 403]
    assert len(forbidden) == 1 and forbidden[0].exc_info is None
    assert "Traceback" not in caplog.text and "Forbidden (Permission denied)" in caplog.text
