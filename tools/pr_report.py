"""``make pr-report BASE=<rev>``: what a change does to the study, as one Markdown comment for a pull request.

    python -m tools.pr_report --base main [--head HEAD] [--out pr-report] [--keep-seconds]

Compares two revisions (commits, branches or experiments) through DVC itself: ``dvc params diff`` (every param
that differs, conf/ files included), ``dvc metrics diff`` (the headline, the grid of autoencoders and the stage
times; seconds left out unless ``--keep-seconds``: they differ between any two runs and machines) and ``dvc plots
diff`` (the report's figures of both revisions side by side, as images beside the Markdown). Writes
``<out>/report.md`` and ``<out>/figures/``; the CI workflow posts it with ``cml comment create``.
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
from stages import layout as L

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")


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
    if table.empty:
        return empty
    return table.to_markdown(index=False, floatfmt=".4g")


def figures(base: str, head: str, out: Path) -> tuple[list[str], int]:
    """The report's image plots that differ between the revisions, copied under ``out/figures``: a Markdown table
    row each; and how many are the same in both."""
    rendered = out / ".dvc-plots"
    shown = dvc_json("plots", "diff", base, head, "--targets", str(L.figures(L.ROOTS["metrics"])), "-o", str(rendered))
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


def report(base: str, head: str, out: Path, keep_seconds: bool, with_figures: bool = True) -> str:
    params = diff_table(dvc_json("params", "diff", base, head), keep_seconds=True)
    metrics = diff_table(dvc_json("metrics", "diff", base, head), keep_seconds)
    images, same = figures(base, head, out) if with_figures else ([], 0)
    parts = [f"## The study at `{head}` against `{base}`", "",
             "### Params", "", markdown(params, "No param differs."), "",
             "### Metrics" + ("" if keep_seconds else " (seconds left out: they differ between any two runs)"), "",
             markdown(metrics, "No metric differs."), "",
             "### Figures", ""]
    if not with_figures:
        parts += ["Not compared (--no-figures)."]
    elif images:
        parts += [f"| figure | `{base}` | `{head}` |", "|---|---|---|", *images]
    else:
        parts += ["No figure differs."]
    if same:
        parts += ["", f"{same} figure(s) the same in both."]
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.pr_report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the revision compared against (main, a tag, a commit)")
    parser.add_argument("--head", default="HEAD", help="the revision shown (default: HEAD)")
    parser.add_argument("--out", type=Path, default=Path("pr-report"), help="folder for report.md and figures/")
    parser.add_argument("--keep-seconds", action="store_true", help="keep the seconds metrics in the diff")
    parser.add_argument("--no-figures", action="store_true",
                        help="leave the figures out (the smoke diff: its baseline records no figures)")
    args = parser.parse_args()
    text = report(args.base, args.head, args.out, args.keep_seconds, with_figures=not args.no_figures)
    write_text(args.out / "report.md", text)
    print(text)


if __name__ == "__main__":
    try:
        main()
    except StudyError as error:
        sys.exit(f"error: {error}")
