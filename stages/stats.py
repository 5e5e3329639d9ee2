"""Stage ``stats``: every accuracy of one dataset with its interval, and the paired comparisons.

    python -m stages.stats --dataset=mnist

From the test predictions of every (features, classifier) of ``compare`` (``classify``), for every label
budget, and every variant's predictions (``codes``):
- each accuracy's 95% interval: Wilson's for one run; over several runs (replicate seeds, label draws), the
  mean with a bootstrap interval over the runs and the test images;
- each pair of ``compare.pairs``, A - B on the same test images: two feature sets under every score
  (``comparisons``), or two scores on every feature set (``score_comparisons``; a graph classifier against
  1-NN on the same features). The difference in points, its 95% bootstrap interval (``stats.resamples``
  resamples drawn with the fixed seed ``BOOTSTRAP_SEED``, shared by every comparison of the dataset), each run's exact McNemar
  p-value under ``by_seed`` (with its seed, and draw), and the verdict: ``A beats B`` only when the interval
  excludes 0, else ``tie within noise``;
- ``label_budgets``: the same per budget (``labels_per_class``, ``n_labelled``), runs = seeds x draws; the
  budget ``all`` repeats the full-label cells;
- ``variants``: every variant's codes under 1-NN, 3-NN and the centroid beside PCA of the same size, with the
  paired comparison code - PCA (descriptive: never used to choose), its family, code size and seconds;
- ``times``: each (features, score)'s seconds to fit and predict with every label, its total with the features'
  cost (an autoencoder's training included), and the seconds of its few-label fits;
- ``confusion``: the most accurate every-label cell's confusion matrix (described, not chosen by).
Writes ``metrics/stats/<dataset>.json``, a ``DatasetStats`` (``aestudy.evaluation.results``, the schema), and
``metrics/fits/<dataset>.csv``, every fit's accuracy and seconds.
"""

from __future__ import annotations

import functools

import numpy as np

from aestudy.core.catalogue import scores_of
from aestudy.core.io import csv_text, read_json, read_npz, write_json, write_text
from aestudy.core.memory import check_memory
from aestudy.data.budgets import ALL
from aestudy.data.datasets import prepared_path
from aestudy.evaluation.results import (
    EMPTY_TABLE,
    Budget,
    Cell,
    Confusion,
    DatasetStats,
    Table,
    Times,
    VariantResult,
)
from aestudy.evaluation.stats import CONFIDENCE, Resamples
from aestudy.evaluation.tables import Runs, cell_of, compare_runs, study_table
from stages import conf as C
from stages import design as D
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args, wall_seconds

# The tidy table of every fit (metrics/fits/<dataset>.csv): `pd.read_csv` gives the whole study. `seed` is
# empty for a seed-free result, `draw` for a fit on every label.
FITS_COLUMNS = ["dataset", "features", "classifier", "score", "labels_per_class", "seed", "draw", "accuracy",
                "seconds"]
VARIANT_SCORES = ("knn1", "knn3", "ncc")  # what the codes stage scores every variant with
# The bootstrap's own seed: every machine draws the same resamples, so the intervals are the same everywhere.
BOOTSTRAP_SEED = 0


def upstream_seconds(args, seeds: list[int], variants: list[str], features: list[str], records
                     ) -> dict[str, dict[str, float]]:
    """Each stage kind's wall seconds for this dataset, and how many stages, from the records they wrote."""
    codes = [args.codes / args.dataset / seed_dir(s) for s in seeds]
    walls = {
        "extract": [read_json(args.facts / f"{args.dataset}.json")["wall_seconds"]],
        "labels": [read_json(args.labelled / args.dataset / "record.json")["wall_seconds"]],
        "train": [read_json(folder / "records" / f"{v}.json")["trained"]["wall_seconds"]
                  for folder in codes for v in variants],
        "codes": [read_json(folder / "selection.json")["wall_seconds"] for folder in codes],
        "encode": [read_json(args.encoded / args.dataset / f"{f}.json")["wall_seconds"] for f in features],
        "classify": [record["wall_seconds"] for record in records],
    }
    return {kind: {"seconds": float(sum(values)), "stages": len(values)} for kind, values in walls.items()}


@functools.cache
def resamples_for(n_images: int, n_rows: int, resamples: int, seed: int) -> Resamples:
    """The shared resamples for ``n_rows`` rows (seeds, or seeds x label draws), drawn once per row count."""
    return Resamples.draw(n_images, n_rows, resamples, seed)


