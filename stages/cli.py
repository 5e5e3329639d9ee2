"""What every stage shares at its boundary: the command line, the DVC layout's paths, one-line errors.

A stage names the paths it reads and writes; each becomes a ``--flag`` whose default is where ``dvc.yaml``
puts that file, so ``python -m stages.<name>`` with no path flags runs the stage as DVC does, and tests can
point it elsewhere.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from aestudy.errors import StudyError
from aestudy.study import check_name, depends_on_seed

# Paths more than one stage reads, under the names of their flags.
SHARED_PATHS = {
    "params": Path("params.yaml"),
    "prepared": Path("data/prepared"),
    "models": Path("data/models"),
    "codes": Path("data/codes"),
    "feature-sets": Path("data/features"),
    "predictions": Path("data/predictions"),
    "variant-predictions": Path("data/variant-predictions"),
    # Each stage's own record: DVC-cached like the arrays, so that DVC's run-cache can restore any stage
    # (it skips a stage with an uncached output). metrics/ holds the committed results built from them.
    "train-metrics": Path("data/records/train"),
    "curves": Path("data/records/curves"),
    "code-metrics": Path("data/records/codes"),
    "variant-metrics": Path("data/records/variants"),
    "selection": Path("data/records/select"),
    "feature-metrics": Path("data/records/features"),
    "classify-metrics": Path("data/records/classify"),
    "stats": Path("metrics/stats"),
}


# The arguments that name things: each becomes part of paths, so each is checked against the study's NAME.
NAMED_ARGS = ("dataset", "variant", "features", "classifier")


def seed_dir(seed: int) -> str:
    """The folder of one replicate seed's products: ``seed-42``."""
    return f"seed-{seed}"


def combination(features: str, classifier: str, seed: int | None) -> str:
    """The file name (no suffix) of one (features, classifier) result: ``raw-knn``, ``ae-mlp-seed-42``."""
    return f"{features}-{classifier}" + (f"-{seed_dir(seed)}" if depends_on_seed(features, classifier) else "")


def feature_file(features_dir: Path, dataset: str, features: str, seed: int | None) -> Path:
    """raw, pca and declared features do not depend on the seed; ae features live in their seed's folder."""
    folder = features_dir / dataset
    return (folder / seed_dir(seed) if features == "ae" else folder) / f"{features}.npz"


def stage_args(module: str, doc: str | None, shared: tuple[str, ...] = (), *, dataset: bool = False,
               variant: bool = False, seed: bool = False, features: bool = False, classifier: bool = False,
               classifiers: bool = False, **own: str) -> argparse.Namespace:
    """Parse ``sys.argv`` for ``python -m <module>``.

    ``shared`` names entries of ``SHARED_PATHS``; ``own`` gives the stage's other paths as
    ``name="default"``, with ``_`` in the name written ``-`` on the command line. The names given (dataset,
    variant, features, classifier) are checked here, before any path is built from them: call it inside
    ``run_stage``.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    if dataset:
        parser.add_argument("--dataset", required=True, help="mnist, fashion-mnist or digits")
    if variant:
        parser.add_argument("--variant", required=True, help="a key of autoencoders in params.yaml")
    if seed:
        parser.add_argument("--seed", type=int, help="a replicate seed, one of the seeds param")
    if features:
        parser.add_argument("--features", required=True, help="raw, pca, ae or a key of features in params.yaml")
    if classifier:
        parser.add_argument("--classifier", required=True,
                            help="knn, ncc, linear, mlp or a key of classifiers in params.yaml")
    if classifiers:
        parser.add_argument("--classifier", required=True, nargs="+", help="one or more of knn, ncc, linear, mlp")
    paths = {name: SHARED_PATHS[name] for name in shared} | {name.replace("_", "-"): Path(p) for name, p in own.items()}
    for name, default in paths.items():
        parser.add_argument(f"--{name}", type=Path, default=default, help="(default: %(default)s)")
    args = parser.parse_args()
    for name in NAMED_ARGS:
        value = getattr(args, name, None)
        for one in value if isinstance(value, list) else [] if value is None else [value]:
            check_name(one, f"--{name}")
    return args


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a ``StudyError`` becomes one line on stderr and exit status 2."""
    try:
        main()
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
