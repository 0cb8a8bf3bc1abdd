"""SegLab's pixel classifier against scikit-image's trainable segmentation, in one run.

    python benchmarks/bench_classifier.py           # full sizes (~40 min on 2 busy CPUs, 9 GiB)
    python benchmarks/bench_classifier.py --quick   # small sizes, for development
    python benchmarks/bench_classifier.py --write   # also write the table to README.md

Every measurement runs in a fresh subprocess, so peak memory is measured in isolation:
"extra memory" is the peak resident set size (``VmHWM``, reset through
``/proc/self/clear_refs``) minus the resident size once the image, strokes, imports and
compiled kernels are ready. The 2D and 3D comparisons alternate the libraries ``--runs``
times (5 by default) and report medians and ranges.

Tasks:

* **2D end to end**: a synthetic image with a known truth (blobs on a textured, shaded, noisy
  background), ~2 % of its pixels painted (disks revealing the truth). Features: intensity,
  edges, Hessian eigenvalues at scales 0.5, 1, 2, 4, 8, 16 (scikit-image's
  ``multiscale_basic_features`` defaults); forests: 50 trees, depth 10, ``sqrt`` of the
  features tried at each split, balanced classes, seed 0, on all threads. SegLab grows each
  tree on a bootstrap of at most ``max_samples=10_000`` painted pixels; the scikit-image
  rows use ``multiscale_basic_features`` + ``fit_segmenter`` / ``predict_segmenter`` with
  scikit-learn's ``RandomForestClassifier`` and ``ExtraTreesClassifier`` (``bootstrap=True``)
  with the same cap, and the uncapped ``RandomForestClassifier`` (all painted pixels in
  each tree's bootstrap) for reference. SegLab's times: *features* = features of the
  painted pixels, *fit* = forest, *predict* = features + forest over the whole image
  (labels, like ``predict_segmenter``).
* **Fit on the same rows**: the four forests above fitted on SegLab's training rows.
* **Feature step**: ``compute_features`` of the whole image against
  ``multiscale_basic_features`` with the same scales and families (2D, and 3D on a
  32 x 512 x 512 stack in mode "3d").
* **Training scaling**: the same strokes on a small and a 16x larger image.
* **Live update**: a stroke is added, the classifier retrained (features of the new pixels
  only) and the 2D plane's labels previewed on a grid of at most 2^20 pixels from features
  kept since the first update, as the widget shows them; median over strokes. Also the first
  update on a plane, and the refinement of the plane to full resolution that follows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIGMAS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


# --- measuring ----------------------------------------------------------------------------------


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


class Memory:
    """Peak resident memory above a baseline taken when the measurement starts."""

    def __init__(self) -> None:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.baseline = _status("VmRSS")

    def peak_extra(self) -> int:
        return _status("VmHWM") - self.baseline


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


# --- the synthetic task ---------------------------------------------------------------------


def _squared_distance(box: tuple[slice, ...], centre: np.ndarray) -> np.ndarray:
    """Squared distance of each pixel of `box` to `centre`."""
    total = np.zeros((1,) * len(box))
    for axis, (sl, c) in enumerate(zip(box, centre, strict=True)):
        shape = [1] * len(box)
        shape[axis] = sl.stop - sl.start
        total = total + ((np.arange(sl.start, sl.stop) - c) ** 2).reshape(shape)
    return total


def make_image(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Blobs (the truth) on a textured, shaded, noisy background; uint8 image, 0/1 truth."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, bool)
    n_blobs = int(np.prod(shape) / 2500)
    centres = rng.uniform(0, 1, (n_blobs, len(shape))) * np.array(shape)
    radii = rng.uniform(6, 18, n_blobs)
    for centre, radius in zip(centres, radii, strict=True):
        box = tuple(
            slice(int(max(0, c - radius - 1)), int(min(n, c + radius + 2)))
            for c, n in zip(centre, shape, strict=True)
        )
        truth[box] |= _squared_distance(box, centre) <= radius**2
    texture = ndi.gaussian_filter(rng.normal(0, 1, shape), 3) * 25
    shading = np.linspace(0, 30, shape[-1])
    image = 80 + shading + texture + ndi.gaussian_filter(truth * 50.0, 2)
    image += rng.normal(0, 12, shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth.astype(np.uint8)


def make_strokes(truth: np.ndarray, fraction: float, seed: int = 1, radius: int = 8):
    """Disks revealing the truth (1 = background, 2 = foreground) on ~`fraction` of pixels."""
    rng = np.random.default_rng(seed)
    strokes = np.zeros(truth.shape, np.uint8)
    area = np.pi * radius**2
    n_disks = max(2, round(fraction * truth.size / area))
    for centre in rng.uniform(0, 1, (n_disks, truth.ndim)) * np.array(truth.shape):
        box = tuple(
            slice(int(max(0, c - radius)), int(min(n, c + radius + 1)))
            for c, n in zip(centre, truth.shape, strict=True)
        )
        disk = _squared_distance(box, centre) <= radius**2
        strokes[box][disk] = truth[box][disk] + 1
    return strokes


def _f1(labels: np.ndarray, truth: np.ndarray) -> float:
    from napari_seglab.core import evaluate

    return float(evaluate(labels == 2, truth).scores.f1)


# --- tasks (each runs in its own process) ----------------------------------------------------


MAX_SAMPLES = 10_000
FOREST = {"n_estimators": 50, "max_depth": 10, "class_weight": "balanced", "random_state": 0}
MODELS = ("rf_capped", "et_capped", "rf")
MODEL_LABELS = {
    "seglab": f"SegLab's forest, `max_samples={MAX_SAMPLES:_}`",
    "rf_capped": f"`RandomForestClassifier(max_samples={MAX_SAMPLES:_})`",
    "et_capped": f"`ExtraTreesClassifier(bootstrap=True, max_samples={MAX_SAMPLES:_})`",
    "rf": "`RandomForestClassifier()` (uncapped: every tree sees all painted pixels)",
}


def _sklearn_forest(model: str):
    """scikit-learn's forest `model`, with SegLab's settings (and all threads)."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    common = dict(FOREST, max_features="sqrt", n_jobs=-1)
    if model == "rf":
        return RandomForestClassifier(**common)
    if model == "rf_capped":
        return RandomForestClassifier(max_samples=MAX_SAMPLES, **common)
    return ExtraTreesClassifier(bootstrap=True, max_samples=MAX_SAMPLES, **common)


