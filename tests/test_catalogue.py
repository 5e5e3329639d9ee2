"""Bad declarations in params.yaml: feature sets, classifiers, autoencoder families (tests/test_pipeline.py runs
good ones)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stages import params as P
from tests.conftest import run, set_params


def test_a_bad_declaration_stops_validate_with_one_line(project: Path) -> None:
    set_params(project, {"classifiers": {"svm": {"_target_": "sklearn.svm.SVX"}}})
    result = run(["dvc", "repro"], project, check=False)
    assert result.returncode != 0
    assert "error: params.yaml: classifiers.svm._target_: module 'sklearn.svm' has no 'SVX'" in result.stderr
    assert not (project / "data/models").exists() and not (project / "data/prepared").exists()


def test_a_bad_family_key_stops_validate_with_one_line(project: Path) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["autoencoders"]["tiny-b"] |= {"arch": "conv", "channels": [8, "wide"]}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = run(["dvc", "repro"], project, check=False)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert errors == ["error: params.yaml: autoencoders.tiny-b.channels must be an integer >= 1, got 'wide'"], errors
    assert not (project / "data/models").exists() and not (project / "data/prepared").exists()


@pytest.mark.parametrize(("kind", "spec", "message"), [
    ("classifiers", {"_target_": "sklearn.svm.SVC", "C": -1},
     r"classifiers.x: The 'C' parameter of SVC must be a float in the range \(0.0, inf\]"),
    ("classifiers", {"_target_": "sklearn.svm.SVC", "Cee": 1}, r"classifiers.x: bad keyword arguments for sklearn.svm"),
    ("classifiers", {"_target_": "sklearn.decomposition.PCA"}, r"is not a scikit-learn classifier \(no predict\)"),
    ("features", {"_target_": "sklearn.svm.SVC"}, r"features.x._target_: sklearn.svm.SVC is not a scikit-learn trans"),
    ("features", {"_target_": "no_such_package.Thing"}, r"features.x._target_: cannot import 'no_such_package'"),
    ("features", {"_target_": "PCA"}, r"features.x._target_ must be an import path"),
    ("features", {"n_components": 3}, r"features.x must be a mapping with _target_"),
    ("features", {"_target_": "math.pi"}, r"features.x._target_: math.pi is not a class"),
])
def test_each_bad_declaration_names_its_key(kind: str, spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        P.declared_estimator({kind: {"x": spec}}, kind, "x")


@pytest.mark.parametrize(("section", "message"), [
    ({"knn": {"_target_": "sklearn.svm.SVC"}}, r"'knn' is a built-in name"),
    ({"a b": {"_target_": "sklearn.svm.SVC"}}, r"the name 'a b' must be 1 to 64 letters"),
    ([1, 2], r"classifiers must be a mapping of names to declarations"),
])
def test_declared_names(section, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        P.design({"classifiers": section})
