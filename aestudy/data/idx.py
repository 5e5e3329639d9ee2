"""The IDX format (MNIST's and its kin's files): the limits of a declared file and the decoding of its bytes."""

from __future__ import annotations

import numpy as np

from aestudy.core.errors import StudyError
from aestudy.data.datasets import DatasetSpec
from aestudy.data.reads import MAX_IMAGES, memory_cap

IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1-D labels and 3-D images


def idx_limit(spec: DatasetSpec, name: str) -> int:
    """The most bytes the decompressed IDX file ``name`` of ``spec`` can hold: MAX_IMAGES images of the entry's
    shape (or their labels), and no more than this machine can hold."""
    return min(16 + MAX_IMAGES * spec.values_per_image if "idx3" in name else 8 + MAX_IMAGES, memory_cap())


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
