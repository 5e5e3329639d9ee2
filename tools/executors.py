"""Where a sweep's jobs run: worker threads on this machine, Dask workers (a LocalCluster or a scheduler given), or
Dask workers as SLURM batch jobs. Each executor submits a function on one job, waits for the first to finish, and
says how many are running; ``tools.sweep`` hands it the jobs."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any


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
    cluster.scale(jobs=jobs)
    return DaskExecutor(jobs, None, cluster)
