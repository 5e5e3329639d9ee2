"""Stage ``train``: one autoencoder of the grid, on one dataset.

    python -m stages.train --dataset mnist --variant seed000

Writes the best epoch's weights to ``data/models/<dataset>/<variant>.pt``, its metrics to
``metrics/train/<dataset>/<variant>.json`` and the per-epoch curves (dvclive) to
``metrics/curves/<dataset>/<variant>/``.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import torch
from dvclive import Live

from stages import params as P
from stages.atomic import write_json
from stages.autoencoder import (
    EpochLog,
    evaluate,
    is_stuck,
    parameter_count,
    save_model,
    train_autoencoder,
)
from stages.cli import stage_args
from stages.datasets import load_prepared, prepared_path
from stages.errors import StudyError, run_stage
from stages.runtime import resolve_device, to_unit_float, train_val_split


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def main() -> None:
    args = stage_args("stages.train", __doc__, ("params", "prepared", "models"), dataset=True, variant=True,
                      metrics="metrics/train", curves="metrics/curves")
    params = P.load_params(args.params)
    P.datasets({"datasets": [args.dataset]})
    if args.variant not in P.require(params, "autoencoders"):
        raise StudyError(f"params.yaml: autoencoders.{args.variant} is missing")
    config = P.autoencoder_config(params, args.variant)
    seed = P.seed(params)
    device = resolve_device(P.device(params, "train.device"))
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))

    fit_idx, val_idx = train_val_split(len(train.labels), P.val_fraction(params), seed)
    x_all = torch.from_numpy(to_unit_float(train.images)).to(device)
    x_fit, x_val = x_all[fit_idx], x_all[val_idx]
    x_test = torch.from_numpy(to_unit_float(test.images)).to(device)
    del x_all

    curves = args.curves / args.dataset / args.variant
    curves.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=curves.parent, prefix=f".{args.variant}.tmp-"))
    try:
        with Live(str(staging), dvcyaml=False, save_dvc_exp=False, report=None) as live:

            def log_epoch(log: EpochLog) -> None:
                live.step = log.epoch  # so that the curves' x axis is the epoch, from 1
                live.log_metric("train_loss", log.train_loss)
                live.log_metric("val_loss", log.val_loss)

            result = train_autoencoder(config, x_fit, x_val, seed, on_epoch=log_epoch)
        # Keep only the curves: the stage's own JSON holds the metrics, and `dvc plots` reads this folder.
        (staging / "metrics.json").unlink(missing_ok=True)
        losses = {split: evaluate(result.model, x).losses for split, x in
                  (("train", x_fit), ("val", x_val), ("test", x_test))}
        stuck = is_stuck(losses["val"]["mse"], x_fit, x_val)
        metrics = {
            "dataset": args.dataset,
            "variant": args.variant,
            "hidden": list(config.hidden),
            "code_activation": config.code_activation,
            "loss": config.loss,
            "lr": config.lr,
            "batch_size": config.batch_size,
            "code_dim": config.code_dim,
            "parameters": parameter_count(result.model),
            "device": str(device),
            **{f"{split}_{loss}": finite_or_none(value)
               for split, by_loss in losses.items() for loss, value in by_loss.items()},
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "epochs": config.epochs,
            "collapsed": result.collapsed,
            # Divergence: a non-finite loss, a collapsed net, or a net no better than the mean image (lr 0.1).
            "diverged": result.diverged or result.collapsed or stuck,
            "seconds": result.seconds,
            "seconds_per_epoch": result.seconds_per_epoch,
        }
        save_model(result.model, config, args.models / args.dataset / f"{args.variant}.pt",
                   n_inputs=x_fit.shape[1])
        shutil.rmtree(curves, ignore_errors=True)
        staging.rename(curves)
        write_json(args.metrics / args.dataset / f"{args.variant}.json", metrics)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    flag = " (diverged)" if metrics["diverged"] else ""
    print(f"{args.dataset}/{args.variant}: val_mse={metrics['val_mse']} test_mse={metrics['test_mse']} "
          f"best_epoch={result.best_epoch} {result.seconds:.1f}s{flag}")


if __name__ == "__main__":
    run_stage(main)
