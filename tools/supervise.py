"""Run a command in a process group of its own, and take the whole group down if our parent dies.

    python -m tools.supervise -- dvc exp run -n NAME ...

A sweep job runs ``dvc exp run``, which starts a process per stage. When the Dask worker that runs the job
is killed, those processes would live on as orphans, finishing an experiment that nobody will push and
competing with the rescheduled job for the machine. This supervisor, started by the job, asks Linux to send
it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``), runs the command in a new process group, and
on SIGTERM or SIGINT kills that group. Elsewhere than Linux it still runs the command, without the guard.
Exits with the command's status.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent exits (Linux only)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise SystemExit("usage: python -m tools.supervise -- COMMAND [ARG ...]")
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the request took effect
        raise SystemExit(1)
    child = subprocess.Popen(argv, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    raise SystemExit(child.wait())


if __name__ == "__main__":
    main()
