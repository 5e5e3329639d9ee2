"""What every stage shares at its boundary: the command line, one-line errors, its own seconds.

A stage names the roots of the layout it reads and writes (``study.layout.ROOTS``); each becomes a ``--flag``
whose default is where ``dvc.yaml`` puts it, so ``python -m stages.<name>`` with no path flags runs the stage as
DVC does, and tests can point it elsewhere. The names a stage is given (``--dataset``, ``--variant``, ``--features``,
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
from study import STARTED
from study.layout import ROOTS

NAMED_ARGS = ("dataset", "variant", "features", "classifier")


def wall_seconds() -> float:
    """Seconds since this stage's process began (imports included): what the stage cost, for its record."""
    return time.perf_counter() - STARTED


def stage_args(module: str, doc: str | None, roots: tuple[str, ...] = (), *, names: tuple[str, ...] = (),
               seed: bool = False, flags: dict[str, str] | None = None) -> argparse.Namespace:
    """Parse ``sys.argv`` for ``python -m <module>``.

    ``roots`` names entries of ``study.layout.ROOTS`` (``feature-sets`` is ``args.feature_sets``); ``names`` are
    required name arguments among NAMED_ARGS, each checked here: call this inside ``run_stage``. ``flags``: on/off
    options, name -> help.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in names:
        parser.add_argument(f"--{name}", required=True, help=f"a name of the study's {name} (see params.yaml)")
    if seed:
        parser.add_argument("--seed", type=int, required=True, help="a replicate seed, one of the seeds param")
    for flag, text in (flags or {}).items():
        parser.add_argument(f"--{flag}", action="store_true", help=text)
    for name in roots:
        parser.add_argument(f"--{name}", type=Path, default=ROOTS[name], help="(default: %(default)s)")
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
