"""The real pipeline: `dvc repro` and `dvc exp run` in a temporary git copy of the project, on `digits`."""

from __future__ import annotations

import ast
import gzip
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from aestudy.study import FEATURES, SCORES
from tests.conftest import ROOT, run, set_params

SEED = 42  # the default replicate seed, which the small configuration keeps


def read(project: Path, name: str) -> dict:
    return json.loads((project / name).read_text())


def lock(project: Path) -> dict:
    return yaml.safe_load((project / "dvc.lock").read_text())["stages"]


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def assert_summary_schema(summary: dict, datasets: list[str]) -> None:
    assert list(summary) == datasets
    for entry in summary.values():
        assert set(entry) == {"autoencoder", "label_budgets", *FEATURES}
        assert {"variant", "code_dim", "val_mse", "test_mse", "seconds"} <= set(entry["autoencoder"])
        assert isinstance(entry["autoencoder"]["code_dim"], int)
        for feature in FEATURES:
            assert set(entry[feature]) == set(SCORES)
            for scores in entry[feature].values():
                # Today's keys, plus the interval and the seed replicates' keys.
                assert set(scores) == {"accuracy", "seconds", "total_seconds", "ci95", "std", "n_seeds"}
                assert scores["ci95"][0] <= scores["accuracy"] <= scores["ci95"][1]
                assert 0.0 <= scores["seconds"] <= scores["total_seconds"]


def test_repro_writes_every_output(reproduced_once: Path) -> None:
    project = reproduced_once
    summary = read(project, "metrics/summary.json")
    assert_summary_schema(summary, ["digits"])
    assert summary["digits"]["raw"]["1nn"]["accuracy"] > 0.85  # 8x8 digits are easy for 1-NN
    ae = summary["digits"]["autoencoder"]
    assert summary["digits"]["ae"]["1nn"]["total_seconds"] >= ae["seconds"] + summary["digits"]["ae"]["1nn"]["seconds"]

    grid = read(project, "metrics/grid.json")["digits"]
    assert [row["val_mse"] for row in grid] == sorted(row["val_mse"] for row in grid)
    assert {row["variant"] for row in grid} == {"tiny-a", "tiny-b"}
    train = read(project, f"data/records/train/digits/seed-{SEED}/tiny-a.json")
    for key in ("train_mse", "val_mse", "test_mse", "test_bce", "best_epoch", "epochs_run", "diverged", "collapsed",
                "seconds", "parameters", "code_dim", "device", "seed"):
        assert key in train
    # Each variant's codes: the validation 1-NN that selects, apart from the test scores that do not.
    codes = read(project, f"data/records/codes/digits/seed-{SEED}/tiny-b.json")
    assert 0 < codes["knn1_val"] <= 1 and "1nn" not in codes
    assert set(read(project, f"data/records/variants/digits/seed-{SEED}/tiny-b.json")) >= {"1nn", "3nn", "ncc"}
    # One small metrics file and one predictions file per (features, classifier[, seed]).
    for name in ("raw-knn", "pca-ncc", f"ae-knn-seed-{SEED}", f"raw-mlp-seed-{SEED}", f"ae-mlp-seed-{SEED}"):
        result = read(project, f"data/records/classify/digits/{name}.json")
        assert result["scores"] and all(0 <= s["accuracy"] <= 1 for s in result["scores"].values())
        assert (project / f"data/predictions/digits/{name}.npz").is_file()
    with np.load(project / "data/features/digits/pca.npz") as pca:
        assert pca["train"].shape == (1500, ae["code_dim"])
    stats = read(project, "metrics/stats/digits.json")
    assert {(row["a"], row["b"]) for row in stats["comparisons"]["1nn"]} == {("ae", "raw"), ("ae", "pca"),
                                                                              ("pca", "raw")}
    # Every variant's codes against PCA of the code's size, on the same test images, with intervals.
    assert [row["variant"] for row in stats["variants"]] == ["tiny-a", "tiny-b"]
    tiny_b = stats["variants"][1]
    assert tiny_b["cells"]["code"]["1nn"]["accuracy"] == read(
        project, f"data/records/variants/digits/seed-{SEED}/tiny-b.json")["1nn"]
    assert set(tiny_b["comparisons"]) == {"1nn", "3nn", "ncc"} and tiny_b["comparisons"]["1nn"]["b"] == "pca"
    low, high = tiny_b["cells"]["pca"]["ncc"]["ci95"]
    assert low <= tiny_b["cells"]["pca"]["ncc"]["accuracy"] <= high
    report = (project / "metrics/report.md").read_text()
    assert "## digits" in report and "### Paired comparisons on the same test images" in report
    assert "| tiny-b | 1-NN |" in report and "| tiny-a | dense | " in report
    for figure in ("digits/reconstructions.png", "digits/activations.png", "digits/curves.png",
                   "digits/confusion.png", "accuracy_vs_time.png", "comparisons.png", "variants_vs_time.png"):
        assert (project / "metrics/figures" / figure).stat().st_size > 2000
    assert (project / "metrics/plots/confusion/digits.csv").read_text().startswith("actual,predicted\n")
    curves = (project / "metrics/plots/validation_loss/digits.csv").read_text().splitlines()
    assert curves[0] == "epoch,variant,loss,val_loss" and len(curves) == 1 + 2 * 3  # 2 variants x 3 epochs
    # Nothing left to do: every stage is cached and up to date.
    assert "Data and pipelines are up to date" in run(["dvc", "status"], project).stdout


