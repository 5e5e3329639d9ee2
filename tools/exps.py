"""``make exps``: the headline metrics of the workspace, its commit and every experiment, within 120 columns.

    python -m tools.exps [NAME ...] [--copy DIR --files PATH ...]

A row per (experiment, dataset): 1-NN with every label on raw pixels, PCA and the codes, and codes - PCA in
points with its 95% interval; then label spreading at the smallest budget on PCA + UMAP and codes + UMAP, and
their difference. ``*`` marks a difference whose interval excludes 0. Names keep only those experiments.
``--copy DIR --files ...`` copies those files of the one experiment named from its commit into DIR (paths under
``metrics/`` lose that prefix), as ``make replicates`` and ``make smoke-baseline`` do.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from aestudy.core.errors import StudyError
from aestudy.core.io import write_bytes

WIDTH = 120
DIFFERENCE = re.compile(r"\(([+-][0-9.]+) \[([+-][0-9.]+), ([+-][0-9.]+)\]\)")


def experiments() -> list[tuple[str, str, dict]]:
    """(name, revision, headline metrics) of the workspace, its commit and each experiment, as DVC lists them."""
    shown = json.loads(subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True,
                                      check=True).stdout)
    rows = []
    for entry in shown:
        rows.append(("workspace" if entry["rev"] == "workspace" else entry.get("name") or entry["rev"][:7],
                     entry["rev"], headline(entry["data"])))
        for exp in entry.get("experiments") or []:
            for rev in exp["revs"]:
                rows.append((rev.get("name") or exp.get("name") or rev["rev"][:7], rev["rev"], headline(rev["data"])))
    return rows


def headline(data: dict) -> dict:
    return ((data.get("metrics") or {}).get("metrics/summary.json") or {}).get("data") or {}


def difference(verdict: str | None) -> str:
    """``ae beats pca (+0.32 [+0.03, +0.60])`` -> ``+0.32*``: the difference, starred when its interval excludes 0."""
    found = DIFFERENCE.search(verdict or "")
    if not found:
        return "-"
    value, low, high = (float(x) for x in found.groups())
    return f"{value:+.2f}{'*' if low > 0 or high < 0 else ''}"


def lines(rows: list[tuple[str, str, dict]]) -> list[str]:
    header = (f"{'experiment':<18}{'dataset':<14}{'1-NN raw':>9}{'PCA':>7}{'codes':>7}{'codes-PCA':>10}  "
              f"{'spreading at':>12}{'PCA+UMAP':>9}{'codes+UMAP':>11}{'difference':>11}")
    out = [header, "-" * len(header)]
    for name, _, metrics in rows:
        for dataset, entry in metrics.items():
            every = entry.get("every_label", {})
            accuracy = every.get("knn1", {})
            few_key = next((key for key in entry if key.endswith("_per_class")), None)
            few = entry.get(few_key, {}) if few_key else {}
            spreading = few.get("spreading", {})
            number = lambda value: "-" if value is None else f"{value:.2f}"
            out.append(f"{name[:17]:<18}{dataset[:13]:<14}{number(accuracy.get('raw')):>9}"
                       f"{number(accuracy.get('pca')):>7}{number(accuracy.get('ae')):>7}"
                       f"{difference(every.get('ae vs pca')):>10}  "
                       f"{(few_key or '-').replace('_per_class', '/class'):>12}{number(spreading.get('pca+umap')):>9}"
                       f"{number(spreading.get('ae+umap')):>11}{difference(few.get('ae+umap vs pca+umap')):>11}")
    assert all(len(line) <= WIDTH for line in out)
    return out


def copy(rev: str, files: list[str], folder: Path) -> None:
    """Files of a revision's commit into ``folder``, ``metrics/`` stripped from their paths."""
    for name in files:
        content = subprocess.run(["git", "show", f"{rev}:{name}"], capture_output=True, check=False)
        if content.returncode != 0:
            raise StudyError(f"{name}: not in the experiment's commit {rev[:7]}")
        write_bytes(folder / name.removeprefix("metrics/"), content.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.exps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="experiments to show (default: all)")
    parser.add_argument("--copy", type=Path, help="copy --files of the one experiment named into this folder")
    parser.add_argument("--files", nargs="*", default=[])
    args = parser.parse_args()
    rows = [row for row in experiments() if not args.names or row[0] in args.names]
    if args.names and not rows:
        raise StudyError(f"no experiment named {', '.join(args.names)} (dvc exp show lists them)")
    if args.copy:
        if len(rows) != 1:
            raise StudyError(f"--copy takes one experiment, {len(rows)} match {args.names}")
        copy(rows[0][1], args.files, args.copy)
        print(f"copied {len(args.files)} files of {rows[0][0]} to {args.copy}/")
    print("\n".join(lines(rows)))


if __name__ == "__main__":
    try:
        main()
    except StudyError as error:
        sys.exit(f"error: {error}")
