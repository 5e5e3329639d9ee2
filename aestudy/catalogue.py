"""Estimators declared by import path and keyword arguments, in Hydra's ``_target_`` convention.

    {"_target_": "sklearn.svm.SVC", "C": 10}  ->  sklearn.svm.SVC(C=10)

A declared feature set must be a transformer (``fit`` and ``transform``), fitted on the training images
without their labels; a declared classifier must have ``fit`` and ``predict``. Both must be scikit-learn
estimators (``get_params``). Every failure names the declaration's key and what is wrong, and happens when
the estimator is built, before anything is fitted: the import, the keyword arguments and, for estimators
that declare their parameters' constraints (scikit-learn's ``_validate_params``), their values.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from aestudy.errors import StudyError

TARGET = "_target_"
# What each kind of declaration must provide.
METHODS = {"features": ("fit", "transform", "get_params"), "classifiers": ("fit", "predict", "get_params")}


def import_target(path: Any, key: str) -> Any:
    """The object named by a dotted import path, ``package.module.Name``."""
    if not isinstance(path, str) or "." not in path:
        raise StudyError(f"{key}.{TARGET} must be an import path such as sklearn.svm.SVC, got {path!r}")
    module_name, name = path.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StudyError(f"{key}.{TARGET}: cannot import {module_name!r} ({error})") from None
    if not hasattr(module, name):
        raise StudyError(f"{key}.{TARGET}: module {module_name!r} has no {name!r}")
    return getattr(module, name)


def build(spec: Any, key: str, kind: str) -> Any:
    """A new, unfitted estimator from a declaration (``kind``: ``features`` or ``classifiers``)."""
    if not isinstance(spec, Mapping) or TARGET not in spec:
        raise StudyError(f"{key} must be a mapping with {TARGET} (an import path) and keyword arguments, got {spec!r}")
    target = import_target(spec[TARGET], key)
    kwargs = {name: value for name, value in spec.items() if name != TARGET}
    if not callable(target):
        raise StudyError(f"{key}.{TARGET}: {spec[TARGET]} is not a class")
    try:
        estimator = target(**kwargs)
    except TypeError as error:
        raise StudyError(f"{key}: bad keyword arguments for {spec[TARGET]} ({error})") from None
    missing = [method for method in METHODS[kind] if not callable(getattr(estimator, method, None))]
    if missing:
        raise StudyError(f"{key}.{TARGET}: {spec[TARGET]} is not a scikit-learn "
                         f"{'transformer' if kind == 'features' else 'classifier'} (no {', '.join(missing)})")
    validate = getattr(estimator, "_validate_params", None)
    if callable(validate):
        try:
            validate()
        except (TypeError, ValueError) as error:
            raise StudyError(f"{key}: {error}") from None
    return estimator
