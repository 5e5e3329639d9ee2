"""The command line every stage shares: the module docstring as help, and the paths of the DVC layout.

A stage names the paths it reads and writes; each becomes a ``--flag`` whose default is where ``dvc.yaml``
puts that file, so ``python -m stages.<name>`` with no flags runs the stage as DVC does, and tests can point
it elsewhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stages.params import PARAMS_FILE

# Paths more than one stage reads, under the names of their flags.
SHARED_PATHS = {
    "params": PARAMS_FILE,
    "prepared": Path("data/prepared"),
    "models": Path("data/models"),
    "predictions": Path("data/predictions"),
    "train-metrics": Path("metrics/train"),
    "selection": Path("metrics/select"),
}


def stage_args(module: str, doc: str | None, shared: tuple[str, ...] = (), *, dataset: bool = False,
               variant: bool = False, **own: str) -> argparse.Namespace:
    """Parse ``sys.argv`` for ``python -m <module>``.

    ``shared`` names entries of ``SHARED_PATHS``; ``own`` gives the stage's other paths as
    ``name="default"``, with ``_`` in the name written ``-`` on the command line.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    if dataset:
        parser.add_argument("--dataset", required=True, help="mnist, fashion-mnist or digits")
    if variant:
        parser.add_argument("--variant", required=True, help="a key of autoencoders in params.yaml")
    paths = {name: SHARED_PATHS[name] for name in shared} | {name.replace("_", "-"): Path(p) for name, p in own.items()}
    for name, default in paths.items():
        parser.add_argument(f"--{name}", type=Path, default=default, help="(default: %(default)s)")
    return parser.parse_args()
