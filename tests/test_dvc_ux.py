"""What a DVC user sees: the committed run matching the code, `dvc exp show` on it, `make exps`, `make smoke`
leaving the workspace as it was, `-S` rewriting only the keys it sets, and the data mirror's path rule."""

from __future__ import annotations

import csv
import io
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, ROOT, copy_project, run, stages_run

pytestmark = pytest.mark.slow
COMMITTED = ("dvc.lock", "metrics/")  # the committed run's files, which copy_project leaves out


@pytest.fixture(scope="module")
def committed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of the project with the committed run's lock and metrics (no DVC cache: what a fresh clone has)."""
    dest = copy_project(tmp_path_factory.mktemp("committed") / "project")
    listed = subprocess.run(["git", "ls-files", "-z", *COMMITTED], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.split("\0")
    for name in filter(None, listed):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    run(["git", "add", "-A"], dest)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "the committed run"], dest)
    return dest


def test_exp_show_of_the_committed_run_leads_with_numbers_and_their_seconds(committed_run: Path) -> None:
    shown = run(["dvc", "exp", "show", "--csv"], committed_run).stdout
    header = next(csv.reader(io.StringIO(shown)))
    # The headline leads, in percent, each accuracy beside its seconds and each verdict as numbers.
    assert header[5] == "mnist.every_label.knn1.raw.accuracy", header[:8]
    for column in ("mnist.every_label.knn1.ae", "fashion-mnist.4_per_class.spreading.ae+umap"):
        assert {f"{column}.accuracy", f"{column}.fit_seconds", f"{column}.one_off_seconds"} <= set(header)
    assert {f"mnist.every_label.ae vs pca.{k}" for k in ("difference", "ci_low", "ci_high")} <= set(header)
    # The grid and the stage kinds' seconds are metrics; conf/ files are params (file:key), never a hash column:
    # a dataset's checksums are its entry's keys, and no data file's hash is a column.
    assert "metrics/grid/mnist/seed-42.json:seed000.val_mse" in header and "total.seconds" in header
    assert {"conf/autoencoders/seed000.yaml:epochs", "conf/datasets/mnist.yaml:sha256.t10k-images-idx3-ubyte"} <= set(header)
    assert not [c for c in header if c.startswith(("conf/", "data/raw")) and ":" not in c]
    summary = json.loads((committed_run / "metrics/summary.json").read_text())
    assert 90 < summary["mnist"]["every_label"]["knn1"]["raw"]["accuracy"] < 100


def test_make_exps_fits_120_columns(committed_run: Path) -> None:
    out = run(["make", "exps", f"VENV={BIN.parent}"], committed_run).stdout.splitlines()
    assert any(line.startswith("workspace") and "mnist" in line for line in out), out
    assert all(len(line) <= 120 for line in out)


def moved_sources(status: dict) -> dict[str, list[str]]:
    """From `dvc status --json`: each stage's changes other than its outputs and data it reads (a clone without
    the data lacks both), that is its command, params, conf/ files, code and code digests."""
    source = ("aestudy", "stages", "conf/", "params.yaml", "data/records/code/")
    moved: dict[str, list[str]] = {}
    for stage, changes in status.items():
        for change in changes:  # "changed command" and the like are strings; the rest map paths to states
            for kind, paths in (change.items() if isinstance(change, dict) else [(change, [change])]):
                if kind != "changed outs":
                    moved.setdefault(stage, []).extend(p for p in paths
                                                       if kind != "changed deps" or p.startswith(source))
    return {stage: sorted(paths) for stage, paths in moved.items() if paths}


def test_the_committed_run_is_the_code_and_params_as_they_are(committed_run: Path, tmp_path: Path) -> None:
    """The committed dvc.lock records this working tree's code and params: `validate` (which depends on all the
    code) has nothing to do but write its outputs, and once it has written the code digests (what `dvc repro`
    runs first), `dvc status` finds no stage whose command, params, conf/ file or code digest moved; only the data
    a clone has not pulled. A change to the code, a params value or a conf/ file fails here until the committed
    run is made again (or the stages it reaches are)."""
    project = tmp_path / "project"
    shutil.copytree(committed_run, project, symlinks=True)
    said = "the committed run is not this code's: `dvc repro` (the stages named and what they reach), commit dvc.lock"
    assert (moved := moved_sources(json.loads(run(["dvc", "status", "--json", "validate"], project).stdout))) == {}, \
        f"{said}: {moved}"
    run(["dvc", "repro", "validate"], project)
    assert (moved := moved_sources(json.loads(run(["dvc", "status", "--json"], project).stdout))) == {}, \
        f"{said}: {moved}"


def test_set_params_rewrite_only_the_keys_they_set(committed_run: Path) -> None:
    """`dvc exp run -S` writes params.yaml through its YAML round trip; queued, the experiment's params are a
    commit to compare without running it."""
    overrides = ["classifiers.mlp.draws=1", "classifiers.mlp.epochs=2", "seeds=[42,1]", "compare.features=[raw,ae]",
                 "label_budgets.draws=3", "features.pca.n_components=32", "compare.pairs=[ae vs raw]"]
    run(["dvc", "exp", "run", "--queue", "-n", "round-trip", *(a for o in overrides for a in ("-S", o))],
        committed_run)
    try:
        diff = run(["git", "diff", "-U0", "HEAD", "refs/exps/celery/stash", "--", "params.yaml"], committed_run).stdout
    finally:
        run(["dvc", "queue", "remove", "--all"], committed_run)
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert sorted(changed) == sorted([
        "+- 1", "-  - pca", "-  - pca+umap", "-  - ae+umap", "-  draws: 10", "+  draws: 3", "-    n_components: code",
        "+    n_components: 32", "-  - ae vs pca", "-  - pca vs raw", "-  - ae+umap vs pca+umap", "-  - ae+umap vs ae",
        "-  - spreading vs knn1", "-  - poisson vs knn1", "-  - poisson-priors vs poisson",
        "-  - poisson-mbo vs poisson", "-  - clusters vs poisson",
        "-    draws: 2", "+    draws: 1", "-    epochs: 20", "+    epochs: 2"]), diff


