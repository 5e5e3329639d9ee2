"""The shared remote against a real server: OpenSSH's sshd on loopback (tests/servers.py), reached through dvc-ssh
by `make push` / `make pull` (tools/remote.py). The small study is pushed with DVC's run-cache, pulled into a fresh
clone that then experiments without re-running the study, and the faults on the way: a server killed in the middle
of a push, a corrupted object on the remote, a server that is not there."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, ROOT, SMALL_FEATURES, run, stages_run
from tests.servers import SSHServer, ssh_server

pytestmark = pytest.mark.slow


def attach(project: Path, server: SSHServer, store: Path) -> None:
    """The user's one-time step: the remote's URL (and here its key) in the git-ignored .dvc/config.local."""
    run(["dvc", "remote", "modify", "--local", "storage", "url", server.url(store)], project)
    run(["dvc", "remote", "modify", "--local", "storage", "keyfile", str(server.keyfile)], project)


def make(target: str, project: Path, server: SSHServer) -> subprocess.CompletedProcess:
    return run(["make", "-s", target, f"VENV={BIN.parent}"], project, env={"HOME": str(server.home)})


def refused(command: str, project: Path, server: SSHServer | None = None) -> str:
    """What `make push` / `make pull` print when they fail (make adds its own `Error 1` line after it): the one
    line, checked here."""
    result = run(["python", "-m", "tools.remote", command], project, check=False,
                 env={"HOME": str(server.home)} if server else None)
    assert result.returncode == 1 and result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def fresh_clone(project: Path, dest: Path, server: SSHServer, store: Path) -> Path:
    run(["git", "clone", "-q", str(project), str(dest)], project)
    attach(dest, server, store)
    return dest


def outputs(project: Path) -> dict[str, str]:
    """The MD5 of every file of every cached output dvc.lock names (the others, metrics/, are in git)."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    files = {}
    for stage in lock.values():
        for out in stage.get("outs", []):
            if not out["path"].startswith("data/"):
                continue
            path = project / out["path"]
            for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
                files[str(file.relative_to(project))] = hashlib.md5(file.read_bytes()).hexdigest()
    return files


def commit(project: Path, message: str) -> None:
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], project)


def test_push_then_a_fresh_clone_pulls_and_experiments_without_rerunning_the_study(reproduced: Path,
                                                                                   tmp_path: Path) -> None:
    with ssh_server(tmp_path / "sshd") as server:
        store = tmp_path / "store"
        attach(reproduced, server, store)
        started = time.monotonic()
        assert "files pushed" in make("push", reproduced, server).stdout
        pushed = time.monotonic() - started
        clone = fresh_clone(reproduced, tmp_path / "clone", server, store)
        started = time.monotonic()
        make("pull", clone, server)
        pulled = time.monotonic() - started
        assert run(["dvc", "status"], clone).stdout.strip() == "Data and pipelines are up to date."
        assert outputs(clone) == outputs(reproduced)
        out = run(["dvc", "exp", "run", "-S", "classifiers.knn.scores.knn3.n_neighbors=5"], clone,
                  env={"HOME": str(server.home)}).stdout
        assert stages_run(out) == {"validate", *(f"classify@digits-{f}-knn" for f in SMALL_FEATURES), "stats@digits",
                                   "report"}
    print(f"push {pushed:.1f} s, pull {pulled:.1f} s")


def test_a_killed_push_completes_when_repeated_and_faults_are_one_line(reproduced: Path, tmp_path: Path) -> None:
    # A large output, so that the push is still under way when the server dies.
    big = reproduced / "big.bin"
    big.write_bytes(hashlib.shake_256(b"big").digest(32 * 2**20))
    run(["dvc", "add", "big.bin"], reproduced)
    commit(reproduced, "a large file")
    with ssh_server(tmp_path / "sshd") as server:
        store = tmp_path / "store"
        attach(reproduced, server, store)
        push = subprocess.Popen(["dvc", "push", "--run-cache", "-r", "storage"], cwd=reproduced,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=run_env(server))
        deadline = time.monotonic() + 60
        while not (store / "files").exists() and push.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        server.stop()  # killed with the first object on the remote
        assert push.wait(timeout=120) != 0, "the push ended before the server was killed"
        server.start()
        assert "files pushed" in make("push", reproduced, server).stdout  # what the first push left undone
        clone = fresh_clone(reproduced, tmp_path / "clone", server, store)
        make("pull", clone, server)
        assert outputs(clone) == outputs(reproduced) and (clone / "big.bin").read_bytes() == big.read_bytes()
        assert run(["dvc", "status"], clone).stdout.strip() == "Data and pipelines are up to date."

        # A corrupted object on the remote: the pull refuses it in one line and leaves the workspace as it was.
        md5 = next(o["md5"] for o in yaml.safe_load((reproduced / "dvc.lock").read_text())["stages"]
                   ["extract@digits"]["outs"] if o["path"].endswith(".npz"))
        stored = store / "files/md5" / md5[:2] / md5[2:]
        corrupted = bytearray(stored.read_bytes())
        corrupted[100] ^= 0xFF
        stored.write_bytes(bytes(corrupted))
        second = fresh_clone(reproduced, tmp_path / "second", server, store)
        assert "data/prepared/digits.npz" in refused("pull", second, server)
        assert outputs(second) == {}, "the outputs the pull could fetch were taken back"

        # The server gone: one line, nothing written.
        server.stop()
        third = fresh_clone(reproduced, tmp_path / "third", server, store)
        assert "Connect call failed" in refused("pull", third, server) and outputs(third) == {}
        assert "Connect call failed" in refused("push", reproduced, server)


def test_the_committed_placeholder_url_is_refused_before_any_connection(project: Path) -> None:
    assert refused("pull", project) == ("error: the remote 'storage' has no URL of yours yet: dvc remote modify "
                                        "--local storage url <url> (docs/experiments.md, \"A shared remote\")\n")


def run_env(server: SSHServer) -> dict[str, str]:
    import os

    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(server.home)}


def test_a_malformed_remote_url_is_one_line(tmp_path: Path) -> None:
    """An unclosed `[` in the URL of config.local ended `make pull` in urllib's traceback."""
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    (tmp_path / ".dvc/config.local").write_text("['remote \"storage\"']\n    url = ssh://me:hunter2@[bad/x\n")
    result = subprocess.run([str(BIN / "python"), "-m", "tools.remote", "pull"], cwd=tmp_path, capture_output=True,
                            text=True, env={"PATH": f"{BIN}:/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1 and result.stderr.splitlines() == [
        "error: the remote 'storage' has a malformed URL (ssh://***@[bad/x): dvc remote modify --local storage url "
        "<url>"], result.stderr


def test_a_failed_pull_takes_back_only_outputs_inside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """dvc.lock's output paths are what a failed pull removes: one outside the project (`path: ../x`), absolute,
    or not a string (`path: yes`) is never one of them, and no traceback."""
    from tools.remote import outputs

    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"stages": {
        "a": {"outs": [{"path": "data/a"}, {"path": "../outside"}, {"path": "/etc/passwd"}, {"path": True},
                       {"path": "data/../.."}, {"path": "."}]},
        "b": ["not a stage"], "c": {"outs": "not a list"}}}))
    monkeypatch.chdir(tmp_path)
    assert outputs() == [Path("data/a")]
