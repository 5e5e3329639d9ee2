"""Hostile input, third round, at the library's boundary (fast): one YAML reading with DVC's semantics, bounded
and quiet errors, estimator arguments checked like targets, downloads under a wall-clock deadline, sweep values
that DVC would read as grammar. tests/test_hostile.py runs the same rules through real stage processes."""

from __future__ import annotations

import http.server
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aestudy.core.catalogue import Catalogue, parse_entry, resolve_target
from aestudy.core.errors import MAX_SHOWN, StudyError, shown
from aestudy.core.io import MAX_CONFIG_BYTES
from aestudy.data.datasets import IDX_FILES, train_val_split
from aestudy.data.download import URLSource
from aestudy.data.loaders import fetch_verified, mirror_from_environment
from aestudy.data.reads import Pace
from stages import conf as C
from stages import design as D
from stages import params as P
from tests.conftest import ROOT, tiny_spec
from tools.sweep_file import load_sweep

# Six levels of nine aliases: 9^6 = 531441 copies of one list from a 300-byte file.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(5))


@pytest.fixture
def in_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's params.yaml and conf/ in a temporary folder, made the working directory."""
    (tmp_path / "conf").mkdir()
    for group in ("datasets", "autoencoders"):
        (tmp_path / "conf" / group).mkdir()
        for path in (ROOT / "conf" / group).glob("*.yaml"):
            (tmp_path / "conf" / group / path.name).write_text(path.read_text())
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit_params(old: str, new: str) -> None:
    text = Path("params.yaml").read_text()
    assert old in text, old
    Path("params.yaml").write_text(text.replace(old, new, 1))


# ---------------------------------------------------------------------------------------------------
# One YAML reading


def test_the_study_reads_numbers_as_dvc_does(in_copy: Path) -> None:
    """`draws: 010` is 10 to DVC (YAML 1.2); PyYAML (YAML 1.1) read 8, so the stage drew 8 label sets while
    `dvc params diff` and dvc.lock said 10."""
    from dvc.utils.serialize import load_yaml

    edit_params("  draws: ", "  draws: 010 #")
    assert P.load_params()["label_budgets"]["draws"] == load_yaml("params.yaml")["label_budgets"]["draws"] == 10


def test_a_duplicate_key_is_refused_as_dvc_refuses_it(in_copy: Path) -> None:
    Path("params.yaml").write_text(Path("params.yaml").read_text() + "device: cpu\n")
    with pytest.raises(StudyError, match=r"^params.yaml: not valid YAML at line \d+ \(found duplicate key "
                                         r"\"device\" with value \"cpu\""):
        P.load_params()


@pytest.mark.parametrize("key", ["epochs", "batch_size"])
def test_true_is_not_a_number(key: str) -> None:
    """`epochs: true` passed as the integer 1 (bool is an int): training ran one epoch and recorded true."""
    entry = parse_entry("autoencoders", "x", {"_target_": "aestudy.models.AutoencoderFeatures", key: True}, "x.yaml")
    with pytest.raises(StudyError, match=rf"^x.yaml.{key} must be a number \(its default is \d+\), got true$"):
        entry.check()


# ---------------------------------------------------------------------------------------------------
# Bounded, quiet errors


def test_an_alias_bomb_is_refused_at_once_with_a_short_line(in_copy: Path) -> None:
    (in_copy / "conf/autoencoders/unused.yaml").write_text(ALIAS_BOMB)
    started = time.perf_counter()
    with pytest.raises(StudyError) as raised:
        C.autoencoder("unused")
    assert time.perf_counter() - started < 2
    assert str(raised.value) == ("conf/autoencoders/unused.yaml: expands to more than 100000 values (YAML aliases "
                                 "repeated?)")


def test_a_message_shows_a_short_value_whatever_it_holds() -> None:
    bomb = ["x"] * 9
    for _ in range(6):
        bomb = [bomb] * 9
    assert len(shown(bomb)) <= MAX_SHOWN and len(shown("y" * 10**6)) <= MAX_SHOWN
    assert shown({"url": "https://me:secret@example.org/x"}) == "{'url': 'https://***@example.org/x'}"


