"""Random-forest training on binned features, compiled with numba.

The classifier retrains on every brush stroke while the user paints, so training time is
felt directly. scikit-learn's ``RandomForestClassifier`` sorts the samples of every node for
every candidate feature; here each feature is first cut into at most 256 bins (quantiles of
the training values, as scikit-learn's ``HistGradientBoostingClassifier`` does), and a node
finds its best split from per-bin class histograms, which costs one pass over its samples per
candidate feature. Everything else follows scikit-learn's random forest: a bootstrap sample
per tree (``max_samples`` draws with replacement), ``sqrt(n_features)`` candidate features per
node (more when some are constant in the node), the Gini criterion, "balanced" class weights,
leaves holding class fractions, and impurity-based feature importances.

Splits are searched on the bins; a split's threshold is then placed, as in scikit-learn,
halfway between the node's largest value on the left and its smallest on the right (rounded
down to float32, so that ``x <= threshold`` sends exactly the same training values left).

The result is the node-array layout that :func:`._traversal.forest_votes` traverses: trees one
after the other, each numbered breadth-first with the right child following the left one.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

MAX_BINS = 256
_NODE_BUDGET = 256 * 2**20  # bytes of node arrays grown at once

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


def float32_at_most(values: np.ndarray) -> np.ndarray:
    """Largest float32 not above each float64 value, so ``x32 <= t`` is decided exactly."""
    out = np.asarray(values, np.float64).astype(np.float32)
    above = out.astype(np.float64) > values
    out[above] = np.nextafter(out[above], np.float32(-np.inf))
    return out


def bin_edges(xt: np.ndarray, max_bins: int = MAX_BINS) -> list[np.ndarray]:
    """Upper edges of each feature's bins (float32, ascending, at most ``max_bins - 1``).

    `xt` holds the values feature-major, (n_features, n_samples). A value goes to bin ``b``
    when ``edges[b - 1] < value <= edges[b]``. With at most `max_bins` distinct values every
    value has a bin of its own and the edges lie halfway between neighbours; otherwise the
    edges are quantiles of (at most 50 000 evenly spaced) values. Bins only choose which
    splits are tried: thresholds come from the values themselves.
    """
    step = max(1, xt.shape[1] // 50_000)
    ordered = np.sort(xt[:, ::step], axis=1).astype(np.float64)
    edges = []
    for values in ordered:
        distinct = values[np.r_[True, values[1:] != values[:-1]]]
        if distinct.size <= max_bins:
            cuts = (distinct[:-1] + distinct[1:]) / 2
        else:
            at = np.linspace(0, values.size - 1, max_bins + 1)[1:-1]
            cuts = (values[np.floor(at).astype(int)] + values[np.ceil(at).astype(int)]) / 2
        edges.append(np.unique(float32_at_most(cuts)))
    return edges


@njit(parallel=True, cache=True, nogil=True)
def _binned(xt, cuts, n_cuts, out):  # pragma: no cover - numba
    for f in prange(xt.shape[0]):
        out[f] = np.searchsorted(cuts[f, : n_cuts[f]], xt[f])


def binned(xt: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """Bin index of every value of `xt` (n_features, n_samples): uint8, same shape."""
    cuts = np.full((len(edges), MAX_BINS - 1), np.inf, np.float32)
    for f, values in enumerate(edges):
        cuts[f, : values.size] = values
    out = np.empty(xt.shape, np.uint8)
    _binned(xt, cuts, np.array([e.size for e in edges]), out)
    return out


@njit(inline="always")
def _random(state):  # pragma: no cover - numba
    """splitmix64: the next 64 random bits of ``state`` (a one-element uint64 array)."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(inline="always")
def _below(state, n):  # pragma: no cover - numba
    """A random integer in ``[0, n)``."""
    return np.int64(_random(state) % np.uint64(n))


