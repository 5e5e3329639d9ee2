"""Bounded reads of external files: every read stops at a size this machine can hold and, for a download, at a
deadline and a minimum rate; gzip and zip content is held to the same limits; special files are refused unopened.

What a declared IDX file may hold sets the limits (``aestudy.data.idx``); the sources (``aestudy.data.sources``,
``aestudy.data.download``) read through these functions.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
import zipfile
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from aestudy.core.errors import StudyError
from aestudy.core.memory import machine_bytes
from aestudy.data.datasets import IDX_FILES

# What a declared IDX file may hold: at most MAX_IMAGES images of the entry's shape, or their labels (EMNIST
# ByClass, the largest IDX set we know of, has 697932 training images). Every read stops at that size, so a
# decompression bomb, an endless download or a link to /dev/zero costs at most that much memory.
MAX_IMAGES = 1_000_000
# And at most this share of the machine's memory: a read holds the raw bytes, the decompressed ones and the
# joined copy at once (a 2 GiB gzip bomb capped at 784 MB peaked at 1.5 GiB), so a quarter keeps it resident.
MEMORY_SHARE = 4
DOWNLOAD_DEADLINE_S = 900  # one file's whole download, however it trickles (MNIST's largest: 10 MB compressed)
# A download slower than this over the last RATE_WINDOW_S seconds is stuck: it ends naming its rate.
MIN_RATE = 10_000  # bytes per second
RATE_WINDOW_S = 60
CHUNK = 1 << 20


def memory_cap() -> int:
    """The most bytes one read may hold: a share of this machine's memory."""
    return machine_bytes() // MEMORY_SHARE


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


def verify_sha256(content: bytes, expected: str, origin: str) -> None:
    """The content's SHA-256 must be the expected one; the message names the file and both sums."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise StudyError(f"{origin}: SHA-256 of the content is {actual}, expected {expected}")
