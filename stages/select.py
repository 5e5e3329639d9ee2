"""Stage ``select``: the best autoencoder of the active grid for one dataset and seed, on validation data.

    python -m stages.select --dataset mnist --seed 42

Criterion ``knn1_val`` (default): 1-NN accuracy of each variant's codes on the validation split, with the
rest of the training split as the reference set (measured by the ``codes`` stage). Criterion ``val_mse``:
the validation reconstruction error. The validation split is the one the autoencoders held out; no test
score is read here. Variants flagged as diverged are passed over unless every variant diverged.
Writes ``data/records/select/<dataset>/seed-<seed>.json``.
"""

from __future__ import annotations

import math
from pathlib import Path

from aestudy.atomic import read_json, write_json
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args


def choose(candidates: list[dict], criterion: str) -> dict:
    """The best candidate; ties go to the lower validation MSE, then to the earlier variant."""
    pool = [c for c in candidates if not c["diverged"]] or candidates

    def val_mse(candidate: dict) -> float:
        return math.inf if candidate["val_mse"] is None else candidate["val_mse"]

    if criterion == "knn1_val":
        return max(pool, key=lambda c: (c["knn1_val"], -val_mse(c)))
    return min(pool, key=val_mse)


def main() -> None:
    args = stage_args("stages.select", __doc__, ("params", "train-metrics", "code-metrics", "selection"),
                      dataset=True, seed=True)
    params = P.load_params(args.params)
    seed = P.seed_of(params, args.seed)
    criterion = P.selection_criterion(params)
    where = Path(args.dataset) / seed_dir(seed)
    candidates = []
    for variant in P.variants(params):
        trained = read_json(args.train_metrics / where / f"{variant}.json")
        codes = read_json(args.code_metrics / where / f"{variant}.json")
        candidates.append({"variant": variant, "code_dim": trained["code_dim"], "val_mse": trained["val_mse"],
                           "diverged": trained["diverged"], "knn1_val": codes["knn1_val"]})
    selected = choose(candidates, criterion)
    print(f"{args.dataset} seed {seed}: selected {selected['variant']} by {criterion}")
    write_json(args.selection / args.dataset / f"{seed_dir(seed)}.json",
               {"dataset": args.dataset, "seed": seed, "criterion": criterion, "selected": selected["variant"],
                "code_dim": selected["code_dim"], "candidates": candidates})


if __name__ == "__main__":
    run_stage(main)
