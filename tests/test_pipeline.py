"""The real pipeline: `dvc repro` and `dvc exp run` in a temporary git copy of the project, on digits."""

from __future__ import annotations

import ast
import gzip
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from study.records import ClassifyRecord, CodesRecord, EncodeRecord, TrainRecord
from tests.conftest import BIN, ROOT, SMALL_CLASSIFIERS, SMALL_FEATURES, SMALL_SCORES, read, run, set_params, stages_run

pytestmark = pytest.mark.slow
SEED = 42  # the default replicate seed, which the small study keeps


def test_repro_writes_every_output(reproduced_once: Path) -> None:
    project = reproduced_once
    summary = read(project, "metrics/summary.json")
    assert list(summary) == ["digits"]
    headline = summary["digits"]
    assert set(headline["every_label"]["knn1"]) == {"raw", "pca", "ae"}
    assert headline["every_label"]["knn1"]["raw"]["accuracy"] > 85  # percent: 8x8 digits are easy for 1-NN
    # The codes' one-off cost (the autoencoders' training) dwarfs raw pixels'; a fit's own seconds are there too.
    knn1 = headline["every_label"]["knn1"]
    assert knn1["ae"]["one_off_seconds"] > knn1["raw"]["one_off_seconds"] >= 0 and knn1["raw"]["fit_seconds"] > 0
    verdict = headline["every_label"]["ae vs pca"]  # numbers DVC compares: A - B and its interval, in points
    assert verdict["ci_low"] <= verdict["difference"] <= verdict["ci_high"]
    assert all(isinstance(v, (int, float)) for v in pd.json_normalize(summary).iloc[0])
    assert set(headline["2_per_class"]["spreading"]) == {"pca+umap", "ae+umap"}
    # The grid's results and the stage kinds' seconds: metrics files too.
    grid = read(project, f"metrics/grid/digits/seed-{SEED}.json")
    assert set(grid) == {"tiny-a", "tiny-b"} and grid["tiny-a"]["diverged"] in (0, 1)
    assert {"val_mse", "val_bce", "test_mse", "test_bce", "best_epoch", "epochs_run", "seconds"} <= set(grid["tiny-b"])
    times = read(project, "metrics/times.json")
    assert {k: t["stages"] for k, t in times.items()} == {"extract": 1, "labels": 1, "train": 2, "codes": 1,
                                                           "encode": 5, "classify": 15, "stats": 1, "report": 1,
                                                           "total": 27}
    assert times["total"]["seconds"] >= times["classify"]["seconds"] > 0
    # Every fit one row of a tidy table: pandas reads the whole study.
    fits = pd.read_csv(project / "metrics/fits/digits.csv")
    assert list(fits.columns) == ["dataset", "features", "classifier", "score", "labels_per_class", "seed", "draw",
                                  "accuracy", "seconds"]
    few = fits[fits.labels_per_class == "2"]
    assert len(few) == len(SMALL_FEATURES) * (2 * 3 + 2 + 4 * 3)  # knn: 2 scores x 3 draws; mlp: 2 draws; graph 4 x 3
    mean = few[(few.features == "raw") & (few.score == "knn1")].accuracy.mean()
    assert mean == pytest.approx(stats_cell(project, 2, "raw", "knn1"))
    stats = read(project, "metrics/stats/digits.json")
    assert list(stats["cells"]) == SMALL_FEATURES
    assert all(list(cells) == SMALL_SCORES for cells in stats["cells"].values())
    for cells in stats["cells"].values():
        for cell in cells.values():
            assert cell["ci95"][0] <= cell["accuracy"] <= cell["ci95"][1]
    assert [(r["a"], r["b"]) for r in stats["comparisons"]["knn1"]] == [
        ("ae", "raw"), ("ae", "pca"), ("pca", "raw"), ("ae+umap", "pca+umap"), ("ae+umap", "ae")]
    assert [(r["a"], r["b"]) for r in stats["score_comparisons"]["ae+umap"]] == [
        ("spreading", "knn1"), ("poisson", "knn1"), ("poisson-priors", "poisson"), ("poisson-mbo", "poisson")]
    assert [b["labels_per_class"] for b in stats["label_budgets"]] == [2, 8, "all"]
    assert stats["times"]["ae"]["mlp"]["total_seconds"] > stats["times"]["ae"]["mlp"]["seconds"] > 0
    assert [v["variant"] for v in stats["variants"]] == ["tiny-a", "tiny-b"]
    # One folder per (dataset, features, classifier): its predictions at every budget and its record.
    for features in SMALL_FEATURES:
        for classifier in SMALL_CLASSIFIERS:
            folder = project / "data/classify/digits" / features / classifier
            record = read(project, str(folder.relative_to(project) / "record.json"))
            assert record["scores"] and set(record["budgets"][f"seed-{SEED}"]) == {"2", "8"}
            assert (folder / f"budgets-seed-{SEED}.npz").is_file()
            assert len(list(folder.glob("all*.npz"))) == 1
    # A seed-free combination runs once, a seeded one per seed.
    assert (project / "data/classify/digits/raw/knn/all.npz").is_file()
    assert (project / f"data/classify/digits/raw/mlp/all-seed-{SEED}.npz").is_file()
    assert (project / f"data/classify/digits/ae/knn/all-seed-{SEED}.npz").is_file()
    train = read(project, f"data/models/digits/seed-{SEED}/tiny-a/record.json")
    for key in ("train_mse", "val_mse", "test_mse", "test_bce", "best_epoch", "epochs_run", "diverged", "collapsed",
                "parameters", "code_dim", "device", "seed"):
        assert key in train
    # No clock in what train, codes and labels make (a stage reading it would re-run when only the time moved):
    # their seconds lie apart, where only stats and report read them.
    assert not [key for key in train if "seconds" in key]
    assert read(project, f"data/records/seconds/train/digits/seed-{SEED}/tiny-a.json")["seconds"] > 0
    assert set(read(project, f"data/records/seconds/codes/digits/seed-{SEED}.json")["variants"]) == {"tiny-a", "tiny-b"}
    codes = read(project, f"data/codes/digits/seed-{SEED}/records/tiny-b.json")
    assert 0 < codes["knn1_val"] <= 1 and codes["trained"]["variant"] == "tiny-b"
    with np.load(project / "data/features/pca/digits/all.npz") as pca:
        assert pca["train"].shape == (1500, read(project, f"data/codes/digits/seed-{SEED}/selection.json")["code_dim"])
    report = (project / "metrics/report.md").read_text()
    assert "## digits (scikit-learn)" in report and "### With few labels" in report
    figures = sorted(p.relative_to(project / "metrics") for p in (project / "metrics/figures").rglob("*.png"))
    assert len(figures) == 8  # six per dataset, two across datasets
    for figure in figures:  # every figure is linked from the report, with a caption on the line after the next
        assert f"]({figure})" in report, figure
    # Nothing is out of date after one repro, and a second one runs no stage.
    assert run(["dvc", "status"], project).stdout.strip() == "Data and pipelines are up to date."
    assert stages_run(run(["dvc", "repro"], project).stdout) == set()


