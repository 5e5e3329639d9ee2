"""``make sweep``: DVC experiments fanned out over local processes or a Dask cluster, collected into one workspace.

    python -m tools.sweep sweeps/smoke.yaml --executor dask --jobs 2 [--scheduler tcp://host:port]

DVC's own queue runs on one host and races with more than one worker. A sweep here does what works on real
clusters instead: every job clones one baseline commit, runs ``dvc exp run -n NAME -S ...`` in its clone and
pushes the experiment to shared remotes; at the end the workspace pulls them all, and ``dvc exp show`` lists
them by name. The engine is Dask's: ``--executor dask`` submits the jobs to the scheduler given, or to a
``LocalCluster`` of ``--jobs`` worker processes on the loopback address; ``--executor local`` runs ``--jobs``
jobs at a time on this machine, each in processes of its own.

- The sweep file is read and expanded, and refused whole on a bad value, by ``tools/sweep_file.py`` first; the
  executors are ``tools/executors.py``'s.
- The baseline is the workspace's commit; a workspace with uncommitted changes is refused.
- The remotes are the project's git remote ``origin`` and shared DVC remote ``storage`` when it has them (its URL
  set: ``make push``); otherwise a
  bare git repository and a directory DVC remote under ``.sweep/remotes/``, created here (they serve any
  worker that sees this file system).
- A job pushes its outputs first and its experiment ref last: a ref on the remote is a finished experiment.
- Jobs on this machine (local, or a LocalCluster) share one DVC cache, ``.sweep/cache``: a stage that an
  earlier job already ran with the same inputs is restored from DVC's run-cache instead of run again. Jobs
  on a cluster get a cache of their own, or the shared one that ``--cache`` names (a shared file system).
- An experiment already pushed under the same name and baseline is skipped, so a sweep can be run again.
- A job that fails is retried once, then reported with the tail of its log; the others go on. Jobs on a
  worker that dies are rescheduled by Dask.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm.auto import tqdm

from aestudy.core.errors import StudyError, redacted
from aestudy.core.io import read_config
from aestudy.core.threads import JOBS_VARIABLE
from tools.executors import DaskExecutor, LocalExecutor, check_slurm_options, slurm_executor
from tools.remote import shared_url
from tools.sweep_file import Experiment, load_sweep

LOG_TAIL_LINES = 20
LOG_LINE_CHARS = 300  # of each line of a failed job's log that the sweep prints
MAX_REMOTE_JOBS = 256  # Dask workers or SLURM jobs one sweep asks for
SWEEP_DIR = Path(".sweep")


# ---------------------------------------------------------------------------------------------------
# Git and DVC, as subprocesses


def command(args: list[str], cwd: Path | str, log: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command; with ``log``, append its output there. Raises StudyError naming it if it fails."""
    if log is None:
        result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        output = result.stdout + result.stderr
    else:
        with log.open("a") as out:
            out.write(f"$ {' '.join(args)}\n")
            out.flush()
            result = subprocess.run(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                    check=False)
        output = ""
    if result.returncode != 0:
        last = output.strip().splitlines()[-1] if output.strip() else f"exit status {result.returncode}"
        # Named as a user would type it: `dvc exp run ...`, not the interpreter and supervisor that run it.
        words = [a for a in args if a not in (sys.executable, "-m", "--", "tools.supervise")]
        raise StudyError(f"`{' '.join(words[:3])} ...` failed: {last}")
    return result


def dvc(*args: str) -> list[str]:
    """DVC from the environment this process runs in, whatever the PATH of a worker."""
    return [sys.executable, "-m", "dvc", *args]


def exp_ref(baseline: str, name: str) -> str:
    """Where DVC keeps an experiment: ``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>``."""
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"


def pushed_experiments(git_remote: str, baseline: str, cwd: Path | str = ".") -> set[str]:
    """Names of the experiments of ``baseline`` that the git remote holds."""
    prefix = exp_ref(baseline, "")
    listed = command(["git", "ls-remote", git_remote, f"{prefix}*"], cwd).stdout
    return {line.split("\t")[1].removeprefix(prefix) for line in listed.splitlines() if "\t" in line}


