"""Strokes to a good result: a simulated user corrects each method, stroke by stroke.

    python benchmarks/bench_interactive.py                    # ../shared/data, 2 images each
    python benchmarks/bench_interactive.py DIR [DIR ...]      # any folders with a pairs.json
    python benchmarks/bench_interactive.py --images 6 --crop 0 --write

The simulated user is the same for every method, seeded and reproducible. It starts with 2
short strokes per class (background, foreground) inside the ground truth; after each training
it adds one corrective stroke, a short line 2 pixels wide inside the largest wrongly classified
region (the deepest point of it), labelled with the true class, up to 40 strokes. The user of
"SegLab, suggestions" paints instead inside the first region that SegLab's
:func:`~napari_seglab.suggest_regions` proposes (its largest error there; the largest error
anywhere when a suggestion holds none).

Methods (each its own features, computed once per image and timed apart; a *round* is one
training plus the prediction of the whole image):

* ``skimage``: scikit-image's ``multiscale_basic_features`` (sigma 0.5 to 16) and
  ``fit_segmenter`` / ``predict_segmenter`` with a RandomForestClassifier (50 trees, depth 10).
* ``seglab``: :class:`~napari_seglab.PixelClassifier` with its defaults.
* ``seglab-suggest``: the same, the user painting where SegLab suggests.
* ``seglab-s...``: SegLab with other scales (e.g. ``seglab-s0.5-16``: 0.5, 1, 2, ..., 16).
* more name parts (any order, after the scales): ``log``, ``dog``, ``structure_tensor``,
  ``gabor`` (feature families on), ``basic`` (only intensity, edges and Hessian, before any
  family named after it), ``trees100`` (number of trees), ``depth16`` / ``depth0``
  (tree depth; 0: unlimited), ``noweight`` (no class weights), ``smooth1`` (a Gaussian of
  sigma 1 on each class probability map before the argmax), ``nogrey`` (an RGB image without
  the features of its luminance, which SegLab adds by default: ``luminance=False``, the
  default before), ``lab`` / ``hed`` (an RGB image as CIE Lab or haematoxylin-eosin-DAB
  channels instead of R, G, B, without a luminance: one of those channels would be
  meaningless), ``rf`` (scikit-learn's RandomForestClassifier with the same options instead
  of SegLab's forest, and then ``mf0.3``: its max_features, ``leaf3``: its min_samples_leaf),
  e.g. ``seglab-s0.5-16-log-dog``, ``seglab-nogrey-rf``.
* ``seglab-autocontext``: ilastik's auto-context: a second forest learns from the image and
  the first forest's foreground probability (both through SegLab's features).

Reported: F1 of the foreground after 5, 10, 20 and 40 strokes, and the strokes each method
needs to reach 80, 90 and 95 % of the *dense* F1: the best F1 any plain method (scikit-image,
SegLab at any scales, without other name parts) reaches when trained on 10 % of the pixels,
drawn at random. Per image and per dataset (means); ">40" counts as 41 in the means.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
STROKE_LENGTH = 12
CHECKPOINTS = (5, 10, 20, 40)
LEVELS = (0.80, 0.90, 0.95)
PLAIN = re.compile(r"skimage|seglab(-s[0-9.]+-[0-9.]+)?")  # the methods the dense F1 is from


# --- the simulated user ----------------------------------------------------------------------


def stroke_pixels(
    region: np.ndarray, centre: tuple[int, int], angle: float, length: int = STROKE_LENGTH
) -> tuple[np.ndarray, np.ndarray]:
    """A line 2 pixels wide through `centre` at `angle`, cut to the part inside `region`."""
    t = np.arange(-length / 2, length / 2 + 0.25, 0.5)
    ys = np.rint(centre[0] + t * np.sin(angle)).astype(int)
    xs = np.rint(centre[1] + t * np.cos(angle)).astype(int)
    ys, xs = np.concatenate([ys, ys + 1]), np.concatenate([xs, xs])
    inside = (ys >= 0) & (ys < region.shape[0]) & (xs >= 0) & (xs < region.shape[1])
    ys, xs = ys[inside], xs[inside]
    keep = region[ys, xs]
    if not keep[np.argmin(np.abs(ys - centre[0]) + np.abs(xs - centre[1]))]:
        return np.array([centre[0]]), np.array([centre[1]])
    return ys[keep], xs[keep]


def _deepest(region: np.ndarray) -> tuple[int, int]:
    """The pixel of `region` farthest from its outline (the first one on ties)."""
    depth = ndi.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    return tuple(int(i) for i in np.unravel_index(np.argmax(depth), depth.shape))


def _largest_error(errors: np.ndarray, truth: np.ndarray) -> np.ndarray | None:
    """The largest connected region of `errors` of a single true class (None if no error)."""
    best, best_size = None, 0
    for cls in (0, 1):
        regions, n = ndi.label(errors & (truth == cls), np.ones((3, 3)))
        if not n:
            continue
        sizes = np.bincount(regions.ravel())[1:]
        if sizes.max() > best_size:
            best, best_size = regions == np.argmax(sizes) + 1, int(sizes.max())
    return best


class SimulatedUser:
    """Paints class 1 (background) and 2 (foreground) strokes on a 0/1 `truth`, seeded."""

    def __init__(self, truth: np.ndarray, seed: int = 0) -> None:
        self.truth = truth.astype(bool)
        self.rng = np.random.default_rng(seed)
        self.strokes = np.zeros(truth.shape, np.uint8)
        self.n_strokes = 0

    def _paint(self, region: np.ndarray, centre: tuple[int, int], cls: int) -> None:
        ys, xs = stroke_pixels(region, centre, self.rng.uniform(0, np.pi))
        self.strokes[ys, xs] = cls + 1
        self.n_strokes += 1

    def start(self, per_class: int = 2) -> np.ndarray:
        """Two short strokes per class, at random well inside each class."""
        for cls in (0, 1):
            inside = self.truth == cls
            deep = ndi.distance_transform_edt(inside) >= 3
            pool = np.flatnonzero(deep if deep.any() else inside)
            for flat in self.rng.choice(pool, per_class, replace=pool.size < per_class):
                self._paint(inside, np.unravel_index(flat, inside.shape), cls)
        return self.strokes

    def correct(self, labels: np.ndarray, box: tuple[slice, ...] | None = None) -> bool:
        """One stroke in the largest error (inside `box` if it holds one); False if none."""
        errors = (labels == 2) != self.truth
        region = None
        if box is not None:
            inside = np.zeros_like(errors)
            inside[box] = errors[box]
            region = _largest_error(inside, self.truth)
        if region is None:
            region = _largest_error(errors, self.truth)
        if region is None:
            return False
        centre = _deepest(region)
        self._paint(region, centre, int(self.truth[centre]))
        return True


def f1_score(labels: np.ndarray, truth: np.ndarray) -> float:
    """F1 of foreground (class 2) against a 0/1 truth."""
    pred, truth = labels == 2, truth.astype(bool)
    tp = np.count_nonzero(pred & truth)
    denominator = np.count_nonzero(pred) + np.count_nonzero(truth)
    return 2 * tp / denominator if denominator else 1.0


# --- methods: prepare(image) once, then train_predict(strokes) per round ------------------------


def _sigmas(name: str) -> tuple[float, ...] | None:
    """``seglab-s0.5-16`` -> (0.5, 1, 2, 4, 8, 16); None without a scale suffix."""
    part = next((p for p in name.split("-s")[1:] if p[:1].isdigit()), None)
    if part is None:
        return None
    low, high = (float(v) for v in part.split("-")[:2])
    sigmas = [low]
    while sigmas[-1] * 2 <= high * 1.0001:
        sigmas.append(sigmas[-1] * 2)
    return tuple(sigmas)


FAMILIES = ("log", "dog", "structure_tensor", "gabor")


def feature_settings(name: str):
    """SegLab's :class:`~napari_seglab.FeatureSettings` of a method name: its scales,
    feature families and luminance (off for ``nogrey``, ``lab`` and ``hed``), the defaults for
    those the name leaves out."""
    from napari_seglab import FeatureSettings

    parts = name.split("-")
    families = dict.fromkeys(FAMILIES, False) if "basic" in parts else {}
    families.update({f: True for f in FAMILIES if f in parts})
    if {"nogrey", "lab", "hed"} & set(parts):
        families["luminance"] = False
    sigmas = _sigmas(name)
    return FeatureSettings(**({"sigmas": sigmas} if sigmas else {}), **families)


class SkimageMethod:
    def __init__(self, image: np.ndarray, channel_axis: int | None) -> None:
        from skimage.feature import multiscale_basic_features

        t0 = time.perf_counter()
        self.features = multiscale_basic_features(
            image, sigma_min=0.5, sigma_max=16, channel_axis=channel_axis
        )
        self.feature_time = time.perf_counter() - t0

    def round(self, strokes: np.ndarray, *, dense: bool = False) -> tuple[np.ndarray, None]:
        from skimage.future import fit_segmenter, predict_segmenter
        from sklearn.ensemble import RandomForestClassifier

        clf = RandomForestClassifier(n_estimators=50, max_depth=10, random_state=0, n_jobs=-1)
        clf = fit_segmenter(strokes, self.features, clf)
        return predict_segmenter(self.features, clf), None


class SeglabMethod:
    def __init__(self, image: np.ndarray, channel_axis: int | None, name: str) -> None:
        from napari_seglab import PixelClassifier, TrainingCache

        settings = feature_settings(name)
        parts = name.split("-")
        forest = _forest_options(parts)
        if channel_axis is not None:
            image = colour_transform(image, parts)
        self.smooth = next((float(p[6:]) for p in parts if p.startswith("smooth")), 0.0)
        self.image, self.channel_axis = image, channel_axis
        self.make = lambda: PixelClassifier(settings, random_state=0, **forest)
        self.autocontext = name.endswith("autocontext")
        self.cache = TrainingCache()
        self.feature_time, self.features = self._features(image)

    def _features(self, image: np.ndarray) -> tuple[float, np.ndarray]:
        from napari_seglab import compute_features

        t0 = time.perf_counter()
        axis = self.channel_axis if image is self.image else -1
        features = compute_features(image, self.make().features, channel_axis=axis)
        return time.perf_counter() - t0, features

    def round(self, strokes: np.ndarray, *, dense: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Train on `strokes` (keeping their features for the next round unless `dense`)."""
        from napari_seglab import TrainingCache

        cache = TrainingCache() if dense else self.cache
        clf = self.make().fit(self.image, strokes, channel_axis=self.channel_axis, cache=cache)
        result = clf.segment_features(self.features)
        if self.smooth:
            return _smoothed(result, self.smooth)
        if not self.autocontext:
            return result.labels, result.uncertainty
        channels = self.image[..., None] if self.channel_axis is None else self.image
        scale = float(np.ptp(channels)) or 1.0
        probability = (result.probability(2) * scale)[..., None]
        context = np.concatenate([channels.astype(np.float32), probability], axis=-1)
        second = self.make().fit(context, strokes, channel_axis=-1)
        result = second.segment_features(self._features(context)[1])
        return result.labels, result.uncertainty