def stats_cell(project: Path, labels_per_class: int, features: str, score: str) -> float:
    """A cell's accuracy at a label budget in the statistics."""
    stats = read(project, "metrics/stats/digits.json")
    (budget,) = [b for b in stats["label_budgets"] if b["labels_per_class"] == labels_per_class]
    return budget["cells"][features][score]["accuracy"]


@pytest.mark.parametrize(("pattern", "record_type"), [
    ("data/models/digits/*/*/record.json", TrainRecord), ("data/codes/digits/*/records/*.json", CodesRecord),
    ("data/records/encode/digits/*.json", EncodeRecord), ("data/classify/digits/*/*/record.json", ClassifyRecord)])
def test_every_stage_record_reads_back_typed(reproduced_once: Path, pattern: str, record_type: type) -> None:
    """Each record a stage wrote is its typed record's JSON, key for key and in order: the stages below read it by
    attribute (study/records.py), and a field renamed on one side fails here."""
    paths = sorted(reproduced_once.glob(pattern))
    assert paths
    for path in paths:
        written = json.loads(path.read_text())
        assert json.dumps(record_type.from_json(written).to_json()) == json.dumps(written), path
    if record_type is ClassifyRecord:  # the draws recorded are the rows of predictions stats reads
        record = ClassifyRecord.from_json(json.loads(paths[0].read_text()))
        drawn = record.budget(SEED, 2, record.scores[0])
        with np.load(paths[0].parent / f"budgets-seed-{SEED}.npz") as predictions:
            assert drawn.draws == len(predictions[f"{record.scores[0]}-2"]) > 1


