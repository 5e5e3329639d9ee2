"""Stage ``train``: one autoencoder of the grid, on one dataset, under one replicate seed.

    python -m stages.train --dataset mnist --variant seed000 --seed 42

The seed sets the validation carve-out, the initial weights and the shuffles. Writes the best epoch's
weights to ``data/models/<dataset>/seed-<seed>/<variant>.pt``, its metrics to
``data/records/train/<dataset>/seed-<seed>/<variant>.json`` and its losses per epoch
(``epoch,train_loss,val_loss``) to ``data/records/curves/<dataset>/seed-<seed>/<variant>.csv``.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import torch

from aestudy.atomic import write_json, write_text
from aestudy.autoencoder import AutoencoderFeatures, evaluate, is_stuck, parameter_count, save_model
from aestudy.datasets import flat, load_prepared, prepared_path, to_unit_float, train_val_split
from aestudy.runtime import resolve_device
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def main() -> None:
    args = stage_args("stages.train", __doc__, ("params", "prepared", "models", "train-metrics", "curves"),
                      dataset=True, variant=True, seed=True)
    params = P.load_params(args.params)
    config = P.autoencoder_config(params, args.variant)  # names the missing or malformed key
    seed = P.seed_of(params, args.seed)
    device = resolve_device(P.device(params, "train.device"))
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))
    P.check_fits(config, args.variant, args.dataset, train.images.shape[1:])

    val_fraction = P.val_fraction(params)

    autoencoder = AutoencoderFeatures(**asdict(config), image_shape=train.images.shape[1:], val_fraction=val_fraction,
                                      random_state=seed, device=str(device)).fit(flat(train.images))
    # The losses of the best epoch's weights on the split fit held out, the rest, and the test images (CPU).
    fit_idx, val_idx = train_val_split(len(train.labels), val_fraction, seed)
    x_all = torch.from_numpy(to_unit_float(train.images))
    x_fit, x_val, x_test = x_all[fit_idx], x_all[val_idx], torch.from_numpy(to_unit_float(test.images))
    losses = {split: evaluate(autoencoder.model_, x).losses for split, x in
              (("train", x_fit), ("val", x_val), ("test", x_test))}
    stuck = is_stuck(losses["val"]["mse"], x_fit, x_val)
    metrics = {
        "dataset": args.dataset,
        "variant": args.variant,
        "seed": seed,
        "family": config.family,
        "arch": config.arch,
        "objective": config.objective,
        "hidden": list(config.hidden),
        "code_activation": config.code_activation,
        "loss": config.loss,
        "lr": config.lr,
        "batch_size": config.batch_size,
        "code_dim": config.code_dim,
        "parameters": parameter_count(autoencoder.model_),
        "device": str(device),
        **{f"{split}_{loss}": finite_or_none(value)
           for split, by_loss in losses.items() for loss, value in by_loss.items()},
        "best_epoch": autoencoder.best_epoch_,
        "epochs_run": autoencoder.epochs_run_,
        "epochs": config.epochs,
        "collapsed": autoencoder.collapsed_,
        # Divergence: a non-finite loss, a collapsed net, or a net no better than the mean image (lr 0.1).
        "diverged": autoencoder.diverged_ or autoencoder.collapsed_ or stuck,
        "seconds": autoencoder.seconds_,
        "seconds_per_epoch": autoencoder.seconds_ / max(autoencoder.epochs_run_, 1),
    }
    where = Path(args.dataset) / seed_dir(seed)
    save_model(autoencoder, args.models / where / f"{args.variant}.pt")
    write_text(args.curves / where / f"{args.variant}.csv", "epoch,train_loss,val_loss\n" + "".join(
        f"{log.epoch},{log.train_loss!r},{log.val_loss!r}\n" for log in autoencoder.history_))
    write_json(args.train_metrics / where / f"{args.variant}.json", metrics)
    flag = " (diverged)" if metrics["diverged"] else ""
    print(f"{args.dataset}/{args.variant} ({config.family}) seed {seed}: val_mse={metrics['val_mse']} test_mse={metrics['test_mse']} "
          f"best_epoch={autoencoder.best_epoch_} {autoencoder.seconds_:.1f}s{flag}")


if __name__ == "__main__":
    run_stage(main)
