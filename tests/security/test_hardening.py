"""Stored XSS, CSRF, file serving, decompression bombs, invitations, deploy checks."""
import io
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core.invitations import invitation_create
from core.models import Invitation, Item, Membership, Project
from core.services import project_create
from data.parse import check_image, parse_zip
from data.write import import_rows
from tests.conftest import add_texts, png_bytes

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
pytestmark = pytest.mark.django_db


# ---- stored XSS

def test_script_in_items_labels_metadata_and_guidelines_is_rendered_inert(client, people):
    project = project_create(name=f"P{SCRIPT}", kind=Project.Kind.TEXT, labels=[f"bad{SCRIPT}", "ok"],
                             owner=people["manager"],
                             guidelines=f"# Rules\n{SCRIPT}\n<img src=x onerror=alert(2)>\n[x](javascript:alert(3))")
    rows = [{"text": f"hello {SCRIPT}", "note": "<b onmouseover=alert(4)>"}]
    from data.parse import parse_records

    r, e = parse_records("t", rows)
    import_rows(project=project, rows=r, errors=e, name="t")
    client.force_login(people["manager"])
    for url in (reverse("labeling:label", args=[project.pk]), reverse("projects:project", args=[project.pk]),
                reverse("labeling:guidelines", args=[project.pk])):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert not re.search(r"<[^>]*\son(error|mouseover)\s*=", html), url  # escaped text is fine, live attributes not
        assert 'href="javascript:' not in html, url
    page = client.get(reverse("labeling:label", args=[project.pk])).content.decode()
    assert "hello &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "bad&lt;script&gt;" in page


# ---- CSRF on every htmx POST

@pytest.mark.parametrize("name", ["labeling:submit", "labeling:skip", "labeling:undo", "projects:retrain",
                                  "projects:members"])
def test_posts_without_the_csrf_token_are_refused(text_project, people, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["manager"])
    add_texts(text_project, ["x"])
    response = client.post(reverse(name, args=[text_project.pk]), {"label": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403


def test_an_htmx_post_with_the_token_from_the_page_header_is_accepted(text_project, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["alice"])
    add_texts(text_project, ["x"])
    page = client.get(reverse("labeling:label", args=[text_project.pk])).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = client.post(reverse("labeling:skip", args=[text_project.pk]), {}, HTTP_HX_REQUEST="true",
                           HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


# ---- files

def test_images_are_served_with_their_type_nosniff_and_a_sandbox(client, image_project, people):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("3/a.png", png_bytes(40))
    rows, errors = parse_zip("i.zip", io.BytesIO(buf.getvalue()))
    import_rows(project=image_project, rows=rows, errors=errors, name="i.zip")
    client.force_login(people["alice"])
    response = client.get(reverse("projects:item_image", args=[Item.objects.get().pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_stored_file_with_an_html_name_is_never_served_as_html(client, image_project, people, settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    path = default_storage.save("projects/x/evil.html", ContentFile(b"<script>alert(1)</script>"))
    item = Item.objects.create(project=image_project, content_hash="e" * 64, image=path)
    client.force_login(people["alice"])
    response = client.get(reverse("projects:item_image", args=[item.pk]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_a_decompression_bomb_image_is_refused(settings):
    # 12,000 x 12,000 pixels of one colour: a few hundred KB as PNG, 432 MB once decoded.
    settings.QUORUM_MAX_IMAGE_PIXELS = 40_000_000
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG", optimize=True)
    assert len(out.getvalue()) < 2_000_000
    from quorum.lib.errors import ImportRowError

    with pytest.raises(ImportRowError, match="pixel limit|decompression bomb"):
        check_image("bomb.png", out.getvalue())


# ---- sign-up by invitation only

def test_there_is_no_open_sign_up(client):
    for path in ("/signup/", "/register/", "/accounts/signup/", "/accounts/register/"):
        assert client.get(path).status_code == 404


def test_only_managers_see_the_members_page(client, text_project, people):
    for who, status in (("alice", 403), ("reviewer", 403), ("outsider", 404), ("manager", 200)):
        client.force_login(people[who])
        assert client.get(reverse("projects:members", args=[text_project.pk])).status_code == status, who


def test_a_manager_adds_an_existing_user_and_invites_a_new_one(client, text_project, people, make_user):
    make_user("dora")
    client.force_login(people["manager"])
    url = reverse("projects:members", args=[text_project.pk])
    client.post(url, {"action": "add", "username": "dora", "role": "reviewer"})
    assert Membership.objects.get(project=text_project, user__username="dora").role == "reviewer"
    page = client.post(url, {"action": "invite", "role": "annotator", "note": "Eve"}).content.decode()
    link = re.search(r"http://testserver(/invite/[^<\s]+/)", page).group(1)
    token = link.split("/")[2]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64  # only the hash is stored

    newcomer = Client()
    assert newcomer.get(link).status_code == 200
    weak = newcomer.post(link, {"username": "eve", "password": "123"})
    assert weak.status_code == 200 and not get_user_model().objects.filter(username="eve").exists()
    done = newcomer.post(link, {"username": "eve", "password": "a-long-unusual-passphrase-42"})
    assert done.status_code == 302
    assert Membership.objects.get(project=text_project, user__username="eve").role == "annotator"
    assert Client().get(link).status_code == 404  # single use


def test_an_expired_invitation_does_not_work(client, text_project, people):
    invitation, token = invitation_create(project=text_project, role="annotator", created_by=people["manager"])
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/invite/{token}/").status_code == 404
    response = client.post(f"/invite/{token}/", {"username": "late", "password": "a-long-unusual-passphrase-42"})
    assert response.status_code == 404 and not get_user_model().objects.filter(username="late").exists()


# ---- production settings

def _production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL")}
    env.update(QUORUM_PRODUCTION="True", SECRET_KEY=secrets.token_urlsafe(50), SECURE_HSTS_SECONDS="31536000",
               SECURE_HSTS_PRELOAD="True", SECURE_SSL_REDIRECT="True", ALLOWED_HOSTS="quorum.example.org",
               QUORUM_VAR_DIR=extra.pop("var"))
    env.update(extra)
    return env


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = _production_env(var=str(tmp_path))
    env.pop("SECRET_KEY")
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and "SECRET_KEY must be set" in done.stderr
