"""The dataset catalogue: the IDX and .npz readers, the order of sources, every bad-input case, and declared
datasets through the whole pipeline."""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from aestudy.core.errors import StudyError
from aestudy.data.datasets import IDX_FILES, DatasetSpec, dataset_facts, parse_spec
from aestudy.data.download import URLSource
from aestudy.data.idx import parse_idx
from aestudy.data.loaders import default_sources, fetch_verified, load_dataset, load_digits_dataset, load_idx_dataset
from aestudy.data.reads import gunzip
from aestudy.data.sources import FolderSource
from tests.conftest import (
    cifar_files,
    colour_images,
    idx_bytes,
    run,
    set_params,
    stages_run,
    tiny_idx_arrays,
    tiny_spec,
    write_conf,
    write_files,
    write_idx_folder,
)


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
        gunzip(b"plain bytes", "a.gz", 1 << 20)


def test_truncated_gzip() -> None:
    data = gzip.compress(b"x" * 1000)
    with pytest.raises(StudyError, match="a.gz: truncated gzip file"):
        gunzip(data[: len(data) // 2], "a.gz", 1 << 20)


def test_corrupt_gzip() -> None:
    data = bytearray(gzip.compress(bytes(range(256)) * 40))
    data[20:40] = b"\xff" * 20
    with pytest.raises(StudyError, match="a.gz: (corrupt|truncated) gzip file"):
        gunzip(bytes(data), "a.gz", 1 << 20)


def test_load_from_folder_gz_and_uncompressed(tmp_path: Path) -> None:
    arrays = tiny_idx_arrays()
    for compress in (True, False):
        root = tmp_path / f"c{compress}"
        spec = tiny_spec(write_idx_folder(root / "mnist", arrays, compress=compress))
        data = load_idx_dataset(spec, [FolderSource(root)])
        assert np.array_equal(data.train.images, arrays["train_images"])
        assert np.array_equal(data.test.labels, arrays["test_labels"].astype(np.int64))
        assert data.train.labels.dtype == np.int64


def test_checksum_mismatch_is_never_used(tmp_path: Path) -> None:
    spec = tiny_spec(write_idx_folder(tmp_path / "good" / "mnist", tiny_idx_arrays(0)))
    write_idx_folder(tmp_path / "bad" / "mnist", tiny_idx_arrays(1))
    # A copy that fails its checksum is passed over for the next source's verified one...
    data = load_idx_dataset(spec, [FolderSource(tmp_path / "bad", kind="data/raw"),
                                   FolderSource(tmp_path / "good", kind="mirror")])
    assert np.array_equal(data.train.images, tiny_idx_arrays(0)["train_images"])
    assert {facts["source"] for facts in data.files.values()} == {"mirror"}
    # ...and is never used: with no other source, the error names the file and its sum.
    with pytest.raises(StudyError, match=r"bad/mnist/train-images-idx3-ubyte.gz: SHA-256 of the content is"):
        load_idx_dataset(spec, [FolderSource(tmp_path / "bad")])


def test_sources_are_tried_in_order(tmp_path: Path) -> None:
    arrays = tiny_idx_arrays()
    spec = tiny_spec(write_idx_folder(tmp_path / "mirror" / "mnist", arrays))
    raw = tmp_path / "raw"
    # data/raw has one file; the mirror supplies the other three.
    (raw / "mnist").mkdir(parents=True)
    name = IDX_FILES["test_labels"]
    (raw / "mnist" / name).write_bytes(gzip.decompress((tmp_path / "mirror" / "mnist" / f"{name}.gz").read_bytes()))
    contents = {n: gzip.decompress((tmp_path / "mirror" / "mnist" / f"{n}.gz").read_bytes())
                for n in IDX_FILES.values()}
    data = load_idx_dataset(spec, default_sources(spec, raw, str(tmp_path / "mirror")))
    assert data.files[name]["source"] == "data/raw"
    assert data.files[IDX_FILES["train_images"]]["source"] == "mirror"
    # The facts identify the data, not where one machine keeps it: no path of this machine in them.
    facts = dataset_facts(data)
    assert facts["files"][name]["sha256"] == hashlib.sha256(contents[name]).hexdigest()
    assert str(tmp_path) not in json.dumps(facts)


def test_default_sources_order(tmp_path: Path) -> None:
    by_url = DatasetSpec("mnist", "idx", "https://example.org/mnist", (28, 28), {})
    sources = default_sources(by_url, tmp_path / "raw", "https://example.org/mirror")
    assert [type(s) for s in sources] == [FolderSource, URLSource, URLSource]
    assert sources[0].root == tmp_path / "raw"
    assert sources[1].base == "https://example.org/mirror" and sources[1].per_dataset
    assert sources[2].base == "https://example.org/mnist" and not sources[2].per_dataset
    in_folder = DatasetSpec("mine", "idx", str(tmp_path / "files"), (28, 28), {})
    folder = default_sources(in_folder, tmp_path / "raw", str(tmp_path / "m"))
    assert isinstance(folder[1], FolderSource) and folder[1].root == tmp_path / "m"
    assert isinstance(folder[2], FolderSource) and folder[2].root == tmp_path / "files" and not folder[2].per_dataset
    assert len(default_sources(by_url, tmp_path, None)) == 2


def test_a_declared_folder_holds_the_files_themselves(tmp_path: Path) -> None:
    arrays = tiny_idx_arrays()
    spec = tiny_spec(write_idx_folder(tmp_path / "files", arrays), location=str(tmp_path / "files"))
    data = load_dataset(spec, tmp_path / "raw", None)
    assert np.array_equal(data.train.images, arrays["train_images"])
    assert data.files[IDX_FILES["train_images"]]["source"] == "declared source"


def test_file_url_mirror(tmp_path: Path) -> None:
    spec = tiny_spec(write_idx_folder(tmp_path / "mirror" / "mnist", tiny_idx_arrays()))
    data = load_idx_dataset(spec, default_sources(spec, tmp_path / "raw", (tmp_path / "mirror").as_uri()))
    assert data.train.images.shape == (12, 4, 4)


def test_no_source_has_the_file(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match=r"mnist/train-images-idx3-ubyte: no source gave a verified copy \(\S+: not "
                       r"there\)"):
        fetch_verified(tiny_spec({IDX_FILES["train_images"]: b""}), IDX_FILES["train_images"], [FolderSource(tmp_path)])


def test_zip_holding_gz_members(tmp_path: Path) -> None:
    arrays = tiny_idx_arrays()
    contents = write_idx_folder(tmp_path / "files", arrays)
    (tmp_path / "raw" / "mnist").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "raw" / "mnist" / "dataset.zip", "w") as zipped:
        for name in contents:
            zipped.write(tmp_path / "files" / f"{name}.gz", f"dataset/{name}.gz")
    data = load_idx_dataset(tiny_spec(contents), [FolderSource(tmp_path / "raw")])
    assert np.array_equal(data.test.images, arrays["test_images"])


def test_zip_without_expected_members(tmp_path: Path) -> None:
    spec = tiny_spec(write_idx_folder(tmp_path / "files", tiny_idx_arrays(), compress=False))
    (tmp_path / "raw" / "mnist").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "raw" / "mnist" / "dataset.zip", "w") as zipped:
        zipped.writestr("readme.txt", "nothing here")
    with pytest.raises(StudyError, match=r"dataset.zip: no member train-images-idx3-ubyte\[.gz\]"):
        load_idx_dataset(spec, [FolderSource(tmp_path / "raw")])


