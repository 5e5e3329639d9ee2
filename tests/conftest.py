"""Shared fixtures: tiny IDX datasets written by the tests, and a temporary git copy of the project on digits.

Tests that run DVC or a stage process are marked ``slow`` (by module: ``pytestmark``); ``make test-fast`` leaves
them out, ``make test`` runs everything.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from aestudy.data.datasets import IDX_FILES, DatasetSpec

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin: dvc and python as the Makefile uses them
# Longest first. Under `--dist loadfile --no-loadscope-reorder` (pyproject.toml) a file runs whole on one worker,
# and xdist hands files out in collection order: each long file starts at once, the short ones fill in around.
# The second is one that does not wait for the small project the first builds (`reproduced_once`).
FILE_ORDER = ("test_pipeline.py", "test_sweep.py", "test_remote.py", "test_seed_study.py", "test_experiments.py",
              "test_dvc_surface.py", "test_dvc_ux.py", "test_bench.py", "test_one_path.py", "test_hostile.py",
              "test_budgets.py", "test_datasets.py", "test_estimators.py", "test_manifold.py", "test_graph.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(FILE_ORDER)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FILE_ORDER)))  # stable: a file's own order stays


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000080N, one big-endian size per dimension, the data."""
    header = (0x800 + array.ndim).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def tiny_idx_arrays(seed: int = 0, n_train: int = 12, n_test: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 4, 4), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 4, 4), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], compress: bool = True) -> dict[str, bytes]:
    """Write the four IDX files into ``folder``; return their uncompressed content by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = {}
    for key, name in IDX_FILES.items():
        content = idx_bytes(arrays[key])
        contents[name] = content
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content, mtime=0))
        else:
            (folder / name).write_bytes(content)
    return contents


def tiny_spec(contents: dict[str, bytes], name: str = "mnist", location: str = "nowhere") -> DatasetSpec:
    """A catalogue entry for generated 4x4 IDX content: its checksums, so that the reader accepts it."""
    return DatasetSpec(name, "idx", location, (4, 4),
                       {file: hashlib.sha256(content).hexdigest() for file, content in contents.items()})


CIFAR_FOLDER = "cifar-10-batches-py"  # torchvision.datasets.CIFAR10.base_folder


def write_files(folder: Path, contents: dict[str, bytes]) -> dict[str, str]:
    """Each content at its path below ``folder``; the entry's ``sha256`` of them."""
    for name, content in contents.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return {name: hashlib.sha256(content).hexdigest() for name, content in contents.items()}


def cifar_files(images: np.ndarray, labels: np.ndarray, test_images: np.ndarray, test_labels: np.ndarray,
                classes: list[str]) -> dict[str, bytes]:
    """torchvision's CIFAR-10 layout: five training batches, the test batch and the class names, each a pickle
    of rows of 3 x 32 x 32 values, channel by channel (as the official files hold them)."""
    batches = np.array_split(np.arange(len(images)), 5)
    files = {f"{CIFAR_FOLDER}/data_batch_{i}": pickle.dumps({"data": images[rows].reshape(len(rows), -1),
                                                            "labels": labels[rows].tolist()})
             for i, rows in enumerate(batches, 1)}
    files[f"{CIFAR_FOLDER}/test_batch"] = pickle.dumps({"data": test_images.reshape(len(test_images), -1),
                                                        "labels": test_labels.tolist()})
    files[f"{CIFAR_FOLDER}/batches.meta"] = pickle.dumps({"label_names": classes})
    return files


