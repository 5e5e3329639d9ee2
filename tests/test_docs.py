"""The README and docs/: a short front page whose results are the committed run's, and links that resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.readme import with_section, with_sections

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_the_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, len(lines)
    assert lines[0].startswith("# ")


def test_the_first_screen_answers_and_shows_how_to_start() -> None:
    """Within 40 lines: what the project is (and the two seed studies it grew from), the answer in at most five
    lines in accuracy and in time with numbers and intervals, the figure that answers both, and the quick start."""
    lines = (ROOT / "README.md").read_text().splitlines()
    first = lines[:40]
    framing = " ".join(first[:8])
    assert "seed-000" in framing and "seed-002" in framing, framing
    start, end = first.index("<!-- answer:start -->"), first.index("<!-- answer:end -->")
    answer = first[start + 1:end]
    assert 2 <= len(answer) <= 5, answer
    assert any(line.startswith("- **Time**") and re.search(r"\d s a fit", line) for line in answer), answer
    assert any(line.startswith("- **Accuracy") and re.search(r"\d+\.\d\d% \[\d+\.\d\d, \d+\.\d\d\]", line)
               for line in answer), answer
    assert any(line.startswith("![") and "metrics/figures/efficiency.png" in line for line in first[end:]), first
    quick = next(i for i, line in enumerate(first) if re.match(r"#+ .*[Qq]uick start", line))
    assert quick > end and "make smoke" in "\n".join(lines[quick:quick + 12])


def test_the_readme_sections_are_the_committed_runs() -> None:
    """The sections between the markers are metrics/answer.md and metrics/results.md, which the report stage
    renders from the run."""
    readme = (ROOT / "README.md").read_text()
    assert with_sections(readme, ROOT / "metrics") == readme


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    for target, _ in LINK.findall(page.read_text()):
        if "://" not in target and not target.startswith("mailto:"):
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_markers_are_checked() -> None:
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    with pytest.raises(ValueError, match="expected one"):
        with_section(f"{end} {start}", "results", "x")
    assert with_section(f"a\n{start}\nold\n{end}\nb", "results", "new\n") == f"a\n{start}\nnew\n{end}\nb"
