"""The graph classifiers: labels carried by the unlabelled images, against closed forms and graphlearning."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from aestudy.classifiers import GraphClassifier, KNNClassifier
from aestudy.classifiers.clusters import ClusterClassifier
from aestudy.classifiers.graph import evenly_per_class
from aestudy.classifiers.linear import LinearProbeClassifier
from aestudy.classifiers.propagation import (
    PRIOR_STEPS,
    PRIOR_TOLERANCE,
    WeightedArgmax,
    class_size_weights,
    laplace_scores,
)
from aestudy.core.errors import StudyError
from aestudy.neighbors.graph import build_graph, kernel

UNLABELLED = -1


def two_lines(n: int = 200, gap: float = 1.5, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two parallel lines of points ``gap`` apart, 0.05 apart along each: class 0 on y = 0, class 1 on y = gap."""
    x = np.arange(n) * 0.05 + offset
    points = np.concatenate([np.c_[x, np.zeros(n)], np.c_[x, np.full(n, gap)]]).astype(np.float32)
    return points, np.repeat([0, 1], n)


def one_label_per_line(y: np.ndarray, n: int = 200) -> np.ndarray:
    """Class 0 labelled at its line's left end, class 1 at its line's right end; every other image -1."""
    partial = np.full(len(y), UNLABELLED)
    partial[0], partial[2 * n - 1] = 0, 1
    return partial


@pytest.mark.parametrize("method", ["spreading", "poisson", "laplace", "nearest"])
def test_propagation_succeeds_where_knn1_from_the_labels_fails(method: str) -> None:
    x, y = two_lines()
    partial = one_label_per_line(y)
    test, y_test = two_lines(offset=0.025)  # between the training points
    knn = KNNClassifier(1).fit(x[partial != UNLABELLED], partial[partial != UNLABELLED])
    assert knn.score(test, y_test) < 0.8  # the right half of line 0 is nearer line 1's label
    model = GraphClassifier(method).fit(x, partial)
    assert model.unreached_ == 0 and np.array_equal(model.labels_, y)
    assert model.score(test, y_test) == 1.0


def test_unreached_images_take_their_nearest_labelled_images_label() -> None:
    x, y = two_lines()
    far = np.c_[np.arange(30) * 0.05 + 100, np.full(30, 0.2)].astype(np.float32)  # a third line, no label
    partial = np.r_[one_label_per_line(y), np.full(30, UNLABELLED)]
    for method in ("spreading", "poisson", "laplace", "nearest"):
        model = GraphClassifier(method).fit(np.r_[x, far], partial)
        assert model.unreached_ == 30
        # Nearest labelled image of every far point: class 1's, at (9.95, 1.5), against class 0's at (0, 0).
        assert np.array_equal(model.labels_[-30:], np.ones(30))
        assert np.array_equal(model.labels_[:-30], y)


def test_test_images_never_enter_the_graph() -> None:
    """Inductive: a test image is labelled by its training neighbours alone; other test images change nothing."""
    x, y = two_lines()
    partial = one_label_per_line(y)
    test, _ = two_lines(offset=0.025)
    model = GraphClassifier("spreading").fit(x, partial)
    labels, n_edges = model.labels_.copy(), model.graph_.weights.nnz
    whole = model.predict_proba(test)
    assert model.graph_.weights.shape == (len(x), len(x)) and model.graph_.weights.nnz == n_edges
    assert np.array_equal(model.labels_, labels)
    for part in (test[:7], test[::-3], test[150:151]):
        rows = [np.flatnonzero((test == r).all(axis=1))[0] for r in part]
        np.testing.assert_array_equal(model.predict_proba(part.copy()), whole[rows])
    np.testing.assert_allclose(whole.sum(axis=1), 1.0)


def test_label_spreading_is_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    partial = np.full(300, UNLABELLED)
    partial[:12] = np.arange(12) % 3
    model = GraphClassifier("spreading", n_neighbors=8, alpha=0.9).fit(x, partial)
    w = model.graph_.weights.toarray()
    d = w.sum(axis=1)
    s = w / np.sqrt(np.outer(d, d))
    onehot = np.zeros((300, 3))
    onehot[np.arange(12), partial[:12]] = 1
    closed = np.linalg.solve(np.eye(300) - 0.9 * s, onehot)
    expected = closed.argmax(axis=1)
    expected[:12] = partial[:12]
    assert np.array_equal(model.labels_, expected)


