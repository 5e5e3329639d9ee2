"""Hostile names through the real pipeline: DVC runs each stage's command through a shell, and the names of
datasets and variants are part of those commands and of the paths stages write. `validate` refuses them, and
every stage depends on its record, so no other command runs first (tests/test_params.py checks each name rule).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import BIN, run


def add_entry(project: Path, section: str, listing: str, name: str, like: str) -> None:
    """``name`` as a copy of the entry ``like`` of ``section``, listed in ``listing``."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section][name] = params[section][like]
    params[listing] = [*params[listing], name]
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def error_lines(result) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]


def assert_refused(project: Path, result, marker: Path, name: str) -> None:
    assert result.returncode != 0
    assert not marker.exists(), "a stage command ran the name's shell syntax"
    assert len(error_lines(result)) == 1 and f"the name {name!r} must be 1 to 64 letters" in error_lines(result)[0]
    assert not (project / "data/prepared").exists() and not (project / "data/models").exists()


def test_shell_syntax_in_a_variant_name_never_runs(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    name = f"x$(touch {marker})"
    add_entry(project, "autoencoders", "variants", name, "tiny-a")
    assert_refused(project, run(["dvc", "repro"], project, check=False), marker, name)


def test_a_targeted_repro_validates_first(project: Path, tmp_path: Path) -> None:
    """`dvc repro summary` used to skip `validate`; a dataset name with shell syntax then ran."""
    marker = tmp_path / "PWNED"
    name = f"d;touch {marker};"
    add_entry(project, "dataset_catalogue", "datasets", name, "digits")
    assert_refused(project, run(["dvc", "repro", "summary"], project, check=False), marker, name)


def test_a_variant_name_cannot_write_outside_the_project(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "EVILVAR"
    add_entry(project, "autoencoders", "variants", str(target), "tiny-a")
    result = run(["dvc", "repro", "grid"], project, check=False)
    assert result.returncode != 0 and len(error_lines(result)) == 1
    assert not list(tmp_path.glob("EVILVAR*"))


def test_a_sweep_cannot_inject_through_its_values(project: Path, tmp_path: Path) -> None:
    """A sweep whose overrides name a variant with shell syntax: the job fails (and is retried) in `validate`,
    and the command never runs."""
    marker = tmp_path / "PWNED"
    name = f"x | touch {marker} | true"
    params = yaml.safe_load((project / "params.yaml").read_text())
    sweep = {"set": {"variants": ["tiny-a", name],
                     "autoencoders": {**params["autoencoders"], name: params["autoencoders"]["tiny-a"]}},
             "experiments": [{"name": "hostile"}]}
    (project / "sweeps/hostile.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
    run(["git", "add", "sweeps/hostile.yaml"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "hostile sweep"], project)
    result = run(["make", "sweep", "SWEEP=sweeps/hostile.yaml", "EXECUTOR=local", "JOBS=1", f"VENV={BIN.parent}"],
                 project, check=False)
    assert result.returncode != 0
    assert "hostile" in result.stdout + result.stderr
    assert not marker.exists()


def test_each_stage_checks_its_own_names(project: Path) -> None:
    """A stage run by hand (or by a dvc.yaml edited to skip validate) refuses a name before building a path."""
    for command, flag, name in (
            (["stages.train", "--dataset", "digits", "--variant", "../../x", "--seed", "42"], "--variant", "../../x"),
            (["stages.classify", "--dataset", "digits;id", "--features", "raw", "--classifier", "knn"], "--dataset",
             "digits;id"),
            (["stages.encode", "--dataset", "digits", "--features", "$(id)"], "--features", "$(id)")):
        result = run([str(BIN / "python"), "-m", *command], project, check=False)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [
            f"error: {flag}: the name {name!r} must be 1 to 64 letters, digits, _ or -"]


def test_an_unknown_key_stops_dvc_repro_with_one_line(project: Path) -> None:
    """`seed: [1]` for `seeds` used to run seed 42 silently."""
    path = project / "params.yaml"
    path.write_text(path.read_text() + "seed: [1]\n")
    result = run(["dvc", "repro"], project, check=False)
    assert result.returncode != 0
    assert error_lines(result) == [(
        "error: params.yaml: unknown top-level key(s) seed (known: seeds, datasets, variants, dataset_catalogue, "
        "autoencoders, features, classifiers, train, select, classify, stats)")]
    assert not (project / "data/prepared").exists()

