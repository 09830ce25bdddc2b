"""The three import paths (all at once, streaming from a file, one-pass COPY) and small archive builders,
for tests that check every path gives the same result."""
import io
import zipfile

import pytest
from PIL import Image

from data import one_pass
from data.parse import parse_upload
from data.write import import_rows, import_text_file


def all_at_once(project, name, data, tmp_path):
    rows, errors = parse_upload(name, io.BytesIO(data))
    return import_rows(project=project, rows=rows, errors=errors, name=name)


def streaming(project, name, data, tmp_path):
    path = tmp_path / name
    path.write_bytes(data)
    return import_text_file(project=project, path=path, name=name)


def one_pass_copy(project, name, data, tmp_path):
    return one_pass.import_text(project=project, name=name, stream=io.BytesIO(data), bounded_memory=True)


EVERY_PATH = pytest.mark.parametrize("run", [all_at_once, streaming, one_pass_copy],
                                     ids=["all_at_once", "streaming", "one_pass"])


def photo(seed: int) -> bytes:
    """A small textured JPEG, different for each seed (a photo, not a flat colour)."""
    img = Image.new("RGB", (24, 24))
    img.putdata([((x * 7 + seed * 31) % 256, (y * 5 + seed * 17) % 256, (x * y + seed) % 256)
                 for y in range(24) for x in range(24)])
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def zipped(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()
