"""``make bench``: our hot paths against peers and bounds, measured side by side in the same process.

    python -m tools.bench [--out bench/results.json] [--only knn-raw-mnist ...]

Rows (each with what was measured, the device and the thread count in ``detail``):
- knn-raw-mnist: exact 1-NN and 3-NN of the 10000 MNIST test images against the 60000 training images, raw
  pixels in float32: our ``KNNClassifier`` fit + kneighbors (input validation and index build included) against FAISS's exact ``IndexFlatL2``
  (``faiss_s``) and scikit-learn's brute-force KNeighborsClassifier (``peer_s``). Every side must return the
  same neighbours and, through one vote, the same predictions. ``bound_s`` is the brute-force GEMM's
  2 x 10000 x 60000 x 784 flops at the rate of a 4096^3 float32 matmul measured here.
- knn-code-mnist: the same on 64-d PCA codes.
- knn-raw-mnist-busy: knn-raw-mnist's search while another process keeps one core busy, as a stage beside
  another (a sweep of two jobs, a second user) runs: ours with the threads a stage takes there (the cores
  divided among the jobs, ``aestudy.core.threads``) against FAISS with the same, and against ours with every
  core's thread (``peer_s``), which is what spinning OpenMP threads cost before the stages set their share.
- graph-pca-mnist: the k-NN graph of the graph classifiers, every one of the 60000 training images against all
  of them (k = 11: each image and its 10 neighbours), on 64-d PCA codes: our exact search against FAISS's exact
  ``IndexFlatL2`` (``faiss_s``) and umap-learn's own neighbour search, pynndescent's approximate ``NNDescent``
  (``peer_s``), whose recall of the exact neighbours the row reports.
- spreading-pca-mnist, poisson-pca-mnist: one fit and prediction of the graph classifiers at 4 labels per class
  on 64-d PCA codes (the graph built beforehand, as the study's draws share it): label spreading against
  scikit-learn's ``LabelSpreading`` (k-NN kernel, its own graph and iteration included), Poisson learning against
  the ``graphlearning`` package's gradient-descent solver on the same weight matrix (``peer_s``); the row
  reports each side's test accuracy, and for Poisson the share of training images given the same label.
- ae-epoch-seed000, ae-epoch-h128: one epoch of our training loop against its FLOP bound: the time of every
  matmul of one epoch (forward and backward of each layer, and the validation pass's forward), each at its
  own (batch x width) shape, measured here (``tools/epoch_bounds.py``). ``bound_ratio`` is epoch / bound; no
  peer.
- ae-epoch-conv, ae-epoch-denoising, ae-epoch-variational: one epoch of each other family (a convolutional
  AE, seed000 with masking noise, a convolutional VAE) against its bound: every weighted layer's forward and
  backward timed alone at its own input shape (a convolution has no single matmul to time), plus the
  validation pass's forwards.
- mlp-epoch: one epoch of the study's MLP configuration (``ours_s``) against one of the configuration it
  replaced (``peer_s``), raw MNIST.
- mlp-raw-mnist: our MLP against scikit-learn's MLPClassifier of the same widths, same epochs.
- study-smoke: wall time of `make smoke`.
Every side keeps its best of ``--repeats`` runs, taken alternately (ours, peers, ours, ...), so that a slow
spell of this shared machine hits all sides alike.
A benchmark is not a test: it asserts that the sides computed the same thing, never a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier as SkMLP

from aestudy.classifiers.graph import GraphClassifier
from aestudy.classifiers.knn import KNNClassifier, knn_vote
from aestudy.classifiers.mlp import MLPClassifier
from aestudy.core.checks import UNLABELLED
from aestudy.core.errors import StudyError
from aestudy.core.io import read_config, read_json, write_json
from aestudy.core.runtime import resolve_device, stopwatch
from aestudy.core.threads import cores
from aestudy.data.budgets import labelled_sample
from aestudy.data.datasets import Dataset, Split, flat, parse_spec, to_unit_float, train_val_split
from aestudy.data.loaders import load_dataset
from aestudy.features.pixels import PCAFeatures
from aestudy.models.config import AutoencoderConfig
from aestudy.models.networks import build_model
from aestudy.models.training import train_autoencoder
from aestudy.neighbors.exact import ExactKNNIndex
from aestudy.neighbors.graph import build_graph, graph_of
from study import layout
from tools.epoch_bounds import epoch_gemm_bound, epoch_layer_bound, gemm_seconds

SEED000 = AutoencoderConfig((144, 64, 144), "linear", "mse", 0.001, 64, 1, init="torch")
H128 = AutoencoderConfig((128, 64, 32, 64, 128), "relu", "bce", 0.001, 256, 1, init="glorot")
CONV = AutoencoderConfig((64,), "linear", "bce", 0.001, 256, 1, init="glorot", arch="conv", channels=(32, 64))
DENOISING = replace(SEED000, objective="denoising", noise="masking", noise_level=0.3)
VARIATIONAL = replace(CONV, objective="variational")
# The MLP as params.yaml's classify.mlp sets it, and the configuration it replaced (issue 13).
STUDY_MLP = MLPClassifier(hidden=(512, 512), epochs=20, lr=2e-3, batch_size=256, patience=10, dropout=0.3,
                          input_noise=0.3, precision="fp32", progress=False)
PREVIOUS_MLP = MLPClassifier(hidden=(1024, 1024), epochs=30, lr=1e-3, batch_size=128, patience=10, dropout=0.3,
                             input_noise=0.3, precision="fp32", progress=False)


def environment(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    return f"device {device}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, {cpu}"


def row(name: str, ours_s: float, peer_s: float | None, detail: str, bound_s: float | None = None,
        faiss_s: float | None = None) -> dict:
    return {
        "name": name,
        "ours_s": round(ours_s, 4),
        "peer_s": None if peer_s is None else round(peer_s, 4),
        "speedup": None if peer_s is None else round(peer_s / ours_s, 3),
        "faiss_s": None if faiss_s is None else round(faiss_s, 4),
        "faiss_speedup": None if faiss_s is None else round(faiss_s / ours_s, 3),
        "bound_s": None if bound_s is None else round(bound_s, 4),
        "bound_ratio": None if bound_s is None else round(ours_s / bound_s, 3),
        "detail": detail,
    }


def native_openblas_coretype() -> str | None:
    """The OpenBLAS kernel family this CPU supports, from its flags (Linux), or None when unknown.

    FAISS's wheel bundles an OpenBLAS that does not recognise recent Xeon models (this machine's is model
    207) and falls back to its slowest (Prescott) kernels: IndexFlatL2 on raw MNIST took 21-27 s instead of
    about 5. Naming the family the CPU supports gives it its real speed; numpy's own OpenBLAS detects it.
    """
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return None
    return "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None


def best_of_alternating(repeats: int, device: torch.device, *sides: Callable[[], Any]) -> list[tuple[float, Any]]:
    """Each side's best wall time over ``repeats`` alternating runs, and its result (the runs are deterministic)."""
    best = [float("inf")] * len(sides)
    results: list[Any] = [None] * len(sides)
    for _ in range(repeats):
        for side, work in enumerate(sides):
            with stopwatch(device) as watch:
                results[side] = work()
            best[side] = min(best[side], watch.seconds)
    return list(zip(best, results, strict=True))


