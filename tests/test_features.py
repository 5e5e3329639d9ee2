"""Feature extractors: PCA against scikit-learn, its bits reproducible, bad input named."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from aestudy.core.errors import StudyError
from aestudy.data.datasets import flat, to_unit_float
from aestudy.data.loaders import load_digits_dataset
from aestudy.features.pixels import PCAFeatures, RawPixels


def test_pca_matches_scikit_learn_up_to_each_components_sign() -> None:
    data = load_digits_dataset()
    ours = PCAFeatures(10).fit(flat(data.train.images))
    ref = PCA(10, svd_solver="full").fit(to_unit_float(data.train.images).astype(np.float64))
    features, ref_features = ours.transform(flat(data.test.images)), ref.transform(to_unit_float(data.test.images))
    signs = np.sign((features * ref_features).sum(axis=0))
    assert np.allclose(features, ref_features * signs, atol=1e-4)
    assert np.allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-6)
    # The sign rule: each component's largest coefficient is positive.
    largest = ours.components_[np.arange(10), np.abs(ours.components_).argmax(axis=1)]
    assert (largest > 0).all()


def test_pca_features_are_bit_identical_across_fits() -> None:
    data = load_digits_dataset()
    first = PCAFeatures(8).fit(flat(data.train.images)).transform(flat(data.test.images))
    # Rows in another order give the same exact covariance, so the same bits.
    shuffled = data.train.images[np.random.default_rng(0).permutation(len(data.train.images))]
    second = PCAFeatures(8).fit(flat(shuffled)).transform(flat(data.test.images))
    assert first.dtype == np.float32 and np.array_equal(first, second)


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"The 'n_components' parameter of PCAFeatures must be an int in the range"):
        PCAFeatures(0).fit(np.zeros((3, 4)))
    with pytest.raises(StudyError, match=r"n_components=65 exceeds min\(n_samples, n_features\) = 64"):
        PCAFeatures(65).fit(flat(load_digits_dataset().train.images))
    with pytest.raises(ValueError, match="Found array with dim 3"):
        RawPixels().fit(np.zeros((3, 4, 4), dtype=np.float32))
    pca = PCAFeatures(2).fit(np.random.default_rng(0).integers(0, 256, (20, 16), dtype=np.uint8))
    with pytest.raises(ValueError, match="X has 9 features, but PCAFeatures is expecting 16 features"):
        pca.transform(np.zeros((2, 9), dtype=np.uint8))