def test_each_setting_reruns_only_the_stages_that_read_it(reproduced: Path) -> None:
    mlp_stages = {f"classify-ae@digits-mlp-{SEED}", f"classify-mlp@digits-raw-{SEED}",
                  f"classify-mlp@digits-pca-{SEED}", f"budgets-mlp@digits-raw-{SEED}",
                  f"budgets-mlp@digits-pca-{SEED}", f"budgets-mlp-ae@digits-{SEED}"}
    before = lock(reproduced)
    # The MLP: exactly the MLP stages, then the statistics, summary and report built on their predictions;
    # `validate` checks every params change, and its constant record re-runs nothing by itself.
    out = run(["dvc", "exp", "run", "-S", "classify.mlp.epochs=2"], reproduced).stdout
    assert stages_run(out) == {"validate"} | mlp_stages | {"stats@digits", "summary", "report"}
    after = lock(reproduced)
    assert after["classify@digits-raw-knn"] == before["classify@digits-raw-knn"]
    assert after[f"classify-mlp@digits-raw-{SEED}"] != before[f"classify-mlp@digits-raw-{SEED}"]
    # A k-NN setting: the k-NN stages (and the per-variant codes, which score 1-NN), never an MLP stage.
    out = run(["dvc", "exp", "run", "-S", "classify.knn.block_size=64"], reproduced).stdout
    ran = stages_run(out)
    assert {"classify@digits-raw-knn", "classify@digits-pca-knn", f"classify-ae@digits-knn-{SEED}"} <= ran
    assert not ran & mlp_stages and not any(stage.startswith(("train@", "classify@digits-raw-ncc")) for stage in ran)
    # The exact search gives the same neighbours whatever its block size: the predictions did not change.
    assert "stats@digits" not in ran


def test_one_variants_change_retrains_and_reencodes_only_that_variant(reproduced: Path) -> None:
    before = lock(reproduced)
    out = run(["dvc", "exp", "run", "-S", "autoencoders.tiny-b.lr=0.02"], reproduced).stdout
    ran = stages_run(out)
    assert {f"train@digits-tiny-b-{SEED}", f"codes@digits-tiny-b-{SEED}"} <= ran
    assert not {f"train@digits-tiny-a-{SEED}", f"codes@digits-tiny-a-{SEED}"} & ran
    after = lock(reproduced)
    for stage in (f"train@digits-tiny-a-{SEED}", f"codes@digits-tiny-a-{SEED}"):
        assert after[stage] == before[stage]
    assert after[f"codes@digits-tiny-b-{SEED}"] != before[f"codes@digits-tiny-b-{SEED}"]
    assert yaml.safe_load((reproduced / "params.yaml").read_text())["autoencoders"]["tiny-b"]["lr"] == 0.02


