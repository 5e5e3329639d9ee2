"""Stage ``classify``: one classifier on one feature set of one dataset, fitted on train, scored on test.

    python -m stages.classify --dataset mnist --features raw --classifier knn
    python -m stages.classify --dataset mnist --features ae --classifier mlp --seed 42

Classifiers: ``knn`` (one exact search of the 3 nearest neighbours serves 1-NN and 3-NN; each one's
``seconds`` counts the whole fit and search plus its own vote, what it would cost alone), ``ncc`` (nearest
class centroid), ``linear`` (the linear probe: logistic regression on standardised features), ``mlp``, and each classifier declared under ``classifiers`` in params.yaml (its score is
its name). Features: ``raw``, ``pca``, ``ae`` and each feature set declared under ``features``. The seed
selects the ``ae`` features and seeds the MLP; the other combinations do not depend on it and take none.

This stage reads no timing of an earlier stage: a file of seconds changes on every run, and a classifier
that depended on one would re-run whenever anything upstream did. ``summary`` adds each feature set's cost
to the classifier's seconds (``total_seconds``).

Writes ``data/records/classify/<dataset>/<features>-<classifier>[-seed-<seed>].json`` and the test predictions
to ``data/predictions/<dataset>/`` under the same name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from aestudy.atomic import read_npz, write_json, write_npz
from aestudy.datasets import load_prepared, prepared_path
from aestudy.errors import StudyError
from aestudy.runtime import resolve_device, stopwatch
from aestudy.study import KNN_K, depends_on_seed
from stages import params as P
from stages.cli import combination, feature_file, run_stage, stage_args

Results = tuple[dict[str, tuple[np.ndarray, float]], dict[str, Any]]  # score -> (predictions, seconds); details


def knn(params: dict, seed: int | None, f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray) -> Results:
    import torch

    from aestudy.knn import KNNClassifier

    block_size, device = P.knn_settings(params)
    P.check_knn_block(block_size, len(f_train))
    device = resolve_device(device)
    with stopwatch(device) as search:
        model = KNNClassifier(max(KNN_K.values()), block_size, str(device)).fit(f_train, y_train)
        _, neighbours = model.kneighbors(f_test)
    results = {}
    for score, k in KNN_K.items():
        with stopwatch() as vote:
            predicted = model.predict_from_neighbors(neighbours, k)
        results[score] = (predicted, search.seconds + vote.seconds)
    return results, {"device": str(device), "threads": torch.get_num_threads()}


def ncc(params: dict, seed: int | None, f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray) -> Results:
    from aestudy.ncc import NearestCentroidClassifier

    with stopwatch() as watch:
        predicted = NearestCentroidClassifier().fit(f_train, y_train).predict(f_test)
    return {"ncc": (predicted, watch.seconds)}, {"device": "cpu (numpy)"}


def linear(params: dict, seed: int | None, f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray
           ) -> Results:
    from sklearn.exceptions import ConvergenceWarning

    from aestudy.linear import LinearProbeClassifier

    settings = P.linear_settings(params)
    with stopwatch() as watch, warnings.catch_warnings():
        # Stopping at max_iter is the setting's choice (params.yaml), recorded below, not a fault to print once
        # per fit of the few-label study.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearProbeClassifier(**settings).fit(f_train, y_train)
        predicted = model.predict(f_test)
    return {"linear": (predicted, watch.seconds)}, {"device": "cpu (scikit-learn)", "n_iter": model.n_iter_,
                                                     "reached_max_iter": model.n_iter_ >= settings["max_iter"]}


def mlp(params: dict, seed: int | None, f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray) -> Results:
    import torch

    from aestudy.mlp import MLPClassifier

    settings = P.mlp_settings(params)
    P.check_mlp_fits(settings, f_train.shape[1])
    device = resolve_device(P.device(params, "classify.mlp.device"))
    with stopwatch(device) as watch:
        model = MLPClassifier(**settings, random_state=seed, device=str(device)).fit(f_train, y_train)
        predicted = model.predict(f_test)
    return {"mlp": (predicted, watch.seconds)}, {
        "device": str(device), "threads": torch.get_num_threads(), "precision": model.precision,
        "best_epoch": model.best_epoch_, "epochs_run": model.epochs_run_, "val_accuracy": model.val_accuracy_}


def declared(params: dict, name: str, f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray) -> Results:
    """A classifier declared under ``classifiers.<name>``: fitted and scored like the built-ins. Its own errors on
    the data (a ``ValueError``) are one line naming the declaration."""
    model = P.declared_estimator(params, "classifiers", name)
    with stopwatch() as watch:
        try:
            predicted = np.asarray(model.fit(f_train, y_train).predict(f_test))
        except ValueError as error:
            raise StudyError(f"params.yaml: classifiers.{name}: {type(model).__name__} failed on these features "
                             f"({error})".replace("\n", " ")) from None
    if predicted.shape != (len(f_test),):
        raise StudyError(f"params.yaml: classifiers.{name}: predict returned shape {predicted.shape}, expected "
                         f"({len(f_test)},)")
    return {name: (predicted, watch.seconds)}, {"estimator": repr(model)}


# Each classifier imports only its own module: the centroid's stages start without loading torch.
RUNNERS: dict[str, Callable[..., Results]] = {"knn": knn, "ncc": ncc, "linear": linear, "mlp": mlp}


def main() -> None:
    args = stage_args("stages.classify", __doc__, ("params", "prepared", "feature-sets", "classify-metrics",
                                                   "predictions"),
                      dataset=True, features=True, classifier=True, seed=True)
    params = P.load_params(args.params)
    P.check_combination(params, args.features, args.classifier)
    seeded = depends_on_seed(args.features, args.classifier)
    if seeded != (args.seed is not None):
        raise StudyError(f"--seed must be given {'' if seeded else 'not '}for {args.features} features under "
                         f"{args.classifier}")
    seed = P.seed_of(params, args.seed) if seeded else None
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))
    f_train, f_test = read_npz(feature_file(args.feature_sets, args.dataset, args.features, seed), "train", "test")

    if args.classifier in RUNNERS:
        results, details = RUNNERS[args.classifier](params, seed, f_train, train.labels, f_test)
    else:
        results, details = declared(params, args.classifier, f_train, train.labels, f_test)
    scores: dict[str, Any] = {}
    for score, (predicted, seconds) in results.items():
        correct = int((predicted == test.labels).sum())
        scores[score] = {"accuracy": correct / len(test.labels), "correct": correct, "n": len(test.labels),
                         "seconds": seconds}
        print(f"{args.dataset} {args.features:>3} {score:>4}{'' if seed is None else f' seed {seed}'}: "
              f"accuracy {scores[score]['accuracy']:.4f} in {seconds:.1f}s")
    name = combination(args.features, args.classifier, seed)
    write_npz(args.predictions / args.dataset / f"{name}.npz",
              **{score: predicted.astype(np.int64) for score, (predicted, _) in results.items()})
    write_json(args.classify_metrics / args.dataset / f"{name}.json",
               {"dataset": args.dataset, "features": args.features, "classifier": args.classifier, "seed": seed,
                **details, "scores": scores})


if __name__ == "__main__":
    run_stage(main)
