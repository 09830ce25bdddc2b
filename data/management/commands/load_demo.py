"""Build the demo: scikit-learn's digits as upscaled PNGs (~10% wrong given labels), a small text project of
product reviews, and four demo users."""
import io
import zipfile

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from sklearn.datasets import load_digits

from core import jobs
from core.models import Project, Role
from core.services import membership_set, project_create
from data.datasets import version_create
from data.job_kinds import IMPORT
from data.parse import parse_records, parse_zip
from data.write import import_rows
from learning.schedule import request_retrain
from ml.synthetic import digit_png

DEMO_NAME = "Handwritten digits (demo)"
TEXT_DEMO_NAME = "Product reviews (demo)"
USERS = [("manager", Role.MANAGER), ("reviewer", Role.REVIEWER), ("alice", Role.ANNOTATOR), ("bob", Role.ANNOTATOR)]
PASSWORD = "quorum-demo"
GUIDELINES = """# Handwritten digits

Pick the digit you see and press its key on the keyboard.

* If the digit is unreadable, press **S** to skip it.
* Some given labels are wrong on purpose: the model will flag them for review.
"""


TEXT_GUIDELINES = """# Product reviews

Is the customer happy (**positive**), unhappy (**negative**), or neither (**neutral**, e.g. a question)?
"""
PRODUCTS = ["phone", "charger", "headphones", "laptop", "kettle", "watch"]
TEMPLATES = {
    "positive": ["great {p}, works perfectly", "love this {p}, would buy again", "the {p} arrived early and works well",
                 "best {p} I have owned", "excellent {p} for the price"],
    "negative": ["the {p} broke after a week", "battery died, the {p} is useless", "{p} stopped working, I want a refund",
                 "terrible {p}, returned it", "the {p} arrived scratched and does not turn on"],
    "neutral": ["the {p} arrived on tuesday", "is the {p} available in blue?", "ordered a {p} for my brother",
                "the {p} comes in a cardboard box", "how long is the warranty on the {p}?"],
}


def review_records() -> list[dict]:
    """90 short reviews (3 classes x 5 phrasings x 6 products) with shop and time-of-day metadata; every
    other one carries its given label, so the text demo starts with a model and an open queue."""
    records = []
    for p_index, product in enumerate(PRODUCTS):
        for label, phrasings in TEMPLATES.items():
            for t_index, template in enumerate(phrasings):
                n = len(records)
                record = {"text": template.format(p=product), "shop": "AB"[(p_index + t_index) % 2],
                          "time": "night" if t_index % 3 == 0 else "day"}
                if n % 2 == 0:
                    record["label"] = label
                records.append(record)
    return records


def demo_zip(*, n_given: int, noise: float, seed: int) -> tuple[bytes, int]:
    """A zip of all digits; the first ``n_given`` (shuffled) sit in class folders, ``noise`` of them wrong."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.target))
    wrong = set(rng.choice(n_given, size=int(noise * n_given), replace=False).tolist())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rank, idx in enumerate(order):
            label = int(digits.target[idx])
            if rank < n_given:
                if rank in wrong:
                    label = int((label + rng.integers(1, 10)) % 10)
                name = f"{label}/digit-{idx:04d}.png"
            else:
                name = f"digit-{idx:04d}.png"
            zf.writestr(name, digit_png(digits.images[idx]))
    return buf.getvalue(), len(wrong)


def _record_import(project, user, name: str, result) -> None:
    """The demo's import as a finished import job, so the import page lists it like an upload."""
    job = jobs.create_job(project=project, kind=IMPORT, user=user, params={"name": name})
    jobs.start(job, total=1, message=f"Validating {name}")
    jobs.finish(job, result=result.as_dict(), message=result.summary())


class Command(BaseCommand):
    help = "Load the demo projects (digits, product reviews) and demo users (idempotent: skips what exists)."

    def add_arguments(self, parser):
        parser.add_argument("--given", type=int, default=1000, help="Items that come with a given label.")
        parser.add_argument("--noise", type=float, default=0.10, help="Share of given labels that are wrong.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, given, noise, seed, **options):
        users = self._users()
        if Project.objects.filter(name=DEMO_NAME).exists():
            self.stdout.write("Demo project already loaded.")
        else:
            self._digits(users, given=given, noise=noise, seed=seed)
        if Project.objects.filter(name=TEXT_DEMO_NAME).exists():
            self.stdout.write("Text demo project already loaded.")
        else:
            self._reviews(users)
        self._print_logins()

    def _digits(self, users, *, given, noise, seed):
        data, n_wrong = demo_zip(n_given=given, noise=noise, seed=seed)
        with transaction.atomic():
            project = project_create(name=DEMO_NAME, kind=Project.Kind.IMAGE, owner=users["manager"],
                                     labels=[str(d) for d in [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]],
                                     guidelines=GUIDELINES, overlap=1, retrain_every=20)
            self._members(project, users)
            rows, errors = parse_zip("digits.zip", io.BytesIO(data))
            result = import_rows(project=project, rows=rows, errors=errors, name="digits.zip")
            _record_import(project, users["manager"], "digits.zip", result)
            # The worker trains the first model, ranks the queue and flags suspicious given labels.
            request_retrain(project=project, user=users["manager"])
        self.stdout.write(self.style.SUCCESS(
            f"Loaded '{DEMO_NAME}' (project {project.pk}): {result.created} items, {given} with given labels "
            f"({n_wrong} wrong on purpose)."))

    def _reviews(self, users):
        with transaction.atomic():
            project = project_create(name=TEXT_DEMO_NAME, kind=Project.Kind.TEXT, owner=users["manager"],
                                     labels=["positive", "negative", "neutral"], guidelines=TEXT_GUIDELINES,
                                     overlap=1, retrain_every=20)
            self._members(project, users)
            rows, errors = parse_records("reviews.json", review_records())
            result = import_rows(project=project, rows=rows, errors=errors, name="reviews.json")
            _record_import(project, users["manager"], "reviews.json", result)
            # A first frozen dataset version, so the README's version examples (export, diff) have one to use.
            version_create(project=project, name="v1", user=users["manager"], description="the given labels")
            request_retrain(project=project, user=users["manager"])
        self.stdout.write(self.style.SUCCESS(
            f"Loaded '{TEXT_DEMO_NAME}' (project {project.pk}): {result.created} reviews, half with given labels "
            "(frozen as dataset version v1)."))

    @staticmethod
    def _members(project, users):
        for username, role in USERS[1:]:
            membership_set(project=project, user=users[username], role=role)

    def _users(self):
        User = get_user_model()
        users = {}
        for username, role in USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(PASSWORD)
                user.is_staff = role == Role.MANAGER
                user.save()
            users[username] = user
        return users

    def _print_logins(self):
        names = ", ".join(f"{u} ({r})" for u, r in USERS)
        self.stdout.write(f"Demo logins (password '{PASSWORD}'): {names}")