def task_skimage_2d(size: int, model: str) -> dict:
    from skimage.feature import multiscale_basic_features
    from skimage.future import fit_segmenter, predict_segmenter

    image, truth = make_image((size, size))
    strokes = make_strokes(truth, 0.02)
    memory = Memory()
    features, t_features = _timed(
        multiscale_basic_features, image, sigma_min=SIGMAS[0], sigma_max=SIGMAS[-1]
    )
    clf, t_fit = _timed(fit_segmenter, strokes, features, _sklearn_forest(model))
    labels, t_predict = _timed(predict_segmenter, features, clf)
    return {
        "features": t_features,
        "fit": t_fit,
        "predict": t_predict,
        "total": t_features + t_fit + t_predict,
        "memory": memory.peak_extra(),
        "f1": _f1(labels, truth),
        "painted": float((strokes > 0).mean()),
        "n_features": features.shape[-1],
        "dtype": str(features.dtype),
    }


def task_fits(size: int) -> dict:
    """Each forest fitted on the same rows: SegLab's training features of the strokes."""
    image, truth = make_image((size, size))
    strokes = make_strokes(truth, 0.02)
    _warm_up()
    clf = _seglab_classifier()
    x, y, n_channels = clf._training_arrays(image, strokes, channel_axis=None)
    times = {"seglab": _timed(clf._fit_arrays, x, y, n_channels)[1]}
    for model in MODELS:
        times[model] = _timed(_sklearn_forest(model).fit, x, y)[1]
    times["rows"] = list(x.shape)
    return times


def _seglab_classifier():
    from napari_seglab import FeatureSettings, PixelClassifier

    settings = FeatureSettings(sigmas=SIGMAS, intensity=True, edges=True, hessian=True)
    return PixelClassifier(
        settings,
        n_estimators=FOREST["n_estimators"],
        max_depth=FOREST["max_depth"],
        class_weight=FOREST["class_weight"],
        random_state=FOREST["random_state"],
        max_samples=MAX_SAMPLES,
    )


def _warm_up() -> None:
    """Load the compiled kernels (numba caches them on disk) outside the measurements."""
    image, truth = make_image((96, 96), seed=9)
    strokes = make_strokes(truth, 0.2, seed=9, radius=4)
    _seglab_classifier().fit(image, strokes).segment(image)