def test_make_smoke_leaves_the_workspace_as_it_was(committed_run: Path, tmp_path: Path) -> None:
    """`make smoke` as a temporary experiment: its results in `dvc exp show` and printed, the workspace untouched.
    A narrower configuration than the Makefile's (every stage kind, fewer stages), through the same target."""
    project = tmp_path / "project"
    shutil.copytree(committed_run, project, symlinks=True)
    smoke = ("-S 'datasets=[digits]' -S 'variants=[seed000]' -S 'conf/autoencoders/seed000.yaml:epochs=2' "
             "-S 'compare.features=[raw,ae]' -S 'compare.classifiers=[knn]' -S 'compare.pairs=[ae vs raw]' "
             "-S 'label_budgets.labels_per_class=[4,all]' "
             "-S 'label_budgets.draws=2'")
    out = run(["make", "smoke", f"VENV={BIN.parent}", f"SMOKE={smoke}"], project).stdout
    assert run(["git", "status", "--porcelain"], project).stdout == ""
    # No output of the run in the workspace, ignored ones included: data/ holds what git keeps there alone.
    assert sorted(p.relative_to(project).as_posix() for p in (project / "data").rglob("*")) == [
        "data/.gitignore", "data/raw", "data/raw/.gitignore", "data/raw/README.md"]
    assert any(line.startswith("smoke") and "digits" in line for line in out.splitlines()), out
    # Under the headline, where the experiment's report is (its name is no git ref); every entry, a column each.
    (where,) = [line for line in out.splitlines() if line.startswith("smoke ") and "git show" in line]
    shown_report = run(where.split()[1:4], project).stdout  # git show <commit>:metrics/report.md
    assert shown_report.startswith("# Report") and "dvc exp apply smoke" in where
    every = run(["python", "-m", "tools.exps", "--all"], project).stdout.splitlines()
    assert "smoke" in every[0].split() and all(len(line) <= 120 for line in every)
    assert any(line.split()[:4] == ["digits", "4_per_class", "knn1", "ae"] for line in every), every
    shown = json.loads(run(["dvc", "exp", "show", "--json"], project).stdout)
    smoke_revs = [rev for entry in shown for exp in entry.get("experiments") or [] for rev in exp["revs"]
                  if rev.get("name") == "smoke"]
    assert len(smoke_revs) == 1
    # The training stage's outputs, dvclive's log among them, in the DVC cache the experiment filled.
    lock = yaml.safe_load(run(["git", "show", f"{smoke_revs[0]['rev']}:dvc.lock"], project).stdout)["stages"]
    model = Path("data/models/digits/seed-42/seed000")
    outs = {Path(out["path"]).relative_to(model).as_posix(): out for out in lock["train@digits-seed000-42"]["outs"]
            if Path(out["path"]).is_relative_to(model)}
    assert set(outs) == {"model.pt", "record.json", "live/metrics.json", "live/plots/metrics"}, outs
    md5 = outs["live/plots/metrics"]["md5"].removesuffix(".dir")
    manifest = json.loads((project / ".dvc/cache/files/md5" / md5[:2] / (md5[2:] + ".dir")).read_text())
    assert {"train_loss.tsv", "val_loss.tsv"} <= {entry["relpath"] for entry in manifest}
    # The same configuration and one new classifier entry, as a temporary experiment too: DVC's run-cache restores
    # every stage above the new entry's (extract and codes ran again when they had an output out of the cache).
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["classifiers"]["centroid"] = {"_target_": "sklearn.neighbors.NearestCentroid"}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    settings = [("compare.classifiers=[knn,centroid]" if s == "compare.classifiers=[knn]" else s)
                for s in shlex.split(smoke)]
    out = run(["dvc", "exp", "run", "--temp", "-n", "centroid", *settings], project).stdout
    assert stages_run(out) == {"validate", "classify@digits-raw-centroid", "classify@digits-ae-centroid",
                               "stats@digits", "report"}, out
    diff = json.loads(run(["dvc", "metrics", "diff", "smoke", "centroid", "--targets", "metrics/scores.json",
                           "--json"], project).stdout)["metrics/scores.json"]
    assert diff["digits.every_label.centroid.ae.accuracy"]["old"] is None


@pytest.mark.parametrize("mirror", ["../shared/datasets", "datasets"])
def test_a_relative_data_mirror_is_refused_with_one_line(tmp_path: Path, mirror: str) -> None:
    """Each experiment runs in a copy of the project: a relative mirror would name another folder in each."""
    project = copy_project(tmp_path / "project")
    result = run(["python", "-m", "stages.extract", "--dataset=mnist"], project, check=False,
                 env={"AE_DATA_MIRROR": mirror})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [(f"error: AE_DATA_MIRROR={mirror}: give an absolute path or a URL (a "
                                           f"relative path resolves against each experiment's working copy; from the "
                                           f"project root: AE_DATA_MIRROR=$(realpath {mirror}))")]
    assert not (project / "data/prepared").exists()
