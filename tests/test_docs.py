"""The README and docs/: a short front page whose results are the committed run's, and links that resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.readme import END, START, with_results

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_the_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, len(lines)
    assert lines[0].startswith("# ")


def test_the_readme_results_are_the_committed_runs() -> None:
    """The section between the markers is metrics/results.md, which the report stage renders from the run."""
    readme = (ROOT / "README.md").read_text()
    assert with_results(readme, (ROOT / "metrics/results.md").read_text()) == readme


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    for target, _ in LINK.findall(page.read_text()):
        if "://" not in target and not target.startswith("mailto:"):
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_markers_are_checked() -> None:
    with pytest.raises(ValueError, match="expected one"):
        with_results(f"{END} {START}", "x")
    assert with_results(f"a\n{START}\nold\n{END}\nb", "new\n") == f"a\n{START}\nnew\n{END}\nb"
