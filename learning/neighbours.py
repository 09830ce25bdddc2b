"""Nearest labeled items from a small stored copy of the item features: built in the worker, read by pages.

A retrain (or, for a version that has none yet, a background task) reduces the feature matrix it already has
to at most ``DIMS`` dense columns and stores it with the version, under
MEDIA_ROOT/neighbours/project-<p>/version-<v>/: ``ids.npy`` (n,) item ids ascending, ``vectors.npy`` (n, w)
float32, ``labeled.npy`` positions of the rows labeled when it was built, ``meta.json``. A page then does one
product of the labeled rows (kept in memory per process and version) with one row read from a memory map:
no TF-IDF fit, no image read, no neighbour search structure in the request.
"""
from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from scipy import sparse
from sklearn.decomposition import PCA, TruncatedSVD

from core.jobs import send_task
from core.models import Item, Project
from learning.featurize import project_features
from learning.models import ModelVersion

DIMS = 64  # 256 bytes an item: 100,000 labeled items keep 25 MB in a web process
FIT_ROWS = 50_000  # rows the projection is fitted on; every row is then transformed
CHUNK = 50_000
BUILD_TASK = "learning.neighbours.build_index"
BUILD_CLAIM_SECONDS = 600  # one background build per version in this window, however many pages ask


@dataclass(frozen=True)
class Snapshot:
    """What is stored for a version: item ids (n,), reduced vectors (n, w), labeled row positions (m,)."""

    ids: np.ndarray
    vectors: np.ndarray
    labeled: np.ndarray
    metric: str


def metric_for(project: Project) -> str:
    """Image features are compared as they were before (euclidean); TF-IDF rows by cosine."""
    return "euclidean" if project.is_image else "cosine"


def reduce(X, *, metric: str, random_state: int = 0) -> np.ndarray:
    """Rows of ``X`` (n, d), dense or sparse, as float32 (n, w) with w <= DIMS.

    Exact when d <= DIMS or n <= DIMS (then X X^T is kept: distances and inner products unchanged); else
    TruncatedSVD for sparse rows, PCA for dense, fitted on at most FIT_ROWS rows. Cosine rows are
    L2-normalised, so a dot product is the cosine.
    """
    n, d = X.shape
    if n == 0:
        return np.zeros((0, 1), dtype=np.float32)
    if d <= DIMS:
        Z = X.toarray() if sparse.issparse(X) else np.asarray(X, dtype=np.float64)
    elif n <= DIMS:
        dense = X.toarray() if sparse.issparse(X) else np.asarray(X, dtype=np.float64)
        U, S, _ = np.linalg.svd(dense, full_matrices=False)
        Z = U * S
    else:
        return _project(X, metric=metric, random_state=random_state)
    return _finish(Z, metric)


def _project(X, *, metric: str, random_state: int) -> np.ndarray:
    """Fit the projection on at most FIT_ROWS rows, then transform in chunks: time and memory stay bounded."""
    n = X.shape[0]
    rows = np.sort(np.random.default_rng(random_state).choice(n, size=min(n, FIT_ROWS), replace=False))
    if sparse.issparse(X):
        X = sparse.csr_matrix(X)
        model, as_input = TruncatedSVD(n_components=DIMS, random_state=random_state), (lambda part: part)
    else:  # float64 a chunk at a time: the whole matrix is not copied
        model, as_input = PCA(n_components=DIMS, random_state=random_state), (lambda part: np.asarray(part, float))
    model.fit(as_input(X[rows]))
    out = np.empty((n, DIMS), dtype=np.float32)
    for start in range(0, n, CHUNK):
        out[start:start + CHUNK] = _finish(model.transform(as_input(X[start:start + CHUNK])), metric)
    return out