def test_seed_replicates_as_an_experiment(reproduced: Path) -> None:
    out = run(["dvc", "exp", "run", "-n", "two-seeds", "-S", f"seeds=[{SEED},7]"], reproduced).stdout
    ran = stages_run(out)
    # Only the new seed's products are made; the first seed's and the seed-free ones are cached.
    assert {"train@digits-tiny-a-7", "train@digits-tiny-b-7", "classify-mlp@digits-raw-7"} <= ran
    assert not any(stage.endswith(f"-{SEED}") for stage in ran)
    stages = lock(reproduced)
    assert sorted(s for s in stages if s.startswith("train@")) == [
        f"train@digits-tiny-a-{SEED}", "train@digits-tiny-a-7", f"train@digits-tiny-b-{SEED}", "train@digits-tiny-b-7"]
    assert [s for s in stages if "raw-knn" in s] == ["classify@digits-raw-knn"]  # one raw k-NN stage in all
    summary = read(reproduced, "metrics/summary.json")["digits"]
    assert_summary_schema({"digits": summary}, ["digits"])
    assert summary["raw"]["1nn"]["n_seeds"] == 1 and summary["raw"]["1nn"]["std"] is None
    assert summary["ae"]["1nn"]["n_seeds"] == 2 and summary["raw"]["mlp"]["n_seeds"] == 2
    per_seed = [read(reproduced, f"data/records/classify/digits/raw-mlp-seed-{s}.json")["scores"]["mlp"]["accuracy"]
                for s in (SEED, 7)]
    assert summary["raw"]["mlp"]["accuracy"] == pytest.approx(np.mean(per_seed))
    assert summary["raw"]["mlp"]["std"] == pytest.approx(np.std(per_seed, ddof=1))
    comparison = read(reproduced, "metrics/stats/digits.json")["comparisons"]["mlp"][0]
    assert [row["seed"] for row in comparison["by_seed"]] == [SEED, 7]
    assert set(summary["autoencoder"]["selected_by_seed"]) == {str(SEED), "7"}
    shown = run(["dvc", "exp", "show", "--csv", "--drop", ".*", "--keep", "Experiment|seeds"], reproduced).stdout
    assert "two-seeds" in shown


@pytest.mark.parametrize("seeds", ["[]", "[-1]", "[3, 3]", "[a]", "[1.5]"])
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
    for variant in ("tiny-a", "tiny-b"):
        run(["python", "-m", "stages.codes", "--dataset", "digits", "--variant", variant, "--seed", str(SEED),
             "--code-metrics", "again/codes", "--variant-metrics", "again/variants", "--codes", "again/data"],
            reproduced)
    run(["python", "-m", "stages.select", "--dataset", "digits", "--seed", str(SEED), "--code-metrics", "again/codes",
         "--selection", "again/select"], reproduced)
    # The test scores moved with the scrambled test split; the selection did not.
    assert read(reproduced, f"again/variants/digits/seed-{SEED}/tiny-a.json") != read(
        reproduced, f"data/records/variants/digits/seed-{SEED}/tiny-a.json")
    assert read(reproduced, f"again/select/digits/seed-{SEED}.json") == read(
        reproduced, f"data/records/select/digits/seed-{SEED}.json")


def test_same_params_same_metrics(reproduced: Path) -> None:
    def numbers(project: Path) -> dict:
        train = read(project, f"data/records/train/digits/seed-{SEED}/tiny-a.json")
        summary = read(project, "metrics/summary.json")["digits"]
        return {"train": {k: v for k, v in train.items() if "seconds" not in k},
                "accuracy": {(f, s): summary[f][s]["accuracy"] for f in FEATURES for s in SCORES},
                "ci95": {(f, s): summary[f][s]["ci95"] for f in FEATURES for s in SCORES},
                "stats": read(project, "metrics/stats/digits.json")}

    first = numbers(reproduced)
    # Run again, not restored from DVC's run-cache: training, the exact search and the MLP, then what follows.
    forced = [f"train@digits-tiny-a-{SEED}", "classify@digits-raw-knn", f"classify-mlp@digits-raw-{SEED}"]
    out = run(["dvc", "repro", "--force", "--single-item", *forced], reproduced).stdout
    assert stages_run(out) == set(forced)
    run(["dvc", "repro"], reproduced)
    assert numbers(reproduced) == first


