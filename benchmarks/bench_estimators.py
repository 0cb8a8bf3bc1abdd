"""SegLab's forest against scikit-learn estimators in ``PixelClassifier(estimator=...)``.

    python benchmarks/bench_estimators.py            # 5 alternating runs (a few minutes)
    python benchmarks/bench_estimators.py --runs 1   # one run, for development
    python benchmarks/bench_estimators.py --write    # also write the table to README.md

One image of each ``../shared/data`` set (the first of its ``pairs.json``), cropped to at most
``--crop`` pixels a side, with the same strokes for every estimator: disks revealing the
ground truth, 12 well inside each class and 24 on object outlines (seeded). Every estimator
learns from the same features (SegLab's defaults: intensity, edges and Hessian eigenvalues at
scales 1, 2, 4, 8) of the same painted pixels; its settings are those the widget offers by
default. *fit* is ``PixelClassifier.fit`` (features of the painted pixels + the estimator),
*predict* is ``PixelClassifier.predict`` of the whole image (features + estimator), F1 is
the pixel F1 of the foreground class against the ground truth over the whole image. Runs
alternate: in each run every estimator does every image once, in the order below; the table
gives medians and min-max over runs, and the time relative to SegLab's forest (median of the
per-run ratios). numba and scikit-learn (``n_jobs=-1``) both use every core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from scipy import ndimage as ndi

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = {
    "KESM vessels": "kesm-vessels",
    "U2OS nuclei": "bbbc039_u2os_nuclei",
    "DSB fluo nuclei": "dsb2018_fluo_nuclei",
    "DSB H&E nuclei": "dsb2018_he_histology_nuclei",
}


def estimators() -> dict[str, tuple[object | None, str]]:
    """The estimators compared, with the settings the widget offers by default."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    trees = {"n_estimators": 50, "max_depth": 10, "class_weight": "balanced", "n_jobs": -1}
    return {
        "SegLab forest": (None, "50 trees, depth 10, balanced, max_samples 10 000"),
        "Extra trees": (
            ExtraTreesClassifier(**trees, random_state=0),
            "ExtraTreesClassifier, 50 trees, depth 10, balanced, all painted pixels",
        ),
        "Random forest": (
            RandomForestClassifier(**trees, random_state=0),
            "RandomForestClassifier, 50 trees, depth 10, balanced, bootstrap of all pixels",
        ),
        "Hist. gradient boosting": (
            HistGradientBoostingClassifier(
                learning_rate=0.1, max_iter=100, class_weight="balanced", random_state=0
            ),
            "HistGradientBoostingClassifier, 100 iterations, learning rate 0.1, balanced",
        ),
        "Logistic regression": (
            make_pipeline(
                StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
            ),
            "StandardScaler + LogisticRegression, C 1, balanced",
        ),
    }


def strokes_for(truth: np.ndarray, *, inside: int = 12, boundary: int = 24, seed: int = 0):
    """Disks revealing the truth: `inside` (radius 3) deep in each class, `boundary` (radius 5)
    on outlines; 1 = background, 2 = foreground."""
    rng = np.random.default_rng(seed)
    strokes = np.zeros(truth.shape, np.uint8)
    yy, xx = np.mgrid[: truth.shape[0], : truth.shape[1]]

    def disks(centres, count, radius):
        for y, x in centres[rng.choice(len(centres), min(count, len(centres)), replace=False)]:
            yield (yy - y) ** 2 + (xx - x) ** 2 <= radius**2

    for value, region in ((1, ~truth), (2, truth)):
        for disk in disks(np.argwhere(ndi.distance_transform_edt(region) > 4), inside, 3):
            strokes[disk] = value
    outline = np.argwhere(truth ^ ndi.binary_erosion(truth))
    for disk in disks(outline, boundary, 5):
        strokes[disk] = truth[disk] + 1
    return strokes


def load(data: Path, folder: str, crop: int) -> tuple[np.ndarray, np.ndarray, int | None, bool]:
    """The first image of a set, its truth, its channel axis, and whether it was cropped."""
    pair = json.loads((data / folder / "pairs.json").read_text())["pairs"][0]
    whole = iio.imread(data / folder / pair["image"])
    image = whole[:crop, :crop]
    truth = iio.imread(data / folder / pair["mask"])[:crop, :crop] > 0
    channel_axis = -1 if image.ndim == 3 else None
    if channel_axis is not None:
        image = image[..., :3]
    return image, truth, channel_axis, image.shape[:2] != whole.shape[:2]


