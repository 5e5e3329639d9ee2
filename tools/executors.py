"""Where a sweep's jobs run: worker threads on this machine, Dask workers (a LocalCluster or a scheduler given), or
Dask workers as SLURM batch jobs. Each executor submits a function on one job, waits for the first to finish, and
says how many are running; ``tools.sweep`` hands it the jobs."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from aestudy.core.errors import StudyError, clipped, listed, shown


def check_submission(cluster: Any) -> None:
    """``sbatch --test-only`` on the job script the cluster would submit: a partition, an account or a resource
    that SLURM refuses ends the sweep here with sbatch's own line, where Dask would retry the submission forever."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as script:
        script.write(cluster.job_script())
    try:
        done = subprocess.run(["sbatch", "--test-only", script.name], capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        cluster.close()
        raise StudyError(f"sbatch --test-only could not run ({error})") from None
    finally:
        os.unlink(script.name)
    if done.returncode != 0:
        cluster.close()
        said = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]
        raise StudyError(f"SLURM refused the job script: {clipped(said)}")


class LocalExecutor:
    """``jobs`` jobs at a time on this machine; each job's work runs in processes of its own."""

    def __init__(self, jobs: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sweep")

    def submit(self, function: Callable[[Any], Any], job: Any, key: str) -> Future:
        """``function(job)`` on a free thread (``key`` names it for Dask's executor; unused here)."""
        return self.pool.submit(function, job)

    def wait(self, futures: set, timeout: float) -> tuple[set, set]:
        """(done, pending) once one of ``futures`` is done, or ``timeout`` seconds have passed."""
        done, pending = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        return set(done), set(pending)

    def running(self, futures: Iterable) -> int:
        """How many of ``futures`` are running now."""
        return sum(f.running() for f in futures)

    def close(self) -> None:
        """Wait for the running jobs; cancel the others."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def executing_keys(dask_worker: Any) -> list[str]:
    """The keys of the tasks a Dask worker is executing now (run on the worker by ``Client.run``)."""
    return [task.key for task in dask_worker.state.executing]


class DaskExecutor:
    """Jobs as Dask tasks: on the scheduler given, or on a LocalCluster of ``jobs`` worker processes bound to
    the loopback address. A task whose worker dies is rescheduled by the scheduler."""

    def __init__(self, jobs: int, scheduler: str | None, cluster: Any = None) -> None:
        from distributed import Client, LocalCluster

        self.cluster = cluster
        if scheduler is None and cluster is None:
            self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                                        dashboard_address=None, silence_logs=logging.ERROR)
        self.client = Client(scheduler or self.cluster)

    def submit(self, function: Callable[[Any], Any], job: Any, key: str) -> Any:
        """``function(job)`` as the Dask task ``key`` (``function`` importable on the workers)."""
        # pure=False: a retry is a new task, not the cached result of the failed one.
        return self.client.submit(function, job, pure=False, key=key)

    def wait(self, futures: set, timeout: float) -> tuple[set, set]:
        """(done, pending) once one of ``futures`` is done, or ``timeout`` seconds have passed."""
        from distributed import wait as dask_wait

        try:
            done, pending = dask_wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set(), set(futures)
        return set(done), set(pending)

    def running(self, futures: Iterable) -> int:
        """How many of ``futures`` a worker is executing now."""
        # The scheduler's ``processing`` also lists tasks queued on a worker behind the one it runs; ask the
        # workers what they execute. A worker that just died is left out: its task is being rescheduled.
        executing = self.client.run(executing_keys, on_error="ignore")
        keys = {key for worker_keys in executing.values() for key in worker_keys}
        return sum(f.key in keys for f in futures)

    def close(self) -> None:
        """The client, and the cluster this executor started."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# The SLURMCluster options a SLURM file may set (docs/experiments.md), each checked before a job script is written:
# nothing of them may add a line to the script (a newline in a directive was a command of its own), resources stay
# within bounds a cluster could grant, and the log folder lies inside the project.
SLURM_WORD = re.compile(r"[A-Za-z0-9_.,:@%+-]{1,128}")  # a partition, an account, an interface, a job name
SLURM_DIRECTIVE = re.compile(r"--?[A-Za-z][A-Za-z0-9-]*(?:[= ][A-Za-z0-9_.,:@%+=/-]{1,256})?")
MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B)", re.IGNORECASE)
WALLTIME = re.compile(r"(?:(\d{1,3})-)?(\d{1,3}):([0-5]\d):([0-5]\d)")
MAX_CORES = 1024
MAX_MEMORY_BYTES = 64 << 40  # 64 TiB: more than any node
MAX_WALLTIME_HOURS = 30 * 24
UNITS = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
SLURM_KEYS = ("cores", "memory", "walltime", "queue", "account", "interface", "job_name", "log_directory",
              "job_extra_directives", "job_script_prologue")