def test_counts_differ(tmp_path: Path) -> None:
    arrays = tiny_idx_arrays()
    arrays["train_labels"] = arrays["train_labels"][:-1]
    spec = tiny_spec(write_idx_folder(tmp_path / "mnist", arrays))
    with pytest.raises(StudyError, match=r"train-labels-idx1-ubyte.gz: 12 images but 11 labels"):
        load_idx_dataset(spec, [FolderSource(tmp_path)])


def test_image_shape_and_label_range_are_checked(tmp_path: Path) -> None:
    contents = write_idx_folder(tmp_path / "mnist", tiny_idx_arrays())
    wrong_shape = DatasetSpec("mnist", "idx", "nowhere", (28, 28), tiny_spec(contents).sha256)
    with pytest.raises(StudyError, match=r"images have shape \(4, 4\), but mnist's image_shape is \[28, 28\]"):
        load_idx_dataset(wrong_shape, [FolderSource(tmp_path)])
    few_classes = DatasetSpec("mnist", "idx", "nowhere", (4, 4), tiny_spec(contents).sha256, ("a", "b"))
    with pytest.raises(StudyError, match=r"labels must lie in \[0, 2\)"):
        load_idx_dataset(few_classes, [FolderSource(tmp_path)])


@pytest.mark.parametrize(("entry", "message"), [
    ({"idx": "u", "npz": "p", "image_shape": [4, 4]}, r"must give exactly one source of idx, npz, sklearn, torchvision"),
    ({"idx": "u", "image_shape": [4, 4], "sha256": {"x": "y"}}, r"sha256 must map each of train-images-idx3-ubyte"),
    ({"npz": "a.npz", "image_shape": [4, 4], "sha256": "ABC"}, r"sha256 must be the lowercase hex SHA-256"),
    ({"npz": "a.npz", "image_shape": [4], "sha256": "0" * 64}, r"image_shape must be \[height, width\]"),
    ({"npz": "a.npz", "image_shape": [1000, 1000], "sha256": "0" * 64}, r"image_shape must be \[height, width\] or "
     r"\[channels, height, width\] \(at most 4 channels\), at most 65536 values"),
    ({"npz": "a.npz", "image_shape": [5, 8, 8], "sha256": "0" * 64}, r"image_shape must be .* \(at most 4 channels\)"),
    ({"idx": "u", "image_shape": [3, 4, 4], "sha256": {}}, r"image_shape must be \[height, width\]: IDX files hold one"),
    ({"npz": "a.npz", "image_shape": [4, 4], "sha256": "0" * 64, "split": "x"}, r"has split, which only a torchvision entry takes"),
    ({"torchvision": "os.system", "image_shape": [4, 4], "sha256": {"a": "0" * 64}}, r"torchvision must name a "),
    ({"torchvision": "KMNIST", "image_shape": [4, 4], "sha256": {"../a": "0" * 64}}, r"sha256 must map each file"),
    ({"torchvision": "KMNIST", "image_shape": [4, 4], "sha256": {"/etc/a": "0" * 64}}, r"sha256 must map each file"),
    ({"torchvision": "KMNIST", "image_shape": [4, 4], "sha256": {"a": "0" * 64}, "download": 7},
     r"download must be a non-empty string"),
    ({"sklearn": "iris", "image_shape": [8, 8]}, r"sklearn must be one of digits"),
    ({"sklearn": "digits", "image_shape": [8, 8], "url": "x"}, r"has unknown key\(s\) url"),
    ({"sklearn": "digits", "image_shape": [8, 8], "class_names": "abc"}, r"class_names must be a list of 1 to 1000"),
    # Titles and class names go into Markdown tables and the README: nothing Markdown or HTML reads specially.
    ({"sklearn": "digits", "image_shape": [8, 8], "title": "x | y <!-- results:end --> <img src=x>"},
     r"title must be 1 to 64 letters, digits, spaces"),
    ({"sklearn": "digits", "image_shape": [8, 8], "class_names": ["a", "b*"]}, r"class_names must be a list"),
])
def test_bad_catalogue_entries_name_the_key(entry: dict, message: str) -> None:
    with pytest.raises(StudyError, match=r"params.yaml: dataset_catalogue.x[ .]" + message):
        parse_spec("x", entry, "params.yaml: dataset_catalogue.x")


