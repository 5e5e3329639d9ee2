"""Datasets by their torchvision class: grey (KMNIST's layout) and colour (CIFAR-10's) files the tests write, read
only after their size and SHA-256 are checked; MNIST and Fashion-MNIST through torchvision equal the IDX reader."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from aestudy.core.errors import StudyError
from aestudy.data.datasets import IDX_FILES, parse_spec
from aestudy.data.loaders import load_dataset
from aestudy.data.torchvision_sets import torchvision_limit
from tests.conftest import ROOT, cifar_files, colour_images, idx_bytes, tiny_idx_arrays, write_files
from tests.servers import http_server

MIRROR = os.environ.get("AE_DATA_MIRROR")


def kmnist_files(seed: int) -> tuple[dict[str, bytes], dict]:
    """torchvision's KMNIST layout (``KMNIST/raw/<IDX file>``, decompressed) of the tiny 4x4 IDX arrays."""
    arrays = tiny_idx_arrays(seed)
    return {f"KMNIST/raw/{IDX_FILES[key]}": idx_bytes(array) for key, array in arrays.items()}, arrays


def test_a_torchvision_entry_reads_the_grey_files_it_pins(tmp_path: Path) -> None:
    """KMNIST by name, from data/raw/<dataset>/ in torchvision's layout (one file gzipped, as mirrors keep
    them): the arrays written, and the facts name the kind of source, never the path."""
    contents, arrays = kmnist_files(0)
    pins = write_files(tmp_path / "raw/kmnist", contents)
    gz = tmp_path / "raw/kmnist/KMNIST/raw/train-images-idx3-ubyte"
    gz.with_suffix(".gz").write_bytes(gzip.compress(gz.read_bytes()))
    gz.unlink()
    (tmp_path / "raw/kmnist/KMNIST/raw/unpinned").write_bytes(b"never read")
    spec = parse_spec("kmnist", {"torchvision": "KMNIST", "image_shape": [4, 4], "sha256": pins}, "kmnist")
    data = load_dataset(spec, tmp_path / "raw", None)
    assert np.array_equal(data.train.images, arrays["train_images"])
    assert np.array_equal(data.test.labels, arrays["test_labels"].astype(np.int64))
    assert data.files == {name: {"source": "data/raw", "sha256": pin} for name, pin in pins.items()}

    # A file that is not what the entry pins is never parsed: the message names the file and both sums.
    (tmp_path / "raw/kmnist/KMNIST/raw/t10k-labels-idx1-ubyte").write_bytes(idx_bytes(arrays["test_labels"][::-1]))
    with pytest.raises(StudyError, match=r"t10k-labels-idx1-ubyte: SHA-256 of the content is [0-9a-f]{64}, "
                                         r"expected " + pins["KMNIST/raw/t10k-labels-idx1-ubyte"]):
        load_dataset(spec, tmp_path / "raw", None)


def test_a_torchvision_entry_reads_colour_images_channels_first(tmp_path: Path) -> None:
    """CIFAR-10 by name, from the entry's own folder: torchvision gives (N, 32, 32, 3); the study holds
    (N, 3, 32, 32), the images written, whatever MD5s torchvision knows for the official files."""
    rng = np.random.default_rng(1)
    (images, labels), (test_images, test_labels) = colour_images(rng, 50), colour_images(rng, 20)
    pins = write_files(tmp_path / "cifar", cifar_files(images, labels, test_images, test_labels, ["r", "g", "b"]))
    spec = parse_spec("tints", {"torchvision": "CIFAR10", "folder": str(tmp_path / "cifar"),
                                "image_shape": [3, 32, 32], "sha256": pins}, "tints")
    data = load_dataset(spec, tmp_path / "raw", None)
    assert data.train.images.shape == (50, 3, 32, 32) and np.array_equal(data.train.images, images)
    assert np.array_equal(data.test.images, test_images) and np.array_equal(data.test.labels, test_labels)
    assert {f["source"] for f in data.files.values()} == {"declared folder"}

    wrong = parse_spec("tints", {"torchvision": "CIFAR10", "folder": str(tmp_path / "cifar"),
                                 "image_shape": [3, 16, 16], "sha256": pins}, "tints")
    with pytest.raises(StudyError, match=r"torchvision.datasets.CIFAR10 \(train\): images have shape "
                                         r"\(32, 32, 3\), but tints's image_shape is \[3, 16, 16\]"):
        load_dataset(wrong, tmp_path / "raw", None)