@njit(cache=True)
def _grow(
    xb,
    x,
    y,
    class_weight,
    n_draws,
    max_depth,
    n_candidates,
    seed,
    feature,
    threshold,
    child,
    value,
    importance,
):  # pragma: no cover - numba
    """Grow one tree into the given node arrays; return its number of nodes.

    `xb` holds the bins of the training values `x` (both feature-major). Splits are searched
    on bins; the chosen split's threshold then lies halfway between the node's largest value
    on the left and its smallest on the right, as in scikit-learn.
    """
    n_features, n = xb.shape
    n_classes = class_weight.size
    state = np.full(1, np.uint64(seed))
    counts = np.zeros(n, np.int32)
    for _ in range(n_draws):
        counts[_below(state, n)] += 1
    m = 0
    for i in range(n):
        if counts[i] > 0:
            m += 1
    samples = np.empty(m, np.int64)
    weights = np.empty(m, np.float64)
    m = 0
    for i in range(n):
        if counts[i] > 0:
            samples[m] = i
            weights[m] = counts[i] * class_weight[y[i]]
            m += 1

    capacity = feature.size
    start = np.empty(capacity, np.int64)
    stop = np.empty(capacity, np.int64)
    depth = np.empty(capacity, np.int64)
    start[0] = 0
    stop[0] = m
    depth[0] = 0
    n_nodes = 1
    order = np.arange(n_features)
    hist = np.zeros((MAX_BINS, n_classes))
    occupied = np.zeros(MAX_BINS, np.bool_)
    total = np.empty(n_classes)
    left = np.empty(n_classes)
    node = 0
    while node < n_nodes:
        s = start[node]
        e = stop[node]
        total[:] = 0.0
        for i in range(s, e):
            total[y[samples[i]]] += weights[i]
        w_node = total.sum()
        present = 0
        for c in range(n_classes):
            value[node, c] = total[c] / w_node
            if total[c] > 0:
                present += 1
        feature[node] = -1
        threshold[node] = 0.0
        child[node] = -1
        if present < 2 or e - s < 2 or depth[node] >= max_depth:
            node += 1
            continue

        best_score = -1.0
        best_feature = -1
        best_bin = -1
        visited = 0
        for k in range(n_features):
            if visited >= n_candidates and best_feature >= 0:
                break
            j = k + _below(state, n_features - k)
            order[k], order[j] = order[j], order[k]
            f = order[k]
            lo = MAX_BINS
            hi = -1
            for i in range(s, e):
                b = xb[f, samples[i]]
                hist[b, y[samples[i]]] += weights[i]
                occupied[b] = True
                lo = min(lo, b)
                hi = max(hi, b)
            if lo == hi:  # constant in this node: not a candidate (as in scikit-learn)
                hist[lo] = 0.0
                occupied[lo] = False
                continue
            visited += 1
            left[:] = 0.0
            w_left = 0.0
            previous = lo
            for b in range(lo, hi + 1):
                if not occupied[b]:
                    continue
                if b > lo:
                    # Split between the occupied bins `previous` and `b`.
                    w_right = w_node - w_left
                    score = 0.0
                    for c in range(n_classes):
                        score += left[c] * left[c] / w_left
                        right = total[c] - left[c]
                        score += right * right / w_right
                    if score > best_score:
                        best_score = score
                        best_feature = f
                        best_bin = previous
                for c in range(n_classes):
                    left[c] += hist[b, c]
                    w_left += hist[b, c]
                    hist[b, c] = 0.0
                occupied[b] = False
                previous = b
        if best_feature < 0:
            node += 1
            continue

        i = s
        j = e - 1
        left_max = -np.inf
        right_min = np.inf
        while i <= j:
            v = x[best_feature, samples[i]]
            if xb[best_feature, samples[i]] <= best_bin:
                left_max = max(left_max, v)
                i += 1
            else:
                right_min = min(right_min, v)
                samples[i], samples[j] = samples[j], samples[i]
                weights[i], weights[j] = weights[j], weights[i]
                j -= 1
        feature[node] = best_feature
        threshold[node] = (np.float64(left_max) + np.float64(right_min)) / 2
        child[node] = n_nodes
        # Weighted Gini decrease: best_score - sum(total^2) / w_node.
        importance[best_feature] += best_score - (total * total).sum() / w_node
        start[n_nodes] = s
        stop[n_nodes] = i
        start[n_nodes + 1] = i
        stop[n_nodes + 1] = e
        depth[n_nodes] = depth[n_nodes + 1] = depth[node] + 1
        n_nodes += 2
        node += 1
    return n_nodes


