"""Compute (and cache on disk) the feature matrix of a project's items, in item-id order.

The features come from the project's embedder (its LearningSettings, else QUORUM_EMBEDDER), computed in
batches with progress and cached per content hash and embedder version; or, when the newest uploaded model
version carries an embedding for every item, from those uploaded embeddings.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image

from core.models import Item, Project
from learning.models import LearningSettings, ModelVersion, Prediction
from ml.embedders import combine, get_embedder

BATCH = 64


@dataclass
class Features:
    ids: np.ndarray  # (n_items,) item ids in id order
    X: object  # (n_items, d) dense float32, or sparse when TF-IDF is part of it
    info: dict = field(default_factory=dict)  # name, version, dim, source: stored on each model version


def embedder_spec(project: Project) -> str:
    chosen = LearningSettings.objects.filter(project=project).values_list("embedder", flat=True).first()
    return chosen or settings.QUORUM_EMBEDDER


def project_seed(project: Project) -> int:
    """The project's stored seed (created on first use): every random choice takes it."""
    return int(LearningSettings.of(project).seed)


def _cache_path(project: Project, name: str, version: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9.+-]+", "_", f"{name}-{version}")
    return Path(settings.MEDIA_ROOT) / "features" / f"project-{project.pk}-{slug}.npz"


def _open_image(name: str) -> Image.Image | None:
    try:
        with default_storage.open(name, "rb") as fh, Image.open(fh) as img:
            img.load()
            return img.copy()
    except (OSError, ValueError):
        return None  # unreadable files get a zero vector; data health reports them


def _embed_batches(embedder, rows: list, is_image: bool, on_progress=None) -> np.ndarray:
    """Per-item vectors for ``rows`` (id, hash, text, image), BATCH at a time, reporting progress."""
    out, width = [], None
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        if is_image:
            images = [_open_image(r[3]) for r in chunk]
            good = [img for img in images if img is not None]
            vecs = embedder.embed(good) if good else np.zeros((0, width or 0), dtype=np.float32)
            width = vecs.shape[1] if good else width
            it = iter(vecs)
            out.append([next(it) if img is not None else None for img in images])
        else:
            vecs = embedder.embed([r[2] or "" for r in chunk])
            width = vecs.shape[1]
            out.append(list(vecs))
        if on_progress:
            on_progress(min(start + BATCH, len(rows)), len(rows))
    width = width or 0
    flat = [v if v is not None else np.zeros(width, dtype=np.float32) for part in out for v in part]
    return np.vstack(flat).astype(np.float32) if flat else np.zeros((0, width), dtype=np.float32)


def _cached_vectors(project: Project, embedder, rows: list, on_progress=None) -> np.ndarray:
    path = _cache_path(project, embedder.name, embedder.version)
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as data:
            cached = dict(zip(data["hashes"].tolist(), data["X"], strict=True))
    missing = [r for r in rows if r[1] not in cached]
    if missing:
        fresh = _embed_batches(embedder, missing, project.is_image, on_progress)
        cached.update(zip([r[1] for r in missing], fresh, strict=True))
        hashes = [r[1] for r in rows]
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, hashes=np.array(hashes), X=np.vstack([cached[h] for h in hashes]) if hashes else np.zeros((0, 0)))
    if not rows:
        return np.zeros((0, getattr(embedder, "dim", 0)), dtype=np.float32)
    return np.vstack([cached[r[1]] for r in rows]).astype(np.float32)


def uploaded_embeddings(project: Project, ids: np.ndarray) -> tuple[np.ndarray, dict] | None:
    """(X, info) from the newest uploaded model version whose predictions carry an embedding for every item."""
    if len(ids) == 0:
        return None
    # newest upload first; each probe reads one version's rows through the (model_version, item) index
    uploads = ModelVersion.objects.filter(project=project, origin=ModelVersion.Origin.UPLOADED)
    version = next((v for v in uploads.iterator(chunk_size=20)
                    if Prediction.objects.filter(model_version=v, embedding__isnull=False).exists()), None)
    if version is None:
        return None
    vectors = dict(Prediction.objects.filter(model_version=version, embedding__isnull=False)
                   .values_list("item_id", "embedding").iterator(chunk_size=2000))
    if any(int(i) not in vectors for i in ids):
        return None  # items imported after the upload have no vector: fall back to the embedder
    X = np.asarray([vectors[int(i)] for i in ids], dtype=np.float32)
    return X, {"name": "uploaded", "version": version.name, "dim": int(X.shape[1]), "source": "upload",
               "model_version": version.pk}


def project_embedding(project: Project, on_progress=None) -> Features:
    """The project's item features, with what produced them (``info``)."""
    rows = list(Item.objects.filter(project=project).order_by("id").values_list("id", "content_hash", "text", "image"))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    uploaded = uploaded_embeddings(project, ids)
    if uploaded is not None:
        return Features(ids, uploaded[0], uploaded[1])
    embedder = get_embedder(embedder_spec(project), "image" if project.is_image else "text")
    vectors = _cached_vectors(project, embedder, rows, on_progress)
    corpus = None
    if hasattr(embedder, "corpus_features") and rows:
        corpus = embedder.corpus_features([r[2] or "" for r in rows])
    X = combine(vectors, corpus)
    info = {"name": embedder.name, "version": embedder.version, "dim": int(X.shape[1]), "source": "embedder"}
    return Features(ids, X, info)


def project_features(project: Project, on_progress=None):
    """Return (item_ids, X): ``project_embedding`` without the description."""
    features = project_embedding(project, on_progress)
    return features.ids, features.X
