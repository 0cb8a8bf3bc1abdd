"""Large data: threshold + clean + evaluate chunk by chunk on a synthetic uint8 zarr volume.

Measures, each in a fresh subprocess so that peak memory (RSS) is the step's own:

1. throughput (MB/s of input) of the chunked path against the in-memory numpy path, on a
   volume that fits in memory (the results are checked to be identical);
2. the speed-up of the chunked path from 1 to 2 worker threads;
3. peak RSS of the chunked pipeline for two volume sizes with the same chunks, and for two
   chunk sizes: memory follows the chunk size, not the volume size.

Usage::

    python benchmarks/bench_large.py --quick            # small sizes, a minute or two
    python benchmarks/bench_large.py                    # ~4 GiB volume; needs ~10 GiB in /tmp

The pipeline is what ``seglab threshold`` / ``clean`` / ``evaluate`` run: Otsu (bright)
written to zarr, clean-up (remove < 30 voxels, fill holes < 30) written to zarr, then the
confusion counts against a synthetic ground truth. No median filter: scipy's median runs at a
few MB/s per core, which would make the 4 GiB run hours long on a small machine (the median's
chunked result is tested equal to the in-memory one). Classification (a small random forest
on Gaussian features) is timed on its own smaller volume, for the same reason.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MIB = 2**20


def _interpolation(n_out: int, n_in: int) -> np.ndarray:
    """``(n_out, n_in)`` weights of linear interpolation with the end points aligned."""
    position = np.linspace(0, n_in - 1, n_out)
    left = np.minimum(position.astype(int), n_in - 2)
    weights = np.zeros((n_out, n_in), np.float32)
    weights[np.arange(n_out), left] = 1 - (position - left)
    weights[np.arange(n_out), left + 1] = position - left
    return weights


def _block(block_info: dict | None = None, *, truth: bool) -> np.ndarray:
    """One chunk of the synthetic volume: smooth blobs plus noise, seeded by its position."""
    info = block_info[None]
    shape = info["chunk-shape"]
    seed = int(np.ravel_multi_index(info["chunk-location"], info["num-chunks"]))
    rng = np.random.default_rng(seed)
    coarse = rng.random(tuple(max(2, s // f) for s, f in zip(shape, (4, 16, 16), strict=True)))
    field = coarse.astype(np.float32)
    for axis, size in enumerate(shape):  # trilinear upsampling, one axis at a time
        weights = _interpolation(size, field.shape[axis])
        field = np.moveaxis(np.tensordot(weights, field, axes=(1, axis)), 0, axis)
    objects = field > 0.62
    if truth:
        return objects.astype(np.uint8)
    noise = rng.integers(-17, 18, shape, dtype=np.int16)  # uniform, standard deviation ~10
    return (90 + 90 * objects.astype(np.int16) + noise).astype(np.uint8)


def make_volume(folder: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> None:
    """Write image.zarr and truth.zarr of the given shape and chunks into `folder`."""
    import dask.array as da

    from napari_seglab.core.io import save

    for name, truth in (("image", False), ("truth", True)):
        array = da.map_blocks(
            _block, chunks=da.core.normalize_chunks(chunks, shape), dtype=np.uint8, truth=truth
        )
        save(array, folder / f"{name}.zarr", overwrite=True)


def _peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM). ``getrusage`` would also count the parent's
    memory at fork time, which Linux carries over into a child's ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # macOS etc.


def run_chunked(folder: Path, workers: int, chunks: tuple[int, ...] | None) -> dict:
    """The CLI's pipeline with `workers` threads; returns timings, counts and peak RSS."""
    import dask

    import napari_seglab as sl
    from napari_seglab.core.io import open_image, save

    dask.config.set(scheduler="threads", num_workers=workers)
    times = {}
    start = time.perf_counter()
    image = open_image(folder / "image.zarr", chunks=chunks)
    result = sl.threshold(image, "otsu")
    save(result.mask, folder / "mask.zarr", overwrite=True)
    times["threshold"] = time.perf_counter() - start
    start = time.perf_counter()
    mask = open_image(folder / "mask.zarr")
    cleaned = sl.clean_up(mask, remove_smaller_than=30, fill_holes_smaller_than=30)
    save(cleaned, folder / "clean.zarr", overwrite=True)
    times["clean"] = time.perf_counter() - start
    start = time.perf_counter()
    counts = sl.evaluate(
        open_image(folder / "clean.zarr"), open_image(folder / "truth.zarr"), objects=False
    ).counts
    times["evaluate"] = time.perf_counter() - start
    return {
        "times": times,
        "counts": [counts.tp, counts.fp, counts.fn, counts.tn],
        "threshold": result.value,
        "nbytes": image.nbytes,
        "chunk_bytes": int(np.prod([max(c) for c in image.chunks])),
        "rss_mib": _peak_rss_mib(),
    }


