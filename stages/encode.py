"""Stage ``encode``: one feature set of one dataset, fitted on the training images without their labels.

    python -m stages.encode --dataset=mnist --features=ae+umap

The feature set is an entry of ``features`` in params.yaml, and with it every entry its ``input`` names, in
turn: ``ae+umap`` is UMAP fitted on the codes of ``ae``. A step with ``variant`` takes a trained autoencoder's
codes (``selected``: the variant ``codes`` chose for the seed); any other step is fitted on the training rows
(pixel values 0..255 for the first step, the previous step's features after it) and maps the test rows with
the fitted transform: no test image is ever in a fit. ``n_components: code`` is the size of the code selected
under the first seed, so that PCA and the codes compare at one size.

A feature set runs once per replicate seed when one of its steps depends on the seed (a trained autoencoder, or
an estimator whose ``random_state`` takes it), and once otherwise. Writes ``data/features/<features>/<dataset>/``
(``all.npz`` or ``seed-<seed>.npz``: ``train`` and ``test`` features, float32) and, apart from them,
``data/records/encode/<dataset>/<features>.json`` (each run's width and cost: the seconds of every fitted step's
fit and transform, and for codes the variant they came from, whose training and encoding seconds the statistics
add from the seconds train and codes recorded; with a classifier's own, the total a user pays). Apart, so that
the classifiers, which read the features only, do not run again when only the times of a re-run changed.
"""

from __future__ import annotations

from aestudy.core.errors import StudyError, shown
from aestudy.core.io import read_json, read_npz, write_json, write_npz
from aestudy.data.datasets import flat, load_prepared
from aestudy.features.chain import fit_step
from study import conf, layout, params_yaml
from study.catalogue import CODE_WIDTH, SELECTED
from study.cli import run_stage, stage_args, wall_seconds
from study.design import read_design
from study.records import EncodeRecord, EncodeRun, EncodeStep


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.encode", __doc__, ("params", "prepared", "codes", "feature-sets", "encoded"),
                      names=("dataset", "features"))
    params = params_yaml.load_params(args.params)
    design = read_design(params)
    if args.features not in design.active_features:
        raise StudyError(f"--features {args.features}: not one of compare.features ({', '.join(design.active_features)})")
    seeds = params_yaml.seeds(params)
    device = params_yaml.device(params)  # resolved by the estimators that take one: the others never load torch
    context = {CODE_WIDTH: read_json(layout.selection(args.codes, args.dataset, seeds[0]))["code_dim"]}
    train, test = load_prepared(layout.prepared(args.prepared, args.dataset))
    chain = design.features.chain(args.features)
    runs = {}
    for seed in seeds if design.features.seeded(args.features) else [None]:
        x_train, x_test = flat(train.images), flat(test.images)
        steps: list[EncodeStep] = []
        for step in chain:
            if "variant" in step.extras:
                variant = step.extras["variant"]
                if variant == SELECTED:
                    variant = read_json(layout.selection(args.codes, args.dataset, seed))["selected"]
                elif variant not in conf.variants(params):
                    raise StudyError(f"{step.key}.variant names {shown(variant)}, which is not in variants")
                x_train, x_test = read_npz(layout.codes_file(args.codes, args.dataset, seed, variant), "train", "test")
                steps.append(EncodeStep(step.name, variant=variant))
                continue
            transformer = step.build(seed=seed, device=device, context=context)
            x_train, x_test, spent = fit_step(f"{step.key} on {args.dataset}", transformer, x_train, x_test)
            steps.append(EncodeStep(step.name, estimator=repr(transformer), seconds=spent))
        name = layout.run_name(seed)
        write_npz(layout.feature_file(args.feature_sets, args.dataset, args.features, seed), train=x_train, test=x_test)
        runs[name] = EncodeRun(seed, int(x_train.shape[1]), tuple(steps))
        print(f"{args.dataset} {args.features}{'' if seed is None else f' seed {seed}'}: {x_train.shape[1]}-d "
              f"features in {runs[name].seconds:.2f}s")
    write_json(layout.encode_record(args.encoded, args.dataset, args.features), EncodeRecord(
        args.dataset, args.features, tuple(step.name for step in chain), runs, wall_seconds()).to_json())


if __name__ == "__main__":
    run_stage(main)
