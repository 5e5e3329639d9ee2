"""``make push`` / ``make pull``: the study's outputs and DVC's run-cache to and from the shared remote ``storage``.

    python -m tools.remote push|pull

``.dvc/config`` names the default remote ``storage`` with ``verify = true`` (every object pulled is hashed again,
so a corrupted file on the remote never reaches the workspace) and a placeholder URL; each user points it at the
real server once, in the git-ignored ``.dvc/config.local``:

    dvc remote modify --local storage url ssh://user@host/srv/ae-study    # or s3://, https:// (WebDAV), /mnt/...

With the run-cache pushed, a fresh clone that pulls runs an experiment's changed stages alone. A failure is one
line (DVC's own error and the paths it names, without its help footer) and exit status 1. DVC writes objects
under temporary names and moves them into place, so a broken transfer leaves nothing half-written and repeating it
completes it; a pull that fails takes back the outputs it checked out, so the workspace is left as it was (DVC
itself checks out whatever it could fetch).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

from aestudy.core.errors import MAX_SHOWN, StudyError, clipped, redacted

REMOTE = "storage"
PLACEHOLDER_SUFFIX = ".invalid"  # the committed URL's host (RFC 2606: never resolves)
COMMANDS = {"push": ["dvc", "push", "--run-cache"], "pull": ["dvc", "pull", "--run-cache"]}


def shared_url(cwd: Path | str = ".", dvc: tuple[str, ...] = ("dvc",)) -> str | None:
    """The URL of ``storage`` at any config level where its user has set one; None while it is the committed
    placeholder (or unset). ``dvc``: how to run DVC (tools/sweep.py runs its own interpreter's)."""
    done = subprocess.run([*dvc, "config", f"remote.{REMOTE}.url"], cwd=cwd, capture_output=True, text=True,
                          check=False)
    url = done.stdout.strip() if done.returncode == 0 else ""
    try:
        host = urlparse(url).hostname or ""
    except ValueError:  # a malformed URL in a config file (an unclosed [ of an IPv6 host, say)
        raise StudyError(f"the remote '{REMOTE}' has a malformed URL ({clipped(url)}): dvc remote modify --local "
                         f"{REMOTE} url <url>") from None
    return url if url and not host.endswith(PLACEHOLDER_SUFFIX) else None


def one_line(output: str) -> str:
    """DVC's first error, without its prefix and help footer, on one line: what went wrong and the paths it names."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("ERROR:")), None)
    if start is None:
        return (output.strip().splitlines() or ["no message"])[-1]
    message = [lines[start].removeprefix("ERROR:").strip()]
    for line in lines[start + 1:]:  # the targets DVC lists under its message, up to its footer
        if not line.strip() or line.startswith(("Is your", "<http", "Having any")) or " " in line.strip():
            break
        message.append(line.strip())
    # Paths in the project shown relative to it, and a long message cut in its middle: DVC puts the cause last.
    text = redacted(" ".join(" ".join(message).replace(f"{Path.cwd()}/", "").split()))
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN // 2 - 2]} ... {text[-(MAX_SHOWN // 2 - 3):]}"


def outputs() -> list[Path]:
    """Every output path dvc.lock names inside the project: a failed pull removes what it checked out of these, so
    a path that is not a relative one below the project (``path: ../x``, ``path: yes``) is never one of them."""
    if not Path("dvc.lock").is_file():
        return []
    try:
        lock = yaml.safe_load(Path("dvc.lock").read_text())
    except yaml.YAMLError:
        raise StudyError("dvc.lock: not valid YAML; restore it from git (git checkout dvc.lock)") from None
    stages = lock.get("stages") if isinstance(lock, dict) else None
    root = Path.cwd().resolve()
    paths = [out.get("path") for stage in (stages.values() if isinstance(stages, dict) else [])
             if isinstance(stage, dict) for out in (stage.get("outs") or []) if isinstance(out, dict)]
    return [Path(p) for p in paths if isinstance(p, str) and p and not Path(p).is_absolute()
            and (root / p).resolve().is_relative_to(root) and (root / p).resolve() != root]


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    try:
        return sync(argv)
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def sync(argv: list[str]) -> int:
    """Push or pull, as ``main``'s arguments say; the exit status."""
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print("usage: python -m tools.remote push|pull", file=sys.stderr)
        return 2
    if shared_url() is None:
        print(f"error: the remote '{REMOTE}' has no URL of yours yet: dvc remote modify --local {REMOTE} url <url> "
              "(docs/experiments.md, \"A shared remote\")", file=sys.stderr)
        return 1
    absent = [path for path in outputs() if not path.exists()]
    done = subprocess.run([*COMMANDS[argv[0]], "-r", REMOTE], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if argv[0] == "pull":  # DVC checks out what it could fetch: take back what was not there before
            for path in absent:
                remove(path)
        print(f"error: dvc {argv[0]} {'to' if argv[0] == 'push' else 'from'} {REMOTE}: "
              f"{one_line(done.stdout + done.stderr)}", file=sys.stderr)
        return 1
    print((done.stdout.strip().splitlines() or [f"dvc {argv[0]}: done"])[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
