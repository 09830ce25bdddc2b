"""Pluggable embedders: turn items (PIL images or texts) into a dense (n, d) float32 matrix, offline.

Every embedder has a ``name`` and a ``version`` (stored with each model version, so a result can be
reproduced) and ``embed(items) -> (n, d) float32``. Per-item vectors do not depend on the other items, so
callers may cache them per content hash. Text embedders may add ``corpus_features(texts)`` (TF-IDF, fit on
the whole corpus) which callers combine with the cached vectors (``combine``).

Specs (setting ``QUORUM_EMBEDDER`` or a project's choice):

* ``default``: ``descriptors`` for images, ``tfidf+wordllama`` for text;
* ``pixels`` (images, 16x16 grey + RGB histogram) and ``tfidf`` (text): the features before issue 15;
* ``descriptors``: HOG + silhouette moments + LBP texture + chromaticity histogram (scikit-image);
* ``tfidf+wordllama``: TF-IDF plus wordllama's static token embeddings, loaded from the package folder;
* ``onnx:/path/model.onnx?size=224&mean=0.485,0.456,0.406&std=0.229,0.224,0.225``: any ONNX image encoder
  (NCHW float input, RGB scaled to [0, 1], then (x - mean) / std), run with onnxruntime.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image, ImageFilter
from scipy import sparse

from ml.features import image_features, text_features


class EmbedderError(ValueError):
    """A spec that names no usable embedder, or a model file that cannot be loaded."""


class PixelEmbedder:
    """16x16 grey pixels plus an RGB histogram: the image features Quorum used before issue 15."""

    name, version, kind = "pixels", "1", "image"

    def embed(self, items) -> np.ndarray:
        return _stack([image_features(img) for img in items], 16 * 16 + 24)


HOG_SIDE, HOG_CELL = 32, 8  # picked by bench.features: 32/8 beat 64/12, 48/8 and 64/16
HOG_DIM = 3 * 3 * 2 * 2 * 9
TEXTURE_SIDE = 64
LBP_POINTS, LBP_RADII = 8, (1, 2)
CHROMA_BINS = 6
SILHOUETTE_DIM = 12
# Texture block (bench.features, 1,500 items: textures full accuracy 0.928 -> 0.948, and 0.972 when it reads
# the image smoothed by TEXTURE_SMOOTH first; shapes 0.989 -> 0.994, digits 0.957 -> 0.961)
TEXTURE_SMOOTH = 1.0  # Gaussian sigma in pixels (of TEXTURE_SIDE): a dark photo's pixel noise would drown the grain
MULTI_LBP = ((8, 1), (16, 2), (24, 3))  # (points, radius): whole-image uniform LBP histograms at three scales
GABOR_FREQUENCIES, GABOR_ORIENTATIONS = (0.1, 0.2, 0.3, 0.4), 6
GLCM_LEVELS, GLCM_DISTANCES = 32, (1, 2, 4)
GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM")
TEXTURE_DIM = (sum(p + 2 for p, _ in MULTI_LBP) + 3 * len(GABOR_FREQUENCIES)
               + 2 * len(GLCM_DISTANCES) * len(GLCM_PROPS))


class DescriptorEmbedder:
    """HOG (local shape) + silhouette moments (global shape) + uniform LBP histograms at two radii (texture) +
    chromaticity and brightness histograms + a texture block (``texture_block``: LBP at three scales, Gabor
    filter-bank energies, grey-level co-occurrence statistics).

    HOG and LBP are normalised locally, so a darker or noisier photo of the same thing keeps its vector; the
    chromaticity histogram (r/(r+g+b), g/(r+g+b)) keeps colour without brightness. HOG's cells are tied to
    positions, so the same object moved or turned lands elsewhere: the silhouette block (``silhouette``)
    describes the main foreground region wherever it is. The texture block tells look-alike textures apart
    (grass from gravel) by their grain at several scales, independent of brightness and of a quarter turn.
    563 dimensions.

    ``embed`` works on batches of EMBED_BATCH images: HOG, silhouette and colour histograms image by image,
    the LBP histograms and the texture block on the stacked batch (numpy, the same arithmetic as scikit-image's
    per-image functions: the vectors are identical to image-by-image ones, pinned by tests/ml/data).
    """

    name, version, kind = "descriptors", "4", "image"

    def embed(self, items) -> np.ndarray:
        items = list(items)
        rows = [self._batch(items[start:start + EMBED_BATCH]) for start in range(0, len(items), EMBED_BATCH)]
        return _stack(rows, self.dim)

    dim = HOG_DIM + SILHOUETTE_DIM + len(LBP_RADII) * (LBP_POINTS + 2) * 4 + CHROMA_BINS * CHROMA_BINS + 8 + 1 + TEXTURE_DIM

    def _batch(self, images: list) -> np.ndarray:
        """Vectors of up to EMBED_BATCH images: HOG, silhouette and the colour histograms one image at a time,
        the LBP and texture blocks on the stacked batch (same values as image by image)."""
        from skimage.feature import hog

        greys, singles = [], []
        for image in images:
            rgb = np.asarray(image.convert("RGB").resize((TEXTURE_SIDE, TEXTURE_SIDE), Image.BILINEAR),
                             dtype=np.float32) / 255
            grey = grey_of(rgb)
            grey8 = (grey * 255).astype(np.uint8)
            small = np.asarray(Image.fromarray(grey8).resize((HOG_SIDE, HOG_SIDE), Image.BILINEAR),
                               dtype=np.float32) / 255
            shape = hog(small, orientations=9, pixels_per_cell=(HOG_CELL, HOG_CELL), cells_per_block=(2, 2),
                        block_norm="L2-Hys", feature_vector=True)
            total = rgb.sum(axis=2) + 1e-6
            chroma, _, _ = np.histogram2d((rgb[..., 0] / total).ravel(), (rgb[..., 1] / total).ravel(),
                                          bins=CHROMA_BINS, range=[[0, 1], [0, 1]])
            chroma = chroma.ravel() / grey.size
            # Brightness, spread relative to the mean, so a dark copy differs only in the last value.
            spread = np.histogram(grey / max(grey.mean(), 1e-3), bins=8, range=(0, 3))[0] / grey.size
            greys.append(grey)
            singles.append((shape, silhouette(grey8), chroma, spread, [grey.mean()]))
        greys = np.stack(greys)
        grey8s = (greys * 255).astype(np.uint8)
        quads = []
        for radius in LBP_RADII:
            codes = uniform_lbp(grey8s, LBP_POINTS, radius)
            for quad in _quadrants(codes):  # four quadrants keep a little layout
                quad = quad.reshape(len(images), -1)
                quads.append(_histograms(quad, LBP_POINTS + 2) / max(quad.shape[1], 1))
        quads = np.concatenate(quads, axis=1)
        textures = texture_blocks(greys)
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for k, (shape, outline, chroma, spread, mean) in enumerate(singles):
            out[k] = np.concatenate([shape, outline, quads[k], chroma, spread, mean, textures[k]])
        return out


LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """Luma of (..., 3) float32 RGB in [0, 1], as float32, the same on every CPU.

    Not ``rgb @ LUMA``: a float32 matrix product goes through BLAS, whose kernel (and so its rounding) depends
    on the CPU, and a grey pixel's luma could come out one float32 step under its value, which the uint8
    truncation that follows turns into a whole grey level lower (seen on a second machine: 155 of 2,304 pixels
    of a grey image). Element-wise products and a sum in float64, then rounded to float32, give the exact value.
    """
    return (rgb.astype(np.float64) * LUMA.astype(np.float64)).sum(axis=-1).astype(np.float32)


EMBED_BATCH = 64  # images stacked per batch: bounds memory (17 MB traced for 64 images, float64 LBP stacks)


def _histograms(codes: np.ndarray, bins: int) -> np.ndarray:
    """Per-row bincount of small non-negative integer codes (n, m) -> (n, bins) counts."""
    n = codes.shape[0]
    flat = (codes.astype(np.int64) + bins * np.arange(n)[:, None]).ravel()
    return np.bincount(flat, minlength=n * bins).reshape(n, bins)


def uniform_lbp(images: np.ndarray, points: int, radius: float) -> np.ndarray:
    """``skimage.feature.local_binary_pattern(image, points, radius, method="uniform")`` for a stack of images
    (B, H, W) -> (B, H, W) ints, vectorised with the same float64 arithmetic (bilinear neighbours, 0 outside
    the image; 0-1 changes counted without the wrap-around pair, as skimage does), so the codes are identical.
    """
    images = np.asarray(images, dtype=np.float64)
    b, h, w = images.shape
    angles = 2 * np.pi * np.arange(points, dtype=np.float64) / points
    rp, cp = np.round(-radius * np.sin(angles), 5), np.round(radius * np.cos(angles), 5)
    pad = int(np.ceil(radius)) + 1
    padded = np.zeros((b, h + 2 * pad, w + 2 * pad))
    padded[:, pad:pad + h, pad:pad + w] = images
    rows, cols = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    ones, changes = np.zeros((b, h, w), dtype=np.uint8), np.zeros((b, h, w), dtype=np.uint8)  # < 256 points
    signed, previous = np.empty((b, h, w), dtype=bool), np.empty((b, h, w), dtype=bool)
    acc, tmp = np.empty((b, h, w)), np.empty((b, h, w))

    def at(r0, c0):
        return padded[:, r0 + pad:r0 + pad + h, c0 + pad:c0 + pad + w]

    for i in range(points):
        r, c = rows + rp[i], cols + cp[i]
        minr, minc = np.floor(r), np.floor(c)
        r0, c0 = int(minr[0]), int(minc[0])
        if (minr - rows != r0).any() or (minc - cols != c0).any():
            raise AssertionError("LBP neighbour offsets are not uniform")  # cannot happen: rp, cp have 5 decimals
        r1, c1 = int(np.ceil(r[0])), int(np.ceil(c[0]))
        dr, dc = (r - minr)[:, None], (c - minc)[None, :]
        if not dr.any() and not dc.any():
            np.subtract(at(r0, c0), images, out=acc)
        else:  # top = (1 - dc) tl + dc tr, bottom likewise, then (1 - dr) top + dr bottom: skimage's order
            np.multiply(1 - dc, at(r0, c0), out=acc)
            np.multiply(dc, at(r0, c1), out=tmp)
            acc += tmp
            acc *= 1 - dr
            np.multiply(1 - dc, at(r1, c0), out=tmp)
            bottom = dc * at(r1, c1)
            bottom += tmp
            bottom *= dr
            acc += bottom
            acc -= images
        np.greater_equal(acc, 0, out=signed)
        ones += signed
        if i:
            changes += signed != previous  # neighbours i - 1 and i; the last and the first are not compared
        signed, previous = previous, signed
    return np.where(changes <= 2, ones, np.uint8(points + 1))


def texture_block(grey: np.ndarray) -> np.ndarray:
    """Texture at several scales of a grey image in [0, 1] (TEXTURE_SIDE square), (TEXTURE_DIM,) float32.

    Read from the image smoothed with a Gaussian of TEXTURE_SMOOTH pixels: on a dark, noisy photo the
    sensor noise otherwise fills the finest scales (grass vs gravel in the dark slice: 0.74 -> 0.86 accuracy
    with this block alone).

    * uniform LBP histograms over the whole image at MULTI_LBP (points, radius): grain size;
    * Gabor filter-bank energies: per frequency, the mean response magnitude over GABOR_ORIENTATIONS
      orientations, their spread and their peak over the mean (how directional the texture is), on the image
      standardised to mean 0, variance 1 (brightness and contrast free; orientation statistics turn-free);
    * grey-level co-occurrence (graycomatrix, GLCM_LEVELS levels after scaling the brightest pixel to the top
      level) at GLCM_DISTANCES: graycoprops' GLCM_PROPS, mean and spread over four directions.
    """
    return texture_blocks(np.asarray(grey, dtype=np.float32)[None])[0]


def texture_blocks(greys: np.ndarray) -> np.ndarray:
    """``texture_block`` of a stack of grey images (B, TEXTURE_SIDE, TEXTURE_SIDE) -> (B, TEXTURE_DIM) float32."""
    from scipy.ndimage import gaussian_filter

    greys = np.asarray(greys, dtype=np.float32)
    n = len(greys)
    greys = np.stack([gaussian_filter(grey, TEXTURE_SMOOTH) for grey in greys])
    grey8s = (greys * 255).astype(np.uint8)
    out = []
    for points, radius in MULTI_LBP:
        codes = uniform_lbp(grey8s, points, radius).reshape(n, -1)
        out.append(_histograms(codes, points + 2) / codes.shape[1])
    out.append(_gabor_energies(greys))
    top = np.maximum(greys.max(axis=(1, 2)), 1e-3)[:, None, None]
    qs = np.minimum(greys / top * GLCM_LEVELS, GLCM_LEVELS - 1).astype(np.uint8)
    out.append(_glcm_stats(qs))
    return np.nan_to_num(np.concatenate(out, axis=1)).astype(np.float32)


GLCM_ANGLES = (0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)
GLCM_CHUNK = 16


def _glcm_stats(qs: np.ndarray) -> np.ndarray:
    """GLCM statistics of a stack of quantised images (B, H, W) in [0, GLCM_LEVELS) -> (B, 2 * distances *
    props): per prop, the mean over GLCM_ANGLES at each distance, then the spread. The same counts and
    formulas as skimage's ``graycomatrix(symmetric=True, normed=True)`` and ``graycoprops``, for the batch."""
    if len(qs) > GLCM_CHUNK:  # bounds memory: five (chunk, distances, angles, levels, levels) float64 arrays
        return np.concatenate([_glcm_stats(qs[start:start + GLCM_CHUNK]) for start in range(0, len(qs), GLCM_CHUNK)])
    n, h, w = qs.shape
    levels = GLCM_LEVELS
    counts = np.empty((n, len(GLCM_DISTANCES), len(GLCM_ANGLES), levels, levels), dtype=np.float64)
    base = (np.arange(n) * levels * levels)[:, None, None]
    q = qs.astype(np.int64)
    for d_idx, distance in enumerate(GLCM_DISTANCES):
        for a_idx, angle in enumerate(GLCM_ANGLES):
            dr, dc = round(np.sin(angle) * distance), round(np.cos(angle) * distance)  # as skimage's _glcm_loop
            first = q[:, max(0, -dr):h - max(0, dr), max(0, -dc):w - max(0, dc)]
            second = q[:, max(0, dr):h - max(0, -dr), max(0, dc):w - max(0, -dc)]
            pairs = np.bincount((base + first * levels + second).ravel(), minlength=n * levels * levels)
            counts[:, d_idx, a_idx] = pairs.reshape(n, levels, levels)
    P = counts + counts.swapaxes(-1, -2)  # symmetric
    for _ in range(2):  # graycomatrix(normed=True) normalises, then graycoprops does again
        sums = P.sum(axis=(-2, -1), keepdims=True)
        sums[sums == 0] = 1
        P = P / sums
    i, j = np.ogrid[0:levels, 0:levels]
    asm = np.sum(P ** 2, axis=(-2, -1))
    diff_i = i - np.sum(i * P, axis=(-2, -1))[..., None, None]
    diff_j = j - np.sum(j * P, axis=(-2, -1))[..., None, None]
    std_i = np.sqrt(np.sum(P * diff_i ** 2, axis=(-2, -1)))
    std_j = np.sqrt(np.sum(P * diff_j ** 2, axis=(-2, -1)))
    cov = np.sum(P * (diff_i * diff_j), axis=(-2, -1))
    flat = (std_i < 1e-15) | (std_j < 1e-15)
    correlation = np.where(flat, 1.0, cov / np.where(flat, 1.0, std_i * std_j))
    values = {"contrast": np.sum(P * (i - j) ** 2, axis=(-2, -1)),
              "dissimilarity": np.sum(P * np.abs(i - j), axis=(-2, -1)),
              "homogeneity": np.sum(P * (1.0 / (1.0 + (i - j) ** 2)), axis=(-2, -1)),
              "energy": np.sqrt(asm), "correlation": correlation, "ASM": asm}  # each (B, distances, angles)
    return np.concatenate([part for prop in GLCM_PROPS
                           for part in (values[prop].mean(axis=2), values[prop].std(axis=2))], axis=1)


