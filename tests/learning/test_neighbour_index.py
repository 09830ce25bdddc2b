"""The neighbour index: reduced vectors keep near copies together, and a lookup is exact on what it stores."""
import numpy as np
from sklearn.metrics.pairwise import cosine_distances, euclidean_distances

from learning.neighbours import DIMS, Index, reduce
from ml.features import text_features

WORDS = [f"w{n}" for n in range(400)]


def _corpus(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=10)) for _ in range(n)]


def _index(Z: np.ndarray, ids, labeled, metric: str) -> Index:
    ids = np.asarray(ids, dtype=np.int64)
    rows = np.asarray(Z[labeled], dtype=np.float32)
    return Index(version_id=1, metric=metric, ids=ids, vectors=Z, labeled_ids=ids[labeled], labeled=rows,
                 labeled_sq=(rows * rows).sum(axis=1))


def test_reduced_text_rows_are_small_unit_vectors():
    Z = reduce(text_features(_corpus(300)), metric="cosine")
    assert Z.shape == (300, DIMS) and Z.dtype == np.float32
    assert np.allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)


def test_small_inputs_are_reduced_without_changing_any_distance():
    X = text_features(_corpus(20))  # more terms than DIMS, fewer rows: an exact rotation
    Z = reduce(X, metric="cosine")
    assert np.allclose(cosine_distances(Z), cosine_distances(X), atol=1e-5)
    dense = np.random.default_rng(1).random((30, 280))
    assert np.allclose(euclidean_distances(reduce(dense, metric="euclidean")), euclidean_distances(dense), atol=1e-4)


def test_the_nearest_labeled_row_of_a_near_copy_is_the_copy():
    texts = _corpus(400)
    texts.append(texts[17].replace(texts[17].split()[3], "changed"))  # item 401: item 18 with one word changed
    Z = reduce(text_features(texts), metric="cosine")
    ids = np.arange(1, len(texts) + 1)
    found = _index(Z, ids, np.arange(len(texts)), "cosine").nearest(401, 3)
    assert found[0][0] == 18 and found[0][1] < found[1][1]


def test_nearest_skips_the_item_itself_and_unlabeled_rows_and_orders_by_distance():
    Z = np.array([[0, 0], [1, 0], [3, 0], [0, 2], [0.7, 0]], dtype=np.float32)
    index = _index(Z, [10, 20, 30, 40, 50], [0, 1, 2, 3], "euclidean")
    assert index.nearest(10, 5) == [(20, 1.0), (40, 2.0), (30, 3.0)]
    assert [pk for pk, _ in index.nearest(50, 2)] == [20, 10]  # 50 is unlabeled: a query, never an answer
    assert index.nearest(99, 5) == [] and 99 not in index and 50 in index


def test_the_nearest_labeled_image_row_of_a_near_copy_is_the_copy():
    X = np.random.default_rng(2).random((300, 280)).astype(np.float32)  # image feature width
    X = np.vstack([X, X[40] + 0.01])
    Z = reduce(X, metric="euclidean")
    assert Z.shape == (301, DIMS)
    ids = np.arange(1, 302)
    assert _index(Z, ids, np.arange(300), "euclidean").nearest(301, 1)[0][0] == 41
