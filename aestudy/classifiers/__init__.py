"""The classifiers: scikit-learn estimators, named in params.yaml by ``_target_: aestudy.classifiers.<Name>``.

``KNNClassifier`` (exact k-NN), ``NearestCentroidClassifier``, ``LinearProbeClassifier`` (logistic regression on
standardised features), ``MLPClassifier`` (trained in the study's one loop), ``GraphClassifier`` (label
spreading and Poisson learning over the k-NN graph of every training image, unlabelled ones included) and
``ClusterClassifier`` (cluster-then-label: a Gaussian mixture of every training image, named by the labelled ones).
"""

from aestudy.core.lazy import lazy_exports

_MODULES = {"KNNClassifier": "knn", "NearestCentroidClassifier": "ncc", "LinearProbeClassifier": "linear",
            "MLPClassifier": "mlp", "GraphClassifier": "graph", "ClusterClassifier": "clusters"}

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
