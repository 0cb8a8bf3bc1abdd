"""Speed of SegLab's metrics against scipy / scikit-learn / scikit-image called directly.

Run from the repository root (not part of the test suite)::

    python benchmarks/bench_metrics.py           # 2048^2 with ~5 000 objects, 64 x 1024^2
    python benchmarks/bench_metrics.py --quick   # 1024^2 with ~1 250 objects, 16 x 512^2
    python benchmarks/bench_metrics.py --only 2D # the measurements whose name has "2D"

Each pair (SegLab, reference) runs in the same process, alternating, ``--repeats`` times; the
table gives the median seconds of each and their ratio, and the load average at the start.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy import ndimage as ndi


def nuclei(size: int, cell: int = 29, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Instance labels: one disc (radius 6 to 11) per cell of a grid; the prediction is the
    truth shifted by (1, 2) pixels with one disc in 20 dropped."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    centres = np.arange(cell // 2, size - cell // 2, cell)
    truth = np.zeros((size, size), np.int32)
    label = 0
    for cy in centres:
        for cx in centres:
            label += 1
            r = rng.integers(6, 12)
            y0, x0 = max(cy - r, 0), max(cx - r, 0)
            win = (slice(y0, cy + r + 1), slice(x0, cx + r + 1))
            disc = (yy[win] - cy) ** 2 + (xx[win] - cx) ** 2 <= r * r
            truth[win][disc] = label
    pred = np.roll(truth, (1, 2), axis=(0, 1))
    dropped = rng.random(label + 1) < 0.05
    dropped[0] = False
    pred[dropped[pred]] = 0
    return pred, truth


def volume(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed noise above a level (blobs), and the same shifted by one plane and pixel."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(tuple(s // 4 for s in shape)).astype(np.float32)
    truth = ndi.zoom(ndi.gaussian_filter(noise, 2), 4, order=1) > 0.05
    return np.roll(truth, (1, 1), axis=(0, 1)), truth


def direct_confusion(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.bincount(truth.ravel().astype(np.intp) * 2 + pred.ravel(), minlength=4)


def direct_matching(pred: np.ndarray, truth: np.ndarray) -> list[int]:
    """A dense IoU matrix, one scipy assignment maximising the IoU, TP counted per threshold."""
    from scipy.optimize import linear_sum_assignment

    n_t, n_p = int(truth.max()), int(pred.max())
    both = np.bincount(
        truth.ravel().astype(np.int64) * (n_p + 1) + pred.ravel(), minlength=(n_t + 1) * (n_p + 1)
    )
    overlap = both.reshape(n_t + 1, n_p + 1)[1:, 1:].astype(float)
    area_t = np.bincount(truth.ravel(), minlength=n_t + 1)[1:]
    area_p = np.bincount(pred.ravel(), minlength=n_p + 1)[1:]
    union = area_t[:, None] + area_p[None, :] - overlap
    iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    rows, cols = linear_sum_assignment(-iou)
    matched = iou[rows, cols]
    return [int((matched >= t).sum()) for t in np.arange(0.5, 0.951, 0.05)]


def direct_surface(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Boundaries (foreground minus its erosion), EDT of each complement, HD95 and ASSD."""
    edges = [m & ~ndi.binary_erosion(m) for m in (pred, truth)]
    d_pt = ndi.distance_transform_edt(~edges[1])[edges[0]]
    d_tp = ndi.distance_transform_edt(~edges[0])[edges[1]]
    both = np.concatenate([d_pt, d_tp])
    return float(np.percentile(both, 95)), float(both.mean())


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def pair(name: str, ours, reference, repeats: int) -> tuple[str, float, float]:
    """Alternating runs of both; medians."""
    a, b = [], []
    for _ in range(repeats):
        a.append(timed(ours, 1))
        b.append(timed(reference, 1))
    return name, float(np.median(a)), float(np.median(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="only the measurements whose name has this")
    args = parser.parse_args()
    from skimage.metrics import hausdorff_distance

    from napari_seglab import boundary_scores, evaluate, score_instances

    size, shape = (1024, (16, 512, 512)) if args.quick else (2048, (64, 1024, 1024))
    pred, truth = nuclei(size)
    pm, tm = pred > 0, truth > 0
    vp, vt = volume(shape)
    r = args.repeats
    print(
        f"load average {os.getloadavg()[0]:.2f}; {size}^2 with {truth.max()} objects, "
        f"volume {shape}, median of {r}"
    )
    print("| measurement | SegLab s | reference s | ratio |", flush=True)
    print("|---|---:|---:|---:|", flush=True)
    cases = [
        (
            "2D pixel counts: evaluate vs numpy bincount",
            lambda: evaluate(pm, tm, objects=False),
            lambda: direct_confusion(pm, tm),
        ),
        (
            "2D instances: score_instances vs dense IoU + linear_sum_assignment",
            lambda: score_instances(pred, truth),
            lambda: direct_matching(pred, truth),
        ),
        (
            "2D boundary_scores (all) vs skimage hausdorff_distance",
            lambda: boundary_scores(pm, tm),
            lambda: hausdorff_distance(pm, tm),
        ),
        (
            "2D boundary_scores (all) vs direct EDT HD95 + ASSD",
            lambda: boundary_scores(pm, tm),
            lambda: direct_surface(pm, tm),
        ),
        (
            "3D pixel counts: evaluate vs numpy bincount",
            lambda: evaluate(vp, vt, objects=False),
            lambda: direct_confusion(vp, vt),
        ),
        (
            "3D boundary_scores (all) vs direct EDT HD95 + ASSD",
            lambda: boundary_scores(vp, vt),
            lambda: direct_surface(vp, vt),
        ),
    ]
    if args.only:
        cases = [case for case in cases if args.only in case[0]]
    for case in cases:  # each row printed as soon as measured
        name, ours, ref = pair(*case, r)
        print(f"| {name} | {ours:.3f} | {ref:.3f} | {ours / ref:.2f} |", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
