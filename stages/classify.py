"""Stage ``classify``: every classifier on every feature set of one dataset, fitted on train, scored on test.

    python -m stages.classify --dataset mnist

Feature sets: ``raw`` pixels, ``pca`` of the selected code's dimension, and ``ae``, the selected
autoencoder's codes. Classifiers: 1-NN, 3-NN, nearest class centroid, MLP. 1-NN and 3-NN share one exact
neighbour search; each one's ``seconds`` counts that whole search plus its own vote, what it would cost
alone. ``total_seconds`` adds the feature cost: autoencoder training plus encoding for ``ae``, PCA fit
plus transform for ``pca``, nothing for ``raw``.

Also scores 1-NN, 3-NN and nearest centroid on the codes of every variant of the active grid.
Writes ``metrics/classify/<dataset>.json``, ``metrics/variants/<dataset>.json`` and the test predictions
to ``data/predictions/<dataset>.npz``.
"""

from __future__ import annotations

import numpy as np
import torch

from stages import params as P
from stages.atomic import read_json, write_json, write_npz
from stages.autoencoder import load_model
from stages.classifiers import KNNClassifier, MLPClassifier, NearestCentroidClassifier
from stages.cli import stage_args
from stages.datasets import Split, load_prepared, prepared_path
from stages.errors import run_stage
from stages.features import AutoencoderFeatures, PCAFeatures, RawPixels
from stages.runtime import resolve_device, stopwatch

KNN_KS = {"1nn": 1, "3nn": 3}


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float((predicted == labels).mean())


def extract_features(transformer, train: Split, test: Split, device) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit on the training images, transform both splits; returns the seconds this took."""
    with stopwatch(device) as watch:
        transformer.fit(train.images)
        features = transformer.transform(train.images), transformer.transform(test.images)
    return *features, watch.seconds


def knn_scores(f_train: np.ndarray, f_test: np.ndarray, y_train: np.ndarray, block_size: int,
               device) -> dict[str, tuple[np.ndarray, float]]:
    """1-NN and 3-NN from one search of the 3 nearest neighbours: predictions and seconds of each."""
    with stopwatch(device) as search:
        knn = KNNClassifier(max(KNN_KS.values()), block_size, device).fit(f_train, y_train)
        _, neighbours = knn.kneighbors(f_test)
    results = {}
    for name, k in KNN_KS.items():
        with stopwatch() as vote:
            predicted = knn.predict_from_neighbors(neighbours, k)
        results[name] = (predicted, search.seconds + vote.seconds)
    return results


def fit_predict(classifier, f_train: np.ndarray, f_test: np.ndarray, y_train: np.ndarray,
                device) -> tuple[np.ndarray, float]:
    with stopwatch(device) as watch:
        predicted = classifier.fit(f_train, y_train).predict(f_test)
    return predicted, watch.seconds


def score_features(f_train: np.ndarray, f_test: np.ndarray, y_train: np.ndarray, block_size: int, device,
                   mlp: MLPClassifier | None) -> dict[str, tuple[np.ndarray, float]]:
    """Predictions and seconds of every classifier on one feature set (the MLP only if given)."""
    results = knn_scores(f_train, f_test, y_train, block_size, device)
    results["ncc"] = fit_predict(NearestCentroidClassifier(), f_train, f_test, y_train, device)
    if mlp is not None:
        results["mlp"] = fit_predict(mlp, f_train, f_test, y_train, device)
    return results


def main() -> None:
    args = stage_args("stages.classify", __doc__,
                      ("params", "prepared", "models", "train-metrics", "selection", "predictions"),
                      dataset=True, out="metrics")
    params = P.load_params(args.params)
    P.datasets({"datasets": [args.dataset]})
    seed = P.seed(params)
    device = resolve_device(P.device(params, "classify.device"))
    block_size = P.as_int(P.require(params, "classify.knn_block_size"), "classify.knn_block_size")
    mlp_config = P.mlp_config(params)
    variants = P.variants(params)
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))
    selection = read_json(args.selection / f"{args.dataset}.json")
    selected = selection["selected"]
    train_metrics = {v: read_json(args.train_metrics / args.dataset / f"{v}.json") for v in variants}
    models = {v: load_model(args.models / args.dataset / f"{v}.pt")[0] for v in variants}
    code_dim = train_metrics[selected]["code_dim"]

    feature_sets = {
        "raw": (RawPixels(), 0.0),
        "pca": (PCAFeatures(code_dim), 0.0),
        "ae": (AutoencoderFeatures(models[selected], device), train_metrics[selected]["seconds"]),
    }
    summary: dict = {
        "autoencoder": {key: train_metrics[selected][key] for key in ("variant", "code_dim", "val_mse", "test_mse",
                                                                      "seconds")},
    }
    details: dict = {"dataset": args.dataset, "selected": selected, "criterion": selection["criterion"],
                     "device": str(device), "threads": torch.get_num_threads(), "feature_seconds": {}}
    predictions: dict[str, np.ndarray] = {"labels": test.labels}
    for feature_name, (transformer, prior_seconds) in feature_sets.items():
        f_train, f_test, seconds = extract_features(transformer, train, test, device)
        feature_seconds = prior_seconds + (seconds if feature_name != "raw" else 0.0)
        details["feature_seconds"][feature_name] = feature_seconds
        mlp = MLPClassifier(mlp_config, seed, device)
        summary[feature_name] = {}
        for classifier, (predicted, clf_seconds) in score_features(
                f_train, f_test, train.labels, block_size, device, mlp).items():
            summary[feature_name][classifier] = {
                "accuracy": accuracy(predicted, test.labels),
                "seconds": clf_seconds,
                "total_seconds": feature_seconds + clf_seconds,
            }
            predictions[f"{feature_name}__{classifier}"] = predicted
            print(f"{args.dataset} {feature_name:>3} {classifier:>4}: "
                  f"accuracy {summary[feature_name][classifier]['accuracy']:.4f} in {clf_seconds:.1f}s")

    per_variant = []
    for variant in variants:
        transformer = AutoencoderFeatures(models[variant], device)
        f_train, f_test, _ = extract_features(transformer, train, test, device)
        scores = score_features(f_train, f_test, train.labels, block_size, device, mlp=None)
        per_variant.append({"variant": variant, "code_dim": train_metrics[variant]["code_dim"],
                            "diverged": train_metrics[variant]["diverged"],
                            **{name: accuracy(pred, test.labels) for name, (pred, _) in scores.items()}})
    write_npz(args.predictions / f"{args.dataset}.npz", **predictions)
    write_json(args.out / "variants" / f"{args.dataset}.json", {"dataset": args.dataset, "variants": per_variant})
    write_json(args.out / "classify" / f"{args.dataset}.json", {**details, "summary": summary})


if __name__ == "__main__":
    run_stage(main)
