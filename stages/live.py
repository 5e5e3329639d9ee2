"""Training logged through dvclive: each epoch's metrics as a step, in a folder of the stage's outputs.

dvclive writes ``metrics.json`` (the latest step) and ``plots/metrics/<name>.tsv`` (every step) as the
training goes, and signals DVC's VS Code extension at each step, so ``dvc plots show`` and the extension
follow a run live. The pipeline's ``dvc.yaml`` declares these plots itself: dvclive writes no ``dvc.yaml`` and
saves no experiment of its own (``dvc exp run`` is the experiment).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def epoch_logger(folder: Path) -> Iterator[Callable[[dict[str, float]], None]]:
    """A callback for the training loop's epoch logs (``aestudy.core.loop``), writing them to ``folder``."""
    from dvclive import Live

    with Live(dir=str(folder), save_dvc_exp=False, dvcyaml=None, report=None) as live:
        def log(epoch: dict[str, float]) -> None:
            live.step = int(epoch["epoch"])  # the step is the epoch, from 1, as the other logs count them
            for name, value in epoch.items():
                if name != "epoch":
                    live.log_metric(name, value)
            live.next_step()

        yield log
