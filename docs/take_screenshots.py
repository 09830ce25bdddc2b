"""Take the README's screenshots from a running demo: `python docs/take_screenshots.py http://127.0.0.1:8000`."""
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).parent / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def settle(page):
    """Wait until the page has fetched everything, lazy thumbnails included, so no image is shot blank."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")


def login(browser, base, username):
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "quorum-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def main(base: str) -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        manager = login(browser, base, "manager")
        project_url = manager.locator("a", has_text="Handwritten digits").first.get_attribute("href")
        pid = re.search(r"/projects/(\d+)/", project_url).group(1)
        manager.goto(f"{base}/projects/{pid}/")
        settle(manager)
        manager.screenshot(path=OUT / "project.png", full_page=True)
        alice = login(browser, base, "alice")
        alice.goto(f"{base}/projects/{pid}/label/")
        settle(alice)
        alice.screenshot(path=OUT / "labeling.png")
        reviewer = login(browser, base, "reviewer")
        reviewer.goto(f"{base}/projects/{pid}/review/")
        settle(reviewer)
        reviewer.screenshot(path=OUT / "review-queue.png")
        first = reviewer.locator("#flag-table tbody tr a").first
        if first.count():
            first.click()
            settle(reviewer)
            reviewer.screenshot(path=OUT / "review-flag.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