def test_npz_dataset_and_its_bad_inputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (20, 5, 6), dtype=np.uint8), "y_train": rng.integers(0, 3, 20),
              "x_test": rng.integers(0, 256, (7, 30), dtype=np.uint8), "y_test": rng.integers(0, 3, 7)}

    def spec_for(**changed) -> DatasetSpec:
        path = tmp_path / "data.npz"
        np.savez(path, **{**arrays, **changed})
        return DatasetSpec("mine", "npz", str(path), (5, 6), hashlib.sha256(path.read_bytes()).hexdigest())

    data = load_dataset(spec_for(), tmp_path, None)
    assert data.test.images.shape == (7, 5, 6) and data.train.labels.dtype == np.int64  # rows reshaped
    assert data.files == {"data.npz": {"source": "npz", "sha256": spec_for().sha256}}
    cases = {
        "x_train": (arrays["x_train"].astype(np.float32), r"images must be uint8 pixel values"),
        "y_train": (arrays["y_train"][:5], r"20 images but 5 labels"),
        "y_test": (arrays["y_test"] - 5, r"labels must lie in \[0, "),
        "x_test": (arrays["x_test"][:, :20], r"images have shape \(20,\), but mine's image_shape is \[5, 6\]"),
    }
    for name, (value, message) in cases.items():
        with pytest.raises(StudyError, match=message):
            load_dataset(spec_for(**{name: value}), tmp_path, None)
    good = spec_for()
    (tmp_path / "data.npz").write_bytes(b"PK not really")
    with pytest.raises(StudyError, match=r"data.npz: SHA-256 of the content is"):
        load_dataset(good, tmp_path, None)
    np.savez(tmp_path / "data.npz", x_train=arrays["x_train"])
    partial = DatasetSpec("mine", "npz", str(tmp_path / "data.npz"), (5, 6),
                          hashlib.sha256((tmp_path / "data.npz").read_bytes()).hexdigest())
    with pytest.raises(StudyError, match=r"has no array y_train, x_test, y_test"):
        load_dataset(partial, tmp_path, None)
    with pytest.raises(StudyError, match=r"missing.npz: the dataset file does not exist"):
        load_dataset(DatasetSpec("mine", "npz", str(tmp_path / "missing.npz"), (5, 6), "0" * 64), tmp_path, None)


