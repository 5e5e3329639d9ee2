"""How the report names things: feature sets, scores and datasets as people write them, keys as a fallback."""

from __future__ import annotations

FEATURES = {"raw": "raw pixels", "pca": "PCA", "ae": "codes", "pca+umap": "PCA + UMAP", "ae+umap": "codes + UMAP"}
SCORES = {"knn1": "1-NN", "knn3": "3-NN", "ncc": "nearest centroid", "linear": "linear probe", "mlp": "MLP",
          "spreading": "label spreading", "poisson": "Poisson learning",
          "poisson-priors": "Poisson learning + class sizes", "poisson-mbo": "Poisson-MBO",
          "self-training": "self-training (probe)"}


def feature_name(name: str) -> str:
    """A feature set as people write it."""
    return FEATURES.get(name, name)


def score_name(name: str) -> str:
    """A score as people write it."""
    return SCORES.get(name, name)


def pair_name(a: str, b: str) -> str:
    """A comparison A - B as people write it."""
    names = FEATURES if a in FEATURES or b in FEATURES else SCORES
    return f"{names.get(a, a)} - {names.get(b, b)}"


def side_names(a: str, b: str, names=pair_name) -> tuple[str, str]:
    """The names of the two sides of the comparison A - B, as people write them."""
    name_a, name_b = (part.strip() for part in names(a, b).split(" - "))
    return name_a, name_b
