"""Stage ``train``: one autoencoder of the grid, on one dataset, under one replicate seed.

    python -m stages.train --dataset=mnist --variant=seed000 --seed=42

The variant is ``conf/autoencoders/<variant>.yaml``; the seed sets the validation carve-out, the initial weights
and the shuffles. Writes ``data/models/<dataset>/seed-<seed>/<variant>/``: ``model.pt`` (the best epoch's
weights), ``record.json`` (its losses on every split, its epochs) and ``live/``, dvclive's log of every epoch
(``train_loss``, ``val_loss``), which ``dvc plots`` and DVC's VS Code extension follow while the stage runs; and
its seconds apart, in ``data/records/seconds/train/`` (``study.layout.train_seconds``), so that a re-run that
trains the same weights leaves the codes stage as it was.
"""

from __future__ import annotations

import math

import torch

from aestudy.core.io import write_json
from aestudy.core.runtime import resolve_device
from aestudy.data.datasets import flat, load_prepared, to_unit_float
from aestudy.models.autoencoder import save_model
from aestudy.models.networks import parameter_count
from aestudy.models.objectives import evaluate
from aestudy.models.training import is_stuck
from study import conf, layout, params_yaml
from study.cli import run_stage, stage_args, wall_seconds
from study.live import epoch_logger
from study.records import TrainRecord, TrainSeconds


def finite_or_none(value: float) -> float | None:
    """A loss as JSON can hold it: None for a non-finite value."""
    return value if math.isfinite(value) else None


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.train", __doc__, ("params", "prepared", "models", "seconds"),
                      names=("dataset", "variant"), seed=True)
    params = params_yaml.load_params(args.params)
    seed = params_yaml.seed_of(params, args.seed)
    entry = conf.autoencoder(args.variant)
    device = resolve_device(params_yaml.device(params))
    train, test = load_prepared(layout.prepared(args.prepared, args.dataset))
    item = (args.models, args.dataset, seed, args.variant)
    with epoch_logger(layout.model_live(*item)) as log:
        autoencoder = entry.build(seed=seed, device=str(device), image_shape=train.images.shape[1:],
                                  val_fraction=params_yaml.val_fraction(params), epoch_callback=log)
        config = autoencoder.autoencoder_config()
        autoencoder.fit(flat(train.images))
    # The losses of the best epoch's weights on the split fit held out, the rest, and the test images (CPU).
    fit_idx, val_idx = autoencoder.validation_split()
    x_all = torch.from_numpy(to_unit_float(train.images))
    x_fit, x_val, x_test = x_all[fit_idx], x_all[val_idx], torch.from_numpy(to_unit_float(test.images))
    losses = {split: evaluate(autoencoder.model_, x).losses for split, x in
              (("train", x_fit), ("val", x_val), ("test", x_test))}
    stuck = is_stuck(losses["val"]["mse"], x_fit, x_val)
    record = TrainRecord(
        args.dataset, args.variant, seed, config.family, config.arch, config.objective, tuple(config.hidden),
        config.code_activation, config.loss, config.lr, config.batch_size, config.code_dim,
        parameter_count(autoencoder.model_), str(device),
        {f"{split}_{loss}": finite_or_none(value) for split, by_loss in losses.items()
         for loss, value in by_loss.items()},
        autoencoder.best_epoch_, autoencoder.epochs_run_, config.epochs, autoencoder.collapsed_,
        # Divergence: a non-finite loss, a collapsed net, or a net no better than the mean image (lr 0.1).
        autoencoder.diverged_ or autoencoder.collapsed_ or stuck)
    save_model(autoencoder, layout.model_file(*item))
    write_json(layout.model_record(*item), record.to_json())
    write_json(layout.train_seconds(args.seconds, *item[1:]), TrainSeconds(
        autoencoder.seconds_, autoencoder.seconds_ / max(autoencoder.epochs_run_, 1), wall_seconds()).to_json())
    flag = " (diverged)" if record.diverged else ""
    print(f"{args.dataset}/{args.variant} ({config.family}) seed {seed}: val_mse={record.loss_of('val', 'mse')} "
          f"test_mse={record.loss_of('test', 'mse')} best_epoch={autoencoder.best_epoch_} "
          f"{autoencoder.seconds_:.1f}s{flag}")


if __name__ == "__main__":
    run_stage(main)
