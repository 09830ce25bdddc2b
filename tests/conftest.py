"""Shared fixtures: a project with an owner, members of each role and an outsider (as healthchecks does)."""
import io

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from PIL import Image

from core.models import Project, Role
from core.services import membership_set, project_create
from data.parse import parse_records
from data.write import import_rows


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from quorum.celery import app

    app.conf.task_always_eager = True
    yield


@pytest.fixture
def make_user(db):
    def _make(username, password="pw-for-tests-1"):
        return get_user_model().objects.create_user(username=username, password=password)

    return _make


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("manager", "reviewer", "alice", "bob", "carol", "outsider")}


def add_members(project, people):
    membership_set(project=project, user=people["reviewer"], role=Role.REVIEWER)
    for name in ("alice", "bob", "carol"):
        membership_set(project=project, user=people[name], role=Role.ANNOTATOR)


@pytest.fixture
def text_project(people):
    project = project_create(name="Reviews", kind=Project.Kind.TEXT, labels=["positive", "negative", "neutral"],
                             owner=people["manager"], guidelines="# Be kind")
    add_members(project, people)
    return project


def add_texts(project, texts, labels=None):
    records = [{"text": t, **({"label": labels[i]} if labels and labels[i] else {})} for i, t in enumerate(texts)]
    rows, errors = parse_records("test", records)
    return import_rows(project=project, rows=rows, errors=errors, name="test")


def png_bytes(value: int = 128, size: int = 16, color=None) -> bytes:
    image = Image.new("RGB", (size, size), color or (value, value, value))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def digits_zip(n: int = 120, *, seed: int = 0, wrong: int = 0) -> tuple[bytes, list[int]]:
    """A zip of ``n`` digits in class folders; the first ``wrong`` get a wrong folder. Returns (zip, wrong idx)."""
    import zipfile

    from sklearn.datasets import load_digits

    from ml.synthetic import digit_png

    digits = load_digits()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(digits.target), size=n, replace=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rank, i in enumerate(idx):
            label = int(digits.target[i]) if rank >= wrong else (int(digits.target[i]) + 3) % 10
            zf.writestr(f"{label}/d{i}.png", digit_png(digits.images[i], scale=4))
    return buf.getvalue(), list(idx[:wrong])


@pytest.fixture
def image_project(people):
    project = project_create(name="Digits", kind=Project.Kind.IMAGE, labels=[str(d) for d in range(10)],
                             owner=people["manager"], retrain_every=1000)
    add_members(project, people)
    return project


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