class Predictions:
    """What ``classify`` wrote for one dataset, read for every (features, classifier) of the design: each
    folder's record, its test predictions as correctness, and the rows of the tidy table of fits."""

    def __init__(self, args, design: D.Design, test_labels: np.ndarray) -> None:
        self.args, self.design, self.test_labels = args, design, test_labels
        self.folders = {(f, c): args.classified / args.dataset / f / c for f in design.active_features
                        for c in design.active_classifiers}
        self.records = {key: read_json(folder / "record.json") for key, folder in self.folders.items()}
        # What each feature set cost to make, per run: with a fit's own seconds, the total a user pays.
        self.made = {f: {run: facts["seconds"] for run, facts in
                         read_json(args.encoded / args.dataset / f"{f}.json")["runs"].items()}
                     for f in design.active_features}
        self.fits: list[list] = []

    def scores(self):
        """(features, classifier, score, folder, record) of every score of the design."""
        for (features, classifier), folder in self.folders.items():
            for score in scores_of(self.design.classifiers[classifier]):
                yield features, classifier, score, folder, self.records[features, classifier]

    def every_label(self) -> tuple[dict[tuple[str, str], Runs], dict[str, dict[str, Times]]]:
        """Each (features, score)'s runs with every label, and its times (its few-label fits' included)."""
        outcomes, times = {}, {f: {} for f in self.design.active_features}
        for features, classifier, score, folder, record in self.scores():
            runs = list(record["all"])
            fits = [record["all"][run][score] for run in runs]
            few = [fit for budget in record["budgets"].values() for by in budget.values() for fit in by[score]["fits"]]
            made = self.made[features]
            times[features][score] = Times(
                float(np.mean([f["seconds"] for f in fits])) if fits else None,
                float(np.mean([fit["seconds"] + made[run if run in made else "all"]
                               for fit, run in zip(fits, runs, strict=True)])) if fits else None,
                len(few), float(sum(f["seconds"] for f in few)))
            rows = [read_npz(folder / f"{ALL}{'' if run == 'all' else '-' + run}.npz", score)[0] == self.test_labels
                    for run in runs]
            labels = [{"seed": None if run == "all" else int(run[5:])} for run in runs]
            outcomes[features, score] = (np.stack(rows), labels)
            self.fits += [[self.args.dataset, features, classifier, score, ALL, label["seed"], None,
                           float(row.mean()), record["all"][run][score]["seconds"]]
                          for row, run, label in zip(rows, runs, labels, strict=True)]
        return outcomes, times

    def budget(self, k: int, seeds: list[int]) -> tuple[dict[tuple[str, str], Runs], dict[str, dict[str, Times]]]:
        """Each (features, score)'s runs at ``k`` labels per class (seeds x draws), and its mean times."""
        outcomes, times = {}, {f: {} for f in self.design.active_features}
        for features, classifier, score, folder, record in self.scores():
            made = self.made[features]
            rows, labels, seconds = [], [], []
            for seed in seeds:
                (predicted,) = read_npz(folder / f"budgets-{seed_dir(seed)}.npz", f"{score}-{k}")
                rows.append(predicted == self.test_labels)
                labels += [{"seed": seed, "draw": d} for d in range(len(predicted))]
                fits = record["budgets"][seed_dir(seed)][str(k)][score]["fits"]
                cost = made.get(seed_dir(seed), made.get("all", 0.0))
                seconds += [(fit["seconds"], fit["seconds"] + cost) for fit in fits]
                self.fits += [[self.args.dataset, features, classifier, score, k, seed, draw, float(correct.mean()),
                               fit["seconds"]] for draw, (correct, fit) in enumerate(zip(rows[-1], fits, strict=True))]
            outcomes[features, score] = (np.concatenate(rows), labels)
            fit_seconds, total_seconds = zip(*seconds, strict=True)
            times[features][score] = Times(float(np.mean(fit_seconds)), float(np.mean(total_seconds)))
        return outcomes, times


def variant_results(args, variants: list[str], seeds: list[int], test_labels: np.ndarray, bootstrap
                    ) -> list[VariantResult]:
    """Every variant's codes against PCA of the same size, from the codes stage's predictions and records."""
    results = []
    for variant in variants:
        keys = (*VARIANT_SCORES, *(f"pca_{score}" for score in VARIANT_SCORES))
        runs = [dict(zip(keys, read_npz(args.codes / args.dataset / seed_dir(s) / "predictions" / f"{variant}.npz",
                                        *keys), strict=True)) for s in seeds]
        code = {score: (np.stack([run[score] == test_labels for run in runs]), [{"seed": s} for s in seeds])
                for score in VARIANT_SCORES}
        # PCA is fitted on every training image whatever the seed: one row, as for the seed-free results.
        pca = {score: (runs[0][f"pca_{score}"][None] == test_labels, [{"seed": None}]) for score in VARIANT_SCORES}
        records = [read_json(args.codes / args.dataset / seed_dir(s) / "records" / f"{variant}.json") for s in seeds]
        trained = [r["trained"] for r in records]
        results.append(VariantResult(
            variant, trained[0]["family"], trained[0]["code_dim"], float(np.mean([t["seconds"] for t in trained])),
            float(np.mean([r["seconds"] for r in records])), any(t["diverged"] for t in trained),
            {"code": {s: cell_of(code[s][0], bootstrap(len(seeds))) for s in VARIANT_SCORES},
             "pca": {s: cell_of(pca[s][0], bootstrap(1)) for s in VARIANT_SCORES}},
            {s: compare_runs(code[s], pca[s], (variant, "pca"), bootstrap) for s in VARIANT_SCORES}))
    return results


