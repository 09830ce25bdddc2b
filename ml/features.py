"""Feature extraction for items: small dense vectors for images, TF-IDF for text."""
from __future__ import annotations

import numpy as np
from PIL import Image
from sklearn.feature_extraction.text import TfidfVectorizer

IMAGE_SIDE = 16
HIST_BINS = 8


def image_features(image: Image.Image) -> np.ndarray:
    """Return a 1-D float32 vector: grey pixels resized to 16x16 in [0, 1] plus an RGB colour histogram.

    Shape: (IMAGE_SIDE * IMAGE_SIDE + 3 * HIST_BINS,).
    """
    rgb = image.convert("RGB")
    grey = np.asarray(rgb.convert("L").resize((IMAGE_SIDE, IMAGE_SIDE), Image.BILINEAR), dtype=np.float32)
    pixels = grey.ravel() / 255.0
    arr = np.asarray(rgb.resize((64, 64)), dtype=np.uint8).reshape(-1, 3)
    hists = [np.histogram(arr[:, c], bins=HIST_BINS, range=(0, 256))[0] for c in range(3)]
    hist = np.concatenate(hists).astype(np.float32) / arr.shape[0]
    return np.concatenate([pixels, hist]).astype(np.float32)


def text_features(texts: list[str], *, max_features: int = 20000):
    """Fit TF-IDF (word 1-2 grams) on ``texts`` and return the sparse matrix, shape (n_texts, n_terms)."""
    if not texts:
        raise ValueError("text_features needs at least one text")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), max_features=max_features, sublinear_tf=True, min_df=1)
    return vectorizer.fit_transform(texts)
