"""Hostile input, third round, at the library's boundary (fast): one YAML reading with DVC's semantics, bounded
and quiet errors, estimator arguments checked like targets, downloads under a wall-clock deadline, sweep values
that DVC would read as grammar. tests/hostile/test_hostile.py runs the same rules through real stage processes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aestudy.core.errors import MAX_SHOWN, StudyError, shown
from aestudy.core.io import MAX_CONFIG_BYTES, read_config
from aestudy.data.datasets import IDX_FILES, train_val_split
from aestudy.data.download import URLSource
from aestudy.data.loaders import fetch_verified, mirror_from_environment
from aestudy.data.reads import Pace
from study import conf, params_yaml
from study.catalogue import Catalogue, parse_entry, resolve_target
from study.design import headline_specs, read_design
from tests.conftest import ROOT, tiny_spec
from tests.servers import QuietHandler, http_server
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
    """`draws: 10` is 10 to DVC and to the study (both read YAML 1.2 with ruamel)."""
    from dvc.utils.serialize import load_yaml

    assert params_yaml.load_params()["label_budgets"]["draws"] == load_yaml("params.yaml")["label_budgets"]["draws"] == 10


@pytest.mark.parametrize("written", ["010", "0o10", "0x0a"])
def test_an_integer_readers_disagree_on_is_refused(in_copy: Path, written: str) -> None:
    """`draws: 010` is 10 to YAML 1.2 and 8 to YAML 1.1; DVC's own `-S` round trip rewrote it as `0o10`, 8 to
    both: the study read 8 draws where the user wrote 10. Written in decimal, or refused."""
    edit_params("  draws: ", f"  draws: {written} #")
    with pytest.raises(StudyError, match=rf"^params.yaml: the integer {written} at line \d+ has a leading zero or "
                                         "another base; write it in decimal"):
        params_yaml.load_params()


@pytest.mark.parametrize(("text", "message"), [
    ("%YAML 1.1\n---\n", r"a %YAML or %TAG directive at line 1"),
    ("extra: !!binary aGVsbG8=\n", r"an explicit YAML tag tag:yaml.org,2002:binary"),
    ("extra: {_target_: x, token: '${oc.env:HOME}'}\n", r"\$\{\.\.\.\} at line \d+ \(\$\{oc.env:HOME\}\): "
                                                      "interpolations are not read"),
])
def test_directives_tags_and_interpolations_are_refused_in_any_value(in_copy: Path, text: str, message: str) -> None:
    """Anywhere in the file, used or not: an inactive entry's `${oc.env:...}` passed validate and DVC's -S wrote
    its value into a queued experiment's commit; `!!binary` and a `%YAML 1.1` directive changed how values read."""
    body = Path("params.yaml").read_text()
    Path("params.yaml").write_text(text + body if text.startswith("%") else body + text)
    with pytest.raises(StudyError, match=rf"^params.yaml: {message}"):
        read_config("params.yaml")


def test_a_duplicate_key_is_refused_as_dvc_refuses_it(in_copy: Path) -> None:
    Path("params.yaml").write_text(Path("params.yaml").read_text() + "device: cpu\n")
    with pytest.raises(StudyError, match=r"^params.yaml: not valid YAML at line \d+ \(found duplicate key "
                                         r"\"device\" with value \"cpu\""):
        params_yaml.load_params()


@pytest.mark.parametrize(("kind", "target", "key", "value"), [
    ("autoencoders", "aestudy.models.AutoencoderFeatures", "epochs", True),
    ("autoencoders", "aestudy.models.AutoencoderFeatures", "batch_size", False),
    ("features", "aestudy.features.UMAPFeatures", "n_epochs", True),  # default None: umap-learn's choice
    ("classifiers", "aestudy.classifiers.KNNClassifier", "block_size", True),  # default None: sized to the memory
    ("classifiers", "aestudy.classifiers.GraphClassifier", "priors", [True, False]),
])
def test_true_is_not_a_number(kind: str, target: str, key: str, value: object) -> None:
    """`epochs: true` passed as the integer 1 (bool is an int): training ran one epoch and recorded true; where
    the default is null, `block_size: true` searched one image a block."""
    entry = parse_entry(kind, "x", {"_target_": target, key: value}, "x")
    with pytest.raises(StudyError, match=rf"^x.{key} takes a number, a list of numbers or null \(its default is "
                                         r".*\), not true or false, got "):
        entry.check()


def test_true_stays_a_value_where_the_class_takes_one() -> None:
    """A boolean default, or a constraint naming booleans, keeps true and false as values."""
    parse_entry("classifiers", "x", {"_target_": "sklearn.ensemble.RandomForestClassifier", "bootstrap": False},
                "x").check()
    parse_entry("classifiers", "x", {"_target_": "sklearn.ensemble.HistGradientBoostingClassifier",
                                     "early_stopping": True}, "x").check()