def faiss_flat_search(train: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    index = faiss.IndexFlatL2(train.shape[1])
    index.add(train)
    return index.search(queries, k)


def bench_knn(name: str, train: np.ndarray, y_train: np.ndarray, test: np.ndarray, device: torch.device,
              flops_rate: float, what: str, repeats: int) -> dict:
    import faiss

    faiss.omp_set_num_threads(torch.get_num_threads())
    (ours_s, (_, idx)), (faiss_s, (_, faiss_idx)), (peer_s, (_, ref_idx)) = best_of_alternating(
        repeats, device,
        lambda: KNNClassifier(3, device=str(device)).fit(train, y_train).kneighbors(test),
        lambda: faiss_flat_search(train, test, 3),
        lambda: KNeighborsClassifier(3, algorithm="brute").fit(train, y_train).kneighbors(test))
    predicted = {k: knn_vote(y_train[idx[:, :k]]) for k in (1, 3)}
    same = {}
    for peer, peer_idx in (("FAISS", faiss_idx), ("scikit-learn", ref_idx)):
        same[peer] = float((np.sort(peer_idx, axis=1) == np.sort(idx, axis=1)).all(axis=1).mean())
        assert same[peer] == 1.0, f"{name}: {1 - same[peer]:.4%} of queries have other neighbours in {peer}"
        # The peers break three-way 3-NN ties their own way (scikit-learn by the lowest label), so their
        # neighbours go through our vote: with identical neighbours the predictions must be identical.
        for k, ours_k in predicted.items():
            assert np.array_equal(ours_k, knn_vote(y_train[peer_idx[:, :k]])), f"{name}: {k}-NN differs ({peer})"
    bound = 2 * len(test) * len(train) * train.shape[1] / flops_rate
    return row(name, ours_s, peer_s,
               f"best of {repeats} alternating runs per side; exact 1-NN and 3-NN of {len(test)} queries against "
               f"{len(train)} {what} (float32, one search of k=3 serving both, index build included); peers "
               f"faiss.IndexFlatL2 add+search(k=3) ({faiss.omp_get_max_threads()} OpenMP threads, OPENBLAS_CORETYPE="
               f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}) and KNeighborsClassifier(algorithm='brute') "
               f"kneighbors(k=3); queries with identical 3 neighbours: FAISS {same['FAISS']:.4f}, scikit-learn "
               f"{same['scikit-learn']:.4f}; identical 1-NN and 3-NN predictions; 4096^3 matmul rate "
               f"{flops_rate / 1e9:.1f} GFLOP/s; {environment(device)}", bound, faiss_s)


