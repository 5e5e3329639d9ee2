"""Stage ``summary``: the headline metrics of every active dataset in ``metrics/summary.json``.

    python -m stages.summary

This is the file ``dvc exp show`` and ``dvc metrics diff`` read. Per dataset: the selected autoencoder,
then for each feature set (raw, pca, ae) and classifier (1nn, 3nn, ncc, mlp) the test accuracy, the
classifier's seconds (fit plus predict) and the total seconds (feature cost included).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stages import params as P
from stages.atomic import read_json, write_json
from stages.errors import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.summary", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=P.PARAMS_FILE)
    parser.add_argument("--classify", type=Path, default=Path("metrics/classify"))
    parser.add_argument("--out", type=Path, default=Path("metrics/summary.json"))
    args = parser.parse_args()
    datasets = P.datasets(P.load_params(args.params))
    write_json(args.out, {d: read_json(args.classify / f"{d}.json")["summary"] for d in datasets})


if __name__ == "__main__":
    run_stage(main)
