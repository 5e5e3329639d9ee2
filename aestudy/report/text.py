"""The report's prose: findings and verdicts in sentences, the report and the README's results section, around the
tables of ``aestudy.report.tables``.

Every comparison in the findings is a statistical statement: ``A beats B`` only when the 95% interval of A - B on
the same test images excludes 0; otherwise ``A and B tie within noise``.
"""

from __future__ import annotations

import math

from aestudy.evaluation.results import Budget, Comparison, DatasetStats
from aestudy.report.anchors import FEW_LABEL_ANCHORS
from aestudy.report.names import Names
from aestudy.report.figures import figure
from aestudy.report.headline import HeadlineSpec
from aestudy.report.seed_studies import (
    SEED000_AUTOENCODER_SECONDS,
    SEED000_CLASSIFIERS,
    SEED002_GRID_SECONDS,
    SEED002_TEST_BCE,
)
from aestudy.report.tables import (
    DatasetReport,
    anchors_table,
    budget_label,
    budgets_table,
    cell_text,
    comparison_cell,
    comparisons_table,
    grid_table,
    headline_section,
    seconds,
    table,
    time_table,
    variants_table,
)


def verdict_sentence(row: Comparison, names: Names) -> str:
    """One paired comparison as a short sentence: who beats whom by how much, or a tie within noise."""
    difference, (low, high) = row.difference_pt, row.ci95_pt
    name_a, name_b = names.sides(row.a, row.b)
    if row.winner == "tie":
        return f"{name_a} and {name_b} tie within noise ({difference:+.2f} points [{low:+.2f}, {high:+.2f}])"
    if row.winner == "b":
        name_a, name_b, difference, low, high = name_b, name_a, -difference, -high, -low
    return f"{name_a} beats {name_b} by {difference:.2f} points [{low:+.2f}, {high:+.2f}]"


def budget_trend(budgets: tuple[Budget, ...], kind: str, key: str, a: str, b: str, names: Names) -> str | None:
    """At which budgets A beats B and by how much (the range of the paired differences), where they tie and where
    B wins, read from the interval at each budget."""
    verdicts = [(budget.labels_per_class, row) for budget in budgets
                if (row := budget.comparison(kind, key, a, b)) is not None]
    if not verdicts:
        return None
    name_a, name_b = names.sides(a, b)
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


def cost_findings(d: DatasetReport, score: str, features: list[str], reference: str = "raw") -> list[str]:
    """In time, under ``score`` with every label: each feature set's accuracy and seconds a fit beside the
    reference's (raw pixels), and after how many fits its one-off cost (an autoencoder's training, a PCA fit) is
    repaid by cheaper fits, or that it never is."""
    cells, times, one_off = d.stats.cells, d.stats.times, d.one_off_seconds(features)
    if reference not in features or score not in cells.get(reference, {}):
        return []
    ref_cell, ref_fit = cells[reference][score], times[reference][score].seconds
    lines = []
    for name in features:
        if name == reference or score not in cells.get(name, {}) or times[name][score].seconds is None:
            continue
        fit, paid = times[name][score].seconds, one_off.get(name, 0.0) - one_off.get(reference, 0.0)
        saved = ref_fit - fit
        fits = math.ceil(paid / saved) if saved > 0 else 0
        repaid = (f"its one-off {seconds(paid)} s are repaid after {fits} fit{'s' if fits != 1 else ''}" if saved > 0
                  else f"its fits are no cheaper, so its one-off {seconds(paid)} s are never repaid")
        lines.append(f"{d.names.score(score)} on {d.names.feature(name)} reaches {cell_text(cells[name][score], False)} "
                     f"at {seconds(fit)} s a fit, against {cell_text(ref_cell, False)} at {seconds(ref_fit)} s on "
                     f"{d.names.feature(reference)}; {repaid}")
    return lines


