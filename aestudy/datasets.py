"""The datasets: IDX files found, verified and decoded; scikit-learn's ``digits`` split for offline use.

MNIST and Fashion-MNIST come as four IDX files each. Each file is looked for in order in
``data/raw/<dataset>/`` (the ``.gz``, the uncompressed file, or one ``.zip`` holding either), then under
the mirror named by ``$AE_DATA_MIRROR`` (a folder or a base URL, one sub-folder per dataset), then at the
dataset's official URL. Whatever the source, the decompressed bytes must match the SHA-256 below before
they are used: the mirror's ``.gz`` files are recompressed, so only the content can be checked.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aestudy.errors import StudyError

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the decompressed IDX content, identical to the official releases.
IDX_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

OFFICIAL_URLS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
}

IDX_DATASETS = tuple(IDX_SHA256)
DATASETS = (*IDX_DATASETS, "digits")
DIGITS_TRAIN_COUNT = 1500  # of 1797: the first 1500 images train, the rest test (collection order)
IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1-D labels and 3-D images
DOWNLOAD_TIMEOUT_S = 30
# Class names for the report's confusion matrices; the digit datasets' classes are their digits.
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N,) int64


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    files: dict[str, dict[str, str]]  # file name -> {"source": the kind of source, "sha256": of the content}


def check_dataset_name(name: str) -> None:
    if name not in DATASETS:
        raise StudyError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


def class_names(dataset: str, n_classes: int = 10) -> list[str]:
    return list(FASHION_CLASSES) if dataset == "fashion-mnist" else [str(c) for c in range(n_classes)]


# ---------------------------------------------------------------------------------------------------
# IDX decoding


def gunzip(data: bytes, origin: str) -> bytes:
    """Decompress gzip bytes; a file that is not gzip, or is truncated or corrupt, is an error."""
    if data[:2] != b"\x1f\x8b":
        raise StudyError(f"{origin}: not a gzip file")
    try:
        return gzip.decompress(data)
    except EOFError:
        raise StudyError(f"{origin}: truncated gzip file") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise StudyError(f"{origin}: corrupt gzip file ({error})") from None


def parse_idx(data: bytes, ndim: int, origin: str) -> np.ndarray:
    """Decode IDX bytes of unsigned bytes with ``ndim`` dimensions (big-endian header)."""
    header_size = 4 + 4 * ndim
    magic = int.from_bytes(data[:4], "big")
    if len(data) >= 4 and magic != IDX_MAGIC[ndim]:
        raise StudyError(
            f"{origin}: wrong IDX magic number 0x{magic:08x}, expected 0x{IDX_MAGIC[ndim]:08x}"
        )
    if len(data) < header_size:
        raise StudyError(f"{origin}: too short for an IDX header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) + header_size
    if len(data) != expected:
        raise StudyError(
            f"{origin}: IDX header says shape {shape} ({expected} bytes) but the file has {len(data)}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def verify_sha256(content: bytes, expected: str, origin: str) -> None:
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise StudyError(f"{origin}: SHA-256 of the content is {actual}, expected {expected}")


# ---------------------------------------------------------------------------------------------------
# Sources, tried in order


class Source:
    """Where IDX files may be found. ``fetch`` returns the raw bytes and where they came from, or None.

    ``kind`` names the source in the dataset's facts (``data/raw``, ``mirror``, ``official URL``): unlike the
    path or URL in ``description``, it is the same on every machine.
    """

    description: str
    kind: str

    def fetch(self, dataset: str, name: str) -> tuple[bytes, str] | None:
        raise NotImplementedError


@dataclass
class FolderSource(Source):
    """A folder with one sub-folder per dataset: ``<root>/<dataset>/<name>[.gz]`` or one ``*.zip``."""

    root: Path
    kind: str = "data/raw"

    @property
    def description(self) -> str:
        return str(self.root)

    def fetch(self, dataset: str, name: str) -> tuple[bytes, str] | None:
        folder = self.root / dataset
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate.read_bytes(), str(candidate)
        zips = sorted(folder.glob("*.zip")) if folder.is_dir() else []
        if len(zips) > 1:
            raise StudyError(f"{folder}: holds {len(zips)} zip files, expected at most one")
        if zips:
            return read_zip_member(zips[0], name)
        return None


def read_zip_member(archive: Path, name: str) -> tuple[bytes, str]:
    """The member ``name`` or ``name.gz`` of a zip, at any depth; missing members are an error."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = {Path(m).name: m for m in zipped.namelist() if not m.endswith("/")}
            for wanted in (f"{name}.gz", name):
                if wanted in members:
                    return zipped.read(members[wanted]), f"{archive}:{members[wanted]}"
    except zipfile.BadZipFile:
        raise StudyError(f"{archive}: not a valid zip file") from None
    expected = ", ".join(f"{n}[.gz]" for n in IDX_FILES.values())
    raise StudyError(f"{archive}: no member {name}[.gz]; a dataset zip holds {expected}")


@dataclass
class URLSource(Source):
    """A base URL with ``<base>/<dataset>/<name>.gz``, or, when ``per_dataset`` is False, ``<base>/<name>.gz``."""

    base: str
    per_dataset: bool = True
    kind: str = "mirror"

    @property
    def description(self) -> str:
        return self.base

    def fetch(self, dataset: str, name: str) -> tuple[bytes, str] | None:
        prefix = f"{self.base.rstrip('/')}/{dataset}" if self.per_dataset else self.base.rstrip("/")
        url = f"{prefix}/{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                return response.read(), url
        except (urllib.error.URLError, OSError, ValueError):
            return None


