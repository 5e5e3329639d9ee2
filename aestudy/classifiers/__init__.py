"""The classifiers: scikit-learn estimators, named in params.yaml by ``_target_: aestudy.classifiers.<Name>``.

``KNNClassifier`` (exact k-NN), ``NearestCentroidClassifier``, ``LinearProbeClassifier`` (logistic regression on
standardised features), ``MLPClassifier`` (trained in the study's one loop) and ``GraphClassifier`` (label
spreading and Poisson learning over the k-NN graph of every training image, unlabelled ones included).
"""

from aestudy.core.lazy import lazy_exports

_MODULES = {"KNNClassifier": "knn", "NearestCentroidClassifier": "ncc", "LinearProbeClassifier": "linear",
            "MLPClassifier": "mlp", "GraphClassifier": "graph"}

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