def test_digits_split_is_deterministic() -> None:
    first, second = load_digits_dataset(), load_digits_dataset()
    assert first.train.images.shape == (1500, 8, 8) and first.test.images.shape == (297, 8, 8)
    assert first.train.images.dtype == np.uint8 and first.train.images.max() == 255
    assert np.array_equal(first.test.images, second.test.images)


def class_images(rng: np.random.Generator, n: int, shape: tuple[int, ...], classes: int = 3):
    """Images whose class sets their mean brightness, with noise: something for the classifiers to learn."""
    labels = rng.integers(0, classes, n)
    brightness = (60 + 70 * labels).reshape(n, *(1,) * len(shape))
    images = np.clip(rng.normal(brightness, 40, (n, *shape)), 0, 255).astype(np.uint8)
    return images, labels


@pytest.mark.slow
def test_declared_datasets_run_through_the_pipeline(project: Path) -> None:
    """A CIFAR-format colour dataset the test writes (240 + 60 tinted 32 x 32 images), named by its torchvision
    class, through every stage under `dvc repro`, with the convolutional variational autoencoder (tiny-b) on its
    3 x 32 x 32 images; the report's reconstructions are in colour. Then, by targeted repros (the rest of their
    stages are the colour dataset's, at other image shapes): a 3 x 10 x 12 colour .npz dataset and a 7 x 7 IDX
    dataset through extract, features and a classifier. Each is a file of conf/datasets/."""
    from matplotlib.image import imread

    rng = np.random.default_rng(0)
    (images, labels), (test_images, test_labels) = colour_images(rng, 240), colour_images(rng, 60)
    pins = write_files(project / "data/raw/tints", cifar_files(images, labels, test_images, test_labels,
                                                               ["reddish", "greenish", "bluish"]))
    (x_train, y_train), (x_test, y_test) = class_images(rng, 240, (3, 10, 12)), class_images(rng, 60, (3, 10, 12))
    npz = project / "data/raw/blobs.npz"
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (tr_images, tr_labels), (te_images, te_labels) = class_images(rng, 200, (7, 7)), class_images(rng, 50, (7, 7))
    contents = write_idx_folder(project / "idx-files", {
        "train_images": tr_images, "train_labels": tr_labels.astype(np.uint8),
        "test_images": te_images, "test_labels": te_labels.astype(np.uint8)})
    blobs = {"npz": "data/raw/blobs.npz", "sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
             "image_shape": [3, 10, 12], "class_names": ["dark", "grey", "light"], "title": "Blobs"}
    write_conf(project, {
        "datasets/tints.yaml": {"title": "Tints", "torchvision": "CIFAR10", "sha256": pins, "image_shape": [3, 32, 32],
                                "class_names": ["reddish", "greenish", "bluish"]},
        "datasets/blobs.yaml": blobs,
        "datasets/squares.yaml": {"idx": "idx-files", "image_shape": [7, 7], "sha256": {
            name: hashlib.sha256(content).hexdigest() for name, content in contents.items()}}})
    # Every stage kind on two feature sets and one classifier: the rest run the same stages on other names.
    set_params(project, {"datasets": ["tints"], "variants": ["tiny-b"], "label_budgets": {"labels_per_class": [4, "all"]},
                         "compare": {"features": ["raw", "ae"], "classifiers": ["knn"], "pairs": ["ae vs raw"]}})
    run(["dvc", "repro"], project)
    facts = json.loads((project / "metrics/data/tints.json").read_text())
    assert facts["image_shape"] == [3, 32, 32] and facts["train"]["count"] == 240
    stats = json.loads((project / "metrics/stats/tints.json").read_text())
    assert stats["cells"]["raw"]["knn1"]["accuracy"] > 0.6  # chance is 1/3
    report = np.load(project / "data/codes/tints/seed-42/report/tiny-b.npz")
    assert report["images"].shape[1:] == (3, 32, 32) and report["reconstructions"].shape[1:] == (3, 32, 32)
    figure = imread(project / "metrics/figures/tints/reconstructions.png")[..., :3]
    assert np.abs(figure[..., 0] - figure[..., 2]).max() > 0.3  # red and blue differ somewhere: colour
    assert (project / "metrics/figures/tints/activations.png").stat().st_size > 0
    assert "## Tints" in (project / "metrics/report.md").read_text()

    set_params(project, {"datasets": ["tints", "blobs", "squares"], "compare": {"features": ["raw", "pca", "ae"]}})
    ran = stages_run(run(["dvc", "repro", "classify@blobs-pca-knn", "classify@squares-pca-knn"], project,
                         env={"AE_DATA_MIRROR": ""}).stdout)
    assert {"extract@blobs", "encode@blobs-pca", "classify@blobs-pca-knn", "extract@squares", "encode@squares-pca",
            "classify@squares-pca-knn"} <= ran
    for name, shape, n_test in (("blobs", [3, 10, 12], 60), ("squares", [7, 7], 50)):
        record = json.loads((project / f"data/classify/{name}/pca/knn/record.json").read_text())
        assert record["all"]["all"]["knn1"]["accuracy"] > 0.6 and record["all"]["all"]["knn1"]["n"] == n_test
        assert json.loads((project / f"metrics/data/{name}.json").read_text())["image_shape"] == shape
    facts = json.loads((project / "metrics/data/squares.json").read_text())
    assert facts["train"]["count"] == 200 and {f["source"] for f in facts["files"].values()} == {"declared source"}

    # docs/data.md on a user's .npz and experiments that run in a copy of the project made from git: a file under
    # the git-ignored data/raw/ is not in the copy, and extract names it with the two ways out; each works: the file
    # `dvc add`-ed (its .dvc file among the targets, as DVC checks out only the targets' stages), or an absolute
    # path. (Forced: DVC's run-cache would restore extract without reading the file; the extract stage alone, and
    # validate before it.)
    temp = ["dvc", "exp", "run", "--temp", "--force", *(a for s in (
        "datasets=[blobs]", "variants=[tiny-a]", "compare.features=[raw]", "compare.pairs=[]") for a in ("-S", s))]
    run(["git", "add", "conf/datasets"], project)
    missing = run([*temp, "extract@blobs"], project, check=False, env={"AE_DATA_MIRROR": ""})
    assert missing.returncode != 0
    (line,) = [line for line in (missing.stdout + missing.stderr).splitlines() if line.startswith("error:")]
    assert line.startswith("error: data/raw/blobs.npz: the dataset file does not exist in this working copy") and (
        "`dvc add` it and commit its .dvc file, or give an absolute path" in line), line
    run(["dvc", "add", "-q", "data/raw/blobs.npz"], project)
    run(["git", "add", "data/raw/blobs.npz.dvc"], project)
    ran = stages_run(run([*temp, "data/raw/blobs.npz.dvc", "extract@blobs"], project,
                         env={"AE_DATA_MIRROR": ""}).stdout)
    assert ran == {"validate", "extract@blobs"}, ran
    run(["git", "rm", "-q", "--cached", "data/raw/blobs.npz.dvc"], project)
    write_conf(project, {"datasets/blobs.yaml": {**blobs, "npz": str(npz)}})
    run(["git", "add", "conf/datasets"], project)
    assert stages_run(run([*temp, "extract@blobs"], project, env={"AE_DATA_MIRROR": ""}).stdout) == {
        "validate", "extract@blobs"}
    write_conf(project, {"datasets/blobs.yaml": blobs})

    # A declared dataset's bad input: one line naming the file, exit 2, nothing written.
    np.savez(npz, x_train=x_train[:, :, :9], y_train=y_train, x_test=x_test, y_test=y_test)
    blobs["sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    write_conf(project, {"datasets/blobs.yaml": blobs})
    (project / "data/prepared/blobs.npz").unlink()
    for sha256, message in ((None, "images have shape (3, 9, 12), but blobs's image_shape is [3, 10, 12]"),
                            ("0" * 64, "data/raw/blobs.npz: SHA-256 of the content is")):
        if sha256:
            write_conf(project, {"datasets/blobs.yaml": {**blobs, "sha256": sha256}})
        result = run(["python", "-m", "stages.extract", "--dataset", "blobs"], project, check=False)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr
        assert not (project / "data/prepared/blobs.npz").exists()