def test_a_classify_stage_reads_its_own_entry_alone(reproduced_once: Path, tmp_path: Path) -> None:
    """A bad pair or another classifier's bad entry stops validate, not a classify stage that uses neither (its
    DVC params are its own entry): the stage gives the committed predictions."""
    params = yaml.safe_load((reproduced_once / "params.yaml").read_text())
    params["compare"]["pairs"].append("ae vs nothing")
    params["classifiers"]["broken"] = {"_target_": 12}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    bad = f"--params={tmp_path / 'params.yaml'}"
    run(["python", "-m", "stages.classify", "--dataset=digits", "--features=pca", "--classifier=knn", bad,
         f"--classified={tmp_path / 'classify'}", f"--live={tmp_path / 'live'}"], reproduced_once)
    for name in ("all.npz", f"budgets-seed-{SEED}.npz"):
        with np.load(tmp_path / "classify/digits/pca/knn" / name) as ours, \
                np.load(reproduced_once / "data/classify/digits/pca/knn" / name) as committed:
            assert sorted(ours) == sorted(committed) and all(np.array_equal(ours[k], committed[k]) for k in ours)
    result = run(["python", "-m", "stages.validate", "--check", bad], reproduced_once, check=False)
    assert result.returncode != 0 and "params.yaml: classifiers.broken" in result.stderr


def test_training_logs_through_dvclive(reproduced_once: Path) -> None:
    live = reproduced_once / f"data/models/digits/seed-{SEED}/tiny-a/live"
    metrics = json.loads((live / "metrics.json").read_text())
    assert metrics["step"] == 3 and set(metrics) >= {"train_loss", "val_loss"}
    rows = (live / "plots/metrics/val_loss.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["step", "val_loss"] and len(rows) == 1 + 3  # a row per epoch
    mlp = reproduced_once / "data/live/classify/digits/raw/mlp/plots/metrics"
    assert (mlp / f"mlp-seed-{SEED}/val_accuracy.tsv").is_file() and (mlp / f"mlp-seed-{SEED}/train_loss.tsv").is_file()
    rows = (mlp / f"budgets/mlp-seed-{SEED}.tsv").read_text().splitlines()  # step: labels per class
    assert [row.split("\t")[0] for row in rows] == ["step", "2", "8"]
    assert not list(reproduced_once.rglob("dvclive/dvc.yaml"))  # dvclive never writes a dvc.yaml of its own


@pytest.mark.parametrize("seeds", ["[3, 3]", "[1.5]"])  # each rule: tests/test_params.py
def test_a_bad_seeds_list_stops_before_anything_is_written(project: Path, seeds: str) -> None:
    set_params(project, {"seeds": yaml.safe_load(seeds)})
    result = run(["dvc", "repro"], project, check=False)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: params.yaml: seeds "), result.stdout + result.stderr
    assert not (project / "data/prepared").exists() and not any((project / "metrics").iterdir())


def test_selection_never_reads_the_test_split(reproduced: Path) -> None:
    prepared = reproduced / "data/prepared/digits.npz"
    with np.load(prepared) as arrays:
        scrambled = dict(arrays)
    rng = np.random.default_rng(0)
    scrambled["test_images"] = rng.integers(0, 256, scrambled["test_images"].shape, dtype=np.uint8)
    scrambled["test_labels"] = rng.permutation(scrambled["test_labels"])
    prepared.unlink()  # DVC may have linked it to the cache: never write through the link
    np.savez(prepared, **scrambled)
    run(["python", "-m", "stages.codes", "--dataset=digits", f"--seed={SEED}", "--codes=again", "--seconds=again"],
        reproduced)
    # The test scores moved with the scrambled test split; the selection did not.
    assert read(reproduced, f"again/digits/seed-{SEED}/records/tiny-a.json")["knn1"] != read(
        reproduced, f"data/codes/digits/seed-{SEED}/records/tiny-a.json")["knn1"]
    assert read(reproduced, f"again/digits/seed-{SEED}/selection.json") == read(
        reproduced, f"data/codes/digits/seed-{SEED}/selection.json")


def test_stage_digests_cover_every_module_a_stage_loads(reproduced_once: Path) -> None:
    """A stage that runs a project module must depend on it: every module a stage kind's process has loaded after
    importing the stage and building its estimators is in its digest."""
    digests = {path.stem: json.loads(path.read_text()) for path in (reproduced_once / "data/records/code").glob("*.json")}
    kinds = {"data": ["extract", "labels"], "train": ["train"], "codes": ["codes"], "encode": ["encode"],
             "classify": ["classify"], "stats": ["stats"], "report": ["report"]}
    # encode builds the compared feature sets' steps, classify the compared classifiers; the others build none.
    builds = {"encode": "[s.target for f in design.active_features for s in design.features.chain(f)]\n",
              "classify": "[design.classifiers[c].target for c in design.active_classifiers]\n"}
    setup = ("from study import params_yaml\nfrom study.design import read_design\n"
             "design = read_design(params_yaml.load_params())\n")
    probe = ("import sys, stages.{kind}\n{builds}"
             "print('\\n'.join(m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)))")
    for digest, members in kinds.items():
        for kind in members:
            code = probe.format(kind=kind, builds=setup + builds[kind] if kind in builds else "")
            loaded = subprocess.run([str(BIN / "python"), "-c", code], cwd=reproduced_once,
                                    capture_output=True, text=True, check=True).stdout.split()
            ours = {str(Path(f).resolve().relative_to(reproduced_once.resolve())) for f in loaded
                    if Path(f).resolve().is_relative_to(reproduced_once.resolve())}
            missing = ours - set(digests[digest])
            assert not missing, f"{kind} loads {sorted(missing)} but its digest ({digest}) does not list them"


def test_dvc_plots_draw_the_loss_curves_and_the_budgets(reproduced_once: Path) -> None:
    shown = json.loads(run(["dvc", "plots", "show", "--json"], reproduced_once).stdout)["data"]
    assert {"metrics/plots/validation_loss/digits.csv", "metrics/plots/label_budgets/digits.csv",
            "metrics/figures/digits/reconstructions.png"} <= set(shown)  # the report's figures, as image plots
    # The per-model dvclive logs are outputs, not declared plots: drawn when named (tests/test_dvc_surface.py).
    assert not [name for name in shown if name.startswith("data/")]
    spec = shown["metrics/plots/validation_loss/digits.csv"][0]["content"]
    assert spec["encoding"]["color"]["field"] == "variant"
    assert {row["variant"] for row in spec["data"]["values"]} == {"tiny-a", "tiny-b"}


def test_bad_input_exits_with_one_line_and_writes_nothing(project: Path) -> None:
    raw = project / "data/raw/mnist"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 8)[:-6])
    result = run(["python", "-m", "stages.extract", "--dataset=mnist"], project, check=False, env={"AE_DATA_MIRROR": ""})
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "data/raw/mnist/train-images-idx3-ubyte.gz: truncated gzip file" in result.stderr
    assert not (project / "data/prepared").exists() and not (project / "metrics/data/mnist.json").exists()
    entry = yaml.safe_load((project / "conf/autoencoders/tiny-a.yaml").read_text())
    (project / "conf/autoencoders/tiny-a.yaml").write_text(yaml.safe_dump({**entry, "hidden": [32, 8]}))
    result = run(["dvc", "repro", f"train@digits-tiny-a-{SEED}"], project, check=False)
    assert result.returncode != 0
    assert "conf/autoencoders/tiny-a.yaml: hidden must be an odd-length list" in result.stderr + result.stdout
    assert not (project / f"data/models/digits/seed-{SEED}/tiny-a").exists()


