"""``make exps``: the headline metrics of the workspace, its commit and every experiment, within 120 columns.

    python -m tools.exps [NAME ...] [--all] [--copy DIR --files PATH ...]

Reads the experiments through ``dvc.api.exp_show`` into a pandas DataFrame (``frame()``; a row per experiment,
a column per metric and param, as ``dvc exp show`` has them) and prints a row per (experiment, dataset): the
``headline`` block with every label (a score on some feature sets, and the pair's difference in points), then the
one at the smallest label budget. ``*`` marks a difference whose 95% interval excludes 0; under the table, each
experiment's report (``git show <commit>:metrics/report.md``: a ``--temp`` experiment's name is no git ref). Names
keep only those experiments. ``--all``: every score on every feature set at every budget instead, an experiment a
column (test accuracy, %), from each one's ``metrics/scores.json`` (``frame_of_entries()``), so that an entry one
experiment adds shows beside the others' ``-``. ``--copy DIR --files ...`` copies those files of the one
experiment named from its commit into DIR (paths under ``metrics/`` lose that prefix), as ``make replicates`` and
``make smoke-baseline`` do.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from aestudy.core.errors import StudyError
from aestudy.core.io import write_bytes
from aestudy.report.scores import SCORES_FILE

WIDTH = 120
# A headline column of metrics/summary.json: <dataset>.<block>.<score>.<features>.accuracy, or
# <dataset>.<block>.<A vs B>.difference (ci_low, ci_high).
HEADLINE = re.compile(r"(?P<dataset>[^.:]+)\.(?P<block>every_label|\d+_per_class)\.(?P<name>[^.]+)"
                      r"(?:\.(?P<features>[^.]+))?\.(?P<field>accuracy|seconds|fit_seconds|one_off_seconds|difference|ci_low|ci_high)")


def frame() -> pd.DataFrame:
    """Every experiment of the workspace's commit, and the workspace and commit themselves, as DVC shows them:
    ``name`` (the experiment's name, else ``workspace`` or the short commit) and ``rev``, then every column."""
    rows = pd.DataFrame(_exp_show())
    names = rows["Experiment"].where(rows["Experiment"].fillna("").astype(bool), rows["rev"])
    return rows.assign(name=names.astype(str))


def _exp_show() -> list[dict]:
    import dvc.api

    return dvc.api.exp_show()


def headline(row: pd.Series) -> dict[str, dict[str, dict]]:
    """One experiment's headline: dataset -> block -> {"accuracy": {(score, features): value}, "pair": (name,
    difference, low, high)}."""
    out: dict[str, dict[str, dict]] = {}
    for column, value in row.items():
        found = HEADLINE.fullmatch(str(column))
        try:
            value = float(value)  # DVC gives a metric it could not read as a string ("None", "!")
        except (TypeError, ValueError):
            continue
        if not found or pd.isna(value):
            continue
        block = out.setdefault(found["dataset"], {}).setdefault(found["block"], {"accuracy": {}, "pair": {}})
        if found["field"] == "accuracy":
            block["accuracy"][found["name"], found["features"]] = float(value)
        elif not found["field"].endswith("seconds"):
            block["pair"]["name"] = found["name"]
            block["pair"][found["field"]] = float(value)
    return out


def difference(pair: dict) -> str:
    """``+0.32*``: the difference in points, starred when its interval excludes 0."""
    if "difference" not in pair:
        return "-"
    clear = pair.get("ci_low", 0) > 0 or pair.get("ci_high", 0) < 0
    return f"{pair['difference']:+.2f}{'*' if clear else ''}"


def block_cells(block: dict | None, columns: list[tuple[str, str]]) -> list[str]:
    """A block's accuracies under the header's (score, feature set) columns, and its pair's difference."""
    accuracy = (block or {}).get("accuracy", {})
    return ([f"{accuracy[c]:.2f}" if c in accuracy else "-" for c in columns]
            + [difference((block or {}).get("pair", {}))])


def lines(table: pd.DataFrame) -> list[str]:
    """The narrow view: a line per (experiment, dataset), under a two-line header (score, then feature sets)."""
    parsed = [(row["name"], headline(row)) for _, row in table.iterrows()]
    blocks = next(iter(next((h for _, h in parsed if h), {}).values()), {})
    every = blocks.get("every_label", {"accuracy": {}})
    few_key = next((k for k in blocks if k.endswith("_per_class")), None)
    few = blocks.get(few_key, {"accuracy": {}}) if few_key else {"accuracy": {}}
    every_cols, few_cols = list(every["accuracy"])[:3], list(few["accuracy"])[:2]
    n_every, n_few = len(every_cols), len(few_cols)
    scores = (f"{'':<32}{(every_cols[0][0] if every_cols else ''):>{9 * n_every}}{'':11}  {'':10}"
              f"{(few_cols[0][0] if few_cols else ''):>{11 * n_few}}")
    header = (f"{'experiment':<18}{'dataset':<14}" + "".join(f"{f[:8]:>9}" for _, f in every_cols)
              + f"{every.get('pair', {}).get('name', 'A - B')[:10]:>11}  {'budget':>10}"
              + "".join(f"{f[:10]:>11}" for _, f in few_cols)
              + f"{few.get('pair', {}).get('name', 'A - B')[:10]:>11}")
    out = [scores.rstrip(), header, "-" * len(header)]
    for name, blocks_by_dataset in parsed:
        for dataset, blocks_of in blocks_by_dataset.items():
            k = next((b for b in blocks_of if b.endswith("_per_class")), None)
            every_cells = block_cells(blocks_of.get("every_label"), every_cols)
            few_cells = block_cells(blocks_of.get(k) if k else None, few_cols)
            out.append(f"{name[:17]:<18}{dataset[:13]:<14}" + "".join(f"{c:>9}" for c in every_cells[:-1])
                       + f"{every_cells[-1]:>11}  {(k or '-').replace('_per_class', '/class'):>10}"
                       + "".join(f"{c:>11}" for c in few_cells[:-1]) + f"{few_cells[-1]:>11}")
    assert all(len(line) <= WIDTH for line in out)
    return out


def reports(table: pd.DataFrame) -> list[str]:
    """Where each experiment's report is: a line each, within ``WIDTH`` (the workspace's and commit's aside)."""
    out = []
    for _, row in table.iterrows():
        if row["rev"] != "workspace" and row["name"] != row["rev"]:
            out.append(f"{row['name'][:17]:<18}git show {row['rev']}:metrics/report.md   "
                       f"(or dvc exp apply {row['name'][:40]})")
    return ["", "Each experiment's report:", *out] if out else []


def file_at(rev: str, name: str) -> bytes | None:
    """The file ``name`` as the commit ``rev`` holds it; None where it holds none."""
    shown = subprocess.run(["git", "show", f"{rev}:{name}"], capture_output=True, check=False)
    return shown.stdout if shown.returncode == 0 else None


def scores_at(rev: str) -> dict:
    """``metrics/scores.json`` of a row of ``frame()`` (the workspace's file, or its commit's); {} without one."""
    path = Path("metrics") / SCORES_FILE
    content = (path.read_bytes() if path.is_file() else None) if rev == "workspace" else file_at(rev, path.as_posix())
    return json.loads(content) if content is not None else {}


def frame_of_entries(table: pd.DataFrame) -> pd.DataFrame:
    """Every experiment's every (dataset, budget, score, feature set): accuracy, ci_low, ci_high, fit_seconds; a
    row each, ``experiment`` naming it."""
    rows = [{"experiment": row["name"], "dataset": dataset, "budget": block, "score": score, "features": features,
             **values}
            for _, row in table.iterrows() for dataset, blocks in scores_at(row["rev"]).items()
            for block, scores in blocks.items() for score, cells in scores.items()
            for features, values in cells.items()]
    return pd.DataFrame(rows, columns=["experiment", "dataset", "budget", "score", "features", "accuracy",
                                       "ci_low", "ci_high", "fit_seconds"])


def entry_lines(table: pd.DataFrame) -> list[str]:
    """``--all``: test accuracy (%) of every (dataset, budget, score, feature set), an experiment a column."""
    entries = frame_of_entries(table)
    if entries.empty:
        return [f"no experiment here has metrics/{SCORES_FILE} (its report stage writes it)"]
    order = list(dict.fromkeys(entries["experiment"]))
    wide = entries.pivot_table("accuracy", ["dataset", "budget", "score", "features"], "experiment", sort=False)
    return wide[order].reset_index().to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="-").splitlines()


