"""Data for the data-health tests: a clean Pillow scene, short texts with known defects, and loading an
ml.synthetic set into a project as items."""
import io

import numpy as np
from PIL import Image, ImageDraw


def scene(seed: int, size: int = 96) -> Image.Image:
    """A clean, sharp, mid-exposure picture: coloured rectangles on a background, with sensor-like noise."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(8):
        x0, y0 = (int(v) for v in rng.integers(0, size - 10, 2))
        x1, y1 = x0 + int(rng.integers(5, 40)), y0 + int(rng.integers(5, 40))
        draw.rectangle([x0, y0, x1, y1], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    arr = np.asarray(img).astype(int) + rng.integers(-20, 20, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "bu") for b in
         ("rat", "mon", "lik", "pes", "dor", "fan", "gul", "hes", "jin", "wox", "quen", "tum")]


def clean_text(rng) -> str:
    n = int(rng.integers(20, 35))
    return " ".join(rng.choice(WORDS, size=n)).capitalize() + "."


def defect_texts(n_clean: int = 120, seed: int = 0):
    """Return (texts, labels, truth): clean random sentences plus empty, short, long, undecodable texts and
    duplicates with different labels (truth["conflict"] holds both members of each duplicate pair)."""
    rng = np.random.default_rng(seed)
    texts = [clean_text(rng) for _ in range(n_clean)]
    labels = [int(i % 3) for i in range(n_clean)]
    truth: dict[str, set[int]] = {}

    def add(kind, text, label):
        truth.setdefault(kind, set()).add(len(texts))
        texts.append(text)
        labels.append(label)
        return len(texts) - 1

    for blank in ("", "   ", "\n\t"):
        add("empty", blank, 0)
    for short in ("ok", "no"):
        add("short", short, 1)
    for _ in range(3):
        add("long", " ".join(rng.choice(WORDS, size=1200)), 2)
    for bad in (["Caf\ufffd au lait was great " + clean_text(rng), "Null\x00byte " + clean_text(rng),
                             "Bell\x07 in text " + clean_text(rng)]):
        add("bad_chars", bad, 0)
    for i in range(4):  # exact (modulo case and punctuation) copies of texts 0..3 with another label
        truth.setdefault("conflict", set()).update({i, add("exact", texts[i].upper().replace(".", "!"), (labels[i] + 1) % 3)})
    for i in range(4, 8):  # near copies: one word changed
        words = texts[i].split()
        words[len(words) // 2] = "changed"
        truth["conflict"].update({i, add("near", " ".join(words), (labels[i] + 1) % 3)})
    return texts, labels, truth


# ---------------------------------------------------------------- generated sets as project items


def load_set(project, data, *, name: str = "generated.zip", skip: set[int] = frozenset(),
             unlabeled: bool = False) -> list[int | None]:
    """Create the project's items from an ml.synthetic set, as an import would: one item per distinct content
    (photo bytes or text); a copy with the same content adds its given label to the existing item as another
    'given' label event (contract 1). Returns the item id of every row of the set (None for rows in ``skip``).
    ``unlabeled``: the items arrive without labels, open for annotators."""
    import hashlib

    from django.core.files.base import ContentFile

    from core.models import Item, LabelEvent

    labels = {lab.name: lab for lab in project.labels.all()}
    by_hash: dict[str, int] = {}
    ids = []
    for i, (content, label) in enumerate(zip(data.content, data.labels, strict=True)):
        if i in skip:
            ids.append(None)
            continue
        raw = content if isinstance(content, bytes) else content.encode()
        digest = hashlib.sha256(raw).hexdigest()
        source = f"{label}/img_{i}.jpg" if project.is_image else f"{name}, line {i + 2}"
        if digest not in by_hash:
            body = {"image": ContentFile(raw, name=f"img_{i}.jpg")} if project.is_image else {"text": content}
            given = {} if unlabeled else {"given_label": labels[label], "final_label": labels[label],
                                          "final_source": "given", "needed": 0}
            item = Item.objects.create(project=project, content_hash=digest, source_name=source,
                                       metadata=data.metadata[i], **given, **body)
            by_hash[digest] = item.pk
        if unlabeled:
            ids.append(by_hash[digest])
            continue
        LabelEvent.objects.create(project=project, item_id=by_hash[digest], source="given", to_label=labels[label],
                                  reason=f"imported from {name}: {source}", cause="import")
        ids.append(by_hash[digest])
    return ids
