"""``make calder``: the study's Poisson learning and Poisson-MBO held to Calder et al.'s published per-trial table,
in the paper's own (transductive) setting, then with the test images outside the graph (the study's rule).

    python -m tools.calder [--datasets mnist fashion-mnist] [--labels-per-class 1 2 3 4 5] [--draws 100]
                           [--methods poisson poisson-mbo laplace nearest] [--inductive] [--inductive-draws N]
                           [--epochs N] [--out metrics/calder]

The published setting (Calder, Cook, Thorpe and Slepcev, "Poisson learning: graph-based semi-supervised learning at
very low label rates", ICML 2020; its code and every trial's accuracy: github.com/jwcalder/GraphLearning,
``ResultsFromPaper/``, copied under ``docs/calder/``):

- the encoder: the paper's VAE, 784-400-20 on MNIST and 784-400-30 on Fashion-MNIST, 100 epochs, Adam at 1e-3,
  batch 128, trained on all 70000 images (``conf/autoencoders/calder-vae20.yaml`` / ``calder-vae30.yaml``, by the
  study's one training loop, which keeps the best epoch on a held-out tenth: GraphLearning keeps the last; and the
  study's loss is a per-pixel mean where PyTorch's VAE example sums, so the KL term weighs differently);
- the graph: each of the 70000 codes linked to its 10 nearest, Calder's self-tuning Gaussian weights, symmetrised;
- the labels: ``k`` per class drawn at random from all 70000 images, ``--draws`` draws, each the study's own draw
  (``labelled_sample`` under ``draw_seed(0, draw)``: a draw's budgets are nested, its 1 a class among its 2);
  a draw's accuracy is over every image it did not label;
- the methods: the study's own ``poisson`` and ``poisson-mbo`` scores of params.yaml's graph entry, unchanged
  (Poisson-MBO as GraphLearning's ``poissonmbo``: uniform class sizes, 40 heat steps, fidelity 1, 20 iterations),
  and on the same entry Laplace learning (``laplace``) and the graph's nearest-neighbour rule (``nearest``: the
  labelled image nearest along the graph's edges, their Euclidean lengths summed), the paper's baseline and floor.
  ``--methods`` scores some of them: a later run adds its methods to the draws already written for the same
  encoder.

With ``--inductive``, the same counts drawn from the 60000 training images alone, the graph over them, and the
10000 test images labelled by the fitted rule (the kernel vote of their neighbours), as the study scores them.

Prints, per dataset, method and labels per class: our mean accuracy over the draws with its 95% interval (t), the
published mean with its own, the difference with Welch's 95% interval and its verdict, and whether our interval
covers the published mean. Writes every draw's accuracy to ``--out`` as each setting ends (``<dataset>.json``),
then the table (``table.md``) and a figure of the means and their intervals (``accuracy.png``). The settings are
fixed here and in docs/methods.md before any image is scored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from aestudy.core.errors import StudyError
from aestudy.core.io import read_npz, write_npz, write_text
from aestudy.core.names import check_name
from aestudy.data.budgets import draw_seed, labelled_sample
from aestudy.data.datasets import flat, load_prepared
from aestudy.evaluation.stats import verdict
from study import conf, layout, params_yaml
from study.catalogue import Catalogue, Entry, scores_of, titles, without_title
from study.cli import run_stage
from study.design import read_design

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "calder"
# Each dataset's encoder and the name its published files carry.
DATASETS = {"mnist": ("calder-vae20", "MNIST"), "fashion-mnist": ("calder-vae30", "FashionMNIST")}
# Each method: the study's score -> the published file's method. Poisson learning and Poisson-MBO are params.yaml's
# graph scores, unchanged; Laplace learning and the graph's nearest-neighbour rule (the paper's baseline and its
# floor) are this tool's own scores of the same entry, kept out of the study's minutes.
METHODS = {"poisson": "poisson", "poisson-mbo": "poissonmbo", "laplace": "laplace", "nearest": "nearestneighbor"}
OWN_SCORES = {"laplace": {"method": "laplace", "title": "Laplace learning"},
              "nearest": {"method": "nearest", "title": "graph nearest neighbour"}}
N_NEIGHBORS = 10
SEED = 0
CODES = Path("data/calder")  # the trained encoders' codes, kept for the next run


@dataclass(frozen=True)
class Cell:
    """One dataset, method and labels per class: ours over the draws against the published trials."""

    dataset: str
    method: str
    per_class: int
    ours: list[float]
    published: list[float]

    @staticmethod
    def interval(values: list[float]) -> tuple[float, float, float]:
        """The mean and its 95% t interval (the mean alone, as both ends, for fewer than two values)."""
        from scipy import stats

        mean = float(np.mean(values))
        if len(values) < 2:
            return mean, mean, mean
        half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))
        return mean, max(0.0, mean - half), min(100.0, mean + half)  # an accuracy's mean stays within 0-100%

    def difference(self) -> tuple[float, float, float] | None:
        """Ours minus the published mean, with Welch's 95% interval (None without both sides' spreads)."""
        from scipy import stats

        if len(self.ours) < 2 or len(self.published) < 2:
            return None
        a, b = np.asarray(self.ours), np.asarray(self.published)
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        diff = float(a.mean() - b.mean())
        if va + vb == 0:
            return diff, diff, diff
        dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        half = float(stats.t.ppf(0.975, dof) * np.sqrt(va + vb))
        return diff, diff - half, diff + half

    def row(self) -> list[str]:
        """The table's row: method, k, ours, published, difference, verdict, covered."""
        mean, low, high = self.interval(self.ours)
        ours = f"{mean:.2f} [{low:.2f}, {high:.2f}] ({len(self.ours)})"
        if not self.published:
            return [self.method, str(self.per_class), ours, "", "", "", ""]
        p_mean, p_low, p_high = self.interval(self.published)
        diff = self.difference()
        shown = "" if diff is None else f"{diff[0]:+.2f} [{diff[1]:+.2f}, {diff[2]:+.2f}]"
        said = "" if diff is None else verdict(diff[1], diff[2], ("ours", "published"))
        return [self.method, str(self.per_class), ours, f"{p_mean:.2f} [{p_low:.2f}, {p_high:.2f}] "
                f"({len(self.published)})", shown, said, "yes" if low <= p_mean <= high else "no"]