def test_a_nested_estimator_is_refused_by_validate() -> None:
    """A mapping with `_target_` inside an argument passed validate and failed later in a traceback."""
    entry = parse_entry("classifiers", "x", {"_target_": "sklearn.ensemble.BaggingClassifier",
                                             "estimator": {"_target_": "sklearn.svm.SVC"}}, "x")
    with pytest.raises(StudyError, match=r"^x.estimator: a nested estimator \(_target_ inside an argument\)"):
        entry.check()


def test_a_class_without_an_init_of_its_own_takes_no_argument() -> None:
    """object.__init__'s signature says **kwargs: an inactive entry's unknown arguments passed."""
    entry = parse_entry("classifiers", "x", {"_target_": "sklearn.dummy.DummyClassifier", "nonsense": 1}, "x")
    with pytest.raises(StudyError, match="takes no argument"):
        entry.check()
    from sklearn.base import BaseEstimator, ClassifierMixin

    from study.catalogue import init_arguments

    class Bare(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            return self

        def predict(self, X):
            return X[:, 0]

    assert init_arguments(Bare) == (set(), False)


# ---------------------------------------------------------------------------------------------------
# Bounded, quiet errors


def test_an_alias_bomb_is_refused_at_once_with_a_short_line(in_copy: Path) -> None:
    (in_copy / "conf/autoencoders/unused.yaml").write_text(ALIAS_BOMB)
    started = time.perf_counter()
    with pytest.raises(StudyError) as raised:
        conf.autoencoder("unused")
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
        conf.dataset_spec("leak")
    assert "hunter2" not in str(raised.value)


def test_a_link_inside_the_project_is_refused_unread(in_copy: Path) -> None:
    """A conf file linked to the project's own one-line `.env`: read as a YAML string, its token was echoed in
    "must be a mapping, got '...'"."""
    (in_copy / ".env").write_text("TOKEN=hunter2\n")
    (in_copy / "conf/datasets/leak.yaml").symlink_to(in_copy / ".env")
    with pytest.raises(StudyError, match=r"^conf/datasets/leak.yaml: a link; give the file itself") as raised:
        conf.dataset_spec("leak")
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
        params_yaml.load_params()
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
    ({"_target_": "sklearn.neighbors.KNeighborsClassifier", "n_neighbors": True}, r"x.n_neighbors takes a number"),
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
        read_design(params_yaml.load_params())


def test_a_pair_listed_both_ways_is_refused(in_copy: Path) -> None:
    """`ae vs pca` and `pca vs ae` were both reported, the second the first negated."""
    edit_params("  - ae vs raw\n", "  - ae vs raw\n  - pca vs ae\n")
    with pytest.raises(StudyError, match=r"^params.yaml: compare.pairs lists 'ae vs pca' and pca vs ae, one "
                                         "comparison both ways; keep one$"):
        read_design(params_yaml.load_params())


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    pair: ae vs pca\n", "    pair: ae vs nothing\n", r"headline.every_label.pair must be `A vs B`, two feature "
                                                             "sets or two scores of the study's entries"),
    ("    pair: ae vs pca\n", "    pair: ae vs knn1\n", r"headline.every_label.pair must be `A vs B`"),
    ("    - raw\n    - pca\n    - ae\n", "    - raw\n    - raw\n", r"headline.every_label.features lists a feature "
                                                                   "set twice"),
])
def test_the_headline_names_what_the_study_has(in_copy: Path, old: str, new: str, message: str) -> None:
    """The report dropped a headline pair or feature set that does not exist, silently."""
    edit_params(old, new)
    params = params_yaml.load_params()
    with pytest.raises(StudyError, match=rf"^params.yaml: {message}"):
        headline_specs(params, read_design(params))


def test_a_long_list_in_a_message_is_cut() -> None:
    """Unknown keys were listed uncut: one line of 404 KB."""
    params = {**params_yaml.load_params(ROOT / "params.yaml"), **{f"key{i}": i for i in range(10_000)}}
    with pytest.raises(StudyError) as raised:
        params_yaml.check_known_keys(params)
    assert len(str(raised.value)) < 400 and "and 9994 more" in str(raised.value)


