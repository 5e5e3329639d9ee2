"""Where the report's figures lie, relative to the report's own folder: the Markdown that links them and the stage
that draws them both take the path from here."""

from __future__ import annotations

# The figures of the whole study, and those of each dataset (under the dataset's folder).
STUDY_FIGURES = ("comparisons", "efficiency")
DATASET_FIGURES = ("label_budgets", "variants_vs_time", "curves", "reconstructions", "activations", "confusion")


def figure(name: str, dataset: str | None = None) -> str:
    """``figures/<name>.png``, or ``figures/<dataset>/<name>.png`` for one of a dataset's figures."""
    if name not in (DATASET_FIGURES if dataset is not None else STUDY_FIGURES):
        raise ValueError(f"no figure {name!r}{'' if dataset is None else ' of a dataset'}")
    return f"figures/{name}.png" if dataset is None else f"figures/{dataset}/{name}.png"