def published_trials(dataset: str, method: str, folder: Path = PUBLISHED) -> dict[int, list[float]]:
    """The published accuracy (%) of every trial of ``method`` on ``dataset``, by labels per class (empty where the
    paper has no file for them). A file's rows are ``<labelled count>,<accuracy>`` after one date line."""
    if dataset not in DATASETS:
        return {}
    path = folder / f"{DATASETS[dataset][1]}_vae_k10_{METHODS[method]}_accuracy.csv"
    trials: dict[int, list[float]] = {}
    for number, line in enumerate(path.read_text().splitlines()[1:], start=2):
        try:
            count, accuracy = (float(v) for v in line.split(","))
        except ValueError:
            raise StudyError(f"{path}:{number}: expected <labelled count>,<accuracy>, got {line[:60]!r}") from None
        trials.setdefault(int(count) // 10, []).append(accuracy)
    return trials


def encode(dataset: str, variant: str, epochs: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Every image's code from ``variant`` trained on all of them (train, then test), their labels, and how many
    of them are training images. The codes are kept under ``CODES`` (git-ignored) and read back by a later run with
    the same dataset, variant, epochs and conf file (more draws need no second training)."""
    prepared = layout.prepared(layout.ROOTS["prepared"], dataset)
    if not prepared.is_file():  # DVC's cache or the extract stage has it: the dataset must be one params.yaml lists
        done = subprocess.run(["dvc", "repro", f"extract@{dataset}"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise StudyError(f"{prepared} is missing and `dvc repro extract@{dataset}` failed ({said}): is {dataset} "
                             f"in params.yaml's datasets?")
    train, test = load_prepared(prepared)
    labels = np.concatenate([train.labels, test.labels])
    conf_digest = hashlib.md5(conf.conf_file("autoencoders", variant).read_bytes()).hexdigest()[:12]
    kept = CODES / f"{dataset}-{variant}-{epochs or 'conf'}-{conf_digest}.npz"
    if kept.is_file():
        (codes,) = read_npz(kept, "codes")
        print(f"{dataset}: {variant}'s codes read from {kept}", flush=True)
        return codes, labels, len(train.labels)
    pixels = np.concatenate([flat(train.images), flat(test.images)])
    overrides = {} if epochs is None else {"epochs": epochs}
    started = time.perf_counter()
    autoencoder = conf.autoencoder(variant).build(seed=SEED, device="cpu", image_shape=train.images.shape[1:],
                                               **overrides)
    autoencoder.fit(pixels)
    codes = np.asarray(autoencoder.transform(pixels), dtype=np.float32)
    print(f"{dataset}: {variant} trained on {len(pixels)} images in {time.perf_counter() - started:.0f} s "
          f"({autoencoder.epochs_run_} epochs, the best {autoencoder.best_epoch_}), {codes.shape[1]}-d codes",
          flush=True)
    CODES.mkdir(parents=True, exist_ok=True)
    write_npz(kept, codes=codes)
    return codes, labels, len(train.labels)


def scored(codes: np.ndarray, labels: np.ndarray, n_train: int, per_class: list[int], draws: int,
           inductive: bool, estimators: dict) -> dict[int, dict[str, list[float]]]:
    """Each method's accuracy (%) at each of ``per_class`` labels a class over ``draws`` label draws: transductive
    over every image not drawn, or, ``inductive``, on the test images by the rule fitted on the training images.
    A draw is the study's own (``labelled_sample`` under ``draw_seed(SEED, draw)``): its budgets are nested."""
    rows = codes[:n_train] if inductive else codes
    truth = labels[:n_train] if inductive else labels
    out: dict[int, dict[str, list[float]]] = {k: {method: [] for method in estimators} for k in per_class}
    with tqdm(total=draws * len(per_class), desc="draws", unit="fit", leave=False, dynamic_ncols=True) as bar:
        for d in range(draws):
            for k, drawn in labelled_sample(truth, per_class, draw_seed(SEED, d)).items():
                y = np.full(len(rows), -1)
                y[drawn] = truth[drawn]
                free = np.ones(len(rows), dtype=bool)
                free[drawn] = False
                for method, make in estimators.items():
                    fitted = make().fit(rows, y)
                    if inductive:
                        accuracy = (fitted.predict(codes[n_train:]) == labels[n_train:]).mean()
                    else:
                        accuracy = (fitted.labels_[free] == truth[free]).mean()
                    out[k][method].append(round(100 * float(accuracy), 2))
                bar.update()
    return out


def table(cells: list[Cell], title: str) -> list[str]:
    """A Markdown table of ``cells``."""
    header = ["method", "k", "ours: mean [95%] (draws)", "published: mean [95%] (trials)", "ours - published",
              "verdict", "covers"]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell.row()) + " |" for cell in cells] + [""]