def measure(estimator, image, truth, strokes, channel_axis) -> dict[str, float]:
    from napari_seglab import PixelClassifier, evaluate

    clf = PixelClassifier(estimator=estimator)
    start = time.perf_counter()
    clf.fit(image, strokes, channel_axis=channel_axis)
    fitted = time.perf_counter()
    labels = clf.predict(image, channel_axis=channel_axis)
    done = time.perf_counter()
    f1 = float(evaluate(labels == 2, truth).scores.f1)
    return {"fit": fitted - start, "predict": done - fitted, "total": done - start, "f1": f1}


def _spread(values: list[float], fmt: str) -> str:
    from _readme import spread

    if len(values) == 1:
        return format(values[0], fmt)
    return spread(values, fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="alternating runs (default 5)")
    parser.add_argument("--crop", type=int, default=1024, help="largest side kept (default 1024)")
    parser.add_argument(
        "--data", type=Path, default=DATA, help=f"the shared data (default {DATA})"
    )
    parser.add_argument("--write", action="store_true", help="write the table to README.md")
    options = parser.parse_args()

    import numba

    from napari_seglab.core.classifier import warm_up

    warm_up()
    chosen = estimators()
    images, cropped = {}, []
    for name, folder in SETS.items():
        image, truth, channel_axis, cut = load(options.data, folder, options.crop)
        images[name] = (image, truth, strokes_for(truth), channel_axis)
        cropped += [name] if cut else []
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: dict[tuple[str, str], list[dict]] = {}
    for run in range(options.runs):
        for image_name, (image, truth, strokes, axis) in images.items():
            for est_name, (estimator, _) in chosen.items():
                result = measure(estimator, image, truth, strokes, axis)
                results.setdefault((image_name, est_name), []).append(result)
                print(
                    f"run {run + 1} {image_name:16s} {est_name:24s} fit {result['fit']:.3f} s "
                    f"predict {result['predict']:.3f} s F1 {result['f1']:.3f}",
                    flush=True,
                )
    load_after = os.getloadavg()

    rows = [
        "| image (size, painted) | estimator | F1 | fit | predict | fit + predict | "
        "vs SegLab forest |",
        "|---|---|---|---|---|---|---|",
    ]
    for image_name, (image, _, strokes, _) in images.items():
        size = f"{image.shape[0]}x{image.shape[1]}{'x3' if image.ndim == 3 else ''}"
        base = [r["total"] for r in results[(image_name, "SegLab forest")]]
        for est_name in chosen:
            runs = results[(image_name, est_name)]
            ratios = [r["total"] / b for r, b in zip(runs, base, strict=True)]
            where = f"{image_name} ({size}, {(strokes > 0).mean():.1%})"
            rows.append(
                f"| {where} | {est_name} | {statistics.median(r['f1'] for r in runs):.3f} | "
                f"{_spread([r['fit'] for r in runs], '.2f')} s | "
                f"{_spread([r['predict'] for r in runs], '.2f')} s | "
                f"{_spread([r['total'] for r in runs], '.2f')} s | "
                f"{statistics.median(ratios):.1f}x |"
            )
    settings = "; ".join(f"{name}: {text}" for name, (_, text) in chosen.items())
    from _readme import machine, publish

    header = (
        f"Run {started} with `python benchmarks/bench_estimators.py --runs {options.runs} "
        f"--crop {options.crop}` on {machine()}, {numba.get_num_threads()} numba threads, "
        f"scikit-learn `n_jobs=-1`. Load average before / after: {load_before[0]:.1f} / "
        f"{load_after[0]:.1f}. The first image of each set, cropped to at most {options.crop} "
        f"pixels a side ({'cropped: ' + ', '.join(cropped) if cropped else 'none was cropped'}"
        f"). Times: median (min-max) of "
        f"{options.runs} alternating runs. Settings: {settings}."
    )
    table = "\n".join(rows)
    publish("estimators-benchmark", header, table, options.write)


if __name__ == "__main__":
    main()
