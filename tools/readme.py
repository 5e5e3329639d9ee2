"""``make readme``: the README's results section, as the report stage rendered it (``metrics/results.md``).

    python -m tools.readme [--check]

Replaces what lies between the README's ``<!-- results:start -->`` and ``<!-- results:end -->`` markers with
``metrics/results.md``, so that every number there is the committed run's, as in the report. ``--check`` changes
nothing and exits 1 when the README's section differs (tests/test_docs.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aestudy.core.errors import StudyError
from aestudy.core.io import write_text
from stages import layout as L

START, END = "<!-- results:start -->", "<!-- results:end -->"


def with_results(readme: str, results: str) -> str:
    """``readme`` with its results section replaced by ``results``."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise StudyError(f"README.md: expected one {START} before one {END}")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{results.rstrip()}\n{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.readme", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the README differs")
    args = parser.parse_args()
    readme, results = Path("README.md"), L.results_text(L.ROOTS["metrics"])
    if not results.is_file():
        raise StudyError(f"{results}: not found; run the pipeline first (dvc repro)")
    current = readme.read_text(encoding="utf-8")
    updated = with_results(current, results.read_text(encoding="utf-8"))
    if args.check:
        if updated != current:
            sys.exit(f"error: {readme}: its results section differs from {results}; run make readme")
        return
    write_text(readme, updated)


if __name__ == "__main__":
    try:
        main()
    except StudyError as error:
        sys.exit(f"error: {error}")
