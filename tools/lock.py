"""``python -m tools.lock``: drop from dvc.lock the entries of stages that dvc.yaml no longer defines.

DVC never removes a stage's entry from dvc.lock once the stage is gone from the pipeline (a variant, a dataset
or a feature set taken out of params.yaml's lists leaves its stages' entries behind: treeverse/dvc#5293, closed
without a change), and it parses and rewrites the whole file, in its slow round-trip YAML mode, after every stage it
runs. The committed run's dvc.lock held 58 such entries beside its 106 live ones (340 KB, 191 KB without them):
recording one stage took 2.5 s there, 1.5 s without them (best of four with DVC's own ``modify_yaml``, both files
in one run; docs/performance.md), about 100 s over the study's 105 stages. ``make repro`` runs this first.

The live stages are DVC's own expansion of dvc.yaml under the current params (``dvc stage list``); the entries
kept are left exactly as DVC wrote them (its own parser and writer, round-trip), and the file is replaced
atomically. A stage taken out and later put back is restored from DVC's run-cache when nothing it depends on
changed, as any stage is: the entry held nothing the run-cache lacks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aestudy.core.io import atomic_path
from study.cli import run_stage

LOCK = Path("dvc.lock")
SHOWN = 3  # stale names a message lists


def live_stages() -> set[str]:
    """The names of the stages dvc.yaml defines under the current params, as DVC expands them."""
    from dvc.repo import Repo

    with Repo() as repo:
        return {stage.name for stage in repo.index.stages}


def prune(lock: Path, live: set[str]) -> list[str]:
    """Remove from ``lock`` every stage entry not in ``live``; the names removed, in the file's order."""
    from dvc.utils.serialize import dump_yaml, parse_yaml_for_update

    data = parse_yaml_for_update(lock.read_text(), str(lock))
    stale = [name for name in data.get("stages", {}) if name not in live]
    if stale:
        for name in stale:
            del data["stages"][name]
        with atomic_path(lock) as tmp:
            dump_yaml(tmp, data)
    return stale


def main() -> None:
    """Prune dvc.lock in the current project, saying what went."""
    argparse.ArgumentParser(prog="python -m tools.lock", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    if not LOCK.is_file():
        return
    stale = prune(LOCK, live_stages())
    if stale:
        more = f" and {len(stale) - SHOWN} more" if len(stale) > SHOWN else ""
        print(f"dvc.lock: {len(stale)} entries of stages dvc.yaml no longer defines removed "
              f"({', '.join(stale[:SHOWN])}{more})")


if __name__ == "__main__":
    run_stage(main)
