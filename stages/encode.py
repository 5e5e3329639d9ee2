"""Stage ``encode``: one feature set of one dataset, for the classifiers.

    python -m stages.encode --dataset mnist --features raw
    python -m stages.encode --dataset mnist --features pca
    python -m stages.encode --dataset mnist --features ae --seed 42

- ``raw``: the pixels / 255. It does not depend on the seed.
- ``pca``: PCA fitted on the training pixels, of the dimension of the code that ``select`` chose under the
  first replicate seed (PCA does not depend on the seed otherwise, so its classifiers run once).
- ``ae``: the codes of the autoencoder that ``select`` chose under ``--seed``, as the ``codes`` stage wrote
  them (the same codes the per-variant table scores);
- a feature set declared under ``features`` in params.yaml: the declared transformer, fitted on the training
  images (rows of pixel values 0..255) without their labels, as a user with unlabelled images would.

Writes the training and test features to ``data/features/<dataset>/<features>.npz`` (``ae``: under
``seed-<seed>/``) and their cost to ``data/records/features/...json``: ``seconds`` is what the feature set cost
to make (fit plus transform; for ``ae``, the autoencoder's training plus its encoding), the cost that a
classifier's ``total_seconds`` adds to its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aestudy.atomic import read_json, read_npz, write_json, write_npz
from aestudy.datasets import flat, load_prepared, prepared_path
from aestudy.errors import StudyError
from aestudy.features import PCAFeatures, RawPixels
from aestudy.runtime import stopwatch
from stages import params as P
from stages.cli import feature_file, run_stage, seed_dir, stage_args


def features_array(features, n_samples: int, name: str) -> np.ndarray:
    """A transformer's output as the classifiers take it: (n_samples, D) finite float32."""
    if hasattr(features, "toarray"):  # scipy.sparse
        features = features.toarray()
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) != n_samples or not np.isfinite(features).all():
        raise StudyError(f"features.{name}: transform must return ({n_samples}, D) finite numbers, "
                         f"got shape {features.shape}")
    return features


def main() -> None:
    args = stage_args("stages.encode", __doc__, ("params", "prepared", "codes", "feature-sets", "train-metrics",
                                                 "code-metrics", "selection", "feature-metrics"),
                      dataset=True, features=True, seed=True)
    params = P.load_params(args.params)
    P.check_combination(params, args.features)
    if (args.seed is None) == (args.features == "ae"):
        raise StudyError("--seed is for --features ae, and only for it: the other features do not depend on the seed")
    if args.features in ("pca", "ae"):
        seed = P.seed_of(params, args.seed) if args.features == "ae" else P.seeds(params)[0]
        selection = read_json(args.selection / args.dataset / f"{seed_dir(seed)}.json")
    facts = {"dataset": args.dataset, "features": args.features}

    if args.features == "ae":
        where = Path(args.dataset) / seed_dir(seed)
        variant = selection["selected"]
        train_codes, test_codes = read_npz(args.codes / where / f"{variant}.npz", "train", "test")
        trained = read_json(args.train_metrics / where / f"{variant}.json")
        encoded = read_json(args.code_metrics / where / f"{variant}.json")
        facts |= {"seed": seed, "variant": variant, "dim": int(train_codes.shape[1]),
                  "training_seconds": trained["seconds"], "encode_seconds": encoded["encode_seconds"],
                  "seconds": trained["seconds"] + encoded["encode_seconds"]}
    else:
        train, test = load_prepared(prepared_path(args.prepared, args.dataset))
        if args.features in ("raw", "pca"):
            transformer = RawPixels() if args.features == "raw" else PCAFeatures(selection["code_dim"])
        else:
            transformer = P.declared_estimator(params, "features", args.features)
            facts["estimator"] = repr(transformer)
        with stopwatch() as watch:
            try:
                train_codes = transformer.fit_transform(flat(train.images))
                test_codes = transformer.transform(flat(test.images))
            except ValueError as error:
                raise StudyError(f"{args.features} features of {args.dataset}: {type(transformer).__name__} failed "
                                 f"({error})".replace("\n", " ")) from None
        train_codes, test_codes = (features_array(codes, n, args.features)
                                   for codes, n in ((train_codes, len(train.labels)), (test_codes, len(test.labels))))
        facts |= {"dim": int(train_codes.shape[1]), "seconds": watch.seconds}
        if args.features == "pca":
            facts |= {"seed": seed, "follows": selection["selected"],
                      "explained_variance": float(transformer.explained_variance_.sum())}

    out = feature_file(args.feature_sets, args.dataset, args.features, args.seed)
    write_npz(out, train=train_codes, test=test_codes)
    write_json(feature_file(args.feature_metrics, args.dataset, args.features, args.seed).with_suffix(".json"), facts)
    print(f"{args.dataset} {args.features}: {facts['dim']}-d features in {facts['seconds']:.2f}s")


if __name__ == "__main__":
    run_stage(main)
