"""Stage ``grid``: the trained autoencoders of the active grid, ranked, in ``metrics/grid.json``.

    python -m stages.grid

Reads ``data/records/train/<dataset>/seed-<seed>/<variant>.json`` for the active datasets x variants x seeds only:
files of combinations dropped from the grid may still lie in the workspace. Rows are ranked by validation
MSE, which is comparable across MSE- and BCE-trained variants (BCE is not).
"""

from __future__ import annotations

import math
from pathlib import Path

from aestudy.atomic import read_json, write_json
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args

GRID_COLUMNS = ("variant", "seed", "family", "hidden", "lr", "loss", "val_mse", "val_bce", "test_mse", "test_bce",
                "best_epoch", "epochs_run", "seconds", "diverged", "collapsed")


def rank_key(row: dict) -> tuple[bool, float]:
    value = row["val_mse"]
    return (value is None or not math.isfinite(value), value if value is not None else math.inf)


def grid_table(train_metrics: Path, datasets: list[str], variants: list[str], seeds: list[int]
               ) -> dict[str, list[dict]]:
    table = {}
    for dataset in datasets:
        rows = []
        for seed in seeds:
            for variant in variants:
                metrics = read_json(train_metrics / dataset / seed_dir(seed) / f"{variant}.json")
                rows.append({column: metrics[column] for column in GRID_COLUMNS})
        table[dataset] = sorted(rows, key=rank_key)
    return table


def main() -> None:
    args = stage_args("stages.grid", __doc__, ("params", "train-metrics"), out="metrics/grid.json")
    params = P.load_params(args.params)
    write_json(args.out, grid_table(args.train_metrics, P.datasets(params), P.variants(params), P.seeds(params)))


if __name__ == "__main__":
    run_stage(main)
