"""The report's text: tables and findings rendered from the metrics files, beside the seeds' numbers.

Every comparison in the findings is a statistical statement: ``A beats B`` only when the 95% interval of
A - B on the same test images excludes 0; otherwise ``A and B tie within noise``.
"""

from __future__ import annotations

import math

from aestudy.seeds import SEED000_AUTOENCODER_SECONDS, SEED000_CLASSIFIERS, SEED002_GRID_SECONDS, SEED002_TEST_BCE
from aestudy.study import SUMMARY_SECTIONS, score_name


def fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def fmt_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def fmt_interval(interval: list[float], scale: float = 100.0, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"[{scale * interval[0]:{sign}.2f}, {scale * interval[1]:{sign}.2f}]"


def fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def seed002_bce(dataset: str, variant: str) -> str:
    value = SEED002_TEST_BCE.get(dataset, {}).get(variant)
    if value is None:
        return ""
    return f"{value[0]:.4f}-{value[1]:.4f}" if isinstance(value, tuple) else f"{value:.4f}"


def diverged_note(row: dict) -> str:
    if row["collapsed"]:
        return "yes: collapsed, stopped"
    return "yes" if row["diverged"] else ""


def accuracy_text(scores: dict) -> str:
    """``97.01% [96.66, 97.33]``, with ``+- std`` when it is a mean over seeds."""
    text = f"{fmt_percent(scores['accuracy'])} {fmt_interval(scores['ci95'])}"
    if scores.get("n_seeds", 1) > 1:
        text += f" +- {100 * scores['std']:.2f}"
    return text


def comparison_text(row: dict) -> str:
    """One paired comparison as a statement: who beats whom by how much, or a tie within noise."""
    a, b, difference, (low, high) = row["a"], row["b"], row["difference_pt"], row["ci95_pt"]
    if row["verdict"] == "tie within noise":
        return f"{a} and {b} tie within noise (difference {difference:+.2f} pt, 95% interval [{low:+.2f}, {high:+.2f}])"
    if row["verdict"] == f"{b} beats {a}":
        a, b, difference, low, high = b, a, -difference, -high, -low
    return (f"{a} beats {b} by {difference:.2f} pt (95% interval [{low:+.2f}, {high:+.2f}], McNemar p "
            f"{fmt_p(row['mcnemar_p'])})")


def grid_section(dataset: str, rows: list[dict], several_seeds: bool) -> str:
    header = ["rank", "variant", *(["seed"] if several_seeds else []), "family", "hidden", "lr", "loss", "val MSE",
              "val BCE", "test MSE", "test BCE", "best / run epochs", "seconds", "diverged", "seed-002 test BCE"]
    body = [[str(i), r["variant"], *([str(r["seed"])] if several_seeds else []), r["family"],
             "-".join(map(str, r["hidden"])),
             f"{r['lr']:g}", r["loss"], fmt(r["val_mse"]), fmt(r["val_bce"]), fmt(r["test_mse"]), fmt(r["test_bce"]),
             f"{r['best_epoch']} / {r['epochs_run']}", fmt_seconds(r["seconds"]), diverged_note(r),
             seed002_bce(dataset, r["variant"])]
            for i, r in enumerate(rows, 1)]
    return table(header, body)


def features_and_scores(entry: dict) -> tuple[list[str], list[str]]:
    """The feature sets and scores of one dataset's summary, in the summary's order (declared ones included)."""
    features = [key for key in entry if key not in SUMMARY_SECTIONS]
    return features, list(entry[features[0]])


def classifier_section(dataset: str, entry: dict) -> str:
    with_seed = dataset == "mnist"
    header = ["classifier", "features", "accuracy [95% interval]", "seconds", "total seconds"]
    if with_seed:
        header += ["seed-000 accuracy", "seed-000 seconds"]
    body = []
    features, scores_ = features_and_scores(entry)
    for score in scores_:
        for feature in features:
            scores = entry[feature][score]
            row = [score_name(score), feature, accuracy_text(scores), fmt_seconds(scores["seconds"]),
                   fmt_seconds(scores["total_seconds"])]
            if with_seed:
                seed = SEED000_CLASSIFIERS.get(feature, {}).get(score)
                row += [fmt_percent(seed[0]), fmt_seconds(seed[1])] if seed else ["", ""]
            body.append(row)
    return table(header, body)


def comparisons_section(comparisons: dict) -> str:
    header = ["classifier", "A - B", "difference (pt)", "95% interval (pt)", "McNemar p", "verdict"]
    body = [[score_name(score), f"{row['a']} - {row['b']}", f"{row['difference_pt']:+.2f}",
             fmt_interval(row["ci95_pt"], scale=1, signed=True), fmt_p(row["mcnemar_p"]), row["verdict"]]
            for score, rows in comparisons.items() for row in rows]
    return table(header, body)


def variants_section(rows: list[dict]) -> str:
    header = ["variant", "family", "code", "training s", "1-NN", "3-NN", "nearest centroid", "PCA, same size: 1-NN",
              "diverged"]
    body = [[r["variant"], r["family"], str(r["code_dim"]), fmt_seconds(r["seconds"]),
             *(accuracy_text(r["cells"]["code"][score]) for score in ("1nn", "3nn", "ncc")),
             accuracy_text(r["cells"]["pca"]["1nn"]), "yes" if r["diverged"] else ""] for r in rows]
    return table(header, body)


def variant_comparisons_section(rows: list[dict]) -> str:
    header = ["variant", "classifier", "code - PCA (pt)", "95% interval (pt)", "McNemar p", "verdict"]
    body = [[r["variant"], score_name(score), f"{c['difference_pt']:+.2f}", fmt_interval(c["ci95_pt"], scale=1,
             signed=True), fmt_p(c["mcnemar_p"]), c["verdict"]] for r in rows for score, c in r["comparisons"].items()]
    return table(header, body)


def findings(dataset: str, entry: dict, stats: dict, grid_rows: list[dict], variant_rows: list[dict]) -> list[str]:
    """Sentences read off one dataset's numbers; every comparison follows its paired interval."""
    ae = entry["autoencoder"]
    n_seeds = len(stats["seeds"])
    lines = []
    if n_seeds > 1:
        lines.append(f"Every number is a mean over {n_seeds} seeds ({', '.join(map(str, stats['seeds']))}); the "
                     "intervals hold the seed's noise and the test set's.")
    for score, rows in stats["comparisons"].items():
        lines.append(f"{score_name(score)}: " + "; ".join(comparison_text(row) for row in rows) + ".")
    ae_pca = next(row for row in stats["comparisons"]["1nn"] if (row["a"], row["b"]) == ("ae", "pca"))
    lines.append(f"The selected autoencoder ({ae['variant']}, {ae['code_dim']}-d code) against PCA of the same "
                 f"dimension on 1-NN: {comparison_text(ae_pca)}.")
    tested = [r["cells"]["code"]["1nn"]["accuracy"] for r in variant_rows if not r["diverged"]]
    if tested:
        lines.append(f"Across the grid's {len(tested)} converged variants, test 1-NN on the codes ranges from "
                     f"{fmt_percent(min(tested))} to {fmt_percent(max(tested))}. That table only describes: choosing "
                     "the best variant on it would be selection on the test set.")
    grid_seconds = sum(r["seconds"] for r in grid_rows if r["variant"] in SEED002_TEST_BCE.get(dataset, {}))
    if dataset in SEED002_GRID_SECONDS and grid_seconds:
        lines.append(f"Training seed-002's grid took {fmt_seconds(grid_seconds)} s here (all seeds) against about "
                     f"{SEED002_GRID_SECONDS[dataset]:.0f} s in the seed, on other hardware.")
    if dataset == "mnist":
        ours = {s: entry["raw"][s]["seconds"] for s in ("1nn", "mlp")}
        lines.append(
            f"Raw-pixel 1-NN took {fmt_seconds(ours['1nn'])} s against the seed's "
            f"{SEED000_CLASSIFIERS['raw']['1nn'][1]:.0f} s; the raw MLP {fmt_seconds(ours['mlp'])} s against "
            f"{SEED000_CLASSIFIERS['raw']['mlp'][1]:.0f} s; the selected autoencoder trained in "
            f"{fmt_seconds(ae['seconds'])} s (seed-000's took {SEED000_AUTOENCODER_SECONDS:.0f} s, on other hardware).")
    return lines


def budget_text(budget: int | str) -> str:
    return "every label" if budget == "all" else f"{budget}"


def budget_verdicts(label_budgets: list[dict], score: str, a: str, b: str) -> str:
    """From which budget on A beats B under one score (A beats B there and at every larger budget), and where the
    two tie or B wins: each verdict from the paired interval at that budget."""
    verdicts = [(entry["labels_per_class"],
                 next(row for row in entry["comparisons"][score] if (row["a"], row["b"]) == (a, b))["verdict"])
                for entry in label_budgets]
    onward = next((i for i in range(len(verdicts)) if all(v == f"{a} beats {b}" for _, v in verdicts[i:])), None)
    parts = []
    if onward == 0:
        parts.append(f"{a} beats {b} at every budget")
    elif onward is not None:
        parts.append(f"{a} beats {b} from {budget_text(verdicts[onward][0])} labels per class on")
    for verdict, what in (("tie within noise", "tie within noise"), (f"{b} beats {a}", f"{b} beats {a}"),
                          (f"{a} beats {b}", f"{a} beats {b}")):
        where = [budget_text(k) for i, (k, v) in enumerate(verdicts) if v == verdict and (onward is None or i < onward)]
        if where:
            parts.append(f"{what} at {', '.join(where)}")
    return ", ".join(parts)


def budget_findings(stats: dict) -> list[str]:
    budgets = stats["label_budgets"]
    return [f"{score_name(score)}: " + "; ".join(budget_verdicts(budgets, score, "ae", b) for b in ("raw", "pca")) + "."
            for score in budgets[0]["comparisons"]]


def budgets_table(label_budgets: list[dict]) -> str:
    """Labels per class x classifier: each feature set's accuracy [95% interval] and the number of label draws."""
    features = list(label_budgets[0]["cells"])
    header = ["labels per class", "labelled images", "classifier", *features, "draws", "ae - raw (pt)", "ae - pca (pt)"]
    body = []
    for entry in label_budgets:
        for score, rows in entry["comparisons"].items():
            cells = entry["cells"]
            by_pair = {(row["a"], row["b"]): row for row in rows}
            body.append([budget_text(entry["labels_per_class"]), str(entry["n_labelled"]), score_name(score),
                         *(f"{fmt_percent(cells[f][score]['accuracy'])} {fmt_interval(cells[f][score]['ci95'])}"
                           for f in features),
                         "/".join(sorted({str(cells[f][score]["n_draws"]) for f in features})),
                         *(f"{by_pair['ae', b]['difference_pt']:+.2f} "
                           f"{fmt_interval(by_pair['ae', b]['ci95_pt'], scale=1, signed=True)}" for b in ("raw", "pca"))])
    return table(header, body)


def headline_table(summary: dict) -> str:
    """Classifier x features: test accuracy with its 95% interval and total seconds, a column pair per dataset."""
    datasets = list(summary)
    header = ["classifier", "features"] + [f"{d} {what}" for d in datasets for what in ("accuracy [95%]", "total s")]
    body = []
    features, scores = features_and_scores(summary[datasets[0]])
    for score in scores:
        for feature in features:
            row = [score_name(score), feature]
            for dataset in datasets:
                scores = summary[dataset][feature][score]
                row += [accuracy_text(scores), fmt_seconds(scores["total_seconds"])]
            body.append(row)
    return table(header, body)


def time_section(times: dict[str, dict[str, float]]) -> str:
    """Seconds of each kind of work per dataset, summed over the stages that did it (process start-up aside)."""
    datasets = list(times)
    kinds = list(next(iter(times.values())))
    body = [[kind, *(fmt_seconds(times[d][kind]) for d in datasets)] for kind in kinds]
    return table(["work", *datasets], body)


def render_report(summary: dict, stats: dict, grid: dict, variants: dict, selections: dict, times: dict,
                  device: str) -> str:
    n_seeds = len(next(iter(stats.values()))["seeds"])
    parts = [
        "# Report: autoencoder codes versus raw pixels",
        "",
        (f"Generated by the `report` stage from `metrics/summary.json`, `metrics/stats/`, `metrics/grid.json` and "
         f"the per-variant files. Device: {device}. Accuracies are on the official test split, with their 95% "
         "interval (Wilson's for one run; with several seeds, a bootstrap over seeds and test images). The "
         "autoencoder is selected on a validation split carved out of the training split; the test split never "
         "selects anything. (The first seed chose its autoencoder by test accuracy; we do not.)"),
        "",
        "Test accuracy [95% interval] and total seconds (feature cost, such as autoencoder training, plus fit and "
        "predict)" + (f", mean over {n_seeds} seeds +- their standard deviation:" if n_seeds > 1 else ":"),
        "",
        headline_table(summary),
    ]
    for dataset, entry in summary.items():
        selection = selections[dataset]
        several = len(stats[dataset]["seeds"]) > 1
        parts += [
            "", f"## {dataset}", "",
            (f"Selected autoencoder: **{entry['autoencoder']['variant']}** by `{selection['criterion']}` "
             f"(code {entry['autoencoder']['code_dim']}-d, test MSE {fmt(entry['autoencoder']['test_mse'])})."),
            "", "### Findings", "",
            *[f"- {line}" for line in findings(dataset, entry, stats[dataset], grid[dataset], variants[dataset])],
            "", "### Paired comparisons on the same test images", "",
            (f"A - B in points; 95% interval from {stats[dataset]['resamples']} bootstrap resamples of the test images"
             + (" and the seeds" if several else "") + "; exact two-sided McNemar test"
             + (" (the largest p of the seeds)" if several else "") + "."),
            "", comparisons_section(stats[dataset]["comparisons"]),
            "", "### Classifiers x features", "", classifier_section(dataset, entry),
            "", "### Few labels", "",
            ("Each classifier fitted on class-balanced labelled samples of the training split (features fitted on "
             "every training image, without labels): mean test accuracy over the label draws"
             + (" of every seed" if several else "") + ", 95% interval over the draws and the test images "
             f"({stats[dataset]['resamples']} bootstrap resamples); the paired differences on the same labelled "
             "sets and test images. The dashed line: a CNN trained on the labelled images alone (Parametric UMAP "
             "paper), where it was measured."),
            "", f"![{dataset}: test accuracy against labelled images](figures/{dataset}/label_budgets.png)",
            "", *[f"- {line}" for line in budget_findings(stats[dataset])],
            "", budgets_table(stats[dataset]["label_budgets"]),
            "", "### Autoencoder grid, ranked by validation MSE", "", grid_section(dataset, grid[dataset], several),
            "", "### Cheap classifiers on every variant's codes (test split, descriptive)", "",
            ("Each variant's codes, and PCA of the same dimension fitted on the training pixels, under the same "
             "classifiers; training seconds" + (" and accuracies are means over the seeds." if several else ".")),
            "", variants_section(variants[dataset]),
            "", "Each variant's codes against PCA of the same dimension, paired on the same test images:",
            "", variant_comparisons_section(variants[dataset]),
        ]
    parts += ["", "## Where the time goes", "",
              "Seconds measured inside the stages, summed per dataset (process start-up and DVC's own work aside):",
              "", time_section(times)]
    return "\n".join(parts) + "\n"
