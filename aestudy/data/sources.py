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

import hashlib
import http.client
import io
import os
import socket
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aestudy.core.errors import StudyError, clipped, redacted
from aestudy.core.memory import machine_bytes
from aestudy.data.datasets import IDX_FILES, Dataset, DatasetSpec, Split

NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
DIGITS_TRAIN_COUNT = 1500  # of 1797: the first 1500 images train, the rest test (collection order)
IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1-D labels and 3-D images
# What a declared IDX file may hold: at most MAX_IMAGES images of the entry's shape, or their labels (EMNIST
# ByClass, the largest IDX set we know of, has 697932 training images). Every read stops at that size, so a
# decompression bomb, an endless download or a link to /dev/zero costs at most that much memory.
MAX_IMAGES = 1_000_000
# And at most this share of the machine's memory: a read holds the raw bytes, the decompressed ones and the
# joined copy at once (a 2 GiB gzip bomb capped at 784 MB peaked at 1.5 GiB), so a quarter keeps it resident.
MEMORY_SHARE = 4
DOWNLOAD_TIMEOUT_S = 30  # a download that sends nothing for this long has failed
DOWNLOAD_DEADLINE_S = 900  # one file's whole download, however it trickles (MNIST's largest: 10 MB compressed)
# A download slower than this over the last RATE_WINDOW_S seconds is stuck: it ends naming its rate.
MIN_RATE = 10_000  # bytes per second
RATE_WINDOW_S = 60
CHUNK = 1 << 20
MIRROR_VARIABLE = "AE_DATA_MIRROR"


def memory_cap() -> int:
    """The most bytes one read may hold: a share of this machine's memory."""
    return machine_bytes() // MEMORY_SHARE


def idx_limit(spec: DatasetSpec, name: str) -> int:
    """The most bytes the decompressed IDX file ``name`` of ``spec`` can hold: MAX_IMAGES images of the entry's
    shape (or their labels), and no more than this machine can hold."""
    height, width = spec.image_shape
    return min(16 + MAX_IMAGES * height * width if "idx3" in name else 8 + MAX_IMAGES, memory_cap())


def mirror_from_environment() -> str | None:
    """``$AE_DATA_MIRROR``: a URL or an absolute folder; unset or empty, None. A relative path is refused: each
    experiment runs in its own working copy, so it would name another folder in each."""
    mirror = os.environ.get(MIRROR_VARIABLE) or None
    if mirror is not None and "://" not in mirror and not Path(mirror).is_absolute():
        raise StudyError(redacted(f"{MIRROR_VARIABLE}={clipped(mirror)}: give an absolute path or a URL (a relative "
                                  "path resolves against each experiment's working copy; from the project root: "
                                  f"{MIRROR_VARIABLE}=$(realpath {clipped(mirror)}))"))
    return mirror