def colour_transform(image: np.ndarray, parts: list[str]) -> np.ndarray:
    """An RGB image (channels last) as ``lab`` (CIE Lab) or ``hed`` (stain separation)
    channels instead of R, G, B (:func:`feature_settings` then turns the luminance off)."""
    from skimage import color

    if "lab" in parts:
        return color.rgb2lab(image).astype(np.float32)
    if "hed" in parts:
        return color.rgb2hed(image).astype(np.float32)
    return image


_SHARED_OPTIONS = ("n_estimators", "max_depth", "class_weight")
"""Forest options SegLab's classifier and scikit-learn's forest share."""


def _forest_options(parts: list[str]) -> dict:
    """``trees100`` / ``depth0`` (no limit) / ``depth16`` / ``noweight`` name suffixes; with
    ``rf``, scikit-learn's RandomForestClassifier with them and ``mf0.3`` (max_features) /
    ``leaf3`` (min_samples_leaf)."""
    options: dict = {}
    for part in parts:
        if part.startswith("trees"):
            options["n_estimators"] = int(part[5:])
        elif part.startswith("depth"):
            options["max_depth"] = int(part[5:]) or None
        elif part == "noweight":
            options["class_weight"] = None
    if "rf" in parts:  # scikit-learn's forest with these options, on SegLab's features
        import inspect

        from sklearn.ensemble import RandomForestClassifier

        from napari_seglab import PixelClassifier

        defaults = inspect.signature(PixelClassifier).parameters
        # no max_samples: the strokes give fewer rows than SegLab's cap, which then does not act
        forest = RandomForestClassifier(
            **{k: options.get(k, defaults[k].default) for k in _SHARED_OPTIONS},
            max_features=next((float(p[2:]) for p in parts if p.startswith("mf")), "sqrt"),
            min_samples_leaf=next((int(p[4:]) for p in parts if p.startswith("leaf")), 1),
            random_state=0,
            n_jobs=-1,
        )
        return {"estimator": forest}
    return options


