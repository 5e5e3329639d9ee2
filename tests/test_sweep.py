"""Sweeps: the sweep file format, and real sweeps on a Dask LocalCluster on the loopback address."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from aestudy.core.errors import StudyError
from tests.conftest import BIN, ROOT, copy_project, run
from tests.servers import slurm_cluster
from tools.executors import check_slurm_options
from tools.sweep import exp_ref
from tools.sweep_file import load_sweep


def write(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_sweep_files_expand_to_named_experiments(tmp_path: Path) -> None:
    spec = {"set": {"datasets": ["digits"]},
            "experiments": [{"name": "one", "set": {"classifiers.mlp.epochs": 2}}],
            "product": {"name": "s{seeds}-lr{conf/autoencoders/h32-lr1e-2.yaml:lr}",
                        "params": {"seeds": [[42], [0, 1]], "conf/autoencoders/h32-lr1e-2.yaml:lr": [0.01, 0.003]}}}
    experiments = load_sweep(write(tmp_path / "s.yaml", spec))
    assert [e.name for e in experiments] == ["one", "s42-lr0p01", "s42-lr0p003", "s0-1-lr0p01", "s0-1-lr0p003"]
    assert experiments[0].params == ("++datasets=[digits]", "++classifiers.mlp.epochs=2")
    assert experiments[-1].params == ("++datasets=[digits]", "++seeds=[0, 1]",
                                      "conf/autoencoders/h32-lr1e-2.yaml:++lr=0.003")
    assert [len(load_sweep(ROOT / f"sweeps/{name}.yaml")) for name in ("smoke", "smoke-8", "seeds")] == [4, 8, 5]


@pytest.mark.parametrize(("spec", "message"), [
    ({"experiments": [{"name": "a"}, {"name": "a"}]}, r"experiment names must be unique per sweep, a repeated"),
    ({"experiments": [{"name": "a b"}]}, r"experiments\[0\].name: the name 'a b' must be 1 to 64 letters"),
    # "$" of a pattern matches before a trailing newline; the check is a full match.
    ({"experiments": [{"name": "abc\n"}]}, r"experiments\[0\].name: the name 'abc\\n' must be 1 to 64"),
    ({"experiments": [{"name": "x" * 300}]}, r"experiments\[0\].name: the name 'x+\.\.\.x+' must be 1 to 64"),
    ({"experiments": [{"name": None}]}, r"experiments\[0\].name: the name None must be 1 to 64"),
    ({"experiments": [{"name": "a.b"}]}, r"experiments\[0\].name: the name 'a.b' must be 1 to 64 letters, digits, _, - or \+"),
    ({"product": {"name": "s-{seeds}" + "x" * 64, "params": {"seeds": [[1]]}}}, r"product.name: the name 's-1x+'"),
    ({"experiments": [{"name": "a", "set": {"++autoencoders": {}}}]},
     r"experiments\[0\].set: '\+\+autoencoders' is not a param key"),
    ({"set": {"variants; true": 1}, "experiments": [{"name": "a"}]}, r"set: 'variants; true' is not a param key"),
    ({"product": {"name": "{a}{b}{c}", "params": {k: list(range(101)) for k in "abc"}}},
     r"expands to 1030301 experiments, more than max_experiments \(1000\)"),
    ({"max_experiments": 0, "experiments": [{"name": "a"}]}, r"max_experiments must be an integer in \[1, 100000\], got 0"),
    ({"experiments": [{"set": {"x": 1}}]}, r"experiments\[0\] must be a mapping with a name"),
    ({"product": {"name": "fixed", "params": {"seeds": [[1], [2]]}}}, r"product.name must hold \{seeds\}"),
    ({"product": {"name": "s{seeds}", "params": {"seeds": []}}}, r"product.params.seeds must be a non-empty list"),
    ({"set": {"datasets": ["digits"]}}, r"no experiments"),
    ({"sweep": []}, r"expected a mapping with set, experiments and/or product"),
])
def test_bad_sweep_files_name_the_file_and_key(tmp_path: Path, spec: dict, message: str) -> None:
    with pytest.raises(StudyError, match=r"s.yaml: " + message):
        load_sweep(write(tmp_path / "s.yaml", spec))


def test_many_names_are_checked_in_linear_time(tmp_path: Path) -> None:
    """The duplicate check counts names once each: 10^5 experiments load in seconds (quadratic: hours)."""
    spec = {"max_experiments": 100_000, "product": {"name": "e{a}-{b}", "params": {"a": list(range(1000)),
                                                                                   "b": list(range(100))}}}
    start = time.perf_counter()
    assert len(load_sweep(write(tmp_path / "s.yaml", spec))) == 100_000
    assert time.perf_counter() - start < 10


def sweep(project: Path, sweep_file: str, *options: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["make", "sweep", f"SWEEP={sweep_file}", "EXECUTOR=dask", "JOBS=2", f"VENV={BIN.parent}", *options],
               project, check=check)


def summary_at(project: Path, rev: str) -> dict:
    """An experiment's headline metrics, accuracies and verdicts, without the seconds beside them."""
    def timeless(value):
        return ({k: timeless(v) for k, v in value.items() if not k.endswith("seconds")} if isinstance(value, dict)
                else value)

    return timeless(json.loads(run(["git", "show", f"{rev}:metrics/summary.json"], project).stdout))


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            found[int(entry.name)] = (ppid, cmdline)
    return found


