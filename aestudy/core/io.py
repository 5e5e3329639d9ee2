"""Atomic, reproducible writes, and bounded reads of the configuration.

Writes: every output appears whole or not at all, with the same bytes for the same data.

A stage killed half-way leaves at most a ``.<name>.tmp-*`` file behind, never a truncated result that DVC or
a later stage would take for a finished one. Array files carry no timestamp, so a stage that re-runs on
unchanged inputs writes the same bytes, and DVC re-runs nothing downstream of it. Every file gets the mode
an ordinary ``open`` would give it under the process's umask (a temporary file is created 0600).

Reads: ``read_config`` reads a YAML file as DVC does (ruamel's safe loader, YAML 1.2: ``010`` is 10, ``yes`` a
string, a duplicate key an error), so that a stage and ``dvc params diff`` never see two values for one key; the
file is checked before it is parsed (a regular file, at most ``MAX_CONFIG_BYTES``, not a link out of the project)
and its values counted after (a YAML alias repeats a whole subtree: ``MAX_CONFIG_VALUES``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from aestudy.core.errors import StudyError, clipped

# numpy's savez stamps each member with the time of writing; a fixed date keeps the bytes reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# A configuration file (params.yaml, a conf/ entry, a sweep): the study's own are a few KB.
MAX_CONFIG_BYTES = 1 << 20
# Values in a configuration file, each alias counted as often as it is used (params.yaml holds about 400).
MAX_CONFIG_VALUES = 100_000


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
    """``data`` at ``path``, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """``text`` as UTF-8 at ``path``, atomically."""
    write_bytes(path, text.encode("utf-8"))


def csv_text(header: list[str], rows: list[list]) -> str:
    """A CSV table (``None`` as an empty cell), lines ending in ``\\n`` on every platform."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_json(path: str | Path, obj: Any) -> None:
    """``obj`` as indented JSON at ``path``, atomically; NaN and infinities refused."""
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
    """A JSON file; a missing or invalid one is one line naming it."""
    return parse_text_file(path, json.loads, "JSON", json.JSONDecodeError)


def read_regular(path: Path, max_bytes: int, within: Path | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, checked before they are read: a FIFO, a device
    (``/dev/zero``) or a folder is refused, and, with ``within``, a path that goes through a link below that
    folder, wherever the link leads: an error about the file's content would show what it leads to (a one-line
    ``.env`` read as a YAML string, say)."""
    if within is not None and (path.is_symlink() or path.exists()):
        target, root = path.resolve(), within.resolve()
        if target != path.absolute() and not target.is_relative_to(root):
            raise StudyError(f"{path}: a link to a file outside the project; copy the file in instead")
        if path.absolute().is_relative_to(within.absolute()) and (
                target != root / path.absolute().relative_to(within.absolute())):
            raise StudyError(f"{path}: a link; give the file itself (the study never reads through links)")
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer before the check below refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise StudyError(f"{path}: file not found") from None
    except OSError as error:
        raise StudyError(f"{path}: cannot be read ({error.strerror})") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise StudyError(f"{path}: not a regular file")
        if info.st_size > max_bytes:
            raise StudyError(f"{path}: {info.st_size} bytes, more than the {max_bytes} a configuration file may hold")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while it was read
        raise StudyError(f"{path}: more than the {max_bytes} bytes a configuration file may hold")
    return data


def count_values(value: Any, limit: int) -> int:
    """The values in a parsed document, each container and scalar once per place it appears (an alias counts
    as often as it is used), up to ``limit`` + 1: counting stops there."""
    count, todo = 0, [value]
    while todo and count <= limit:
        node = todo.pop()
        count += 1
        if isinstance(node, dict):
            todo += node.keys()
            todo += node.values()
        elif isinstance(node, list):
            todo += node
    return count


# An integer in another base than ten, or with a leading zero: YAML 1.1 and 1.2 read these differently (010 is 8
# to one and 10 to the other), and DVC's `-S` rewrite turned `010` into `0o10`, 8 to both.
NON_DECIMAL = re.compile(r"[-+]?0(?:[0-9_]+|[oO][0-7_]+|[xX][0-9A-Fa-f_]+|[bB][01_]+)")


def check_plain_yaml(events: Iterator[Any], path: Path) -> None:
    """Refuse what one YAML reader would read otherwise than another, or a template engine would expand: a
    ``%YAML``/``%TAG`` directive, an explicit tag (``!!binary``, ``!!str``...), a plain integer with a leading zero or
    in another base, and ``${...}`` in any value or key (Hydra's and OmegaConf's interpolation: ``dvc exp run -S``
    resolves ``${oc.env:SECRET}`` into the experiment's committed params)."""
    from ruamel.yaml.events import DocumentStartEvent, NodeEvent, ScalarEvent

    for event in events:
        line = f" at line {event.start_mark.line + 1}" if event.start_mark is not None else ""
        if isinstance(event, DocumentStartEvent) and (event.version or event.tags):
            raise StudyError(f"{path}: a %YAML or %TAG directive{line}; the study and DVC read YAML 1.2 as it is")
        if isinstance(event, NodeEvent) and getattr(event, "tag", None) is not None and not (
                isinstance(event, ScalarEvent) and event.implicit and event.implicit[0]):
            raise StudyError(f"{path}: an explicit YAML tag {clipped(str(event.tag))}{line}; write the value plainly")
        if isinstance(event, ScalarEvent):
            if "${" in event.value:
                raise StudyError(f"{path}: ${{...}}{line} ({clipped(event.value)}): interpolations are not read "
                                 "(DVC's -S would expand one into the experiment's committed params)")
            if not event.style and NON_DECIMAL.fullmatch(event.value):  # plain, not quoted
                raise StudyError(f"{path}: the integer {clipped(event.value)}{line} has a leading zero or another "
                                 "base; write it in decimal (YAML readers disagree on it)")


def read_config(path: str | Path, within: Path | None = None) -> Any:
    """A YAML configuration file read as DVC reads it (see the module's docstring); every problem one line
    naming the file. ``within``: the project folder that a link may not lead out of."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    path = Path(path)
    data = read_regular(path, MAX_CONFIG_BYTES, within)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise StudyError(f"{path}: not UTF-8 text") from None
    try:
        check_plain_yaml(YAML(typ="safe").parse(text), path)
        value = YAML(typ="safe").load(text)
    except StudyError:
        raise
    except MarkedYAMLError as error:
        where = f" at line {error.problem_mark.line + 1}" if error.problem_mark is not None else ""
        raise StudyError(f"{path}: not valid YAML{where} ({clipped(str(error.problem or error.context))})") from None
    except (YAMLError, RecursionError, ValueError) as error:  # a nesting too deep, a number out of range
        raise StudyError(f"{path}: not valid YAML ({type(error).__name__})") from None
    if count_values(value, MAX_CONFIG_VALUES) > MAX_CONFIG_VALUES:
        raise StudyError(f"{path}: expands to more than {MAX_CONFIG_VALUES} values (YAML aliases repeated?)")
    return value


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
