"""The feature sets: scikit-learn transformers of pixel rows, named in params.yaml by ``_target_``.

``RawPixels`` (pixels / 255), ``PCAFeatures`` (PCA with the same bits on every machine) and ``UMAPFeatures``
(umap-learn's UMAP, its neighbours from the study's exact search); the autoencoders' codes are
``aestudy.models.AutoencoderFeatures``.
"""

_MODULES = {"RawPixels": "pixels", "PCAFeatures": "pixels", "UMAPFeatures": "manifold"}


def __getattr__(name: str):
    """The estimators, each imported when first asked for: naming one loads only its own module's imports."""
    if name in _MODULES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
