"""Reading a catalogue entry's external files: IDX files or one ``.npz`` found, verified and decoded; ``digits``.

Each dataset is a ``DatasetSpec`` (``conf/datasets/`` holds MNIST, Fashion-MNIST and digits). An IDX dataset's
four files are each looked for in order in ``data/raw/<dataset>/`` (the ``.gz``, the uncompressed file, or one
``.zip`` holding either), then under the mirror named by ``$AE_DATA_MIRROR`` (a folder, a ``file://`` URL of one,
or a base HTTP(S) URL, one sub-folder per dataset), then at the entry's own URL or folder. Whatever the
source, the decompressed bytes must match the entry's SHA-256 before they are used: the mirror's ``.gz``
files are recompressed, so only the content can be checked. Every dataset, whatever its source, must hold
uint8 images of the entry's shape and non-negative integer labels, as many as images.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from aestudy.core.errors import StudyError, clipped, redacted
from aestudy.data.datasets import IDX_FILES, Dataset, DatasetSpec, Split
from aestudy.data.download import URLSource
from aestudy.data.idx import idx_limit, parse_idx
from aestudy.data.reads import MAX_IMAGES, gunzip, memory_cap, raw_limit, read_capped, regular_file, verify_sha256
from aestudy.data.sources import FolderSource, Source, file_url_path

NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
DIGITS_TRAIN_COUNT = 1500  # of 1797: the first 1500 images train, the rest test (collection order)
MIRROR_VARIABLE = "AE_DATA_MIRROR"


def mirror_from_environment() -> str | None:
    """``$AE_DATA_MIRROR``: a URL or an absolute folder; unset or empty, None. A relative path is refused: each
    experiment runs in its own working copy, so it would name another folder in each."""
    mirror = os.environ.get(MIRROR_VARIABLE) or None
    if mirror is not None and "://" not in mirror and not Path(mirror).is_absolute():
        raise StudyError(redacted(f"{MIRROR_VARIABLE}={clipped(mirror)}: give an absolute path or a URL (a relative "
                                  "path resolves against each experiment's working copy; from the project root: "
                                  f"{MIRROR_VARIABLE}=$(realpath {clipped(mirror)}))"))
    return mirror


def location_source(location: str, kind: str, per_dataset: bool) -> Source:
    """Where a mirror or an entry points: a folder (a path or a ``file://`` URL) or an HTTP(S) base URL."""
    folder = file_url_path(location) if "://" in location else Path(location)
    return (FolderSource(folder, kind=kind, per_dataset=per_dataset) if folder is not None
            else URLSource(location, per_dataset=per_dataset, kind=kind))


def default_sources(spec: DatasetSpec, raw_dir: Path, mirror: str | None) -> list[Source]:
    """``data/raw``, then ``$AE_DATA_MIRROR`` (a folder or a URL), then the entry's own URL or folder."""
    sources: list[Source] = [FolderSource(raw_dir)]
    for location, kind, per_dataset in ((mirror, "mirror", True), (spec.location, "declared source", False)):
        if location:
            sources.append(location_source(location, kind, per_dataset))
    return sources


def fetch_verified(spec: DatasetSpec, name: str, sources: list[Source]) -> tuple[bytes, str, Source]:
    """The decompressed, verified content of one IDX file of ``spec`` (``fetch_pinned``)."""
    return fetch_pinned(spec.name, name, spec.sha256[name], idx_limit(spec, name), sources)


def fetch_pinned(dataset: str, name: str, sha256: str, limit: int, sources: list[Source]
                 ) -> tuple[bytes, str, Source]:
    """The decompressed content of the file ``name`` of ``dataset``, of at most ``limit`` bytes and of SHA-256
    ``sha256``, from the first source that gives it; where it came from, and that source. A source that fails (not
    found, HTTP 404, a timeout, a bomb, a checksum) is passed over; when every one fails, the error says what
    each one said."""
    said = []
    for source in sources:
        try:
            found = source.fetch(dataset, name, limit)
            if found is None:
                said.append(f"{source.description}: not there")
                continue
            data, origin = found
            content = gunzip(data, origin, limit) if data[:2] == b"\x1f\x8b" or origin.endswith(".gz") else data
            if len(content) > limit:
                raise StudyError(f"{origin}: larger than {limit} bytes, the most this file can hold")
            verify_sha256(content, sha256, origin)
            return content, origin, source
        except StudyError as error:
            said.append(str(error))
    nowhere = all(line.endswith(": not there") for line in said)
    hint = (f"; set {MIRROR_VARIABLE} to a folder or URL that holds the dataset (docs/data.md)"
            if nowhere and not os.environ.get(MIRROR_VARIABLE) else "")
    raise StudyError(f"{dataset}/{name}: no source gave a verified copy ({'; '.join(said)}){hint}")


def checked_split(spec: DatasetSpec, images: np.ndarray, labels: np.ndarray, origin: str) -> Split:
    """Images of uint8 of the entry's shape ((N, H, W), or (N, C, H, W) for colour), or their rows
    (N, C*H*W), and as many non-negative integer labels (below the number of class names, when the entry
    names them)."""
    shape = spec.image_shape
    if images.dtype != np.uint8:
        raise StudyError(f"{origin}: images must be uint8 pixel values, got {images.dtype}")
    if images.ndim == 2 and images.shape[1] == spec.values_per_image:
        images = images.reshape(len(images), *shape)
    if images.shape[1:] != shape:
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
    """An IDX dataset: its four files from the first source that gives each, verified, decoded and checked."""
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
    # Both splits' images and int64 labels, and no more than this machine can hold.
    limit = min(raw_limit(2 * MAX_IMAGES * (spec.values_per_image + 8)), memory_cap())
    if not regular_file(path):
        hint = "" if path.is_absolute() else (
            " in this working copy (an experiment run in a copy made from git, `dvc exp run --temp`, `--queue`, "
            "`make smoke`, holds no git-ignored file: `dvc add` it and commit its .dvc file, or give an absolute "
            "path; docs/data.md)")
        raise StudyError(f"{path}: the dataset file does not exist{hint}")
    if path.stat().st_size > limit:
        raise StudyError(f"{path}: {path.stat().st_size} bytes, more than the {limit} this dataset can hold")
    try:
        with path.open("rb") as stream:
            data = read_capped(stream, limit, str(path))
    except OSError as error:
        raise StudyError(f"{path}: cannot read the dataset file ({error.strerror or error})") from None
    verify_sha256(data, spec.sha256, str(path))
    try:
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
        if unpacked > limit:
            raise StudyError(f"{path}: its arrays take {unpacked} bytes, more than the {limit} this dataset can hold")
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
    """A catalogue entry's dataset from its kind of source (``sources`` tried in ``default_sources`` order)."""
    if spec.kind == "sklearn":
        return load_digits_dataset(spec)
    if spec.kind == "npz":
        return load_npz_dataset(spec)
    if spec.kind == "torchvision":
        from aestudy.data.torchvision_sets import load_torchvision_dataset  # torch only for such an entry

        return load_torchvision_dataset(spec, raw_dir, mirror)
    return load_idx_dataset(spec, default_sources(spec, raw_dir, mirror))