def test_a_link_out_of_the_project_is_refused_unread(in_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A conf file linked to another file (one holding credentials): refused by name, its content never shown."""
    secret = tmp_path_factory.mktemp("home") / "credentials"
    secret.write_text("aws_secret_access_key = hunter2\n")
    (in_copy / "conf/datasets/leak.yaml").symlink_to(secret)
    with pytest.raises(StudyError, match=r"^conf/datasets/leak.yaml: a link to a file outside the project") as raised:
        C.dataset_spec("leak")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "large"])
def test_params_that_are_no_ordinary_file_are_refused_before_reading(in_copy: Path, kind: str) -> None:
    Path("params.yaml").unlink()
    if kind == "dev-zero":
        Path("params.yaml").symlink_to("/dev/zero")  # outside the project, but a device first
        message = r"a link to a file outside the project"
    elif kind == "fifo":
        os.mkfifo("params.yaml")
        message = r"not a regular file"
    else:
        Path("params.yaml").write_text("# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
        message = rf"\d+ bytes, more than the {MAX_CONFIG_BYTES} a configuration file may hold"
    started = time.perf_counter()
    with pytest.raises(StudyError, match=rf"^params.yaml: {message}"):
        P.load_params()
    assert time.perf_counter() - started < 2


def test_a_mirror_password_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AE_DATA_MIRROR", "me:hunter2@example.org/mnist")
    with pytest.raises(StudyError) as raised:
        mirror_from_environment()
    assert "hunter2" not in str(raised.value)
    spec = tiny_spec({IDX_FILES["train_images"]: b""})
    with pytest.raises(StudyError) as raised:
        fetch_verified(spec, IDX_FILES["train_images"], [URLSource("http://me:hunter2@127.0.0.1:9", timeout_s=1)])
    assert "hunter2" not in str(raised.value) and "http://***@127.0.0.1:9" in str(raised.value)


# ---------------------------------------------------------------------------------------------------
# Estimator arguments checked like targets


@pytest.mark.parametrize(("spec", "message"), [
    ({"_target_": "sklearn.cluster.FeatureAgglomeration", "memory": "/tmp/cache"},
     r"x.memory: names a cache, file or folder"),
    ({"_target_": "sklearn.pipeline.Pipeline", "steps": [], "memory": "cache"}, r"x.memory: names a cache"),
    ({"_target_": "sklearn.neighbors.KNeighborsClassifier", "n_jobs": 100000},
     r"x.n_jobs must be an integer in \[1, \d+\] \(this machine's cores\) or -1"),
    ({"_target_": "sklearn.neighbors.KNeighborsClassifier", "n_jobs": True}, r"x.n_jobs must be an integer"),
    ({"_target_": "sklearn.neighbors.KNeighborsClassifier", "n_neighbors": True}, r"x.n_neighbors must be a number"),
])
def test_an_argument_is_checked_before_the_class_is_called(spec: dict, message: str) -> None:
    kind = "classifiers" if "Classifier" in spec["_target_"] else "features"
    with pytest.raises(StudyError, match=rf"^{message}"):
        parse_entry(kind, "x", spec, "x").check()


def test_numbers_of_jobs_within_the_cores_pass() -> None:
    for jobs in (None, 1, -1):
        parse_entry("classifiers", "x", {"_target_": "sklearn.neighbors.KNeighborsClassifier", "n_jobs": jobs},
                    "x").check().build()


@pytest.mark.parametrize(("path", "message"), [
    ("hostile_broken.Thing", r": importing 'hostile_broken' failed \(SyntaxError: "),
    (".".join(["a"] * 1000) + ".B", r" must be an import path such as sklearn.svm.SVC"),
])
def test_a_target_that_cannot_be_imported_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      path: str, message: str) -> None:
    """A module that fails as it runs (not an ImportError) was a traceback; a 2 KB dotted path a RecursionError."""
    (tmp_path / "hostile_broken.py").write_text("def (:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StudyError, match=rf"^x._target_{message}") as raised:
        resolve_target(path, "x", "classifiers")
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 400


# ---------------------------------------------------------------------------------------------------
# Values the study refuses


def test_a_pair_listed_twice_is_refused(in_copy: Path) -> None:
    edit_params("  - ae vs raw\n", "  - ae vs raw\n  - ae vs raw\n")
    with pytest.raises(StudyError, match=r"^params.yaml: compare.pairs lists 'ae vs raw' twice$"):
        D.design(P.load_params())


@pytest.mark.parametrize("device", ["cudagraph", "cuda:", "cuda:0;x", "CPU"])
def test_a_device_is_one_of_the_forms(device: str) -> None:
    with pytest.raises(StudyError, match=r"device must be auto, cpu or cuda\[:N\]"):
        P.device({"device": device})


def test_a_validation_share_that_leaves_nothing_to_fit_is_one_line() -> None:
    with pytest.raises(StudyError, match=r"^val_fraction 0.9999 of 1437 samples leaves none to fit on$"):
        train_val_split(1437, 0.9999, 0)


def test_a_long_chain_of_feature_sets_is_refused_at_once() -> None:
    entries = {f"f{i}": {"_target_": "sklearn.decomposition.PCA", **({"input": f"f{i - 1}"} if i else {})}
               for i in range(2000)}
    started = time.perf_counter()
    with pytest.raises(StudyError, match=r"a chain of more than 8 feature sets"):
        Catalogue({name: parse_entry("features", name, spec, f"features.{name}")
                     for name, spec in entries.items()}).chain("f1999")
    assert time.perf_counter() - started < 2


# ---------------------------------------------------------------------------------------------------
# Sweeps


@pytest.mark.parametrize(("value", "what"), [("${oc.env:HOME}", "'$'"), ("1,2,3", "','")])
def test_a_sweep_value_that_dvc_would_read_as_grammar_is_refused(tmp_path: Path, value: str, what: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"experiments:\n  - name: a\n    set: {{device: '{value}'}}\n")
    with pytest.raises(StudyError, match=rf"s.yaml: experiments\[0\].set.device: the value '.+' holds {re.escape(what)}"):
        load_sweep(path)


# ---------------------------------------------------------------------------------------------------
# A download under a wall-clock deadline


class SlowStatus(http.server.BaseHTTPRequestHandler):
    """The status line and headers one byte every 0.2 s, each well within any silence timeout."""

    def do_GET(self) -> None:
        try:
            for byte in b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client hung up, as it should
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowStatus)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_status_line_sent_byte_by_byte_meets_the_deadline(slow_server: str) -> None:
    source = URLSource(slow_server, timeout_s=5, pace=Pace(deadline_s=1.5, min_rate=0.0))
    started = time.perf_counter()
    with pytest.raises(StudyError, match=r"not received within the 1.5 s deadline"):
        fetch_verified(tiny_spec({IDX_FILES["train_images"]: b""}), IDX_FILES["train_images"], [source])
    assert time.perf_counter() - started < 4