def module_imports(module: str) -> set[str]:
    """The project modules that importing ``module`` loads: its module-level imports, transitively."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.parse((ROOT / (name.replace(".", "/") + ".py")).read_text()).body:
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                # ``from aestudy import plots`` imports the module aestudy.plots
                found = [f"{node.module}.{a.name}" if (ROOT / node.module / f"{a.name}.py").is_file() else node.module
                         for a in node.names]
            else:
                continue  # imports inside functions load when called: see the classifier rule below
            todo += [m for m in found if m.split(".")[0] in ("aestudy", "stages") and m not in ("aestudy", "stages")]
    return seen


def test_stage_dependencies_cover_every_module_they_import(reproduced_once: Path) -> None:
    """A stage that imports a project module must list it as a dep, or an edit to it would go unnoticed."""
    for name, entry in lock(reproduced_once).items():
        deps = {dep["path"] for dep in entry.get("deps", [])}
        wanted = {m.replace(".", "/") + ".py" for m in module_imports(entry["cmd"].split()[2])}
        classifier = re.search(r"--classifier (\w+)", entry["cmd"])
        if classifier:  # a classifier stage imports its classifier's module when it runs
            wanted |= {m.replace(".", "/") + ".py" for m in module_imports(f"aestudy.{classifier.group(1)}")}
        missing = wanted - deps
        assert not missing, f"{name} imports {sorted(missing)} but does not list them as deps"
        assert "aestudy/mlp.py" not in deps or "mlp" in name, f"{name} lists the MLP's module without using it"


def test_dvc_plots_draw_one_loss_chart_per_dataset_with_every_variant(reproduced_once: Path) -> None:
    shown = json.loads(run(["dvc", "plots", "show", "--json"], reproduced_once).stdout)["data"]
    validation = [key for key in shown if key.startswith("metrics/plots/validation_loss")]
    assert validation == ["metrics/plots/validation_loss/digits.csv"]  # one chart per dataset, not per variant
    spec = shown[validation[0]][0]["content"]
    assert spec["encoding"]["color"]["field"] == "variant"
    assert {row["variant"] for row in spec["data"]["values"]} == {"tiny-a", "tiny-b"}
    assert [key for key in shown if key.startswith("metrics/plots/training_loss")] == [
        "metrics/plots/training_loss/digits.csv"]


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
    result = run(["dvc", "repro", f"train@digits-tiny-a-{SEED}"], project, check=False)
    assert result.returncode != 0
    assert "autoencoders.tiny-a.hidden must be a list of odd length" in result.stderr + result.stdout
    assert not (project / f"data/records/train/digits/seed-{SEED}/tiny-a.json").exists()


@pytest.mark.skipif(not os.environ.get("AE_DATA_MIRROR"),
                    reason="AE_DATA_MIRROR is not set: no MNIST mirror to extract from (.ci/run sets it)")
def test_extract_mnist_from_the_mirror(project: Path) -> None:
    mirror = Path(os.environ["AE_DATA_MIRROR"]).resolve()
    run(["python", "-m", "stages.extract", "--dataset", "mnist"], project, env={"AE_DATA_MIRROR": str(mirror)})
    facts = read(project, "metrics/data/mnist.json")
    assert facts["train"]["label_counts"] == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert facts["test"]["count"] == 10000 and facts["image_shape"] == [28, 28]
    assert {f["source"] for f in facts["files"].values()} == {"mirror"}
    assert str(mirror) not in json.dumps(facts)  # what identifies the data, not where this machine keeps it
    with np.load(project / "data/prepared/mnist.npz") as arrays:
        assert arrays["train_labels"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
        assert arrays["train_images"].mean() == pytest.approx(33.318, abs=1e-3)
