"""``make readme``: the README's first-screen answer and its results section, as the report stage rendered them
(``metrics/answer.md``, ``metrics/results.md``).

    python -m tools.readme [--check]

Replaces what lies between the README's ``<!-- answer:start -->`` and ``<!-- answer:end -->`` markers, and between
``<!-- results:start -->`` and ``<!-- results:end -->``, with those files, so that every number there is the
committed run's, as in the report. ``--check`` changes nothing and exits 1 when the README differs
(tests/test_docs.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aestudy.core.errors import StudyError
from aestudy.core.io import write_text
from aestudy.report.text import ANSWER_FILE
from study import layout

# marker name -> the file the report renders
SECTIONS = {"answer": lambda root: root / ANSWER_FILE, "results": layout.results_text}


def with_section(readme: str, name: str, content: str) -> str:
    """``readme`` with the section between ``<!-- name:start -->`` and ``<!-- name:end -->`` replaced."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if readme.count(start) != 1 or readme.count(end) != 1 or readme.index(start) > readme.index(end):
        raise StudyError(f"README.md: expected one {start} before one {end}")
    head, rest = readme.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{content.rstrip()}\n{end}{tail}"


def with_sections(readme: str, root: Path) -> str:
    """``readme`` with every section of ``SECTIONS`` from the report's files under ``root``."""
    for name, path_of in SECTIONS.items():
        path = path_of(root)
        if not path.is_file():
            raise StudyError(f"{path}: not found; run the pipeline first (dvc repro)")
        readme = with_section(readme, name, path.read_text(encoding="utf-8"))
    return readme


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.readme", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the README differs")
    args = parser.parse_args()
    readme = Path("README.md")
    current = readme.read_text(encoding="utf-8")
    updated = with_sections(current, layout.ROOTS["metrics"])
    if args.check:
        if updated != current:
            sys.exit(f"error: {readme}: its answer or results section differs from the report's; run make readme")
        return
    write_text(readme, updated)


if __name__ == "__main__":
    try:
        main()
    except StudyError as error:
        sys.exit(f"error: {error}")
