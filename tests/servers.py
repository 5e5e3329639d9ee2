"""Real servers on loopback for the tests, started and stopped by the test that needs them: an HTTP server on a
handler the test writes, OpenSSH's sshd (a DVC remote over SSH) and a one-node SLURM cluster (munged, slurmctld,
slurmd). Each skips with one line where Debian's
package is not installed (`.ci/run` installs them)."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
LOOPBACK = "127.0.0.1"


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing (the base class writes a line per request to stderr)."""

    def log_message(self, *args) -> None:
        pass


@contextmanager
def http_server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free loopback port, in threads, for the block; its base URL."""
    httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a server and every process it forked (sshd a process per connection, slurmd a slurmstepd per job),
    as in a crash, and reap it."""
    import psutil

    try:
        tree = psutil.Process(process.pid)
        members = [*tree.children(recursive=True), tree]
    except psutil.NoSuchProcess:
        members = []
    for member in members:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before it listened on {port}")
        with socket.socket() as probe:
            if probe.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on {LOOPBACK}:{port} within {seconds} s")


@dataclass
class SSHServer:
    """An sshd on loopback that accepts one key for the current user; ``home`` holds that key and the
    ``known_hosts`` naming the server, so that a client run with ``HOME=home`` checks the host key."""

    folder: Path
    port: int
    home: Path
    process: subprocess.Popen | None = None

    @property
    def keyfile(self) -> Path:
        return self.home / ".ssh" / "id_ed25519"

    def url(self, path: Path) -> str:
        return f"ssh://{LOOPBACK}:{self.port}{path}"

    def start(self) -> None:
        self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.folder / "sshd_config")],
                                        stdout=subprocess.DEVNULL, stderr=open(self.folder / "sshd.log", "ab"))
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        """Killed, as in a crash: the listener and every connection's process (sshd forks one per client), so that
        nothing answers and every transfer under way breaks."""
        if self.process is not None and self.process.poll() is None:
            kill_tree(self.process)


@contextmanager
def ssh_server(folder: Path) -> Iterator[SSHServer]:
    """A real sshd on a free loopback port, its host key and the client's key made for the test."""
    if not SSHD.is_file() or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH's sshd is not installed (apt-get install openssh-server; .ci/run does)")
    folder.mkdir(parents=True)
    home = folder / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    for key in (folder / "host_key", home / ".ssh" / "id_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (folder / "authorized_keys").write_text((home / ".ssh" / "id_ed25519.pub").read_text())
    os.chmod(folder / "authorized_keys", 0o600)
    port = free_port()
    host_key = (folder / "host_key.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"[{LOOPBACK}]:{port} {host_key[0]} {host_key[1]}\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    (folder / "sshd_config").write_text("\n".join([
        f"Port {port}", f"ListenAddress {LOOPBACK}", f"HostKey {folder / 'host_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", f"PidFile {folder / 'sshd.pid'}",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "PermitRootLogin prohibit-password", "MaxStartups 100", "MaxSessions 100", "Subsystem sftp internal-sftp",
        ""]))
    server = SSHServer(folder, port, home)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class SlurmCluster:
    """A one-node SLURM cluster on loopback: ``env`` points SLURM's commands at its configuration."""

    folder: Path
    env: dict[str, str]
    processes: list[subprocess.Popen]

    def command(self, *args: str) -> str:
        return subprocess.run(list(args), env={**os.environ, **self.env}, capture_output=True, text=True,
                              check=True).stdout


SLURM_DAEMONS = ("munged", "slurmctld", "slurmd")


@contextmanager
def slurm_cluster(folder: Path, cpus: int = 2, memory_mb: int = 8000) -> Iterator[SlurmCluster]:
    """munged, slurmctld and slurmd from Debian's packages, run in the foreground for the length of the block, with
    a generated munge key and slurm.conf; every file under ``folder``."""
    missing = [daemon for daemon in SLURM_DAEMONS if shutil.which(daemon) is None]
    if missing:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)}: apt-get install slurm-wlm munge; .ci/run does)")
    for sub in ("munge", "state", "spool", "log"):
        (folder / sub).mkdir(parents=True)
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o400)
    socket_path = folder / "munge" / "munge.socket"
    host = socket.gethostname().split(".")[0]
    ctld_port, slurmd_port = free_port(), free_port()
    conf = folder / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=aestudy-test", f"SlurmctldHost={host}({LOOPBACK})", f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}", "SlurmUser=root", "SlurmdUser=root", "AuthType=auth/munge",
        f"AuthInfo=socket={socket_path}", "CredType=cred/munge", f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool'}", f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'slurmd.pid'}", f"SlurmctldLogFile={folder / 'log/slurmctld.log'}",
        f"SlurmdLogFile={folder / 'log/slurmd.log'}",
        # No cgroups in a container: processes tracked by their parents, no task confinement.
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        "SchedulerType=sched/backfill", "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
        "ReturnToService=2", "MpiDefault=none", "KillWait=5",
        f"NodeName={host} NodeAddr={LOOPBACK} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""]))
    env = {"SLURM_CONF": str(conf)}
    full_env = {**os.environ, **env}
    started: list[subprocess.Popen] = []
    cluster = SlurmCluster(folder, env, started)
    try:
        started.append(subprocess.Popen(
            ["munged", "-F", "-f", f"--key-file={key}", f"--socket={socket_path}",
             f"--pid-file={folder / 'munge/munged.pid'}", f"--seed-file={folder / 'munge/seed'}",
             f"--log-file={folder / 'log/munged.log'}"], env=full_env, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = open(folder / "log/daemons.out", "ab")
        started.append(subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(conf)], env=full_env, stdout=log,
                                        stderr=log))
        wait_for_port(ctld_port, started[-1])
        started.append(subprocess.Popen(["slurmd", "-D", "-f", str(conf)], env=full_env, stdout=log, stderr=log))
        deadline = time.monotonic() + 30
        while "idle" not in cluster.command("sinfo", "-h", "-o", "%T") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "idle" in cluster.command("sinfo", "-h", "-o", "%T"), (folder / "log/daemons.out").read_text()
        yield cluster
    finally:
        for process in reversed(started):
            kill_tree(process)
