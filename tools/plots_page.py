"""``make plots-page``: the HTML template of ``dvc plots show`` with the Vega libraries inside it, so the page
draws its plots offline.

    python -m tools.plots_page [--out .dvc/plots/offline.html]

DVC's own page loads vega, vega-lite and vega-embed from a CDN when it is opened: offline, its plots stay
blank. This writes a template (DVC's ``plots.html_template``, set in ``.dvc/config``) that holds the same
three libraries, at the versions DVC's page names, from their npm packages: each tarball is checked against
the SHA-512 the npm registry publishes for it before anything in it is used. The template has no
``{scripts}`` placeholder, so DVC adds no CDN tags to it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

from aestudy.core.errors import StudyError
from aestudy.core.io import write_text

REGISTRY = "https://registry.npmjs.org"
# The versions dvc-render's page loads (dvc_render/vega.py), and the bundle of each package to inline.
PACKAGES = {"vega": ("5.20.2", "build/vega.min.js"), "vega-lite": ("5.2.0", "build/vega-lite.min.js"),
            "vega-embed": ("6.18.2", "build/vega-embed.min.js")}
MAX_TARBALL = 64 << 20
PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC plots: autoencoder codes study</title>
    <!-- {names}: bundled by tools/plots_page.py, so that the page draws offline. -->
{libraries}
    <style>
        body {{ font-family: sans-serif; }}
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read(MAX_TARBALL + 1)
    except OSError as error:
        raise StudyError(f"{url}: cannot be fetched ({error})") from None
    if len(data) > MAX_TARBALL:
        raise StudyError(f"{url}: larger than {MAX_TARBALL} bytes")
    return data


def bundle(name: str, version: str, member: str) -> str:
    """The minified build of one npm package, its tarball checked against the registry's SHA-512."""
    meta = json.loads(fetch(f"{REGISTRY}/{name}/{version}"))
    algorithm, _, digest = meta["dist"]["integrity"].partition("-")
    tarball = fetch(meta["dist"]["tarball"])
    if algorithm != "sha512" or hashlib.sha512(tarball).digest() != base64.b64decode(digest):
        raise StudyError(f"{meta['dist']['tarball']}: its SHA-512 is not the registry's {meta['dist']['integrity']}")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        source = archive.extractfile(f"package/{member}")
        if source is None:
            raise StudyError(f"{name}@{version}: no {member} in its package")
        return source.read().decode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.plots_page", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(".dvc/plots/offline.html"))
    args = parser.parse_args()
    scripts = []
    for name, (version, member) in PACKAGES.items():
        code = bundle(name, version, member).replace("</script", "<\\/script")  # nothing may close the tag early
        scripts.append(f'    <script type="text/javascript">/* {name}@{version} */\n{code}\n    </script>')
    names = ", ".join(f"{name}@{version}" for name, (version, _) in PACKAGES.items())
    write_text(args.out, PAGE.format(names=names, libraries="\n".join(scripts)))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB: {names})")


if __name__ == "__main__":
    try:
        main()
    except StudyError as error:
        sys.exit(f"error: {error}")
