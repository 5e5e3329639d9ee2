"""The datasets of the catalogue as the study holds them: their specs (one ``conf/datasets/<name>.yaml`` each),
decoded splits, the prepared arrays every stage after ``extract`` reads, and the validation carve-out.

Reading a catalogue entry's external files (IDX, .npz, zip archives, downloads) is ``aestudy.data.loaders``'s
work: only the extract stage touches external data.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aestudy.core.errors import StudyError, shown
from aestudy.core.names import TITLE_RULE, check_title, is_title

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SOURCE_KINDS = ("idx", "npz", "sklearn", "torchvision")
SKLEARN_SETS = ("digits",)
MAX_PIXELS = 1 << 16  # values per image: 256 x 256 grey, or 3 x 147 x 147 colour
MAX_CHANNELS = 4  # grey, grey and alpha, RGB, RGBA
# A file a torchvision entry pins: a path below the dataset's folder, in plain parts (no ``..``, no absolute path).
RELATIVE_FILE = re.compile(r"(?!.*(?:^|/)\.\.?(?:/|$))[\w.-]{1,128}(?:/[\w.-]{1,128}){0,7}")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_CLASSES = 1000
TORCHVISION_KEYS = ("split", "folder", "download")
MAX_PINNED_FILES = 64


@dataclass(frozen=True)
class DatasetSpec:
    """One entry of the dataset catalogue: where a dataset's files are and what they must hold.

    ``kind`` is ``idx`` (``location``: a base URL or a folder holding the four IDX files, ``sha256`` of each
    decompressed file by name), ``npz`` (``location``: the path of one ``.npz`` with ``x_train``, ``y_train``,
    ``x_test``, ``y_test``; ``sha256``: of that file), ``sklearn`` (``location``: ``digits``, bundled) or
    ``torchvision`` (``location``: the name of a ``torchvision.datasets`` class; ``sha256`` of each file it
    parses, by its path below the dataset's folder; ``split``: the class's own split argument, EMNIST's
    ``balanced`` say; ``folder``: where the files are, by default ``data/raw/<dataset>``; ``download``: a base URL
    the missing files may be fetched from, when the entry allows a download at all).

    ``image_shape`` is ``(height, width)`` for one grey channel, or ``(channels, height, width)``.
    """

    name: str
    kind: str
    location: str
    image_shape: tuple[int, ...]
    sha256: dict[str, str] | str | None = None
    class_names: tuple[str, ...] | None = None
    title: str | None = None  # the name people write it by (Fashion-MNIST), for the report
    split: str | None = None
    folder: str | None = None
    download: str | None = None

    @property
    def display_name(self) -> str:
        """The name the report writes: the entry's title, else its name."""
        return self.title or self.name

    @property
    def values_per_image(self) -> int:
        """Channels x height x width: the width of an image's row of pixel values."""
        return math.prod(self.image_shape)


def parse_spec(name: str, entry: Any, key: str) -> DatasetSpec:
    """A catalogue entry (a mapping, as params.yaml holds it) checked into a ``DatasetSpec``; every error names
    ``key`` and the offending field."""
    if not isinstance(entry, Mapping):
        raise StudyError(f"{key} must be a mapping, got {shown(entry)}")
    unknown = sorted(set(entry) - {*SOURCE_KINDS, "sha256", "image_shape", "class_names", "title", *TORCHVISION_KEYS})
    if unknown:
        raise StudyError(f"{key} has unknown key(s) {', '.join(map(str, unknown))}")
    kinds = [kind for kind in SOURCE_KINDS if kind in entry]
    if len(kinds) != 1:
        raise StudyError(f"{key} must give exactly one source of {', '.join(SOURCE_KINDS)}, got {kinds or 'none'}")
    kind = kinds[0]
    location = entry[kind]
    if not isinstance(location, str) or not location:
        raise StudyError(f"{key}.{kind} must be a non-empty string, got {shown(location)}")
    if kind == "sklearn" and location not in SKLEARN_SETS:
        raise StudyError(f"{key}.sklearn must be one of {', '.join(SKLEARN_SETS)}, got {shown(location)}")
    if kind != "torchvision" and set(entry) & set(TORCHVISION_KEYS):
        raise StudyError(f"{key} has {', '.join(sorted(set(entry) & set(TORCHVISION_KEYS)))}, which only a "
                         "torchvision entry takes")
    shape = parse_image_shape(entry.get("image_shape"), f"{key}.image_shape")
    if kind == "idx" and len(shape) != 2:
        raise StudyError(f"{key}.image_shape must be [height, width]: IDX files hold one grey channel, got "
                         f"{shown(list(shape))}")
    sha256 = entry.get("sha256")
    if kind == "idx":
        if (not isinstance(sha256, Mapping) or set(sha256) != set(IDX_FILES.values())
                or not all(isinstance(v, str) and SHA256.fullmatch(v) for v in sha256.values())):
            raise StudyError(f"{key}.sha256 must map each of {', '.join(IDX_FILES.values())} to its lowercase "
                             f"hex SHA-256, got {shown(sha256)}")
        sha256 = dict(sha256)
    elif kind == "npz":
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise StudyError(f"{key}.sha256 must be the lowercase hex SHA-256 of the .npz file, got {shown(sha256)}")
    elif kind == "torchvision":
        sha256 = parse_pinned_files(location, sha256, key)
    elif sha256 is not None:
        raise StudyError(f"{key}.sha256: a bundled scikit-learn set has no files to check")
    names = entry.get("class_names")
    if names is not None and (not isinstance(names, list) or not names or len(names) > MAX_CLASSES
                              or not all(is_title(n) for n in names)):
        raise StudyError(f"{key}.class_names must be a list of 1 to {MAX_CLASSES} names, each {TITLE_RULE}, got "
                         f"{shown(names)}")
    title = entry.get("title")
    if title is not None:
        check_title(title, f"{key}.title")
    extra = {field: entry.get(field) for field in TORCHVISION_KEYS}
    for field, value in extra.items():
        if value is not None and (not isinstance(value, str) or not value or len(value) > 1024):
            raise StudyError(f"{key}.{field} must be a non-empty string, got {shown(value)}")
    return DatasetSpec(name, kind, location, shape, sha256, tuple(names) if names else None, title, **extra)


