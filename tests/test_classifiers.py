"""k-NN, nearest centroid and the MLP against scikit-learn, brute force and toy problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid

from aestudy.classifiers.knn import KNNClassifier, knn_vote
from aestudy.classifiers.mlp import MLPClassifier, UniformMaskDropout
from aestudy.classifiers.ncc import NearestCentroidClassifier
from aestudy.core.errors import StudyError
from aestudy.neighbors.exact import CHUNK, KNN_PROBES, ExactKNNIndex, duplicate_groups, knn_search
from aestudy.neighbors.tiles import TILE


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


def brute_force(train: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The definition: float64 squared distances from the float32 values, ties to the lower index."""
    dist = ((queries.astype(np.float64)[:, None] - train.astype(np.float64)[None]) ** 2).sum(axis=2)
    order = np.lexsort((np.broadcast_to(np.arange(len(train)), dist.shape), dist), axis=1)[:, :k]
    return np.take_along_axis(dist, order, axis=1), order


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


@pytest.mark.parametrize("filter_dims", [128, 4])  # 4: 12 columns are more than twice that, so the bound rotates
@pytest.mark.parametrize("k", [1, 3, 7])
def test_knn_equals_brute_force_with_ties_and_copies(filter_dims: int, k: int) -> None:
    rng = np.random.default_rng(k)
    cases = {
        "gaussian": (rng.normal(size=(700, 12)), rng.normal(size=(90, 12))),
        # few distinct values: many copies and many exact ties, which must go to the lowest index
        "coarse": (np.round(rng.random((900, 12)), 1), np.round(rng.random((60, 12)), 1)),
        "constant columns": (np.c_[rng.random((800, 9)), np.full((800, 3), 0.5)], rng.random((40, 12))),
    }
    for name, (train, queries) in cases.items():
        train, queries = train.astype(np.float32), queries.astype(np.float32)
        dist, idx = ExactKNNIndex(train, filter_dims=filter_dims).search(queries, k, block_size=17)
        ref_dist, ref_idx = brute_force(train, queries, k)
        assert np.array_equal(idx, ref_idx), name
        assert np.allclose(dist, ref_dist, rtol=1e-12, atol=0), name


@pytest.mark.parametrize("k", [1, 7])
def test_the_rows_own_neighbours_equal_brute_force_across_tiles_with_ties_and_copies(k: int) -> None:
    """``search_rows``: the symmetric self-join (2600 rows: three tiles a side, so each off-diagonal tile serves
    its column block's rows too), the rotated index's search of its rows, and copies answered as their kept row."""
    rng = np.random.default_rng(k)
    coarse = np.round(rng.random((2600, 6)), 1)  # few distinct values: copies and exact ties at every distance
    gaussian = rng.normal(size=(2600, 12))
    for name, train, filter_dims in (("coarse", coarse, 128), ("gaussian", gaussian, 128), ("rotated", gaussian, 4)):
        train = train.astype(np.float32)
        index = ExactKNNIndex(train, filter_dims=filter_dims)
        assert index.tiled == (name != "rotated") and len(train) > 2 * TILE
        dist, idx = index.search_rows(k)
        ref_dist, ref_idx = brute_force(train, train, k)
        assert np.array_equal(idx, ref_idx), name
        assert np.allclose(dist, ref_dist, rtol=1e-12, atol=0), name  # float64 sums, in another order


def test_the_tiled_search_with_fewer_chunks_than_k() -> None:
    """Five chunks and k = 7: no k distinct rows bound the threshold, so every row is ranked exactly."""
    rng = np.random.default_rng(2)
    train, queries = rng.normal(size=(5 * CHUNK, 5)).astype(np.float32), rng.normal(size=(30, 5)).astype(np.float32)
    index = ExactKNNIndex(train)
    assert index.tiled and index.tile_rhs.shape[1] // CHUNK == 5
    assert np.array_equal(index.search(queries, 7)[1], brute_force(train, queries, 7)[1])
    assert np.array_equal(index.search_rows(7)[1], brute_force(train, train, 7)[1])


