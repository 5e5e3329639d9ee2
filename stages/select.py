"""Stage ``select``: the best autoencoder of the active grid for one dataset, chosen on validation data.

    python -m stages.select --dataset mnist

Criterion ``knn1_val`` (default): 1-NN accuracy of each variant's codes on the validation split, with the
rest of the training split as the reference set. Criterion ``val_mse``: the validation reconstruction
error. The validation split is the one the autoencoders held out; the test split is never read here.
Variants flagged as diverged are passed over unless every variant diverged.
Writes ``metrics/select/<dataset>.json``.
"""

from __future__ import annotations

import math

import numpy as np

from stages import params as P
from stages.atomic import read_json, write_json
from stages.autoencoder import load_model
from stages.classifiers import KNNClassifier
from stages.cli import stage_args
from stages.datasets import load_prepared, prepared_path
from stages.errors import run_stage
from stages.features import AutoencoderFeatures
from stages.runtime import resolve_device, train_val_split


def validation_knn1_accuracy(codes: np.ndarray, labels: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray,
                             block_size: int, device) -> float:
    knn = KNNClassifier(1, block_size, device).fit(codes[fit_idx], labels[fit_idx])
    return float((knn.predict(codes[val_idx]) == labels[val_idx]).mean())


def choose(candidates: list[dict], criterion: str) -> str:
    """The best candidate; ties go to the lower validation MSE, then to the earlier variant."""
    pool = [c for c in candidates if not c["diverged"]] or candidates

    def val_mse(candidate: dict) -> float:
        return math.inf if candidate["val_mse"] is None else candidate["val_mse"]

    if criterion == "knn1_val":
        return max(pool, key=lambda c: (c["knn1_val"], -val_mse(c)))["variant"]
    return min(pool, key=val_mse)["variant"]


def main() -> None:
    args = stage_args("stages.select", __doc__, ("params", "prepared", "models", "train-metrics"), dataset=True,
                      out="metrics/select")
    params = P.load_params(args.params)
    P.datasets({"datasets": [args.dataset]})
    criterion = P.selection_criterion(params)
    seed, val_fraction = P.seed(params), P.val_fraction(params)
    device = resolve_device(P.device(params, "classify.device"))
    block_size = P.as_int(P.require(params, "classify.knn_block_size"), "classify.knn_block_size")

    train, _ = load_prepared(prepared_path(args.prepared, args.dataset))  # the test split is not used
    fit_idx, val_idx = train_val_split(len(train.labels), val_fraction, seed)
    candidates = []
    for variant in P.variants(params):
        metrics = read_json(args.train_metrics / args.dataset / f"{variant}.json")
        candidate = {"variant": variant, "code_dim": metrics["code_dim"], "val_mse": metrics["val_mse"],
                     "diverged": metrics["diverged"]}
        if criterion == "knn1_val":
            model, _ = load_model(args.models / args.dataset / f"{variant}.pt")
            codes = AutoencoderFeatures(model, device).fit(train.images).transform(train.images)
            candidate["knn1_val"] = validation_knn1_accuracy(codes, train.labels, fit_idx, val_idx,
                                                             block_size, device)
        candidates.append(candidate)
        print(f"{args.dataset}/{variant}: " + ", ".join(f"{k}={v}" for k, v in candidate.items() if k != "variant"))
    selected = choose(candidates, criterion)
    print(f"{args.dataset}: selected {selected} by {criterion}")
    write_json(args.out / f"{args.dataset}.json",
               {"dataset": args.dataset, "criterion": criterion, "selected": selected, "candidates": candidates})


if __name__ == "__main__":
    run_stage(main)