def run_numpy(folder: Path) -> dict:
    """The same pipeline on numpy arrays held in memory."""
    import napari_seglab as sl
    from napari_seglab.core.io import open_image

    image = np.asarray(open_image(folder / "image.zarr"))
    truth = np.asarray(open_image(folder / "truth.zarr"))
    times = {}
    start = time.perf_counter()
    result = sl.threshold(image, "otsu")
    times["threshold"] = time.perf_counter() - start
    start = time.perf_counter()
    cleaned = sl.clean_up(result.mask, remove_smaller_than=30, fill_holes_smaller_than=30)
    times["clean"] = time.perf_counter() - start
    start = time.perf_counter()
    counts = sl.evaluate(cleaned, truth, objects=False).counts
    times["evaluate"] = time.perf_counter() - start
    return {
        "times": times,
        "counts": [counts.tp, counts.fp, counts.fn, counts.tn],
        "threshold": result.value,
        "nbytes": image.nbytes,
        "rss_mib": _peak_rss_mib(),
    }


def _classifier(folder: Path):
    from napari_seglab.core.classifier import PixelClassifier
    from napari_seglab.core.features import FeatureSettings
    from napari_seglab.core.io import open_image

    path = folder / "classifier.npz"
    if not path.exists():
        plane = np.asarray(open_image(folder / "image.zarr")[0])
        truth = np.asarray(open_image(folder / "truth.zarr")[0])
        strokes = np.zeros_like(truth)
        strokes[::13, ::13] = truth[::13, ::13] + 1
        settings = FeatureSettings(sigmas=(1.0, 2.0))
        PixelClassifier(settings, n_estimators=10, random_state=0).fit(plane, strokes).save(path)
    return PixelClassifier.load(path)


def run_classify_numpy(folder: Path) -> dict:
    """Prediction of the whole volume held in memory."""
    from napari_seglab.core.io import open_image

    classifier = _classifier(folder)
    image = np.asarray(open_image(folder / "image.zarr"))
    classifier.predict(image[:1, :64, :64])  # compile the kernels outside the timing
    start = time.perf_counter()
    labels = classifier.predict(image)
    seconds = time.perf_counter() - start
    return {"times": {"classify": seconds}, "nbytes": image.nbytes, "rss_mib": _peak_rss_mib(),
            "checksum": int(labels.astype(np.int64).sum())}  # fmt: skip


def run_classify_chunked(folder: Path, workers: int) -> dict:
    """Chunked prediction written to zarr (numba's own threads: `workers`)."""
    import dask
    import numba

    from napari_seglab.core.chunked import predict
    from napari_seglab.core.io import open_image, save

    dask.config.set(scheduler="threads", num_workers=workers)
    numba.set_num_threads(workers)
    classifier = _classifier(folder)
    classifier.n_jobs = workers
    image = open_image(folder / "image.zarr")
    classifier.predict(np.asarray(image[:1, :64, :64]))
    start = time.perf_counter()
    save(predict(classifier, image), folder / "classes.zarr", overwrite=True)
    seconds = time.perf_counter() - start
    labels = open_image(folder / "classes.zarr")
    return {"times": {"classify": seconds}, "nbytes": image.nbytes, "rss_mib": _peak_rss_mib(),
            "checksum": int(labels.astype(np.int64).sum().compute())}  # fmt: skip


