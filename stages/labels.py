"""Stage ``labels``: the labelled sets of the few-label study, for one dataset and replicate seed.

    python -m stages.labels --dataset mnist --seed 42

For each of ``classify.label_budgets.draws`` draws (each seeded by ``aestudy.budgets.draw_seed(seed, draw)``) a
class-balanced sample of the training split: ``labels_per_class`` images of every class, the budgets of one
draw nested. This is the only stage of the few-label study that reads the training split's labels; the
``budgets`` stages read the labelled sets written here and nothing else of the training labels.

Writes ``data/labelled/<dataset>/seed-<seed>.npz``: for each budget k, ``indices-<k>`` and ``labels-<k>``, one
row per draw.
"""

from __future__ import annotations

import numpy as np

from aestudy.atomic import read_npz, write_npz
from aestudy.budgets import draw_seed, labelled_sample
from aestudy.datasets import prepared_path
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args


def main() -> None:
    args = stage_args("stages.labels", __doc__, ("params", "prepared"), dataset=True, seed=True,
                      labelled="data/labelled")
    params = P.load_params(args.params)
    seed = P.seed_of(params, args.seed)
    budgets, _ = P.label_budgets(params)
    draws = P.label_draws(params)
    (labels,) = read_npz(prepared_path(args.prepared, args.dataset), "train_labels")
    samples = [labelled_sample(labels, budgets, draw_seed(seed, d)) for d in range(draws)]
    arrays = {}
    for k in budgets:
        indices = np.stack([sample[k] for sample in samples])
        arrays[f"indices-{k}"], arrays[f"labels-{k}"] = indices, labels[indices]
    write_npz(args.labelled / args.dataset / f"{seed_dir(seed)}.npz", **arrays)
    print(f"{args.dataset} seed {seed}: {draws} draws of {', '.join(map(str, budgets))} labels per class")


if __name__ == "__main__":
    run_stage(main)
