"""The headline's seconds in their two parts, beside its total: ``fit_seconds``, the classifier's fit and predict
on those features, paid at every fit (at a label budget, the mean over its fits), and ``one_off_seconds``, the
features' own cost (an autoencoder's training and encoding, a PCA or UMAP fit), paid once for every classifier,
budget and draw that uses them; ``dvc exp show`` and ``dvc metrics diff`` compare each."""

from __future__ import annotations

from aestudy.evaluation.results import DatasetStats, Times
from aestudy.report.headline import seconds
from aestudy.report.scores import block_name


def one_off(times: Times | None) -> float | None:
    """The features' own seconds in a cell (the same under every score): its total less its fit and predict."""
    if times is None or times.seconds is None or not times.total_seconds:
        return None
    return max(times.total_seconds - times.seconds, 0.0)


def cost(times: Times | None) -> dict[str, float | None]:
    """A cell's seconds a fit, and the features' one-off cost, as the headline rounds seconds."""
    if times is None or times.seconds is None:
        return {"fit_seconds": None, "one_off_seconds": None}
    return {"fit_seconds": seconds(times.seconds), "one_off_seconds": seconds(one_off(times))}


def with_costs(summary: dict, stats: DatasetStats) -> dict:
    """One dataset's headline (``aestudy.report.headline.headline``) with each cell's two parts of its seconds."""
    blocks = {block_name(budget): budget.times for budget in stats.label_budgets}  # `all`: stats.times' seconds
    out = {}
    for block, entries in summary.items():
        times = blocks.get(block, {})
        out[block] = {name: ({f: {**cell, **cost(times.get(f, {}).get(name))} for f, cell in cells.items()}
                             if not {"difference", "ci_low", "ci_high"} & set(cells) else cells)
                      for name, cells in entries.items()}
    return out