def test_poisson_learning_matches_graphlearning_on_a_connected_graph() -> None:
    """graphlearning's gradient-descent solver (Calder et al.'s Algorithm 1, its stopping rule) on the same
    weights: the same label for every image."""
    gl = pytest.importorskip("graphlearning", reason="graphlearning is not installed")
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=1.2, size=(4, 6))
    x = (centres[np.repeat(np.arange(4), 150)] + rng.normal(size=(600, 6))).astype(np.float32)
    partial = np.full(600, UNLABELLED)
    labelled = np.r_[0, 1, 150, 151, 300, 301, 450, 451]
    partial[labelled] = np.repeat(np.arange(4), 2)
    model = GraphClassifier("poisson", n_neighbors=10).fit(x, partial)
    assert len(np.unique(model.graph_.components)) == 1
    theirs = gl.ssl.poisson(sparse.csr_matrix(model.graph_.weights), solver="gradient_descent")
    scores = theirs.fit(labelled, partial[labelled])
    expected = scores.argmax(axis=1)
    expected[labelled] = partial[labelled]
    assert np.array_equal(model.labels_, expected) and len(np.unique(expected)) == 4
    assert 50 <= model.n_iter_ < 1000


def blobs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four Gaussian blobs of 150 points in 6-d that overlap, two labelled points each: rows, partial labels, and
    the labelled rows."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.2, size=(4, 6))
    x = (centres[np.repeat(np.arange(4), 150)] + rng.normal(size=(600, 6))).astype(np.float32)
    partial = np.full(600, UNLABELLED)
    labelled = np.r_[0, 1, 150, 151, 300, 301, 450, 451]
    partial[labelled] = np.repeat(np.arange(4), 2)
    return x, partial, labelled


def test_laplace_learning_matches_graphlearning() -> None:
    """graphlearning's ``laplace`` (the same preconditioned conjugate gradients) on the same weights: the same
    label for every image, and the harmonic property itself: each unlabelled score is its neighbours' weighted
    mean."""
    gl = pytest.importorskip("graphlearning", reason="graphlearning is not installed")
    x, partial, labelled = blobs(1)
    model = GraphClassifier("laplace", n_neighbors=10).fit(x, partial)
    weights = sparse.csr_matrix(model.graph_.weights)
    scores = gl.ssl.laplace(weights).fit(labelled, partial[labelled])
    expected = scores.argmax(axis=1)
    expected[labelled] = partial[labelled]
    assert np.array_equal(model.labels_, expected) and len(np.unique(expected)) == 4 and model.n_iter_ > 0
    onehot = np.eye(4)[partial[labelled]]
    u, _ = laplace_scores(model.graph_, labelled, onehot)
    free = partial == UNLABELLED
    mean = (weights @ u) / np.asarray(weights.sum(axis=1))
    np.testing.assert_allclose(u[free], mean[free], atol=1e-5)


def test_the_nearest_rule_takes_the_labelled_image_nearest_along_the_graph() -> None:
    """Against all-pairs shortest paths (Floyd-Warshall) over the graph's edges, each weighed by the Euclidean
    distance of its two rows computed here."""
    x, partial, labelled = blobs(2)
    model = GraphClassifier("nearest", n_neighbors=6).fit(x, partial)
    rows, cols = model.graph_.weights.nonzero()
    lengths = sparse.csr_matrix((np.linalg.norm(x[rows] - x[cols], axis=1).astype(np.float64), (rows, cols)),
                                shape=(600, 600))
    geodesic = csgraph.shortest_path(lengths, method="FW", directed=False)[:, labelled]
    expected = partial[labelled][geodesic.argmin(axis=1)]
    assert model.unreached_ == 0 and model.n_iter_ == 0
    assert np.array_equal(model.labels_, expected)
    # Not the Euclidean nearest labelled image: the graph's paths decide somewhere.
    euclidean = partial[labelled][np.linalg.norm(x[:, None] - x[labelled][None], axis=2).argmin(axis=1)]
    assert not np.array_equal(expected, euclidean)


