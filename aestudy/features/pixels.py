"""Feature extractors, as scikit-learn transformers of pixel values (N, D) to float32 features.

- ``RawPixels``: the pixels / 255;
- ``PCAFeatures``: PCA of the pixels / 255, with the same bits on every machine for integer pixels;
- ``aestudy.autoencoder.AutoencoderFeatures``: an autoencoder trained by ``fit``, its code as the features.

Images (N, H, W) are flattened by the caller (``images.reshape(len(images), -1)``), as scikit-learn
passes samples.
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from aestudy.core.checks import pixel_inputs
from aestudy.core.errors import StudyError

# Components are rounded to multiples of 2^-COMPONENT_BITS (see PCAFeatures).
COMPONENT_BITS = 20
PIXEL_MAX = 255


def is_integer_pixels(pixels: np.ndarray) -> bool:
    """Integers in [0, 255]: the values whose PCA is computed exactly (see PCAFeatures)."""
    return np.issubdtype(pixels.dtype, np.integer) and pixels.min() >= 0 and pixels.max() <= PIXEL_MAX


class FloatFeaturesMixin:
    """Both transformers return float32 whatever the input's dtype, and keep float32 input float32."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class RawPixels(FloatFeaturesMixin, TransformerMixin, BaseEstimator):
    """Pixel values scaled to [0, 1]: each value / 255, as float32.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> images = np.rint(X * 255 / 16).astype(np.uint8)  # 8 x 8 digits, 0-16, as 0-255 pixels
    >>> from aestudy.features.pixels import RawPixels
    >>> pixels = RawPixels().fit_transform(images)
    >>> pixels.shape, pixels.dtype, float(pixels.max())
    ((1797, 64), dtype('float32'), 1.0)
    """

    def fit(self, X, y=None) -> RawPixels:
        """Check the pixel rows (nothing is learnt).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels)
            Pixel rows (any numeric dtype; 0-255).
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self
            The fitted estimator.
        """
        pixel_inputs(self, X, reset=True)
        return self

    def transform(self, X) -> np.ndarray:
        """Pixels scaled to [0, 1].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels)
            Pixel rows (any numeric dtype; 0-255).

        Returns
        -------
        ndarray of shape (n_samples, n_pixels)
            float32 pixel values / 255.
        """
        return pixel_inputs(self, X, reset=False).astype(np.float32) / np.float32(PIXEL_MAX)


class PCAFeatures(FloatFeaturesMixin, TransformerMixin, BaseEstimator):
    """PCA of the pixels / 255 whose features have the same bits whatever BLAS kernel computes them.

    ``n_components``: the number of principal directions kept (default: min(n_samples, n_features)).

    scikit-learn's float32 PCA gave other bits under each OpenBLAS kernel (``OPENBLAS_CORETYPE`` SkylakeX,
    Haswell, Sandybridge), and an MLP trained on the features amplifies the last bit into other accuracies
    (98.77% against 98.83% on two machines). For integer pixels in [0, 255] (the study's uint8 images) every
    step is either exact or one correctly rounded operation on identical inputs:
    - the covariance is computed from the integer pixels in float64, where every partial sum is an integer
      below 2^53, so any summation order gives the same exact result;
    - the eigenvectors (the one step whose last bits still depend on the kernel, by about 1e-14) get a sign
      fixed by their largest coefficient and are rounded to multiples of 2^-20, far coarser than that noise;
    - the features are integer dot products computed exactly, then divided once.
    Other values (floats, as a scikit-learn pipeline may pass) take the same steps in float64, not exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> images = np.rint(X * 255 / 16).astype(np.uint8)  # 8 x 8 digits, 0-16, as 0-255 pixels
    >>> from aestudy.classifiers.knn import KNNClassifier
    >>> from aestudy.features.pixels import PCAFeatures
    >>> pca = PCAFeatures(16).fit(images[:1500])
    >>> train, test = pca.transform(images[:1500]), pca.transform(images[1500:])
    >>> test.shape, test.dtype
    ((297, 16), dtype('float32'))
    >>> round(KNNClassifier().fit(train, y[:1500]).score(test, y[1500:]), 4)
    0.9461
    """

    _parameter_constraints: ClassVar[dict] = {"n_components": [Interval(Integral, 1, None, closed="left"), None]}

    def __init__(self, n_components: int | None = None) -> None:
        self.n_components = n_components

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> PCAFeatures:
        """Fit the principal components of the scaled pixel rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels)
            Pixel rows (any numeric dtype; 0-255).
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self
            The fitted estimator.
        """
        pixels = pixel_inputs(self, X, reset=True)
        n, d = pixels.shape
        k = min(n, d) if self.n_components is None else self.n_components
        if k > min(n, d):
            raise StudyError(f"n_components={k} exceeds min(n_samples, n_features) = {min(n, d)}")
        values = pixels.astype(np.float64)
        sums = values.sum(axis=0)  # exact for integer pixels: integers below 2^53
        scatter = values.T @ values - np.outer(sums, sums) / n  # exact products, one rounding per entry
        eigenvalues, eigenvectors = np.linalg.eigh(scatter)
        order = np.argsort(eigenvalues, kind="stable")[::-1][:k]
        components = eigenvectors[:, order].T
        components *= np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])[:, None]
        # Multiples of 2^-20, |entry| <= 1: exact as float64, and as int64 once scaled by 2^20.
        self.components_ = np.rint(components * 2.0**COMPONENT_BITS) / 2.0**COMPONENT_BITS
        self.explained_variance_ = eigenvalues[order] / max(n - 1, 1) / float(PIXEL_MAX) ** 2
        self.mean_ = sums / n
        self.n_components_, self.n_samples_ = k, n
        self._exact_sums = sums.astype(np.int64) if is_integer_pixels(pixels) else None
        return self

    def transform(self, X) -> np.ndarray:
        """Project the scaled pixel rows onto the components.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels)
            Pixel rows (any numeric dtype; 0-255).

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            The projections, float32.
        """
        pixels = pixel_inputs(self, X, reset=False)
        if self._exact_sums is None or not is_integer_pixels(pixels):
            centred = (pixels.astype(np.float64) - self.mean_) @ self.components_.T
            return (centred / PIXEL_MAX).astype(np.float32)
        components = (self.components_ * 2.0**COMPONENT_BITS).astype(np.int64)
        # x . c: at most 255 * 2^20 per term and 2^10 terms, exact in float64 whatever the BLAS kernel.
        dots = (pixels.astype(np.float64) @ components.T.astype(np.float64)).astype(np.int64)
        # (x - mean) . c scaled by n: exact in int64 (at most 2^55).
        centred = dots * self.n_samples_ - self._exact_sums @ components.T
        scale = float(self.n_samples_) * PIXEL_MAX * 2.0**COMPONENT_BITS
        return (centred.astype(np.float64) / scale).astype(np.float32)
