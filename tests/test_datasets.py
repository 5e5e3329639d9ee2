"""The IDX reader, the order of sources, and every bad-input case of the extract stage."""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from aestudy.datasets import (
    IDX_FILES,
    FolderSource,
    URLSource,
    dataset_facts,
    default_sources,
    fetch_verified,
    gunzip,
    load_dataset,
    load_digits_dataset,
    load_idx_dataset,
    parse_idx,
)
from aestudy.errors import StudyError
from tests.conftest import idx_bytes, tiny_idx_arrays, write_idx_folder


def test_parse_idx_round_trip() -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(images), 3, "x"), images)
    labels = np.array([5, 0, 4], dtype=np.uint8)
    assert np.array_equal(parse_idx(idx_bytes(labels), 1, "x"), labels)


def test_wrong_magic_names_the_file() -> None:
    labels = idx_bytes(np.zeros(3, dtype=np.uint8))
    with pytest.raises(StudyError, match=r"labels\.idx: wrong IDX magic number 0x00000801, expected 0x00000803"):
        parse_idx(labels, 3, "labels.idx")


def test_truncated_idx_content() -> None:
    data = idx_bytes(np.zeros((2, 3, 3), dtype=np.uint8))[:-1]
    with pytest.raises(StudyError, match=r"f: IDX header says shape \(2, 3, 3\)"):
        parse_idx(data, 3, "f")


def test_not_gzip() -> None:
    with pytest.raises(StudyError, match="a.gz: not a gzip file"):
        gunzip(b"plain bytes", "a.gz")