def check_slurm_options(options: Any, root: Path) -> dict[str, Any]:
    """A SLURM file's options, each checked (see ``SLURM_KEYS`` and the bounds above); one line naming the key."""
    if not isinstance(options, dict):
        raise StudyError(f"the SLURM file must be a mapping of SLURMCluster options, got {shown(options)}")
    unknown = [str(key) for key in options if key not in SLURM_KEYS]
    if unknown:
        raise StudyError(f"SLURM options: unknown key(s) {listed(unknown)} (known: {', '.join(SLURM_KEYS)})")
    for key, value in options.items():
        if key == "cores" and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CORES):
            raise StudyError(f"SLURM options: cores must be an integer in [1, {MAX_CORES}], got {shown(value)}")
        if key == "memory":
            found = MEMORY.fullmatch(value) if isinstance(value, str) else None
            if not found or float(found[1]) * UNITS[found[2][:-1].lower()] > MAX_MEMORY_BYTES:
                raise StudyError(f"SLURM options: memory must be a size such as 16GB, at most 64 TiB, got {shown(value)}")
        if key == "walltime":
            found = WALLTIME.fullmatch(value) if isinstance(value, str) else None
            hours = found and int(found[1] or 0) * 24 + int(found[2]) + int(found[3]) / 60 + int(found[4]) / 3600
            if not found or hours > MAX_WALLTIME_HOURS:
                raise StudyError(f"SLURM options: walltime must be [D-]HH:MM:SS, at most {MAX_WALLTIME_HOURS} hours, "
                                 f"got {shown(value)}")
        if key in ("queue", "account", "interface", "job_name") and (
                not isinstance(value, str) or not SLURM_WORD.fullmatch(value)):
            raise StudyError(f"SLURM options: {key} must be one word of letters, digits or _.,:@%+-, got {shown(value)}")
        if key == "log_directory":
            path = Path(value) if isinstance(value, str) and "\n" not in value else None
            if path is None or not (root / path).resolve().is_relative_to(root.resolve()):
                raise StudyError(f"SLURM options: log_directory must be a folder inside the project, got {shown(value)}")
        if key in ("job_extra_directives", "job_script_prologue"):
            lines = value if isinstance(value, list) else None
            if lines is None or not all(isinstance(line, str) and line.strip() and not CONTROL.search(line)
                                        for line in lines):
                raise StudyError(f"SLURM options: {key} must be a list of one-line strings, got {shown(value)}")
            if key == "job_extra_directives":
                bad = [line for line in lines if not SLURM_DIRECTIVE.fullmatch(line)]
                if bad:
                    raise StudyError(f"SLURM options: job_extra_directives holds {shown(bad[0])}, not one sbatch "
                                     "option (--name=value, no shell characters)")
    return options


CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a newline, a carriage return, a tab... would split or hide a line


def slurm_executor(jobs: int, options: dict[str, Any]) -> DaskExecutor:
    """Dask workers as SLURM batch jobs (dask-jobqueue's ``SLURMCluster``), one worker process per job, ``jobs`` of
    them: the scheduler runs here, each worker connects back to it. ``options`` are SLURMCluster's (``cores``,
    ``memory``, ``walltime``, ``queue``, ``job_script_prologue``, ...; docs/experiments.md); by default a job takes
    this machine's cores and memory's share, and runs this interpreter."""
    from dask_jobqueue import SLURMCluster

    settings = {"cores": os.cpu_count() or 1, "processes": 1, "memory": "4GB", "walltime": "04:00:00",
                "python": sys.executable, "scheduler_options": {"dashboard_address": None},
                "silence_logs": logging.ERROR, **options}
    cluster = SLURMCluster(**settings)
    check_submission(cluster)
    cluster.scale(jobs=jobs)
    return DaskExecutor(jobs, None, cluster)
