"""Content-Security-Policy: every page, loaded by a manager in chromium, runs under a strict policy (scripts
from our origin only, no inline script, no eval) and the browser reports no violation.

It lives in tests/e2e (not tests/security) to share that folder's one session-wide browser.
The pages are all the URL patterns of the project (the admin's included), so a page added later is covered
too; a pattern with an argument this test does not know fails the test until an example is added here.
"""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from playwright.sync_api import expect

from core.invitations import invitation_create
from core.jobs import KINDS, create_job
from core.models import Item, Job
from data.datasets import version_create
from health.models import Finding
from health.services import compute_health
from review.audits import draw_audit
from tests.e2e.review_support import digits_project_with_flags

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# Not loaded as pages: they end the session, leave the site, are catch-alls or JSON for widgets, or are an
# image (served with its own policy, "default-src 'none'; sandbox", and shown by <img> on the pages loaded).
SKIP = {"logout", "admin:logout", "admin:view_on_site", "admin:autocomplete", "api:not_found",
        "projects:item_image"}
SKIP_PATTERNS = ("(?P<url>", "(?P<rest>")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
STRICT = ("script-src 'self'", "object-src 'none'", "base-uri 'none'")


def _patterns(patterns=None, prefix="", namespace=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), ":".join(filter(None, [namespace, entry.name or ""]))


def _fill(route: str, examples: dict) -> str:
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<app_label>[^)]*\)", "auth", route)

    def one(match):
        name = match.group(1).split(":")[-1]
        assert name in examples, f"no example for <{match.group(1)}> in {route}: add one to this test"
        return str(examples[name])

    return "/" + re.sub(r"<([^>]+)>", one, route)


@pytest.fixture
def site(image_project, people):
    manager = people["manager"]
    manager.is_staff = manager.is_superuser = True  # the admin's pages are loaded too
    manager.save()
    items, flags = digits_project_with_flags(image_project, n=40, flags=4)
    item = Item.objects.filter(project=image_project).first()
    given, predicted = item.final_label, flags[0].suggested_label
    audit = draw_audit(project=image_project, reviewer=manager, size=5, seed=1)
    compute_health(project=image_project)
    finding = Finding.objects.filter(report__project=image_project).first()
    job = create_job(project=image_project, kind=next(iter(KINDS)))
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    version = version_create(project=image_project, name="v1", user=manager)
    version_create(project=image_project, name="v2", user=manager)
    from api.models import ApiToken

    token, _ = ApiToken.issue(user=manager, name="browser")
    _, invite = invitation_create(project=image_project, role="annotator", created_by=manager)
    return {
        "project_id": image_project.pk, "item_id": item.pk, "flag_id": flags[0].pk, "given_id": given.pk,
        "predicted_id": predicted.pk, "audit_id": audit.pk, "finding_id": finding.pk if finding else 1,
        "job_id": job.pk, "token_id": token.pk, "username": "alice", "version": version.name, "other": "v2",
        "token": invite, "object_id": manager.pk, "id": manager.pk, "content_type_id": 1,
    }


def test_every_page_loads_under_a_strict_csp_without_violations(page_for, live_server, site):
    page = page_for("manager")
    violations, seen = [], []
    page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text else None)
    urls = sorted({_fill(route, site) for route, name in _patterns()
                   if name not in SKIP and not any(p in route for p in SKIP_PATTERNS)})
    assert len(urls) > 60
    for path in urls:
        probe = page.request.get(live_server.url + path, headers={"Accept": BROWSER_ACCEPT})
        kind = probe.headers.get("content-type", "")
        if probe.status == 405 or not kind.startswith("text/html") or not probe.body() or "attachment" in \
                probe.headers.get("content-disposition", ""):
            assert all(part in probe.headers.get("content-security-policy", "") for part in STRICT), path
            seen.append((path, f"{probe.status} {kind}"))  # POST only, a file, JSON, empty: no page
            continue
        response = page.goto(live_server.url + path)
        seen.append((path, response.status))
        policy = response.headers.get("content-security-policy", "")
        if response.status < 400 or policy:  # a bare 404/405 of a POST-only URL still gets the policy
            assert all(part in policy for part in STRICT), (path, policy)
            assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        page.wait_for_load_state("load")
        page.wait_for_function("!document.querySelector('.htmx-request')")
    assert not violations, "\n".join(violations)
    assert sum(1 for _, status in seen if status == 200) > 40, seen


def test_htmx_runs_without_eval_and_the_select_all_button_still_works(page_for, live_server, site):
    page = page_for("manager")
    page.goto(live_server.url + _fill("projects/<int:project_id>/review/confusion/<int:given_id>/"
                                      "<int:predicted_id>/", site))
    page.wait_for_function("window.htmx !== undefined")
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.evaluate("htmx.config.allowScriptTags") is False
    boxes = page.locator("#bulk-form input[name=items]")
    expect(boxes.first).not_to_be_checked()
    page.locator("#select-all").click()
    assert all(boxes.evaluate_all("els => els.map(e => e.checked)"))
    # An inline script injected into the page is refused by the browser, and says so.
    with page.expect_console_message(lambda msg: "inline script" in msg.text):
        page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';
                                 document.body.appendChild(s); }""")
    assert page.evaluate("window.pwned === undefined")


def test_an_item_image_opened_on_its_own_shows_the_image(page_for, live_server, site):
    """The image URL keeps its own locked-down policy (no script, sandboxed) and still displays when opened
    directly, as a reviewer does from an export link."""
    page = page_for("manager")
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    response = page.goto(f"{live_server.url}/items/{site['item_id']}/image/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    image = page.locator("img").first
    expect(image).to_be_visible()
    assert image.evaluate("i => i.complete && i.naturalWidth") > 0
    assert not violations, violations
