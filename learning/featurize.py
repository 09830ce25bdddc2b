"""Compute (and cache on disk) the feature matrix of a project's items, in item-id order."""
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image

from core.models import Item, Project
from ml.features import image_features, text_features


def _cache_path(project: Project) -> Path:
    return Path(settings.MEDIA_ROOT) / "features" / f"project-{project.pk}.npz"


def _image_vectors(paths: list[str], on_progress=None) -> np.ndarray:
    rows = []
    for i, name in enumerate(paths):
        try:
            with default_storage.open(name, "rb") as fh, Image.open(fh) as img:
                rows.append(image_features(img))
        except (OSError, ValueError):
            rows.append(None)  # unreadable files get a zero vector; data health reports them
        if on_progress and i % 200 == 0:
            on_progress(i, len(paths))
    width = next((len(r) for r in rows if r is not None), 1)
    return np.vstack([r if r is not None else np.zeros(width, dtype=np.float32) for r in rows])


def project_features(project: Project, on_progress=None):
    """Return (item_ids, X). Image features are cached per content hash; text is re-fit (TF-IDF is cheap)."""
    rows = list(Item.objects.filter(project=project).order_by("id").values_list("id", "content_hash", "text", "image"))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    if not project.is_image:
        return ids, text_features([r[2] for r in rows])
    path = _cache_path(project)
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as data:
            cached = dict(zip(data["hashes"].tolist(), data["X"], strict=True))
    missing = [r for r in rows if r[1] not in cached]
    if missing:
        fresh = _image_vectors([r[3] for r in missing], on_progress)
        cached.update(zip([r[1] for r in missing], fresh, strict=True))
        path.parent.mkdir(parents=True, exist_ok=True)
        hashes = [r[1] for r in rows]
        np.savez(path, hashes=np.array(hashes), X=np.vstack([cached[h] for h in hashes]))
    return ids, np.vstack([cached[r[1]] for r in rows])
