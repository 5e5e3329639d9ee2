"""Hostile and broken external data: bombs, endless and trickling downloads, malformed archives, and a fuzz of
the readers. Each ends in seconds with one StudyError naming the file, memory bounded by what the declared
dataset can hold (here a 4x4 dataset: MAX_IMAGES images of 16 pixels, 16 MB)."""

from __future__ import annotations

import gzip
import io
import os
import random
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from aestudy.core.errors import StudyError
from aestudy.data.datasets import IDX_FILES, DatasetSpec
from aestudy.data.download import URLSource
from aestudy.data.idx import idx_limit, parse_idx
from aestudy.data.loaders import default_sources, fetch_verified, load_npz_dataset
from aestudy.data.reads import Pace, gunzip, memory_cap, read_zip_member
from aestudy.data.sources import FolderSource
from tests.conftest import tiny_idx_arrays, tiny_spec, write_idx_folder
from tests.servers import QuietHandler, http_server

IMAGES = IDX_FILES["train_images"]
SPEC = tiny_spec({name: b"" for name in IDX_FILES.values()})  # a 4x4 dataset; no content matches its sums
LIMIT = idx_limit(SPEC, IMAGES)  # 16 + 10^6 * 16 bytes
MEMORY_BOUND = 4 * LIMIT  # the content, the compressed bytes, and room for Python's own


def zeros_gzip(n_bytes: int) -> bytes:
    """A gzip bomb: ``n_bytes`` of zeros in about n_bytes / 1000 bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join(compressor.compress(block) for _ in range(n_bytes >> 20)) + compressor.flush()


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """The block must end within ``seconds`` and allocate at most MEMORY_BOUND bytes at its peak."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < MEMORY_BOUND, f"peak {peak / 2**20:.0f} MiB"


