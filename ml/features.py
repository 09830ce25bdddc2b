"""Feature extraction for items: small dense vectors for images, TF-IDF for text."""
from __future__ import annotations

import re

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


# Scripts written without spaces between words: Han, Hiragana, Katakana, Thai, Lao, Myanmar, Khmer.
UNSPACED = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]"
UNSPACED_RE = re.compile(UNSPACED)
# scikit-learn's default word pattern, or one character of a script written without spaces
TOKEN_PATTERN = r"(?u)\b\w\w+\b|" + UNSPACED


def _text_preprocess(text: str) -> str:
    """Lower case (scikit-learn's default) with every character of a script written without spaces set apart,
    so the word 1-2 grams there are character uni- and bigrams, the usual terms for Chinese, Japanese and Thai;
    split on word boundaries alone, a whole sentence was one term that no other text shares."""
    return UNSPACED_RE.sub(lambda m: f" {m.group(0)} ", text.lower())


def text_features(texts: list[str], *, max_features: int = 20000):
    """Fit TF-IDF (word 1-2 grams; character 1-2 grams in scripts written without spaces) on ``texts`` and return
    the sparse matrix, shape (n_texts, n_terms)."""
    if not texts:
        raise ValueError("text_features needs at least one text")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), max_features=max_features, sublinear_tf=True, min_df=1,
                                 preprocessor=_text_preprocess, token_pattern=TOKEN_PATTERN)
    return vectorizer.fit_transform(texts)
