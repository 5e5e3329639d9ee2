"""params.yaml and conf/: every bad value is a one-line error naming the file and key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from aestudy.core.errors import StudyError
from study import conf, params_yaml
from study.catalogue import STUDY_ARGUMENTS, parse_entry
from study.design import entries, feature_width, headline_specs, read_design

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())
SEED000 = yaml.safe_load((ROOT / "conf/autoencoders/seed000.yaml").read_text())
KEY = "conf/autoencoders/seed000.yaml"


@pytest.fixture(autouse=True)
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # conf/ is read relative to the project, as the stages read it


def seed000_config(**changes):
    entry = parse_entry("autoencoders", "seed000", {**SEED000, **changes}, KEY)
    return conf.built_autoencoder(entry.check(), image_shape=(28, 28))[1]


def test_defaults_are_valid_and_reproduce_both_seeds() -> None:
    assert conf.datasets(DEFAULTS) == ["mnist", "fashion-mnist"]
    names = conf.variants(DEFAULTS)
    assert len(names) == 13 and names[0] == "seed000"
    seed000 = conf.built_autoencoder(conf.autoencoder("seed000"), image_shape=(28, 28))[1]
    assert (seed000.hidden, seed000.code_activation, seed000.loss, seed000.lr, seed000.batch_size,
            seed000.epochs, seed000.init) == ((144, 64, 144), "linear", "mse", 0.001, 64, 20, "torch")
    for width, hidden in ((32, (32, 16, 32)), (64, (64, 32, 16, 32, 64)), (128, (128, 64, 32, 64, 128))):
        for n in (1, 2, 3):
            cfg = conf.built_autoencoder(conf.autoencoder(f"h{width}-lr1e-{n}"), image_shape=(28, 28))[1]
            assert (cfg.hidden, cfg.code_activation, cfg.loss, cfg.batch_size, cfg.epochs, cfg.betas, cfg.init) == (
                hidden, "relu", "bce", 256, 100, (0.9, 0.999), "glorot")
            assert cfg.lr == pytest.approx(10.0 ** -n)
    design = read_design(DEFAULTS)
    assert design.active_features == ["raw", "pca", "ae", "pca+umap", "ae+umap"]
    assert [step.name for step in design.features.chain("ae+umap")] == ["ae", "ae+umap"]
    assert design.scores == {"knn1": "knn", "knn3": "knn", "ncc": "ncc", "linear": "linear", "mlp": "mlp",
                             "spreading": "graph", "poisson": "graph", "poisson-priors": "graph",
                             "poisson-mbo": "graph", "clusters": "clusters"}
    assert params_yaml.label_budgets(DEFAULTS) == ([4, 16, 64, 256], True)
    assert params_yaml.label_draws(DEFAULTS) == 10 and params_yaml.label_draws(DEFAULTS, design.classifiers["mlp"]) == 2


def test_self_training_is_an_entry_to_add() -> None:
    """Left out of the default study, the self-training entry joins it as the README says: its own score, on 5
    draws, paired with Poisson learning; its settings, every one written, build the estimator."""
    params = copy.deepcopy(DEFAULTS)
    params["compare"]["classifiers"].append("self-training")
    params["compare"]["pairs"].append("self-training vs poisson")
    design = read_design(params)
    assert design.scores["self-training"] == "self-training"
    entry = design.classifiers["self-training"]
    assert params_yaml.label_draws(params, entry) == 5
    model = entry.build(device="cpu")
    assert (model.method, model.student, model.student_per_class, model.priors) == ("poisson", "linear", 1000, None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hidden": []}, r"hidden must be an odd-length list"),
        ({"hidden": [144, 64]}, r"hidden must be an odd-length list of widths >= 1 \(the middle one is the code\)"),
        ({"hidden": [144, 0, 144]}, r"hidden must be an odd-length list of widths >= 1"),
        ({"lr": 0}, r"The 'lr' parameter of AutoencoderFeatures must be a float in the range \(0.0, inf\)"),
        ({"loss": "hinge"}, r"The 'loss' parameter of AutoencoderFeatures must be a str among"),
        ({"epochs": 10**12}, r"The 'epochs' parameter of AutoencoderFeatures must be an int in the range \[1, "),
        ({"batch_size": 2.5}, r"The 'batch_size' parameter of AutoencoderFeatures must be an int"),
        ({"betas": [0.9]}, r"betas must be two numbers in \[0, 1\)"),
        ({"dropout": 0.1}, r"aestudy.models.autoencoder.AutoencoderFeatures takes no argument\(s\) dropout"),
        ({"arch": "cnn"}, r"The 'arch' parameter of AutoencoderFeatures must be a str among"),
        ({"arch": "conv"}, r"channels must list the convolutions' widths \(>= 1\) for arch='conv'"),
        ({"arch": "conv", "channels": [16, 0]}, r"channels must list the convolutions' widths"),
        ({"channels": [16]}, r"and be empty otherwise; got \[16\] with arch='dense'"),
        ({"objective": "denoising", "noise": "masking", "noise_level": 1.5}, r"noise_level must be in \(0, 1\) for "),
        ({"noise_level": 0.3}, r"noise and noise_level belong to objective='denoising'"),
        ({"beta": 2}, r"beta belongs to objective='variational'"),
        ({"objective": "variational", "code_activation": "relu"}, r"code_activation must be 'linear' for objective"),
    ],
)
def test_a_bad_autoencoder_names_its_file_and_key(changes: dict, message: str) -> None:
    with pytest.raises(StudyError, match=rf"^{KEY}: .*{message}"):
        seed000_config(**changes)


def test_each_family_reads_its_own_keys() -> None:
    conv = seed000_config(arch="conv", channels=[32, 64], hidden=[64])
    assert (conv.arch, conv.channels, conv.hidden, conv.objective) == ("conv", (32, 64), (64,), "reconstruction")
    dae = seed000_config(objective="denoising", noise="gaussian", noise_level=0.2)
    assert (dae.arch, dae.objective, dae.noise, dae.noise_level) == ("dense", "denoising", "gaussian", 0.2)
    vae = seed000_config(arch="conv", channels=[8], hidden=[64], objective="variational")
    assert (vae.objective, vae.beta) == ("variational", 1.0)


def test_a_listed_name_needs_its_conf_file() -> None:
    with pytest.raises(StudyError, match=r"params.yaml: variants names 'h256-lr1e-3', but "
                                         r"conf/autoencoders/h256-lr1e-3.yaml does not exist \(did you mean "
                                         r"h64-lr1e-3\? entries: calder-vae20, calder-vae30, conv16-32, "):
        conf.variants({**DEFAULTS, "variants": ["seed000", "h256-lr1e-3"]})
    with pytest.raises(StudyError, match=r"variants names 'seed00', .* \(did you mean seed000\? entries: "):
        conf.variants({**DEFAULTS, "variants": ["seed00"]})
    with pytest.raises(StudyError, match=r"params.yaml: datasets names 'cifar10', but conf/datasets/cifar10.yaml "
                                         r"does not exist \(entries: digits, fashion-mnist, mnist\)"):
        conf.datasets({**DEFAULTS, "datasets": ["cifar10"]})
    with pytest.raises(StudyError, match=r"params.yaml: variants lists a name twice"):
        conf.variants({**DEFAULTS, "variants": ["seed000", "seed000"]})


@pytest.mark.parametrize("name", ["h32-lr0.1", "x$(touch /tmp/PWNED)", "x | true", "/tmp/EVILVAR", "../up", "a\n",
                                  "", "x" * 65, 7, None, "-x", "+cmd", "=1+2", "@SUM(A1)"])
def test_names_that_reach_paths_and_shells_are_refused(name) -> None:
    """Variant, dataset, feature and classifier names become stage names, file paths and command lines."""
    message = r"the name .* must be 1 to 64 letters, digits"
    with pytest.raises(StudyError, match=r"params.yaml: variants: " + message):
        conf.variants({**DEFAULTS, "variants": [name]})
    with pytest.raises(StudyError, match=r"params.yaml: datasets: " + message):
        conf.datasets({**DEFAULTS, "datasets": [name]})
    with pytest.raises(StudyError, match=r"params.yaml: classifiers: " + message):
        entries({"classifiers": {name: {"_target_": "sklearn.svm.SVC"}}}, "classifiers")
    with pytest.raises(StudyError, match=r"params.yaml: compare.features: " + message):
        read_design({**DEFAULTS, "compare": {**DEFAULTS["compare"], "features": ["raw", name]}})


@pytest.mark.parametrize(("changes", "message"), [
    ({"seed": [1]}, r"params.yaml: unknown top-level key\(s\) seed \(known: seeds, "),
    ({"train": {"val_fraction": 0.1, "epochs": 3}}, r"params.yaml: train has unknown key\(s\) epochs"),
    ({"select": {"criterion": "knn1_val", "k": 3}}, r"params.yaml: select has unknown key\(s\) k"),
    ({"stats": {"resamples": 2000, "level": 0.9}}, r"params.yaml: stats has unknown key\(s\) level"),
    ({"compare": {**DEFAULTS["compare"], "budgets": [4]}}, r"params.yaml: compare has unknown key\(s\) budgets"),
])
def test_unknown_keys_anywhere_are_errors(changes: dict, message: str) -> None:
    params_yaml.check_known_keys(DEFAULTS)
    with pytest.raises(StudyError, match=message):
        params_yaml.check_known_keys({**DEFAULTS, **changes})


@pytest.mark.parametrize(("compare", "message"), [
    ({"features": ["raw", "tsne"]}, r"compare.features names tsne, not entries of features \(entries: raw, pca"),
    ({"classifiers": ["knn", "svm"]}, r"compare.classifiers names svm, not entries of classifiers"),
    ({"pairs": ["ae vs knn1"]}, r"compare.pairs: 'ae vs knn1' must be `A vs B`, two compared feature sets or two "),
    ({"pairs": ["ae vs ae"]}, r"compare.pairs: 'ae vs ae' must be `A vs B`"),
    ({"pairs": [["ae", "pca"]]}, r"compare.pairs: \['ae', 'pca'\] must be `A vs B`"),
    ({"pairs": ["ae - pca"]}, r"compare.pairs: 'ae - pca' must be `A vs B`"),
    ({"pairs": "ae vs pca"}, r"compare.pairs must be a list of comparisons `A vs B`"),
])
def test_what_is_compared_must_be_declared(compare: dict, message: str) -> None:
    with pytest.raises(StudyError, match=r"params.yaml: " + message):
        read_design({**DEFAULTS, "compare": {**DEFAULTS["compare"], **compare}})


def test_a_score_cannot_share_a_name() -> None:
    params = copy.deepcopy(DEFAULTS)
    params["classifiers"]["knn"]["scores"] = {"pca": {"n_neighbors": 1}}
    with pytest.raises(StudyError, match=r"classifiers.knn: the score 'pca' is also named by features.pca"):
        read_design(params)
    params["classifiers"]["knn"]["scores"] = {"ncc": {"n_neighbors": 1}}
    with pytest.raises(StudyError, match=r"classifiers.ncc: the score 'ncc' is also named by classifiers.knn"):
        read_design(params)


@pytest.mark.parametrize(("budgets", "message"), [
    ([], r"label_budgets.labels_per_class must be a non-empty list of labels per class"),
    ([16, 4, "all"], r"label_budgets.labels_per_class must increase, got \[16, 4, 'all'\]"),
    ([4, "all", 16], r"label_budgets.labels_per_class must be an integer in \[1, 1000000\], got 'all'"),
    ([0, "all"], r"label_budgets.labels_per_class must be an integer in \[1, 1000000\], got 0"),
    ([True], r"label_budgets.labels_per_class must be an integer"),
])
def test_bad_label_budgets(budgets, message: str) -> None:
    with pytest.raises(StudyError, match=r"params.yaml: " + message):
        params_yaml.label_budgets({"label_budgets": {"labels_per_class": budgets, "draws": 3}})


def test_a_classifiers_draws_are_the_first_of_the_budgets() -> None:
    params = copy.deepcopy(DEFAULTS)
    graph = read_design(params).classifiers["graph"]
    assert params_yaml.label_draws(params, graph) == 5 and params_yaml.label_draws(params) == 10
    params["label_budgets"]["draws"] = 2  # fewer than the entry's own: the budgets' bound it
    assert params_yaml.label_draws(params, graph) == 2
    with pytest.raises(StudyError, match=r"label_budgets.draws must be an integer in \[1, 1000\], got 0"):
        params_yaml.label_draws({"label_budgets": {"labels_per_class": [4], "draws": 0}})


@pytest.mark.parametrize(("seeds", "message"), [
    ([], r"seeds must be a non-empty list of integers in \[0, 4294967295\], got \[\]"),
    ([1, -2], r"seeds must be a non-empty list of integers in \[0, 4294967295\], got \[1, -2\]"),
    ([1, "a"], r"seeds must be a non-empty list of integers in \[0, 4294967295\]"),
    ([1.5], r"seeds must be a non-empty list of integers in \[0, 4294967295\]"),
    ([True], r"seeds must be a non-empty list of integers in \[0, 4294967295\]"),
    ([2**32], r"seeds must be a non-empty list of integers in \[0, 4294967295\], got \[4294967296\]"),
    (7, r"seeds must be a non-empty list of integers in \[0, 4294967295\], got 7"),
    ([3, 1, 3], r"seeds lists a seed twice: \[3, 1, 3\]"),
    (list(range(101)), r"seeds lists 101 seeds, more than 100: each one trains every autoencoder again"),
])
def test_bad_seeds(seeds, message: str) -> None:
    with pytest.raises(StudyError, match=r"params.yaml: " + message):
        params_yaml.seeds({"seeds": seeds})


def test_seed_of_must_be_listed() -> None:
    assert params_yaml.seed_of({"seeds": [42, 0]}, 0) == 0
    with pytest.raises(StudyError, match=r"--seed 5 is not one of the seeds in params.yaml \(\[42, 0\]\)"):
        params_yaml.seed_of({"seeds": [42, 0]}, 5)


def test_missing_key_and_bad_choices() -> None:
    with pytest.raises(StudyError, match=r"missing key 'seeds'"):
        params_yaml.seeds({})
    with pytest.raises(StudyError, match=r"select.criterion must be one of knn1_val, val_mse"):
        params_yaml.selection_criterion({"select": {"criterion": "test_accuracy"}})
    with pytest.raises(StudyError, match=r"device must be auto, cpu or cuda\[:N\], got 'tpu'"):
        params_yaml.device({"device": "tpu"})
    with pytest.raises(StudyError, match=r"stats.resamples must be an integer in \[2000, 100000\], got 500"):
        params_yaml.resamples({"stats": {"resamples": 500}})
    with pytest.raises(StudyError, match=r"train.val_fraction must be a number in \(0, 1\), got 1"):
        params_yaml.val_fraction({"train": {"val_fraction": 1}})


def test_feature_widths_for_memory_checks() -> None:
    design = read_design(DEFAULTS)
    widths = {name: feature_width(design, name, 784, [16, 64]) for name in design.active_features}
    assert widths == {"raw": 784, "pca": 64, "ae": 64, "pca+umap": 10, "ae+umap": 10}  # UMAPFeatures' default: 10


def test_bad_yaml_file(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("seed: [1\n")
    with pytest.raises(StudyError, match=r"params.yaml: not valid YAML"):
        params_yaml.load_params(bad)
    bad.write_text("- 1\n")
    with pytest.raises(StudyError, match=r"params.yaml: expected a mapping of params at the top level"):
        params_yaml.load_params(bad)


def test_two_matrix_items_cannot_share_a_stage_name() -> None:
    """DVC would keep one of ``classify@a-b-c-knn`` silently."""
    params = {**DEFAULTS, "datasets": ["a", "a-b"], "compare": {**DEFAULTS["compare"], "features": ["b-c", "c"]}}
    with pytest.raises(StudyError, match=r"params.yaml: datasets x compare.features: \('a', 'b-c'\) and \('a-b', "
                                         r"'c'\) would both be the DVC stage encode@a-b-c; rename one"):
        params_yaml.check_stage_names(params)
    params_yaml.check_stage_names(DEFAULTS)


def test_a_study_estimator_entry_writes_every_setting() -> None:
    """A built-in estimator's entry sets every argument its class takes but those the study gives (seed, device,
    progress, training log), so each setting is a param; a third-party estimator's entry may rely on defaults."""
    entry = entries({"classifiers": {"mlp": {"_target_": "aestudy.classifiers.MLPClassifier", "epochs": 3}}},
                      "classifiers")["mlp"].check()
    with pytest.raises(StudyError, match=r"^params.yaml: classifiers.mlp: leaves hidden, lr, batch_size, .* to "
                                         r"aestudy.classifiers.MLPClassifier's defaults; write every setting in the "
                                         r"entry \(hidden: \[512, 512\], lr: 0.002, "):
        conf.check_written(entry)
    for kind in ("features", "classifiers"):
        for written in entries(DEFAULTS, kind).entries.values():
            conf.check_written(written.check())
    for name in conf.conf_names("autoencoders"):
        conf.check_written(conf.autoencoder(name).check(), STUDY_ARGUMENTS | {"val_fraction"})
    conf.check_written(entries({"classifiers": {"svm": {"_target_": "sklearn.svm.SVC"}}}, "classifiers")["svm"].check())


@pytest.mark.parametrize(("block", "message"), [
    ({"score": "knn9", "features": ["raw"], "pair": "ae vs raw"}, r"headline.every_label.score must name a score"),
    ({"score": "knn1", "features": ["pixels"], "pair": "ae vs raw"}, r"headline.every_label.features must list"),
    ({"score": "knn1", "features": ["raw"], "pair": "ae-raw"}, r"headline.every_label.pair must be `A vs B`"),
    ({"score": "knn1", "features": ["raw"]}, r"headline.every_label must be a mapping of score, features and pair"),
])
def test_the_headline_block_is_checked(block: dict, message: str) -> None:
    params = copy.deepcopy(DEFAULTS)
    params["headline"]["every_label"] = block
    with pytest.raises(StudyError, match=message):
        headline_specs(params, read_design(params))


def test_the_headline_block_names_what_the_summary_leads_with() -> None:
    specs = headline_specs(DEFAULTS, read_design(DEFAULTS))
    assert specs["every_label"].score == "knn1" and specs["every_label"].pair == ("ae", "pca")
    assert specs["few_labels"].features == ("pca+umap", "ae+umap")
