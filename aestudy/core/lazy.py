"""A package's estimators imported when first asked for (PEP 562), so that naming one loads only its own module.

A stage that reads one entry's names must not pay for every estimator's imports (UMAP's numba, torch): each
package's ``__init__`` lists its public names and the module of each, and this makes its ``__getattr__`` and
``__dir__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose name ``name`` lives in ``package.<modules[name]>``."""
    def __getattr__(name: str) -> Any:
        if name in modules:
            return getattr(importlib.import_module(f"{package}.{modules[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*vars(importlib.import_module(package)), *modules])

    return __getattr__, __dir__