def bench_graph(train: np.ndarray, device: torch.device, repeats: int, approximate_peer: bool = True) -> dict:
    """The graph classifiers' 60000 x 60000 neighbour search: ours, FAISS, pynndescent (approximate; left out by
    ``approximate_peer=False``: numba compiles it for about 20 s in every process, whatever the size)."""
    import faiss

    k = 11  # each image itself and its 10 neighbours
    faiss.omp_set_num_threads(torch.get_num_threads())
    sides = [lambda: build_graph(train, k - 1, str(device)), lambda: faiss_flat_search(train, train, k)]
    if approximate_peer:
        from pynndescent import NNDescent

        sides.append(lambda: NNDescent(train, n_neighbors=k, random_state=42,
                                       n_jobs=torch.get_num_threads()).neighbor_graph)
    (ours_s, _), (faiss_s, (_, faiss_idx)), *peer = best_of_alternating(repeats, device, *sides)
    _, idx = ExactKNNIndex(train, device).search(train, k)
    same_faiss = float((np.sort(faiss_idx, axis=1) == np.sort(idx, axis=1)).all(axis=1).mean())
    if peer:
        (peer_s, (peer_idx, _)), = peer
        recall = float(np.mean([len(np.intersect1d(a, b)) for a, b in zip(idx, peer_idx, strict=True)]) / k)
        peer_said = (f"peer: pynndescent NNDescent(n_neighbors={k}), approximate, recall of the exact neighbours "
                     f"{recall:.4f}")
    else:
        peer_s, peer_said = None, "peer: pynndescent left out (--tiny: its numba compilation would be the row's time)"
    return row("graph-pca-mnist", ours_s, peer_s,
               f"best of {repeats} alternating runs per side; the {k}-NN graph of the {len(train)} training images on "
               f"64-d PCA codes (every image against every image, exact; our graph's kernel weights, symmetrisation "
               f"and components included); FAISS IndexFlatL2 add+search(k={k}), images with identical neighbours: "
               f"{same_faiss:.4f} (the rest are ties at equal distance); {peer_said}; {environment(device)}",
               faiss_s=faiss_s)


