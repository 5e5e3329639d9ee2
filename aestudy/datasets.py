"""The datasets of the catalogue: IDX files or one ``.npz`` found, verified and decoded; scikit-learn's ``digits``.

Each dataset is a ``DatasetSpec`` (params.yaml's ``dataset_catalogue`` holds MNIST, Fashion-MNIST and
digits). An IDX dataset's four files are each looked for in order in ``data/raw/<dataset>/`` (the ``.gz``,
the uncompressed file, or one ``.zip`` holding either), then under the mirror named by ``$AE_DATA_MIRROR``
(a folder or a base URL, one sub-folder per dataset), then at the entry's own URL or folder. Whatever the
source, the decompressed bytes must match the entry's SHA-256 before they are used: the mirror's ``.gz``
files are recompressed, so only the content can be checked. Every dataset, whatever its source, must hold
uint8 images of the entry's shape and non-negative integer labels, as many as images.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aestudy.errors import StudyError

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
SOURCE_KINDS = ("idx", "npz", "sklearn")
SKLEARN_SETS = ("digits",)
MAX_PIXELS = 1 << 16  # per image: 256 x 256
DIGITS_TRAIN_COUNT = 1500  # of 1797: the first 1500 images train, the rest test (collection order)
IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1-D labels and 3-D images
DOWNLOAD_TIMEOUT_S = 30
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class DatasetSpec:
    """One entry of the dataset catalogue: where a dataset's files are and what they must hold.

    ``kind`` is ``idx`` (``location``: a base URL or a folder holding the four IDX files, ``sha256`` of each
    decompressed file by name), ``npz`` (``location``: the path of one ``.npz`` with ``x_train``, ``y_train``,
    ``x_test``, ``y_test``; ``sha256``: of that file) or ``sklearn`` (``location``: ``digits``, bundled).
    """

    name: str
    kind: str
    location: str
    image_shape: tuple[int, int]
    sha256: dict[str, str] | str | None = None
    class_names: tuple[str, ...] | None = None


def parse_spec(name: str, entry: Any, key: str) -> DatasetSpec:
    """A catalogue entry (a mapping, as params.yaml holds it) checked into a ``DatasetSpec``; every error names
    ``key`` and the offending field."""
    if not isinstance(entry, Mapping):
        raise StudyError(f"{key} must be a mapping, got {entry!r}")
    unknown = sorted(set(entry) - {*SOURCE_KINDS, "sha256", "image_shape", "class_names"})
    if unknown:
        raise StudyError(f"{key} has unknown key(s) {', '.join(map(str, unknown))}")
    kinds = [kind for kind in SOURCE_KINDS if kind in entry]
    if len(kinds) != 1:
        raise StudyError(f"{key} must give exactly one source of {', '.join(SOURCE_KINDS)}, got {kinds or 'none'}")
    kind = kinds[0]
    location = entry[kind]
    if not isinstance(location, str) or not location:
        raise StudyError(f"{key}.{kind} must be a non-empty string, got {location!r}")
    if kind == "sklearn" and location not in SKLEARN_SETS:
        raise StudyError(f"{key}.sklearn must be one of {', '.join(SKLEARN_SETS)}, got {location!r}")
    shape = entry.get("image_shape")
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
            or shape[0] * shape[1] > MAX_PIXELS):
        raise StudyError(f"{key}.image_shape must be [height, width], at most {MAX_PIXELS} pixels, got {shape!r}")
    sha256 = entry.get("sha256")
    if kind == "idx":
        if (not isinstance(sha256, Mapping) or set(sha256) != set(IDX_FILES.values())
                or not all(isinstance(v, str) and SHA256.fullmatch(v) for v in sha256.values())):
            raise StudyError(f"{key}.sha256 must map each of {', '.join(IDX_FILES.values())} to its lowercase "
                             f"hex SHA-256, got {sha256!r}")
        sha256 = dict(sha256)
    elif kind == "npz":
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise StudyError(f"{key}.sha256 must be the lowercase hex SHA-256 of the .npz file, got {sha256!r}")
    elif sha256 is not None:
        raise StudyError(f"{key}.sha256: a bundled scikit-learn set has no files to check")
    names = entry.get("class_names")
    if names is not None and (not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names)):
        raise StudyError(f"{key}.class_names must be a non-empty list of strings, got {names!r}")
    return DatasetSpec(name, kind, location, (shape[0], shape[1]), sha256, tuple(names) if names else None)


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


def class_names(spec: DatasetSpec, n_classes: int) -> list[str]:
    """The names of the classes 0..n_classes-1: the catalogue's, or the labels themselves."""
    names = list(spec.class_names or ())
    return names + [str(c) for c in range(len(names), n_classes)]


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
    """The content's SHA-256 must be the expected one; the message names the file and both sums."""
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
    """A folder with one sub-folder per dataset, ``<root>/<dataset>/<name>[.gz]`` or one ``*.zip`` there; or,
    when ``per_dataset`` is False, the dataset's own folder: ``<root>/<name>[.gz]`` or one ``*.zip``."""

    root: Path
    kind: str = "data/raw"
    per_dataset: bool = True

    @property
    def description(self) -> str:
        return str(self.root)

    def fetch(self, dataset: str, name: str) -> tuple[bytes, str] | None:
        folder = self.root / dataset if self.per_dataset else self.root
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


