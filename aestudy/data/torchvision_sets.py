"""A catalogue entry that names a ``torchvision.datasets`` class (``torchvision: KMNIST``): the files it parses,
each found, bounded and verified as an IDX file is, then parsed by torchvision with ``download=False``.

torchvision's readers are unbounded (they read whole files, unpickle CIFAR's batches, decompress USPS's bz2), so
they never see a file of the entry's folder directly: each file the entry pins is read by the project's bounded
readers (at most ``torchvision_limit`` bytes, from ``folder``, ``data/raw/<dataset>``, the mirror, or, when the
entry gives ``download``, its URL), its SHA-256 checked, and only then written into a private folder, the only
one torchvision is given. A file the entry does not pin is never there to be parsed.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from aestudy.core.errors import StudyError
from aestudy.data.datasets import Dataset, DatasetSpec, Split
from aestudy.data.download import URLSource
from aestudy.data.loaders import checked_split, fetch_pinned, location_source
from aestudy.data.reads import MAX_IMAGES, memory_cap
from aestudy.data.sources import FolderSource, Source

# Each class's argument for the training or the test split (torchvision names it three ways).
SPLIT_ARGUMENTS = {
    "SVHN": lambda train: {"split": "train" if train else "test"},
    "QMNIST": lambda train: {"what": "train" if train else "test"},
}
# At most this many bytes per pixel value in a file: text formats (USPS's) spell each value in several bytes.
BYTES_PER_VALUE = 16


@dataclass
class BasenameSource(Source):
    """A download URL laid out flat (``<url>/<file>.gz``): the file's name without its folders below the
    dataset's folder, which are torchvision's layout, not the server's."""

    source: URLSource

    @property
    def description(self) -> str:
        """The URL's description."""
        return self.source.description

    @property
    def kind(self) -> str:  # type: ignore[override]
        """The URL's kind of source."""
        return self.source.kind

    def fetch(self, dataset: str, name: str, limit: int) -> tuple[bytes, str] | None:
        """``Source.fetch`` of the file's base name."""
        return self.source.fetch(dataset, PurePosixPath(name).name, limit)


def torchvision_limit(spec: DatasetSpec) -> int:
    """The most bytes one file of the entry may hold: MAX_IMAGES images of its shape, each value in up to
    BYTES_PER_VALUE bytes, and no more than this machine can hold."""
    return min(MAX_IMAGES * spec.values_per_image * BYTES_PER_VALUE + (1 << 20), memory_cap())


def torchvision_sources(spec: DatasetSpec, raw_dir: Path, mirror: str | None) -> list[Source]:
    """The entry's ``folder`` (else ``data/raw/<dataset>``), then the mirror, then its ``download`` URL."""
    sources: list[Source] = [FolderSource(Path(spec.folder), kind="declared folder", per_dataset=False)
                             if spec.folder else FolderSource(raw_dir)]
    if mirror:
        sources.append(location_source(mirror, "mirror", per_dataset=True))
    if spec.download:
        sources.append(BasenameSource(URLSource(spec.download, per_dataset=False, kind="declared source")))
    return sources


def torchvision_class(name: str) -> type:
    """``torchvision.datasets.<name>``, as a subclass whose MD5 checks pass: torchvision's MD5s pin the official
    files only, and every file it is given has already matched the entry's SHA-256."""
    import torchvision.datasets

    found = getattr(torchvision.datasets, name, None)
    if not isinstance(found, type) or not issubclass(found, torchvision.datasets.VisionDataset):
        raise StudyError(f"torchvision.datasets has no dataset class {name}")
    attributes: dict = {}
    if hasattr(found, "_check_integrity"):
        attributes["_check_integrity"] = lambda self: True
    if isinstance(getattr(found, "meta", None), dict) and "md5" in found.meta:  # CIFAR's class names file
        attributes["meta"] = {**found.meta, "md5": None}
    return type(name, (found,), attributes)


def parsed_split(spec: DatasetSpec, dataset_class: type, root: Path, train: bool) -> Split:
    """One split as torchvision parses it from ``root``: its images in the entry's shape, its labels."""
    arguments = SPLIT_ARGUMENTS.get(spec.location, lambda train: {"train": train})(train)
    if spec.split:
        arguments["split"] = spec.split
    which = "train" if train else "test"
    try:
        parsed = dataset_class(str(root), download=False, **arguments)
    except (RuntimeError, ValueError, OSError, KeyError, TypeError, EOFError, pickle.UnpicklingError) as error:
        raise StudyError(f"{spec.name}: torchvision.datasets.{spec.location} cannot read its {which} split from "
                         f"the pinned files ({error})") from None
    images = np.asarray(parsed.data)
    labels = np.asarray(getattr(parsed, "targets", getattr(parsed, "labels", None)))
    if labels.ndim == 2:  # QMNIST's targets: the class, then the writer and other facts
        labels = labels[:, 0]
    shape = spec.image_shape
    if len(shape) == 3 and images.ndim == 4 and images.shape[1:] == (*shape[1:], shape[0]):
        images = images.transpose(0, 3, 1, 2)  # channels last (CIFAR's) -> channels first
    return checked_split(spec, images, labels, f"torchvision.datasets.{spec.location} ({which})")


def load_torchvision_dataset(spec: DatasetSpec, raw_dir: Path, mirror: str | None) -> Dataset:
    """The entry's pinned files, each from the first source that gives a verified copy, parsed by its
    torchvision class from a private folder that holds nothing else."""
    dataset_class = torchvision_class(spec.location)
    sources = torchvision_sources(spec, raw_dir, mirror)
    files: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="aestudy-torchvision-") as folder:
        root = Path(folder)
        for name, sha256 in spec.sha256.items():
            content, _, source = fetch_pinned(spec.name, name, sha256, torchvision_limit(spec), sources)
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            del content
            files[name] = {"source": source.kind, "sha256": sha256}
        train, test = (parsed_split(spec, dataset_class, root, train) for train in (True, False))
    return Dataset(spec.name, train, test, files)