@pytest.mark.parametrize(("text", "secret"), [
    ("https://alice:hunter@2TAILSECRET@example.org/x", "2TAILSECRET"),
    ("https://example.org/x?access_token=TOKEN123&y=1", "TOKEN123"),
    ("remote https://x-token:ghp_SECRET@github.com/o/r.git failed", "ghp_SECRET"),
    ("ssh://user:pa@ss@host/path", "ss@host"),
])
def test_redaction_takes_the_whole_password_and_query_tokens(text: str, secret: str) -> None:
    assert secret not in shown(text) and "***" in shown(text)


def test_a_trial_fit_that_never_ends_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """`validate` fits an unlabelled classifier on 64 points: LabelSpreading with max_iter 10^12 and tol 0 never
    returned (killed at 120 s)."""
    from stages import validate

    monkeypatch.setattr(validate, "TRIAL_SECONDS", 1.0)
    entry = parse_entry("classifiers", "ls", {"_target_": "sklearn.semi_supervised.LabelSpreading",
                                              "max_iter": 10**12, "tol": 0}, "params.yaml: classifiers.ls").check()
    started = time.perf_counter()
    with pytest.raises(StudyError, match=r"^params.yaml: classifiers.ls: a trial fit on 64 points ran past 1 s"):
        validate.check_unlabelled(entry, {})
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(("key", "value"), [("n_init", 10**9), ("max_iter", 10**9)])
def test_an_iteration_count_has_an_upper_bound(key: str, value: int) -> None:
    entry = parse_entry("classifiers", "c", {"_target_": "aestudy.classifiers.ClusterClassifier", key: value}, "c")
    with pytest.raises(StudyError, match=rf"c: The '{key}' parameter of ClusterClassifier must be an int in the "
                                         r"range \[1, \d+\]"):
        entry.check().build()


@pytest.mark.parametrize("device", ["cudagraph", "cuda:", "cuda:0;x", "CPU"])
def test_a_device_is_one_of_the_forms(device: str) -> None:
    with pytest.raises(StudyError, match=r"device must be auto, cpu or cuda\[:N\]"):
        params_yaml.device({"device": device})


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


@pytest.mark.parametrize(("value", "what"), [("${oc.env:HOME}", r"\$\{\.\.\.\} at line 3"),
                                           ("1,2,3", r"experiments\[0\].set.device: the value '.+' holds ','")])
def test_a_sweep_value_that_dvc_would_read_as_grammar_is_refused(tmp_path: Path, value: str, what: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"experiments:\n  - name: a\n    set: {{device: '{value}'}}\n")
    with pytest.raises(StudyError, match=rf"s.yaml: {what}"):
        load_sweep(path)


# ---------------------------------------------------------------------------------------------------
# A download under a wall-clock deadline


class SlowStatus(QuietHandler):
    """The status line and headers one byte every 0.2 s, each well within any silence timeout."""

    def do_GET(self) -> None:
        try:
            for byte in b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client hung up, as it should
            pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    with http_server(SlowStatus) as url:
        yield url


def test_a_status_line_sent_byte_by_byte_meets_the_deadline(slow_server: str) -> None:
    source = URLSource(slow_server, timeout_s=5, pace=Pace(deadline_s=1.5, min_rate=0.0))
    started = time.perf_counter()
    with pytest.raises(StudyError, match=r"not received within the 1.5 s deadline"):
        fetch_verified(tiny_spec({IDX_FILES["train_images"]: b""}), IDX_FILES["train_images"], [source])
    assert time.perf_counter() - started < 4


class RedirectToFTP(QuietHandler):
    """A redirect to an FTP server whose greeting would drip: urllib followed it, outside the deadline's watch."""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "ftp://127.0.0.1:9/train-images-idx3-ubyte.gz")
        self.end_headers()


def test_a_redirect_off_http_is_refused() -> None:
    with http_server(RedirectToFTP) as url:
        source = URLSource(url, timeout_s=5)
        with pytest.raises(StudyError, match=r"a redirect to ftp:// refused \(HTTP\(S\) only\)"):
            fetch_verified(tiny_spec({IDX_FILES["train_images"]: b""}), IDX_FILES["train_images"], [source])


def test_a_sparse_file_is_refused_by_its_size_before_reading(tmp_path: Path) -> None:
    """An 8 GB sparse IDX file for a small entry read 2.2 GB before it was refused; its size was known."""
    from aestudy.data.sources import FolderSource

    (tmp_path / "mnist").mkdir()
    with (tmp_path / "mnist" / IDX_FILES["train_images"]).open("wb") as sparse:
        sparse.truncate(8 << 30)
    started = time.perf_counter()
    with pytest.raises(StudyError, match=r"8589934592 bytes, larger than \d+ bytes, the most this file can hold"):
        FolderSource(tmp_path).fetch("mnist", IDX_FILES["train_images"], 1 << 20)
    assert time.perf_counter() - started < 1
