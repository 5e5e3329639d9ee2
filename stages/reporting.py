"""The report's text: tables and findings rendered from the metrics files, beside the seeds' numbers."""

from __future__ import annotations

import math

from stages.seeds import (
    SEED000_AUTOENCODER_SECONDS,
    SEED000_CLASSIFIERS,
    SEED002_GRID_SECONDS,
    SEED002_TEST_BCE,
)

FEATURES = ("raw", "pca", "ae")
CLASSIFIERS = ("1nn", "3nn", "ncc", "mlp")
CLASSIFIER_NAMES = {"1nn": "1-NN", "3nn": "3-NN", "ncc": "nearest centroid", "mlp": "MLP"}


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


def grid_section(dataset: str, rows: list[dict]) -> str:
    header = ["rank", "variant", "hidden", "lr", "loss", "val MSE", "val BCE", "test MSE", "test BCE",
              "best / run epochs", "seconds", "diverged", "seed-002 test BCE"]
    body = [[str(i), r["variant"], "-".join(map(str, r["hidden"])), f"{r['lr']:g}", r["loss"], fmt(r["val_mse"]),
             fmt(r["val_bce"]), fmt(r["test_mse"]), fmt(r["test_bce"]), f"{r['best_epoch']} / {r['epochs_run']}",
             fmt_seconds(r["seconds"]), diverged_note(r), seed002_bce(dataset, r["variant"])]
            for i, r in enumerate(rows, 1)]
    return table(header, body)


def classifier_section(dataset: str, entry: dict) -> str:
    with_seed = dataset == "mnist"
    header = ["classifier", "features", "accuracy", "seconds", "total seconds"]
    if with_seed:
        header += ["seed-000 accuracy", "seed-000 seconds"]
    body = []
    for classifier in CLASSIFIERS:
        for feature in FEATURES:
            scores = entry[feature][classifier]
            row = [CLASSIFIER_NAMES[classifier], feature, fmt_percent(scores["accuracy"]),
                   fmt_seconds(scores["seconds"]), fmt_seconds(scores["total_seconds"])]
            if with_seed:
                seed = SEED000_CLASSIFIERS.get(feature, {}).get(classifier)
                row += [fmt_percent(seed[0]), fmt_seconds(seed[1])] if seed else ["", ""]
            body.append(row)
    return table(header, body)


def variants_section(rows: list[dict]) -> str:
    header = ["variant", "code", "1-NN", "3-NN", "nearest centroid", "diverged"]
    body = [[r["variant"], str(r["code_dim"]), fmt_percent(r["1nn"]), fmt_percent(r["3nn"]), fmt_percent(r["ncc"]),
             "yes" if r["diverged"] else ""] for r in rows]
    return table(header, body)