def test_knn_bound_finds_neighbours_the_best_bounds_miss() -> None:
    # Rows that agree with the query on the principal directions but differ off them have the smallest
    # bounds and are not the nearest: the threshold must reach past them, whatever the probes found.
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(2000, 2)) * 10
    train = np.c_[signal, rng.normal(size=(2000, 10)) * 0.01].astype(np.float32)
    decoys = np.c_[np.zeros((CHUNK * KNN_PROBES, 2)), rng.normal(size=(CHUNK * KNN_PROBES, 10)) * 3]
    train = np.r_[train, decoys.astype(np.float32)]
    queries = np.c_[np.zeros((5, 2)), rng.normal(size=(5, 10)) * 0.01].astype(np.float32)
    index = ExactKNNIndex(train, filter_dims=2)
    assert index.rotation is not None
    _, idx = index.search(queries, 3)
    assert np.array_equal(idx, brute_force(train, queries, 3)[1])


def test_knn_on_fewer_rows_than_columns_skips_the_rotation() -> None:
    """40 rows of 3072 values (a few labelled colour images): no principal directions are fitted (their
    eigendecomposition took 2.5 s a fit), and the neighbours are still brute force's."""
    rng = np.random.default_rng(0)
    train, queries = rng.random((40, 3072)).astype(np.float32), rng.random((25, 3072)).astype(np.float32)
    index = ExactKNNIndex(train)
    assert index.rotation is None
    assert np.array_equal(index.search(queries, 3)[1], brute_force(train, queries, 3)[1])


def test_knn_small_training_sets_and_k_equal_to_n() -> None:
    rng = np.random.default_rng(5)
    train, queries = rng.random((3, 6)).astype(np.float32), rng.random((4, 6)).astype(np.float32)
    _, idx = knn_search(train, queries, 3)
    assert np.array_equal(idx, brute_force(train, queries, 3)[1])
    with pytest.raises(StudyError, match="k=4 is larger than the 3 training samples"):
        knn_search(train, queries, 4)


def test_duplicate_groups() -> None:
    x = np.array([[1, 2], [3, 4], [1, 2], [0, 0], [3, 4], [1, 2]], dtype=np.float32)
    keep, counts, members = duplicate_groups(x)
    assert keep.tolist() == [0, 1, 3] and counts.tolist() == [3, 2, 1]
    assert members.tolist() == [0, 2, 5, 1, 4, 3]


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
    config = {"hidden": (32, 32), "epochs": 60, "lr": 0.01, "batch_size": 64, "patience": 60, "dropout": 0.0, "min_steps": 0,
              "input_noise": 0.0}
    first = MLPClassifier(**config, random_state=0, progress=False).fit(x[:600], y[:600])
    accuracy = (first.predict(x[600:]) == y[600:]).mean()
    assert accuracy > 0.95
    second = MLPClassifier(**config, random_state=0, progress=False).fit(x[:600], y[:600])
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
    with pytest.raises(ValueError, match=r"Expected 2D array, got 1D array"):
        KNNClassifier(1).fit(np.zeros(5), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"Unknown label type: continuous"):
        NearestCentroidClassifier().fit(np.zeros((3, 2)), np.array([0.5, 1, 2]))
    knn = KNNClassifier(1).fit(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"X has 4 features, but KNNClassifier is expecting 2 features"):
        knn.predict(np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"Input X contains NaN"):
        knn.predict(np.full((1, 2), np.nan))
    with pytest.raises(ValueError, match=r"The 'n_neighbors' parameter of KNNClassifier must be an int in the range \[1, inf\)"):
        KNNClassifier(0).fit(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(StudyError, match=r"n_neighbors=4 is larger than the 3 training samples"):
        KNNClassifier(4).fit(np.zeros((3, 2)), np.array([0, 1, 2])).predict(np.zeros((1, 2)))