def test_truncated_gzip() -> None:
    data = gzip.compress(b"x" * 1000)
    with pytest.raises(StudyError, match="a.gz: truncated gzip file"):
        gunzip(data[: len(data) // 2], "a.gz")


def test_corrupt_gzip() -> None:
    data = bytearray(gzip.compress(bytes(range(256)) * 40))
    data[20:40] = b"\xff" * 20
    with pytest.raises(StudyError, match="a.gz: (corrupt|truncated) gzip file"):
        gunzip(bytes(data), "a.gz")


def test_load_from_folder_gz_and_uncompressed(tmp_path: Path, tiny_dataset) -> None:
    arrays = tiny_idx_arrays()
    for compress in (True, False):
        root = tmp_path / f"c{compress}"
        tiny_dataset(write_idx_folder(root / "mnist", arrays, compress=compress))
        data = load_idx_dataset("mnist", [FolderSource(root)])
        assert np.array_equal(data.train.images, arrays["train_images"])
        assert np.array_equal(data.test.labels, arrays["test_labels"].astype(np.int64))
        assert data.train.labels.dtype == np.int64


def test_checksum_mismatch_is_never_used(tmp_path: Path, tiny_dataset) -> None:
    contents = tiny_dataset(write_idx_folder(tmp_path / "good" / "mnist", tiny_idx_arrays(0)))
    write_idx_folder(tmp_path / "bad" / "mnist", tiny_idx_arrays(1))
    assert contents
    with pytest.raises(StudyError, match=r"bad/mnist/train-images-idx3-ubyte.gz: SHA-256 of the content is"):
        load_idx_dataset("mnist", [FolderSource(tmp_path / "bad"), FolderSource(tmp_path / "good")])


def test_sources_are_tried_in_order(tmp_path: Path, tiny_dataset) -> None:
    arrays = tiny_idx_arrays()
    tiny_dataset(write_idx_folder(tmp_path / "mirror" / "mnist", arrays))
    raw = tmp_path / "raw"
    # data/raw has one file; the mirror supplies the other three.
    (raw / "mnist").mkdir(parents=True)
    name = IDX_FILES["test_labels"]
    (raw / "mnist" / name).write_bytes(gzip.decompress((tmp_path / "mirror" / "mnist" / f"{name}.gz").read_bytes()))
    contents = {n: gzip.decompress((tmp_path / "mirror" / "mnist" / f"{n}.gz").read_bytes())
                for n in IDX_FILES.values()}
    data = load_idx_dataset("mnist", default_sources("mnist", raw, str(tmp_path / "mirror")))
    assert data.files[name]["source"] == "data/raw"
    assert data.files[IDX_FILES["train_images"]]["source"] == "mirror"
    # The facts identify the data, not where one machine keeps it: no path of this machine in them.
    facts = dataset_facts(data)
    assert facts["files"][name]["sha256"] == hashlib.sha256(contents[name]).hexdigest()
    assert str(tmp_path) not in json.dumps(facts)


def test_default_sources_order(tmp_path: Path) -> None:
    sources = default_sources("mnist", tmp_path / "raw", "https://example.org/mirror")
    assert [type(s) for s in sources] == [FolderSource, URLSource, URLSource]
    assert sources[0].root == tmp_path / "raw"
    assert sources[1].base == "https://example.org/mirror"
    assert "ossci-datasets" in sources[2].base
    folder = default_sources("fashion-mnist", tmp_path / "raw", str(tmp_path / "m"))
    assert isinstance(folder[1], FolderSource) and folder[1].root == tmp_path / "m"
    assert len(default_sources("mnist", tmp_path, None)) == 2


def test_file_url_mirror(tmp_path: Path, tiny_dataset) -> None:
    tiny_dataset(write_idx_folder(tmp_path / "mirror" / "mnist", tiny_idx_arrays()))
    data = load_idx_dataset("mnist", [URLSource((tmp_path / "mirror").as_uri())])
    assert data.train.images.shape == (12, 4, 4)


def test_no_source_has_the_file(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match=r"mnist/train-images-idx3-ubyte: no source has this file \(tried: "):
        fetch_verified("mnist", IDX_FILES["train_images"], [FolderSource(tmp_path)])


def test_zip_holding_gz_members(tmp_path: Path, tiny_dataset) -> None:
    arrays = tiny_idx_arrays()
    contents = tiny_dataset(write_idx_folder(tmp_path / "files", arrays))
    (tmp_path / "raw" / "mnist").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "raw" / "mnist" / "dataset.zip", "w") as zipped:
        for name in contents:
            zipped.write(tmp_path / "files" / f"{name}.gz", f"dataset/{name}.gz")
    data = load_idx_dataset("mnist", [FolderSource(tmp_path / "raw")])
    assert np.array_equal(data.test.images, arrays["test_images"])


def test_zip_without_expected_members(tmp_path: Path, tiny_dataset) -> None:
    tiny_dataset(write_idx_folder(tmp_path / "files", tiny_idx_arrays(), compress=False))
    (tmp_path / "raw" / "mnist").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "raw" / "mnist" / "dataset.zip", "w") as zipped:
        zipped.writestr("readme.txt", "nothing here")
    with pytest.raises(StudyError, match=r"dataset.zip: no member train-images-idx3-ubyte\[.gz\]"):
        load_idx_dataset("mnist", [FolderSource(tmp_path / "raw")])


def test_counts_differ(tmp_path: Path, tiny_dataset) -> None:
    arrays = tiny_idx_arrays()
    arrays["train_labels"] = arrays["train_labels"][:-1]
    tiny_dataset(write_idx_folder(tmp_path / "mnist", arrays))
    with pytest.raises(StudyError, match=r"12 images but .*train-labels-idx1-ubyte.gz has 11 labels"):
        load_idx_dataset("mnist", [FolderSource(tmp_path)])


def test_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="unknown dataset 'cifar': expected one of mnist, fashion-mnist, digits"):
        load_dataset("cifar", tmp_path)


def test_digits_split_is_deterministic() -> None:
    first, second = load_digits_dataset(), load_digits_dataset()
    assert first.train.images.shape == (1500, 8, 8) and first.test.images.shape == (297, 8, 8)
    assert first.train.images.dtype == np.uint8 and first.train.images.max() == 255
    assert np.array_equal(first.test.images, second.test.images)
