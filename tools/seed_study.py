"""``make seed000`` / ``make seed002``: each seed study alone, as a named experiment, beside the seed's own table.

    python -m tools.seed_study seed000 [-S KEY=VALUE ...] [--show]

seed-000 (shared/seeds/: an autoencoder on MNIST, then 1-NN, 3-NN, the nearest centroid and an MLP on raw pixels
and on the 64-d codes, every label) and seed-002 (nine dense autoencoders on MNIST and Fashion-MNIST, ranked by
test BCE) run as the temporary experiment of their name (``dvc exp run --temp``: the workspace stays as it was),
with the study's overrides below and nothing the study added later. Then the experiment's numbers are printed
beside the seed's published ones (``aestudy.report.seed_studies``), with the time the experiment took.

seed-000 on MNIST is also held to the seed's table within the tolerances below; a row outside them is printed
and the command exits 1 (CI runs ``make seed000``). ``-S`` adds overrides after the study's own (a key given
again replaces the study's value): the tests run both studies on the 8x8 digits that way. ``--show`` prints the
tables of the experiment already run, without running it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from aestudy.core.errors import StudyError
from aestudy.report.seed_studies import (
    SEED000_AUTOENCODER_SECONDS,
    SEED000_CLASSIFIERS,
    SEED000_TEST_MSE,
    SEED002_GRID_SECONDS,
    SEED002_TEST_BCE,
)
from tools.exps import commit_of

SEED002_VARIANTS = [f"h{h}-lr1e-{e}" for h in (32, 64, 128) for e in (1, 2, 3)]
# Each seed study's overrides of params.yaml, as `dvc exp run -S` takes them.
STUDIES: dict[str, dict[str, str]] = {
    "seed000": {"datasets": "[mnist]", "variants": "[seed000]", "compare.features": "[raw,ae]",
                "compare.classifiers": "[knn,ncc,mlp]", "compare.pairs": "[ae vs raw]",
                "headline.every_label.features": "[raw,ae]", "headline.every_label.pair": "ae vs raw",
                "label_budgets.labels_per_class": "[all]"},
    "seed002": {"variants": f"[{','.join(SEED002_VARIANTS)}]", "select.criterion": "val_mse",
                "compare.features": "[ae]", "compare.classifiers": "[ncc]", "compare.pairs": "[]",
                "headline.every_label.score": "ncc", "headline.every_label.features": "[ae]",
                "label_budgets.labels_per_class": "[all]"},
}
SEED = 42  # the replicate seed of the default params: the folder of the grid's metrics
SCORES = {"knn1": "1-NN", "knn3": "3-NN", "ncc": "nearest centroid", "mlp": "MLP"}
FEATURES = {"raw": "raw pixels", "ae": "codes"}
# Where seed-000's numbers must land on MNIST (its table: shared/seeds/NOTES.md). Raw pixels leave nothing to
# chance: 1-NN and the centroid are exact, 3-NN at least the seed's (97.17% breaks a three-way tie towards the
# nearest neighbour, as ours does; a lowest-label vote gives 97.05%). The codes depend on the training: within
# 0.3 points of the seed's 1-NN / 3-NN, three times the 0.10-point spread of 1-NN over ten training seeds (the
# seed picked its model by test accuracy among 71); the autoencoder's test MSE at most 0.0035 (the seed: 0.003).
EXACT = {("raw", "knn1"), ("raw", "ncc")}
AT_LEAST = {("raw", "knn3")}
WITHIN = {("ae", "knn1"): 0.003, ("ae", "knn3"): 0.003}
MAX_TEST_MSE = 0.0035


@dataclass(frozen=True)
class Row:
    """One classifier on one feature set: ours (accuracy, its 95% interval, seconds a fit and with the features'
    cost) beside the seed's (accuracy, the author's seconds)."""

    features: str
    score: str
    accuracy: float
    low: float
    high: float
    seconds: float
    total_seconds: float
    published: float
    published_seconds: float


def overrides(study: str, extra: list[str]) -> list[str]:
    """The study's ``KEY=VALUE`` overrides, then ``extra``'s; a key given in ``extra`` replaces the study's."""
    merged = dict(STUDIES[study])
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise StudyError(f"-S {item!r}: expected KEY=VALUE, as dvc exp run -S takes it")
        merged[key] = value
    return [f"{key}={value}" for key, value in merged.items()]


