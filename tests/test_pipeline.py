"""The real pipeline: `dvc repro` and `dvc exp run` in a temporary git copy of the project, on `digits`."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import run

FEATURES = ("raw", "pca", "ae")
CLASSIFIERS = ("1nn", "3nn", "ncc", "mlp")


def read(project: Path, name: str) -> dict:
    return json.loads((project / name).read_text())


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


def test_repro_then_exp_run_reruns_only_the_changed_variant(project: Path) -> None:
    out = run(["dvc", "repro"], project).stdout
    assert "Running stage 'train@digits-tiny-a'" in out and "Running stage 'train@digits-tiny-b'" in out

    summary = read(project, "metrics/summary.json")
    assert_summary_schema(summary, ["digits"])
    assert summary["digits"]["raw"]["1nn"]["accuracy"] > 0.85  # 8x8 digits are easy for 1-NN
    grid = read(project, "metrics/grid.json")
    assert [row["variant"] for row in grid["digits"]] == sorted(
        ("tiny-a", "tiny-b"), key=lambda v: next(r["val_mse"] for r in grid["digits"] if r["variant"] == v))
    assert set(grid["digits"][0]) == {"variant", "hidden", "lr", "loss", "val_mse", "val_bce", "test_mse",
                                      "test_bce", "best_epoch", "seconds", "diverged"}
    per_variant = read(project, "metrics/variants/digits.json")["variants"]
    assert [v["variant"] for v in per_variant] == ["tiny-a", "tiny-b"]
    assert all(0 <= v[c] <= 1 for v in per_variant for c in ("1nn", "3nn", "ncc"))
    curve = (project / "metrics/curves/digits/tiny-a/plots/metrics/val_loss.tsv").read_text().splitlines()
    assert curve[0].split("\t")[:2] == ["step", "val_loss"] and len(curve) == 1 + 3

    lock_before = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "baseline"], project)
    out = run(["dvc", "exp", "run", "-S", "autoencoders.tiny-b.lr=0.02"], project).stdout
    assert "Running stage 'train@digits-tiny-b'" in out
    assert "Running stage 'train@digits-tiny-a'" not in out
    lock_after = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    assert lock_after["train@digits-tiny-a"] == lock_before["train@digits-tiny-a"]
    assert lock_after["train@digits-tiny-b"] != lock_before["train@digits-tiny-b"]


def test_selection_never_reads_the_test_split(project: Path) -> None:
    run(["dvc", "repro", "select"], project)
    prepared = project / "data/prepared/digits.npz"
    with np.load(prepared) as arrays:
        scrambled = dict(arrays)
    rng = np.random.default_rng(0)
    scrambled["test_images"] = rng.integers(0, 256, scrambled["test_images"].shape, dtype=np.uint8)
    scrambled["test_labels"] = rng.permutation(scrambled["test_labels"])
    prepared.unlink()  # DVC may have linked it to the cache: never write through the link
    np.savez(prepared, **scrambled)
    run(["python", "-m", "stages.select", "--dataset", "digits", "--out", "again"], project)
    assert read(project, "again/digits.json") == read(project, "metrics/select/digits.json")


def test_same_params_same_metrics(project: Path) -> None:
    run(["dvc", "repro", "train@digits-tiny-a"], project)
    first = read(project, "metrics/train/digits/tiny-a.json")
    run(["dvc", "repro", "--force", "train@digits-tiny-a"], project)
    second = read(project, "metrics/train/digits/tiny-a.json")
    for timing in ("seconds", "seconds_per_epoch"):
        first.pop(timing), second.pop(timing)
    assert first == second


def test_bad_input_exits_with_one_line_and_writes_nothing(project: Path) -> None:
    raw = project / "data/raw/mnist"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 8)[:-6])
    env = {k: v for k, v in os.environ.items() if k != "AE_DATA_MIRROR"}
    result = run(["python", "-m", "stages.extract", "--dataset", "mnist"], project, check=False,
                 env={**env, "AE_DATA_MIRROR": ""})
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
                    reason="AE_DATA_MIRROR is not set: no MNIST mirror to extract from (CI sets it)")
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
    shutil.rmtree(project / "data/prepared")
