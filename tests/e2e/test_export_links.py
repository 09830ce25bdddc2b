"""Issue 16.1 as a new user meets it: export over the API from a server on a non-default port, then open the
export's image link and item link in the browser."""
import io
import json

import pytest
from playwright.sync_api import expect

from data.parse import parse_zip
from data.write import import_rows
from tests.conftest import digits_zip

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_links_in_an_api_export_open_in_the_browser(page_for, live_server, people, image_project):
    data, _ = digits_zip(3)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    import_rows(project=image_project, rows=rows, errors=errors, name="d.zip")
    from api.models import ApiToken

    _, token = ApiToken.issue(user=people["manager"], name="export")
    page = page_for("manager")
    export = page.request.get(f"{live_server.url}/api/projects/{image_project.pk}/export/",
                              headers={"Authorization": f"Token {token}"})
    assert export.status == 200, export.text()
    exported = [json.loads(line) for line in export.text().splitlines()]
    assert len(exported) == 3
    row = exported[0]
    assert row["data"].startswith(live_server.url) and row["url"].startswith(live_server.url)  # not :8000

    response = page.goto(row["data"])
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    image = page.locator("img").first
    expect(image).to_be_visible()
    assert image.evaluate("i => i.complete && i.naturalWidth") > 0

    response = page.goto(row["url"])
    assert response.status == 200
    expect(page.locator("main")).to_contain_text(row["source_name"].split("/")[-1])