def _finish(Z: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":
        norms = np.linalg.norm(Z, axis=1, keepdims=True)
        Z = Z / np.where(norms > 0, norms, 1.0)
    return np.ascontiguousarray(Z, dtype=np.float32)


def snapshot(project: Project, ids: np.ndarray, X, *, random_state: int = 0) -> Snapshot:
    """Reduce the project's features ``X`` (rows in ``ids`` order) and note which rows are labeled now.

    Labeled means what the review screen shows as a neighbour: a final label, not excluded.
    """
    labeled = set(Item.objects.filter(project=project, final_label__isnull=False, excluded=False)
                  .values_list("pk", flat=True))
    ids = np.asarray(ids, dtype=np.int64)
    positions = np.array([n for n, i in enumerate(ids.tolist()) if i in labeled], dtype=np.int64)
    metric = metric_for(project)
    return Snapshot(ids=ids, vectors=reduce(X, metric=metric, random_state=random_state), labeled=positions, metric=metric)


def index_dir(project_id: int, version_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "neighbours" / f"project-{project_id}" / f"version-{version_id}"


def save(version: ModelVersion, snap: Snapshot) -> Path:
    """Store ``snap`` for ``version`` (whole or not at all) and drop the project's older indexes."""
    path = index_dir(version.project_id, version.pk)
    if not path.exists():
        tmp = path.with_name(f".{path.name}-{uuid.uuid4().hex}")
        tmp.mkdir(parents=True)
        np.save(tmp / "ids.npy", snap.ids)
        np.save(tmp / "vectors.npy", snap.vectors)
        np.save(tmp / "labeled.npy", snap.labeled)
        (tmp / "meta.json").write_text(json.dumps({"metric": snap.metric, "version": version.pk}))
        try:
            tmp.rename(path)  # atomic: a reader sees no index or a whole one
        except OSError:  # another build of the same version got there first
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(path)
    return path


def _prune(keep: Path) -> None:
    number = int(keep.name.split("-")[1])
    for other in keep.parent.glob("version-*"):
        if int(other.name.split("-")[1]) < number:
            shutil.rmtree(other, ignore_errors=True)


def ensure(version: ModelVersion, *, ids: np.ndarray | None = None, X=None) -> Path:
    """Build ``version``'s index unless it exists, from ``ids, X`` when the caller has the features."""
    path = index_dir(version.project_id, version.pk)
    if (path / "meta.json").exists():
        return path
    if ids is None:
        ids, X = project_features(version.project)
    return save(version, snapshot(version.project, ids, X))


@shared_task(name=BUILD_TASK, acks_late=True, reject_on_worker_lost=True)
def build_index(version_id: int) -> None:
    """Background build for a version stored without an index (uploaded, or trained before indexes existed)."""
    version = ModelVersion.objects.select_related("project").filter(pk=version_id).first()
    if version is not None:
        ensure(version)


@dataclass(frozen=True)
class Index:
    """A stored index, opened: ids and vectors memory-mapped, the labeled rows in memory."""

    version_id: int
    metric: str
    ids: np.ndarray  # (n,) ascending
    vectors: np.ndarray  # (n, w)
    labeled_ids: np.ndarray  # (m,)
    labeled: np.ndarray  # (m, w)
    labeled_sq: np.ndarray  # (m,) squared norms, for euclidean distances

    def __contains__(self, item_id: int) -> bool:
        return self._position(item_id) is not None

    def _position(self, item_id: int) -> int | None:
        pos = int(np.searchsorted(self.ids, item_id))
        return pos if pos < len(self.ids) and int(self.ids[pos]) == item_id else None

    def nearest(self, item_id: int, k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (item id, distance) of labeled rows closest to ``item_id``'s row, closest first (ties by id).

        The item itself is left out; [] when it is not in the index.
        """
        pos = self._position(item_id)
        if pos is None or len(self.labeled_ids) == 0:
            return []
        q = np.asarray(self.vectors[pos], dtype=np.float32)
        dot = self.labeled @ q
        if self.metric == "cosine":
            dist = 1.0 - dot
        else:
            dist = np.sqrt(np.maximum(self.labeled_sq + float(q @ q) - 2.0 * dot, 0.0))
        dist = np.where(self.labeled_ids == item_id, np.inf, dist)
        k = min(k, int(np.isfinite(dist).sum()))
        if k <= 0:
            return []
        top = np.argpartition(dist, k - 1)[:k] if k < len(dist) else np.arange(len(dist))
        top = top[np.lexsort((self.labeled_ids[top], dist[top]))]
        return [(int(self.labeled_ids[j]), max(float(dist[j]), 0.0)) for j in top]


def open_index(project_id: int, version_id: int) -> Index | None:
    """The stored index of a version, None if it has not been built (yet)."""
    path = index_dir(project_id, version_id)
    if not (path / "meta.json").exists():
        return None
    return _open(str(path))


@lru_cache(maxsize=8)
def _open(path: str) -> Index:
    """Per process and index folder (a folder is written once and never changed, only removed)."""
    root = Path(path)
    meta = json.loads((root / "meta.json").read_text())
    ids = np.load(root / "ids.npy", mmap_mode="r")
    vectors = np.load(root / "vectors.npy", mmap_mode="r")
    positions = np.load(root / "labeled.npy")
    labeled = np.ascontiguousarray(vectors[positions], dtype=np.float32)
    return Index(version_id=int(meta["version"]), metric=meta["metric"], ids=ids, vectors=vectors,
                 labeled_ids=np.asarray(ids[positions], dtype=np.int64), labeled=labeled,
                 labeled_sq=np.einsum("ij,ij->i", labeled, labeled))


def request_build(version: ModelVersion) -> None:
    """Ask a worker to build ``version``'s index, at most once per claim window (eager runs build it here)."""
    key = f"neighbours-build:{version.pk}:{version.created_at.timestamp()}"
    if cache.add(key, 1, timeout=BUILD_CLAIM_SECONDS):
        send_task(BUILD_TASK, args=[version.pk])


def latest_index(project: Project) -> tuple[Index | None, str]:
    """The index of the project's latest model version, or None and a short note saying why there is none.

    A version stored without one has it built in the background; meanwhile an older version's index serves.
    """
    version = ModelVersion.objects.filter(project=project).only("pk", "name", "created_at", "project_id").first()
    if version is None:
        return None, "Similar labeled items appear once a model has been trained."
    index = open_index(project.pk, version.pk)
    if index is None:
        request_build(version)
        index = open_index(project.pk, version.pk) or _older_index(project.pk, version.pk)
    if index is None:
        return None, f"Similar labeled items for model {version.name} are being computed; reload in a moment."
    return index, ""


def _older_index(project_id: int, version_id: int) -> Index | None:
    older = sorted((int(p.name.split("-")[1]) for p in index_dir(project_id, version_id).parent.glob("version-*")),
                   reverse=True)
    return next((idx for v in older if v < version_id and (idx := open_index(project_id, v)) is not None), None)
