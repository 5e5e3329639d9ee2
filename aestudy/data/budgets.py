"""Label budgets: the class-balanced labelled samples that the few-label study fits its classifiers on.

A user with few labels has many unlabelled images and labels a few per class. Each label draw is one such
labelled set; its budgets are nested (a draw's 4 labels per class are among its 16), as when a labeller adds
labels to those already made, so a curve over budgets follows one labelled set growing.
"""

from __future__ import annotations

import numpy as np

from aestudy.core.errors import StudyError

ALL = "all"  # the budget of every training label: the full-label tables


def draw_seed(seed: int, draw: int) -> int:
    """The seed of label draw ``draw`` under replicate seed ``seed``: the two mixed by numpy's ``SeedSequence``,
    so that draws of different replicate seeds never share a stream. It seeds the draw's labelled sample and
    any classifier fitted on it."""
    return int(np.random.SeedSequence([seed, draw]).generate_state(1)[0])


def labelled_sample(labels: np.ndarray, per_class: list[int], seed: int) -> dict[int, np.ndarray]:
    """For each budget in ``per_class``, the sorted indices of ``per_class`` training images of every class.

    Each class's images are put in one random order drawn with ``seed`` (numpy's PCG64, the same on every
    machine), and each budget takes the first ones: the budgets of one draw are nested.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    largest = max(per_class)
    if counts.min() < largest:
        scarce = classes[counts.argmin()]
        raise StudyError(f"per_class asks for {largest} labels per class, but class {scarce} has {counts.min()} "
                         f"images")
    rng = np.random.default_rng(seed)
    orders = [members[rng.permutation(len(members))] for members in (np.flatnonzero(labels == c) for c in classes)]
    return {k: np.sort(np.concatenate([order[:k] for order in orders])) for k in per_class}
