"""UMAP on the exact neighbours, and feature sets composed of steps: each fitted on the training rows alone."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from aestudy.core.errors import StudyError
from aestudy.data.datasets import flat
from aestudy.data.loaders import load_digits_dataset
from aestudy.features import PCAFeatures, UMAPFeatures
from aestudy.features.chain import fit_step

pytest.importorskip("umap", reason="umap-learn is not installed")


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    data = load_digits_dataset()
    return flat(data.train.images)[:600], flat(data.test.images)[:100]


def small_umap(**changes) -> UMAPFeatures:
    return UMAPFeatures(**{"n_neighbors": 10, "min_dist": 0.0, "n_components": 3, "n_epochs": 30,
                           "random_state": 0, **changes})


def test_umap_is_given_the_exact_neighbours(digits) -> None:
    train, _ = digits
    x = PCAFeatures(8).fit_transform(train)
    model = small_umap().fit(x)
    _, expected = NearestNeighbors(n_neighbors=10).fit(x.astype(np.float64)).kneighbors(x.astype(np.float64))
    ours = model.umap_._knn_indices
    # The same sets (an equal-distance tie may be ordered otherwise by scikit-learn), each row itself first.
    assert np.array_equal(ours[:, 0], np.arange(len(x)))
    assert np.mean([set(a) == set(b) for a, b in zip(ours, expected, strict=True)]) > 0.99


def test_a_seeded_umap_is_deterministic_and_never_fitted_on_test_rows(digits) -> None:
    train, test = digits
    x, x_test = PCAFeatures(8).fit(train).transform(train), PCAFeatures(8).fit(train).transform(test)
    first = small_umap().fit(x)
    embedding = first.embedding_.copy()
    mapped = first.transform(x_test)
    assert np.array_equal(first.embedding_, embedding)  # mapping test rows changed nothing fitted
    second = small_umap().fit(x)
    assert np.array_equal(second.embedding_, embedding) and np.array_equal(second.transform(x_test), mapped)
    assert mapped.shape == (100, 3) and mapped.dtype == np.float32
    assert not np.array_equal(small_umap(random_state=1).fit(x).embedding_, embedding)


def test_a_chain_is_its_steps_fitted_in_turn(digits) -> None:
    """``pca+umap``: PCA fitted on the training rows, UMAP on their PCA features; test rows mapped through both."""
    train, test = digits
    pca_train, pca_test, pca_seconds = fit_step("pca", PCAFeatures(8), train, test)
    chained_train, chained_test, umap_seconds = fit_step("pca+umap", small_umap(), pca_train, pca_test)
    pca = PCAFeatures(8).fit(train)
    umap_step = small_umap().fit(pca.transform(train))
    assert np.array_equal(chained_train, umap_step.embedding_)
    assert np.array_equal(chained_test, umap_step.transform(pca.transform(test)))
    assert pca_seconds > 0 and umap_seconds > 0


def test_a_step_that_fails_names_its_feature_set(digits) -> None:
    train, test = digits
    with pytest.raises(StudyError, match=r"pca\+umap: UMAPFeatures failed \(n_neighbors=700 needs more than 700 "
                                         r"samples, got n_samples=600\)"):
        fit_step("pca+umap", small_umap(n_neighbors=700), *fit_step("pca", PCAFeatures(8), train, test)[:2])
