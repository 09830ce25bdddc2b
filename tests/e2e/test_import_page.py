"""Browser: a manager uploads a zip of photos with a wrapping folder, a broken file and two copies with different
labels, and reads the result on the job page (screenshot in docs/screenshots/import-result.png)."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.services import project_create
from tests.data.import_paths import photo, zipped

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_the_import_result_is_readable_in_the_browser(page_for, live_server, people, tmp_path):
    project = project_create(name="Lamp", kind="image", labels=["red", "green", "off"], owner=people["manager"])
    same = photo(1)
    upload = tmp_path / "photos.zip"
    upload.write_bytes(zipped({"images/red/img_12.jpg": same, "images/green/img_40.jpg": same,
                               **{f"images/off/img_{i}.jpg": photo(10 + i) for i in range(3)},
                               "images/off/img_99.jpg": b"\xff\xd8\xff\xe0 cut short", "images/notes.txt": b"roof"}))
    page = page_for("manager")
    page.goto(f"{live_server.url}/projects/{project.pk}/import/")
    assert "/import/" in page.url, page.url
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="Upload and import").click()
    result = page.locator(".import-result")
    expect(result).to_contain_text("4 new items · 1 duplicate")
    expect(result).to_contain_text("its sub-folders were used as labels")
    expect(result).to_contain_text("photos.zip/images/off/img_99.jpg")
    expect(result).to_contain_text("not a readable image")
    expect(result).to_contain_text("red ×1, green ×1")
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('.import-result, .import-result *')]
        .filter(e => e.offsetParent !== null).map(e => parseFloat(getComputedStyle(e).fontSize)))""")
    assert smallest >= 11, smallest
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "import-result.png"), full_page=True)
