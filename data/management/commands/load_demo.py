"""Build the demo: scikit-learn's digits as upscaled PNGs, ~10% wrong given labels, four demo users."""
import io
import zipfile

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image
from sklearn.datasets import load_digits

from core.models import Project, Role
from core.services import membership_set, project_create
from data.parse import parse_zip
from data.write import import_rows
from learning.schedule import request_retrain

DEMO_NAME = "Handwritten digits (demo)"
USERS = [("manager", Role.MANAGER), ("reviewer", Role.REVIEWER), ("alice", Role.ANNOTATOR), ("bob", Role.ANNOTATOR)]
PASSWORD = "quorum-demo"
GUIDELINES = """# Handwritten digits

Pick the digit you see and press its key on the keyboard.

* If the digit is unreadable, press **S** to skip it.
* Some given labels are wrong on purpose: the model will flag them for review.
"""


def digit_png(pixels: np.ndarray, scale: int = 16) -> bytes:
    """An 8x8 digits image (0-16 ink) as a readable black-on-white PNG of 8*scale pixels."""
    grey = (255 - pixels.reshape(8, 8) * (255 / 16)).astype(np.uint8)
    image = Image.fromarray(grey, mode="L").resize((8 * scale, 8 * scale), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


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


class Command(BaseCommand):
    help = "Load the demo digits project and demo users (idempotent: does nothing if it exists)."

    def add_arguments(self, parser):
        parser.add_argument("--given", type=int, default=1000, help="Items that come with a given label.")
        parser.add_argument("--noise", type=float, default=0.10, help="Share of given labels that are wrong.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, given, noise, seed, **options):
        users = self._users()
        if Project.objects.filter(name=DEMO_NAME).exists():
            self.stdout.write("Demo project already loaded.")
            self._print_logins()
            return
        data, n_wrong = demo_zip(n_given=given, noise=noise, seed=seed)
        with transaction.atomic():
            project = project_create(name=DEMO_NAME, kind=Project.Kind.IMAGE, owner=users["manager"],
                                     labels=[str(d) for d in [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]],
                                     guidelines=GUIDELINES, overlap=1, retrain_every=20)
            for username, role in USERS[1:]:
                membership_set(project=project, user=users[username], role=role)
            rows, errors = parse_zip("digits.zip", io.BytesIO(data))
            result = import_rows(project=project, rows=rows, errors=errors, name="digits.zip")
            # The worker trains the first model, ranks the queue and flags suspicious given labels.
            request_retrain(project=project, user=users["manager"])
        self.stdout.write(self.style.SUCCESS(
            f"Loaded '{DEMO_NAME}': {result.created} items, {given} with given labels ({n_wrong} wrong on purpose)."))
        self._print_logins()

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
