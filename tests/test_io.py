"""Outputs are written atomically, follow the umask like any other file, and read back byte for byte."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aestudy.core.errors import StudyError
from aestudy.core.io import atomic_path, read_json, read_npz, staged_folder, write_json, write_npz, write_text


@pytest.fixture(params=[0o022, 0o077, 0o002])
def mask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_follow_the_umask(tmp_path: Path, mask: int) -> None:
    """A temporary file is created 0600; the output it becomes has the mode ``open`` would have given it."""
    write_json(tmp_path / "a.json", {"x": 1})
    write_npz(tmp_path / "b.npz", x=np.arange(3))
    write_text(tmp_path / "deep/c.md", "c")
    with staged_folder(tmp_path / "metrics") as out:
        write_text(out / "figures/d.txt", "d")
    (tmp_path / "plain").write_text("p")  # what an ordinary open gives
    expected = mode(tmp_path / "plain")
    assert expected == 0o666 & ~mask
    for name in ("a.json", "b.npz", "deep/c.md", "metrics/figures/d.txt"):
        assert mode(tmp_path / name) == expected, name


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    write_text(tmp_path / "kept.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "kept.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError
    with pytest.raises(RuntimeError), staged_folder(tmp_path / "metrics") as out:
        write_text(out / "a.txt", "a")
        raise RuntimeError
    assert (tmp_path / "kept.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]  # no temporary, no empty folder


def test_npz_bytes_depend_on_the_arrays_alone(tmp_path: Path) -> None:
    write_npz(tmp_path / "a.npz", x=np.arange(5), y=np.eye(2))
    os.utime(tmp_path / "a.npz", (0, 0))
    write_npz(tmp_path / "b.npz", x=np.arange(5), y=np.eye(2))
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    x, y = read_npz(tmp_path / "b.npz", "x", "y")
    assert np.array_equal(x, np.arange(5)) and np.array_equal(y, np.eye(2))


def test_reading_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match=r"missing.npz: not found; run the stage that writes it first"):
        read_npz(tmp_path / "missing.npz", "x")
    write_npz(tmp_path / "a.npz", x=np.arange(2))
    with pytest.raises(StudyError, match=r"a.npz: has no array 'z"):
        read_npz(tmp_path / "a.npz", "z")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(StudyError, match=r"bad.json: not valid JSON"):
        read_json(tmp_path / "bad.json")