def kill_a_worker_mid_job(project: Path, workdir: Path, *make_args: str) -> tuple[subprocess.CompletedProcess, int]:
    """`make sweep ...`; once a job's supervisor has run for a few seconds, SIGKILL the Dask worker that started it."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    sweeping = subprocess.Popen(["make", "sweep", *make_args, f"WORKDIR={workdir}", f"VENV={BIN.parent}"],
                                cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, victim = time.monotonic() + 180, None
        while victim is None and time.monotonic() < deadline:
            for pid, (_, cmd) in processes().items():
                try:
                    if "tools.supervise" in cmd and str(workdir) in os.readlink(f"/proc/{pid}/cwd"):
                        victim = pid
                except OSError:
                    continue
            time.sleep(0.5)
        assert victim is not None, "no job started"
        time.sleep(3)
        os.kill(processes()[victim][0], signal.SIGKILL)
        output, _ = sweeping.communicate(timeout=600)
    finally:
        if sweeping.poll() is None:
            sweeping.kill()
    return subprocess.CompletedProcess(sweeping.args, sweeping.returncode, output, ""), victim


def remote_experiments(project: Path, baseline: str) -> list[str]:
    refs = run(["git", "ls-remote", str(project / ".sweep/remotes/git"), exp_ref(baseline, "*")], project).stdout
    return sorted(line.rsplit("/", 1)[1] for line in refs.splitlines())


def two_knn_sweep(project: Path) -> str:
    """Two experiments of k-NN alone (3-NN's k, 3 and 5) on pixels and codes, committed: the cheapest sweep whose
    two jobs keep two workers busy."""
    spec = yaml.safe_load((project / "sweeps/smoke.yaml").read_text())
    spec["set"] |= {"conf/autoencoders/h32-lr1e-2.yaml:epochs": 3, "compare.features": ["raw", "ae"],
                    "compare.classifiers": ["knn"], "compare.pairs": ["ae vs raw"],
                    "label_budgets.labels_per_class": [4, "all"]}
    spec["product"] = {"name": "knn-k{classifiers.knn.scores.knn3.n_neighbors}",
                       "params": {"classifiers.knn.scores.knn3.n_neighbors": [3, 5]}}
    write(project / "sweeps/knn.yaml", spec)
    run(["git", "add", "sweeps/knn.yaml"], project)
    run(["git", "commit", "-qm", "two-experiment k-NN sweep"], project)
    return "sweeps/knn.yaml"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds and kills a worker through /proc (Linux)")
def test_sweep_on_dask_survives_a_killed_worker_skips_what_is_done_and_matches_direct_runs(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    sweep_file = two_knn_sweep(project)
    baseline = run(["git", "rev-parse", "HEAD"], project).stdout.strip()
    # A dirty workspace is refused with one line: every job starts from the baseline commit.
    (project / "params.yaml").write_text((project / "params.yaml").read_text() + "\n")
    refused = sweep(project, sweep_file, check=False)
    assert refused.returncode != 0 and "error: the workspace has uncommitted changes (params.yaml)" in refused.stderr
    run(["git", "checkout", "params.yaml"], project)

    # The sweep on a LocalCluster of two workers on 127.0.0.1, one of them killed while its job runs: the job
    # is rescheduled, no experiment is lost or pushed twice, and its processes went down with the worker.
    swept, victim = kill_a_worker_mid_job(project, tmp_path, f"SWEEP={sweep_file}", "EXECUTOR=dask", "JOBS=2")
    assert swept.returncode == 0, swept.stdout
    out = swept.stdout
    experiments = load_sweep(project / sweep_file)
    names = sorted(e.name for e in experiments)
    assert names == ["knn-k3", "knn-k5"]
    assert "2 experiments on baseline" in out and "0 already pushed, 2 to run" in out
    for name in names:
        assert any(line.startswith(name) and " pushed " in line and "tcp://127.0.0.1:" in line
                   for line in out.splitlines()), out
    time.sleep(1)
    assert victim not in processes()
    assert remote_experiments(project, baseline) == names
    shown = json.loads(run(["dvc", "exp", "show", "--json"], project).stdout)
    assert sorted(exp["name"] for rev in shown for exp in (rev.get("experiments") or []) for exp in exp["revs"]) == names

    # Again: everything is on the remote already, nothing runs.
    assert "2 already pushed, 0 to run" in sweep(project, sweep_file).stdout
    assert remote_experiments(project, baseline) == names

    # An experiment's metrics equal those of `dvc exp run` with the same params, run here directly (in this
    # workspace's own DVC cache, which the sweep's jobs did not share). One of the two: each direct run is a
    # pipeline's worth of stages, and the test suite's time is bounded.
    experiment = experiments[-1]
    args = [a for p in experiment.params for a in ("-S", p)]
    run(["dvc", "exp", "run", "-n", f"direct-{experiment.name}", *args], project)
    direct = summary_at(project, exp_ref(baseline, f"direct-{experiment.name}"))
    assert summary_at(project, exp_ref(baseline, experiment.name)) == direct, experiment.name


def slurm_job_of(pid: int) -> str | None:
    """The SLURM job a process runs in, from its environment."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    found = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"SLURM_JOB_ID=")]
    return found[0] if found else None


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds a job's processes through /proc (Linux)")
def test_sweep_through_slurm_survives_a_cancelled_job(tmp_path: Path) -> None:
    """`make sweep EXECUTOR=slurm` on a one-node SLURM cluster on loopback (munged, slurmctld, slurmd): the Dask
    workers are batch jobs; one is cancelled with `scancel` while its experiment runs, the experiment is
    rescheduled, and the remote ends with each experiment once, nothing half-done."""
    with slurm_cluster(tmp_path / "slurm") as cluster:
        project = copy_project(tmp_path / "project")
        sweep_file = two_knn_sweep(project)
        baseline = run(["git", "rev-parse", "HEAD"], project).stdout.strip()
        options = tmp_path / "slurm.yaml"
        write(options, {"cores": 1, "memory": "3GB", "walltime": "00:30:00", "interface": "lo",
                        "log_directory": ".sweep/slurm-logs"})
        env = {**os.environ, **cluster.env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
        # A partition sbatch refuses ends the sweep with sbatch's line, where Dask would resubmit forever.
        refused = tmp_path / "refused.yaml"
        write(refused, {"cores": 1, "memory": "3GB", "walltime": "00:30:00", "queue": "nosuchpartition"})
        result = subprocess.run(["make", "sweep", f"SWEEP={sweep_file}", "EXECUTOR=slurm", "JOBS=1", f"SLURM={refused}",
                                 f"VENV={BIN.parent}"], cwd=project, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode != 0 and "error: SLURM refused the job script: " in result.stderr, result.stderr
        assert "Invalid partition" in result.stderr.splitlines()[-2]
        sweeping = subprocess.Popen(["make", "sweep", f"SWEEP={sweep_file}", "EXECUTOR=slurm", "JOBS=2",
                                     f"SLURM={options}", f"WORKDIR={tmp_path}", f"VENV={BIN.parent}"],
                                    cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline, cancelled, supervisor = time.monotonic() + 240, None, None
            while cancelled is None and time.monotonic() < deadline:
                for pid, (_, cmd) in processes().items():
                    if "tools.supervise" in cmd and slurm_job_of(pid):
                        time.sleep(3)
                        cancelled, supervisor = slurm_job_of(pid), pid
                        assert supervisor in processes(), "the experiment ended before its job was cancelled"
                        cluster.command("scancel", cancelled)
                        break
                time.sleep(0.5)
            assert cancelled is not None, "no experiment started in a SLURM job"
            time.sleep(5)
            assert supervisor not in processes(), "the cancelled job's experiment went down with it"
            assert cancelled not in cluster.command("squeue", "-h", "-o", "%i").split()
            output, _ = sweeping.communicate(timeout=900)
        finally:
            if sweeping.poll() is None:
                sweeping.kill()
        assert sweeping.returncode == 0, output
    names = ["knn-k3", "knn-k5"]
    for name in names:
        assert any(line.startswith(name) and " pushed " in line for line in output.splitlines()), output
    assert remote_experiments(project, baseline) == names
    shown = json.loads(run(["dvc", "exp", "show", "--json"], project).stdout)
    assert sorted(exp["name"] for rev in shown for exp in (rev.get("experiments") or []) for exp in exp["revs"]) == names


@pytest.mark.parametrize(("options", "message"), [
    (["cores: 1"], r"the SLURM file must be a mapping"),
    ({"job_extra_directives": ["--qos=normal\ntouch PWNED"]}, r"job_extra_directives must be a list of one-line"),
    ({"job_extra_directives": ["--qos=x;touch PWNED"]}, r"job_extra_directives holds '--qos=x;touch PWNED', not one"),
    ({"job_script_prologue": ["module load x\rtouch PWNED"]}, r"job_script_prologue must be a list of one-line"),
    ({"log_directory": "/tmp/elsewhere"}, r"log_directory must be a folder inside the project"),
    ({"log_directory": "../up"}, r"log_directory must be a folder inside the project"),
    ({"cores": 10**12}, r"cores must be an integer in \[1, 1024\]"),
    ({"cores": True}, r"cores must be an integer"),
    ({"memory": "1e30GB"}, r"memory must be a size such as 16GB"),
    ({"memory": "100000TB"}, r"memory must be a size such as 16GB, at most 64 TiB"),
    ({"walltime": "99999999:00:00"}, r"walltime must be \[D-\]HH:MM:SS"),
    ({"walltime": "800:00:00"}, r"walltime must be .*, at most 720 hours"),
    ({"queue": "compute\n#SBATCH --x"}, r"queue must be one word"),
    ({"python": "/bin/sh"}, r"unknown key\(s\) python"),
])
def test_slurm_options_are_checked_before_a_job_script_is_written(tmp_path: Path, options, message: str) -> None:
    with pytest.raises(StudyError, match=rf"^(SLURM options: )?{message}"):
        check_slurm_options(options, tmp_path)


def test_sound_slurm_options_pass(tmp_path: Path) -> None:
    options = {"cores": 8, "memory": "16GB", "walltime": "1-04:00:00", "queue": "compute", "interface": "lo",
               "log_directory": ".sweep/slurm-logs", "job_extra_directives": ["--qos=normal", "--gres=gpu:1"],
               "job_script_prologue": ["source /shared/ae-study/.venv/bin/activate"]}
    assert check_slurm_options(options, tmp_path) == options


def test_a_failed_jobs_log_tail_holds_no_password(tmp_path: Path) -> None:
    """A failed job's log named the shared remote's URL with its password and the git remote's with its token."""
    from tools.sweep import LOG_LINE_CHARS, failure_tail

    log = tmp_path / "job.log"
    log.write_text("pushing to ssh://alice:hunter2@host/srv/cache\nfatal: https://x-token:ghp_SECRET@github.com/o/r\n"
                   + "x" * 10_000 + "\n")
    tail = failure_tail(log, StudyError("dvc exp push origin https://ci:tok3n@example.org/r.git failed"))
    assert not any(secret in line for line in tail for secret in ("hunter2", "ghp_SECRET", "tok3n"))
    assert tail[0] == "pushing to ssh://***@host/srv/cache" and all(len(line) <= LOG_LINE_CHARS for line in tail)
