"""The colours and shapes of the ``dvc plots`` templates: each entry drawn on the page as in the report's figures.

    python -m tools.plot_templates [--check]

``.dvc/plots/variants.json`` (every variant's validation loss per epoch) and ``.dvc/plots/budgets.json`` (the
few-label curves, a line per feature set, named by its title) give each name of the plotted field the style the
report gives it (``aestudy.report.style.styles``: stable by name among every entry of its kind, none shared), as
an explicit colour and shape scale, one legend for both. Run it after adding a conf/autoencoders file or a
``features`` entry (or changing a title); a name the templates do not list is drawn in Vega's fallback colour.
``--check`` changes nothing and exits 1 naming the template that is out of date (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aestudy.core.catalogue import titles
from aestudy.core.errors import StudyError
from aestudy.core.io import write_text
from aestudy.report.style import VEGA_SHAPES, Style, styles
from stages import conf as C
from stages import design as D
from stages import params as P

FOLDER = Path(".dvc/plots")


def scaled(field: str, by_name: dict[str, Style]) -> dict[str, dict]:
    """The ``color`` and ``shape`` encodings of ``field``: each name's colour and shape, under one legend."""
    names = list(by_name)
    return {channel: {"field": field, "type": "nominal", "legend": {"title": field, "symbolOpacity": 1},
                      "scale": {"domain": names, "range": values}}
            for channel, values in (("color", [by_name[n].colour for n in names]),
                                    ("shape", [VEGA_SHAPES[by_name[n].marker] for n in names]))}


def templates(params_file: Path = Path("params.yaml")) -> dict[Path, str]:
    """Each template's text with its scales as params.yaml's and conf/'s entries give them now."""
    design = D.design(P.load_params(params_file))
    features = list(design.features.entries)
    feature_styles, named = styles(features), titles(design.features, features)
    encodings = {"variants.json": ((), scaled("variant", styles(C.conf_names("autoencoders")))),
                 "budgets.json": (("spec",), scaled("features", {named[f]: feature_styles[f] for f in features}))}
    out = {}
    for name, (where, channels) in encodings.items():
        path = FOLDER / name
        template = json.loads(path.read_text())
        node = template
        for key in where:
            node = node[key]
        node["encoding"].update(channels)
        out[path] = json.dumps(template, indent=2) + "\n"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plot_templates", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a template is out of date")
    args = parser.parse_args()
    stale = [path for path, text in templates().items() if path.read_text() != text]
    if args.check:
        if stale:
            print(f"error: {', '.join(map(str, stale))}: out of date with params.yaml and conf/: "
                  "python -m tools.plot_templates", file=sys.stderr)
            return 1
        return 0
    for path, text in templates().items():
        write_text(path, text)
    print(f"wrote {', '.join(map(str, stale))}" if stale else "the templates were up to date")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StudyError as error:
        sys.exit(f"error: {error}")
