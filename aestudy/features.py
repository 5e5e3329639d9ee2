"""Feature extractors with scikit-learn's transformer shape: ``fit(images)``, then ``transform(images)``.

Each takes uint8 images (N, H, W) and returns float32 features (N, D):
- ``RawPixels``: the pixels / 255, flattened;
- ``PCAFeatures``: PCA fitted on the training pixels, with the same bits on every machine;
- ``aestudy.autoencoder.AutoencoderFeatures``: the code of an already trained autoencoder.
"""

from __future__ import annotations

import numpy as np

from aestudy.checks import check_images
from aestudy.datasets import to_unit_float
from aestudy.errors import StudyError

# Components are rounded to multiples of 2^-COMPONENT_BITS (see PCAFeatures).
COMPONENT_BITS = 20


class RawPixels:
    def fit(self, images: np.ndarray) -> RawPixels:
        check_images(images)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        return to_unit_float(check_images(images))


class PCAFeatures:
    """PCA of the unit-scaled pixels whose features have the same bits whatever BLAS kernel computes them.

    scikit-learn's float32 PCA gave other bits under each OpenBLAS kernel (``OPENBLAS_CORETYPE`` SkylakeX,
    Haswell, Sandybridge), and an MLP trained on the features amplifies the last bit into other accuracies
    (98.77% against 98.83% on two machines). Here every step is either exact or one correctly rounded
    operation on identical inputs:
    - the covariance is computed from the integer pixels in float64, where every partial sum is an integer
      below 2^53, so any summation order gives the same exact result;
    - the eigenvectors (the one step whose last bits still depend on the kernel, by about 1e-14) get a sign
      fixed by their largest coefficient and are rounded to multiples of 2^-20, far coarser than that noise;
    - the features are integer dot products computed exactly, then divided once.
    """

    def __init__(self, n_components: int) -> None:
        if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
            raise StudyError(f"n_components must be an integer >= 1, got {n_components!r}")
        self.n_components = n_components

    def fit(self, images: np.ndarray) -> PCAFeatures:
        pixels = check_images(images).reshape(len(images), -1).astype(np.float64)
        n, d = pixels.shape
        if self.n_components > min(n - 1, d):
            raise StudyError(f"n_components={self.n_components} exceeds the data's rank bound {min(n - 1, d)}")
        sums = pixels.sum(axis=0)  # exact: integers below 2^53
        scatter = pixels.T @ pixels - np.outer(sums, sums) / n  # exact products, one rounding per entry
        eigenvalues, eigenvectors = np.linalg.eigh(scatter)
        order = np.argsort(eigenvalues, kind="stable")[::-1][: self.n_components]
        components = eigenvectors[:, order].T
        components *= np.sign(components[np.arange(len(order)), np.abs(components).argmax(axis=1)])[:, None]
        self.components_ = np.rint(components * 2.0**COMPONENT_BITS).astype(np.int64)  # (k, D), |entry| <= 2^20
        self.explained_variance_ = eigenvalues[order] / (n - 1) / 255.0**2
        self.n_samples_, self.pixel_sums_ = n, sums.astype(np.int64)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        pixels = check_images(images).reshape(len(images), -1)
        if pixels.shape[1] != self.components_.shape[1]:
            raise StudyError(f"images have {pixels.shape[1]} pixels, but the PCA was fitted on "
                             f"{self.components_.shape[1]}")
        # x . c: at most 255 * 2^20 per term and 2^10 terms, exact in float64 whatever the BLAS kernel.
        dots = (pixels.astype(np.float64) @ self.components_.T.astype(np.float64)).astype(np.int64)
        # (x - mean) . c scaled by n: exact in int64 (at most 2^55).
        centred = dots * self.n_samples_ - self.pixel_sums_ @ self.components_.T
        scale = float(self.n_samples_) * 255.0 * 2.0**COMPONENT_BITS
        return (centred.astype(np.float64) / scale).astype(np.float32)
