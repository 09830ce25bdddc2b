"""A new user's first steps: an empty home page that says what to do, the new-project form with every setting,
key hints from the project's own labels, and a refusal page that says why and the way back."""
import pytest
from playwright.sync_api import expect

from core.models import Project
from tests.conftest import add_texts
from tests.e2e.review_support import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_manager_creates_a_three_label_project_and_sees_keys_1_to_3(text_project, people, page_for, live_server):
    page = page_for("manager")
    page.click("#new-project")
    page.fill("#id_name", "Tweets")
    page.select_option("#id_kind", "text")
    page.fill("#id_labels", "pos, neg, neutral")
    expect(page.locator("#id_labels_helptext")).to_contain_text("the first gets key 1, the tenth key 0")
    page.select_option("#id_query_strategy", "margin")
    page.fill("#id_adjudication_k", "3")
    page.fill("#id_consensus_threshold", "0.8")
    _shot(page, "project-new.png")
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Tweets")
    project = Project.objects.get(name="Tweets")
    assert (project.query_strategy, project.adjudication_k, project.consensus_threshold) == ("margin", 3, 0.8)

    add_texts(project, ["first tweet", "second tweet"])
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    expect(page.locator("#label-keys")).to_have_text("1–3 label and next")
    page.keyboard.press("?")
    expect(page.locator("#help-label-keys")).to_have_text("1–3")
    _shot(page, "labeling-help.png")


def test_a_new_member_sees_what_to_do_next_and_why_they_cannot_create(text_project, people, page_for, live_server):
    page = page_for("outsider")
    expect(page.locator("#no-projects")).to_contain_text("Ask a project manager for an invitation link")
    expect(page.locator("#new-project")).to_have_count(0)
    _shot(page, "home-empty.png")
    page.goto(f"{live_server.url}/projects/new/")
    expect(page.locator("#error-reason")).to_contain_text(
        "Creating projects needs a staff account or the manager role in a project")
    expect(page.locator(".topbar")).to_contain_text("Projects")  # the site layout, with its navigation
    page.click("text=All your projects")
    page.wait_for_url(f"{live_server.url}/")


def test_an_annotator_on_a_reviewer_page_is_told_which_role_it_needs(text_project, people, page_for, live_server):
    page = page_for("alice")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/review/")
    expect(page.locator("h1")).to_have_text("You cannot open this page")
    expect(page.locator("#error-reason")).to_have_text("This needs the reviewer role in Reviews.")
    _shot(page, "error-403.png")
    page.click("text=Back to Reviews")
    page.wait_for_url(f"{live_server.url}/projects/{text_project.pk}/")
    page.goto(f"{live_server.url}/projects/{text_project.pk}/review/flags/999999/")
    expect(page.locator("#error-reason")).to_have_text("This needs the reviewer role in Reviews.")
    page.goto(f"{live_server.url}/no/such/page/")
    expect(page.locator("#error-reason")).to_have_text("There is nothing at this address.")
    _shot(page, "error-404.png")


def test_a_staff_user_on_a_fresh_install_is_told_to_create_the_first_project(people, make_user, page_for):
    admin = make_user("admin")
    admin.is_staff = True
    admin.save()
    page = page_for("admin")
    expect(page.locator("#no-projects")).to_contain_text("Create a project")
    expect(page.locator("#new-project")).to_be_visible()
