"""What every stage shares at its boundary: the command line, the DVC layout's paths, one-line errors.

A stage names the paths it reads and writes; each becomes a ``--flag`` whose default is where ``dvc.yaml``
puts that file, so ``python -m stages.<name>`` with no path flags runs the stage as DVC does, and tests can
point it elsewhere. The names a stage is given (``--dataset``, ``--variant``, ``--features``,
``--classifier``) are checked before any path is built from them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aestudy.core.errors import StudyError
from aestudy.core.names import check_name

# Every folder of the DVC layout that more than one stage reads, under the name of its flag.
SHARED_PATHS = {
    "params": Path("params.yaml"),
    "prepared": Path("data/prepared"),
    "labelled": Path("data/labelled"),
    "models": Path("data/models"),
    "codes": Path("data/codes"),
    "feature-sets": Path("data/features"),
    "encoded": Path("data/records/encode"),
    "classified": Path("data/classify"),
    "stats": Path("metrics/stats"),
}
NAMED_ARGS = ("dataset", "variant", "features", "classifier")


def wall_seconds() -> float:
    """Seconds since this stage's process began (imports included): what the stage cost, for its record."""
    from stages import STARTED

    return time.perf_counter() - STARTED


def seed_dir(seed: int) -> str:
    """The name of one replicate seed's products: ``seed-42``."""
    return f"seed-{seed}"


def run_name(seed: int | None) -> str:
    """The file name (no suffix) of one run of a result: ``seed-42``, or ``all`` for a seed-free result."""
    return "all" if seed is None else seed_dir(seed)


def stage_args(module: str, doc: str | None, shared: tuple[str, ...] = (), *, names: tuple[str, ...] = (),
               seed: bool = False, flags: dict[str, str] | None = None, **own: str) -> argparse.Namespace:
    """Parse ``sys.argv`` for ``python -m <module>``.

    ``shared`` names entries of ``SHARED_PATHS``; ``own`` gives the stage's other paths as ``name="default"``,
    with ``_`` in the name written ``-`` on the command line; ``names`` are required name arguments among
    NAMED_ARGS, each checked here: call this inside ``run_stage``. ``flags``: on/off options, name -> help.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in names:
        parser.add_argument(f"--{name}", required=True, help=f"a name of the study's {name} (see params.yaml)")
    if seed:
        parser.add_argument("--seed", type=int, required=True, help="a replicate seed, one of the seeds param")
    for flag, text in (flags or {}).items():
        parser.add_argument(f"--{flag}", action="store_true", help=text)
    paths = {name: SHARED_PATHS[name] for name in shared} | {name.replace("_", "-"): Path(p) for name, p in own.items()}
    for name, default in paths.items():
        parser.add_argument(f"--{name}", type=Path, default=default, help="(default: %(default)s)")
    args = parser.parse_args()
    for name in names:
        check_name(getattr(args, name), f"--{name}")
    return args


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a ``StudyError`` becomes one line on stderr and exit status 2."""
    try:
        main()
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