@dataclass(frozen=True)
class Remotes:
    git: str  # a git URL or path every worker can reach
    dvc: str  # the DVC remote's URL, configured in each clone and here as the remote `sweep`


def workspace_baseline(root: Path) -> str:
    """The commit every job starts from; refuses a workspace whose changes would not reach the jobs."""
    status = command(["git", "status", "--porcelain", "--untracked-files=normal"], root).stdout.splitlines()
    if status:
        files = ", ".join(line[3:] for line in status[:3]) + (", ..." if len(status) > 3 else "")
        raise StudyError(f"the workspace has uncommitted changes ({files}): commit or stash them, every job "
                         "starts from the baseline commit")
    return command(["git", "rev-parse", "HEAD"], root).stdout.strip()


def prepare_remotes(root: Path, baseline: str) -> Remotes:
    """The project's ``origin`` and shared DVC remote, or local ones created under ``.sweep/remotes/``."""
    git_remotes = command(["git", "remote"], root).stdout.split()
    if "origin" in git_remotes:
        url = command(["git", "remote", "get-url", "origin"], root).stdout.strip()
        command(["git", "fetch", "--quiet", "origin"], root)
        if not command(["git", "branch", "--remotes", "--contains", baseline], root).stdout.strip():
            raise StudyError(f"the baseline {baseline[:12]} is not on the git remote origin ({url}): push it first")
        git_url = url
    else:
        bare = (root / SWEEP_DIR / "remotes" / "git").resolve()
        if not bare.exists():
            command(["git", "init", "--quiet", "--bare", str(bare)], root)
            command(["git", "config", "gc.auto", "0"], bare)  # no packing while several jobs push
        command(["git", "push", "--quiet", str(bare), f"{baseline}:refs/heads/sweep/{baseline}"], root)
        git_url = str(bare)
    shared = shared_url(root, tuple(dvc()))
    if shared:
        return Remotes(git_url, shared)
    cache = (root / SWEEP_DIR / "remotes" / "dvc").resolve()
    cache.mkdir(parents=True, exist_ok=True)
    return Remotes(git_url, str(cache))


# ---------------------------------------------------------------------------------------------------
# One job: clone, run, push; on whichever machine the executor chose


@dataclass(frozen=True)
class Job:
    experiment: Experiment
    baseline: str
    remotes: Remotes
    workdir: str | None = None  # where the clone goes (default: the worker's temporary directory)
    cache: str | None = None  # a DVC cache directory that the jobs share (default: each clone its own)
    sharing: int | None = None  # how many jobs run at once on this job's machine (None: unknown, a cluster's)
    attempt: int = 1

    @property
    def key(self) -> str:
        """The job's name on an executor: its experiment and attempt (a retry is a task of its own)."""
        return f"{self.experiment.name}-attempt-{self.attempt}"


@dataclass
class Outcome:
    name: str
    status: str  # pushed, skipped (already on the remote) or failed
    seconds: float
    worker: str
    attempt: int
    log_tail: list[str] = field(default_factory=list)


def worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"local:{socket.gethostname()}"