_GABOR_BANK: dict = {}
GABOR_PAD = 16
GABOR_CHUNK = 1


def _gabor_bank(side: int) -> np.ndarray:
    """Fourier transforms of the complex Gabor kernels for a (side + 2 * GABOR_PAD) square, cached per side."""
    if side not in _GABOR_BANK:
        from skimage.filters import gabor_kernel

        full = side + 2 * GABOR_PAD
        bank = []
        for frequency in GABOR_FREQUENCIES:
            for k in range(GABOR_ORIENTATIONS):
                kernel = gabor_kernel(frequency, theta=k * np.pi / GABOR_ORIENTATIONS)
                h, w = kernel.shape
                if h > full or w > full:  # keep the centre of a kernel wider than the padded image
                    top, left = (h - full) // 2 if h > full else 0, (w - full) // 2 if w > full else 0
                    kernel = kernel[top:top + min(h, full), left:left + min(w, full)]
                    h, w = kernel.shape
                placed = np.zeros((full, full), dtype=np.complex128)
                placed[:h, :w] = kernel
                bank.append(np.fft.fft2(np.roll(placed, (-(h // 2), -(w // 2)), axis=(0, 1))))
        _GABOR_BANK[side] = np.stack(bank).astype(np.complex64)  # single precision: half the time, same figures
    return _GABOR_BANK[side]


def _gabor_energies(greys: np.ndarray) -> np.ndarray:
    """Gabor statistics of a stack of grey images (B, side, side) -> (B, 3 * len(GABOR_FREQUENCIES))."""
    from scipy import fft

    side = greys.shape[-1]
    mean = greys.mean(axis=(1, 2), keepdims=True)
    std = np.stack([grey.std() for grey in greys])[:, None, None]  # per image, as the single-image code did
    x = (greys - mean) / (std + 1e-3)
    pad = ((0, 0), (GABOR_PAD, GABOR_PAD), (GABOR_PAD, GABOR_PAD))
    spectra = fft.fft2(np.pad(x, pad, mode="reflect").astype(np.float32))
    bank = _gabor_bank(side)
    energy = np.empty((len(greys), len(bank)), dtype=np.float32)
    for start in range(0, len(greys), GABOR_CHUNK):  # one image at a time: the responses stay in cache
        response = fft.ifft2(spectra[start:start + GABOR_CHUNK, None] * bank)
        inner = np.abs(response[..., GABOR_PAD:GABOR_PAD + side, GABOR_PAD:GABOR_PAD + side])
        energy[start:start + GABOR_CHUNK] = inner.mean(axis=(2, 3))
    energy = energy.reshape(len(greys), len(GABOR_FREQUENCIES), GABOR_ORIENTATIONS)
    mean = energy.mean(axis=2)
    return np.concatenate([mean, energy.std(axis=2), energy.max(axis=2) / (mean + 1e-6)], axis=1)


def silhouette(grey8: np.ndarray) -> np.ndarray:
    """Rotation- and position-free shape of the largest foreground region, (SILHOUETTE_DIM,) float32.

    The grey image (median-filtered against pixel noise) is split at Otsu's threshold; the side that covers
    most of the border is background; an opening drops thin clutter. Of the largest remaining region: minor /
    major axis ratio, extent (area over bounding box), solidity, eccentricity, area share and the seven Hu
    moments (log-scaled). A flat image, or one with no region, gives zeros.
    """
    from scipy.ndimage import binary_opening
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops
    from skimage.morphology import disk

    out = np.zeros(SILHOUETTE_DIM, dtype=np.float32)
    grey = np.asarray(Image.fromarray(grey8).filter(ImageFilter.MedianFilter(3)), dtype=np.float32) / 255
    if grey.max() - grey.min() < 1e-3:
        return out
    mask = grey > threshold_otsu(grey)
    if np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]]).mean() > 0.5:
        mask = ~mask
    regions = regionprops(label(binary_opening(mask, structure=disk(1))))
    if not regions:
        return out
    r = max(regions, key=lambda region: region.area)
    hu = np.sign(r.moments_hu) * np.log10(np.abs(r.moments_hu) + 1e-12)
    out[:] = [r.axis_minor_length / max(r.axis_major_length, 1e-6), r.extent, r.solidity, r.eccentricity,
              r.area / grey.size, *(np.clip(hu, -12, 0) / 12)]
    return out


def _quadrants(a: np.ndarray):
    """The four quadrants of an image, or of each image in a stack (the last two axes)."""
    h, w = a.shape[-2] // 2, a.shape[-1] // 2
    return a[..., :h, :w], a[..., :h, w:], a[..., h:, :w], a[..., h:, w:]


# 2: character 1-2 grams in scripts written without spaces (Chinese, Japanese, Thai); other text as in 1
TFIDF_VERSION = "2"


class TfidfEmbedder:
    """TF-IDF alone (word 1-2 grams, character 1-2 grams in scripts written without spaces, fit on the corpus): no
    per-item vector."""

    name, version, kind = "tfidf", TFIDF_VERSION, "text"
    dim = 0

    def embed(self, items) -> np.ndarray:
        return np.zeros((len(items), 0), dtype=np.float32)

    def corpus_features(self, texts: list[str]):
        return text_features(texts)


WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIM = 256
EMBEDDING_WEIGHT = 0.5  # share of the row norm given to the static embedding next to the unit TF-IDF row


class WordLlamaEmbedder(TfidfEmbedder):
    """TF-IDF plus wordllama's average-pooled static token embeddings (256-d), loaded from its wheel.

    wordllama's own loader looks for the tokenizer in ``wordllama/tokenizer/`` (the wheel ships it in
    ``tokenizers/``) and then downloads it from the Hugging Face hub; this loads both files from the package
    folder with the hub switched off, so it never touches the network.
    """

    name, kind = "tfidf+wordllama", "text"
    dim = WORDLLAMA_DIM
    _model = None

    @property
    def version(self) -> str:
        from wordllama._version import __version__

        return f"{__version__}-{WORDLLAMA_CONFIG}-{WORDLLAMA_DIM}-tfidf{TFIDF_VERSION}"

    @classmethod
    def model(cls):
        if cls._model is None:
            cls._model = load_wordllama()
        return cls._model

    def embed(self, items) -> np.ndarray:
        texts = [str(t) for t in items]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(self.model().embed(texts, norm=True, batch_size=256), dtype=np.float32)
        # an empty text (or one of unknown tokens only) has a zero vector, which wordllama's norm turns into NaN
        return np.nan_to_num(out.reshape(len(texts), self.dim), nan=0.0, posinf=0.0, neginf=0.0)


def load_wordllama():
    """wordllama's l2_supercat 256-d model from the installed package, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import wordllama
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    folder = Path(wordllama.__file__).parent
    tokenizer_file = folder / "tokenizers" / f"{WORDLLAMA_CONFIG}_tokenizer_config.json"
    weights_file = folder / "weights" / f"{WORDLLAMA_CONFIG}_{WORDLLAMA_DIM}.safetensors"
    for path in (tokenizer_file, weights_file):
        if not path.exists():
            raise EmbedderError(f"wordllama file {path} is missing: reinstall the wordllama package "
                                "(pip install --force-reinstall wordllama), or set QUORUM_EMBEDDER=tfidf")
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    with safe_open(str(weights_file), framework="np", device="cpu") as fh:
        embedding = fh.get_tensor("embedding.weight")
    return WordLlamaInference(embedding, tokenizer, binary=False)


class OnnxEmbedder:
    """Any ONNX image encoder on disk: images resized to ``size``, RGB in [0, 1], (x - mean) / std, NCHW."""

    kind = "image"

    def __init__(self, path: str, *, size: int = 224, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), batch: int = 32):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise EmbedderError(f"ONNX model {self.path} not found: QUORUM_EMBEDDER=onnx:<path> must name a "
                                ".onnx file readable by the worker")
        try:
            self.session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own error types for corrupt files
            raise EmbedderError(f"ONNX model {self.path} could not be loaded: {exc}") from exc
        self.input = self.session.get_inputs()[0]
        if len(self.input.shape) != 4:
            raise EmbedderError(f"ONNX model {self.path}: input '{self.input.name}' has shape {self.input.shape}; "
                                "an image encoder takes (batch, 3, height, width)")
        self.size, self.batch = int(size), int(batch)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
        import hashlib

        self.name = f"onnx:{self.path.name}"
        self.version = hashlib.sha256(self.path.read_bytes()).hexdigest()[:12] + f"-{self.size}"

    def embed(self, items) -> np.ndarray:
        items = list(items)
        out = []
        for start in range(0, len(items), self.batch):
            chunk = [np.asarray(img.convert("RGB").resize((self.size, self.size), Image.BILINEAR), np.float32) / 255
                     for img in items[start:start + self.batch]]
            x = (np.stack(chunk).transpose(0, 3, 1, 2) - self.mean) / self.std
            y = self.session.run(None, {self.input.name: x.astype(np.float32)})[0]
            out.append(np.asarray(y, dtype=np.float32).reshape(len(chunk), -1))
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack(out)


def _stack(rows: list, width: int) -> np.ndarray:
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, width), dtype=np.float32)


IMAGE_EMBEDDERS = {"pixels": PixelEmbedder, "descriptors": DescriptorEmbedder}
TEXT_EMBEDDERS = {"tfidf": TfidfEmbedder, "tfidf+wordllama": WordLlamaEmbedder}
DEFAULTS = {"image": "descriptors", "text": "tfidf+wordllama"}
CHOICES = ["default", *IMAGE_EMBEDDERS, *TEXT_EMBEDDERS]


def get_embedder(spec: str, kind: str):
    """The embedder a spec names for items of ``kind`` ("image" or "text"); EmbedderError if none fits."""
    spec = (spec or "default").strip()
    if kind not in DEFAULTS:
        raise EmbedderError(f"unknown item kind {kind!r}: expected 'image' or 'text'")
    if spec == "default":
        spec = DEFAULTS[kind]
    if spec.startswith("onnx:"):
        if kind != "image":
            raise EmbedderError(f"{spec}: ONNX encoders are supported for image projects only; text projects "
                                "use 'default', 'tfidf' or uploaded embeddings")
        return _onnx_from_spec(spec)
    table = IMAGE_EMBEDDERS if kind == "image" else TEXT_EMBEDDERS
    if spec not in table:
        raise EmbedderError(f"embedder {spec!r} does not exist for {kind} projects: choose one of "
                            f"{', '.join(['default', *table, 'onnx:/path/model.onnx' if kind == 'image' else ''])}"
                            .rstrip(", "))
    return table[spec]()


def _onnx_from_spec(spec: str) -> OnnxEmbedder:
    parts = urlsplit(spec[len("onnx:"):])
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"size", "mean", "std", "batch"}
    if unknown:
        raise EmbedderError(f"{spec}: unknown option(s) {', '.join(sorted(unknown))}; use size, mean, std, batch")
    try:
        triple = {k: tuple(float(x) for x in query[k].split(",")) for k in ("mean", "std") if k in query}
        size = int(query.get("size", 224))
        batch = int(query.get("batch", 32))
    except ValueError as exc:
        raise EmbedderError(f"{spec}: size and batch must be integers, mean and std three comma-separated "
                            f"numbers ({exc})") from exc
    if any(len(v) != 3 for v in triple.values()) or size < 8 or batch < 1:
        raise EmbedderError(f"{spec}: mean and std take three numbers (R,G,B), size at least 8, batch at least 1")
    if "std" in triple and min(triple["std"]) <= 0:
        raise EmbedderError(f"{spec}: std values must be positive")
    return OnnxEmbedder(parts.path, size=size, batch=batch, **triple)


def combine(vectors: np.ndarray, corpus=None):
    """Join cached per-item vectors with corpus features (TF-IDF, sparse): a sparse matrix when both exist.

    The per-item block is row-normalised and weighted so it carries EMBEDDING_WEIGHT of the row next to the
    unit-norm TF-IDF row; without corpus features the dense vectors are returned as they are.
    """
    if corpus is None or corpus.shape[1] == 0:
        return vectors
    if vectors.shape[1] == 0:
        return corpus
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scaled = EMBEDDING_WEIGHT * vectors / np.where(norms > 0, norms, 1.0)
    return sparse.hstack([corpus, sparse.csr_matrix(scaled)], format="csr")