def regular_file(path: Path) -> bool:
    """Whether ``path`` is there; a StudyError when it is there but is not a regular file (a FIFO, a device, a
    folder, a link to one), checked before it is opened: opening a FIFO waits for a writer forever."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as error:
        raise StudyError(f"{path}: cannot be read ({error.strerror or error})") from None
    if stat.S_ISREG(mode):
        return True
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a folder" if stat.S_ISDIR(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise StudyError(f"{path}: is {kind}{' (through a link)' if path.is_symlink() else ''}, not a regular file")


def raw_limit(limit: int) -> int:
    """The most bytes a gzip or zip file of content of at most ``limit`` bytes can take: stored blocks add
    a few bytes per 64 KiB."""
    return limit + limit // 1000 + (1 << 16)


@dataclass(frozen=True)
class Pace:
    """How long a download may take: a deadline for the whole of it, and a minimum rate over a window."""

    deadline_s: float = DOWNLOAD_DEADLINE_S
    min_rate: float = MIN_RATE  # bytes per second
    window_s: float = RATE_WINDOW_S


def read_capped(stream, limit: int, origin: str, pace: Pace | None = None) -> bytes:
    """Everything ``stream`` holds, refused past ``limit`` bytes or, with ``pace``, past its deadline or when
    slower than its minimum rate over a whole window; chunk by chunk, so that nothing ever holds more than
    ``limit`` bytes in memory."""
    read = getattr(stream, "read1", stream.read)  # read1: what has arrived, so a trickle still meets the checks
    start = time.monotonic()
    arrivals: deque[tuple[float, int]] = deque([(start, 0)])  # (when, bytes so far), over the last window
    chunks, size = [], 0
    while True:
        now = time.monotonic()
        if pace is not None:
            if now - start > pace.deadline_s:
                raise StudyError(f"{origin}: not received within the {pace.deadline_s:g} s deadline ({size} bytes "
                                 "so far)")
            while len(arrivals) > 1 and now - arrivals[1][0] >= pace.window_s:
                arrivals.popleft()
            since, before = arrivals[0]
            if now - since >= pace.window_s and (size - before) / (now - since) < pace.min_rate:
                rate = (size - before) / (now - since)
                raise StudyError(f"{origin}: {rate:.0f} bytes/s over the last {now - since:.0f} s, below the "
                                 f"{pace.min_rate:g} bytes/s a download must keep ({size} bytes so far)")
        chunk = read(CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise StudyError(f"{origin}: larger than {limit} bytes, the most this file can hold")
        chunks.append(chunk)
        arrivals.append((time.monotonic(), size))


# ---------------------------------------------------------------------------------------------------
# IDX decoding


def gunzip(data: bytes, origin: str, limit: int) -> bytes:
    """Decompress gzip bytes (one member or several), refused past ``limit`` bytes of output before more
    memory is spent; a file that is not gzip, or is truncated or corrupt, is an error."""
    if data[:2] != b"\x1f\x8b":
        raise StudyError(f"{origin}: not a gzip file")
    parts, size = [], 0
    try:
        while data:
            member = zlib.decompressobj(16 + zlib.MAX_WBITS)
            part = member.decompress(data, limit - size + 1)
            size += len(part)
            if size > limit:
                raise StudyError(f"{origin}: decompresses to more than {limit} bytes, the most this file can hold")
            if not member.eof:
                raise StudyError(f"{origin}: truncated gzip file")
            parts.append(part)
            data = member.unused_data.lstrip(b"\0")  # gzip allows zero padding after a member
    except zlib.error as error:
        raise StudyError(f"{origin}: corrupt gzip file ({error})") from None
    return b"".join(parts)


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

    def fetch(self, dataset: str, name: str, limit: int) -> tuple[bytes, str] | None:
        """The raw bytes of ``name`` (gzip, or not) and where they came from; None when this source does not
        have it; a StudyError naming what went wrong when it has it but cannot give it. ``limit``: the most
        bytes its decompressed content may hold."""
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

    def fetch(self, dataset: str, name: str, limit: int) -> tuple[bytes, str] | None:
        folder = self.root / dataset if self.per_dataset else self.root
        for candidate in (folder / f"{name}.gz", folder / name):
            if regular_file(candidate):
                try:
                    with candidate.open("rb") as stream:
                        return read_capped(stream, raw_limit(limit), str(candidate)), str(candidate)
                except OSError as error:
                    raise StudyError(f"{candidate}: cannot be read ({error.strerror or error})") from None
        zips = sorted(folder.glob("*.zip")) if folder.is_dir() else []
        if len(zips) > 1:
            raise StudyError(f"{folder}: holds {len(zips)} zip files, expected at most one")
        if zips and regular_file(zips[0]):
            return read_zip_member(zips[0], name, limit)
        return None


def read_zip_member(archive: Path, name: str, limit: int) -> tuple[bytes, str]:
    """The member ``name`` or ``name.gz`` of a zip, at any depth, read up to ``limit`` bytes (decompressed);
    a missing member, one held twice, or one the zip cannot give is an error naming the archive."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            by_name: dict[str, list[zipfile.ZipInfo]] = {}
            for info in zipped.infolist():
                if not info.is_dir():
                    by_name.setdefault(Path(info.filename).name, []).append(info)
            for wanted in (f"{name}.gz", name):
                found = by_name.get(wanted, [])
                if len(found) > 1:
                    raise StudyError(f"{archive}: holds {wanted} more than once ("
                                     f"{', '.join(info.filename for info in found)}); keep one")
                if found:
                    info, origin = found[0], f"{archive}:{found[0].filename}"
                    cap = raw_limit(limit)
                    if info.file_size > cap:  # what the zip says; the read below holds it to it
                        raise StudyError(f"{origin}: {info.file_size} bytes, more than the {cap} this file can hold")
                    with zipped.open(info) as stream:
                        return read_capped(stream, cap, origin), origin
    except zipfile.BadZipFile as error:
        raise StudyError(f"{archive}: not a valid zip file ({error})") from None
    except (zlib.error, EOFError) as error:
        raise StudyError(f"{archive}: corrupt compressed data ({error})") from None
    except NotImplementedError as error:  # a compression method zipfile lacks (a RuntimeError: first)
        raise StudyError(f"{archive}: unsupported zip member ({error})") from None
    except RuntimeError as error:  # an encrypted member
        raise StudyError(f"{archive}: cannot be read ({error})") from None
    except OSError as error:  # a directory named *.zip, an unreadable file
        raise StudyError(f"{archive}: cannot be read ({error.strerror or error})") from None
    expected = ", ".join(f"{n}[.gz]" for n in IDX_FILES.values())
    raise StudyError(f"{archive}: no member {name}[.gz]; a dataset zip holds {expected}")