def _in_subprocess(kind: str, folder: Path, workers: int = 2, chunks=None) -> dict:
    extra = {"chunked": f", {workers}, {chunks!r})", "classify_chunked": f", {workers})"}
    code = (
        "import json, sys; from pathlib import Path; import bench_large as b; "
        f"r = b.run_{kind}(Path({str(folder)!r})"
        + extra.get(kind, ")")
        + "; sys.stdout.write(json.dumps(r))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _mbps(result: dict) -> float:
    return result["nbytes"] / MIB / sum(result["times"].values())


def _row(shape: tuple[int, ...], chunks: tuple[int, ...], r: dict) -> None:
    print(f"| {'x'.join(map(str, shape))} | {r['nbytes'] / MIB:.0f} "
          f"| {'x'.join(map(str, chunks))} | {r['chunk_bytes'] / MIB:.1f} "
          f"| {_mbps(r):.1f} | {r['rss_mib']:.0f} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small volumes (development)")
    parser.add_argument("--folder", type=Path, default=None, help="scratch folder (deleted)")
    parser.add_argument(
        "--big", type=lambda t: tuple(int(v) for v in t.split(",")), help="large volume Z,Y,X"
    )
    parser.add_argument(
        "--chunk-shape", type=lambda t: tuple(int(v) for v in t.split(",")), help="Z,Y,X"
    )
    parser.add_argument(
        "--only-big", action="store_true", help="only the peak-RSS run on the large volume"
    )
    args = parser.parse_args()

    if args.quick:
        fits, big = (16, 1024, 1024), (64, 1024, 1024)  # 16 and 64 MiB
        classify = (4, 512, 512)  # 1 MiB
        chunks, small_chunks = (16, 256, 256), (8, 128, 128)  # 1 MiB and 128 KiB
    else:
        fits, big = (64, 2048, 2048), (64, 8192, 8192)  # 256 MiB and 4 GiB
        classify = (16, 1024, 1024)  # 16 MiB
        chunks, small_chunks = (64, 512, 512), (32, 256, 256)  # 16 MiB and 2 MiB

    big = args.big or big
    chunks = args.chunk_shape or chunks
    scratch = Path(tempfile.mkdtemp(dir=args.folder, prefix="seglab-bench-"))
    try:
        if args.only_big:
            folder = scratch / "big"
            folder.mkdir()
            make_volume(folder, big, chunks)
            _row(big, chunks, _in_subprocess("chunked", folder, workers=2, chunks=chunks))
            return
        folder = scratch / "fits"
        folder.mkdir()
        make_volume(folder, fits, chunks)
        numpy_run = _in_subprocess("numpy", folder)
        one = _in_subprocess("chunked", folder, workers=1)
        two = _in_subprocess("chunked", folder, workers=2)
        assert one["counts"] == numpy_run["counts"] == two["counts"], (numpy_run, one, two)
        assert one["threshold"] == numpy_run["threshold"]
        print(f"\nVolume that fits: {fits} uint8 = {np.prod(fits) / MIB:.0f} MiB, "
              f"chunks {chunks}; identical counts {numpy_run['counts']}")  # fmt: skip
        print("| path | threshold s | clean s | evaluate s | MB/s | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        for name, r in (("numpy (in memory)", numpy_run), ("chunked, 1 thread", one),
                        ("chunked, 2 threads", two)):  # fmt: skip
            t = r["times"]
            print(f"| {name} | {t['threshold']:.1f} | {t['clean']:.1f} | {t['evaluate']:.1f} "
                  f"| {_mbps(r):.1f} | {r['rss_mib']:.0f} |")  # fmt: skip
        speedup = sum(one["times"].values()) / sum(two["times"].values())
        print(f"\nSpeed-up from 1 to 2 threads: {speedup:.2f}x", flush=True)
        small = _in_subprocess("chunked", folder, workers=2, chunks=small_chunks)
        assert small["counts"] == numpy_run["counts"]

        folder = scratch / "classify"
        folder.mkdir()
        make_volume(folder, classify, (classify[0], 256, 256))
        c_numpy = _in_subprocess("classify_numpy", folder)
        c_one = _in_subprocess("classify_chunked", folder, workers=1)
        c_two = _in_subprocess("classify_chunked", folder, workers=2)
        assert c_numpy["checksum"] == c_one["checksum"] == c_two["checksum"]
        print(f"\nClassify {classify} uint8 = {np.prod(classify) / MIB:.0f} MiB, chunks "
              f"{(classify[0], 256, 256)}; identical labels")  # fmt: skip
        print("| path | classify s | MB/s | peak RSS MiB |")
        print("|---|---|---|---|")
        for name, r in (("numpy (in memory)", c_numpy), ("chunked, 1 thread", c_one),
                        ("chunked, 2 threads", c_two)):  # fmt: skip
            print(f"| {name} | {r['times']['classify']:.1f} | {_mbps(r):.2f} "
                  f"| {r['rss_mib']:.0f} |")  # fmt: skip
        shutil.rmtree(folder)

        print("\nPeak RSS of the chunked pipeline (2 threads):")
        print("| volume | MiB | chunks | chunk MiB | MB/s | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        _row(fits, chunks, two)
        _row(fits, small_chunks, small)
        shutil.rmtree(scratch / "fits")
        folder = scratch / "big"
        folder.mkdir()
        make_volume(folder, big, chunks)
        _row(big, chunks, _in_subprocess("chunked", folder, workers=2, chunks=chunks))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
