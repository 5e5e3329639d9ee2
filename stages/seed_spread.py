"""``make seed-spread``: how far one autoencoder's 1-NN accuracy moves with the seed alone.

    python -m stages.seed_spread --dataset mnist --variant seed000 --seeds 42 0 1 2 3 4 5 6 7 8

For each seed it trains the variant of params.yaml as the train stage would under ``-S seed=N``: that
seed's validation carve-out, initial weights and shuffles, everything else as in params.yaml. Then it
scores 1-NN on the codes twice: the validation split against the rest of the training split (what
``select`` sees), and the test split against the whole training split (what ``classify`` reports).
Nothing is selected; every seed is written, with the mean, standard deviation, minimum and maximum, to
``metrics/seed-spread/<dataset>-<variant>.json``. It says whether a difference between two feature sets,
or a gap to a published figure, is larger than what the seed alone moves. Not a DVC stage: it trains one
model per seed (about 30 s each for seed000 on 2 CPU cores) and reads ``data/prepared`` from a `dvc repro`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from stages import params as P
from stages.atomic import write_json
from stages.autoencoder import train_autoencoder
from stages.classifiers import KNNClassifier
from stages.cli import SHARED_PATHS
from stages.datasets import load_prepared, prepared_path
from stages.errors import StudyError, run_stage
from stages.features import AutoencoderFeatures
from stages.runtime import resolve_device, to_unit_float, train_val_split
from stages.select import validation_knn1_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.seed_spread", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--variant", default="seed000", help="a key of autoencoders in params.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, *range(9)])
    for name in ("params", "prepared"):
        parser.add_argument(f"--{name}", type=Path, default=SHARED_PATHS[name], help="(default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("metrics/seed-spread"))
    args = parser.parse_args()
    if len(set(args.seeds)) < 2:
        raise StudyError("--seeds: give at least two different seeds")
    params = P.load_params(args.params)
    P.datasets({"datasets": [args.dataset]})
    config = P.autoencoder_config(params, args.variant)  # names the missing or malformed key
    device = resolve_device(P.device(params, "train.device"))
    block_size = P.as_int(P.require(params, "classify.knn_block_size"), "classify.knn_block_size")
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))
    x_all = torch.from_numpy(to_unit_float(train.images)).to(device)

    rows = []
    for seed in dict.fromkeys(args.seeds):  # each seed once, in the order given
        fit_idx, val_idx = train_val_split(len(train.labels), P.val_fraction(params), seed)
        result = train_autoencoder(config, x_all[fit_idx], x_all[val_idx], seed)
        features = AutoencoderFeatures(result.model, device).fit(train.images)
        codes, test_codes = features.transform(train.images), features.transform(test.images)
        knn = KNNClassifier(1, block_size, device).fit(codes, train.labels)
        rows.append({"seed": seed, "best_epoch": result.best_epoch,
                     "knn1_val": validation_knn1_accuracy(codes, train.labels, fit_idx, val_idx, block_size, device),
                     "knn1_test": float((knn.predict(test_codes) == test.labels).mean())})
        print(f"{args.dataset}/{args.variant} seed {seed}: " + ", ".join(f"{k}={v}" for k, v in rows[-1].items()))

    spread = {}
    for key in ("knn1_val", "knn1_test"):
        values = np.array([r[key] for r in rows])
        spread[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)),
                       "min": float(values.min()), "max": float(values.max())}
    write_json(args.out / f"{args.dataset}-{args.variant}.json",
               {"dataset": args.dataset, "variant": args.variant, "config": P.require(params, "autoencoders")[
                   args.variant], "seeds": rows, "spread": spread})
    test_spread = spread["knn1_test"]
    print(f"{args.dataset}/{args.variant}: test 1-NN over {len(rows)} seeds {test_spread['mean']:.4f} "
          f"+- {test_spread['std']:.4f} (min {test_spread['min']:.4f}, max {test_spread['max']:.4f})")


if __name__ == "__main__":
    run_stage(main)
