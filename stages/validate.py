"""Stage ``validate``: the lists that shape the pipeline, checked before any other stage runs.

    python -m stages.validate

DVC expands its stage matrices from ``datasets``, ``variants`` and ``seeds`` before it runs anything, and
it silently merges duplicates (``seeds: [1, 1]`` gives one stage). Those names also become part of the
command lines DVC runs through a shell, so each must be letters, digits, ``_`` and ``-``. Every other stage
depends on this stage's record (``data/records/validated.json``), so ``dvc repro``, ``dvc exp run`` and a
targeted ``dvc repro <stage>`` all run it first: a bad params.yaml stops them with a one-line error naming
the key, before any other stage's command runs or writes.

Checked here: every key of params.yaml is one the study knows; the seeds; every catalogue entry and every
autoencoder (its family's keys included), and that each active variant's training fits in this machine's
memory on each active dataset; every declared feature set and classifier is built (``features``,
``classifiers``), so that a path that does not import, an object that is not an estimator or a bad keyword
argument stops the run before anything is trained; the few-label study's budgets and draws, and the linear
probe's settings. The values of the other sections are checked by the stages that read them.

The record's content is constant: a params change re-runs this stage but, by itself, nothing downstream.
"""

from __future__ import annotations

from aestudy.atomic import write_json
from stages import params as P
from stages.cli import run_stage, stage_args


def main() -> None:
    args = stage_args("stages.validate", __doc__, ("params",), record="data/records/validated.json")
    params = P.load_params(args.params)
    P.check_known_keys(params)
    P.seeds(params)
    specs = {name: P.dataset_spec(params, name) for name in P.catalogue_names(params)}
    active = [specs[name] for name in P.datasets(params)]
    variants = P.variants(params)
    for variant in P.all_variants(params):
        config = P.autoencoder_config(params, variant)
        if variant in variants:
            for spec in active:
                P.check_fits(config, variant, spec.name, spec.image_shape)
    P.label_budgets(params)
    P.label_draws(params, "mlp_draws")
    P.linear_settings(params)
    for kind in P.DECLARED_KINDS:
        for name in P.declared(params, kind):
            P.declared_estimator(params, kind, name)
    write_json(args.record, {"validated": "params.yaml"})


if __name__ == "__main__":
    run_stage(main)
