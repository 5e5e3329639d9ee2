"""The DVC layout is written once: the paths dvc.yaml declares are the paths stages/layout.py builds, for every
stage's outputs and for the outputs of other stages that it depends on."""

from __future__ import annotations

import yaml

from aestudy.report.figures import DATASET_FIGURES, STUDY_FIGURES, figure
from aestudy.report.scores import SCORES_FILE
from aestudy.report.text import ANSWER_FILE
from study import layout
from study.digests import DIGESTS
from tests.conftest import ROOT

R = layout.ROOTS
D, S, V, F, C = "${item.dataset}", "${item.seed}", "${item.variant}", "${item.features}", "${item.classifier}"


def declared() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def paths(entries: list) -> list[str]:
    """The paths of a stage's outs, plots or deps, as dvc.yaml writes them (an entry is a path or {path: options})."""
    return [next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries]


def test_every_output_is_where_the_layout_puts_it() -> None:
    stages = declared()
    live = layout.model_live(R["models"], D, S, V)
    expected_outs = {
        "validate": [R["code"]],
        "extract": [layout.prepared(R["prepared"], D), layout.facts(R["facts"], D)],
        # dvclive's per-step curves are outputs, not declared plots (a fresh clone would fail to load each): the
        # folders model_curve and the classify log write into.
        "train": [layout.model_file(R["models"], D, S, V), layout.model_record(R["models"], D, S, V), live / "metrics.json",
                  layout.model_curve(R["models"], D, S, V, "x").parent, layout.train_seconds(R["seconds"], D, S, V)],
        "codes": [layout.codes_dir(R["codes"], D, S), layout.codes_seconds(R["seconds"], D, S)],
        "encode": [layout.feature_dir(R["feature-sets"], D, F), layout.encode_record(R["encoded"], D, F)],
        "labels": [layout.labels_record(R["labelled"], D).parent, layout.labels_seconds(R["seconds"], D)],
        "classify": [layout.classify_dir(R["classified"], D, F, C), layout.classify_live(R["live"], D, F, C) / "metrics.json",
                     layout.classify_live(R["live"], D, F, C) / "plots" / "metrics"],
        "stats": [layout.stats_file(R["stats"], D), layout.fits_table(R["fits"], D)],
        "report": [layout.summary(R["metrics"]), layout.stage_times(R["metrics"]), R["metrics"] / SCORES_FILE,
                   layout.report_text(R["metrics"]), layout.results_text(R["metrics"]), R["metrics"] / ANSWER_FILE,
                   R["grid"], layout.figures(R["metrics"]),
                   layout.plot_table(R["metrics"], D, "x").parent.parent],
    }
    assert set(stages) == set(expected_outs)
    for stage, outs in expected_outs.items():
        assert paths(stages[stage]["outs"]) == [str(p) for p in outs], stage
    assert not [stage for stage, declared_stage in stages.items() if "plots" in declared_stage]


def test_only_the_last_stages_keep_outputs_out_of_the_cache() -> None:
    """DVC's run-cache restores a stage with a `cache: false` output only while that output lies in the workspace as
    it was, so a stage above stats and report with one would run again in every fresh workspace (`dvc exp run
    --temp`, a clone), and everything below it (tests/test_dvc_surface.py runs it)."""
    uncached = {stage for stage, declared_stage in declared().items() for entry in declared_stage["outs"]
                if isinstance(entry, dict) and next(iter(entry.values())).get("cache") is False}
    assert uncached == {"stats", "report"}


def test_every_stage_depends_on_what_it_reads_where_the_layout_puts_it() -> None:
    stages = declared()
    digest = {kind: str(layout.code_digest(R["code"], name)) for name, kinds in DIGESTS.items() for kind in kinds}
    prepared = str(layout.prepared(R["prepared"], D))
    expected_deps = {
        "extract": [digest["extract"]],
        "train": [digest["train"], prepared],
        "codes": [digest["codes"], prepared, str(layout.model_dir(R["models"], D, S, V).parent)],
        "encode": [digest["encode"], prepared, str(layout.codes_dir(R["codes"], D, S).parent)],
        "labels": [digest["labels"], prepared],
        "classify": [digest["classify"], prepared, str(layout.labels_record(R["labelled"], D).parent),
                     str(layout.feature_dir(R["feature-sets"], D, F))],
        "stats": [digest["stats"], prepared, str(layout.facts(R["facts"], D)), str(layout.labels_record(R["labelled"], D).parent),
                  str(layout.codes_dir(R["codes"], D, S).parent), str(layout.encode_record(R["encoded"], D, F).parent),
                  str(layout.classify_dir(R["classified"], D, F, C).parent.parent),
                  str(layout.train_seconds(R["seconds"], D, S, V).parent.parent),
                  str(layout.codes_seconds(R["seconds"], D, S).parent),
                  str(layout.labels_seconds(R["seconds"], D))],
        "report": [digest["report"], str(layout.facts(R["facts"], D).parent), str(layout.codes_dir(R["codes"], D, S).parent.parent),
                   str(R["stats"]), str(R["seconds"])],
    }
    for stage, deps in expected_deps.items():
        assert paths(stages[stage]["deps"]) == deps, stage


def test_the_report_links_each_figure_where_the_report_stage_draws_it() -> None:
    assert figure("comparisons") == "figures/comparisons.png"
    assert figure("curves", "mnist") == "figures/mnist/curves.png"
    assert len(set(STUDY_FIGURES) | set(DATASET_FIGURES)) == len(STUDY_FIGURES) + len(DATASET_FIGURES)


def test_a_seed_free_run_and_a_seeded_run_have_files_of_their_own() -> None:
    folder = layout.classify_dir(R["classified"], "mnist", "raw", "knn")
    assert layout.every_label_predictions(folder, layout.run_name(None)).name == "all.npz"
    assert layout.every_label_predictions(folder, layout.run_name(42)).name == "all-seed-42.npz"
    assert layout.budget_predictions(folder, 42).name == "budgets-seed-42.npz"
    assert layout.feature_file(R["feature-sets"], "mnist", "pca", None) != layout.feature_file(R["feature-sets"], "mnist", "pca", 0)
