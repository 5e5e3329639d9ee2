"""The study's design: which feature sets and classifiers it compares, and what depends on the seed."""

from __future__ import annotations

FEATURES = ("raw", "pca", "ae")
# Each classifier stage and the scores it reports: one exact 3-NN search serves 1-NN and 3-NN.
CLASSIFIERS = {"knn": ("1nn", "3nn"), "ncc": ("ncc",), "mlp": ("mlp",)}
KNN_K = {"1nn": 1, "3nn": 3}
SCORES = tuple(score for scores in CLASSIFIERS.values() for score in scores)
SCORE_NAMES = {"1nn": "1-NN", "3nn": "3-NN", "ncc": "nearest centroid", "mlp": "MLP"}
# The paired comparisons, A - B, reported for every classifier.
COMPARISONS = (("ae", "raw"), ("ae", "pca"), ("pca", "raw"))


def classifier_of(score: str) -> str:
    return next(name for name, scores in CLASSIFIERS.items() if score in scores)


def depends_on_seed(features: str, classifier: str) -> bool:
    """The autoencoder's codes and the MLP's initial weights come from the seed; raw pixels, PCA, exact k-NN
    and the centroid do not, so those combinations run once whatever the replicate seeds."""
    return features == "ae" or classifier == "mlp"