def default_sources(dataset: str, raw_dir: Path, mirror: str | None) -> list[Source]:
    """``data/raw``, then ``$AE_DATA_MIRROR`` (a folder or a URL), then the official download URL."""
    sources: list[Source] = [FolderSource(raw_dir)]
    if mirror:
        if "://" in mirror:
            sources.append(URLSource(mirror))
        else:
            sources.append(FolderSource(Path(mirror), kind="mirror"))
    if dataset in OFFICIAL_URLS:
        sources.append(URLSource(OFFICIAL_URLS[dataset], per_dataset=False, kind="official URL"))
    return sources


def fetch_verified(dataset: str, name: str, sources: list[Source]) -> tuple[bytes, str, Source]:
    """The decompressed, verified content of one IDX file from the first source that has it, where it came
    from, and that source."""
    for source in sources:
        found = source.fetch(dataset, name)
        if found is None:
            continue
        data, origin = found
        content = gunzip(data, origin) if data[:2] == b"\x1f\x8b" or origin.endswith(".gz") else data
        verify_sha256(content, IDX_SHA256[dataset][name], origin)
        return content, origin, source
    tried = "; ".join(source.description for source in sources)
    raise StudyError(f"{dataset}/{name}: no source has this file (tried: {tried})")


def load_idx_dataset(dataset: str, sources: list[Source]) -> Dataset:
    check_dataset_name(dataset)
    arrays: dict[str, np.ndarray] = {}
    origins: dict[str, str] = {}
    files: dict[str, dict[str, str]] = {}
    for key, name in IDX_FILES.items():
        content, origin, source = fetch_verified(dataset, name, sources)
        arrays[key] = parse_idx(content, 3 if key.endswith("images") else 1, origin)
        origins[name] = origin
        files[name] = {"source": source.kind, "sha256": IDX_SHA256[dataset][name]}
    splits = {}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(images) != len(labels):
            raise StudyError(
                f"{origins[IDX_FILES[f'{split}_images']]}: {len(images)} images but "
                f"{origins[IDX_FILES[f'{split}_labels']]} has {len(labels)} labels"
            )
        splits[split] = Split(images.copy(), labels.astype(np.int64))
    return Dataset(dataset, splits["train"], splits["test"], files)


def load_digits_dataset() -> Dataset:
    """scikit-learn's bundled 8x8 digits (0..16 grey levels), rescaled to uint8 0..255."""
    import sklearn
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    cut = DIGITS_TRAIN_COUNT
    return Dataset(
        "digits",
        Split(images[:cut], labels[:cut]),
        Split(images[cut:], labels[cut:]),
        {"digits": {"source": f"scikit-learn {sklearn.__version__} load_digits"}},
    )


def load_dataset(dataset: str, raw_dir: Path, mirror: str | None = None) -> Dataset:
    check_dataset_name(dataset)
    if dataset == "digits":
        return load_digits_dataset()
    return load_idx_dataset(dataset, default_sources(dataset, raw_dir, mirror))


# ---------------------------------------------------------------------------------------------------
# Prepared arrays, the format every later stage reads


def prepared_path(prepared_dir: Path, dataset: str) -> Path:
    return prepared_dir / f"{dataset}.npz"


def load_prepared(path: Path) -> tuple[Split, Split]:
    """The train and test splits written by the extract stage."""
    try:
        with np.load(path) as arrays:
            return (
                Split(arrays["train_images"], arrays["train_labels"]),
                Split(arrays["test_images"], arrays["test_labels"]),
            )
    except FileNotFoundError:
        raise StudyError(f"{path}: not found; run the extract stage first (dvc repro)") from None
    except (KeyError, ValueError, OSError) as error:
        raise StudyError(f"{path}: not a prepared dataset ({error})") from None


def train_val_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training part and the validation part of a training split of ``n`` samples.

    The same ``seed`` gives the same carve-out in every stage, so the autoencoders, their selection and
    the MLP's early stopping all hold out the same images, and none of them ever sees the test split.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def flat(images: np.ndarray) -> np.ndarray:
    """Images (N, H, W) -> rows of pixels (N, H*W), the samples scikit-learn's estimators take."""
    return images.reshape(len(images), -1)


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """Pixel values 0..255, images (N, H, W) or rows (N, D) -> float32 rows (N, D) in [0, 1]."""
    return flat(images).astype(np.float32) / np.float32(255.0)


def content_sha256(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def dataset_facts(data: Dataset) -> dict:
    def split_facts(split: Split) -> dict:
        counts = np.bincount(split.labels, minlength=int(split.labels.max()) + 1)
        return {"count": len(split.labels), "label_counts": counts.tolist()}

    return {
        "dataset": data.name,
        "image_shape": list(data.train.images.shape[1:]),
        "train": split_facts(data.train),
        "test": split_facts(data.test),
        "sha256": {
            "train": content_sha256(data.train.images, data.train.labels),
            "test": content_sha256(data.test.images, data.test.labels),
        },
        "files": data.files,
    }