def test_a_gzip_bomb_stops_at_the_files_limit(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "mnist"
    folder.mkdir(parents=True)
    (folder / f"{IMAGES}.gz").write_bytes(zeros_gzip(256 << 20))  # 256 MiB inflated (16 times the cap), 256 KB
    with bounded(10), pytest.raises(StudyError, match=rf"{IMAGES}.gz: decompresses to more than {LIMIT} bytes"):
        fetch_verified(SPEC, IMAGES, [FolderSource(tmp_path / "raw")])


def zip_with(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as zipped:
        for name, content in members.items():
            zipped.writestr(name, content)
    return path


def test_a_zip_bomb_is_refused_by_its_declared_size_and_a_zipped_gzip_bomb_by_its_content(tmp_path: Path) -> None:
    bomb = zip_with(tmp_path / "a" / "mnist" / "d.zip", {IMAGES: bytes(64 << 20)})  # 64 MiB of zeros
    with bounded(10), pytest.raises(StudyError, match=rf"d.zip:{IMAGES}: 67108864 bytes, more than the"):
        read_zip_member(bomb, IMAGES, LIMIT)
    nested = zip_with(tmp_path / "b" / "mnist" / "d.zip", {f"{IMAGES}.gz": zeros_gzip(256 << 20)},
                      zipfile.ZIP_STORED)
    with bounded(10), pytest.raises(StudyError, match=rf"d.zip:{IMAGES}.gz: decompresses to more than {LIMIT}"):
        fetch_verified(SPEC, IMAGES, [FolderSource(nested.parent.parent)])


class Hostile(QuietHandler):
    """/endless: bytes for ever, no length; /trickle: one byte every 0.5 s; anything else: 404."""

    def do_GET(self) -> None:
        if "endless" not in self.path and "trickle" not in self.path:
            self.send_error(404)
            return
        self.send_response(200)
        self.end_headers()
        try:
            while True:
                if "endless" in self.path:
                    self.wfile.write(bytes(1 << 16))
                else:
                    self.wfile.write(b"\x1f")
                    self.wfile.flush()
                    time.sleep(0.5)
        except OSError:  # the client hung up, as it should
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with http_server(Hostile) as url:
        yield url


def test_an_endless_body_stops_at_the_files_limit(server: str) -> None:
    with bounded(20), pytest.raises(StudyError, match=r"/endless/mnist/train-images-idx3-ubyte.gz: larger than "):
        fetch_verified(SPEC, IMAGES, [URLSource(f"{server}/endless")])


def test_a_trickle_meets_the_download_deadline(server: str) -> None:
    source = URLSource(f"{server}/trickle", timeout_s=5, pace=Pace(deadline_s=2, min_rate=0.0))
    with bounded(6), pytest.raises(StudyError, match=r"trickle/mnist/\S+: not received within the 2 s deadline"):
        fetch_verified(SPEC, IMAGES, [source])


def test_a_trickle_under_the_minimum_rate_ends_after_one_window(server: str) -> None:
    """Two bytes a second, each arriving well within the silence timeout: the rate, not the deadline, ends it."""
    source = URLSource(f"{server}/trickle", timeout_s=5, pace=Pace(deadline_s=900, min_rate=10_000, window_s=2))
    with bounded(6), pytest.raises(StudyError, match=r"trickle/mnist/\S+: \d bytes/s over the last 2 s, below the "
                                                     r"10000 bytes/s a download must keep \(\d+ bytes so far\)"):
        fetch_verified(SPEC, IMAGES, [source])


def test_a_fifo_or_a_device_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    """Opening a FIFO waits for a writer forever; /dev/zero never ends: neither is read."""
    folder = tmp_path / "raw" / "mnist"
    folder.mkdir(parents=True)
    os.mkfifo(folder / f"{IMAGES}.gz")
    with bounded(5), pytest.raises(StudyError, match=rf"{IMAGES}.gz: is a FIFO, not a regular file"):
        fetch_verified(SPEC, IMAGES, [FolderSource(tmp_path / "raw")])
    fifo = tmp_path / "d.npz"
    os.mkfifo(fifo)
    zero = tmp_path / "z.npz"
    zero.symlink_to("/dev/zero")
    with bounded(5), pytest.raises(StudyError, match=r"d.npz: is a FIFO, not a regular file"):
        load_npz_dataset(DatasetSpec("x", "npz", str(fifo), (256, 256), "0" * 64))
    with bounded(5), pytest.raises(StudyError, match=r"z.npz: is a character device \(through a link\), not a "):
        load_npz_dataset(DatasetSpec("x", "npz", str(zero), (256, 256), "0" * 64))


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_file_url_mirror_gets_the_folders_checks(tmp_path: Path, kind: str) -> None:
    """A `file://` mirror is read as a folder: a link to /dev/zero or a FIFO there is refused by name before it is
    opened (through urllib, the FIFO hung `extract`)."""
    (tmp_path / "mirror" / "mnist").mkdir(parents=True)
    planted = tmp_path / "mirror" / "mnist" / f"{IMAGES}.gz"
    planted.symlink_to("/dev/zero") if kind == "device" else os.mkfifo(planted)
    sources = default_sources(SPEC, tmp_path / "raw", (tmp_path / "mirror").as_uri())
    with bounded(5), pytest.raises(StudyError, match=r"ubyte.gz: is a (character device \(through a link\)|FIFO), "
                                                     r"not a regular file"):
        fetch_verified(SPEC, IMAGES, sources)


def test_when_every_source_fails_the_error_says_what_each_said(tmp_path: Path, server: str) -> None:
    (tmp_path / "raw" / "mnist").mkdir(parents=True)
    (tmp_path / "raw" / "mnist" / f"{IMAGES}.gz").write_bytes(gzip.compress(b"not the file"))
    sources = [FolderSource(tmp_path / "raw"), URLSource(f"{server}/missing"),
               URLSource(f"{server}/trickle", timeout_s=0.2), FolderSource(tmp_path / "empty")]
    with pytest.raises(StudyError) as raised:
        fetch_verified(SPEC, IMAGES, sources)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"mnist/{IMAGES}: no source gave a verified copy (")
    assert f"{IMAGES}.gz: SHA-256 of the content is" in message  # the folder's checksum
    assert "HTTP 404" in message  # the mirror's status
    assert "nothing received for 0.2 s" in message  # the stalled source
    assert f"{tmp_path / 'empty'}: not there" in message


def patched_zip(tmp_path: Path, flag: int | None = None, method: int | None = None) -> Path:
    """A one-member zip with its general-purpose flag or compression method rewritten in both headers."""
    path = zip_with(tmp_path / "x.zip", {IMAGES: bytes(range(256)) * 64})
    data = bytearray(path.read_bytes())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(signature)
        if flag is not None:
            struct.pack_into("<H", data, at + flag_at, flag)
        if method is not None:
            struct.pack_into("<H", data, at + method_at, method)
    path.write_bytes(bytes(data))
    return path


def corrupt_deflate(tmp_path: Path) -> Path:
    path = zip_with(tmp_path / "x.zip", {IMAGES: bytes(range(256)) * 64})
    data = bytearray(path.read_bytes())
    data[40:60] = b"\xff" * 20  # inside the member's deflate stream
    path.write_bytes(bytes(data))
    return path


def two_copies(tmp_path: Path) -> Path:
    return zip_with(tmp_path / "x.zip", {f"a/{IMAGES}": b"1", f"b/{IMAGES}": b"2"})


def not_a_zip(tmp_path: Path) -> Path:
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04 not really")
    return tmp_path / "x.zip"


def directory_named_zip(tmp_path: Path) -> Path:
    (tmp_path / "x.zip").mkdir()
    return tmp_path / "x.zip"


@pytest.mark.parametrize(("make", "message"), [
    (corrupt_deflate, r"x.zip: (corrupt compressed data|not a valid zip file)"),
    (lambda p: patched_zip(p, flag=0x1), r"x.zip: cannot be read \(File .* is encrypted"),
    (lambda p: patched_zip(p, method=99), r"x.zip: unsupported zip member \(.*compression method"),
    (directory_named_zip, r"x.zip: cannot be read \(Is a directory\)"),
    (two_copies, rf"x.zip: holds {IMAGES} more than once \(a/{IMAGES}, b/{IMAGES}\); keep one"),
    (not_a_zip, r"x.zip: not a valid zip file"),
])
def test_each_malformed_zip_is_one_line(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(StudyError, match=message) as raised:
        read_zip_member(make(tmp_path), IMAGES, LIMIT)
    assert "\n" not in str(raised.value)


def mutations(data: bytes, rng: random.Random) -> bytes:
    """One seeded random mutation: flipped bytes, a cut, a spliced run, or a rewritten length field."""
    out = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif kind == 1:
        del out[rng.randrange(len(out)):]
    elif kind == 2:
        at = rng.randrange(len(out))
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:
        at = rng.randrange(max(1, len(out) - 4))
        out[at:at + 4] = rng.getrandbits(32).to_bytes(4, "big")
    return bytes(out)


def test_fuzzed_idx_gzip_and_zip_inputs_end_in_a_result_or_one_study_error(tmp_path: Path) -> None:
    """3000 seeded mutations of valid files through the readers: gzip then IDX decoding, and zip members."""
    arrays = tiny_idx_arrays(n_train=40)
    contents = write_idx_folder(tmp_path / "valid", arrays, compress=False)
    raw_idx = contents[IMAGES]
    gz = gzip.compress(raw_idx)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(f"d/{IMAGES}", raw_idx)
        zipped.writestr(f"d/{IDX_FILES['train_labels']}.gz", gzip.compress(contents[IDX_FILES["train_labels"]]))
    valid_zip = buffer.getvalue()
    rng, outcomes = random.Random(0), {"result": 0, "StudyError": 0}
    target = tmp_path / "fuzz.zip"
    for case in range(3000):
        kind = case % 3
        try:
            if kind == 0:
                parse_idx(mutations(raw_idx, rng), 3, "f")
            elif kind == 1:
                parse_idx(gunzip(mutations(gz, rng), "f.gz", LIMIT), 3, "f.gz")
            else:
                target.write_bytes(mutations(valid_zip, rng))
                for name in (IMAGES, IDX_FILES["train_labels"]):
                    data, origin = read_zip_member(target, name, LIMIT)
                    if origin.endswith(".gz"):
                        gunzip(data, origin, LIMIT)
            outcomes["result"] += 1
        except StudyError:
            outcomes["StudyError"] += 1
    # Both outcomes happen (a mutation can leave a file valid): the fuzz reached past the first checks.
    assert outcomes["result"] > 100 and outcomes["StudyError"] > 1000, outcomes


def test_limits_follow_the_declared_shape_and_the_machine() -> None:
    assert idx_limit(SPEC, IMAGES) == 16 + 1_000_000 * 16
    # A million 256x256 images would be 65 GB: the cap is what this machine can hold.
    large = DatasetSpec("x", "idx", "nowhere", (256, 256), {})
    assert idx_limit(large, IMAGES) == memory_cap() < 16 + 1_000_000 * 256 * 256
    assert idx_limit(SPEC, IDX_FILES["train_labels"]) == 8 + 1_000_000
    assert np.prod(SPEC.image_shape) == 16