def best_confusion(full: Table, design: D.Design, records: dict) -> Confusion | None:
    """The confusion matrix of the most accurate every-label cell (the first, on a tie), from its first run."""
    if not full.cells:
        return None
    features, score = max(((f, s) for f in full.cells for s in full.cells[f]),
                          key=lambda fs: full.cells[fs[0]][fs[1]].accuracy)
    fit = next(iter(records[features, design.scores[score]]["all"].values()))[score]
    return Confusion(features, score, fit["accuracy"], fit["confusion"])


def as_budget(full: Table, times: dict[str, dict[str, Times]], n_train: int) -> Budget:
    """The every-label table as the budget ``all``: its runs counted as draws, its times without the few-label
    fits."""
    cells = {f: {s: Cell(c.accuracy, c.ci95, c.std, n_draws=c.n_seeds) for s, c in by.items()}
             for f, by in full.cells.items()}
    return Budget(cells, full.comparisons, full.score_comparisons, labels_per_class=ALL, n_labelled=n_train,
                  times={f: {s: Times(t.seconds, t.total_seconds) for s, t in by.items()} for f, by in times.items()})


def main() -> None:
    args = stage_args("stages.stats", __doc__, ("params", "prepared", "labelled", "codes", "encoded", "classified",
                                                "stats"), names=("dataset",), facts="metrics/data", fits="metrics/fits")
    params = P.load_params(args.params)
    seeds, design, resamples = P.seeds(params), D.design(params), P.resamples(params)
    budgets, with_all = P.label_budgets(params)
    test_labels, train_labels = read_npz(prepared_path(args.prepared, args.dataset), "test_labels", "train_labels")
    n_test = len(test_labels)
    check_memory(Resamples.bytes_needed(n_test, resamples), f"params.yaml: stats.resamples: {resamples} resamples "
                                                            f"of {n_test} test images")
    bootstrap = functools.partial(resamples_for, n_test, resamples=resamples, seed=BOOTSTRAP_SEED)
    features, scores = design.active_features, list(design.scores)
    predictions = Predictions(args, design, test_labels)
    outcomes, times = predictions.every_label()
    full = study_table(outcomes, features, scores, design.pairs, bootstrap) if with_all else EMPTY_TABLE
    label_budgets = []
    for k in budgets:
        budget_outcomes, budget_times = predictions.budget(k, seeds)
        # The labelled sets' size, from the labels stage's indices: the statistics read no training label.
        (n_labelled,) = {read_npz(args.labelled / args.dataset / f"{seed_dir(s)}.npz", f"indices-{k}")[0].shape[1]
                         for s in seeds}
        table = study_table(budget_outcomes, features, scores, design.pairs, bootstrap, by_draws=True)
        label_budgets.append(Budget(table.cells, table.comparisons, table.score_comparisons, labels_per_class=k,
                                    n_labelled=int(n_labelled), times=budget_times))
    if with_all:
        label_budgets.append(as_budget(full, times, len(train_labels)))
    variants = variant_results(args, C.variants(params), seeds, test_labels, bootstrap)
    for budget in label_budgets:
        print(f"{args.dataset} {budget.labels_per_class} labels per class: " + "; ".join(
            f"{score} {row.a} - {row.b} {row.difference_pt:+.2f} pt ({row.verdict})"
            for score, rows in budget.comparisons.items() for row in rows[:1]))
    write_text(args.fits / f"{args.dataset}.csv", csv_text(FITS_COLUMNS, predictions.fits))
    stage_seconds = upstream_seconds(args, seeds, C.variants(params), features, predictions.records.values())
    stage_seconds["stats"] = {"seconds": wall_seconds(), "stages": 1}
    stats = DatasetStats(full.cells, full.comparisons, full.score_comparisons, dataset=args.dataset, n_test=n_test,
                         seeds=tuple(seeds), confidence=CONFIDENCE, resamples=resamples,
                         bootstrap_seed=BOOTSTRAP_SEED, times=times, label_budgets=tuple(label_budgets),
                         variants=tuple(variants), stage_seconds=stage_seconds,
                         confusion=best_confusion(full, design, predictions.records))
    write_json(args.stats / f"{args.dataset}.json", stats.to_json())


if __name__ == "__main__":
    run_stage(main)
