"""The networks the study trains without labels: autoencoders of every family, in the one training loop.

``AutoencoderFeatures`` is the scikit-learn transformer (``fit`` trains, ``transform`` encodes); a variant of
the grid is an entry of ``conf/autoencoders/`` naming it by ``_target_``.
"""

_MODULES = {"AutoencoderFeatures": "autoencoder"}


def __getattr__(name: str):
    """The estimators, each imported when first asked for: naming one loads only its own module's imports."""
    if name in _MODULES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
