"""Experiments on the real pipeline: `dvc exp run` and `dvc repro` in temporary git copies of the small study, each
change re-running exactly what reads it, replicate seeds, and the same params giving the same metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import BIN, SMALL_FEATURES, lock, read, run, stages_run

pytestmark = pytest.mark.slow
SEED = 42


def test_each_setting_reruns_only_the_stages_that_read_it(reproduced: Path) -> None:
    mlp_stages = {f"classify@digits-{f}-mlp" for f in SMALL_FEATURES}
    before = lock(reproduced)
    out = run(["dvc", "exp", "run", "-S", "classifiers.mlp.draws=1"], reproduced).stdout
    assert stages_run(out) == {"validate"} | mlp_stages | {"stats@digits", "report"}
    cells = read(reproduced, "metrics/stats/digits.json")["label_budgets"][0]["cells"]["raw"]
    assert cells["mlp"]["n_draws"] == 1 and cells["knn1"]["n_draws"] == 3
    after = lock(reproduced)
    assert after["classify@digits-raw-knn"] == before["classify@digits-raw-knn"]
    assert after["classify@digits-raw-mlp"] != before["classify@digits-raw-mlp"]
    # A plotting change: the report alone (and validate, which writes the digest of the report's code).
    plots = reproduced / "aestudy/report/style.py"
    plots.write_text(plots.read_text().replace("DPI = 110", "DPI = 100"))
    assert stages_run(run(["dvc", "repro"], reproduced).stdout) == {"validate", "report"}


def test_one_variants_change_retrains_only_that_variant(reproduced: Path) -> None:
    """A variant the selection passed over: it trains again and its codes are scored again; the selected codes,
    and so every classifier, stay as they were (the features' times live apart from the features)."""
    selected = read(reproduced, f"data/codes/digits/seed-{SEED}/selection.json")["selected"]
    other = next(v for v in ("tiny-a", "tiny-b") if v != selected)
    before = lock(reproduced)
    out = run(["dvc", "exp", "run", "-S", f"conf/autoencoders/{other}.yaml:lr=0.02"], reproduced).stdout
    ran = stages_run(out)
    assert {f"train@digits-{other}-{SEED}", f"codes@digits-{SEED}", "encode@digits-ae", "stats@digits"} <= ran
    assert f"train@digits-{selected}-{SEED}" not in ran and not {s for s in ran if s.startswith("classify@")}, ran
    assert lock(reproduced)[f"train@digits-{selected}-{SEED}"] == before[f"train@digits-{selected}-{SEED}"]
    assert yaml.safe_load((reproduced / f"conf/autoencoders/{other}.yaml").read_text())["lr"] == 0.02


def test_seed_replicates_as_an_experiment(reproduced: Path) -> None:
    """A second seed, as an experiment on the small study narrowed to pixels and codes under k-NN and the MLP (the
    seed's effect is the same on every feature set and classifier): only what depends on the seed runs."""
    narrow = ["compare.features=[raw,ae]", "compare.classifiers=[knn,mlp]", "compare.pairs=[ae vs raw]"]
    settings = [f"seeds=[{SEED},7]", *narrow]
    out = run(["dvc", "exp", "run", "-n", "two-seeds", *(a for s in settings for a in ("-S", s))], reproduced).stdout
    ran = stages_run(out)
    # The new seed's autoencoders train; the first seed's are cached.
    assert {"train@digits-tiny-a-7", "train@digits-tiny-b-7", "codes@digits-7"} <= ran
    assert not {f"train@digits-tiny-a-{SEED}", f"codes@digits-{SEED}", "encode@digits-pca"} & ran
    stats = read(reproduced, "metrics/stats/digits.json")
    assert list(stats["cells"]) == ["raw", "ae"]
    assert stats["cells"]["raw"]["knn1"]["n_seeds"] == 1 and stats["cells"]["raw"]["knn1"]["std"] is None
    assert stats["cells"]["ae"]["knn1"]["n_seeds"] == 2 and stats["cells"]["raw"]["mlp"]["n_seeds"] == 2
    record = read(reproduced, "data/classify/digits/raw/mlp/record.json")
    per_seed = [record["all"][f"seed-{s}"]["mlp"]["accuracy"] for s in (SEED, 7)]
    assert stats["cells"]["raw"]["mlp"]["accuracy"] == pytest.approx(np.mean(per_seed))
    assert [row["seed"] for row in stats["comparisons"]["mlp"][0]["by_seed"]] == [SEED, 7]
    # The few-label draws of both seeds: 3 draws each.
    assert stats["label_budgets"][0]["cells"]["raw"]["knn1"]["n_draws"] == 6
    assert not (reproduced / "data/classify/digits/raw/knn/all-seed-7.npz").exists()  # seed-free: once in all


def test_same_params_same_metrics(reproduced: Path) -> None:
    def timeless(value):
        """``value`` without its times: every key holding seconds, and the times table."""
        if isinstance(value, dict):
            return {k: timeless(v) for k, v in value.items() if "seconds" not in k and k != "times"}
        return [timeless(v) for v in value] if isinstance(value, list) else value

    def numbers(project: Path) -> dict:
        """What the forced stages wrote: the training record, the UMAP features, two classifiers' records and
        predictions (the statistics are a function of these)."""
        classify = [project / f"data/classify/digits/{f}" for f in ("raw/mlp", "pca+umap/graph")]
        arrays, umap = {}, project / "data/features/pca+umap/digits"
        for path in sorted([*umap.glob("*.npz"), *(p for c in classify for p in c.glob("*.npz"))]):
            with np.load(path) as archive:
                arrays |= {f"{path.relative_to(project)}:{k}": archive[k].tolist() for k in archive.files}
        return timeless({"train": read(project, f"data/models/digits/seed-{SEED}/tiny-a/record.json"),
                         "classify": [read(project, str((c / "record.json").relative_to(project))) for c in classify],
                         "arrays": arrays})

    first = numbers(reproduced)
    # Run again, not restored from DVC's run-cache: training, UMAP (its exact neighbours), the MLP, the graph.
    # The codes too: the codes of each variant, their scores and the selection (every encode stage reads them).
    forced = [f"train@digits-tiny-a-{SEED}", f"codes@digits-{SEED}", "encode@digits-pca+umap",
              "classify@digits-raw-mlp", "classify@digits-pca+umap-graph"]
    out = run(["dvc", "repro", "--force", "--single-item", *forced], reproduced).stdout
    assert stages_run(out) == set(forced)
    assert numbers(reproduced) == first
    # What they made is byte for byte what they made before, and their seconds lie apart: no stage that reads
    # their products (the encode stages, raw pixels' and PCA's included, the classifiers on the UMAP features) is
    # out of date, only the two that sum the time.
    stale = json.loads(run(["dvc", "status", "--json"], reproduced).stdout)
    assert set(stale) == {"stats@digits", "report"}, stale


def test_a_renamed_feature_set_is_followed_by_the_headline_and_the_report(reproduced: Path) -> None:
    """The library names no params entry: `raw` renamed `pixels` in params.yaml (its entry, compare, the pairs and
    the headline, its title `pixels`), the headline, the statistics and the report speak of `pixels`, and nothing
    of `raw` is left."""
    path = reproduced / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["features"] = {("pixels" if name == "raw" else name): entry for name, entry in params["features"].items()}
    params["features"]["pixels"]["title"] = "pixels"
    params["compare"]["features"] = [("pixels" if f == "raw" else f) for f in params["compare"]["features"]]
    params["compare"]["pairs"] = [pair.replace(" vs raw", " vs pixels") for pair in params["compare"]["pairs"]]
    params["headline"]["every_label"]["features"] = [
        ("pixels" if f == "raw" else f) for f in params["headline"]["every_label"]["features"]]
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["make", "repro", f"VENV={BIN.parent}"], reproduced).stdout
    ran = stages_run(out)
    assert {"encode@digits-pixels", "classify@digits-pixels-knn", "stats@digits", "report"} <= ran
    # `make repro` dropped the stages of `raw` from dvc.lock (DVC keeps a gone stage's entry) and kept the others.
    assert "dvc.lock: 4 entries of stages dvc.yaml no longer defines removed (encode@digits-raw, " in out
    assert set(lock(reproduced)) == set(run(["dvc", "stage", "list", "--name-only"], reproduced).stdout.split())
    # Every encode stage reads the whole `features` section (a chain may name any entry): they run again, and
    # give the same rows, so that no other classify stage runs.
    assert not {s for s in ran if s.startswith(("train@", "codes@"))}, ran
    assert {s for s in ran if s.startswith("classify@")} == {f"classify@digits-pixels-{c}" for c in ("knn", "mlp", "graph")}
    headline = read(reproduced, "metrics/summary.json")["digits"]["every_label"]
    assert set(headline["knn1"]) == {"pixels", "pca", "ae"}
    stats = read(reproduced, "metrics/stats/digits.json")
    assert list(stats["cells"])[:1] == ["pixels"] and "raw" not in stats["cells"]
    assert ("ae", "pixels") in [(r["a"], r["b"]) for r in stats["comparisons"]["knn1"]]
    report = (reproduced / "metrics/report.md").read_text()
    assert "| pixels |" in report and "| raw pixels |" not in report
