"""Every function of the data-health code is short enough to read without scrolling (40 lines at most)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "health").glob("*.py")) + [ROOT / "ml" / "health.py", ROOT / "ml" / "synthetic.py"]
MAX_LINES = 40


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_LINES]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_function_is_longer_than_40_lines(path):
    assert long_functions(path) == []


def test_the_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(45))
    (tmp_path / "long.py").write_text(f"def f():\n{body}\n")
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        assert long_functions(tmp_path / "long.py") == ["long.py:1 f (46 lines)"]
    finally:
        ROOT = old