def run_job(job: Job) -> Outcome:
    """Clone the baseline, run the experiment, push its outputs, then its ref. Never raises: a failure is an
    outcome, with the tail of the job's log."""
    start, name = time.perf_counter(), job.experiment.name
    worker = worker_name()
    scratch = Path(tempfile.mkdtemp(prefix=f"sweep-{name}-", dir=job.workdir))
    log = scratch / "job.log"
    try:
        if name in pushed_experiments(job.remotes.git, job.baseline, scratch):  # a rescheduled job that got there
            return Outcome(name, "skipped", time.perf_counter() - start, worker, job.attempt)
        repo = scratch / "repo"
        command(["git", "clone", "--quiet", job.remotes.git, str(repo)], scratch, log)
        command(["git", "checkout", "--quiet", "--detach", job.baseline], repo, log)
        command(dvc("remote", "add", "--local", "--default", "sweep", job.remotes.dvc), repo, log)
        if job.cache:
            command(dvc("cache", "dir", "--local", job.cache), repo, log)
        # The stages' `python` must be this environment's, whatever the worker's PATH.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        args = [a for p in job.experiment.params for a in ("-S", p)]
        if job.sharing:  # jobs on this machine share its cores: each stage takes its share of threads
            env[JOBS_VARIABLE] = str(job.sharing)
        supervised = [sys.executable, "-m", "tools.supervise", "--"]
        command([*supervised, *dvc("exp", "run", "-n", name, *args)], repo, log, env)
        command(dvc("push"), repo, log)  # the outputs first...
        command(dvc("exp", "push", "--no-cache", "origin", name), repo, log)  # ...then the ref that shows them
        return Outcome(name, "pushed", time.perf_counter() - start, worker, job.attempt)
    except (StudyError, OSError) as error:
        return Outcome(name, "failed", time.perf_counter() - start, worker, job.attempt, failure_tail(log, error))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def failure_tail(log: Path, error: Exception) -> list[str]:
    """A failed job's last log lines and its error, each cut to ``LOG_LINE_CHARS``: the log names the remotes the
    job pushed to, and their URLs' passwords and tokens never reach the terminal (``redacted``)."""
    tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:] if log.exists() else []
    return [redacted(line)[:LOG_LINE_CHARS] for line in [*tail, f"error: {error}"]]


