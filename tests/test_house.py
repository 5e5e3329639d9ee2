"""The library's floors (aestudy/__init__.py, the README's map): each package imports only packages on floors
below its own, at module level or inside a function, so that nothing runs up a floor."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

FLOORS = {"core": 1, "data": 2, "neighbors": 2, "evaluation": 2, "features": 3, "classifiers": 3, "report": 3,
          "models": 4}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {name.split(".")[1] for name in names if name.startswith("aestudy.") and name.count(".") >= 1}
    return found


def test_no_import_runs_up_a_floor() -> None:
    packages = {p.name for p in (ROOT / "aestudy").iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(FLOORS)
    upward = [(str(path.relative_to(ROOT)), other) for path in (ROOT / "aestudy").rglob("*.py")
              if len(path.relative_to(ROOT / "aestudy").parts) > 1
              for other in imported_packages(path) - {path.relative_to(ROOT / "aestudy").parts[0]}
              if FLOORS[other] >= FLOORS[path.relative_to(ROOT / "aestudy").parts[0]]]
    assert upward == []