def task_seglab_2d(size: int) -> dict:
    from napari_seglab import compute_features

    image, truth = make_image((size, size))
    strokes = make_strokes(truth, 0.02)
    _warm_up()
    clf = _seglab_classifier()
    memory = Memory()
    (x, y, n_channels), t_features = _timed(
        clf._training_arrays, image, strokes, channel_axis=None
    )
    _, t_fit = _timed(clf._fit_arrays, x, y, n_channels)
    del x, y
    labels, t_predict = _timed(clf.predict, image)
    peak = memory.peak_extra()
    segmentation, t_segment = _timed(clf.segment, image)
    assert np.array_equal(segmentation.labels, labels)
    _, t_whole = _timed(compute_features, image, clf.features)
    return {
        "whole_features": t_whole,
        "features": t_features,
        "fit": t_fit,
        "predict": t_predict,
        "total": t_features + t_fit + t_predict,
        "segment": t_segment,
        "memory": peak,
        "f1": _f1(labels, truth),
    }


def task_scaling(small: int, large: int) -> dict:
    """Training time with the same strokes on a small and a large image."""
    image_small, truth = make_image((small, small))
    strokes_small = make_strokes(truth, 0.02)
    image_large, _ = make_image((large, large), seed=3)
    image_large[:small, :small] = image_small
    strokes_large = np.zeros(image_large.shape, np.uint8)
    strokes_large[:small, :small] = strokes_small
    _warm_up()
    times = {}
    for name, image, strokes in (
        ("small", image_small, strokes_small),
        ("large", image_large, strokes_large),
    ):
        runs = [_timed(_seglab_classifier().fit, image, strokes)[1] for _ in range(3)]
        times[name] = statistics.median(runs)
    return times