def bench_graph_classifiers(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                            device: torch.device, repeats: int) -> list[dict]:
    """One fit and prediction of label spreading and Poisson learning at 4 labels per class, against peers."""
    import graphlearning as gl
    from sklearn.semi_supervised import LabelSpreading

    labelled = labelled_sample(y_train, [4], seed=0)[4]
    y = np.full(len(y_train), UNLABELLED)
    y[labelled] = y_train[labelled]
    graph = graph_of(x_train, 10, str(device))  # built once, as the study's draws share it

    def ours(method: str) -> Callable[[], tuple[GraphClassifier, np.ndarray]]:
        def fit_predict() -> tuple[GraphClassifier, np.ndarray]:
            # The graph keeps its latest propagations, so that two scores of one entry share one: a repeat with
            # the same labels would time that cache. Each run propagates afresh; the graph stays built.
            graph.scores.clear()
            model = GraphClassifier(method, device=str(device)).fit(x_train, y)
            return model, model.predict(x_test)
        return fit_predict

    def sklearn_spreading() -> tuple[LabelSpreading, np.ndarray]:
        model = LabelSpreading(kernel="knn", n_neighbors=10, alpha=0.99, max_iter=1000).fit(x_train, y)
        return model, model.predict(x_test)

    def gl_poisson() -> np.ndarray:
        return gl.ssl.poisson(graph.weights, solver="gradient_descent").fit(labelled, y_train[labelled])

    rows = []
    (ours_s, (model, predicted)), (peer_s, (peer, peer_predicted)) = best_of_alternating(
        repeats, device, ours("spreading"), sklearn_spreading)
    rows.append(row("spreading-pca-mnist", ours_s, peer_s,
                    f"best of {repeats} alternating runs per side; label spreading (alpha 0.99) from 4 labels per "
                    f"class over the 60000 training images on 64-d PCA codes, fit + predicting the 10000 test "
                    f"images, our graph built beforehand; test accuracy ours {np.mean(predicted == y_test):.4f} "
                    f"(conjugate gradients, {model.n_iter_} steps), scikit-learn LabelSpreading(kernel='knn', "
                    f"n_neighbors=10, alpha=0.99, max_iter=1000) {np.mean(peer_predicted == y_test):.4f} (its own graph "
                    f"and iteration, {peer.n_iter_} iterations); {environment(device)}"))
    (ours_s, (model, predicted)), (peer_s, scores) = best_of_alternating(repeats, device, ours("poisson"), gl_poisson)
    same = float(np.mean(model.classes_[scores.argmax(axis=1)] == model.labels_))
    rows.append(row("poisson-pca-mnist", ours_s, peer_s,
                    f"best of {repeats} alternating runs per side; Poisson learning from 4 labels per class over "
                    f"the same graph (ours: fit + predicting the 10000 test images, {model.n_iter_} iterations, "
                    f"float32; graphlearning {gl.__version__ if hasattr(gl, '__version__') else ''} "
                    f"poisson(solver='gradient_descent') fit on the same weight matrix, float64); training images "
                    f"with the same label: {same:.4f}; test accuracy ours {np.mean(predicted == y_test):.4f}; "
                    f"{environment(device)}"))
    return rows


@contextmanager
def threads(n: int):
    """torch's, the BLAS libraries' and FAISS's threads set to ``n`` for the block, then restored."""
    import faiss
    from threadpoolctl import threadpool_limits

    before_torch, before_faiss = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before_torch)
        faiss.omp_set_num_threads(before_faiss)