def test_a_file_over_its_bound_is_refused_before_torchvision_parses_it(tmp_path: Path) -> None:
    """torchvision reads whole files: a pinned file larger than any dataset of the entry's shape can be stops
    the read at the bound, with a message naming it, and nothing reaches torchvision. (A sparse file: no disk
    is spent.)"""
    spec = parse_spec("kmnist", {"torchvision": "KMNIST", "image_shape": [2, 2],
                                 "sha256": {"KMNIST/raw/train-images-idx3-ubyte": "0" * 64}}, "kmnist")
    huge = tmp_path / "raw/kmnist/KMNIST/raw/train-images-idx3-ubyte"
    huge.parent.mkdir(parents=True)
    with huge.open("wb") as stream:
        stream.truncate(torchvision_limit(spec) * 2)
    with pytest.raises(StudyError, match=r"train-images-idx3-ubyte: .*(larger than|more than) \d+ bytes"):
        load_dataset(spec, tmp_path / "raw", None)


def test_a_missing_file_is_downloaded_only_when_the_entry_allows_it(tmp_path: Path) -> None:
    """No file on disk: without `download` the entry fails with one line saying where it looked; with it, each
    file comes from `<download>/<file name>.gz` on a loopback server, through the bounded, checked download."""
    contents, arrays = kmnist_files(2)
    served = tmp_path / "served"
    served.mkdir()
    for name, content in contents.items():
        (served / f"{Path(name).name}.gz").write_bytes(gzip.compress(content))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    with http_server(handler) as url:
        entry = {"torchvision": "KMNIST", "image_shape": [4, 4],
                 "sha256": {name: hashlib.sha256(content).hexdigest() for name, content in contents.items()}}
        with pytest.raises(StudyError, match=r"kmnist/KMNIST/raw/\S+: no source gave a verified copy \(\S+: not "
                                             r"there\)"):
            load_dataset(parse_spec("kmnist", entry, "kmnist"), tmp_path / "raw", None)
        data = load_dataset(parse_spec("kmnist", {**entry, "download": url}, "kmnist"), tmp_path / "raw", None)
    assert np.array_equal(data.train.images, arrays["train_images"])
    assert {f["source"] for f in data.files.values()} == {"declared source"}


def test_an_unknown_class_or_a_missing_file_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = parse_spec("x", {"torchvision": "NoSuchSet", "image_shape": [2, 2], "sha256": {"a": "0" * 64}}, "x")
    with pytest.raises(StudyError, match="torchvision.datasets has no dataset class NoSuchSet"):
        load_dataset(spec, tmp_path, None)
    spec = parse_spec("x", {"torchvision": "KMNIST", "image_shape": [2, 2], "sha256": {"a": "0" * 64}}, "x")
    monkeypatch.delenv("AE_DATA_MIRROR", raising=False)
    with pytest.raises(StudyError, match=r"x/a: no source gave a verified copy \(.*: not there\); set AE_DATA_MIRROR to "
                                         r"a folder or URL that holds the dataset \(docs/data.md\)$"):
        load_dataset(spec, tmp_path, None)


@pytest.mark.skipif(not MIRROR, reason="needs the MNIST and Fashion-MNIST mirror (AE_DATA_MIRROR)")
@pytest.mark.parametrize(("dataset", "class_name"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_through_torchvision_equals_the_idx_reader(dataset: str, class_name: str, tmp_path: Path) -> None:
    """The mirror's files in torchvision's layout, by the SHA-256 conf/datasets pins: torchvision's arrays are the
    project's own IDX reader's, byte for byte."""
    entry = yaml.safe_load((ROOT / f"conf/datasets/{dataset}.yaml").read_text())
    raw = tmp_path / class_name / "raw"
    raw.mkdir(parents=True)
    for name in IDX_FILES.values():
        shutil.copy(Path(MIRROR) / dataset / f"{name}.gz", raw / f"{name}.gz")
    by_name = parse_spec(dataset, {"torchvision": class_name, "folder": str(tmp_path), "image_shape": [28, 28],
                                   "sha256": {f"{class_name}/raw/{n}": s for n, s in entry["sha256"].items()}}, dataset)
    ours = load_dataset(parse_spec(dataset, entry, dataset), tmp_path / "none", MIRROR)
    theirs = load_dataset(by_name, tmp_path / "none", None)
    for split in ("train", "test"):
        a, b = getattr(ours, split), getattr(theirs, split)
        assert a.images.dtype == b.images.dtype == np.uint8 and a.images.tobytes() == b.images.tobytes()
        assert a.labels.dtype == b.labels.dtype and np.array_equal(a.labels, b.labels)

