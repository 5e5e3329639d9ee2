"""Progress logged through dvclive: each step's metrics, in a folder that ``dvc.yaml`` declares as plots.

dvclive writes ``metrics.json`` (the latest step) and ``plots/metrics/<name>.tsv`` (every step) as the stage goes,
and signals DVC's VS Code extension at each step, so ``dvc plots show`` and the extension follow a run live. The
stage's ``plots:`` entry in ``dvc.yaml`` names ``plots/metrics``: dvclive writes no ``dvc.yaml`` of its own and
saves no experiment (``dvc exp run`` is the experiment).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aestudy.core.io import parse_text_file


@contextmanager
def live_log(folder: Path) -> Iterator[Any]:
    """A dvclive ``Live`` writing to ``folder`` (what was there is cleared); a stage that fails takes the folder
    back with it, so that no log of a failed run stands among its outputs."""
    from dvclive import Live

    try:
        with Live(dir=str(folder), save_dvc_exp=False, dvcyaml=None, report=None) as live:
            yield live
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def log_step(live: Any, step: int, metrics: dict[str, float], prefix: str = "") -> None:
    """One step's metrics, each as ``<prefix><name>``; a name with ``/`` is a file in a subfolder of the plots."""
    live.step = step
    for name, value in metrics.items():
        live.log_metric(f"{prefix}{name}", value)
    live.next_step()


def epoch_callback(live: Any, prefix: str = "") -> Callable[[dict[str, float]], None]:
    """A callback for the training loop's epoch logs (``aestudy.core.loop``): the step is the epoch, from 1."""
    def log(epoch: dict[str, float]) -> None:
        log_step(live, int(epoch["epoch"]), {k: v for k, v in epoch.items() if k != "epoch"}, prefix)

    return log


@contextmanager
def epoch_logger(folder: Path) -> Iterator[Callable[[dict[str, float]], None]]:
    """The training loop's epoch logs written to ``folder``."""
    with live_log(folder) as live:
        yield epoch_callback(live)


def read_steps(path: Path, field: str) -> list[float]:
    """One metric per step, as dvclive logged it (``step<TAB><field>`` rows); a malformed file is one line."""
    def parse(text: str) -> list[float]:
        header, *rows = (line.split("\t") for line in text.splitlines())
        if header[-1] != field or any(len(row) != len(header) for row in rows):
            raise ValueError(f"expected a column {field} in every row")
        return [float(row[-1]) for row in rows]

    return parse_text_file(path, parse, "dvclive TSV", ValueError)