def colour_images(rng: np.random.Generator, n: int, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """32 x 32 colour images whose class is their tint (red, green, blue), with noise: learnable from a few."""
    labels = rng.integers(0, classes, n)
    tint = np.eye(3)[labels % 3][:, :, None, None] * 120
    images = np.clip(rng.normal(60 + tint, 40, (n, 3, 32, 32)), 0, 255).astype(np.uint8)
    return images, labels


def run(cmd: list[str], cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    # One thread per stage process: the tests run two at a time (pytest-xdist) on two cores, and the digits
    # stages are too small to gain from more, while OpenMP threads spinning against each other lose a lot.
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1",
                "AESTUDY_JOBS": "2", **(env or {})}
    result = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def read(project: Path, name: str) -> dict:
    """A JSON file of a project, by its path from the project root."""
    return json.loads((project / name).read_text())


def lock(project: Path) -> dict:
    """The stages of a project's dvc.lock."""
    return yaml.safe_load((project / "dvc.lock").read_text())["stages"]


def stages_run(output: str) -> set[str]:
    """The stages a `dvc repro` or `dvc exp run` ran, from its output."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def copy_project(dest: Path) -> Path:
    """The working tree as it is now (tracked and untracked-not-ignored files), committed in a fresh repo, without
    the committed run's results."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file() and not name.startswith(("metrics/", "dvc.lock", "docs/")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "metrics").mkdir(exist_ok=True)
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"], dest)
    return dest


# The small study: digits, two tiny autoencoders (the second a convolutional VAE, so that every family's path is
# exercised), every feature set of the default study and three of its classifiers (k-NN, the MLP and the graph:
# one seed-free, one seeded that trains by epochs, one that takes the unlabelled images), with small settings,
# and the default pairs of those. The other three run through the same stage; leaving them out saves fifteen stage
# processes per pipeline run.
def autoencoder_entry(**settings: object) -> dict:
    """A conf/autoencoders entry that writes every setting (validate asks it to): seed000's, then ``settings``."""
    seed000 = yaml.safe_load((ROOT / "conf/autoencoders/seed000.yaml").read_text())
    return {**seed000, **settings}


SMALL_CONF = {
    "autoencoders/tiny-a.yaml": autoencoder_entry(hidden=[32, 8, 32], lr=0.003, epochs=3),
    "autoencoders/tiny-b.yaml": autoencoder_entry(arch="conv", channels=[8], hidden=[8], objective="variational",
                                                  loss="bce", lr=0.01, epochs=3),
}
SMALL_PARAMS = {
    "datasets": ["digits"],
    "variants": ["tiny-a", "tiny-b"],
    "compare": {"classifiers": ["knn", "mlp", "graph"],
                "pairs": ["ae vs raw", "ae vs pca", "pca vs raw", "ae+umap vs pca+umap", "ae+umap vs ae",
                          "spreading vs knn1", "poisson vs knn1", "poisson-priors vs poisson",
                          "poisson-mbo vs poisson"]},
    "label_budgets": {"labels_per_class": [2, 8, "all"], "draws": 3},
    "features": {"pca+umap": {"n_epochs": 30}, "ae+umap": {"n_epochs": 30}},
    "classifiers": {"mlp": {"hidden": [32], "epochs": 3, "lr": 0.003, "batch_size": 64, "min_steps": 20,
                            "dropout": 0.0, "input_noise": 0.1}},
}
# What the small study holds, as the tests that read its results expect it: its feature sets (params.yaml's), its
# classifiers and the scores they give, in the order its statistics list them.
SMALL_FEATURES = ["raw", "pca", "ae", "pca+umap", "ae+umap"]
SMALL_CLASSIFIERS = ["knn", "mlp", "graph"]
SMALL_SCORES = ["knn1", "knn3", "mlp", "spreading", "poisson", "poisson-priors", "poisson-mbo"]


def merge(base: dict, overrides: dict) -> dict:
    """``overrides`` merged into ``base``, mappings key by key at every depth."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def set_params(project: Path, overrides: dict) -> None:
    """Merge ``overrides`` into the project's params.yaml, mappings key by key."""
    path = project / "params.yaml"
    path.write_text(yaml.safe_dump(merge(yaml.safe_load(path.read_text()), overrides), sort_keys=False))


def write_conf(project: Path, files: dict[str, dict]) -> None:
    for name, entry in files.items():
        (project / "conf" / name).write_text(yaml.safe_dump(entry, sort_keys=False))


def small_project(dest: Path) -> Path:
    copy_project(dest)
    write_conf(dest, SMALL_CONF)
    set_params(dest, SMALL_PARAMS)
    run(["git", "add", "-A"], dest)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "small study"], dest)
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A temporary git copy of the project on the small study, committed, nothing run."""
    return small_project(tmp_path / "project")


@pytest.fixture(scope="session")
def reproduced_once(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The small project after one real `dvc repro`, with its results committed; shared, never modified.

    Built once per session: the first xdist worker to ask builds it under a file lock in the workers' shared
    temporary folder, and the other reuses it (pytest-xdist's recipe for a session fixture run once).
    """
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    dest, done = shared / "reproduced" / "project", shared / "reproduced.done"
    with (shared / "reproduced.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(dest.parent, ignore_errors=True)  # what a failed build left
            small_project(dest)
            run(["dvc", "repro"], dest)
            run(["git", "add", "-A"], dest)
            run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results"], dest)
            done.touch()
    return dest


@pytest.fixture
def reproduced(reproduced_once: Path, tmp_path: Path) -> Path:
    """A private copy of ``reproduced_once`` (git history and DVC cache included) for one test to change.

    DVC's own scratch folder stays behind: another worker may be running DVC in the original meanwhile."""
    dest = tmp_path / "project"
    shutil.copytree(reproduced_once, dest, symlinks=True,
                    ignore=lambda folder, names: ["tmp"] if Path(folder) == reproduced_once / ".dvc" else [])
    return dest