def test_the_graph_is_built_once_per_training_matrix() -> None:
    """By content, not identity: the same rows in a new array reuse the graph; rows changed in place do not."""
    x, y = two_lines()
    first = GraphClassifier("spreading").fit(x, one_label_per_line(y))
    assert GraphClassifier("poisson").fit(x, one_label_per_line(y)).graph_ is first.graph_
    assert GraphClassifier("spreading").fit(x.copy(), one_label_per_line(y)).graph_ is first.graph_
    assert GraphClassifier("spreading", n_neighbors=5).fit(x, one_label_per_line(y)).graph_ is not first.graph_
    x[0] += 1
    assert GraphClassifier("spreading").fit(x, one_label_per_line(y)).graph_ is not first.graph_


def test_the_graph_weights() -> None:
    x = np.array([[0.0], [1.0], [3.0], [7.0]], dtype=np.float32)
    graph = build_graph(x, 2, "cpu")
    w = graph.weights.toarray()
    np.testing.assert_allclose(w, w.T)
    assert np.all(np.diag(w) == 0)
    # Row 0's neighbours 1 and 2 at distances 1 and 3: exp(-4 d^2 / 3^2); symmetrised with row 1's own.
    directed_01 = kernel(np.array([[1.0, 3.0]]))[0, 0]
    directed_10 = kernel(np.array([[1.0, 2.0]]))[0, 0]
    assert w[0, 1] == pytest.approx((directed_01 + directed_10) / 2)
    assert kernel(np.zeros((1, 3))).tolist() == [[1.0, 1.0, 1.0]]  # all neighbours at distance 0


def test_bad_input_is_one_error_naming_the_argument() -> None:
    x, _ = two_lines(n=10)
    with pytest.raises(StudyError, match=r"y holds no labelled sample: every label is -1"):
        GraphClassifier().fit(x, np.full(20, UNLABELLED))
    with pytest.raises(StudyError, match=r"n_neighbors=30 needs more than 30 samples, got n_samples=20"):
        GraphClassifier(n_neighbors=30).fit(x, np.r_[0, 1, np.full(18, UNLABELLED)])
    with pytest.raises(ValueError, match=r"The 'alpha' parameter of GraphClassifier must be a float in the range"):
        GraphClassifier(alpha=1.0).fit(x, np.r_[0, 1, np.full(18, UNLABELLED)])


def test_the_class_size_step_gives_each_class_its_share() -> None:
    """Scores that favour class 0 by a margin: the argmax gives it most rows; the weights the step finds give
    each class its prior share of the rows, to the tolerance."""
    rng = np.random.default_rng(0)
    scores = rng.random((3000, 4)) + np.array([0.3, 0.0, 0.0, 0.0])
    assert np.bincount(scores.argmax(axis=1), minlength=4)[0] / 3000 > 0.5
    priors = np.array([0.1, 0.2, 0.3, 0.4])
    weights, steps, error = class_size_weights(scores, priors)
    shares = np.bincount(((scores - scores.min()) * weights).argmax(axis=1), minlength=4) / 3000
    assert error <= PRIOR_TOLERANCE and np.abs(shares - priors).max() <= PRIOR_TOLERANCE and 0 < steps
    assert weights[0] == 1.0


def test_the_class_size_step_stops_where_no_weights_meet_the_priors() -> None:
    """Rows in two tight clusters, each moving whole between the classes (as UMAP's do): no weights give the
    classes 30% and 70%, so the step halves its rate until it gives up, long before its last step, and returns the
    best weights it saw (an error of 0.2, one cluster each), not the last ones."""
    rng = np.random.default_rng(0)
    scores = np.repeat(np.array([[0.9, 0.1], [0.1, 0.9]]), 500, axis=0) + 1e-6 * rng.random((1000, 2))
    weights, steps, error = class_size_weights(scores, np.array([0.3, 0.7]))
    shares = np.bincount(((scores - scores.min()) * weights).argmax(axis=1), minlength=2) / 1000
    assert steps < PRIOR_STEPS // 2
    assert error == pytest.approx(0.2) and np.abs(shares - [0.3, 0.7]).max() == pytest.approx(0.2)


