"""The report's text: tables and findings rendered from the statistics, beside the published numbers.

Every comparison in the findings is a statistical statement: ``A beats B`` only when the 95% interval of A - B on
the same test images excludes 0; otherwise ``A and B tie within noise``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aestudy.evaluation.results import Budget, Cell, Comparison, DatasetStats
from aestudy.report.anchors import CNN_ON_LABELS, FEW_LABEL_ANCHORS
from aestudy.report.display_names import feature_name, pair_name, score_name
from aestudy.report.headline import HeadlineSpec
from aestudy.report.seed_studies import (
    SEED000_AUTOENCODER_SECONDS,
    SEED000_CLASSIFIERS,
    SEED002_GRID_SECONDS,
    SEED002_TEST_BCE,
)


@dataclass
class DatasetReport:
    """What the report says of one dataset."""

    name: str  # the key
    title: str  # as people write it
    stats: DatasetStats  # metrics/stats/<name>.json
    selection: dict  # the first seed's selection (codes/.../selection.json)
    grid: list[dict] = field(default_factory=list)  # every variant's training record, under every seed


def percent(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, ``n/a`` for none."""
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f}%"


def interval(ci: list[float], scale: float = 100.0, signed: bool = False) -> str:
    """An interval as ``[low, high]`` (scaled)."""
    sign = "+" if signed else ""
    return f"[{scale * ci[0]:{sign}.2f}, {scale * ci[1]:{sign}.2f}]"


def seconds(value: float | None) -> str:
    """Seconds with as many digits as they deserve."""
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def cell_text(cell: Cell, spread: bool = True) -> str:
    """``97.01% [96.66, 97.33]``, with the spread over runs where there are several (and ``spread``)."""
    text = f"{percent(cell.accuracy)} {interval(cell.ci95)}"
    return text + (f" +- {100 * cell.std:.2f}" if spread and cell.runs > 1 and cell.std is not None else "")


def side_names(a: str, b: str, names=pair_name) -> tuple[str, str]:
    """The names of the two sides of the comparison A - B, as people write them."""
    name_a, name_b = (part.strip() for part in names(a, b).split(" - "))
    return name_a, name_b


def verdict_sentence(row: Comparison, names=pair_name) -> str:
    """One paired comparison as a short sentence: who beats whom by how much, or a tie within noise."""
    difference, (low, high) = row.difference_pt, row.ci95_pt
    name_a, name_b = side_names(row.a, row.b, names)
    if row.winner == "tie":
        return f"{name_a} and {name_b} tie within noise ({difference:+.2f} points [{low:+.2f}, {high:+.2f}])"
    if row.winner == "b":
        name_a, name_b, difference, low, high = name_b, name_a, -difference, -high, -low
    return f"{name_a} beats {name_b} by {difference:.2f} points [{low:+.2f}, {high:+.2f}]"


