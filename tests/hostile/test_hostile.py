"""Hostile configuration through the real pipeline. DVC runs each stage's command through a shell, and the names
of datasets, variants, feature sets and classifiers are parts of those commands and of the paths stages write;
an entry's ``_target_`` names code to import. `validate` refuses each before anything runs, and every stage
depends on its records, so no other command runs first (tests/test_params.py and tests/test_catalogue.py check
each rule on its own)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, run, set_params, write_conf

pytestmark = pytest.mark.slow
SEED = 42


def error_lines(result) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]


def assert_one_line(project: Path, result, message: str) -> None:
    """Refused with one line holding ``message``, and nothing past `validate` written."""
    assert result.returncode != 0
    assert len(error_lines(result)) == 1 and message in error_lines(result)[0], result.stdout + result.stderr
    for produced in ("data/prepared", "data/models", "data/features", "data/records"):
        assert not (project / produced).exists(), produced


def test_shell_syntax_in_a_variant_name_never_runs(project: Path) -> None:
    name = "x$(touch PWNED)"
    write_conf(project, {f"autoencoders/{name}.yaml": yaml.safe_load((project / "conf/autoencoders/tiny-a.yaml")
                                                                      .read_text())})
    set_params(project, {"variants": ["tiny-a", name]})
    assert_one_line(project, run(["dvc", "repro"], project, check=False), f"the name {name!r} must be 1 to 64")
    assert not (project / "PWNED").exists()


def test_a_stage_run_alone_quotes_its_names(project: Path) -> None:
    """`dvc repro -s` skips `validate`: the quotes in dvc.yaml's commands are the second wall, and the stage
    itself refuses the name before building a path from it."""
    run(["python", "-m", "stages.validate"], project)
    run(["python", "-m", "stages.extract", "--dataset", "digits"], project)
    name = "x$(touch PWNED);touch PWNED2"
    write_conf(project, {f"autoencoders/{name}.yaml": yaml.safe_load((project / "conf/autoencoders/tiny-a.yaml")
                                                                      .read_text())})
    set_params(project, {"variants": [name]})
    result = run(["dvc", "repro", "-s", "train"], project, check=False)
    assert result.returncode != 0
    assert f"error: --variant: the name {name!r} must be 1 to 64 letters" in result.stderr
    assert not list(project.glob("PWNED*")) and not (project / "data/models").exists()


def test_a_target_is_checked_before_anything_is_called(project: Path) -> None:
    """`os.system` with a command as its argument: refused as no class, the command never run."""
    set_params(project, {"classifiers": {"evil": {"_target_": "os.system", "command": "touch PWNED"}},
                         "compare": {"classifiers": ["knn", "evil"], "pairs": ["ae vs raw"]}})
    result = run(["dvc", "repro", "validate"], project, check=False)
    assert_one_line(project, result, "error: params.yaml: classifiers.evil._target_: os.system is not a class")
    assert not (project / "PWNED").exists()
    set_params(project, {"classifiers": {"evil": {"_target_": "subprocess.Popen", "args": "touch PWNED",
                                                  "shell": True}}})
    result = run(["dvc", "repro", "validate"], project, check=False)
    assert_one_line(project, result, "classifiers.evil._target_: subprocess.Popen is not a scikit-learn estimator")
    assert not (project / "PWNED").exists()


def test_a_variant_name_cannot_write_outside_the_project(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "EVILVAR"
    set_params(project, {"variants": ["tiny-a", str(target)]})
    result = run(["dvc", "repro"], project, check=False)
    assert_one_line(project, result, f"params.yaml: variants: the name {str(target)!r} must be")
    assert not list(tmp_path.glob("EVILVAR*"))


def test_names_that_would_merge_two_stages_are_one_line(project: Path) -> None:
    """DVC names a matrix item by its values joined with '-', and silently keeps one of two equal names."""
    (project / "conf/datasets/digits-a.yaml").write_text((project / "conf/datasets/digits.yaml").read_text())
    set_params(project, {"datasets": ["digits", "digits-a"],
                         "features": {"a-raw": {"_target_": "aestudy.features.RawPixels"}},
                         "compare": {"features": ["a-raw", "raw"], "pairs": []}})
    result = run(["dvc", "repro"], project, check=False)
    assert_one_line(project, result, "error: params.yaml: datasets x compare.features: ('digits', 'a-raw') and "
                                     "('digits-a', 'raw') would both be the DVC stage encode@digits-a-raw; rename one")


def test_sizes_that_cannot_fit_are_refused_before_anything_trains(project: Path) -> None:
    set_params(project, {"classifiers": {"mlp": {"hidden": [10**9]}}})
    result = run(["dvc", "repro"], project, check=False)
    assert_one_line(project, result, "error: params.yaml: classifiers.mlp: training on raw features of digits "
                                     "(64 columns) needs about")
    set_params(project, {"classifiers": {"mlp": {"hidden": [32]}}, "stats": {"resamples": 10**7}})
    result = run(["dvc", "repro"], project, check=False)
    assert_one_line(project, result, "error: params.yaml: stats.resamples must be an integer in [2000, 100000], got 10000000")


def test_a_link_to_dev_zero_in_data_raw_hangs_nothing(project: Path) -> None:
    """No stage depends on data/raw as a folder, so DVC never hashes what lies there."""
    (project / "data/raw/digits").mkdir(parents=True)
    (project / "data/raw/digits/zero").symlink_to("/dev/zero")
    start = time.monotonic()
    run(["dvc", "repro", "extract@digits"], project)
    run(["dvc", "status"], project)
    assert time.monotonic() - start < 120


def test_a_sweep_cannot_inject_through_its_values(project: Path) -> None:
    """A sweep whose overrides name a variant with shell syntax: the job fails (and is retried) in `validate`,
    and the command never runs."""
    name = "x | touch PWNED | true"
    sweep = {"set": {"variants": ["tiny-a", name]}, "experiments": [{"name": "hostile"}]}
    (project / "sweeps/hostile.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
    run(["git", "add", "sweeps/hostile.yaml"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "hostile sweep"], project)
    result = run(["make", "sweep", "SWEEP=sweeps/hostile.yaml", "EXECUTOR=local", "JOBS=1", f"VENV={BIN.parent}"],
                 project, check=False)
    assert result.returncode != 0
    assert "hostile" in result.stdout + result.stderr
    assert not list(project.rglob("PWNED"))


def test_each_stage_checks_its_own_names(project: Path) -> None:
    """A stage run by hand refuses a name before building a path from it."""
    for command, flag, name in (
            (["stages.train", "--dataset", "digits", "--variant", "../../x", "--seed", "42"], "--variant", "../../x"),
            (["stages.classify", "--dataset", "digits;id", "--features", "raw", "--classifier", "knn"], "--dataset",
             "digits;id"),
            (["stages.encode", "--dataset", "digits", "--features", "$(id)"], "--features", "$(id)")):
        result = run([str(BIN / "python"), "-m", *command], project, check=False)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [
            f"error: {flag}: the name {name!r} must be 1 to 64 letters, digits, _, - or +, not starting with - or +"]


def test_an_unknown_key_stops_dvc_repro_with_one_line(project: Path) -> None:
    """`seed: [1]` for `seeds` used to run seed 42 silently."""
    path = project / "params.yaml"
    path.write_text(path.read_text() + "seed: [1]\n")
    assert_one_line(project, run(["dvc", "repro"], project, check=False),
                    "error: params.yaml: unknown top-level key(s) seed (known: seeds, datasets, variants, device, "
                    "compare, headline, label_budgets, features, classifiers, train, select, stats)")


def test_a_stage_run_alone_checks_the_study_values(project: Path) -> None:
    """`dvc repro -s train` skips `validate`; the stage refuses what `validate` would, before it trains."""
    run(["python", "-m", "stages.validate"], project)
    run(["python", "-m", "stages.extract", "--dataset", "digits"], project)
    set_params(project, {"train": {"val_fraction": 1.5}})
    result = run(["dvc", "repro", "-s", "train"], project, check=False)
    assert result.returncode != 0
    assert "error: params.yaml: train.val_fraction must be a number in (0, 1), got 1.5" in result.stderr
    assert not (project / "data/models").exists()


def test_validate_check_writes_nothing_anywhere(project: Path, tmp_path: Path) -> None:
    """`validate --check` builds every entry; a `memory` argument is refused before joblib makes its folder (it
    made one outside the project, then died in a traceback), and a clean check writes no file anywhere (Python's
    own bytecode cache aside)."""
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), scratch.mkdir()
    env = {"HOME": str(home), "TMPDIR": str(scratch), "XDG_CACHE_HOME": str(home / ".cache"),
           "PYTHONDONTWRITEBYTECODE": "1"}

    def files() -> set[Path]:
        return {p for root in (project, home, scratch) for p in root.rglob("*") if ".git" not in p.parts}

    before = files()
    run(["python", "-m", "stages.validate", "--check"], project, env=env)
    assert files() == before
    set_params(project, {"features": {"agg": {"_target_": "sklearn.cluster.FeatureAgglomeration",
                                              "memory": str(tmp_path / "joblib")}},
                         "compare": {"features": ["raw", "agg"], "pairs": ["agg vs raw"]}})
    result = run(["python", "-m", "stages.validate", "--check"], project, check=False, env=env)
    assert result.returncode == 2 and error_lines(result) == [
        f"error: params.yaml: features.agg.memory: names a cache, file or folder; the study's stages write only their "
        f"declared outputs (and a joblib memory loads pickles back), so leave it unset, got '{tmp_path / 'joblib'}'"]
    assert not (tmp_path / "joblib").exists()
    assert files() == before


@pytest.mark.parametrize("target", ["diff", "pr-report", "ci-diff"])
def test_make_hands_base_to_commands_as_one_checked_revision(project: Path, target: str) -> None:
    """BASE reaches git alone, as one word, and must name a commit: a payload never runs, an option never passes."""
    for base in ("x;touch PWNED", "`touch PWNED2`", "$$(touch PWNED3)", "HEAD --out /tmp/pwned-report", "--help"):
        result = run(["make", target, f"VENV={BIN.parent}", f"BASE={base}"], project, check=False)
        assert result.returncode == 2, result.stdout + result.stderr
        assert error_lines(result) == [f"error: BASE={base.replace('$$', '$')} is not a branch, tag or commit of this "
                                       "repository"], result.stderr
    assert not list(project.glob("PWNED*")) and not (project / ".ci-diff").exists()
    assert not Path("/tmp/pwned-report").exists()


def test_make_sweep_hands_its_variables_over_as_words_and_caps_its_jobs(project: Path) -> None:
    result = run(["make", "sweep", f"VENV={BIN.parent}", "SWEEP=sweeps/smoke.yaml;touch PWNED"], project, check=False)
    assert result.returncode != 0 and not (project / "PWNED").exists()
    assert "sweeps/smoke.yaml;touch PWNED" in result.stdout + result.stderr
    result = run(["make", "sweep", f"VENV={BIN.parent}", "JOBS=100000"], project, check=False)
    assert result.returncode != 0 and "error: --jobs must be in [1, " in result.stderr, result.stderr


def test_make_stage_validates_before_dvc_removes_a_stages_outputs(project: Path) -> None:
    """`dvc repro -s` on a classify stage named from `../../../../conf` deleted the project's conf/ (DVC removes
    a stage's outputs before running its command, and -s skips validate); `make stage` checks the names first."""
    name = "../../../../conf"
    set_params(project, {"compare": {"classifiers": ["knn", name]},
                         "classifiers": {name: {"_target_": "aestudy.classifiers.NearestCentroidClassifier"}}})
    result = run(["make", "stage", f"VENV={BIN.parent}", f"STAGE=classify@digits-raw-{name}"], project, check=False)
    assert result.returncode == 2
    assert error_lines(result) == [f"error: params.yaml: compare.classifiers: the name {name!r} must be 1 to 64 "
                                   "letters, digits, _, - or +, not starting with - or +"], result.stderr
    assert (project / "conf/autoencoders/seed000.yaml").is_file()
    result = run(["make", "stage", f"VENV={BIN.parent}"], project, check=False)
    assert result.returncode == 2 and "error: give STAGE=<stage name>" in result.stderr
