"""The names a study gives things: datasets, autoencoder variants, feature sets, classifiers, scores, sweeps.

A name becomes part of stage names, file paths and the command lines DVC runs through a shell, so it may hold
nothing a shell or a path reads specially: 1 to 64 letters, digits, ``_``, ``-`` and ``+`` (``ae+umap``: UMAP on
the autoencoder's code), the first a letter, digit or ``_``: a name starting with ``-`` reads as an option, and one
starting with ``-`` or ``+`` as a formula in a spreadsheet that opens ``metrics/fits/*.csv``. ``dvc.yaml`` quotes
every name it puts on a command line as a second wall.
"""

from __future__ import annotations

import re

from aestudy.core.errors import StudyError, shown

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+-]{0,63}")
NAME_RULE = "1 to 64 letters, digits, _, - or +, not starting with - or +"


# A title (how the report and the figures name an entry or a dataset, or a class of images) goes into Markdown
# tables, the README and figure legends: plain words, nothing that Markdown or HTML reads (``|``, ``<``, ``*``, ``[``,
# a backtick, a line break, an ``_`` that opens or closes emphasis) and no address it would turn into a link.
TITLE = re.compile(r"(?!.*(?:://|www\.|(?:^|\s)_|_(?:\s|$)))[\w .,:;/()'&+-]{1,64}")
TITLE_RULE = "1 to 64 letters, digits, spaces or .,:;/()'&+-_ (no address, no _ at a word's edge)"


def is_title(value: object) -> bool:
    """Whether ``value`` is a title (``TITLE``)."""
    return isinstance(value, str) and TITLE.fullmatch(value) is not None


def check_title(value: object, what: str) -> str:
    """``value`` if it is a title; else an error naming ``what``."""
    if not is_title(value):
        raise StudyError(f"{what} must be {TITLE_RULE}, got {shown(value)}")
    return value


def check_name(name: object, what: str) -> str:
    """``name`` if it follows the rule; else an error naming ``what``."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise StudyError(f"{what}: the name {shown(name)} must be {NAME_RULE}")
    return name