def run_jobs(jobs: list[Job], executor: LocalExecutor | DaskExecutor,
             report: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
    """Every job to an outcome; a failed job is submitted once more, then reported as failed."""
    outcomes: dict[str, Outcome] = {}
    futures = {executor.submit(run_job, job, job.key): job for job in jobs}
    bar = tqdm(total=len(jobs), desc="sweep", unit="exp", mininterval=2.0)
    failed = 0
    while futures:
        done, _ = executor.wait(set(futures), timeout=2.0)
        for future in done:
            job = futures.pop(future)
            try:
                outcome = future.result()
            except Exception as error:  # noqa: BLE001 (the executor's own failure: a worker killed too often)
                outcome = Outcome(job.experiment.name, "failed", 0.0, "?", job.attempt, [f"error: {error!r}"])
            if outcome.status == "failed" and job.attempt == 1:
                retry = replace(job, attempt=2)
                futures[executor.submit(run_job, retry, retry.key)] = retry
                report(outcome)
                continue
            outcomes[job.experiment.name] = outcome
            failed += outcome.status == "failed"
            bar.update()
            report(outcome)
        bar.set_postfix(done=len(outcomes) - failed, running=executor.running(futures), failed=failed,
                        refresh=False)
    bar.close()
    return [outcomes[job.experiment.name] for job in jobs]


def closing_table(outcomes: list[Outcome]) -> str:
    rows = [["name", "status", "wall time", "worker", "attempts"]]
    rows += [[o.name, o.status, f"{o.seconds:.0f} s", o.worker, str(o.attempt)] for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def parse_args() -> argparse.Namespace:
    """The command line, its combinations checked."""
    parser = argparse.ArgumentParser(prog="python -m tools.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path, help="a sweep file, e.g. sweeps/smoke.yaml")
    parser.add_argument("--executor", choices=("local", "dask", "slurm"), default="local",
                        help="local processes, Dask (a LocalCluster or --scheduler), or Dask workers as SLURM jobs")
    parser.add_argument("--slurm", type=Path,
                        help="a YAML file of dask-jobqueue SLURMCluster options (cores, memory, walltime, queue, ...)")
    parser.add_argument("--jobs", type=int, default=2, help="jobs at a time (dask: LocalCluster workers)")
    parser.add_argument("--scheduler", help="a Dask scheduler address, tcp://host:port (default: a LocalCluster)")
    parser.add_argument("--workdir", help="where each job clones the baseline (default: the worker's temp dir)")
    parser.add_argument("--cache", help="a DVC cache directory every worker can reach, shared by the jobs "
                                        "(default: .sweep/cache on a LocalCluster or the local executor)")
    parser.add_argument("--no-pull", action="store_true", help="leave the experiments on the remotes")
    args = parser.parse_args()
    # Jobs on this machine (local processes, a LocalCluster's workers) each run a whole experiment: more than its
    # cores only queue; on a scheduler or SLURM, each job is a worker asked for there, MAX_REMOTE_JOBS at most.
    here = args.executor == "local" or (args.executor == "dask" and not args.scheduler)
    most = (os.cpu_count() or 1) if here else MAX_REMOTE_JOBS
    if not 1 <= args.jobs <= most:
        raise StudyError(f"--jobs must be in [1, {most}] ({'the cores of this machine' if here else 'workers asked for'}"
                         f"), got {args.jobs}")
    if args.scheduler and args.executor != "dask":
        raise StudyError("--scheduler is for --executor dask")
    # Checked before anything is cloned or submitted: a SLURM file's options go into job scripts.
    args.slurm_options = check_slurm_options(read_config(args.slurm), Path.cwd()) if args.slurm else {}
    return args


def report(outcome: Outcome) -> None:
    """One experiment's end, as it comes: its status, seconds and worker, and a failure's last log lines."""
    retry = " (retrying once)" if outcome.status == "failed" and outcome.attempt == 1 else ""
    tqdm.write(f"{outcome.name}: {outcome.status}{retry} in {outcome.seconds:.0f} s on {outcome.worker}")
    if outcome.status == "failed":
        tqdm.write("\n".join(f"    {line}" for line in outcome.log_tail))


def run_sweep(args: argparse.Namespace, jobs: list[Job]) -> list[Outcome]:
    """The jobs on the chosen executor, each job's outcome as it ends."""
    if not jobs:
        return []
    if args.executor == "slurm":
        executor = slurm_executor(args.jobs, args.slurm_options)
    elif args.executor == "dask":
        executor = DaskExecutor(args.jobs, args.scheduler)
    else:
        executor = LocalExecutor(args.jobs)
    try:
        return run_jobs(jobs, executor, report)
    finally:
        executor.close()


def sweep(args: argparse.Namespace) -> None:
    """Run the sweep file's experiments not pushed already, pull the pushed ones, print the closing table."""
    experiments = load_sweep(args.sweep)
    root = Path(command(["git", "rev-parse", "--show-toplevel"], ".").stdout.strip())
    baseline = workspace_baseline(root)
    remotes = prepare_remotes(root, baseline)
    done_before = pushed_experiments(remotes.git, baseline, root)
    todo = [e for e in experiments if e.name not in done_before]
    print(f"sweep {args.sweep}: {len(experiments)} experiments on baseline {baseline[:12]}, "
          f"{len(experiments) - len(todo)} already pushed, {len(todo)} to run ({args.executor}, "
          f"{args.jobs} at a time); git remote {remotes.git}", flush=True)
    cache = args.cache or (None if args.scheduler else str((root / SWEEP_DIR / "cache").resolve()))
    # On this machine (local processes or a LocalCluster) the jobs share its cores; a cluster's nodes run
    # `processes=1` (docs/experiments.md, "Sweeps on several machines"), each job with all of its node's.
    sharing = None if (args.scheduler or args.executor == "slurm") else args.jobs
    outcomes = run_sweep(args, [Job(e, baseline, remotes, args.workdir, cache, sharing) for e in todo])
    outcomes += [Outcome(e.name, "skipped", 0.0, "-", 0) for e in experiments if e.name in done_before]
    if not args.no_pull:
        pushed = sorted(pushed_experiments(remotes.git, baseline, root) & {e.name for e in experiments})
        if pushed:
            command(dvc("remote", "add", "--local", "--force", "sweep", remotes.dvc), root)
            command(dvc("exp", "pull", "--force", "--remote", "sweep", remotes.git, *pushed), root)
    print(closing_table(outcomes))
    failed = [o.name for o in outcomes if o.status == "failed"]
    if failed:
        raise StudyError(f"{len(failed)} experiment(s) failed twice: {', '.join(failed)}")


def main() -> None:
    try:
        sweep(parse_args())
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None

if __name__ == "__main__":
    main()
