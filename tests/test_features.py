"""Feature extractors: PCA against scikit-learn, its bits reproducible, bad input named."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from aestudy.datasets import load_digits_dataset, to_unit_float
from aestudy.errors import StudyError
from aestudy.features import PCAFeatures, RawPixels


def test_pca_matches_scikit_learn_up_to_each_components_sign() -> None:
    data = load_digits_dataset()
    ours = PCAFeatures(10).fit(data.train.images)
    ref = PCA(10, svd_solver="full").fit(to_unit_float(data.train.images).astype(np.float64))
    features, ref_features = ours.transform(data.test.images), ref.transform(to_unit_float(data.test.images))
    signs = np.sign((features * ref_features).sum(axis=0))
    assert np.allclose(features, ref_features * signs, atol=1e-4)
    assert np.allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-6)
    # The sign rule: each component's largest coefficient is positive.
    largest = ours.components_[np.arange(10), np.abs(ours.components_).argmax(axis=1)]
    assert (largest > 0).all()


def test_pca_features_are_bit_identical_across_fits() -> None:
    data = load_digits_dataset()
    first = PCAFeatures(8).fit(data.train.images).transform(data.test.images)
    # Rows in another order give the same exact covariance, so the same bits.
    shuffled = data.train.images[np.random.default_rng(0).permutation(len(data.train.images))]
    second = PCAFeatures(8).fit(shuffled).transform(data.test.images)
    assert first.dtype == np.float32 and np.array_equal(first, second)


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(StudyError, match="n_components must be an integer >= 1"):
        PCAFeatures(0)
    with pytest.raises(StudyError, match=r"n_components=65 exceeds the data's rank bound 64"):
        PCAFeatures(65).fit(load_digits_dataset().train.images)
    with pytest.raises(StudyError, match="images must be a non-empty uint8 array"):
        RawPixels().fit(np.zeros((3, 4, 4), dtype=np.float32))
    pca = PCAFeatures(2).fit(np.random.default_rng(0).integers(0, 256, (20, 4, 4), dtype=np.uint8))
    with pytest.raises(StudyError, match="images have 9 pixels, but the PCA was fitted on 16"):
        pca.transform(np.zeros((2, 3, 3), dtype=np.uint8))