def default_sources(spec: DatasetSpec, raw_dir: Path, mirror: str | None) -> list[Source]:
    """``data/raw``, then ``$AE_DATA_MIRROR`` (a folder or a URL), then the entry's own URL or folder."""
    sources: list[Source] = [FolderSource(raw_dir)]
    if mirror:
        sources.append(URLSource(mirror) if "://" in mirror else FolderSource(Path(mirror), kind="mirror"))
    if "://" in spec.location:
        sources.append(URLSource(spec.location, per_dataset=False, kind="declared source"))
    else:
        sources.append(FolderSource(Path(spec.location), kind="declared source", per_dataset=False))
    return sources


def fetch_verified(spec: DatasetSpec, name: str, sources: list[Source]) -> tuple[bytes, str, Source]:
    """The decompressed, verified content of one IDX file from the first source that has it, where it came
    from, and that source."""
    for source in sources:
        found = source.fetch(spec.name, name)
        if found is None:
            continue
        data, origin = found
        content = gunzip(data, origin) if data[:2] == b"\x1f\x8b" or origin.endswith(".gz") else data
        verify_sha256(content, spec.sha256[name], origin)
        return content, origin, source
    tried = "; ".join(source.description for source in sources)
    raise StudyError(f"{spec.name}/{name}: no source has this file (tried: {tried})")


def checked_split(spec: DatasetSpec, images: np.ndarray, labels: np.ndarray, origin: str) -> Split:
    """Images (N, H, W) or rows (N, H*W) of uint8 of the entry's shape, and as many non-negative integer
    labels (below the number of class names, when the entry names them)."""
    shape = spec.image_shape
    if images.dtype != np.uint8:
        raise StudyError(f"{origin}: images must be uint8 pixel values, got {images.dtype}")
    if images.ndim == 2 and images.shape[1] == shape[0] * shape[1]:
        images = images.reshape(len(images), *shape)
    if images.ndim != 3 or images.shape[1:] != shape:
        raise StudyError(f"{origin}: images have shape {images.shape[1:]}, but {spec.name}'s image_shape is "
                         f"{list(shape)}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise StudyError(f"{origin}: labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if len(images) != len(labels) or len(images) == 0:
        raise StudyError(f"{origin}: {len(images)} images but {len(labels)} labels")
    top = len(spec.class_names) if spec.class_names else np.iinfo(np.int64).max
    if labels.min() < 0 or labels.max() >= top:
        raise StudyError(f"{origin}: labels must lie in [0, {top}), got {labels.min()}..{labels.max()}")
    return Split(np.ascontiguousarray(images), labels.astype(np.int64))


def load_idx_dataset(spec: DatasetSpec, sources: list[Source]) -> Dataset:
    arrays: dict[str, np.ndarray] = {}
    origins: dict[str, str] = {}
    files: dict[str, dict[str, str]] = {}
    for key, name in IDX_FILES.items():
        content, origin, source = fetch_verified(spec, name, sources)
        arrays[key] = parse_idx(content, 3 if key.endswith("images") else 1, origin)
        origins[key] = origin
        files[name] = {"source": source.kind, "sha256": spec.sha256[name]}
    splits = {split: checked_split(spec, arrays[f"{split}_images"].copy(), arrays[f"{split}_labels"],
                                   f"{origins[f'{split}_images']} and {origins[f'{split}_labels']}")
              for split in ("train", "test")}
    return Dataset(spec.name, splits["train"], splits["test"], files)


def load_npz_dataset(spec: DatasetSpec) -> Dataset:
    """One ``.npz`` holding ``x_train``, ``y_train``, ``x_test``, ``y_test``, checked against the entry's SHA-256
    before it is parsed (no pickled objects are ever loaded)."""
    path = Path(spec.location)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise StudyError(f"{path}: cannot read the dataset file ({error.strerror or error})") from None
    verify_sha256(data, spec.sha256, str(path))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            missing = [name for name in NPZ_ARRAYS if name not in archive.files]
            if missing:
                raise StudyError(f"{path}: has no array {', '.join(missing)}; expected {', '.join(NPZ_ARRAYS)}")
            arrays = {name: archive[name] for name in NPZ_ARRAYS}
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise StudyError(f"{path}: not a readable .npz file ({error})") from None
    train = checked_split(spec, arrays["x_train"], arrays["y_train"], f"{path}: x_train, y_train")
    test = checked_split(spec, arrays["x_test"], arrays["y_test"], f"{path}: x_test, y_test")
    return Dataset(spec.name, train, test, {path.name: {"source": "npz", "sha256": spec.sha256}})


def load_digits_dataset(spec: DatasetSpec | None = None) -> Dataset:
    """scikit-learn's bundled 8x8 digits (0..16 grey levels), rescaled to uint8 0..255; the first 1500 train."""
    import sklearn
    from sklearn.datasets import load_digits

    spec = spec or DatasetSpec("digits", "sklearn", "digits", (8, 8))
    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    cut, origin = DIGITS_TRAIN_COUNT, f"scikit-learn {sklearn.__version__} load_digits"
    return Dataset(spec.name, checked_split(spec, images[:cut], labels[:cut], origin),
                   checked_split(spec, images[cut:], labels[cut:], origin), {"digits": {"source": origin}})


def load_dataset(spec: DatasetSpec, raw_dir: Path, mirror: str | None = None) -> Dataset:
    if spec.kind == "sklearn":
        return load_digits_dataset(spec)
    if spec.kind == "npz":
        return load_npz_dataset(spec)
    return load_idx_dataset(spec, default_sources(spec, raw_dir, mirror))


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
