"""k-NN, nearest centroid and the MLP against scikit-learn and toy problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid

from stages.classifiers import (
    KNNClassifier,
    MLPClassifier,
    MLPConfig,
    NearestCentroidClassifier,
    UniformMaskDropout,
    knn_search,
    knn_vote,
)
from stages.errors import StudyError


def random_problem(seed: int = 0, n_train: int = 600, n_test: int = 150, d: int = 12, classes: int = 5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (classes, d))
    y_train = rng.integers(0, classes, n_train)
    y_test = rng.integers(0, classes, n_test)
    x_train = (centres[y_train] + rng.normal(0, 2, (n_train, d))).astype(np.float32)
    x_test = (centres[y_test] + rng.normal(0, 2, (n_test, d))).astype(np.float32)
    return x_train, y_train, x_test, y_test


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_matches_sklearn_brute_force(k: int) -> None:
    x_train, y_train, x_test, _ = random_problem()
    ours = KNNClassifier(k, block_size=64).fit(x_train, y_train)
    ref = KNeighborsClassifier(k, algorithm="brute").fit(x_train.astype(np.float64), y_train)
    ref_dist, ref_idx = ref.kneighbors(x_test.astype(np.float64))
    dist, idx = ours.kneighbors(x_test)
    assert np.array_equal(idx, ref_idx)
    assert np.allclose(np.sqrt(dist), ref_dist, rtol=1e-6)
    # The votes agree but where k labels all differ: scikit-learn then takes the lowest label, we the
    # nearest neighbour's.
    labels = y_train[idx]
    all_differ = np.array([len(set(row)) == k for row in labels]) if k > 1 else np.zeros(len(idx), bool)
    ours_pred, ref_pred = ours.predict(x_test), ref.predict(x_test.astype(np.float64))
    assert np.array_equal(ours_pred[~all_differ], ref_pred[~all_differ])
    assert np.array_equal(ours_pred[all_differ], labels[all_differ, 0])
    assert np.array_equal(ref_pred[all_differ], labels[all_differ].min(axis=1))


def test_knn_is_invariant_to_block_size() -> None:
    x_train, _, x_test, _ = random_problem(1)
    results = [knn_search(x_train, x_test, 3, block_size=b) for b in (1, 7, 64, 10_000)]
    for dist, idx in results[1:]:
        assert np.array_equal(idx, results[0][1])
        assert np.array_equal(dist, results[0][0])


def test_knn_exact_despite_float32_expansion() -> None:
    # Large offsets make ||x||^2 - 2 q.x lose precision in float32; the float64 re-ranking keeps it exact.
    rng = np.random.default_rng(3)
    x_train = (1000 + rng.random((500, 8))).astype(np.float32)
    x_test = (1000 + rng.random((50, 8))).astype(np.float32)
    _, idx = knn_search(x_train, x_test, 1)
    exact = ((x_test.astype(np.float64)[:, None] - x_train.astype(np.float64)[None]) ** 2).sum(2).argmin(1)
    assert np.array_equal(idx[:, 0], exact)


def test_knn_skips_constant_columns_without_changing_neighbours_or_distances() -> None:
    # Like MNIST's border pixels: columns constant over the training set (the GEMM skips them), where the
    # queries are not constant. The returned distances still count those columns.
    x_train, y_train, x_test, _ = random_problem(2, d=10)
    x_train[:, [0, 4, 9]] = np.float32(0.5)
    x_train[:, 6] = 0
    dist, idx = knn_search(x_train, x_test, 3, block_size=32)
    ref_dist, ref_idx = KNeighborsClassifier(3, algorithm="brute").fit(x_train.astype(np.float64), y_train) \
        .kneighbors(x_test.astype(np.float64))
    assert np.array_equal(idx, ref_idx)
    assert np.allclose(np.sqrt(dist), ref_dist, rtol=1e-6)
    # Every column constant: nothing left for the GEMM, and every training row is equally near.
    dist, idx = knn_search(np.ones((20, 4), np.float32), x_test[:5, :4], 3)
    assert np.allclose(dist, ((x_test[:5, :4].astype(np.float64) - 1) ** 2).sum(1, keepdims=True))
    assert all(len(set(row)) == 3 for row in idx.tolist())


def test_vote_majority_and_three_way_tie_goes_to_nearest() -> None:
    labels = np.array([
        [2, 7, 7],  # majority 7 beats the nearest neighbour's 2
        [4, 1, 9],  # three-way tie: the nearest neighbour's label
        [9, 1, 0],  # three-way tie where the lowest label (0) would differ
        [3, 3, 5],
    ])
    assert knn_vote(labels).tolist() == [7, 4, 9, 3]
    assert knn_vote(labels[:, :1]).tolist() == [2, 4, 9, 3]
    # k = 4, two labels with two votes each: the one holding the nearer neighbour wins.
    assert knn_vote(np.array([[6, 2, 2, 6], [2, 6, 6, 2]])).tolist() == [6, 2]


def test_nearest_centroid_matches_sklearn() -> None:
    x_train, y_train, x_test, _ = random_problem(2)
    ours = NearestCentroidClassifier().fit(x_train, y_train)
    ref = NearestCentroid().fit(x_train, y_train)
    assert np.allclose(ours.centroids_, ref.centroids_, atol=1e-5)
    assert np.array_equal(ours.predict(x_test), ref.predict(x_test))


def test_mlp_learns_a_separable_problem_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 2)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)  # XOR: no linear model separates it
    config = MLPConfig(hidden=(32, 32), epochs=60, lr=0.01, batch_size=64, patience=60, dropout=0.0, input_noise=0.0)
    first = MLPClassifier(config, seed=0, progress=False).fit(x[:600], y[:600])
    accuracy = (first.predict(x[600:]) == y[600:]).mean()
    assert accuracy > 0.95
    second = MLPClassifier(config, seed=0, progress=False).fit(x[:600], y[:600])
    assert np.array_equal(first.predict(x[600:]), second.predict(x[600:]))


def test_dropout_drops_p_and_keeps_the_mean() -> None:
    torch.manual_seed(0)
    dropout = UniformMaskDropout(0.3)
    x = torch.ones(400, 500, requires_grad=True)
    y = dropout(x)
    assert (y == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(torch.unique(y), torch.tensor([0.0, 1 / 0.7]))
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient passes through the kept units only, scaled alike
    dropout.eval()
    assert torch.equal(dropout(x), x)


def test_inputs_are_validated_with_the_argument_named() -> None:
    with pytest.raises(StudyError, match=r"X must be a non-empty 2-D array"):
        KNNClassifier(1).fit(np.zeros(5), np.zeros(5, dtype=int))
    with pytest.raises(StudyError, match=r"y must hold 3 non-negative integer labels"):
        NearestCentroidClassifier().fit(np.zeros((3, 2)), np.array([0.5, 1, 2]))
    knn = KNNClassifier(1).fit(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(StudyError, match=r"X has 4 features, but the classifier was fitted on 2"):
        knn.predict(np.zeros((1, 4)))
    with pytest.raises(StudyError, match=r"X holds NaN or infinite values"):
        knn.predict(np.full((1, 2), np.nan))
