"""``make pr-report BASE=<rev>``: what a change does to the study, as one Markdown comment for a pull request.

    python -m tools.pr_report --base main [--head HEAD] [--out pr-report] [--keep-seconds] [--tolerance POINTS]

Compares two revisions (commits, branches or experiments) through DVC itself: ``dvc params diff`` (every param
that differs, conf/ files included), ``dvc metrics diff`` (the headline, the grid of autoencoders and the stage
times; seconds left out unless ``--keep-seconds``: they differ between any two runs and machines) and ``dvc plots
diff`` (the report's figures of both revisions side by side, as images beside the Markdown). Writes
``<out>/report.md`` and ``<out>/figures/``; the CI workflow posts it with ``cml comment create``. A key one
revision lacks reads "new" or "removed", not a number. "Every entry" is the same diff of ``metrics/scores.json``
(every score on every feature set at every budget, not a declared metric: ``--targets``), so that an entry a pull
request adds has its accuracies and intervals in the comment.

``--tolerance``: the gate ``make ci-diff`` runs. Every headline accuracy and paired difference (the keys of
``metrics/summary.json`` that both revisions hold) must stay within that many points of the base's; the report
says which moved, and the exit status is 1 when one did (after the report is written, so that it is posted).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from aestudy.core.errors import StudyError
from aestudy.core.io import write_text
from aestudy.report.scores import SCORES_FILE
from study import layout

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
HEADLINE = layout.summary(layout.ROOTS["metrics"]).as_posix()
GATED_KEYS = ("accuracy", "difference")  # the last part of a headline key the gate holds (percentage points)
# Rows of "Every entry" in the comment, at most (a new committed run moves every one of about 2,000 numbers): the
# new and removed keys first, then the largest changes.
MAX_ENTRY_ROWS = 60


def dvc_json(*args: str) -> dict:
    """A ``dvc ... --json`` command's answer; a failure is one line naming the command."""
    done = subprocess.run(["dvc", *args, "--json"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise StudyError(f"dvc {' '.join(args)} failed: {last}")
    return json.loads(done.stdout or "{}")


def diff_table(diff: dict, keep_seconds: bool) -> pd.DataFrame:
    """``dvc params diff`` / ``dvc metrics diff`` JSON as rows: path, key, old, new, change."""
    rows = [{"path": path, "key": key, "old": values.get("old"), "new": values.get("new"),
             "change": values.get("diff")}
            for path, keys in diff.items() for key, values in keys.items()
            if keep_seconds or not key.endswith("seconds")]
    return pd.DataFrame(rows, columns=["path", "key", "old", "new", "change"])


def markdown(table: pd.DataFrame, empty: str) -> str:
    """The rows as a Markdown table: numbers to 4 significant digits; a key only one revision holds says so."""
    if table.empty:
        return empty
    shown = table.astype(object)
    for column in ("old", "new", "change"):
        shown[column] = [cell(value) for value in table[column]]
    shown.loc[table["old"].isna() & table["new"].notna(), "old"] = "new"
    shown.loc[table["new"].isna() & table["old"].notna(), "new"] = "removed"
    return shown.to_markdown(index=False, disable_numparse=True)


def cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def moved(metrics: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """The headline rows, held by both revisions, that moved by more than ``tolerance`` points."""
    numeric = pd.to_numeric(metrics["change"], errors="coerce")
    held = ((metrics["path"] == HEADLINE) & metrics["key"].str.rsplit(".", n=1).str[-1].isin(GATED_KEYS)
            & metrics["old"].notna() & metrics["new"].notna())
    return metrics[held & (numeric.abs() > tolerance)]


def gate_lines(metrics: pd.DataFrame, tolerance: float) -> list[str]:
    """The report's gate section: passed, or the headline keys that moved."""
    out = moved(metrics, tolerance)
    if out.empty:
        return ["### Gate", "", f"Passed: every headline accuracy and difference within {points_of(tolerance)} of "
                "the base's."]
    return ["### Gate", "", f"**Failed**: {len(out)} headline metric(s) moved by more than {points_of(tolerance)}:",
            "", markdown(out, "")]


def points_of(value: float) -> str:
    """``1 point``, ``0.5 points``."""
    return f"{value:g} point{'' if value == 1 else 's'}"


def entry_lines(entries: pd.DataFrame) -> list[str]:
    """The "Every entry" table: new and removed keys first, then by the size of the change; cut at
    ``MAX_ENTRY_ROWS`` with the count of the rest."""
    if entries.empty:
        return ["No entry's number differs."]
    one_sided = entries["old"].isna() | entries["new"].isna()
    size = pd.to_numeric(entries["change"], errors="coerce").abs().fillna(0)
    ranked = entries.assign(_one=one_sided, _size=size).sort_values(["_one", "_size"], ascending=False, kind="stable")
    shown = ranked.drop(columns=["_one", "_size"]).head(MAX_ENTRY_ROWS)
    rest = len(entries) - len(shown)
    return [markdown(shown, ""), *(["", f"And {rest} more: `dvc metrics diff <base> --targets "
                                    f"{layout.ROOTS['metrics'] / SCORES_FILE}`."] if rest else [])]


def figures(base: str, head: str, out: Path) -> tuple[list[str], int]:
    """The report's image plots that differ between the revisions, copied under ``out/figures``: a Markdown table
    row each; and how many are the same in both."""
    rendered = out / ".dvc-plots"
    shown = dvc_json("plots", "diff", base, head, "--targets", str(layout.figures(layout.ROOTS["metrics"])), "-o", str(rendered))
    rows, same = [], 0
    for name, entries in sorted((shown.get("data") or {}).items()):
        if not name.endswith(IMAGE_SUFFIXES):
            continue
        found = {entry["revisions"][0]: Path(entry["url"]) for entry in entries
                 if entry.get("revisions") and entry.get("url") and Path(entry["url"]).is_file()}
        if len(found) == 2 and len({path.read_bytes() for path in found.values()}) == 1:
            same += 1
            continue
        cells = {}
        for rev, path in found.items():
            target = out / "figures" / rev.replace("/", "_") / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            cells[rev] = f"![{name} at {rev}]({target.relative_to(out).as_posix()})"
        rows.append(f"| `{name}` | {cells.get(base, 'absent')} | {cells.get(head, 'absent')} |")
    shutil.rmtree(rendered, ignore_errors=True)
    return rows, same


def report(base: str, head: str, out: Path, keep_seconds: bool, with_figures: bool = True,
           tolerance: float | None = None) -> tuple[str, bool]:
    """The comment's Markdown, and whether the gate passed (True without ``tolerance``)."""
    params = diff_table(dvc_json("params", "diff", base, head), keep_seconds=True)
    metrics = diff_table(dvc_json("metrics", "diff", base, head), keep_seconds)
    entries = diff_table(dvc_json("metrics", "diff", base, head, "--targets",
                                  str(layout.ROOTS["metrics"] / SCORES_FILE)), keep_seconds)
    images, same = figures(base, head, out) if with_figures else ([], 0)
    gate = [] if tolerance is None else [*gate_lines(metrics, tolerance), ""]
    parts = [f"## The study at `{head}` against `{base}`", "", *gate,
             "### Params", "", markdown(params, "No param differs."), "",
             "### Metrics" + ("" if keep_seconds else " (seconds left out: they differ between any two runs)"), "",
             markdown(metrics, "No metric differs."), "",
             f"### Every entry (`{layout.ROOTS['metrics'] / SCORES_FILE}`)", "",
             *entry_lines(entries), "",
             "### Figures", ""]
    if not with_figures:
        parts += ["Not compared (--no-figures)."]
    elif images:
        parts += [f"| figure | `{base}` | `{head}` |", "|---|---|---|", *images]
    else:
        parts += ["No figure differs."]
    if same:
        parts += ["", f"{same} figure(s) the same in both."]
    passed = tolerance is None or moved(metrics, tolerance).empty
    return "\n".join(parts) + "\n", passed


def points(text: str) -> float:
    """``--tolerance``: a number of percentage points, at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of points") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 100 points")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.pr_report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the revision compared against (main, a tag, a commit)")
    parser.add_argument("--head", default="HEAD", help="the revision shown (default: HEAD)")
    parser.add_argument("--out", type=Path, default=Path("pr-report"), help="folder for report.md and figures/")
    parser.add_argument("--keep-seconds", action="store_true", help="keep the seconds metrics in the diff")
    parser.add_argument("--no-figures", action="store_true",
                        help="leave the figures out (the smoke diff: its baseline records no figures)")
    parser.add_argument("--tolerance", type=points, metavar="POINTS",
                        help="fail (exit 1) when a headline accuracy or difference moves by more than POINTS")
    args = parser.parse_args()
    text, passed = report(args.base, args.head, args.out, args.keep_seconds, with_figures=not args.no_figures,
                          tolerance=args.tolerance)
    write_text(args.out / "report.md", text)
    print(text)
    if not passed:
        sys.exit(f"error: the gate failed: a headline metric moved by more than {points_of(args.tolerance)} "
                 f"({args.out / 'report.md'}, \"Gate\")")


if __name__ == "__main__":
    try:
        main()
    except StudyError as error:
        sys.exit(f"error: {error}")