@njit(parallel=True, cache=True, nogil=True)
def _grow_forest(
    xb,
    x,
    y,
    class_weight,
    n_draws,
    max_depth,
    n_candidates,
    seeds,
    feature,
    threshold,
    child,
    value,
    importance,
    n_nodes,
):  # pragma: no cover - numba
    for t in prange(seeds.size):
        n_nodes[t] = _grow(
            xb,
            x,
            y,
            class_weight,
            n_draws,
            max_depth,
            n_candidates,
            seeds[t],
            feature[t],
            threshold[t],
            child[t],
            value[t],
            importance[t],
        )


def fit_forest(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_estimators: int,
    max_depth: int | None,
    class_weight: str | None,
    max_samples: int | None,
    random_state: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Train a random forest on rows `x` (n_samples, n_features) with labels `y`.

    Returns
    -------
    classes : numpy.ndarray
        The sorted distinct labels; leaf values are fractions in this order.
    forest : dict of str to numpy.ndarray
        ``feature`` (int32, -1 for leaves), ``threshold`` (float32), ``child`` (int32, left
        child, -1 for leaves), ``leaf`` (float32 class fractions per node), ``roots`` (int32
        first node of each tree) and ``importances`` (float64, summing to 1).
    """
    from ._numba import LAUNCH

    classes, y_index = np.unique(y, return_inverse=True)
    n, n_features = x.shape
    if class_weight == "balanced":
        weight = n / (classes.size * np.bincount(y_index).astype(np.float64))
    else:
        weight = np.ones(classes.size)
    xt = np.ascontiguousarray(x.T, dtype=np.float32)
    n_draws = n if max_samples is None else min(int(max_samples), n)
    depth = max_depth if max_depth is not None else np.iinfo(np.int64).max
    capacity = 2 * min(n, n_draws) - 1
    if max_depth is not None and max_depth < 62:
        capacity = min(capacity, 2 ** (max_depth + 1) - 1)
    seeds = np.random.default_rng(random_state).integers(0, 2**63, n_estimators, np.uint64)
    # Node arrays are sized for the largest possible tree; deep trees on many pixels are
    # grown a few at a time so that this stays within _NODE_BUDGET bytes.
    per_tree = capacity * (4 + 8 + 4 + 4 * classes.size)
    batch = int(max(1, min(n_estimators, _NODE_BUDGET // per_tree)))
    importance = np.zeros((n_estimators, n_features))
    parts: dict[str, list[np.ndarray]] = {"feature": [], "threshold": [], "child": [], "leaf": []}
    n_nodes = np.empty(n_estimators, np.int64)
    offset = 0
    with LAUNCH:
        xb = binned(xt, bin_edges(xt))
        for first in range(0, n_estimators, batch):
            trees = slice(first, min(first + batch, n_estimators))
            shape = (trees.stop - trees.start, capacity)
            feature = np.empty(shape, np.int32)
            threshold = np.empty(shape, np.float64)
            child = np.empty(shape, np.int32)
            value = np.empty((*shape, classes.size), np.float32)
            _grow_forest(
                xb,
                xt,
                y_index.astype(np.int64),
                weight,
                n_draws,
                depth,
                max(1, int(np.sqrt(n_features))),
                seeds[trees],
                feature,
                threshold,
                child,
                value,
                importance[trees],
                n_nodes[trees],
            )
            for t, count in enumerate(n_nodes[trees]):
                kid = child[t, :count]
                parts["feature"].append(feature[t, :count])
                parts["threshold"].append(threshold[t, :count])
                parts["child"].append(np.where(kid >= 0, kid + offset, -1))
                parts["leaf"].append(value[t, :count])
                offset += count

    return classes, _joined(parts, n_nodes, importance)


def _joined(
    parts: dict[str, list[np.ndarray]], n_nodes: np.ndarray, importance: np.ndarray
) -> dict[str, np.ndarray]:
    """The trees' node arrays one after the other, and the mean normalised importances."""
    totals = importance.sum(axis=1, keepdims=True)
    per_tree = np.divide(importance, totals, out=np.zeros_like(importance), where=totals > 0)
    importances = per_tree.mean(axis=0)
    if importances.sum() > 0:
        importances /= importances.sum()
    return {
        "feature": np.concatenate(parts["feature"]),
        "threshold": float32_at_most(np.concatenate(parts["threshold"])),
        "child": np.concatenate(parts["child"]).astype(np.int32),
        "leaf": np.concatenate(parts["leaf"]),
        "roots": np.concatenate([[0], np.cumsum(n_nodes)[:-1]]).astype(np.int32),
        "importances": importances,
    }
