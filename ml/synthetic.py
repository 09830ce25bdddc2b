"""Realistic generated data sets with planted problems and their ground truth, for health tests and benchmarks.

``photo_set``: photos of one object (a signal lamp) in three states, one rare and two look-alike, on textured
backgrounds, a third taken at night (dark, but not defective), a few percent mislabelled, with byte-identical and
re-compressed copies (same and different labels), broken files (black, white, unreadable, tiny) and genuinely
blurred, under- and over-exposed photos. ``ticket_set``: support tickets in four classes (one rare) with a noisier
phone-transcript slice, exact copies with other labels, empty rows, one- and two-word messages and mojibake.
Everything is seeded and plain numpy/Pillow; the ground truth comes with the set.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# ---------------------------------------------------------------- photos

STATES = ("green", "red", "amber")  # amber is rare, and looks like red
STATE_SHARES = (0.47, 0.45, 0.08)
_LAMP = {"green": (40, 185, 80), "red": (215, 45, 40), "amber": (230, 110, 35)}
IMAGE_PROBLEMS = ("unreadable", "black", "white", "tiny", "blurry", "underexposed", "overexposed")


@dataclass
class GeneratedSet:
    """Rows of a generated data set and the truth about them.

    ``content``: encoded file bytes (photos) or texts; ``labels``: the given label of each row; ``metadata``: one
    dict per row; ``truth``: problem name -> set of row indices; ``groups``: duplicate kind -> list of row groups
    (``exact``: same bytes or text, ``near``: re-compressed or resized copies, each with its original).
    ``true_labels``: the label before mislabelling.
    """

    content: list
    labels: list[str]
    metadata: list[dict]
    true_labels: list[str]
    truth: dict[str, set[int]] = field(default_factory=dict)
    groups: dict[str, list[list[int]]] = field(default_factory=dict)
    slices: dict[str, set[int]] = field(default_factory=dict)  # e.g. "night": not a problem, a harder condition

    def problem_rows(self) -> set[int]:
        """Rows with a planted problem in their content or a copy of them (mislabelled rows not included: their
        content is fine, only the label is wrong)."""
        return set().union(*(v for k, v in self.truth.items() if k != "mislabelled"))

    def clean_rows(self) -> set[int]:
        return set(range(len(self.content))) - self.problem_rows()


def digit_png(pixels: np.ndarray, scale: int = 16, *, wash: float = 0.0) -> bytes:
    """An 8x8 scikit-learn digit (0-16 ink) as a readable black-on-white PNG of 8*scale pixels, as the demo
    imports it: a light picture whose ink stays black. ``wash`` (0-1) lifts every grey level that share of the
    way to white and burns the top out, as an over-exposed scan would."""
    grey = 255 - pixels.reshape(8, 8) * (255 / 16)
    grey = np.minimum(255, (grey + wash * (255 - grey)) * (1 + wash / 4)).astype(np.uint8)
    image = Image.fromarray(grey, mode="L").resize((8 * scale, 8 * scale), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _texture(rng, h: int, w: int) -> np.ndarray:
    """A textured background in [0, 1], shape (h, w, 3): stripes, tiles or cloudy noise on a random colour."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    kind = rng.integers(3)
    if kind == 0:
        angle, freq = rng.uniform(0, np.pi), rng.uniform(6, 20)
        pattern = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)))
    elif kind == 1:
        cell = rng.integers(6, 16)
        pattern = ((np.arange(h)[:, None] // cell + np.arange(w)[None, :] // cell) % 2).astype(float)
    else:
        small = rng.random((h // 8 + 2, w // 8 + 2))
        pattern = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)) / 255
    base = rng.uniform(0.3, 0.75, 3)
    other = np.clip(base + rng.uniform(-0.25, 0.25, 3), 0, 1)
    strength = rng.uniform(0.3, 0.8)
    gradient = 1 + rng.uniform(-0.15, 0.15) * (xx - 0.5) + rng.uniform(-0.15, 0.15) * (yy - 0.5)
    img = base[None, None, :] * (1 - strength * pattern[..., None]) + other[None, None, :] * strength * pattern[..., None]
    return np.clip(img * gradient[..., None], 0, 1)


def _draw_lamp(img: np.ndarray, rng, state: str, night: bool) -> np.ndarray:
    """The object: a dark housing with a lit lamp; the lamp glows at night (its light is not scaled down)."""
    h, w, _ = img.shape
    r = int(rng.integers(min(h, w) // 8, min(h, w) // 5))
    cx, cy = int(rng.integers(r + 4, w - r - 4)), int(rng.integers(r + 4, h - r - 4))
    pil = Image.fromarray((img * 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    draw.rectangle([cx - r - 4, cy - r - 4, cx + r + 4, cy + r + 4], fill=(25, 25, 28))
    lit = np.asarray(pil, dtype=float) / 255
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    m = np.asarray(mask, dtype=float)[..., None] / 255
    colour = (np.array(_LAMP[state]) + rng.integers(-12, 12, 3)) / 255
    gain = 1 / 0.27 if night else 1.0  # undo the night gain for the emitted light
    return lit * (1 - m) + m * np.clip(colour * gain, 0, 1 / 0.27), m


def _photo(rng, state: str, *, night: bool, size=(120, 90), blur: float = 0.0, exposure: float = 1.0) -> Image.Image:
    """One photo: texture, lamp, light level (day or night), optional blur and exposure error, sensor noise."""
    w, h = size
    img, lamp = _draw_lamp(_texture(rng, h, w), rng, state, night)
    light = rng.uniform(0.2, 0.32) if night else rng.uniform(0.85, 1.1)
    img = img * light * exposure
    if blur:
        pil = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(blur))
        img = np.asarray(pil, dtype=float) / 255
    noise = rng.normal(0, (4.0 if night else 2.0) / 255, img.shape)
    return Image.fromarray((np.clip(img + noise, 0, 1) * 255).round().astype(np.uint8))


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


class _Builder:
    """Appends rows to a GeneratedSet and records their truth."""

    def __init__(self):
        self.set = GeneratedSet(content=[], labels=[], metadata=[], true_labels=[])

    def add(self, content, label: str, meta: dict, *problems: str, true_label: str | None = None) -> int:
        s = self.set
        s.content.append(content)
        s.labels.append(label)
        s.true_labels.append(true_label or label)
        s.metadata.append(dict(meta))
        for p in problems:
            s.truth.setdefault(p, set()).add(len(s.content) - 1)
        return len(s.content) - 1

    def group(self, kind: str, rows: list[int]) -> None:
        self.set.groups.setdefault(kind, []).append(rows)


def _other(rng, label: str, choices=STATES) -> str:
    return str(rng.choice([c for c in choices if c != label]))


def photo_set(n_clean: int = 600, *, seed: int = 0, night_share: float = 1 / 3, mislabel_share: float = 0.03,
              n_each: int | None = None) -> GeneratedSet:
    """Photos with planted problems; ``n_each`` (default ~1.5% of ``n_clean``, at least 4) of every kind.

    Truth keys: the IMAGE_PROBLEMS, ``exact_copy`` and ``near_copy`` (every member of a copy group),
    ``conflicting`` (members of copy groups whose labels differ), ``mislabelled``; ``slices["night"]`` lists
    the night photos (not a problem). Groups: ``exact`` and ``near``.
    """
    rng = np.random.default_rng(seed)
    n_each = n_each or max(4, round(0.015 * n_clean))
    b = _Builder()
    originals = _clean_photos(b, rng, n_clean, night_share, mislabel_share)
    _broken_photos(b, rng, n_each)
    _bad_photos(b, rng, n_each, night_share)
    _copies(b, rng, originals, n_each)
    s = b.set
    s.slices["night"] = {i for i, m in enumerate(s.metadata) if m.get("time_of_day") == "night"}
    return s


def _clean_photos(b: _Builder, rng, n: int, night_share: float, mislabel_share: float) -> list[int]:
    rows = []
    for _ in range(n):
        state = str(rng.choice(STATES, p=STATE_SHARES))
        night = rng.random() < night_share
        meta = {"time_of_day": "night" if night else "day", "camera": str(rng.choice(["cam-a", "cam-b"]))}
        data = _jpeg(_photo(rng, state, night=night), int(rng.integers(85, 96)))
        if rng.random() < mislabel_share:
            rows.append(b.add(data, _other(rng, state), meta, "mislabelled", true_label=state))
        else:
            rows.append(b.add(data, state, meta))
    return rows


def _broken_photos(b: _Builder, rng, n: int) -> None:
    day = {"time_of_day": "day", "camera": "cam-a"}
    for k in range(n):
        state = str(rng.choice(STATES, p=STATE_SHARES))
        good = _jpeg(_photo(rng, state, night=False), 90)
        broken = [good[: len(good) // 3], bytes(rng.integers(0, 256, 600, dtype=np.uint8)), b""][k % 3]
        b.add(broken, state, day, "unreadable")
        b.add(_png(Image.fromarray(rng.integers(0, 4, (90, 120, 3), dtype=np.uint8))), state, day, "black")
        b.add(_png(Image.fromarray(255 - rng.integers(0, 4, (90, 120, 3), dtype=np.uint8))), state, day, "white")
        b.add(_jpeg(_photo(rng, state, night=False, size=(16, 12)), 90), state, day, "tiny")


def _bad_photos(b: _Builder, rng, n: int, night_share: float) -> None:
    """Genuinely blurred, under- and over-exposed photos, in both light conditions (over-exposed by day)."""
    for k in range(n):
        for problem in ("blurry", "underexposed", "overexposed"):
            state = str(rng.choice(STATES, p=STATE_SHARES))
            night = problem != "overexposed" and k % 3 == 0
            kwargs = {"blurry": {"blur": rng.uniform(2.5, 4.0)}, "underexposed": {"exposure": rng.uniform(0.12, 0.2)},
                      "overexposed": {"exposure": rng.uniform(3.2, 4.5)}}[problem]
            meta = {"time_of_day": "night" if night else "day", "camera": "cam-b"}
            b.add(_jpeg(_photo(rng, state, night=night, **kwargs), 90), state, meta, problem)


def _copies(b: _Builder, rng, originals: list[int], n: int) -> None:
    """Byte-identical and re-compressed/resized copies of clean photos, half of each with another label."""
    s = b.set
    clean = [i for i in originals if s.labels[i] == s.true_labels[i]]
    picked = rng.choice(clean, size=4 * n, replace=False)
    for k, src in enumerate(int(i) for i in picked):
        exact, conflict = k < 2 * n, k % 2 == 1
        label = _other(rng, s.labels[src]) if conflict else s.labels[src]
        data = s.content[src] if exact else _recompress(rng, s.content[src])
        kind = "exact_copy" if exact else "near_copy"
        problems = (kind, "conflicting") if conflict else (kind,)
        row = b.add(data, label, s.metadata[src], *problems, true_label=s.true_labels[src])
        s.truth.setdefault(kind, set()).add(src)
        if conflict:
            s.truth["conflicting"].add(src)
        b.group("exact" if exact else "near", [src, row])


def _recompress(rng, data: bytes) -> bytes:
    """The same photo re-encoded at a lower JPEG quality, every other time also resized by a few percent."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if rng.random() < 0.5:
        f = rng.uniform(0.85, 0.95)
        img = img.resize((round(img.width * f), round(img.height * f)), Image.BILINEAR)
    return _jpeg(img, int(rng.integers(60, 80)))


# ---------------------------------------------------------------- support tickets

TICKET_CLASSES = ("billing", "technical", "account", "refund")  # refund is rare and looks like billing
TICKET_SHARES = (0.36, 0.34, 0.24, 0.06)
_TOPIC = {
    "billing": ["invoice", "charge", "charged twice", "payment", "card", "subscription fee", "bill", "receipt",
                "price", "VAT", "billing address", "monthly plan"],
    "technical": ["error", "crash", "app", "page", "loading", "bug", "sync", "timeout", "update", "screen",
                  "export", "notifications"],
    "account": ["password", "login", "email address", "username", "profile", "two-factor code", "account",
                "sign in", "locked out", "settings", "verification"],
    "refund": ["refund", "money back", "cancel my order", "return", "charge", "reimburse", "payment", "credit",
               "card", "invoice"],
}
_OPENERS = ["Hi, ", "Hello, ", "Dear support, ", "", "Good morning, "]
_VERBS = ["I have a problem with", "I need help with", "there is an issue with", "please look at",
          "I am confused about", "can you check", "something is wrong with", "I have a question about"]
_TAILS = ["since yesterday.", "after the last update.", "on my account.", "for the third time this month.",
          "and it is urgent.", "please advise.", "thanks in advance.", "on both my laptop and phone."]
_FILLER = ["um", "uh", "so", "like", "yeah", "you know", "okay"]
_MOJIBAKE = ["It\u00e2\u20ac\u2122s", "don\u00e2\u20ac\u2122t", "caf\u00c3\u00a9", "r\u00c3\u00a9sum\u00c3\u00a9",
             "\u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d"]


def _ticket(rng, label: str, phone: bool) -> str:
    topic = rng.choice(_TOPIC[label], size=2, replace=False)
    text = (f"{rng.choice(_OPENERS)}{rng.choice(_VERBS)} the {topic[0]} and the {topic[1]} "
            f"{rng.choice(_TAILS)} Order {int(rng.integers(10_000, 99_999))}.")
    if not phone:
        return text
    words = text.lower().replace(",", "").replace(".", "").split()
    for _ in range(3):
        words.insert(int(rng.integers(0, len(words))), str(rng.choice(_FILLER)))
    return "caller says " + " ".join(words)


# Support tickets in scripts written without spaces (Chinese, Japanese, Thai), each a full request: by spaces
# alone one or two "words". For the checks that count words.
UNSPACED_TICKETS = ("这个充电器用了两天就坏了，我要退款。", "请问我的订单什么时候发货？已经等了一周了。",
                    "配送がとても遅かったです。返金してください。", "注文した商品と違うものが届きました。交換をお願いします。",
                    "สินค้าที่ได้รับไม่ตรงกับที่สั่งครับ ขอเปลี่ยนสินค้าด้วย", "收到的耳机左边没有声音，可以换货吗？")


def ticket_set(n_clean: int = 1500, *, seed: int = 0, phone_share: float = 0.25, mislabel: float = 0.04,
               phone_mislabel: float = 0.15, n_each: int | None = None) -> GeneratedSet:
    """Support tickets with planted problems; metadata ``channel`` is email, chat or phone (transcripts).

    Truth keys: ``empty``, ``short`` (one- and two-word messages), ``mojibake``, ``exact_copy`` and
    ``conflicting`` (exact copies with another label, both rows), ``mislabelled``; ``slices["phone"]``: the noisier
    slice (its labels are wrong ``phone_mislabel`` of the time, against ``mislabel`` elsewhere).
    """
    rng = np.random.default_rng(seed)
    n_each = n_each or max(4, round(0.01 * n_clean))
    b = _Builder()
    for _ in range(n_clean):
        label = str(rng.choice(TICKET_CLASSES, p=TICKET_SHARES))
        channel = str(rng.choice(["phone", "email", "chat"], p=[phone_share, (1 - phone_share) / 2,
                                                                (1 - phone_share) / 2]))
        text = _ticket(rng, label, channel == "phone")
        if rng.random() < (phone_mislabel if channel == "phone" else mislabel):
            b.add(text, _other(rng, label, TICKET_CLASSES), {"channel": channel}, "mislabelled", true_label=label)
        else:
            b.add(text, label, {"channel": channel})
    _ticket_problems(b, rng, n_each)
    s = b.set
    s.slices["phone"] = {i for i, m in enumerate(s.metadata) if m.get("channel") == "phone"}
    return s


def _ticket_problems(b: _Builder, rng, n: int) -> None:
    s = b.set
    n0 = len(s.content)
    meta = {"channel": "email"}
    shorts = ["help", "Refund?", "hello", "invoice", "login broken", "app crashes", "password reset", "thanks!",
              "urgent!!", "hi there", "billing", "cancel", "not working", "why?", "account locked", "error 500",
              "anyone?", "money back", "sync fails", "call me"]
    for k in range(n):
        label = str(rng.choice(TICKET_CLASSES, p=TICKET_SHARES))
        # The same blank content always carries the same label, so blanks are no "copies with other labels".
        b.add(["", "   ", "\n"][k % 3], TICKET_CLASSES[k % 3], meta, "empty")
        b.add(shorts[k % len(shorts)] + ("" if k < len(shorts) else f" {k}"),
              label, meta, "short")
        text = _ticket(rng, label, False).replace("I have", f"{_MOJIBAKE[k % len(_MOJIBAKE)]} I have", 1)
        if _MOJIBAKE[k % len(_MOJIBAKE)] not in text:
            text = f"{_MOJIBAKE[k % len(_MOJIBAKE)]} {text}"
        b.add(text, label, meta, "mojibake")
    clean = [i for i in range(n0) if s.labels[i] == s.true_labels[i]]
    for k, src in enumerate(int(i) for i in rng.choice(clean, size=2 * n, replace=False)):
        conflict = k % 2 == 1
        label = _other(rng, s.labels[src], TICKET_CLASSES) if conflict else s.labels[src]
        row = b.add(s.content[src], label, s.metadata[src], *(("exact_copy", "conflicting") if conflict
                                                              else ("exact_copy",)))
        s.truth["exact_copy"].add(src)
        if conflict:
            s.truth["conflicting"].add(src)
        b.group("exact", [src, row])


def slice_outcomes(metadata: list[dict], *, field: str, accuracy: dict[str, float], default: float,
                   seed: int = 0) -> np.ndarray:
    """Simulated "model was right" booleans, shape (n,): ``accuracy[value]`` for rows whose ``field`` has that
    value, ``default`` elsewhere (e.g. 0.82 on phone transcripts, 0.90 on the rest)."""
    rng = np.random.default_rng(seed)
    p = np.array([accuracy.get(str(m.get(field)), default) for m in metadata])
    return rng.random(len(metadata)) < p