@contextmanager
def busy_core():
    """Another process spinning on one core for the length of the block."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def bench_knn_busy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, repeats: int) -> dict:
    """The raw-pixel search beside a busy process: each side with a stage's share of the cores, and ours with
    every core's thread."""
    share = max(1, cores() // 2)  # two jobs: this one and the spinner
    with busy_core():
        with threads(share):
            (ours_s, (_, idx)), (faiss_s, (_, faiss_idx)) = best_of_alternating(
                repeats, torch.device("cpu"),
                lambda: KNNClassifier(3).fit(train, y_train).kneighbors(test),
                lambda: faiss_flat_search(train, test, 3))
        with threads(cores()):
            ((peer_s, _),) = best_of_alternating(repeats, torch.device("cpu"),
                                                 lambda: KNNClassifier(3).fit(train, y_train).kneighbors(test))
    same = float((np.sort(faiss_idx, axis=1) == np.sort(idx, axis=1)).all(axis=1).mean())
    return row("knn-raw-mnist-busy", ours_s, peer_s,
               f"best of {repeats} alternating runs per side; knn-raw-mnist's search (fit + kneighbors, k=3) while "
               f"another process spins on one of the {cores()} cores; ours and FAISS with {share} thread(s) each "
               f"(a stage's share beside one other job), peer: ours with {cores()} threads; queries with identical "
               f"3 neighbours in FAISS: {same:.4f}", faiss_s=faiss_s)


def bench_epoch(name: str, config: AutoencoderConfig, x_fit: torch.Tensor, x_val: torch.Tensor, seed: int,
                repeats: int) -> dict:
    """One epoch of our loop against its bound: a dense reconstruction net's bare matmuls, any other family's
    weighted layers each timed alone (a convolution has no single matmul to time)."""
    cfg = replace(config, epochs=1)
    # One untimed epoch on a slice first: the first run would otherwise pay for the process's warm-up.
    train_autoencoder(cfg, x_fit[:4096], x_val[:512], seed, progress=False)
    [(epoch_s, result)] = best_of_alternating(repeats, torch.device("cpu"),
                                              lambda: train_autoencoder(cfg, x_fit, x_val, seed, progress=False))
    model = build_model(cfg, x_fit.shape[1])
    if cfg.arch == "dense" and cfg.objective == "reconstruction":
        bound_s, flops = epoch_gemm_bound(model, len(x_fit), len(x_val), cfg.batch_size)
        bound = ("of matmuls (forward, weight and input gradients, validation forward), each shape timed alone "
                 "here")
    else:
        bound_s, flops = epoch_layer_bound(model, x_fit.shape[1], len(x_fit), len(x_val), cfg.batch_size)
        bound = "in its weighted layers, each layer's forward and backward timed alone at its shape here"
    return row(name, epoch_s, None,
               f"best of {repeats} runs of one epoch of {len(x_fit)} images (its validation pass on {len(x_val)} "
               f"included), {cfg.family}, hidden {list(cfg.hidden)}, batch {cfg.batch_size}, {cfg.loss}, train loss "
               f"{result.history[-1]['train_loss']:.5f}; bound: the epoch's {flops / 1e9:.1f} GFLOP {bound} "
               f"({flops / bound_s / 1e9:.1f} GFLOP/s on average, {flops / epoch_s / 1e9:.1f} achieved by the "
               f"epoch); {environment(torch.device('cpu'))}", bound_s)


def describe(mlp: MLPClassifier) -> str:
    return (f"batch {mlp.batch_size}, lr {mlp.lr:g}, {mlp.precision}, {mlp.epochs} epochs planned "
            f"(cosine decay), hidden {list(mlp.hidden)}")


def bench_mlp_epoch(x_train: np.ndarray, y_train: np.ndarray, device: torch.device, seed: int, repeats: int,
                    min_steps: int | None = None) -> dict:
    """One epoch of the study's MLP against one of the configuration it replaced; bf16 autocast beside them."""
    def one_epoch(mlp: MLPClassifier) -> Callable[[], MLPClassifier]:
        # The cosine schedule spans the planned epochs; one epoch of it is the study's first epoch.
        return lambda: clone(mlp).fit(x_train, y_train)

    steps = {} if min_steps is None else {"min_steps": min_steps}
    study, previous = (clone(c).set_params(epochs=1, random_state=seed, device=str(device), **steps)
                       for c in (STUDY_MLP, PREVIOUS_MLP))
    bf16 = clone(study).set_params(precision="bf16")
    for mlp in (study, previous, bf16):  # untimed warm-up on a slice
        clone(mlp).fit(x_train[:4096], y_train[:4096])
    (ours_s, ours), (peer_s, peer), (bf16_s, _) = best_of_alternating(
        repeats, device, one_epoch(study), one_epoch(previous), one_epoch(bf16))
    return row("mlp-epoch", ours_s, peer_s,
               f"best of {repeats} alternating runs per side; one epoch of the MLP on {len(x_train)} raw MNIST images "
               f"(10% held out; its validation pass included); ours: the study's configuration ({describe(STUDY_MLP)}"
               f"), validation accuracy after one epoch {ours.val_accuracy_:.4f}; peer: the configuration it "
               f"replaced ({describe(PREVIOUS_MLP)}), {peer.val_accuracy_:.4f}; the study's configuration under "
               f"bf16 autocast: {bf16_s:.2f} s; {environment(device)}")


def bench_mlp(data: Dataset, device: torch.device, epochs: int, seed: int) -> dict:
    x_train, x_test = to_unit_float(data.train.images), to_unit_float(data.test.images)
    config = clone(STUDY_MLP).set_params(epochs=epochs, patience=epochs, random_state=seed, device=str(device))
    with stopwatch(device) as ours:
        ours_acc = float((clone(config).fit(x_train, data.train.labels).predict(x_test) == data.test.labels).mean())
    with stopwatch() as peer, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached: the same epoch budget is the point
        sk = SkMLP(config.hidden, batch_size=config.batch_size, learning_rate_init=config.lr, max_iter=epochs,
                   random_state=seed, early_stopping=True, n_iter_no_change=epochs).fit(x_train, data.train.labels)
        peer_acc = float((sk.predict(x_test) == data.test.labels).mean())
    return row("mlp-raw-mnist", ours.seconds, peer.seconds,
               f"fit on 60000 raw images and predict 10000, {describe(config)}, 10% validation split each; "
               f"scikit-learn MLPClassifier at the same widths, batch, lr and epochs (float64, no decay); accuracy "
               f"ours {ours_acc:.4f}, scikit-learn {peer_acc:.4f}; {environment(device)}")


def bench_smoke(tiny: bool = False) -> dict:
    """`make smoke` in a scratch clone, so that the workspace's params and results stay as they are; ``tiny``:
    `make -n smoke`, the target's commands expanded and not run (tests/test_dvc_ux.py runs a smoke)."""
    venv = Path(sys.executable).parent.parent.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["git", "clone", "-q", ".", scratch], check=True)
        with stopwatch() as watch:
            subprocess.run(["make", "-C", scratch, *(["-n"] if tiny else []), "smoke", f"VENV={venv}"], check=True,
                           capture_output=True)
    return row("study-smoke", watch.seconds, None,
               "wall time of `make smoke` (digits, 2 small variants, every stage) in a fresh clone with the venv "
               f"already set up; no peer; {environment(torch.device('cpu'))}")


