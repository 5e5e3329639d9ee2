"""Every public estimator's ``Examples`` section runs as written (docs/extending.md invites users to import them):
the outputs printed there are the outputs they give."""

from __future__ import annotations

import doctest
import importlib

import pytest

ESTIMATORS = [
    ("aestudy.classifiers.knn", "KNNClassifier"),
    ("aestudy.classifiers.ncc", "NearestCentroidClassifier"),
    ("aestudy.classifiers.linear", "LinearProbeClassifier"),
    ("aestudy.classifiers.mlp", "MLPClassifier"),
    ("aestudy.classifiers.graph", "GraphClassifier"),
    ("aestudy.classifiers.clusters", "ClusterClassifier"),
    ("aestudy.features.pixels", "RawPixels PCAFeatures"),
    ("aestudy.models.autoencoder", "AutoencoderFeatures"),
    # numba compiles UMAP's kernels on a process's first fit: about 12 s, the fast tier's budget
    pytest.param("aestudy.features.manifold", "UMAPFeatures", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("module", "classes"), ESTIMATORS)
def test_each_estimators_examples_run_as_written(module: str, classes: str) -> None:
    namespace = importlib.import_module(module)
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for name in classes.split():
        (test,) = [t for t in finder.find(getattr(namespace, name), f"{module}.{name}", module=namespace)
                   if t.name == f"{module}.{name}"]
        assert len(test.examples) >= 3, f"{name} has no Examples section"
        result = runner.run(test)
        assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
