"""The classifiers: scikit-learn estimators, named in params.yaml by ``_target_: aestudy.classifiers.<Name>``.

``KNNClassifier`` (exact k-NN), ``NearestCentroidClassifier``, ``LinearProbeClassifier`` (logistic regression on
standardised features), ``MLPClassifier`` (trained in the study's one loop) and ``GraphClassifier`` (label
spreading and Poisson learning over the k-NN graph of every training image, unlabelled ones included).
"""

_MODULES = {"KNNClassifier": "knn", "NearestCentroidClassifier": "ncc", "LinearProbeClassifier": "linear",
            "MLPClassifier": "mlp", "GraphClassifier": "graph"}


def __getattr__(name: str):
    """The estimators, each imported when first asked for: naming one loads only its own module's imports."""
    if name in _MODULES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
