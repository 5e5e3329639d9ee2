"""The feature sets: scikit-learn transformers of pixel rows, named in params.yaml by ``_target_``.

``RawPixels`` (pixels / 255), ``PCAFeatures`` (PCA with the same bits on every machine) and ``UMAPFeatures``
(umap-learn's UMAP, its neighbours from the study's exact search); the autoencoders' codes are
``aestudy.models.AutoencoderFeatures``.
"""

from aestudy.core.lazy import lazy_exports

_MODULES = {"RawPixels": "pixels", "PCAFeatures": "pixels", "UMAPFeatures": "manifold"}

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
