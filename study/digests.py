"""The code each kind of stage runs, as a digest that its stages depend on (written by ``validate``).

A stage's results change when the code it runs changes, so DVC must see that code as a dependency. Listing
modules by hand in ``dvc.yaml`` drifts from the imports; listing whole folders re-runs too much and widens
``dvc exp show`` by a column per path. So ``validate``, which runs first and depends on all the code, writes
``data/records/code/<name>.json`` for each kind of stage (``DIGESTS``): the MD5 of every project module it imports
(its stage module, and everything it imports, at any depth, at module level or inside a function), and of the
modules of the estimators its entries name (``_target_``). A stage depends on its kind's file alone, and re-runs
exactly when one of those modules changes.

Until ``validate`` has run, ``dvc status`` reports a code change as a change of ``validate``'s dependencies;
``dvc repro`` runs it first and then every stage whose code changed.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("aestudy", "stages", "study")
# Each digest and the kinds of stage (stages/<kind>.py) that depend on it: a kind each, but for the two stages
# that only read and sample the data, which take seconds, so that a change to either re-runs both.
DIGESTS = {"data": ("extract", "labels"), "train": ("train",), "codes": ("codes",), "encode": ("encode",),
           "classify": ("classify",), "stats": ("stats",), "report": ("report",)}


def module_file(module: str) -> Path | None:
    """The file of a project module (``aestudy.core.io`` or a package's ``__init__``), None for any other."""
    if module.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_by(path: Path, module: str) -> set[str]:
    """Every module a file imports, wherever in the file the import stands."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing package upwards
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return found


def closure(modules: Iterable[str]) -> dict[str, Path]:
    """The project modules ``modules`` import, themselves included, transitively, with every package above each."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            name = ".".join(parts[:depth])
            path = module_file(name)
            if path is None or name in seen:
                continue
            seen[name] = path
            todo += sorted(imported_by(path, name))
    return seen


def digest(modules: Iterable[str], files: Iterable[Path] = ()) -> dict[str, str]:
    """The MD5 of each module of ``closure(modules)`` and of each of ``files``, by path from the project root."""
    paths = {*closure(modules).values(), *(ROOT / f for f in files)}
    return {str(path.relative_to(ROOT)): hashlib.md5(path.read_bytes()).hexdigest() for path in sorted(paths)}
