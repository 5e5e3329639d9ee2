"""Where a dataset's IDX files may be found, tried in order: a ``Source`` each; here the folders (``data/raw``, a
mirror's folder or ``file://`` URL, an entry's own folder). HTTP(S) sources are ``aestudy.data.download``'s."""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from aestudy.core.errors import StudyError
from aestudy.data.reads import raw_limit, read_capped, read_zip_member, regular_file


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
        """The folder's path."""
        return str(self.root)

    def fetch(self, dataset: str, name: str, limit: int) -> tuple[bytes, str] | None:
        """The raw bytes of ``name`` in the folder, its ``.gz``, or a member of its one zip (``Source.fetch``)."""
        folder = self.root / dataset if self.per_dataset else self.root
        for candidate in (folder / f"{name}.gz", folder / name):
            if regular_file(candidate):
                try:
                    with candidate.open("rb") as stream:
                        size = os.fstat(stream.fileno()).st_size  # known before a byte is read (a sparse file too)
                        if size > raw_limit(limit):
                            raise StudyError(f"{candidate}: {size} bytes, larger than {raw_limit(limit)} bytes, the "
                                             "most this file can hold")
                        return read_capped(stream, raw_limit(limit), str(candidate)), str(candidate)
                except OSError as error:
                    raise StudyError(f"{candidate}: cannot be read ({error.strerror or error})") from None
        zips = sorted(folder.glob("*.zip")) if folder.is_dir() else []
        if len(zips) > 1:
            raise StudyError(f"{folder}: holds {len(zips)} zip files, expected at most one")
        if zips and regular_file(zips[0]):
            return read_zip_member(zips[0], name, limit)
        return None


def file_url_path(location: str) -> Path | None:
    """The folder of a ``file://`` URL (read like any folder, with its checks); None for any other location."""
    if not location.lower().startswith("file://"):
        return None
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(location).path))