def test_the_weighted_argmax_counts_as_a_full_argmax() -> None:
    """Weights moving a little at a time, rows with ties and copies: every step's counts are the full argmax's."""
    rng = np.random.default_rng(0)
    scaled = rng.random((5000, 6))
    scaled[:50] = scaled[:1]
    scaled[100:200, 3] = scaled[100:200, 5]  # tied classes: the first wins, as in numpy's argmax
    argmax, weights = WeightedArgmax(scaled), np.ones(6)
    for _ in range(300):
        assert np.array_equal(argmax.counts(weights), np.bincount((scaled * weights).argmax(axis=1), minlength=6))
        weights = weights * (1 + rng.normal(scale=0.003, size=6))
    weights[2] = -0.5  # the step can push a weight below 0: the full argmax then
    assert np.array_equal(argmax.counts(weights), np.bincount((scaled * weights).argmax(axis=1), minlength=6))


def four_blobs(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """600 points in four overlapping Gaussian blobs of 6 dimensions, two labelled in each."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.2, size=(4, 6))
    y = np.repeat(np.arange(4), 150)
    x = (centres[y] + rng.normal(size=(600, 6))).astype(np.float32)
    partial = np.full(600, UNLABELLED)
    labelled = np.r_[0, 1, 150, 151, 300, 301, 450, 451]
    partial[labelled] = y[labelled]
    return x, partial


def test_mbo_iterations_keep_the_class_sizes_and_stop_at_a_fixed_point() -> None:
    """Poisson-MBO from the class-size step: the labelled images keep their labels, the unlabelled ones keep the
    priors' shares, and where the labels stop moving before the last iteration, more iterations change nothing."""
    x, partial = four_blobs()
    free = partial == UNLABELLED
    sized = GraphClassifier("poisson", priors="labelled").fit(x, partial)
    mbo = GraphClassifier("poisson", priors="labelled", mbo_iterations=20).fit(x, partial)
    assert 1 <= mbo.mbo_iter_ < 20 and sized.mbo_iter_ == 0  # a fixed point after 7 iterations
    assert np.array_equal(mbo.labels_[~free], partial[~free])
    shares = np.bincount(mbo.labels_[free], minlength=4) / free.sum()
    assert np.abs(shares - 0.25).max() <= 0.01
    assert not np.array_equal(mbo.labels_, sized.labels_)  # the iterations move labels
    longer = GraphClassifier("poisson", priors="labelled", mbo_iterations=40).fit(x, partial)
    assert longer.mbo_iter_ == mbo.mbo_iter_ and np.array_equal(longer.labels_, mbo.labels_)
    with pytest.raises(StudyError, match=r"mbo_iterations=20 needs priors \(the class shares its steps keep\)"):
        GraphClassifier("poisson", mbo_iterations=20).fit(x, partial)


def test_priors_move_the_unlabelled_images_and_share_the_propagation() -> None:
    """Two lines, line 1 four times as long: class 0's label at the far end of its short line, class 1's at the
    near end of its long one, so Poisson learning hands class 0 part of line 1 (a class takes the images nearer
    its source's pull). With the priors of the true shares, the unlabelled images split 1:4 again. The fit with
    priors reuses the propagation of the fit without."""
    short = np.c_[np.arange(100) * 0.05, np.zeros(100)]
    long = np.c_[np.arange(400) * 0.05, np.full(400, 0.3)]
    x = np.concatenate([short, long]).astype(np.float32)
    y = np.repeat([0, 1], [100, 400])
    partial = np.full(500, UNLABELLED)
    partial[99], partial[100] = 0, 1
    plain = GraphClassifier("poisson").fit(x, partial)
    free = partial == UNLABELLED
    sized = GraphClassifier("poisson", priors=[0.2, 0.8]).fit(x, partial)
    assert sized.n_iter_ == plain.n_iter_ and len(sized.graph_.scores) == 1  # one propagation for both
    share = (sized.labels_[free] == 0).mean()
    assert abs(share - 0.2) <= 0.01 and abs((plain.labels_[free] == 0).mean() - 0.2) > 0.02
    assert (sized.labels_ == y).mean() > (plain.labels_ == y).mean()
    assert sized.labels_[99] == 0 and sized.labels_[100] == 1  # labelled images keep their labels
    balanced = GraphClassifier("poisson", priors="labelled").fit(x, partial)
    assert balanced.priors_.tolist() == [0.5, 0.5]
    with pytest.raises(StudyError, match=r"priors must list 2 non-negative shares, one per class, got \[1\]"):
        GraphClassifier("poisson", priors=[1]).fit(x, partial)


def test_cluster_then_label_fits_its_mixture_once_and_names_every_component() -> None:
    """Three separated blobs, two labels in two of them: the mixture (one component per class) is fitted on every
    row once, shared by a second label draw; the component with no labelled row takes the class of the labelled
    row it finds most probable; test rows are predicted by the fitted mixture without entering it."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = np.repeat(np.arange(3), 200)
    x = centres[truth] + rng.normal(size=(600, 2))
    y = np.full(600, -1)
    y[[0, 1, 200, 201, 400]] = [0, 0, 1, 1, 2]
    first = ClusterClassifier(random_state=0).fit(x, y)
    assert first.unnamed_ == 0 and (first.predict(x) == truth).mean() > 0.99
    y_other = np.full(600, -1)
    y_other[[5, 205, 405]] = [0, 1, 2]
    second = ClusterClassifier(random_state=0).fit(x, y_other)
    assert second.mixture_ is first.mixture_  # never refitted for a new draw: it never saw a label
    test = centres[[0, 1, 2]] + rng.normal(size=(3, 2)) * 0.1
    assert list(second.predict(test)) == [0, 1, 2]
    # Blob 2 labelled nowhere: its component takes the class of the labelled row it finds most probable.
    y_three = np.full(600, -1)
    y_three[[0, 1, 200]] = [7, 7, 9]
    y_three[2] = 8  # a third class, labelled inside blob 0: blob 2's component holds no labelled row
    three = ClusterClassifier(random_state=0).fit(x, y_three)
    assert three.unnamed_ == 1 and set(three.predict(x[truth == 2])) <= {7, 8, 9}
    with pytest.raises(StudyError, match="y holds no labelled sample"):
        ClusterClassifier().fit(x, np.full(600, -1))



def test_self_training_fits_the_probe_on_an_even_sample_of_the_pseudo_labels() -> None:
    """The student sees the labelled images and, of each class, ``student_per_class`` unlabelled images under the
    graph's labels, evenly spaced through that class's; the test images are the probe's."""
    x, partial = four_blobs()
    teacher = GraphClassifier("poisson").fit(x, partial)
    model = GraphClassifier("poisson", student="linear", student_per_class=20).fit(x, partial)
    assert model.n_pseudo_ == 80 and teacher.n_pseudo_ == 0 and teacher.student_ is None
    assert np.array_equal(model.labels_, teacher.labels_)  # the graph's own labels are the teacher's
    free, labels = partial == UNLABELLED, teacher.labels_
    pseudo = evenly_per_class(labels, free, 20)
    rows = np.r_[np.flatnonzero(~free), pseudo]
    probe = LinearProbeClassifier().fit(x[rows], labels[rows])
    assert np.array_equal(model.predict(x), probe.predict(x))
    assert np.allclose(model.predict_proba(x), probe.predict_proba(x))
    assert not np.array_equal(model.predict(x), teacher.predict(x))  # the probe, not the kernel vote


def test_evenly_per_class_spaces_each_class_sample_and_takes_all_of_a_small_class() -> None:
    labels = np.array([0, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0])
    candidates = np.ones(11, dtype=bool)
    candidates[3] = False
    # class 0's candidates: rows 0, 2, 5, 6, 7, 9, 10 (7); 3 of them at positions 0, 7 // 3 = 2, 14 // 3 = 4
    assert np.array_equal(evenly_per_class(labels, candidates, 3), [0, 1, 4, 5, 7, 8])
    assert np.array_equal(evenly_per_class(labels, candidates, 7), np.flatnonzero(candidates))
