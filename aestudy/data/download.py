"""Downloads of IDX files over HTTP(S), under a wall-clock deadline inside every read and a minimum rate."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from aestudy.core.errors import StudyError, clipped, redacted
from aestudy.data.reads import Pace, raw_limit, read_capped
from aestudy.data.sources import Source

DOWNLOAD_TIMEOUT_S = 30  # a download that sends nothing for this long has failed


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
        """Put a connected socket under the deadline (shut at once when it has passed already)."""
        self.sockets.append(sock)
        if self.expired:
            self.expire()

    def expire(self) -> None:
        """The deadline has passed: shut every watched socket, so that a blocked read returns."""
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

    class HTTPOnlyRedirects(urllib.request.HTTPRedirectHandler):
        """urllib follows a redirect to ``ftp://`` too, whose connection no deadline watches: refused."""

        def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, PLR0913
            scheme = urllib.parse.urlsplit(newurl).scheme
            if scheme not in ("http", "https"):
                raise urllib.error.HTTPError(req.full_url, code, f"a redirect to {scheme}:// refused (HTTP(S) only)",
                                             headers, fp)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(HTTP, HTTPS, HTTPOnlyRedirects)


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
        """The base URL, without its user and password."""
        return redacted(self.base)

    def fetch(self, dataset: str, name: str, limit: int) -> tuple[bytes, str] | None:
        """The raw bytes of ``<base>[/<dataset>]/<name>.gz`` under the deadline and rate (``Source.fetch``)."""
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