def findings(dataset: str, entry: dict, grid_rows: list[dict], variant_rows: list[dict]) -> list[str]:
    """Plain sentences read off the numbers of one dataset."""
    ae = entry["autoencoder"]
    lines = []
    for classifier in CLASSIFIERS:
        accuracy = {f: entry[f][classifier]["accuracy"] for f in FEATURES}
        top = max(accuracy.values())
        winners = [f for f in FEATURES if accuracy[f] == top]
        others = ", ".join(f"{f} {fmt_percent(accuracy[f])}" for f in FEATURES if f not in winners)
        verb = f"{winners[0]} features win" if len(winners) == 1 else f"{' and '.join(winners)} features tie"
        lines.append(f"{CLASSIFIER_NAMES[classifier]}: {verb} with {fmt_percent(top)} ({others}).")
    ae_1nn, pca_1nn = entry["ae"]["1nn"]["accuracy"], entry["pca"]["1nn"]["accuracy"]
    verdict = "beats" if ae_1nn > pca_1nn else "ties with" if ae_1nn == pca_1nn else "does not beat"
    lines.append(f"The selected autoencoder ({ae['variant']}, {ae['code_dim']}-d code) {verdict} PCA of the same "
                 f"dimension on 1-NN: {fmt_percent(ae_1nn)} against {fmt_percent(pca_1nn)}.")
    same_dim_pca = {ae["code_dim"]: pca_1nn}
    winners = [r for r in variant_rows if r["code_dim"] in same_dim_pca and r["1nn"] > same_dim_pca[r["code_dim"]]]
    if winners:
        lines.append("Grid variants whose codes beat PCA at the selected dimension on 1-NN: "
                     + ", ".join(f"{r['variant']} ({fmt_percent(r['1nn'])})" for r in winners) + ".")
    else:
        lines.append(f"No grid variant with a {ae['code_dim']}-d code beats PCA of that dimension on 1-NN.")
    grid_seconds = sum(r["seconds"] for r in grid_rows if r["variant"] in SEED002_TEST_BCE.get(dataset, {}))
    if dataset in SEED002_GRID_SECONDS and grid_seconds:
        lines.append(f"Training seed-002's grid took {fmt_seconds(grid_seconds)} s here against about "
                     f"{SEED002_GRID_SECONDS[dataset]:.0f} s in the seed "
                     f"({SEED002_GRID_SECONDS[dataset] / grid_seconds:.1f}x).")
    if dataset == "mnist":
        ours = {c: entry["raw"][c]["seconds"] for c in ("1nn", "mlp")}
        lines.append(
            f"Raw-pixel 1-NN took {fmt_seconds(ours['1nn'])} s against the seed's "
            f"{SEED000_CLASSIFIERS['raw']['1nn'][1]:.0f} s; the raw MLP {fmt_seconds(ours['mlp'])} s against "
            f"{SEED000_CLASSIFIERS['raw']['mlp'][1]:.0f} s; the selected autoencoder trained in "
            f"{fmt_seconds(ae['seconds'])} s (seed-000's took {SEED000_AUTOENCODER_SECONDS:.0f} s, on other hardware).")
    return lines


def headline_table(summary: dict) -> str:
    """Classifier x features: test accuracy and total seconds, one column pair per dataset."""
    datasets = list(summary)
    header = ["classifier", "features"] + [f"{d} {what}" for d in datasets for what in ("accuracy", "total s")]
    body = []
    for classifier in CLASSIFIERS:
        for feature in FEATURES:
            row = [CLASSIFIER_NAMES[classifier], feature]
            for dataset in datasets:
                scores = summary[dataset][feature][classifier]
                row += [fmt_percent(scores["accuracy"]), fmt_seconds(scores["total_seconds"])]
            body.append(row)
    return table(header, body)


def render_report(summary: dict, grid: dict, variants: dict, selections: dict, device: str) -> str:
    parts = [
        "# Report: autoencoder codes versus raw pixels",
        "",
        (f"Generated by the `report` stage from `metrics/summary.json`, `metrics/grid.json` and the "
         f"per-variant files. Device: {device}. Accuracies are on the official test split. The autoencoder is "
         "selected on a validation split carved out of the training split; the test split never selects "
         "anything. (The first seed chose its autoencoder by test accuracy; we do not.)"),
        "",
        "Test accuracy and total seconds (feature cost, such as autoencoder training, plus fit and predict):",
        "",
        headline_table(summary),
    ]
    for dataset, entry in summary.items():
        selection = selections[dataset]
        parts += [
            "", f"## {dataset}", "",
            (f"Selected autoencoder: **{entry['autoencoder']['variant']}** by `{selection['criterion']}` "
             f"(code {entry['autoencoder']['code_dim']}-d, test MSE {fmt(entry['autoencoder']['test_mse'])})."),
            "", "### Findings", "",
            *[f"- {line}" for line in findings(dataset, entry, grid[dataset], variants[dataset])],
            "", "### Classifiers x features", "", classifier_section(dataset, entry),
            "", "### Autoencoder grid, ranked by validation MSE", "", grid_section(dataset, grid[dataset]),
            "", "### Cheap classifiers on every variant's codes", "", variants_section(variants[dataset]),
        ]
    return "\n".join(parts) + "\n"