EPOCHS = {"ae-epoch-seed000": SEED000, "ae-epoch-h128": H128, "ae-epoch-conv": CONV,
          "ae-epoch-denoising": DENOISING, "ae-epoch-variational": VARIATIONAL}
GRAPH_ROWS = ("graph-pca-mnist", "spreading-pca-mnist", "poisson-pca-mnist")
ROWS = ("knn-raw-mnist", "knn-raw-mnist-busy", "knn-code-mnist", *GRAPH_ROWS, *EPOCHS, "mlp-epoch", "mlp-raw-mnist", "study-smoke")


def parse_args() -> argparse.Namespace:
    """The command line; ``--tiny`` sets one run per side and one MLP epoch."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    parser.add_argument("--mlp-epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternating runs per side of the k-NN and epoch rows, best kept (default: %(default)s)")
    parser.add_argument("--only", nargs="*", choices=ROWS, help="row names to run (default: all)")
    parser.add_argument("--tiny", action="store_true",
                        help="every row on a slice of MNIST (2000 training, 300 test images), one run per side, the "
                             "MLP epoch without its minimum of steps, no pynndescent peer and `make -n smoke`: to "
                             "check that the benchmark runs, not to measure (tests/test_bench.py)")
    args = parser.parse_args()
    if args.tiny:
        args.repeats, args.mlp_epochs = 1, 1
    return args


def mnist(tiny: bool) -> Dataset:
    """MNIST as the study reads it (data/raw, then the mirror); with ``tiny``, 2000 training and 300 test images."""
    spec = parse_spec("mnist", read_config("conf/datasets/mnist.yaml"), "conf/datasets/mnist.yaml")
    data = load_dataset(spec, layout.ROOTS["raw"], os.environ.get("AE_DATA_MIRROR") or None)
    if not tiny:
        return data
    return Dataset(data.name, Split(data.train.images[:2000], data.train.labels[:2000]),
                   Split(data.test.images[:300], data.test.labels[:300]), data.files)


def row_writer(out: Path, kept: list[dict]) -> Callable[[dict | list[dict]], None]:
    """What a finished row (or rows) is handed to: written at once beside ``kept`` (the rows ``--only`` leaves), so
    that a later row's failure keeps it, and printed."""
    rows: list[dict] = []

    def finished(new: dict | list[dict]) -> None:
        rows.extend(new if isinstance(new, list) else [new])
        fresh = {r["name"] for r in rows}
        write_json(out, [r for r in kept if r["name"] not in fresh] + rows)
        for r in new if isinstance(new, list) else [new]:
            print(f"{r['name']:>18}: ours {r['ours_s']:.3f}s  peer {r['peer_s']}s  faiss {r['faiss_s']}s  "
                  f"bound_ratio {r['bound_ratio']}", flush=True)
    return finished


