"""The study's design: which feature sets and classifiers it compares, and what depends on the seed.

The built-in feature sets (raw pixels, PCA, the selected autoencoder's codes) and classifiers (k-NN, the
nearest centroid, the linear probe, the MLP) are always there; a study may declare more of each (``aestudy.catalogue``), and
``Design`` lists them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aestudy.errors import StudyError

FEATURES = ("raw", "pca", "ae")
# Each classifier stage and the scores it reports: one exact 3-NN search serves 1-NN and 3-NN.
CLASSIFIERS = {"knn": ("1nn", "3nn"), "ncc": ("ncc",), "linear": ("linear",), "mlp": ("mlp",)}
KNN_K = {"1nn": 1, "3nn": 3}
SCORES = tuple(score for scores in CLASSIFIERS.values() for score in scores)
SCORE_NAMES = {"1nn": "1-NN", "3nn": "3-NN", "ncc": "nearest centroid", "linear": "linear probe", "mlp": "MLP"}
# The paired comparisons, A - B, reported for every classifier.
COMPARISONS = (("ae", "raw"), ("ae", "pca"), ("pca", "raw"))
# A dataset's entries of metrics/summary.json that are not feature sets.
SUMMARY_SECTIONS = ("autoencoder", "label_budgets")
# A name that becomes part of stage names, file paths and the command lines DVC runs through a shell (datasets,
# variants, declared estimators, experiments): nothing a shell or a path reads specially.
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Names a declared feature set or classifier cannot take: the built-ins' and their scores'.
RESERVED_NAMES = frozenset({*FEATURES, *CLASSIFIERS, *SCORES, *SUMMARY_SECTIONS})


def check_name(name: object, what: str) -> str:
    """``name`` if it is 1 to 64 letters, digits, ``_`` or ``-``; else an error naming ``what``."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise StudyError(f"{what}: the name {name!r} must be 1 to 64 letters, digits, _ or -")
    return name


def depends_on_seed(features: str, classifier: str) -> bool:
    """The autoencoder's codes and the MLP's initial weights come from the seed; raw pixels, PCA, exact k-NN,
    the centroid and the linear probe (a convex fit from zero) do not, so those combinations run once whatever
    the replicate seeds. A declared estimator runs once too: its own keyword arguments fix any randomness it has
    (``random_state``)."""
    return features == "ae" or classifier == "mlp"


@dataclass(frozen=True)
class Design:
    """The built-in feature sets and classifiers plus the declared ones, each declared classifier its own score;
    the comparisons: the built-ins', then each declared feature set against raw pixels and the codes against it."""

    declared_features: tuple[str, ...] = ()
    declared_classifiers: tuple[str, ...] = ()

    @property
    def features(self) -> tuple[str, ...]:
        return FEATURES + self.declared_features

    @property
    def classifiers(self) -> dict[str, tuple[str, ...]]:
        return CLASSIFIERS | {name: (name,) for name in self.declared_classifiers}

    @property
    def scores(self) -> tuple[str, ...]:
        return tuple(score for scores in self.classifiers.values() for score in scores)

    @property
    def comparisons(self) -> tuple[tuple[str, str], ...]:
        return COMPARISONS + tuple(pair for f in self.declared_features for pair in ((f, "raw"), ("ae", f)))

    def classifier_of(self, score: str) -> str:
        return next(name for name, scores in self.classifiers.items() if score in scores)


def score_name(score: str) -> str:
    """How tables and figures name a score: a built-in's long name, a declared classifier's own."""
    return SCORE_NAMES.get(score, score)
