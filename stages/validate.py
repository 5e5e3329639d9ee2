"""Stage ``validate``: the lists that shape the pipeline, checked before any other stage runs.

    python -m stages.validate

DVC expands its stage matrices from ``datasets``, ``variants`` and ``seeds`` before it runs anything, and
it silently merges duplicates (``seeds: [1, 1]`` gives one stage). This stage comes first in ``dvc.yaml``
and DVC runs stages in that order, so a bad list stops ``dvc repro`` and ``dvc exp run`` with a one-line
error that names the key, before any stage writes. It also checks each active dataset's catalogue entry and
each active variant's autoencoder (its family's keys included), and builds every declared feature set and
classifier (``features``, ``classifiers``), so that a path that does not import, an object that is not an
estimator or a bad keyword argument stops the run before anything is trained. Every other key is checked by
the stage that reads it.
"""

from __future__ import annotations

from stages import params as P
from stages.cli import run_stage, stage_args


def main() -> None:
    args = stage_args("stages.validate", __doc__, ("params",))
    params = P.load_params(args.params)
    P.seeds(params)
    for name in P.datasets(params):
        P.dataset_spec(params, name)
    for variant in P.variants(params):
        P.autoencoder_config(params, variant)
    for kind in P.DECLARED_KINDS:
        for name in P.declared(params, kind):
            P.declared_estimator(params, kind, name)


if __name__ == "__main__":
    run_stage(main)