def headline_section(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> str:
    """With every label: a row per (score, feature set), an accuracy column pair per dataset."""
    header = ["classifier", "features"] + [f"{d.title} {what}" for d in datasets for what in ("accuracy [95%]", "total s")]
    rows = []
    for score in scores:
        for name in features:
            row = [score_name(score), feature_name(name)]
            for d in datasets:
                row += [cell_text(d.stats.cells[name][score]), seconds(d.stats.times[name][score].total_seconds)]
            rows.append(row)
    return table(header, rows)


def comparisons_table(comparisons: dict[str, list[Comparison]], by: str) -> str:
    """Every paired comparison of a table, by score (``classifier``) or by feature set."""
    header = [by, "A - B", "difference (points)", "95% interval", "McNemar p", "verdict"]
    rows = [[score_name(key) if by == "classifier" else feature_name(key), pair_name(r.a, r.b),
             f"{r.difference_pt:+.2f}", interval(r.ci95_pt, scale=1, signed=True),
             "< 0.001" if r.mcnemar_p < 0.001 else f"{r.mcnemar_p:.3f}", r.verdict]
            for key, rs in comparisons.items() for r in rs]
    return table(header, rows)


def budget_label(k: int | str) -> str:
    """A budget as people say it."""
    return "every label" if k == "all" else f"{k} per class"


def budgets_table(budgets: tuple[Budget, ...], features: list[str], scores: list[str]) -> str:
    """Labels per class x classifier: each feature set's accuracy [95% interval], and the label draws."""
    header = ["labels", "classifier", *map(feature_name, features), "draws"]
    rows = []
    for b in budgets:
        for score in scores:
            rows.append([budget_label(b.labels_per_class), score_name(score),
                         *(cell_text(b.cells[f][score], spread=False) for f in features),
                         "/".join(sorted({str(b.cells[f][score].n_draws) for f in features}))])
    return table(header, rows)


def budget_trend(budgets: tuple[Budget, ...], kind: str, key: str, a: str, b: str) -> str | None:
    """At which budgets A beats B and by how much (the range of the paired differences), where they tie and where
    B wins, read from the interval at each budget."""
    verdicts = [(budget.labels_per_class, row) for budget in budgets
                if (row := budget.comparison(kind, key, a, b)) is not None]
    if not verdicts:
        return None
    name_a, name_b = side_names(a, b)
    groups = {"a": [], "b": [], "tie": []}
    for k, row in verdicts:
        groups[row.winner].append((k, row))

    def where(group: list, sign: int = 1) -> str:
        text = ", ".join(budget_label(k) for k, _ in group)
        gaps = sorted(sign * row.difference_pt for _, row in group)
        return text + (f" (by {gaps[0]:.2f} points)" if len(gaps) == 1 else f" (by {gaps[0]:.2f} to {gaps[-1]:.2f} points)")

    def beats(name: str) -> str:  # "codes beat", "PCA + UMAP beats"
        return f"{name} beat" if name.endswith("s") else f"{name} beats"

    parts = []
    if groups["a"]:
        parts.append(f"{beats(name_a)} {name_b} at {where(groups['a'])}")
    if groups["b"]:
        parts.append(f"{beats(name_b)} {name_a} at {where(groups['b'], -1)}")
    if groups["tie"]:
        who = "they" if parts else f"{name_a} and {name_b}"
        parts.append(f"{who} tie within noise at {', '.join(budget_label(k) for k, _ in groups['tie'])}")
    return "; ".join(parts)


def few_label_findings(stats: DatasetStats, pairs: list[tuple[str, str]], scores: list[str],
                       features: list[str]) -> list[str]:
    """Each compared pair's trend over the label budgets, as sentences."""
    budgets = stats.label_budgets
    lines = []
    for a, b in pairs:
        if a in features:
            for score in scores:
                trend = budget_trend(budgets, "comparisons", score, a, b)
                if trend:
                    lines.append(f"Under {score_name(score)}: {trend}.")
        else:
            for name in features:
                trend = budget_trend(budgets, "score_comparisons", name, a, b)
                if trend:
                    lines.append(f"On {feature_name(name)}: {trend}.")
    return lines


def anchors_table(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> str:
    """At the smallest budget: the study's best cell per dataset (described, never chosen by it) beside the
    published numbers."""
    rows = []
    for d in datasets:
        smallest = d.stats.label_budgets[0]
        if not smallest.few:
            continue
        best = max(((f, s) for f in features for s in scores), key=lambda fs: smallest.cells[fs[0]][fs[1]].accuracy)
        cell = smallest.cells[best[0]][best[1]]
        k = smallest.labels_per_class
        rows.append([d.title, f"{k} per class",
                     f"{score_name(best[1])} on {feature_name(best[0])}: {cell_text(cell, spread=False)}",
                     *(f"{a.accuracy[d.name]:.2f}%" if d.name in a.accuracy else "" for a in FEW_LABEL_ANCHORS),
                     f"{CNN_ON_LABELS[d.name][k]:.2f}%" if k in CNN_ON_LABELS.get(d.name, {}) else ""])
    header = ["dataset", "labels", "this study's highest cell (test-described)", *(a.label for a in FEW_LABEL_ANCHORS),
              "CNN on the labels alone"]
    return table(header, rows)


def grid_table(d: DatasetReport) -> str:
    """Every variant's training record, ranked by validation MSE, beside seed-002's test BCE."""
    several = len(d.stats.seeds) > 1
    header = ["rank", "variant", *(["seed"] if several else []), "family", "val MSE", "test MSE", "test BCE",
              "best / run epochs", "seconds", "diverged", "seed-002 test BCE"]
    rows = []
    ranked = sorted(d.grid, key=lambda r: (r["val_mse"] is None, r["val_mse"] if r["val_mse"] is not None else 0))
    for i, r in enumerate(ranked, 1):
        published = SEED002_TEST_BCE.get(d.name, {}).get(r["variant"])
        published_text = ("" if published is None else f"{published[0]:.4f}-{published[1]:.4f}"
                          if isinstance(published, tuple) else f"{published:.4f}")
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"
        rows.append([str(i), r["variant"], *([str(r["seed"])] if several else []), r["family"], fmt(r["val_mse"]),
                     fmt(r["test_mse"]), fmt(r["test_bce"]), f"{r['best_epoch']} / {r['epochs_run']}",
                     seconds(r["seconds"]), "collapsed" if r["collapsed"] else "yes" if r["diverged"] else "",
                     published_text])
    return table(header, rows)


def variants_table(stats: DatasetStats) -> str:
    header = ["variant", "family", "code", "training s", "1-NN on codes", "1-NN on PCA, same size", "codes - PCA (points)"]
    rows = [[v.variant, v.family, str(v.code_dim), seconds(v.training_seconds),
             cell_text(v.cells["code"]["knn1"]), cell_text(v.cells["pca"]["knn1"]),
             (f"{v.comparisons['knn1'].difference_pt:+.2f} {interval(v.comparisons['knn1'].ci95_pt, 1, True)}"
              f": {v.comparisons['knn1'].verdict}")] for v in stats.variants]
    return table(header, rows)


def time_table(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> str:
    """Seconds of each kind of work per dataset, summed over the stages that did it (start-up aside)."""
    kinds: dict[str, dict[str, float]] = {}
    for d in datasets:
        times = d.stats.times
        put = lambda kind, value, name=d.title: kinds.setdefault(kind, {}).__setitem__(name, value)
        put(f"autoencoder training ({len(d.grid)} models)", sum(r["seconds"] for r in d.grid))
        put("encoding and scoring every variant's codes", sum(v.scoring_seconds for v in d.stats.variants))
        for score in scores:
            put(f"{score_name(score)}, every label", sum(times[f][score].seconds or 0 for f in features))
            fits = sum(times[f][score].few_label_fits for f in features)
            put(f"{score_name(score)}, few labels ({fits} fits)", sum(times[f][score].few_label_seconds for f in features))
    rows = [[kind, *(seconds(values.get(d.title)) for d in datasets)] for kind, values in kinds.items()]
    return table(["work", *(d.title for d in datasets)], rows)


def seed_notes(d: DatasetReport) -> list[str]:
    """The seed studies' numbers beside ours, where the dataset is theirs."""
    lines = []
    grid_seconds = sum(r["seconds"] for r in d.grid if r["variant"] in SEED002_TEST_BCE.get(d.name, {}))
    if d.name in SEED002_GRID_SECONDS and grid_seconds:
        lines.append(f"Training seed-002's grid took {seconds(grid_seconds)} s here against about "
                     f"{SEED002_GRID_SECONDS[d.name]:.0f} s in that study, on other hardware.")
    if d.name == "mnist" and "knn1" in d.stats.times.get("raw", {}):
        ours = d.stats.times["raw"]["knn1"].seconds
        lines.append(f"1-NN on raw pixels took {seconds(ours)} s against seed-000's "
                     f"{SEED000_CLASSIFIERS['raw']['knn1'][1]:.0f} s; its autoencoder trained in "
                     f"{SEED000_AUTOENCODER_SECONDS:.0f} s there.")
    return lines


def render_report(datasets: list[DatasetReport], features: list[str], scores: list[str],
                  pairs: list[tuple[str, str]]) -> str:
    """``metrics/report.md``: the headline table, the findings per dataset, the grid, the figures."""
    seeds = datasets[0].stats.seeds
    feature_pairs = [p for p in pairs if p[0] in features]
    parts = [
        "# Report: autoencoder codes, PCA and raw pixels under classic and graph classifiers",
        "",
        ("Written by the `report` stage from `metrics/stats/`. Accuracies are on each dataset's official test "
         "split, with their 95% interval: Wilson's for one run; over several runs (replicate seeds, label draws) "
         "the mean and a bootstrap over the runs and the test images. A comparison names a winner only where the "
         "interval of the paired difference excludes 0. The autoencoder is chosen on a validation split carved "
         "out of the training split; no test image chooses anything."
         + (f" Every number is a mean over {len(seeds)} seeds ({', '.join(map(str, seeds))})." if len(seeds) > 1
            else "")),
        "",
        "## With every label",
        "",
        "Test accuracy and total seconds (the features' cost, an autoencoder's training included, plus fit and predict):",
        "",
        headline_section(datasets, features, scores),
        "",
        "![Paired differences with every label](figures/comparisons.png)",
        "",
        "*Every paired difference A - B with its 95% interval; blue favours A, orange B, grey is a tie within noise.*",
        "",
        "![Accuracy against total seconds](figures/accuracy_vs_time.png)",
        "",
        "*Accuracy against total seconds with every label: the colour is the classifier, the marker the feature set.*",
    ]
    for d in datasets:
        selection = d.selection
        budgets = d.stats.label_budgets
        parts += [
            "", f"## {d.title}", "",
            (f"The validation split chose **{selection['selected']}** ({selection['code_dim']}-d code, by "
             f"`{selection['criterion']}`) among {len(selection['candidates'])} autoencoders."), "",
            "### Findings with every label", "",
            *[f"- Under {score_name(s)}: " + "; ".join(verdict_sentence(r) for r in d.stats.comparisons[s]) + "."
              for s in scores if d.stats.comparisons.get(s)],
            *[f"- {line}" for line in seed_notes(d)],
            "", comparisons_table(d.stats.comparisons, "classifier"),
            "", "### With few labels", "",
            f"![{d.title}: test accuracy against labels per class](figures/{d.name}/label_budgets.png)", "",
            (f"*{d.title}: test accuracy against labels per class, a panel per classifier, a line per feature set "
             "with its 95% band; dashed, a CNN trained on the labelled images alone; stars, published semi-supervised "
             "results at 4 labels per class (conditions in the table below).*"),
            "",
            *[f"- {line}" for line in few_label_findings(d.stats, pairs, scores, features)],
            "", budgets_table(budgets, features, scores),
            "", "### The autoencoders", "",
            ("Every variant's codes against PCA of the same size under 1-NN (test split, descriptive: the selection "
             "used the validation split):"),
            "", variants_table(d.stats),
            "", f"![{d.title}: every variant's 1-NN against its training seconds](figures/{d.name}/variants_vs_time.png)",
            "", "*Each variant's 1-NN on its codes against its training time; a grey dash marks PCA of its code's size.*",
            "", "Ranked by validation MSE (comparable across MSE- and BCE-trained variants):",
            "", grid_table(d),
            "", f"![{d.title}: validation loss per epoch](figures/{d.name}/curves.png)",
            "", "*Each variant's validation loss per epoch, as dvclive logged it.*",
            "", f"![{d.title}: test images and their reconstructions](figures/{d.name}/reconstructions.png)",
            "", f"*The first test images above their reconstructions by {selection['selected']}.*",
            "", f"![{d.title}: first-layer activations](figures/{d.name}/activations.png)",
            "", f"*The same images above the activations of {selection['selected']}'s first encoding layer.*",
            "", f"![{d.title}: confusion matrix](figures/{d.name}/confusion.png)",
            "", "*The confusion matrix of the most accurate classifier with every label (described, not chosen).*",
        ]
    parts += ["", "## Against the published semi-supervised results", "",
              ("The highest cell at the smallest budget (described after the fact, so it is not a selected result) "
               "beside the published numbers; each of those differs from this study's setting:"), "",
              anchors_table(datasets, features, scores), "",
              *[f"- {a.label}: {a.note}." for a in FEW_LABEL_ANCHORS],
              "- CNN on the labels alone: the Parametric UMAP paper's supervised baseline.",
              "", "## Where the time goes", "",
              "Seconds measured inside the stages, summed per dataset (process start-up and DVC's own work aside):",
              "", time_table(datasets, features, scores)]
    if feature_pairs:
        parts += ["", "Feature pairs compared: " + ", ".join(pair_name(*p) for p in feature_pairs) + "."]
    return "\n".join(parts) + "\n"


def comparison_cell(row: Comparison | None) -> str:
    """``+3.00 [+1.00, +5.00]: A beats B`` for a comparison, or empty when the study did not make it."""
    if row is None:
        return ""
    name_a, name_b = side_names(row.a, row.b)
    outcome = {"tie": "tie within noise", "a": f"**{name_a} better**", "b": f"{name_b} better"}[row.winner]
    return f"{row.difference_pt:+.2f} {interval(row.ci95_pt, scale=1, signed=True)}: {outcome}"


def results_section(datasets: list[DatasetReport], features: list[str], scores: list[str],
                    pairs: list[tuple[str, str]], every_label: HeadlineSpec, few_labels: HeadlineSpec) -> str:
    """The README's results, led by the ``headline`` params: with every label, its score on its feature sets, the
    chosen autoencoder and its pair's verdict; with few labels, the few-label score on every feature set beside
    the every-label score on its pair's first side, and the paired verdicts in sentences (every feature pair under
    that score, and its pairs with other scores); the highest few-label cells beside the published numbers.
    Rendered from the statistics, so that the README and the report cannot disagree (a test compares them)."""
    parts = []
    shown = [f for f in every_label.features if f in features]
    if every_label.score in scores and shown:
        rows = [[d.title, *(cell_text(d.stats.cells[f][every_label.score]) for f in shown),
                 f"{d.selection['selected']}, {d.selection['code_dim']}-d",
                 comparison_cell(d.stats.comparison("comparisons", every_label.score, *every_label.pair))]
                for d in datasets if d.stats.cells]
        parts += [f"**With every label**, {score_name(every_label.score)} test accuracy [95% interval] on each "
                  "dataset's test split:", "",
                  table(["dataset", *map(feature_name, shown), "autoencoder (chosen on validation)",
                         f"{pair_name(*every_label.pair)} (points)"], rows), ""]
    score, baseline, anchor = few_labels.score, every_label.score, every_label.pair[0]
    if score in scores and baseline in scores and anchor in features:
        rows = [[d.title, str(b.labels_per_class), cell_text(b.cells[anchor][baseline], spread=False),
                 *(cell_text(b.cells[f][score], spread=False) for f in features)]
                for d in datasets for b in d.stats.label_budgets if b.few]
        parts += [("**With few labels**, the unlabelled images at work: test accuracy [95% interval over the label "
                   f"draws and the test images] of {score_name(baseline)} on the labelled images alone, and of "
                   f"{score_name(score)} over every training image:"), "",
                  table(["dataset", "labels per class", f"{score_name(baseline)} on {feature_name(anchor)}",
                         *(f"{score_name(score)} on {feature_name(f)}" for f in features)], rows), "",
                  (f"Under {score_name(score)}, the paired verdicts (an interval of the difference clear of zero, else "
                   "a tie within noise):"), ""]
        for d in datasets:
            for a, b in pairs:
                kind, key = ("comparisons", score) if a in features else ("score_comparisons", anchor)
                if kind == "score_comparisons" and a != score:
                    continue
                trend = budget_trend(d.stats.label_budgets, kind, key, a, b)
                if trend:
                    where = d.title if kind == "comparisons" else f"{d.title}, on {feature_name(anchor)}"
                    parts.append(f"- {where}: {trend}.")
        parts.append("")
    if any(b.few for d in datasets for b in d.stats.label_budgets):
        parts += [("The highest cell at the smallest budget (described after the fact, not selected) beside the "
                   "published results, each in a setting of its own ([docs/methods.md](docs/methods.md#settings-fixed-"
                   "before-any-test-image-is-scored)):"), "", anchors_table(datasets, features, scores)]
    return "\n".join(parts).rstrip() + "\n"
