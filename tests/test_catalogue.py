"""Entries in the ``_target_`` convention: checked in order, nothing called before every check has passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from aestudy.core.errors import StudyError
from study.catalogue import Catalogue, parse_entry, scores_of


def entry(kind: str, spec: dict, name: str = "x"):
    return parse_entry(kind, name, spec, f"params.yaml: {kind}.{name}")


@pytest.mark.parametrize(("kind", "spec", "message"), [
    ("classifiers", {"_target_": "sklearn.svm.SVX"}, r"classifiers.x._target_: module 'sklearn.svm' has no 'SVX'"),
    ("classifiers", {"_target_": "sklearn.svm.SVC", "Cee": 1},
     r"classifiers.x: sklearn.svm._classes.SVC takes no argument\(s\) Cee \(it takes: C, break_ties, "),
    ("classifiers", {"_target_": "sklearn.decomposition.PCA"}, r"is not a scikit-learn classifier \(no predict\)"),
    ("classifiers", {"_target_": "sklearn.svm.SVC", "scores": {"a": {"gamma_": 1}}},
     r"classifiers.x.scores.a: sklearn.svm._classes.SVC takes no argument\(s\) gamma_"),
    ("classifiers", {"_target_": "sklearn.svm.SVC", "scores": [1]}, r"classifiers.x.scores must map each score's"),
    ("classifiers", {"_target_": "sklearn.svm.SVC", "draws": 0}, r"classifiers.x.draws must be an integer >= 1"),
    ("classifiers", {"_target_": "sklearn.svm.SVC", "unlabelled": "yes"}, r"unlabelled must be true or false"),
    ("features", {"_target_": "sklearn.svm.SVC"}, r"features.x._target_: sklearn.svm.SVC is not a scikit-learn trans"),
    ("features", {"_target_": "no_such_package.Thing"},
     r"features.x._target_: cannot import 'no_such_package' \(No module named 'no_such_package'\); is its package "),
    ("features", {"_target_": "PCA"}, r"features.x._target_ must be an import path such as sklearn.svm.SVC"),
    ("features", {"_target_": "os.system; rm -rf /"}, r"features.x._target_ must be an import path"),
    ("features", {"n_components": 3}, r"features.x must be a mapping with _target_"),
    ("features", {"_target_": "math.pi"}, r"features.x._target_: math.pi is not a class"),
    ("features", {"_target_": "collections.OrderedDict"}, r"is not a scikit-learn estimator \(a subclass of Base"),
    ("features", {"_target_": "sklearn.decomposition.PCA", "input": "a", "variant": "selected"},
     r"features.x: a feature set takes its input either from another feature set \(input\) or from a trained"),
    ("features", {"_target_": "sklearn.decomposition.PCA", "variant": "selected"},
     r"features.x.variant gives a trained autoencoder's codes: its _target_ must be aestudy.models.Autoencoder"),
    ("features", {"_target_": "sklearn.decomposition.PCA", "input": ["a"]}, r"features.x.input must name another"),
])
def test_each_bad_entry_names_its_key(kind: str, spec: dict, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        entry(kind, spec).check()


def test_values_are_the_estimators_own_constraints() -> None:
    with pytest.raises(StudyError, match=r"^params.yaml: classifiers.x: The 'C' parameter of SVC must be a float in "
                                         r"the range \(0.0, inf\]"):
        entry("classifiers", {"_target_": "sklearn.svm.SVC", "C": -1}).check().build()
    with pytest.raises(StudyError, match=r"^params.yaml: classifiers.x: The 'method' parameter of GraphClassifier "):
        entry("classifiers", {"_target_": "aestudy.classifiers.GraphClassifier", "method": "mbo"}).check().build()


def test_nothing_an_entry_names_is_called_before_the_checks_pass(tmp_path: Path) -> None:
    """A class that is no estimator is refused by its type alone: ``subprocess.Popen`` is never called."""
    marker = tmp_path / "ran"
    popen = entry("classifiers", {"_target_": "subprocess.Popen", "args": ["touch", str(marker)]})
    with pytest.raises(StudyError, match=r"subprocess.Popen is not a scikit-learn estimator"):
        popen.check().build()
    assert not marker.exists()
    with pytest.raises(StudyError, match=r"os.system is not a class"):
        entry("classifiers", {"_target_": "os.system", "command": f"touch {marker}"}).check().build()
    assert not marker.exists()


def test_building_fills_seed_device_and_context() -> None:
    pca = entry("features", {"_target_": "sklearn.decomposition.PCA", "n_components": "code"}).check()
    assert pca.seeded
    built = pca.build(seed=7, device="cuda", context={"code": 12})
    assert (built.n_components, built.random_state) == (12, 7)
    fixed = entry("features", {"_target_": "sklearn.decomposition.PCA", "random_state": 0}).check()
    assert not fixed.seeded and fixed.build(seed=7).random_state == 0
    knn = entry("classifiers", {"_target_": "aestudy.classifiers.KNNClassifier", "scores": {"knn1": {"n_neighbors": 1},
                                                                                             "5nn": {"n_neighbors": 5}}})
    assert not knn.check().seeded and knn.build(device="cpu", n_neighbors=5).device == "cpu"
    assert scores_of(knn) == {"knn1": {"n_neighbors": 1}, "5nn": {"n_neighbors": 5}}
    assert scores_of(entry("classifiers", {"_target_": "sklearn.svm.SVC"}, name="svm")) == {"svm": {}}


def test_chains_of_inputs() -> None:
    specs = {"pca": {"_target_": "sklearn.decomposition.PCA"},
             "pca+umap": {"_target_": "aestudy.features.UMAPFeatures", "input": "pca"},
             "a": {"_target_": "sklearn.decomposition.PCA", "input": "b"},
             "b": {"_target_": "sklearn.decomposition.PCA", "input": "a"},
             "lost": {"_target_": "sklearn.decomposition.PCA", "input": "tsne"}}
    catalogue = Catalogue({name: entry("features", spec, name) for name, spec in specs.items()})
    assert [step.name for step in catalogue.chain("pca+umap")] == ["pca", "pca+umap"]
    with pytest.raises(StudyError, match=r"params.yaml: features.a.input: a cycle of inputs \(a -> b -> a\)"):
        catalogue.chain("a")
    with pytest.raises(StudyError, match=r"params.yaml: features.lost.input names 'tsne', which is not a feature set"):
        catalogue.chain("lost")


def test_titles_come_from_the_entries_else_the_class_names() -> None:
    """The report names an entry or a score by its `title`; without one, by its estimator's class name, with the
    key after it where two would read the same; the library holds no dictionary of the study's names."""
    from study.catalogue import titles

    classifiers = Catalogue({
        "rf": parse_entry("classifiers", "rf", {"_target_": "sklearn.ensemble.RandomForestClassifier"}, "rf"),
        "knn": parse_entry("classifiers", "knn", {"_target_": "aestudy.classifiers.KNNClassifier", "scores": {
            "knn1": {"n_neighbors": 1, "title": "1-NN"}, "knn3": {"n_neighbors": 3}}}, "knn"),
        "ncc": parse_entry("classifiers", "ncc", {"_target_": "aestudy.classifiers.NearestCentroidClassifier",
                                                  "title": "nearest centroid"}, "ncc"),
    })
    assert titles(classifiers, ["rf", "knn1", "knn3", "ncc"]) == {
        "rf": "RandomForestClassifier", "knn1": "1-NN", "knn3": "KNNClassifier", "ncc": "nearest centroid"}
    features = Catalogue({name: parse_entry("features", name, {"_target_": "aestudy.features.UMAPFeatures"}, name)
                          for name in ("a", "b")})
    assert titles(features, ["a", "b"]) == {"a": "UMAPFeatures (a)", "b": "UMAPFeatures (b)"}
    assert scores_of(classifiers["knn"]) == {"knn1": {"n_neighbors": 1}, "knn3": {"n_neighbors": 3}}


@pytest.mark.parametrize("title", ["**bold**", "see https://example.org", "www.example.org", "_emphasis_",
                                   "a | b", "<b>x</b>", "[link](x)", "`code`", "x" * 65, 7])
def test_a_title_is_plain_text(title: object) -> None:
    entry = parse_entry("classifiers", "x", {"_target_": "aestudy.classifiers.NearestCentroidClassifier",
                                             "title": title}, "x")
    with pytest.raises(StudyError, match=r"^x.title must be 1 to 64 letters, digits, spaces"):
        entry.check()
