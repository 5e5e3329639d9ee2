"""Stage ``budgets``: classifiers fitted on few labels, on one feature set of one dataset, for one replicate seed.

    python -m stages.budgets --dataset mnist --features raw --seed 42 --classifier knn ncc linear
    python -m stages.budgets --dataset mnist --features ae --seed 42 --classifier mlp

For each budget of ``classify.label_budgets.labels_per_class`` and each label draw, each classifier is fitted on
the draw's labelled set (``stages.labels``) and predicts the whole test split. The features were fitted on every
training image without its label (``encode``); the labels a fit sees, for training and for the MLP's early
stopping, are the labelled set's and no others: this stage reads no label of the training split but those.
k-NN, the centroid and the linear probe fit every draw; the MLP the first ``mlp_draws``, seeded with the draw.

Writes ``data/budget-predictions/<dataset>/seed-<seed>/<features>-<classifier>.npz`` (``<score>-<k>``: a row of
test predictions per draw) and ``data/records/budgets/`` under the same name (seconds per fit).
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from aestudy.atomic import read_npz, write_json, write_npz
from aestudy.budgets import draw_seed
from aestudy.datasets import prepared_path
from aestudy.errors import StudyError
from stages import params as P
from stages.classify import RUNNERS
from stages.cli import feature_file, run_stage, seed_dir, stage_args


def main() -> None:
    args = stage_args("stages.budgets", __doc__, ("params", "prepared", "feature-sets"), dataset=True, seed=True,
                      features=True, classifiers=True, labelled="data/labelled",
                      budget_predictions="data/budget-predictions", budget_metrics="data/records/budgets")
    params = P.load_params(args.params)
    seed = P.seed_of(params, args.seed)
    if args.features not in ("raw", "pca", "ae"):
        raise StudyError(f"--features {args.features}: the few-label study runs on raw, pca and ae")
    unknown = [c for c in args.classifier if c not in RUNNERS]
    if unknown:
        raise StudyError(f"--classifier {' '.join(unknown)}: the few-label study runs {', '.join(RUNNERS)}")
    budgets, _ = P.label_budgets(params)
    f_train, f_test = read_npz(feature_file(args.feature_sets, args.dataset, args.features, seed), "train", "test")
    (test_labels,) = read_npz(prepared_path(args.prepared, args.dataset), "test_labels")
    labelled = args.labelled / args.dataset / f"{seed_dir(seed)}.npz"
    sets = {k: read_npz(labelled, f"indices-{k}", f"labels-{k}") for k in budgets}
    where = f"{args.dataset}/{seed_dir(seed)}/{args.features}"
    outputs = {}  # written when every classifier has run: a failure leaves nothing behind
    for classifier in args.classifier:
        n_draws = P.label_draws(params, "mlp_draws" if classifier == "mlp" else "draws")
        if any(len(indices) < n_draws for indices, _ in sets.values()):
            raise StudyError(f"{labelled}: holds fewer than {n_draws} draws; run the labels stage first (dvc repro)")
        predictions: dict[str, list[np.ndarray]] = {}
        records = []
        with tqdm(total=len(budgets) * n_draws, desc=f"{where} {classifier}", unit="fit", mininterval=2.0) as bar:
            for k, (indices, labels) in sets.items():
                seconds = []
                for draw in range(n_draws):
                    results, _ = RUNNERS[classifier](params, draw_seed(seed, draw), f_train[indices[draw]],
                                                     labels[draw], f_test)
                    for score, (predicted, _) in results.items():
                        predictions.setdefault(f"{score}-{k}", []).append(predicted.astype(np.int64))
                    seconds.append(max(s for _, s in results.values()))
                    bar.update()
                accuracy = {score: float(np.mean(np.stack(predictions[f"{score}-{k}"]) == test_labels))
                            for score in results}
                records.append({"labels_per_class": k, "n_labelled": int(indices.shape[1]), "draws": n_draws,
                                "seconds": seconds})
                tqdm.write(f"{where} {k:>5} per class: " + ", ".join(f"{s} {a:.4f}" for s, a in accuracy.items())
                           + f" (mean of {n_draws} draws, {sum(seconds):.1f}s)")
        outputs[classifier] = ({key: np.stack(rows) for key, rows in predictions.items()}, records)
    for classifier, (predictions, records) in outputs.items():
        name = f"{args.dataset}/{seed_dir(seed)}/{args.features}-{classifier}"
        write_npz(args.budget_predictions / f"{name}.npz", **predictions)
        write_json(args.budget_metrics / f"{name}.json", {"dataset": args.dataset, "features": args.features,
                                                          "classifier": classifier, "seed": seed, "budgets": records})


if __name__ == "__main__":
    run_stage(main)
