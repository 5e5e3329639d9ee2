"""The real pipeline: `dvc repro` and `dvc exp run` in a temporary git copy of the project, on `digits`."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import run

FEATURES = ("raw", "pca", "ae")
CLASSIFIERS = ("1nn", "3nn", "ncc", "mlp")


def read(project: Path, name: str) -> dict:
    return json.loads((project / name).read_text())


def lock(project: Path) -> dict:
    return yaml.safe_load((project / "dvc.lock").read_text())["stages"]


def assert_summary_schema(summary: dict, datasets: list[str]) -> None:
    assert list(summary) == datasets
    for entry in summary.values():
        assert set(entry) == {"autoencoder", *FEATURES}
        assert set(entry["autoencoder"]) == {"variant", "code_dim", "val_mse", "test_mse", "seconds"}
        assert isinstance(entry["autoencoder"]["code_dim"], int)
        for feature in FEATURES:
            assert set(entry[feature]) == set(CLASSIFIERS)
            for scores in entry[feature].values():
                assert set(scores) == {"accuracy", "seconds", "total_seconds"}
                assert 0.0 <= scores["accuracy"] <= 1.0
                assert 0.0 <= scores["seconds"] <= scores["total_seconds"]


def test_repro_writes_every_output(reproduced_once: Path) -> None:
    project = reproduced_once
    summary = read(project, "metrics/summary.json")
    assert_summary_schema(summary, ["digits"])
    assert summary["digits"]["raw"]["1nn"]["accuracy"] > 0.85  # 8x8 digits are easy for 1-NN
    assert summary["digits"]["raw"]["1nn"]["total_seconds"] == summary["digits"]["raw"]["1nn"]["seconds"]
    ae = summary["digits"]["autoencoder"]
    assert summary["digits"]["ae"]["1nn"]["total_seconds"] >= ae["seconds"] + summary["digits"]["ae"]["1nn"]["seconds"]

    grid = read(project, "metrics/grid.json")["digits"]
    assert [row["val_mse"] for row in grid] == sorted(row["val_mse"] for row in grid)
    assert {row["variant"] for row in grid} == {"tiny-a", "tiny-b"}
    assert set(grid[0]) == {"variant", "hidden", "lr", "loss", "val_mse", "val_bce", "test_mse", "test_bce",
                            "best_epoch", "epochs_run", "seconds", "diverged", "collapsed"}
    train = read(project, "metrics/train/digits/tiny-a.json")
    for key in ("train_mse", "train_bce", "val_mse", "val_bce", "test_mse", "test_bce", "best_epoch", "epochs_run",
                "diverged", "collapsed", "seconds", "seconds_per_epoch", "parameters", "code_dim", "device"):
        assert key in train
    per_variant = read(project, "metrics/variants/digits.json")["variants"]
    assert [v["variant"] for v in per_variant] == ["tiny-a", "tiny-b"]
    assert all(0 <= v[c] <= 1 for v in per_variant for c in ("1nn", "3nn", "ncc"))
    curve = (project / "metrics/curves/digits/tiny-a/plots/metrics/val_loss.tsv").read_text().splitlines()
    assert curve[0].split("\t")[:2] == ["step", "val_loss"] and [line.split("\t")[0] for line in curve[1:]] == [
        "1", "2", "3"]
    report = (project / "metrics/report.md").read_text()
    assert "## digits" in report and "| 1-NN | raw |" in report
    for figure in ("digits/reconstructions.png", "digits/activations.png", "digits/curves.png",
                   "digits/confusion.png", "accuracy_vs_time.png"):
        assert (project / "metrics/figures" / figure).stat().st_size > 2000
    assert (project / "metrics/plots/confusion/digits.csv").read_text().startswith("actual,predicted\n")
    # Nothing left to do: every stage is cached and up to date.
    assert "Data and pipelines are up to date" in run(["dvc", "status"], project).stdout


def test_exp_run_one_setting_reruns_only_that_variant(reproduced: Path) -> None:
    before = lock(reproduced)
    out = run(["dvc", "exp", "run", "-S", "autoencoders.tiny-b.lr=0.02"], reproduced).stdout
    assert "Running stage 'train@digits-tiny-b'" in out
    assert "train@digits-tiny-a" not in out.replace("Stage 'train@digits-tiny-a' didn't change, skipping", "")
    after = lock(reproduced)
    assert after["train@digits-tiny-a"] == before["train@digits-tiny-a"]
    assert after["train@digits-tiny-b"] != before["train@digits-tiny-b"]
    assert yaml.safe_load((reproduced / "params.yaml").read_text())["autoencoders"]["tiny-b"]["lr"] == 0.02


def test_exp_run_reproduces_one_grid_combination(reproduced: Path) -> None:
    out = run(["dvc", "exp", "run", "-n", "only-b", "-S", "variants=[tiny-b]", "-S", "datasets=[digits]"],
              reproduced).stdout
    assert "Running stage 'train@digits-tiny-b'" not in out  # cached: same params, same code
    assert read(reproduced, "metrics/grid.json")["digits"][0]["variant"] == "tiny-b"
    assert len(read(reproduced, "metrics/grid.json")["digits"]) == 1
    assert read(reproduced, "metrics/summary.json")["digits"]["autoencoder"]["variant"] == "tiny-b"
    shown = json.loads(run(["dvc", "exp", "show", "--json"], reproduced).stdout)
    names = [exp.get("name") for rev in shown for exp in (rev.get("experiments") or []) for exp in exp["revs"]]
    assert "only-b" in names


def test_queued_sweep(reproduced: Path) -> None:
    run(["dvc", "exp", "run", "--queue", "-S", "autoencoders.tiny-a.lr=0.003,0.001"], reproduced)
    assert run(["dvc", "queue", "status"], reproduced).stdout.count("Queued") == 2
    run(["dvc", "queue", "start", "-j", "1"], reproduced)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = run(["dvc", "queue", "status"], reproduced).stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(3)
    assert status.count("Success") == 2, status
    shown = run(["dvc", "exp", "show", "--csv", "--drop", ".*", "--keep", "Experiment|autoencoders.tiny-a.lr"],
                reproduced).stdout
    assert shown.splitlines()[0] == "Experiment,autoencoders.tiny-a.lr"
    lrs = {line.split(",")[-1] for line in shown.splitlines()[1:]}
    assert {"0.003", "0.001"} <= lrs, shown


def test_selection_never_reads_the_test_split(reproduced: Path) -> None:
    prepared = reproduced / "data/prepared/digits.npz"
    with np.load(prepared) as arrays:
        scrambled = dict(arrays)
    rng = np.random.default_rng(0)
    scrambled["test_images"] = rng.integers(0, 256, scrambled["test_images"].shape, dtype=np.uint8)
    scrambled["test_labels"] = rng.permutation(scrambled["test_labels"])
    prepared.unlink()  # DVC may have linked it to the cache: never write through the link
    np.savez(prepared, **scrambled)
    run(["python", "-m", "stages.select", "--dataset", "digits", "--out", "again"], reproduced)
    assert read(reproduced, "again/digits.json") == read(reproduced, "metrics/select/digits.json")


def test_same_params_same_metrics(reproduced: Path) -> None:
    first = {name: read(reproduced, f"metrics/{name}.json") for name in ("train/digits/tiny-a", "summary")}
    run(["dvc", "repro", "--force", "train@digits-tiny-a"], reproduced)
    run(["dvc", "repro"], reproduced)
    second = {name: read(reproduced, f"metrics/{name}.json") for name in ("train/digits/tiny-a", "summary")}
    for timing in ("seconds", "seconds_per_epoch"):
        first["train/digits/tiny-a"].pop(timing), second["train/digits/tiny-a"].pop(timing)
    assert first["train/digits/tiny-a"] == second["train/digits/tiny-a"]
    for feature in FEATURES:
        for classifier in CLASSIFIERS:
            assert (first["summary"]["digits"][feature][classifier]["accuracy"]
                    == second["summary"]["digits"][feature][classifier]["accuracy"])


def test_bad_input_exits_with_one_line_and_writes_nothing(project: Path) -> None:
    raw = project / "data/raw/mnist"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 8)[:-6])
    result = run(["python", "-m", "stages.extract", "--dataset", "mnist"], project, check=False,
                 env={"AE_DATA_MIRROR": ""})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "data/raw/mnist/train-images-idx3-ubyte.gz: truncated gzip file" in result.stderr
    assert not (project / "data/prepared").exists() and not (project / "metrics/data/mnist.json").exists()

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["autoencoders"]["tiny-a"]["hidden"] = [32, 8]
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    result = run(["dvc", "repro", "train@digits-tiny-a"], project, check=False)
    assert result.returncode != 0
    assert "autoencoders.tiny-a.hidden must be a list of odd length" in result.stderr + result.stdout
    assert not (project / "metrics/train/digits/tiny-a.json").exists()


@pytest.mark.skipif(not os.environ.get("AE_DATA_MIRROR"),
                    reason="AE_DATA_MIRROR is not set: no MNIST mirror to extract from (.ci/run sets it)")
def test_extract_mnist_from_the_mirror(project: Path) -> None:
    mirror = Path(os.environ["AE_DATA_MIRROR"]).resolve()
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["datasets"] = ["mnist"]
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    run(["dvc", "repro", "extract"], project, env={"AE_DATA_MIRROR": str(mirror)})
    facts = read(project, "metrics/data/mnist.json")
    assert facts["train"]["label_counts"] == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert facts["test"]["count"] == 10000 and facts["image_shape"] == [28, 28]
    with np.load(project / "data/prepared/mnist.npz") as arrays:
        assert arrays["train_labels"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
        assert arrays["train_images"].mean() == pytest.approx(33.318, abs=1e-3)


def test_seed_spread_reports_every_seed(reproduced_once: Path, tmp_path: Path) -> None:
    out = tmp_path / "spread"
    run(["python", "-m", "stages.seed_spread", "--dataset", "digits", "--variant", "tiny-a", "--seeds", "3", "1", "3",
         "2", "--out", str(out)], reproduced_once)
    report = json.loads((out / "digits-tiny-a.json").read_text())
    assert [row["seed"] for row in report["seeds"]] == [3, 1, 2]  # each seed once, in the order given
    tests = [row["knn1_test"] for row in report["seeds"]]
    assert len(set(tests)) > 1, "the seed should move the codes, and so the 1-NN accuracy"
    assert report["spread"]["knn1_test"]["min"] == min(tests) and report["spread"]["knn1_test"]["max"] == max(tests)
    assert report["spread"]["knn1_test"]["mean"] == pytest.approx(np.mean(tests))
    bad = run(["python", "-m", "stages.seed_spread", "--dataset", "digits", "--variant", "nope", "--seeds", "1", "2",
               "--out", str(out / "bad")], reproduced_once, check=False)
    assert bad.returncode != 0 and "params.yaml: missing key 'autoencoders.nope'" in bad.stderr
    assert not (out / "bad").exists()
