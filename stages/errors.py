"""The one exception type a stage turns into a one-line message and a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable


class StudyError(Exception):
    """Bad input: a file, a param or an argument, named in the message."""


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a ``StudyError`` becomes one line on stderr and exit status 2."""
    try:
        main()
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
