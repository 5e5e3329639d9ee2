"""Stage ``labels``: the labelled sets of the few-label study, for one dataset and every replicate seed.

    python -m stages.labels --dataset=mnist

For each seed and each of ``label_budgets.draws`` draws (seeded by ``aestudy.data.budgets.draw_seed(seed,
draw)``) a class-balanced sample of the training split: ``labels_per_class`` images of every class, the budgets
of one draw nested. Of the few-label fits' inputs, only this stage reads the training split's labels: the
``classify`` stages read the labelled sets written here and no other training label below the budget ``all``.

Writes ``data/labelled/<dataset>/seed-<seed>.npz``: for each budget k, ``indices-<k>`` and ``labels-<k>``, a
row per draw (none when ``labels_per_class`` is ``[all]``), and ``record.json``, the draws; its wall seconds apart,
in ``data/records/seconds/labels/<dataset>.json``, which the classify stages do not read.
"""

from __future__ import annotations

import numpy as np

from aestudy.core.errors import StudyError
from aestudy.core.io import read_npz, write_json, write_npz
from aestudy.data.budgets import draw_seed, labelled_sample
from study import layout, params_yaml
from study.cli import run_stage, stage_args, wall_seconds


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.labels", __doc__, ("params", "prepared", "labelled", "seconds"), names=("dataset",))
    params = params_yaml.load_params(args.params)
    budgets, _ = params_yaml.label_budgets(params)
    draws = params_yaml.label_draws(params)
    (labels,) = read_npz(layout.prepared(args.prepared, args.dataset), "train_labels")
    for seed in params_yaml.seeds(params):
        try:
            samples = [labelled_sample(labels, budgets, draw_seed(seed, d)) for d in range(draws)] if budgets else []
        except StudyError as error:  # the library names its argument; the user wrote the key
            raise StudyError(f"params.yaml: label_budgets.labels_per_class: {error} ({args.dataset}'s training "
                             f"split)") from None
        arrays = {}
        for k in budgets:
            indices = np.stack([sample[k] for sample in samples])
            arrays[f"indices-{k}"], arrays[f"labels-{k}"] = indices, labels[indices]
        write_npz(layout.labelled(args.labelled, args.dataset, seed), **arrays)
        print(f"{args.dataset} seed {seed}: " + (f"{draws} draws of {', '.join(map(str, budgets))} labels per class"
                                               if budgets else "no few-label budget, no draws"))
    write_json(layout.labels_record(args.labelled, args.dataset),
               {"dataset": args.dataset, "draws": draws if budgets else 0})
    write_json(layout.labels_seconds(args.seconds, args.dataset), {"wall_seconds": wall_seconds()})


if __name__ == "__main__":
    run_stage(main)
