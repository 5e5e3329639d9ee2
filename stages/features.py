"""Feature extractors with scikit-learn's transformer shape: ``fit(images)``, then ``transform(images)``.

Each takes uint8 images (N, H, W) and returns float32 features (N, D):
- ``RawPixels``: the pixels / 255, flattened;
- ``PCAFeatures``: PCA fitted on the training pixels;
- ``AutoencoderFeatures``: the code of an already trained autoencoder.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA

from stages.autoencoder import DenseAutoencoder, encode
from stages.errors import StudyError
from stages.runtime import to_unit_float


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or len(images) == 0:
        raise StudyError(f"{name} must be a non-empty uint8 array (N, H, W), got {images.dtype} {images.shape}")
    return images


class RawPixels:
    def fit(self, images: np.ndarray) -> RawPixels:
        check_images(images)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        return to_unit_float(check_images(images))


class PCAFeatures:
    """PCA of the unit-scaled pixels; the covariance eigensolver is exact and fast when N >> D."""

    def __init__(self, n_components: int) -> None:
        if n_components < 1:
            raise StudyError(f"n_components must be >= 1, got {n_components}")
        self.n_components = n_components

    def fit(self, images: np.ndarray) -> PCAFeatures:
        pixels = to_unit_float(check_images(images))
        if self.n_components > min(pixels.shape):
            raise StudyError(f"n_components={self.n_components} exceeds the data's rank bound {min(pixels.shape)}")
        self.pca_ = PCA(self.n_components, svd_solver="covariance_eigh").fit(pixels)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        return self.pca_.transform(to_unit_float(check_images(images))).astype(np.float32)


class AutoencoderFeatures:
    """The code layer of a trained ``DenseAutoencoder``; ``fit`` checks the input size and trains nothing."""

    def __init__(self, model: DenseAutoencoder, device: torch.device | str = "cpu") -> None:
        self.model, self.device = model, torch.device(device)

    def fit(self, images: np.ndarray) -> AutoencoderFeatures:
        n_inputs = self.model.encoder[0].in_features
        pixels = int(np.prod(check_images(images).shape[1:]))
        if pixels != n_inputs:
            raise StudyError(f"images have {pixels} pixels, but the autoencoder takes {n_inputs}")
        self.model.to(self.device)
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        pixels = torch.from_numpy(to_unit_float(check_images(images))).to(self.device)
        return encode(self.model, pixels).cpu().numpy()