def parse_image_shape(shape: Any, key: str) -> tuple[int, ...]:
    """``[height, width]`` (one grey channel) or ``[channels, height, width]``, checked into a tuple."""
    if (not isinstance(shape, list) or len(shape) not in (2, 3)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
            or math.prod(shape) > MAX_PIXELS or (len(shape) == 3 and shape[0] > MAX_CHANNELS)):
        raise StudyError(f"{key} must be [height, width] or [channels, height, width] (at most {MAX_CHANNELS} "
                         f"channels), at most {MAX_PIXELS} values, got {shown(shape)}")
    return tuple(shape)


def parse_pinned_files(class_name: str, sha256: Any, key: str) -> dict[str, str]:
    """A torchvision entry's class name and the SHA-256 of every file its class parses, by relative path."""
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]{0,63}", class_name):
        raise StudyError(f"{key}.torchvision must name a torchvision.datasets class (KMNIST, CIFAR10), got "
                         f"{shown(class_name)}")
    if (not isinstance(sha256, Mapping) or not sha256 or len(sha256) > MAX_PINNED_FILES
            or not all(isinstance(path, str) and RELATIVE_FILE.fullmatch(path) for path in sha256)
            or not all(isinstance(v, str) and SHA256.fullmatch(v) for v in sha256.values())):
        raise StudyError(f"{key}.sha256 must map each file the class reads (its path below the dataset's folder, "
                         f"at most {MAX_PINNED_FILES} files) to its lowercase hex SHA-256, got {shown(sha256)}")
    return dict(sha256)


@dataclass(frozen=True)
class Split:
    """One split of a dataset: uint8 images (N, H, W) or (N, C, H, W) and their integer labels (N,)."""

    images: np.ndarray  # (N, H, W) or (N, C, H, W) uint8
    labels: np.ndarray  # (N,) int64


@dataclass(frozen=True)
class Dataset:
    """A dataset's name and its training and test splits."""

    name: str
    train: Split
    test: Split
    files: dict[str, dict[str, str]]  # file name -> {"source": the kind of source, "sha256": of the content}


def class_names(spec: DatasetSpec, n_classes: int) -> list[str]:
    """The names of the classes 0..n_classes-1: the catalogue's, or the labels themselves."""
    names = list(spec.class_names or ())
    return names + [str(c) for c in range(len(names), n_classes)]


# ---------------------------------------------------------------------------------------------------
# Prepared arrays, the format every later stage reads


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
    n_val = max(1, round(n * val_fraction))
    if n_val >= n:
        raise StudyError(f"val_fraction {val_fraction} of {n} samples leaves none to fit on")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def flat(images: np.ndarray) -> np.ndarray:
    """Images (N, H, W) or (N, C, H, W) -> rows of pixel values (N, C*H*W), the samples scikit-learn's
    estimators take."""
    return images.reshape(len(images), -1)


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """Pixel values 0..255, images (N, H, W) or rows (N, D) -> float32 rows (N, D) in [0, 1]."""
    return flat(images).astype(np.float32) / np.float32(255.0)


def content_sha256(*arrays: np.ndarray) -> str:
    """The SHA-256 of arrays' shapes, dtypes and bytes together: what the prepared data holds."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def dataset_facts(data: Dataset) -> dict:
    """A dataset's facts for ``metrics/data/``: each split's count and label counts, and its sources."""
    def split_facts(split: Split) -> dict:
        """One split's image count and images per label."""
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
