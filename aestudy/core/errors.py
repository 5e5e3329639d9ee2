"""The one exception type that a stage turns into a one-line message and a non-zero exit, and how a message
shows the value it refuses.

A message shows at most a short, truncated form of a value (``shown``): a value read from a file can be large
(a YAML alias expands to the same list many times over: six levels of a 314-byte bomb printed as a 3.6 MB line)
or hold what must not reach a log (a file's content, a password in a URL).
"""

from __future__ import annotations

import re
import reprlib

# How much of a value a message shows: a few items of each container, a few levels deep, every string cut.
_SHOWN = reprlib.Repr()
for _limit, _value in {"maxlevel": 3, "maxtuple": 6, "maxlist": 6, "maxarray": 6, "maxdict": 6, "maxset": 6,
                       "maxfrozenset": 6, "maxdeque": 6, "maxstring": 100, "maxlong": 40, "maxother": 60}.items():
    setattr(_SHOWN, _limit, _value)
MAX_SHOWN = 120  # characters of a value in a message, at most
# The user (and password) before a host: scheme://user:pw@host, scheme://user@host, or user:pw@host with no scheme.
# A password may hold '@' itself: everything up to the last '@' before the path is the user's.
_CREDENTIALS = re.compile(r"(?<=://)[^/\s'\"]*@|(?<![^\s'\"(=])[^/@\s:'\"=]+:[^/\s'\"]*@")
# A secret in a URL's query string (?access_token=..., &password=...): the value goes, the name stays.
_QUERY_SECRET = re.compile(r"(?i)([?&;][^=&\s'\"#]*(?:token|secret|pass|pwd|key|auth|sig|credential)[^=&\s'\"#]*=)"
                           r"[^&\s'\"#]*")
MAX_LISTED = 6  # names a message lists, at most


class StudyError(ValueError):
    """Bad input: a file, a param or an argument, named in the message.

    A ``ValueError``, so that scikit-learn's tooling (``GridSearchCV``'s ``error_score``, ``check_estimator``)
    recognises it as bad input rather than a bug.
    """


def shown(value: object) -> str:
    """A short form of ``value`` for a message: its ``repr`` bounded in depth, items and length (at most
    ``MAX_SHOWN`` characters), and without the credentials of any URL in it."""
    try:
        text = _SHOWN.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is shown by its type
        text = f"<{type(value).__name__}>"
    return clipped(text)


def clipped(text: str) -> str:
    """``text`` on one line, at most ``MAX_SHOWN`` characters, without the credentials of any URL in it."""
    text = redacted(" ".join(text.split()))
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN - 3]}..."


def redacted(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it replaced by ``***@``, and the value of every
    query parameter whose name speaks of a secret (``access_token``, ``password``, ``api_key``...) by ``***``."""
    return _QUERY_SECRET.sub(r"\1***", _CREDENTIALS.sub("***@", text))


def listed(names: object, most: int = MAX_LISTED) -> str:
    """Names for a message, comma-separated: at most ``most`` of them (each shown short), then how many more."""
    names = [str(name) for name in names]
    head = ", ".join(clipped(name) for name in names[:most])
    return head + (f" and {len(names) - most} more" if len(names) > most else "")