def task_live(size: int, n_strokes: int) -> dict:
    """Add strokes one by one, as the widget's live update handles them.

    Each stroke retrains the classifier (features computed only for newly painted pixels)
    and previews the plane's labels from the features kept since the first update (the
    widget then refines the plane, with probabilities and uncertainty, to full resolution,
    which a new stroke cancels). Latency = stroke to preview; the first update also computes
    the kept features.
    """
    from napari_seglab import PlanePreview, TrainingCache

    image, truth = make_image((size, size))
    strokes = make_strokes(truth, 0.005)
    extra = make_strokes(truth, 0.0002 * n_strokes, seed=7, radius=6)
    _warm_up()
    clf = _seglab_classifier()
    cache = TrainingCache()
    t0 = time.perf_counter()
    clf.fit(image, strokes, cache=cache)
    preview = PlanePreview(image, clf.features, max_pixels=2**20)  # the widget's budget
    preview.predict(clf)
    first = time.perf_counter() - t0
    latencies = []
    for label in np.unique(extra)[1:]:
        ys, xs = np.nonzero(extra == label)
        for start in range(0, ys.size, max(1, ys.size // n_strokes)):
            part = slice(start, start + max(1, ys.size // n_strokes))
            strokes[ys[part], xs[part]] = label
            t0 = time.perf_counter()
            clf.fit(image, strokes, cache=cache)
            preview.predict(clf)
            latencies.append(time.perf_counter() - t0)
            if len(latencies) >= n_strokes:
                break
    _, refine = _timed(clf.segment, image)
    return {
        "median": statistics.median(latencies),
        "runs": latencies,
        "first": first,
        "refine": refine,
        "step": preview.step,
    }


def task_skimage_3d(shape: tuple[int, ...]) -> dict:
    from skimage.feature import multiscale_basic_features

    volume, _ = make_image(shape)
    memory = Memory()
    features, seconds = _timed(
        multiscale_basic_features, volume, sigma_min=SIGMAS[0], sigma_max=SIGMAS[-1]
    )
    return {"time": seconds, "memory": memory.peak_extra(), "n_features": features.shape[-1]}


def task_seglab_3d(shape: tuple[int, ...]) -> dict:
    from napari_seglab import FeatureSettings, compute_features

    volume, _ = make_image(shape)
    settings = FeatureSettings(sigmas=SIGMAS, mode="3d")
    compute_features(volume[:8, :40, :40], settings)
    memory = Memory()
    features, seconds = _timed(compute_features, volume, settings)
    return {"time": seconds, "memory": memory.peak_extra(), "n_features": features.shape[-1]}


TASKS = {
    "skimage_2d": task_skimage_2d,
    "seglab_2d": task_seglab_2d,
    "fits": task_fits,
    "scaling": task_scaling,
    "live": task_live,
    "skimage_3d": task_skimage_3d,
    "seglab_3d": task_seglab_3d,
}


def run_task(name: str, *args) -> dict:
    """Run one task in a fresh Python process and return its JSON result."""
    env = dict(os.environ)
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--task", name, json.dumps(args)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report ----------------------------------------------------------------------------------


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.0f} MiB"


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _spread(runs: list[dict], key: str, digits: int = 2) -> str:
    """Median and range of `key` over `runs`, in seconds."""
    from _readme import spread

    return spread((r[key] for r in runs), f".{digits}f", " s")


def _faster(reference: float, ours: float) -> str:
    return f"**{reference / ours:.1f}x**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (development)")
    parser.add_argument("--runs", type=int, help="alternating runs (default 5; 2 with --quick)")
    parser.add_argument("--write", action="store_true", help="write the table to README.md")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.task:
        print(json.dumps(TASKS[options.task](*json.loads(options.args))))
        return

    size, small, large, live_size, n_strokes = (
        (512, 256, 1024, 512, 3) if options.quick else (2048, 1024, 4096, 2048, 7)
    )
    shape3d = (16, 128, 128) if options.quick else (32, 512, 512)
    n_runs = options.runs or (2 if options.quick else 5)
    load = {"before": os.getloadavg()}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    def step(message, *call):
        print(f"... {message}", file=sys.stderr, flush=True)
        return run_task(*call)

    # Alternating runs: on a shared machine, one run of each can land in different load.
    e2e = {who: [] for who in ("seglab", *MODELS)}
    fits = []
    for round_ in range(n_runs):
        tag = f"{size}^2 ({round_ + 1}/{n_runs})"
        e2e["seglab"].append(step(f"SegLab 2D {tag}", "seglab_2d", size))
        for model in MODELS:
            e2e[model].append(step(f"scikit-image + {model} 2D {tag}", "skimage_2d", size, model))
        fits.append(step(f"fits on the same rows {tag}", "fits", size))
    load["2d"] = os.getloadavg()
    d3: dict[str, list[dict]] = {"skimage": [], "seglab": []}
    for round_ in range(n_runs):
        tag = f"{shape3d} ({round_ + 1}/{n_runs})"
        d3["skimage"].append(step(f"scikit-image 3D {tag}", "skimage_3d", shape3d))
        d3["seglab"].append(step(f"SegLab 3D {tag}", "seglab_3d", shape3d))
    load["3d"] = os.getloadavg()
    scaling = step(f"training scaling {small}^2 vs {large}^2", "scaling", small, large)
    live = step(f"live update {live_size}^2", "live", live_size, n_strokes)
    load["after"] = os.getloadavg()

    sl, voxels = e2e["seglab"], int(np.prod(shape3d))
    best = min(("rf_capped", "et_capped"), key=lambda m: _median(e2e[m], "total"))
    n_rows, n_cols = fits[0]["rows"]
    total = _median(sl, "total")
    rows = [
        f"**Headline: SegLab end to end {_median(e2e[best], 'total') / total:.1f}x"
        f" faster than the fastest like-for-like scikit-image pipeline "
        f"(`multiscale_basic_features` + {MODEL_LABELS[best]}); "
        f"{_median(e2e['rf'], 'total') / total:.1f}x faster than "
        "scikit-image with the uncapped random forest.**",
        "",
        f"| 2D {size}², end to end (features + fit + predict) | features | fit | predict | "
        "**total** | SegLab faster by | F1 vs truth | peak extra memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for who in ("seglab", *MODELS):
        runs = e2e[who]
        label = MODEL_LABELS[who]
        if who == "seglab":
            label += " (features of the painted pixels only for training)"
        else:
            label = "scikit-image + " + label
        ratio = "" if who == "seglab" else _faster(_median(runs, "total"), _median(sl, "total"))
        rows.append(
            f"| {label} | {_spread(runs, 'features')} | {_spread(runs, 'fit')} | "
            f"{_spread(runs, 'predict')} | **{_spread(runs, 'total')}** | {ratio} | "
            f"{_median(runs, 'f1'):.4f} | {_mib(_median(runs, 'memory'))} |"
        )
    rows += [
        "",
        f"| fit only, on the same {n_rows:_} x {n_cols} training rows (SegLab's features of "
        "the painted pixels) | time | SegLab faster by |",
        "|---|---|---|",
    ]
    for who in ("seglab", *MODELS):
        ratio = "" if who == "seglab" else _faster(_median(fits, who), _median(fits, "seglab"))
        rows.append(f"| {MODEL_LABELS[who]} | {_spread(fits, who)} | {ratio} |")
    sk_e2e = e2e["rf"]
    rows += [
        "",
        "| feature step, the same scales and families | scikit-image "
        "`multiscale_basic_features` | SegLab `compute_features` | SegLab faster by |",
        "|---|---|---|---|",
        f"| 2D {size}², whole image ({sk_e2e[0]['n_features']} features) | "
        f"{_spread(sk_e2e, 'features')} | {_spread(sl, 'whole_features')} | "
        f"{_faster(_median(sk_e2e, 'features'), _median(sl, 'whole_features'))} |",
        f"| 2D {size}², SegLab's training: only around the painted pixels | | "
        f"{_spread(sl, 'features')} | "
        f"{_faster(_median(sk_e2e, 'features'), _median(sl, 'features'))} |",
        f"| 3D {'x'.join(map(str, shape3d))}, mode 3d "
        f"({d3['seglab'][0]['n_features']} features) | "
        f"{_spread(d3['skimage'], 'time', 1)} | {_spread(d3['seglab'], 'time', 1)} | "
        f"{_faster(_median(d3['skimage'], 'time'), _median(d3['seglab'], 'time'))} |",
        f"| 3D peak extra memory per voxel | {_median(d3['skimage'], 'memory') / voxels:.0f} B | "
        f"{_median(d3['seglab'], 'memory') / voxels:.0f} B | "
        f"{_median(d3['skimage'], 'memory') / max(_median(d3['seglab'], 'memory'), 1):.1f}x "
        "less |",
        "",
        "| SegLab only (one run each) | time |",
        "|---|---|",
        f"| segment {size}² (labels + probabilities + uncertainty) | "
        f"{_median(sl, 'segment'):.2f} s (median of the {n_runs} runs) |",
        f"| training time, same strokes, {small}² vs {large}² | {scaling['small']:.2f} s vs "
        f"{scaling['large']:.2f} s (ratio {scaling['large'] / scaling['small']:.2f}) |",
        f"| live update {live_size}²: stroke → retrain → preview at 1/{live['step']} "
        f"resolution (median of {len(live['runs'])} strokes) | {live['median']:.2f} s |",
        f"| live update: first stroke on a plane (also keeps its features) | "
        f"{live['first']:.2f} s |",
        f"| live update: refinement to full resolution (cancelled by the next stroke) | "
        f"{live['refine']:.2f} s |",
    ]
    loads = " / ".join(f"{load[k][0]:.1f} ({k})" for k in ("before", "2d", "3d", "after"))
    from _readme import machine, publish, version

    header = (
        f"Run {started} with `python benchmarks/bench_classifier.py"
        f"{' --quick' if options.quick else ''}` on {machine()}, "
        f"scikit-learn {version('scikit-learn')}, scikit-image {version('scikit-image')}. "
        f"Load average (1 min): {loads}; the machine was shared with other jobs whenever "
        "the load exceeds the CPU count, so only ratios within this run mean anything, and a "
        f"quiet machine gives other absolute times. Threads: {os.cpu_count()} for every "
        "library (numba's default for SegLab, `n_jobs=-1` for scikit-learn, scikit-image's "
        "default thread pool for its features). Painted pixels: "
        f"{sl[0].get('painted', e2e['rf'][0]['painted']):.1%}. Every cell: median of {n_runs} "
        "alternating runs, range in brackets, each in a fresh process. All forests: "
        f"{FOREST['n_estimators']} trees, depth {FOREST['max_depth']}, `max_features='sqrt'`, "
        f"`class_weight='balanced'`, seed {FOREST['random_state']}. Features: intensity, "
        f"edges, Hessian eigenvalues at scales {', '.join(f'{s:g}' for s in SIGMAS)}; "
        f"feature type: scikit-image {e2e['rf'][0]['dtype']}, SegLab float32."
    )
    table = "\n".join(rows)
    publish("classifier-benchmark", header, table, options.write)


if __name__ == "__main__":
    main()