@pytest.mark.skipif(not os.environ.get("AE_DATA_MIRROR"),
                    reason="AE_DATA_MIRROR is not set: no MNIST mirror to extract from (.ci/run sets it)")
def test_extract_mnist_from_the_mirror(project: Path) -> None:
    mirror = Path(os.environ["AE_DATA_MIRROR"]).resolve()
    run(["python", "-m", "stages.extract", "--dataset=mnist"], project, env={"AE_DATA_MIRROR": str(mirror)})
    facts = read(project, "metrics/data/mnist.json")
    assert facts["train"]["label_counts"] == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert facts["test"]["count"] == 10000 and facts["image_shape"] == [28, 28]
    assert {f["source"] for f in facts["files"].values()} == {"mirror"}
    assert str(mirror) not in json.dumps(facts)  # what identifies the data, not where this machine keeps it
    with np.load(project / "data/prepared/mnist.npz") as arrays:
        assert arrays["train_labels"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
        assert arrays["train_images"].mean() == pytest.approx(33.318, abs=1e-3)


def test_every_stage_module_is_a_pipeline_stage() -> None:
    """dvc.yaml runs each stage module; stages/ holds stage modules alone (what they share is study/)."""
    commands = " ".join(str(stage["cmd"]) for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values())
    for path in (ROOT / "stages").glob("*.py"):
        if path.stem != "__init__":
            assert f"stages.{path.stem} " in commands + " ", path
            assert ast.get_docstring(ast.parse(path.read_text())), path
