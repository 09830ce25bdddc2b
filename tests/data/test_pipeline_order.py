"""An import runs parse -> validate -> write: no stage module imports a later one, so none calls back."""
import ast
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
LATER = {"parse": {"data.validate", "data.write", "data.copy_insert"}, "validate": {"data.write", "data.copy_insert"}}


def _imported(module: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse((DATA / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("module", sorted(LATER))
def test_a_stage_does_not_import_a_later_stage(module):
    assert not _imported(module) & LATER[module]
