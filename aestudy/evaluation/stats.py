"""How far a test accuracy, or the gap between two, could move by chance: intervals and paired tests.

Two sources of noise are measured. The *test set*: 10000 images are a sample, so every accuracy has an
interval (Wilson's, for one run) and every difference between two feature sets, scored on the same images,
a paired bootstrap interval and an exact McNemar test. The *seed*: with several replicate seeds, each
accuracy is a mean over seeds, and the bootstrap resamples the seeds too (see ``Resamples``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from aestudy.core.errors import StudyError

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
CONFIDENCE = 0.95


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion: good coverage even near 0 or 1, unlike p +- z se."""
    if n < 1 or not 0 <= successes <= n:
        raise StudyError(f"wilson_interval needs 0 <= successes <= n and n >= 1, got {successes} of {n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # The interval holds p; at p = 0 or 1 its end is p exactly, which rounding could otherwise miss by 1e-16.
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: the binomial test of ``a_only`` in ``a_only + b_only`` trials at 1/2.

    ``a_only`` counts the test images that classifier A gets right and B wrong, ``b_only`` the reverse.
    Computed in exact integer arithmetic, rounded once.
    """
    if a_only < 0 or b_only < 0:
        raise StudyError(f"mcnemar_exact needs counts >= 0, got {a_only} and {b_only}")
    n, smaller = a_only + b_only, min(a_only, b_only)
    term, tail = 1, 1  # C(n, 0), and the running sum of C(n, i) for i <= smaller
    for i in range(smaller):
        term = term * (n - i) // (i + 1)
        tail += term
    return min(1.0, float(Fraction(2 * tail, 2**n)))


@dataclass(frozen=True)
class Resamples:
    """One set of bootstrap draws, shared by every interval of a dataset (common random numbers).

    Each resample draws the test images with replacement (``image_counts``: how often each image is drawn)
    and, with several seeds, the seeds with replacement (``seed_picks``). A statistic that averages over
    seeds is then the mean, over the drawn seeds, of that seed's accuracy on the drawn images: the spread of
    the resampled statistic holds both the test set's noise and the seed's. Everything is integer-valued
    until one division, so the draws and the intervals are the same on every machine.
    """

    image_counts: np.ndarray  # (resamples, n_images) int
    seed_picks: np.ndarray  # (resamples, n_seeds) int

    @staticmethod
    def bytes_needed(n_images: int, resamples: int) -> int:
        """What a set of draws holds: the counts, and their float64 copy each statistic multiplies by."""
        return resamples * n_images * (4 + 8)

    @classmethod
    def draw(cls, n_images: int, n_seeds: int, resamples: int, seed: int) -> Resamples:
        """Resample ``n_seeds`` runs and ``n_images`` test images ``resamples`` times, with ``seed``."""
        if resamples < 1 or n_images < 1 or n_seeds < 1:
            raise StudyError(f"bootstrap needs resamples, images and seeds >= 1, got {resamples}, {n_images}, "
                             f"{n_seeds}")
        rng = np.random.default_rng(seed)
        counts = np.empty((resamples, n_images), dtype=np.int32)
        for r in range(resamples):
            counts[r] = np.bincount(rng.integers(0, n_images, n_images), minlength=n_images)
        picks = rng.integers(0, n_seeds, (resamples, n_seeds)) if n_seeds > 1 else np.zeros((resamples, 1), int)
        return cls(counts, picks)

    @functools.cached_property
    def counts_t(self) -> np.ndarray:
        """The counts as float64, (n_images, resamples): converted once, for every statistic."""
        return self.image_counts.T.astype(np.float64)

    def means(self, values: np.ndarray) -> np.ndarray:
        """The resampled statistic of ``values`` (n_seeds or 1, n_images): one mean per resample.

        A row per seed; a single row (a result that does not depend on the seed) serves every seed.
        """
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        n_seeds = self.seed_picks.shape[1]
        if values.shape[1] != self.image_counts.shape[1] or len(values) not in (1, n_seeds):
            raise StudyError(f"values of shape {values.shape} do not match {n_seeds} seeds of "
                             f"{self.image_counts.shape[1]} images")
        per_seed = values @ self.counts_t / self.image_counts.shape[1]  # (seeds, R)
        if len(values) == 1:
            return per_seed[0]
        return per_seed[self.seed_picks, np.arange(len(self.seed_picks))[:, None]].mean(axis=1)


def percentile_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap samples (percentile method)."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def accuracy_cell(correct: np.ndarray, resamples: Resamples) -> dict:
    """Accuracy of one (features, classifier) cell from its per-seed correctness (n_seeds, n_images).

    One run: Wilson's interval. Several seeds: the mean over seeds, their standard deviation, and the
    bootstrap interval over seeds and test images.
    """
    correct = np.atleast_2d(correct)
    per_seed = correct.mean(axis=1)
    n_seeds, n = correct.shape
    if n_seeds == 1:
        interval = wilson_interval(int(correct.sum()), n)
    else:
        interval = percentile_interval(resamples.means(correct))
    return {"accuracy": float(per_seed.mean()), "ci95": [interval[0], interval[1]],
            "std": float(per_seed.std(ddof=1)) if n_seeds > 1 else None, "n_seeds": n_seeds}


def paired_comparison(correct_a: np.ndarray, correct_b: np.ndarray, resamples: Resamples,
                      names: tuple[str, str] = ("a", "b")) -> dict:
    """A - B on the same test images: the difference in points, its bootstrap interval, McNemar per seed.

    ``correct_a`` and ``correct_b`` are (n_seeds or 1, n_images): seed s of A is paired with seed s of B; a
    single row (a result that does not depend on the seed) pairs with every seed.
    """
    a, b = np.atleast_2d(correct_a).astype(bool), np.atleast_2d(correct_b).astype(bool)
    n_seeds = max(len(a), len(b))
    a, b = np.broadcast_to(a, (n_seeds, a.shape[1])), np.broadcast_to(b, (n_seeds, b.shape[1]))
    difference = a.astype(np.int8) - b.astype(np.int8)
    low, high = percentile_interval(resamples.means(difference) * 100)
    by_seed = []
    for s in range(n_seeds):
        a_only, b_only = int((a[s] & ~b[s]).sum()), int((b[s] & ~a[s]).sum())
        by_seed.append({"difference_pt": 100 * float(difference[s].mean()), "a_only": a_only, "b_only": b_only,
                        "mcnemar_p": mcnemar_exact(a_only, b_only)})
    return {"difference_pt": float(np.mean([row["difference_pt"] for row in by_seed])), "ci95_pt": [low, high],
            # With one seed, that seed's p-value; with several, the largest: every seed is at least this significant.
            "mcnemar_p": max(row["mcnemar_p"] for row in by_seed), "by_seed": by_seed,
            "verdict": verdict(low, high, names)}


def verdict(low: float, high: float, names: tuple[str, str] = ("a", "b")) -> str:
    """From the interval of A - B: ``A beats B`` only when it excludes 0, else ``tie within noise``."""
    if low > 0:
        return f"{names[0]} beats {names[1]}"
    if high < 0:
        return f"{names[1]} beats {names[0]}"
    return "tie within noise"