def main() -> None:
    """Parse the flags (see the module), then train or read each dataset's codes, score the draws, write the
    tables."""
    parser = argparse.ArgumentParser(prog="python -m tools.calder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--variant", help="the encoder, a file of conf/autoencoders/ (default: the paper's for "
                                          "MNIST and Fashion-MNIST; required for another dataset)")
    parser.add_argument("--labels-per-class", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--inductive", action="store_true", help="also score the study's inductive rule")
    parser.add_argument("--inductive-draws", type=int, help="its draws (default: --draws)")
    parser.add_argument("--epochs", type=int, help="train for this many epochs instead (a quick check)")
    parser.add_argument("--out", type=Path, default=Path("metrics/calder"))
    args = parser.parse_args()
    counts = [args.draws, *args.labels_per_class, *(n for n in (args.epochs, args.inductive_draws) if n is not None)]
    if min(counts) < 1:
        raise StudyError("--draws, --inductive-draws, --labels-per-class and --epochs take positive counts")
    draws = {"transductive": args.draws, "inductive": args.inductive_draws or args.draws}
    params = params_yaml.load_params(ROOT / "params.yaml")
    classifiers = read_design(params).classifiers
    graph = classifiers.entries["graph"]
    methods = list(dict.fromkeys(args.methods))
    estimators = {method: (lambda m=method: graph.build(seed=SEED, device="cpu", **graph_settings(graph, m)))
                  for method in methods}
    args.out.mkdir(parents=True, exist_ok=True)
    settings = ("transductive", "inductive") if args.inductive else ("transductive",)
    for dataset in args.datasets:
        check_name(dataset, "--datasets")
    records: dict[str, dict] = {}
    for dataset in args.datasets:
        variant = args.variant or DATASETS.get(dataset, (None,))[0]
        if variant is None:
            raise StudyError(f"--datasets {dataset}: give --variant (the paper has no encoder for it)")
        codes, labels, n_train = encode(dataset, variant, args.epochs)
        records[dataset] = record = earlier_record(args.out / f"{dataset}.json", variant)
        for setting in settings:
            started = time.perf_counter()
            ours = scored(codes, labels, n_train, args.labels_per_class, draws[setting], setting == "inductive",
                          estimators)
            print(f"{dataset} {setting}: {draws[setting]} draws of {', '.join(methods)} in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            for method in methods:
                record.setdefault(setting, {})[method] = {str(k): ours[k][method] for k in ours}
            write_text(args.out / f"{dataset}.json", json.dumps(record, indent=1) + "\n")
    drawn = {(dataset, setting): cells_of(dataset, setting, record[setting])
             for dataset, record in records.items() for setting in ("transductive", "inductive") if setting in record}
    lines = [line for (dataset, setting), cells in drawn.items() for line in table(cells, f"{dataset}, {setting}")]
    text = "\n".join(lines)
    print(text)
    write_text(args.out / "table.md", text)
    scored_methods = list(dict.fromkeys(cell.method for cells in drawn.values() for cell in cells))
    figure(drawn, method_titles(classifiers, scored_methods), args.out / "accuracy.png")


def earlier_record(path: Path, variant: str) -> dict:
    """The draws ``path`` holds already for the encoder ``variant``, each method's under each setting; a fresh
    record where there is none, or where it was another encoder's."""
    if path.is_file():
        record = json.loads(path.read_text())
        if record.get("variant") == variant:
            record.pop("draws", None)  # each method's draws are its lists' lengths
            return record
    return {"variant": variant}


def cells_of(dataset: str, setting: str, by_method: dict[str, dict[str, list[float]]]) -> list[Cell]:
    """The table's cells of one dataset and setting, from its record: a cell per labels a class and method, held
    to the published trials in the transductive setting (the inductive rule has none)."""
    cells = []
    for method in (m for m in METHODS if m in by_method):
        published = published_trials(dataset, method) if setting == "transductive" else {}
        cells += [Cell(dataset, method, int(k), values, published.get(int(k), []))
                  for k, values in by_method[method].items()]
    return sorted(cells, key=lambda cell: (cell.per_class, list(METHODS).index(cell.method)))


def method_titles(classifiers: Catalogue, methods: list[str]) -> dict[str, str]:
    """Each method's title: params.yaml's for its scores, this tool's for its own."""
    studied = titles(classifiers, [m for m in methods if m not in OWN_SCORES])
    return {method: OWN_SCORES[method]["title"] if method in OWN_SCORES else studied[method] for method in methods}


def figure(cells: dict[tuple[str, str], list[Cell]], named: dict[str, str], path: Path) -> None:
    """Accuracy against labels a class, a panel per dataset: each method's mean with its 95% interval, in the
    method's colour (the report's style of its name), a line and marker per source (ours in each setting scored,
    the published trials), each source nudged sideways so that the intervals stand apart."""
    from matplotlib.lines import Line2D

    from aestudy.report.style import percent_axis, plt, save, styles, title_and_legend

    sources = {"ours, transductive": ("-", "o", "full"), "ours, inductive": ("--", "s", "full"),
               "published": (":", "D", "none")}
    colour = {method: style.colour for method, style in styles(named[m] for m in named).items()}
    datasets = list(dict.fromkeys(dataset for dataset, _ in cells))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        series: dict[tuple[str, str], list[tuple[int, tuple[float, float, float]]]] = {}
        for setting in (s for d, s in cells if d == dataset):
            for cell in cells[dataset, setting]:
                for source, values in ((f"ours, {setting}", cell.ours), ("published", cell.published)):
                    if values and not (source == "published" and setting != "transductive"):
                        series.setdefault((cell.method, source), []).append((cell.per_class, Cell.interval(values)))
        for n, ((method, source), points) in enumerate(sorted(series.items())):
            line, marker, fill = sources[source]
            points.sort()
            k = np.array([p[0] for p in points]) + 0.06 * (n - (len(series) - 1) / 2)
            mean, low, high = (np.array([p[1][i] for p in points]) for i in range(3))
            ax.errorbar(k, mean, yerr=[mean - low, high - mean], color=colour[named[method]], linestyle=line,
                        marker=marker, fillstyle=fill, markersize=4, linewidth=1, capsize=2)
        ax.set_title(dataset, fontsize=9)
        ax.set_xlabel("labels a class", fontsize=8)
        ax.set_xticks(sorted({k for points in series.values() for k, _ in points}))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        percent_axis(ax)
    axes[0][0].set_ylabel("accuracy", fontsize=8)
    shown = {source for (_, setting) in cells for source in (f"ours, {setting}", "published")}
    methods = [Line2D([], [], color=colour[named[m]], linewidth=3, label=named[m]) for m in named]
    drawn_as = [Line2D([], [], color="#444444", linestyle=line, marker=marker, fillstyle=fill, markersize=4,
                       label=source) for source, (line, marker, fill) in sources.items() if source in shown]
    title_and_legend(fig, "Calder et al.'s setting: mean accuracy over the draws, with its 95% interval", methods,
                     drawn_as)
    save(fig, path)


def graph_settings(entry: Entry, method: str) -> dict:
    """The graph entry's settings for one of its scores (params.yaml's ``classifiers.graph.scores``, or this tool's
    own), on the paper's 10 neighbours."""
    own = {name: without_title(score) for name, score in OWN_SCORES.items()}
    return (scores_of(entry) | own)[method] | {"n_neighbors": N_NEIGHBORS}


if __name__ == "__main__":
    run_stage(main)