def copy(rev: str, files: list[str], folder: Path) -> None:
    """Files of a revision's commit into ``folder``, ``metrics/`` stripped from their paths."""
    for name in files:
        content = file_at(rev, name)
        if content is None:
            raise StudyError(f"{name}: not in the experiment's commit {rev[:7]}")
        write_bytes(folder / name.removeprefix("metrics/"), content)


def commit_of(name: str) -> str:
    """The full commit id of the experiment ``name`` (``HEAD`` for the workspace)."""
    table = frame()
    rows = table[table["name"] == name]
    if len(rows) != 1:
        raise StudyError(f"{len(rows)} experiments named {name} (dvc exp show lists them)")
    rev = rows.iloc[0]["rev"]
    if rev == "workspace":
        return "HEAD"
    return subprocess.run(["git", "rev-parse", rev], capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.exps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="experiments to show (default: all)")
    parser.add_argument("--copy", type=Path, help="copy --files of the one experiment named into this folder")
    parser.add_argument("--files", nargs="*", default=[])
    parser.add_argument("--all", action="store_true",
                        help=f"every score on every feature set at every budget (metrics/{SCORES_FILE})")
    args = parser.parse_args()
    table = frame()
    if args.names:
        table = table[table["name"].isin(args.names)]
        if table.empty:
            raise StudyError(f"no experiment named {', '.join(args.names)} (dvc exp show lists them)")
    if args.copy:
        if len(table) != 1:
            raise StudyError(f"--copy takes one experiment, {len(table)} match {args.names}")
        copy(commit_of(table.iloc[0]["name"]), args.files, args.copy)
        print(f"copied {len(args.files)} files of {table.iloc[0]['name']} to {args.copy}/")
    print("\n".join(entry_lines(table) if args.all else lines(table) + reports(table)))


if __name__ == "__main__":
    try:
        main()
    except StudyError as error:
        sys.exit(f"error: {error}")
