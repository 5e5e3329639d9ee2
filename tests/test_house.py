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


def top_packages(path: Path) -> set[str]:
    """The project's top-level packages a module imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {name.split(".")[0] for name in names} & {"aestudy", "study", "stages", "tools"}
    return found


def test_the_study_boundary_runs_one_way() -> None:
    """stages/ and tools/ over study/ over aestudy/: the library never reads the study's configuration, the
    study's boundary never a stage or a tool; a stage never imports another stage, and stages/ holds stages alone
    (what they share is study/)."""
    allowed = {"aestudy": {"aestudy"}, "study": {"aestudy", "study"}, "stages": {"aestudy", "study", "stages"},
               "tools": {"aestudy", "study", "tools"}}
    crossing = [(str(path.relative_to(ROOT)), sorted(top_packages(path) - allowed[top]))
                for top in allowed for path in (ROOT / top).rglob("*.py") if top_packages(path) - allowed[top]]
    assert crossing == []
    stage_imports = [(path.name, node.module) for path in (ROOT / "stages").glob("*.py")
                     for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stages")]
    assert stage_imports == []
