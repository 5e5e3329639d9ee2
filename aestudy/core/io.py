"""Atomic, reproducible writes: every output appears whole or not at all, with the same bytes for the same data.

A stage killed half-way leaves at most a ``.<name>.tmp-*`` file behind, never a truncated result that DVC or
a later stage would take for a finished one. Array files carry no timestamp, so a stage that re-runs on
unchanged inputs writes the same bytes, and DVC re-runs nothing downstream of it. Every file gets the mode
an ordinary ``open`` would give it under the process's umask (a temporary file is created 0600).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from aestudy.core.errors import StudyError

# numpy's savez stamps each member with the time of writing; a fixed date keeps the bytes reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def umask() -> int:
    """The process's umask (read by setting it and setting it back: there is no other way to read it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open`` gives a new file here: 0666 less the umask."""
    return 0o666 & ~umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """A temporary folder beside ``folder`` whose files move into ``folder`` when the block succeeds; otherwise it
    goes with everything written to it, so a stage that fails half-way leaves none of its outputs behind."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.staged-"))
    try:
        yield stage
        for path in sorted(p for p in stage.rglob("*") if p.is_file()):
            target = folder / path.relative_to(stage)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def csv_text(header: list[str], rows: list[list]) -> str:
    """A CSV table (``None`` as an empty cell), lines ending in ``\\n`` on every platform."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """An uncompressed ``.npz`` that ``np.load`` reads, byte-identical for identical arrays."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def parse_text_file(path: str | Path, parse: Callable[[str], Any], kind: str, error: type[Exception]) -> Any:
    """``parse`` of a UTF-8 file's text; a missing file or a parse error is one line naming the file."""
    path = Path(path)
    try:
        return parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyError(f"{path}: file not found") from None
    except error as problem:
        raise StudyError(f"{path}: not valid {kind} ({problem})".replace("\n", " ")) from None


def read_json(path: str | Path) -> Any:
    return parse_text_file(path, json.loads, "JSON", json.JSONDecodeError)


def read_yaml(path: str | Path) -> Any:
    return parse_text_file(path, yaml.safe_load, "YAML", yaml.YAMLError)


def read_npz(path: str | Path, *names: str) -> tuple[np.ndarray, ...]:
    """The named arrays of an ``.npz`` file; a missing file or member is an error naming the file."""
    path = Path(path)
    try:
        with np.load(path) as arrays:
            return tuple(arrays[name] for name in names)
    except FileNotFoundError:
        raise StudyError(f"{path}: not found; run the stage that writes it first (dvc repro)") from None
    except KeyError as error:
        raise StudyError(f"{path}: has no array {error}") from None
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise StudyError(f"{path}: not a readable .npz file ({error})") from None