def _smoothed(result, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels and uncertainty after a Gaussian of `sigma` on each class probability map."""
    proba = ndi.gaussian_filter(result.probabilities, sigma, axes=(0, 1))
    labels = np.asarray(result.classes, np.uint8)[np.argmax(proba, axis=-1)]
    return labels, 1.0 - proba.max(axis=-1)


def make_method(name: str, image: np.ndarray, channel_axis: int | None):
    if name == "skimage":
        return SkimageMethod(image, channel_axis)
    return SeglabMethod(image, channel_axis, name)


# --- one image ---------------------------------------------------------------------------------


def interactive_run(
    method, truth: np.ndarray, *, suggest: bool, max_strokes: int = 40, seed: int = 0
) -> dict:
    """F1 after each stroke count (4 .. max_strokes) and the time of each round."""
    from napari_seglab import suggest_regions

    user = SimulatedUser(truth, seed)
    strokes = user.start()
    f1, times = {}, []
    while True:
        t0 = time.perf_counter()
        labels, uncertainty = method.round(strokes)
        times.append(time.perf_counter() - t0)
        f1[user.n_strokes] = f1_score(labels, truth)
        if user.n_strokes >= max_strokes:
            break
        box = None
        if suggest:
            regions = suggest_regions(uncertainty, labels, n_regions=1)
            box = regions[0].slices if regions else None
        if not user.correct(labels, box):
            break
    last = f1[user.n_strokes]
    return {
        "f1": [f1.get(n, last) for n in range(max_strokes + 1)],
        "round_time": statistics.median(times),
        "feature_time": method.feature_time,
    }


def dense_f1(method, truth: np.ndarray, fraction: float = 0.10, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    strokes = np.zeros(truth.shape, np.uint8)
    picked = rng.random(truth.shape) < fraction
    strokes[picked] = truth[picked].astype(np.uint8) + 1
    return f1_score(method.round(strokes, dense=True)[0], truth)


def strokes_to(curve: list[float], target: float, start: int = 4) -> int:
    """Fewest strokes whose F1 reaches `target` (41 = not within 40)."""
    for n in range(start, len(curve)):
        if curve[n] >= target:
            return n
    return len(curve)


# --- data --------------------------------------------------------------------------------------


def load_pairs(folder: Path, n_images: int, crop: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, image, 0/1 truth) of the first `n_images` pairs, centre-cropped to `crop`."""
    from skimage import io

    meta = json.loads((folder / "pairs.json").read_text())
    out = []
    for pair in meta["pairs"][:n_images]:
        image = io.imread(folder / pair["image"])
        truth = (io.imread(folder / pair["mask"]) > 0).astype(np.uint8)
        if truth.ndim == 3 and image.ndim >= 3 and int(pair.get("ndim", 2)) == 3:
            middle = truth.shape[0] // 2  # a stack: its middle plane
            image, truth = image[middle], truth[middle]
        if image.ndim == 3 and image.shape[-1] == 4:
            image = image[..., :3]
        if crop:
            y0 = max(0, (truth.shape[0] - crop) // 2)
            x0 = max(0, (truth.shape[1] - crop) // 2)
            box = (slice(y0, y0 + crop), slice(x0, x0 + crop))
            image, truth = image[box], truth[box]
        out.append((Path(pair["image"]).stem[:24], image, truth))
    return out


# --- report ------------------------------------------------------------------------------------


def _fmt_strokes(n: float) -> str:
    return ">40" if n > 40 else f"{n:.0f}" if float(n).is_integer() else f"{n:.1f}"


def run(
    folders: list[Path],
    methods: list[str],
    n_images: int,
    crop: int,
    log: Callable[[str], None],
) -> dict:
    results: dict = {}
    for folder in folders:
        for name, image, truth in load_pairs(folder, n_images, crop):
            axis = -1 if image.ndim == 3 else None
            key = f"{folder.name}/{name}"
            log(f"{key} {image.shape}")
            entry = {"runs": {}, "dense": {}}
            for method_name in methods:
                method = make_method(method_name.replace("-suggest", ""), image, axis)
                suggest = method_name.endswith("-suggest")
                entry["runs"][method_name] = interactive_run(method, truth, suggest=suggest)
                if PLAIN.fullmatch(method_name):
                    entry["dense"][method_name] = dense_f1(method, truth)
                curve = entry["runs"][method_name]["f1"]
                log(
                    f"  {method_name:22s} F1@5/10/20/40 "
                    + " ".join(f"{curve[n]:.3f}" for n in CHECKPOINTS)
                    + f"  round {entry['runs'][method_name]['round_time']:.2f} s"
                )
            entry["reference"] = max(entry["dense"].values())
            results[key] = entry
    return results


def _summaries(results: dict, methods: list[str]) -> dict:
    """Per image and per dataset: F1 at the checkpoints, strokes to each level, times."""
    rows: dict = {}
    for key, entry in results.items():
        for method in methods:
            run_ = entry["runs"][method]
            rows.setdefault(key, {})[method] = {
                "f1": [run_["f1"][n] for n in CHECKPOINTS],
                "strokes": [strokes_to(run_["f1"], x * entry["reference"]) for x in LEVELS],
                "round_time": run_["round_time"],
                "feature_time": run_["feature_time"],
            }
    datasets: dict = {}
    for key, per_method in rows.items():
        datasets.setdefault(key.split("/")[0], []).append(per_method)
    means = {
        name: {
            method: {
                field: np.mean([r[method][field] for r in items], axis=0).tolist()
                for field in ("f1", "strokes", "round_time", "feature_time")
            }
            for method in methods
        }
        for name, items in datasets.items()
    }
    return {"images": rows, "datasets": means}


def _table(rows: dict, methods: list[str], references: dict | None) -> str:
    head = "| | method | F1 @5 | @10 | @20 | @40 | strokes to 80 / 90 / 95 % | round | features |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for key, per_method in rows.items():
        label = key if references is None else f"{key} (dense {references[key]:.3f})"
        for i, method in enumerate(methods):
            r = per_method[method]
            lines.append(
                f"| {label if i == 0 else ''} | {method} | "
                + " | ".join(f"{v:.3f}" for v in r["f1"])
                + " | "
                + " / ".join(_fmt_strokes(v) for v in r["strokes"])
                + f" | {r['round_time']:.2f} s | {r['feature_time']:.2f} s |"
            )
    return "\n".join(lines)


def target_check(datasets: dict, baseline: str = "skimage") -> list[str]:
    """Does a SegLab method beat scikit-image by 30 % in strokes and lose <= 0.01 at 20?"""
    methods = list(next(iter(datasets.values())))
    if baseline not in methods:
        return [f"no comparison: add {baseline} to --methods to compare with it"]
    out = []
    for method in methods:
        if method == baseline:
            continue
        strokes_ok = all(
            d[method]["strokes"][i] <= 0.7 * d[baseline]["strokes"][i]
            for d in datasets.values()
            for i in range(len(LEVELS))
        )
        f1_ok = all(d[method]["f1"][2] >= d[baseline]["f1"][2] - 0.01 for d in datasets.values())
        total = sum(sum(d[method]["strokes"]) for d in datasets.values())
        base = sum(sum(d[baseline]["strokes"]) for d in datasets.values())
        out.append(
            f"{method}: {total / base - 1:+.0%} strokes against scikit-image over all levels "
            f"and datasets; >= 30 % fewer at every level on every dataset: "
            f"{'yes' if strokes_ok else 'no'}; never > 0.01 F1 behind at 20 strokes: "
            f"{'yes' if f1_ok else 'no'}"
        )
    return out


def feature_times(methods: list[str], size: int = 1024, repeats: int = 3) -> dict[str, float]:
    """Median seconds to compute each method's features of a `size`² image, alternating."""
    from napari_seglab import compute_features

    image = np.random.default_rng(0).normal(100, 20, (size, size)).astype(np.float32)
    kinds = sorted({m.replace("-suggest", "").replace("-autocontext", "") for m in methods})
    runs: dict[str, list[float]] = {kind: [] for kind in kinds}

    def compute(kind: str, data: np.ndarray) -> None:
        if kind == "skimage":
            from skimage.feature import multiscale_basic_features

            multiscale_basic_features(data, sigma_min=0.5, sigma_max=16)
        else:
            compute_features(data, feature_settings(kind))

    for kind in kinds:  # load each one's compiled code first
        compute(kind, image[:64, :64])
    for _ in range(repeats):
        for kind in kinds:
            t0 = time.perf_counter()
            compute(kind, image)
            runs[kind].append(time.perf_counter() - t0)
    return {kind: statistics.median(values) for kind, values in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="folders with a pairs.json")
    parser.add_argument("--images", type=int, default=2, help="pairs per folder (default 2)")
    parser.add_argument("--crop", type=int, default=256, help="centre crop (0: whole image)")
    parser.add_argument(
        "--methods",
        default="skimage,seglab,seglab-suggest",
        help="comma-separated: skimage, seglab, seglab-suggest, seglab-s0.5-16, "
        "seglab-s1-16-suggest, seglab-autocontext, ...",
    )
    parser.add_argument("--json", type=Path, help="also write every curve to this file")
    parser.add_argument("--write", action="store_true", help="write the table to README.md")
    options = parser.parse_args()
    folders = options.folders or sorted(p.parent for p in DATA.glob("*/pairs.json"))
    methods = options.methods.split(",")
    from napari_seglab.core.classifier import warm_up

    warm_up()
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.perf_counter()
    results = run(
        folders, methods, options.images, options.crop, lambda m: print(m, file=sys.stderr)
    )
    elapsed = time.perf_counter() - t0
    features = feature_times(methods)
    load_after = os.getloadavg()
    summary = _summaries(results, methods)
    if options.json:
        options.json.write_text(json.dumps({"results": results, "summary": summary}))
    references = {key: entry["reference"] for key, entry in results.items()}
    command = "python benchmarks/bench_interactive.py" + "".join(
        f" {flag}" for flag in sys.argv[1:] if flag != "--write"
    )
    from _readme import machine, publish

    header = (
        f"Run {started} with `{command}` on {machine()}, "
        f"{elapsed / 60:.0f} min. Load average before / after: {load_before[0]:.1f} / "
        f"{load_after[0]:.1f}. Images: the first {options.images} pairs of each folder"
        + (f", centre crops of {options.crop}² pixels" if options.crop else "")
        + ". F1 of the foreground; strokes to 80 / 90 / 95 % of the dense F1 (the best plain "
        "method trained on 10 % of the pixels; >40: not within 40 strokes, counted as 41 in "
        "the means); round = one training + prediction of the crop (median); features: "
        "computed once per image."
    )
    per_dataset = _table(summary["datasets"], methods, None)
    per_image = _table(summary["images"], methods, references)
    verdict = "\n".join(f"- {line}" for line in target_check(summary["datasets"]))
    timing = "Features of a 1024² image (median of 3, alternating): " + ", ".join(
        f"{kind} {seconds:.2f} s" for kind, seconds in features.items()
    )
    table = (
        "Per dataset (means over its images):\n\n"
        + per_dataset
        + "\n\n"
        + verdict
        + "\n\n"
        + timing
        + "\n\nPer image:\n\n"
        + per_image
    )
    publish("interactive-benchmark", header, table, options.write)


if __name__ == "__main__":
    main()