def run_experiment(study: str, settings: list[str]) -> float:
    """``dvc exp run --temp -n STUDY`` with ``settings``, its output passed through; the wall seconds it took.
    DVC's warnings that a new stage has no output to check out yet are left out (as ``make smoke`` does)."""
    subprocess.run(["dvc", "exp", "remove", study], capture_output=True, check=False)
    command = ["dvc", "exp", "run", "--temp", "-n", study, *(f"-S{s}" for s in settings)]
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            if not line.startswith("WARNING: No file hash info found"):
                print(line, end="", flush=True)
    if process.returncode != 0:
        raise StudyError(f"dvc exp run -n {study} failed (exit {process.returncode}); its output is above")
    return time.perf_counter() - start


def read_at(rev: str, path: str) -> dict:
    """A JSON file of a commit."""
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        raise StudyError(f"{path}: not in the experiment's commit {rev[:7]}")
    return json.loads(shown.stdout)


def seed000_rows(stats: dict) -> list[Row]:
    """Our every-label cells of seed-000's classifiers beside its table (``metrics/stats/<dataset>.json``)."""
    rows = []
    for features, published in SEED000_CLASSIFIERS.items():
        for score, (accuracy, seconds) in published.items():
            cell, times = stats["cells"][features][score], stats["times"][features][score]
            rows.append(Row(features, score, cell["accuracy"], *cell["ci95"], times["seconds"], times["total_seconds"],
                            accuracy, seconds))
    return rows


def seed000_misses(rows: list[Row], test_mse: float) -> list[str]:
    """Each number of ours outside its tolerance against seed-000's table, as a line naming the row."""
    misses = []
    for row in rows:
        key, name = (row.features, row.score), f"{SCORES[row.score]} on {FEATURES[row.features]}"
        ours, theirs = round(row.accuracy * 100, 2), round(row.published * 100, 2)
        if key in EXACT and ours != theirs:
            misses.append(f"{name}: {ours:.2f}%, the seed's is {theirs:.2f}% exactly")
        elif key in AT_LEAST and ours < theirs:
            misses.append(f"{name}: {ours:.2f}%, below the seed's {theirs:.2f}%")
        elif key in WITHIN and abs(row.accuracy - row.published) > WITHIN[key] + 1e-9:
            misses.append(f"{name}: {ours:.2f}%, more than {WITHIN[key] * 100:.1f} points from the seed's "
                          f"{theirs:.2f}%")
    if test_mse > MAX_TEST_MSE:
        misses.append(f"autoencoder test MSE: {test_mse:.5f}, above {MAX_TEST_MSE}")
    return misses


def seed000_table(rows: list[Row], model: dict) -> list[str]:
    """seed-000's table and ours, as lines of text."""
    out = [f"{'':31}{'ours':>26}{'s a fit':>9}{'s + AE':>9}{'seed-000':>11}{'seed s':>10}"]
    for row in rows:
        interval = f"{row.accuracy:.2%} [{row.low * 100:.2f}, {row.high * 100:.2f}]"
        total = f"{row.total_seconds:9.1f}" if row.features == "ae" else f"{'':9}"
        out.append(f"{SCORES[row.score] + ' on ' + FEATURES[row.features]:<31}{interval:>26}{row.seconds:9.1f}{total}"
                   f"{row.published:11.2%}{row.published_seconds:10.1f}")
    out += [f"{'autoencoder test MSE':<31}{model['test_mse']:>26.5f}{'':18}{SEED000_TEST_MSE:>11}",
            f"{'autoencoder validation MSE':<31}{model['val_mse']:>26.5f}",
            f"{'autoencoder training, s':<31}{model['seconds']:>26.1f}{'':18}{SEED000_AUTOENCODER_SECONDS:>11.0f}",
            "The seed's seconds are its author's, on unknown hardware; its \"encoded\" times include the",
            "autoencoder's training, as our 's + AE' does. Our MLP is the study's (docs/methods.md), not the seed's",
            "500-250-150-100 net: its rows are shown, not held to the seed's."]
    return out


