"""``make dag``: the pipeline's kinds of stage as a Mermaid diagram, read from ``dvc.yaml``.

    python -m tools.dag

``dvc dag`` draws every stage of every matrix (a hundred-odd here, thousands of columns wide); this draws each
stage definition once, with the matrix it runs over, and an arrow from a kind to another wherever the second
depends on a path the first writes (or a folder holding it), less the arrows another path already implies
(a transitive reduction: every stage reads validate's digests, but only extract draws the arrow). The README's
diagram is its output.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

TEMPLATE = re.compile(r"\$\{[^}]*\}")


def stem(path: str) -> str:
    """A path up to its first interpolation: ``data/models/${item.dataset}/...`` -> ``data/models``."""
    return TEMPLATE.split(path)[0].rstrip("/-")


def paths(entries: list) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries or []]


def edges(stages: dict) -> set[tuple[str, str]]:
    """(upstream, downstream) wherever downstream depends on a path upstream writes, or a folder holding it."""
    found = set()
    for name, stage in stages.items():
        wanted = [stem(d) for d in paths(stage.get("deps"))]
        for other, upstream in stages.items():
            written = [stem(o) for o in paths(upstream.get("outs"))]
            if other != name and any(w.startswith(d) or d.startswith(w) for w in written for d in wanted if d and w):
                found.add((other, name))
    return found


def reduced(found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges no longer path implies."""
    def reaches(a: str, b: str, skip: tuple[str, str]) -> bool:
        todo, seen = [a], set()
        while todo:
            node = todo.pop()
            for edge in found - {skip}:
                if edge[0] == node and edge[1] not in seen:
                    if edge[1] == b:
                        return True
                    seen.add(edge[1])
                    todo.append(edge[1])
        return False

    return {edge for edge in found if not reaches(*edge, edge)}


def diagram(pipeline: dict) -> str:
    stages = pipeline["stages"]
    lines = ["```mermaid", "flowchart LR"]
    for name, stage in stages.items():
        over = " x ".join(stage.get("matrix", {}))
        lines.append(f'  {name}["{name}' + (f"<br/><small>per {over}</small>" if over else "") + '"]')
    order = list(stages)
    lines += [f"  {a} --> {b}" for a, b in sorted(reduced(edges(stages)), key=lambda e: (order.index(e[1]), order.index(e[0])))]
    return "\n".join([*lines, "```"])


def main() -> None:
    print(diagram(yaml.safe_load(Path("dvc.yaml").read_text())))


if __name__ == "__main__":
    main()
