"""How the report names feature sets and scores: the titles of their entries (``study.catalogue.titles``,
which the report stage reads from params.yaml), so that an entry a user adds is named as its entry says, or by its
estimator's class name; the library holds no list of the study's own names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Names:
    """Titles by key: ``features`` (feature sets) and ``scores``; a key without one reads as itself."""

    features: Mapping[str, str] = field(default_factory=dict)
    scores: Mapping[str, str] = field(default_factory=dict)

    def feature(self, name: str) -> str:
        """A feature set as people write it."""
        return self.features.get(name, name)

    def score(self, name: str) -> str:
        """A score as people write it."""
        return self.scores.get(name, name)

    def of(self, name: str) -> str:
        """A feature set or a score, whichever ``name`` is."""
        return self.features.get(name) or self.scores.get(name) or name

    def pair(self, a: str, b: str) -> str:
        """A comparison A - B as people write it."""
        return f"{self.of(a)} - {self.of(b)}"

    def sides(self, a: str, b: str) -> tuple[str, str]:
        """The two sides of the comparison A - B, as people write them."""
        return self.of(a), self.of(b)