def few_label_findings(stats: DatasetStats, pairs: list[tuple[str, str]], scores: list[str],
                       features: list[str], names: Names) -> list[str]:
    """Each compared pair's trend over the label budgets, as sentences."""
    budgets = stats.label_budgets
    lines = []
    for a, b in pairs:
        if a in features:
            for score in scores:
                trend = budget_trend(budgets, "comparisons", score, a, b, names)
                if trend:
                    lines.append(f"Under {names.score(score)}: {trend}.")
        else:
            for name in features:
                trend = budget_trend(budgets, "score_comparisons", name, a, b, names)
                if trend:
                    lines.append(f"On {names.feature(name)}: {trend}.")
    return lines


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
    parts = every_label_section(datasets, features, scores)
    for d in datasets:
        parts += dataset_section(d, features, scores, pairs)
    parts += anchors_and_time_section(datasets, features, scores)
    feature_pairs = [p for p in pairs if p[0] in features]
    if feature_pairs:
        parts += ["", "Feature pairs compared: " + ", ".join(datasets[0].names.pair(*p) for p in feature_pairs) + "."]
    return "\n".join(parts) + "\n"


def every_label_section(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> list[str]:
    """The report's title, how to read it, and the every-label table with its two figures: lines of Markdown."""
    seeds = datasets[0].stats.seeds
    return [
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
        f"![Paired differences with every label]({figure('comparisons')})",
        "",
        "*Every paired difference A - B with its 95% interval; blue favours A, orange B, grey is a tie within noise.*",
        "",
        f"![Accuracy against seconds a fit, and each feature set's one-off cost]({figure('efficiency')})",
        "",
        ("*Left: test accuracy against the seconds of one fit and prediction with every label, a point per feature "
         "set and classifier in the feature set's style, the Pareto frontier drawn and named. Right: what each feature "
         "set costs once (an autoencoder's training and encoding, a PCA or UMAP fit), paid for every classifier, "
         "budget and draw that uses it.*"),
    ]


def dataset_section(d: DatasetReport, features: list[str], scores: list[str], pairs: list[tuple[str, str]]
                    ) -> list[str]:
    """One dataset's part of the report: the selection, the findings with every label and with few labels, the
    autoencoders' grid and the dataset's figures, as lines of Markdown."""
    selection = d.selection
    return [
        "", f"## {d.title}", "",
        (f"The validation split chose **{selection['selected']}** ({selection['code_dim']}-d code, by "
         f"`{selection['criterion']}`) among {len(selection['candidates'])} autoencoders."), "",
        "### Findings with every label", "",
        *[f"- Under {d.names.score(s)}: " + "; ".join(verdict_sentence(r, d.names) for r in d.stats.comparisons[s])
          + "."
          for s in scores if d.stats.comparisons.get(s)],
        *[f"- In time: {line}." for s in scores[:1] for line in cost_findings(d, s, features)],
        *[f"- {line}" for line in seed_notes(d)],
        "", comparisons_table(d.stats.comparisons, "classifier", d.names),
        "", "### With few labels", "",
        f"![{d.title}: test accuracy against labels per class]({figure('label_budgets', d.name)})", "",
        (f"*{d.title}: test accuracy against labels per class, a panel per classifier, a line per feature set "
         "with its 95% band; dashed, a CNN trained on the labelled images alone; stars, published semi-supervised "
         "results at 4 labels per class (conditions in the table below).*"),
        "",
        *[f"- {line}" for line in few_label_findings(d.stats, pairs, scores, features, d.names)],
        "", budgets_table(d.stats.label_budgets, features, scores, d.names),
        "", "### The autoencoders", "",
        ("Every variant's codes against PCA of the same size under 1-NN (test split, descriptive: the selection "
         "used the validation split):"),
        "", variants_table(d.stats),
        "", f"![{d.title}: every variant's 1-NN against its training seconds]({figure('variants_vs_time', d.name)})",
        "", "*Each variant's 1-NN on its codes against its training time; a grey dash marks PCA of its code's size.*",
        "", "Ranked by validation MSE (comparable across MSE- and BCE-trained variants):",
        "", grid_table(d),
        "", f"![{d.title}: validation loss per epoch]({figure('curves', d.name)})",
        "", "*Each variant's validation loss per epoch, as dvclive logged it.*",
        "", f"![{d.title}: test images and their reconstructions]({figure('reconstructions', d.name)})",
        "", f"*The first test images above their reconstructions by {selection['selected']}.*",
        "", f"![{d.title}: first-layer activations]({figure('activations', d.name)})",
        "", f"*The same images above the activations of {selection['selected']}'s first encoding layer.*",
        "", f"![{d.title}: confusion matrix]({figure('confusion', d.name)})",
        "", "*The confusion matrix of the most accurate classifier with every label (described, not chosen).*",
    ]


def anchors_and_time_section(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> list[str]:
    """The highest few-label cells beside the published results, and where the time went: lines of Markdown."""
    return ["", "## Against the published semi-supervised results", "",
            ("The highest cell at the smallest budget (described after the fact, so it is not a selected result) "
             "beside the published numbers; each of those differs from this study's setting:"), "",
            anchors_table(datasets, features, scores), "",
            *[f"- {a.label}: {a.note}." for a in FEW_LABEL_ANCHORS],
            "- CNN on the labels alone: the Parametric UMAP paper's supervised baseline.",
            "", "## Where the time goes", "",
            "Seconds measured inside the stages, summed per dataset (process start-up and DVC's own work aside):",
            "", time_table(datasets, features, scores)]


# The README's first-screen answer, beside the report (study.layout's paths are every stage's: this one is the
# report's and the README's alone).
ANSWER_FILE = "answer.md"


def answer(datasets: list[DatasetReport], features: list[str], scores: list[str], every_label: HeadlineSpec,
           few_labels: HeadlineSpec) -> str:
    """The README's first-screen answer, at most four lines, each claim with its numbers and 95% intervals: with
    every label, the ``every_label`` pair under its score; in time, that score's seconds a fit on A against raw
    pixels and after how many fits A's one-off cost is repaid; with few labels, the ``few_labels`` pair at the
    smallest budget, beside the every-label score on the labelled images alone."""
    names, lines = datasets[0].names, []
    a, b = every_label.pair
    score = every_label.score
    if score in scores and {a, b} <= set(features):
        said = [f"{d.title} {cell_text(d.stats.cells[a][score], False)} against "
                f"{cell_text(d.stats.cells[b][score], False)} ({comparison_cell(row, names)})"
                for d in datasets if d.stats.cells and (row := d.stats.comparison("comparisons", score, a, b))]
        if said:
            lines.append(f"- **Accuracy, every label**: {names.score(score)} on {names.feature(a)} against "
                         f"{names.feature(b)}: " + "; ".join(said) + ".")
        timed = [f"{d.title}: {line}" for d in datasets for line in cost_findings(d, score, ["raw", a])]
        if timed:
            lines.append("- **Time**: " + "; ".join(timed) + ".")
    few_a, few_b = few_labels.pair
    smallest = [(d, d.stats.smallest_budget) for d in datasets if d.stats.smallest_budget is not None]
    if few_labels.score in scores and {few_a, few_b} <= set(features) and smallest:
        said = []
        for d, budget in smallest:
            row = budget.comparison("comparisons", few_labels.score, few_a, few_b)
            if row is None:
                continue
            alone = (f", against {cell_text(budget.cells[a][score], False)} for {names.score(score)} on the labelled "
                     f"{names.feature(a)} alone" if score in scores and a in features else "")
            said.append(f"{d.title} {cell_text(budget.cells[few_a][few_labels.score], False)} "
                        f"({comparison_cell(row, names)} against {names.feature(few_b)}){alone}")
        if said:
            k = smallest[0][1].labels_per_class
            lines.append(f"- **Accuracy, {k} labels per class**: {names.score(few_labels.score)} over every training "
                         f"image on {names.feature(few_a)}: " + "; ".join(said) + ".")
    lines.append("- A winner is named only where the 95% interval of the paired difference excludes zero; the "
                 "tables, every verdict and figure: [metrics/report.md](metrics/report.md).")
    return "\n".join(lines) + "\n"


def results_section(datasets: list[DatasetReport], features: list[str], scores: list[str],
                    pairs: list[tuple[str, str]], every_label: HeadlineSpec, few_labels: HeadlineSpec) -> str:
    """The README's results, led by the ``headline`` params: with every label, its score on its feature sets, the
    chosen autoencoder and its pair's verdict; with few labels, the few-label score on every feature set beside
    the every-label score on its pair's first side, and the paired verdicts in sentences (every feature pair under
    that score, and its pairs with other scores); the highest few-label cells beside the published numbers.
    Rendered from the statistics, so that the README and the report cannot disagree (a test compares them)."""
    parts, names = [], datasets[0].names
    shown = [f for f in every_label.features if f in features]
    if every_label.score in scores and shown:
        rows = [[d.title, *(cell_text(d.stats.cells[f][every_label.score]) for f in shown),
                 f"{d.selection['selected']}, {d.selection['code_dim']}-d",
                 comparison_cell(d.stats.comparison("comparisons", every_label.score, *every_label.pair), names)]
                for d in datasets if d.stats.cells]
        parts += [f"**With every label**, {names.score(every_label.score)} test accuracy [95% interval] on each "
                  "dataset's test split:", "",
                  table(["dataset", *map(names.feature, shown), "autoencoder (chosen on validation)",
                         f"{names.pair(*every_label.pair)} (points)"], rows), ""]
        timed = [f"- {d.title}: {line}." for d in datasets for line in cost_findings(d, every_label.score, shown)]
        if timed:
            parts += [("**In time**, seconds a fit (fit and predict with every label) and the features' one-off cost "
                       "(an autoencoder's training and encoding, a PCA fit), paid once for every fit on them:"), "",
                      *timed, ""]
    score, baseline, anchor = few_labels.score, every_label.score, every_label.pair[0]
    if score in scores and baseline in scores and anchor in features:
        rows = [[d.title, str(b.labels_per_class), cell_text(b.cells[anchor][baseline], spread=False),
                 *(cell_text(b.cells[f][score], spread=False) for f in features)]
                for d in datasets for b in d.stats.label_budgets if b.few]
        parts += [("**With few labels**, the unlabelled images at work: test accuracy [95% interval over the label "
                   f"draws and the test images] of {names.score(baseline)} on the labelled images alone, and of "
                   f"{names.score(score)} over every training image:"), "",
                  table(["dataset", "labels per class", f"{names.score(baseline)} on {names.feature(anchor)}",
                         *(f"{names.score(score)} on {names.feature(f)}" for f in features)], rows), "",
                  (f"Under {names.score(score)}, the paired verdicts (an interval of the difference clear of zero, else "
                   "a tie within noise):"), ""]
        for d in datasets:
            for a, b in pairs:
                kind, key = ("comparisons", score) if a in features else ("score_comparisons", anchor)
                if kind == "score_comparisons" and a != score:
                    continue
                trend = budget_trend(d.stats.label_budgets, kind, key, a, b, names)
                if trend:
                    where = d.title if kind == "comparisons" else f"{d.title}, on {names.feature(anchor)}"
                    parts.append(f"- {where}: {trend}.")
        parts.append("")
    if any(b.few for d in datasets for b in d.stats.label_budgets):
        parts += [("The highest cell at the smallest budget (described after the fact, not selected) beside the "
                   "published results, each in a setting of its own ([docs/methods.md](docs/methods.md#settings-fixed-"
                   "before-any-test-image-is-scored)):"), "", anchors_table(datasets, features, scores)]
    return "\n".join(parts).rstrip() + "\n"