def run_rows(wanted: set[str], data: Dataset, device: torch.device, args: argparse.Namespace, finished) -> None:
    """Each wanted row, in the order of ``ROWS``, handed to ``finished`` as it ends."""
    seed = 42
    x_train, x_test = to_unit_float(data.train.images), to_unit_float(data.test.images)
    if wanted & {"knn-raw-mnist", "knn-code-mnist"}:
        rate = 2 * 4096**3 / gemm_seconds(4096, 4096, 4096, device, repeats=3)  # a 4096^3 matmul's rate
        if "knn-raw-mnist" in wanted:
            finished(bench_knn("knn-raw-mnist", x_train, data.train.labels, x_test, device, rate,
                               "raw 784-d images", args.repeats))
    if "knn-raw-mnist-busy" in wanted:
        finished(bench_knn_busy(x_train, data.train.labels, x_test, args.repeats))
    if wanted & {"knn-code-mnist", *GRAPH_ROWS}:
        pca = PCAFeatures(64).fit(flat(data.train.images))
        codes_train, codes_test = pca.transform(flat(data.train.images)), pca.transform(flat(data.test.images))
        if "knn-code-mnist" in wanted:
            finished(bench_knn("knn-code-mnist", codes_train, data.train.labels, codes_test, device, rate,
                               "64-d PCA codes", args.repeats))
        if "graph-pca-mnist" in wanted:
            finished(bench_graph(codes_train, device, args.repeats, approximate_peer=not args.tiny))
        if wanted & {"spreading-pca-mnist", "poisson-pca-mnist"}:
            finished([r for r in bench_graph_classifiers(codes_train, data.train.labels, codes_test, data.test.labels,
                                                         device, args.repeats) if r["name"] in wanted])
    fit_idx, val_idx = train_val_split(len(x_train), 0.1, seed)
    x_fit, x_val = torch.from_numpy(x_train[fit_idx]), torch.from_numpy(x_train[val_idx])
    for name, config in EPOCHS.items():
        if name in wanted:
            finished(bench_epoch(name, config, x_fit, x_val, seed, args.repeats))
    if "mlp-epoch" in wanted:
        finished(bench_mlp_epoch(x_train, data.train.labels, device, seed, args.repeats, 1 if args.tiny else None))
    if "mlp-raw-mnist" in wanted:
        finished(bench_mlp(data, device, args.mlp_epochs, seed))
    if "study-smoke" in wanted:
        finished(bench_smoke(args.tiny))


def main() -> None:
    args = parse_args()
    coretype = native_openblas_coretype()
    if coretype and "OPENBLAS_CORETYPE" not in os.environ:  # read by FAISS's OpenBLAS when faiss is imported
        os.environ["OPENBLAS_CORETYPE"] = coretype
    device = resolve_device(args.device)
    kept = read_json(args.out) if args.only and args.out.exists() else []  # --only refreshes the named rows
    run_rows(set(args.only or ROWS), mnist(args.tiny), device, args, row_writer(args.out, kept))
    print(f"wrote {args.out}")

if __name__ == "__main__":
    try:
        main()
    except StudyError as error:  # a missing dataset, a bad device: one line, as from the stages
        sys.exit(f"error: {error}")