class Deadline:
    """A wall-clock deadline on every socket of one download: when it passes, each is shut down, so that a read
    blocked on a server that sends one byte at a time (a status line, a header, a chunk size) returns at once.
    The rate and deadline checks of ``read_capped`` run between reads; this one runs inside them."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.expired = seconds, False
        self.sockets: list[socket.socket] = []
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        self.sockets.append(sock)
        if self.expired:
            self.expire()

    def expire(self) -> None:
        self.expired = True
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # closed already
                pass

    def __enter__(self) -> Deadline:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()


def watched_opener(deadline: Deadline) -> urllib.request.OpenerDirector:
    """A urllib opener whose HTTP and HTTPS connections (redirects' included) are under ``deadline``."""
    def watched(connection: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        class Watched(connection):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                deadline.watch(self.sock)
        return Watched

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req):  # noqa: ANN001 - urllib's signature
            return self.do_open(watched(http.client.HTTPConnection), req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req):  # noqa: ANN001
            return self.do_open(watched(http.client.HTTPSConnection), req, context=self._context)

    return urllib.request.build_opener(HTTP, HTTPS)


@dataclass
class URLSource(Source):
    """A base URL with ``<base>/<dataset>/<name>.gz``, or, when ``per_dataset`` is False, ``<base>/<name>.gz``.
    HTTP(S) only: a ``file://`` URL is a folder (``default_sources``)."""

    base: str
    per_dataset: bool = True
    kind: str = "mirror"
    timeout_s: float = DOWNLOAD_TIMEOUT_S  # silence that fails the download
    pace: Pace = Pace()  # the whole download's deadline and its minimum rate

    @property
    def description(self) -> str:
        return redacted(self.base)

    def fetch(self, dataset: str, name: str, limit: int) -> tuple[bytes, str] | None:
        prefix = f"{self.base.rstrip('/')}/{dataset}" if self.per_dataset else self.base.rstrip("/")
        url = f"{prefix}/{name}.gz"
        origin = redacted(url)  # what messages and the dataset's facts name: no password
        if not url.lower().startswith(("http://", "https://")):
            raise StudyError(f"{origin}: only http://, https:// and file:// sources are read")
        cap = raw_limit(limit)
        with Deadline(self.pace.deadline_s) as deadline:
            try:
                with watched_opener(deadline).open(url, timeout=self.timeout_s) as response:
                    declared = response.headers.get("Content-Length")
                    if declared is not None and declared.isdigit() and int(declared) > cap:
                        raise StudyError(f"{origin}: {declared} bytes, more than the {cap} this file can hold")
                    data = read_capped(response, cap, origin, self.pace)
            except StudyError:
                raise
            except urllib.error.HTTPError as error:
                raise StudyError(f"{origin}: HTTP {error.code} {clipped(str(error.reason))}") from None
            except (urllib.error.URLError, TimeoutError, OSError, ValueError, http.client.HTTPException) as error:
                if deadline.expired:
                    raise StudyError(f"{origin}: not received within the {self.pace.deadline_s:g} s deadline"
                                     ) from None
                if isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError):
                    raise StudyError(f"{origin}: nothing received for {self.timeout_s:g} s") from None
                reason = error.reason if isinstance(error, urllib.error.URLError) else error
                raise StudyError(f"{origin}: {clipped(str(reason))}") from None
        if deadline.expired:  # the shutdown ended the body early
            raise StudyError(f"{origin}: not received within the {self.pace.deadline_s:g} s deadline")
        return data, origin


def file_url_path(location: str) -> Path | None:
    """The folder of a ``file://`` URL (read like any folder, with its checks); None for any other location."""
    if not location.lower().startswith("file://"):
        return None
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(location).path))


def default_sources(spec: DatasetSpec, raw_dir: Path, mirror: str | None) -> list[Source]:
    """``data/raw``, then ``$AE_DATA_MIRROR`` (a folder or a URL), then the entry's own URL or folder."""
    sources: list[Source] = [FolderSource(raw_dir)]
    for location, kind, per_dataset in ((mirror, "mirror", True), (spec.location, "declared source", False)):
        if not location:
            continue
        folder = file_url_path(location) if "://" in location else Path(location)
        sources.append(FolderSource(folder, kind=kind, per_dataset=per_dataset) if folder is not None
                       else URLSource(location, per_dataset=per_dataset, kind=kind))
    return sources


def fetch_verified(spec: DatasetSpec, name: str, sources: list[Source]) -> tuple[bytes, str, Source]:
    """The decompressed, verified content of one IDX file from the first source that gives it, where it came
    from, and that source. A source that fails (not found, HTTP 404, a timeout, a bomb, a checksum) is
    passed over; when every one fails, the error says what each one said."""
    limit, said = idx_limit(spec, name), []
    for source in sources:
        try:
            found = source.fetch(spec.name, name, limit)
            if found is None:
                said.append(f"{source.description}: not there")
                continue
            data, origin = found
            content = gunzip(data, origin, limit) if data[:2] == b"\x1f\x8b" or origin.endswith(".gz") else data
            if len(content) > limit:
                raise StudyError(f"{origin}: larger than {limit} bytes, the most this file can hold")
            verify_sha256(content, spec.sha256[name], origin)
            return content, origin, source
        except StudyError as error:
            said.append(str(error))
    raise StudyError(f"{spec.name}/{name}: no source gave a verified copy ({'; '.join(said)})")


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
    height, width = spec.image_shape
    # Both splits' images and int64 labels, and no more than this machine can hold.
    limit = min(raw_limit(2 * MAX_IMAGES * (height * width + 8)), memory_cap())
    if not regular_file(path):
        raise StudyError(f"{path}: the dataset file does not exist")
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
    return load_idx_dataset(spec, default_sources(spec, raw_dir, mirror))
