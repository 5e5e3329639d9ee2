"""Stage ``summary``: the headline metrics of every active dataset in ``metrics/summary.json``.

    python -m stages.summary

This is the file ``dvc exp show`` and ``dvc metrics diff`` read. Per dataset: the selected autoencoder,
then for each feature set (raw, pca, ae) and classifier (1nn, 3nn, ncc, mlp) the test accuracy, the
classifier's seconds (fit plus predict) and the total seconds (feature cost included).
"""

from __future__ import annotations

from stages import params as P
from stages.atomic import read_json, write_json
from stages.cli import stage_args
from stages.errors import run_stage


def main() -> None:
    args = stage_args("stages.summary", __doc__, ("params",), classify="metrics/classify",
                      out="metrics/summary.json")
    datasets = P.datasets(P.load_params(args.params))
    write_json(args.out, {d: read_json(args.classify / f"{d}.json")["summary"] for d in datasets})


if __name__ == "__main__":
    run_stage(main)
