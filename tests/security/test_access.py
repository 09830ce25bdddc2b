"""Cross-project IDOR: every page and API endpoint known at this point, as an outsider (404) and as each role."""
import pytest
from django.urls import reverse

from data.job_kinds import IMPORT
from review.models import Flag
from tests.conftest import add_texts, png_bytes

pytestmark = pytest.mark.django_db

A, R, M = "annotator", "reviewer", "manager"
# (name, method, url builder, lowest role that may use it)
ENDPOINTS = [
    ("project", "get", lambda o: reverse("projects:project", args=[o["p"]]), A),
    ("label page", "get", lambda o: reverse("labeling:label", args=[o["p"]]), A),
    ("submit", "post", lambda o: reverse("labeling:submit", args=[o["p"]]), A),
    ("skip", "post", lambda o: reverse("labeling:skip", args=[o["p"]]), A),
    ("undo", "post", lambda o: reverse("labeling:undo", args=[o["p"]]), A),
    ("guidelines", "get", lambda o: reverse("labeling:guidelines", args=[o["p"]]), A),
    ("job", "get", lambda o: reverse("projects:job", args=[o["job"]]), A),
    ("item image", "get", lambda o: reverse("projects:item_image", args=[o["image"]]), A),
    ("retrain", "post", lambda o: reverse("projects:retrain", args=[o["p"]]), M),
    ("import", "get", lambda o: reverse("data:import", args=[o["p"]]), M),
    ("members", "get", lambda o: reverse("projects:members", args=[o["p"]]), M),
    ("review queue", "get", lambda o: reverse("review:queue", args=[o["p"]]), R),
    ("flag", "get", lambda o: reverse("review:flag", args=[o["p"], o["flag"]]), R),
    ("resolve flag", "post", lambda o: reverse("review:resolve", args=[o["p"], o["flag"]]), R),
    ("api project", "get", lambda o: f"/api/projects/{o['p']}/", A),
    ("api items", "get", lambda o: f"/api/projects/{o['p']}/items/", A),
    ("api import", "post", lambda o: f"/api/projects/{o['p']}/items/", M),
    ("api flags", "get", lambda o: f"/api/projects/{o['p']}/flags/", R),
    ("api export", "get", lambda o: f"/api/projects/{o['p']}/export/", A),
    ("api job", "get", lambda o: f"/api/jobs/{o['job']}/", A),
]
RANK = {A: 1, R: 2, M: 3}


@pytest.fixture
def objects(text_project, image_project, people):
    import io
    import zipfile

    from core.models import Item, Job
    from data.parse import parse_zip
    from data.write import import_rows

    add_texts(text_project, ["one", "two"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("3/a.png", png_bytes(30))
    rows, errors = parse_zip("i.zip", io.BytesIO(buf.getvalue()))
    import_rows(project=image_project, rows=rows, errors=errors, name="i.zip")
    item = Item.objects.filter(project=text_project).first()
    flag = Flag.objects.create(project=text_project, item=item, reason=Flag.Reason.ANNOTATOR_DISAGREEMENT,
                               score=0.5, explanation="x")
    job = Job.objects.create(project=text_project, kind=IMPORT)
    image = Item.objects.get(project=image_project)
    # The image item belongs to image_project; the outsider check below uses text_project's members only.
    return {"p": text_project.pk, "flag": flag.pk, "job": job.pk, "image": image.pk}


def _call(client, method, url):
    return client.post(url, {}) if method == "post" else client.get(url)


@pytest.mark.parametrize("name,method,url,role", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_a_user_of_another_project_gets_404(client, objects, people, name, method, url, role):
    client.force_login(people["outsider"])
    response = _call(client, method, url(objects))
    assert response.status_code == 404, f"{name}: {response.status_code}"


@pytest.mark.parametrize("name,method,url,role", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("who,as_role", [("alice", A), ("reviewer", R), ("manager", M)])
def test_each_role_gets_in_or_403_never_another_projects_data(client, objects, people, image_project, name, method,
                                                               url, role, who, as_role):
    from core.models import Role
    from core.services import membership_set

    membership_set(project=image_project, user=people[who], role=Role(as_role))  # so the image is theirs too
    client.force_login(people[who])
    response = _call(client, method, url(objects))
    if RANK[as_role] >= RANK[role]:
        # In: the page, a redirect, or a validation answer to the empty POST; never refused or crashed.
        assert response.status_code in (200, 201, 302, 400, 409), f"{name} as {as_role}: {response.status_code}"
    else:
        assert response.status_code == 403, f"{name} as {as_role}: {response.status_code}"


def test_anonymous_users_are_sent_to_login_or_get_401(client, objects):
    for name, method, url, _ in ENDPOINTS:
        response = _call(client, method, url(objects))
        assert response.status_code in (302, 401, 403), name
        if response.status_code == 302:
            assert response["Location"].startswith("/login/"), name


def test_user_controlled_filters_cannot_probe_password_hashes(client, objects, people):
    client.force_login(people["alice"])
    base = client.get(f"/api/projects/{objects['p']}/items/").json()
    for probe in ("annotations__annotator__password__startswith=pbkdf2",
                  "created_by__password__startswith=x", "project__memberships__user__password__regex=^p"):
        probed = client.get(f"/api/projects/{objects['p']}/items/?{probe}")
        assert probed.status_code in (200, 400)
        if probed.status_code == 200:
            assert probed.json() == base, probe  # the filter is ignored, so it reveals nothing
    assert b"pbkdf2" not in client.get(f"/api/projects/{objects['p']}/items/").content