def seed002_table(dataset: str, grid: dict) -> list[str]:
    """The nine variants of one dataset ranked by our test BCE, beside the seed's rank and BCE."""
    published = SEED002_TEST_BCE.get(dataset, {})
    ours = sorted((v for v in SEED002_VARIANTS if v in grid), key=lambda v: grid[v]["test_bce"])
    theirs = sorted(published, key=lambda v: np.mean(published[v]))
    out = [f"{dataset}: {'rank':>4}  {'variant':<12}{'test BCE':>9}{'val BCE':>9}{'epochs':>7}{'s':>7}"
           f"{'seed rank':>11}{'seed BCE':>16}"]
    for rank, variant in enumerate(ours, 1):
        r = grid[variant]
        bce = published.get(variant)
        shown_bce = "" if bce is None else (f"{bce[0]:.4f}-{bce[1]:.4f}" if isinstance(bce, tuple) else f"{bce:.4f}")
        seed_rank = theirs.index(variant) + 1 if variant in theirs else ""
        stopped = " (diverged)" if r.get("diverged") else ""
        out.append(f"{'':{len(dataset) + 2}}{rank:>4}  {variant:<12}{r['test_bce']:>9.4f}{r['val_bce']:>9.4f}"
                   f"{r['epochs_run']:>7}{r['seconds']:>7.1f}{seed_rank:>11}{shown_bce:>16}{stopped}")
    shared = [v for v in ours if v in theirs]
    if len(shared) > 2:
        rho = np.corrcoef([ours.index(v) for v in shared], [theirs.index(v) for v in shared])[0, 1]
        out.append(f"{'':{len(dataset) + 2}}Spearman's rank correlation with the seed's ranking: {rho:.2f}; "
                   f"training the nine took {sum(grid[v]['seconds'] for v in shared):.0f} s here"
                   + (f", about {SEED002_GRID_SECONDS[dataset]:.0f} s in the seed (Keras, other hardware)"
                      if dataset in SEED002_GRID_SECONDS else ""))
    return out


def report(study: str, rev: str) -> tuple[list[str], list[str]]:
    """The experiment's tables beside the seed's, and what moved out of seed-000's tolerances (MNIST only)."""
    datasets = list(read_at(rev, "metrics/summary.json"))
    lines, misses = [], []
    for dataset in datasets:
        grid = read_at(rev, f"metrics/grid/{dataset}/seed-{SEED}.json")
        if study == "seed002":
            lines += seed002_table(dataset, grid)
            continue
        rows = seed000_rows(read_at(rev, f"metrics/stats/{dataset}.json"))
        lines += [f"seed-000 on {dataset}, every label (ours: test accuracy with its 95% interval):",
                  *seed000_table(rows, grid["seed000"])]
        if dataset == "mnist":
            misses += seed000_misses(rows, grid["seed000"]["test_mse"])
            checked = len(EXACT) + len(AT_LEAST) + len(WITHIN) + 1
            lines += ([f"seed-000 check: {len(misses)} of {checked} numbers moved out of their tolerance:",
                       *(f"  {m}" for m in misses)] if misses else
                      [f"seed-000 check: all {checked} numbers within their tolerance of the seed's table"])
        else:
            lines.append(f"(seed-000's table is MNIST's: {dataset}'s numbers are shown, not held to it)")
    return lines, misses


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.seed_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", choices=sorted(STUDIES))
    parser.add_argument("-S", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                        help="an override after the study's own, as dvc exp run -S takes it")
    parser.add_argument("--show", action="store_true", help="print the tables of the experiment already run")
    args = parser.parse_args()
    seconds = None if args.show else run_experiment(args.study, overrides(args.study, args.extra))
    lines, misses = report(args.study, commit_of(args.study))
    print("\n" + "\n".join(lines))
    if seconds is not None:
        print(f"{args.study}: the experiment took {seconds / 60:.1f} min ({seconds:.0f} s)")
    return 1 if misses else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StudyError as error:
        sys.exit(f"error: {error}")
