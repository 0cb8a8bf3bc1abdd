"""Large data: threshold + clean + evaluate chunk by chunk on a synthetic uint8 zarr volume.

Measures, each in a fresh subprocess so that peak memory (RSS, ``VmHWM``) is the step's own:

1. throughput (MiB/s of input) of the ``seglab`` commands against the in-memory numpy path,
   on a volume that fits in memory (the results are checked to be identical);
2. the speed-up of the chunked path from 1 to 2 worker threads;
3. ``seglab classify`` against in-memory prediction on a small volume, and on the larger one;
4. peak RSS of the chunked pipeline for two chunk sizes and two volume sizes (256 MiB and
   4 GiB by default) with the same chunks: memory follows the chunk size, not the volume.

Usage::

    python benchmarks/bench_large.py --quick            # small sizes, about a minute
    python benchmarks/bench_large.py                    # 4 GiB volume; ~10 GiB in the folder
    python benchmarks/bench_large.py --only-big --big 64,8192,8192   # only the large run

The pipeline is what ``seglab threshold`` / ``clean`` / ``evaluate`` run (the commands are
run in-process): Otsu (bright) written to zarr, clean-up (remove < 30 voxels, fill holes
< 30) written to zarr, then the confusion counts against a synthetic ground truth. No
median filter: scipy's median runs at a few MB/s per core, which would make the 4 GiB run
hours long on a small machine (the median's chunked result is tested equal to the
in-memory one). Classification (a small random forest on Gaussian features) is timed on
smaller volumes for the same reason.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _seglab(*args: object) -> None:
    """Run one ``seglab`` command in this process (its output is not shown)."""
    import contextlib
    import io

    from napari_seglab.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        status = main([str(a) for a in args] + ["--quiet"])
    if status != 0:
        raise RuntimeError(f"seglab {args[0]} failed with status {status}")


def _import_outside_the_timing() -> None:
    """Import what the commands import on first use (about 2 s on a busy 2-core machine,
    which would otherwise count as work on the small volumes)."""
    import dask.array  # noqa: F401
    import numba  # noqa: F401
    import zarr  # noqa: F401

    import napari_seglab.cli  # noqa: F401


def run_chunked(
    folder: Path, workers: int, chunks: tuple[int, ...] | None, scheduler: str | None = None
) -> dict:
    """The ``seglab`` commands with `workers` threads (or on the dask cluster at
    `scheduler`), every step in `chunks` if given (else their default); timings, counts and
    peak RSS."""
    import csv

    import dask
    import zarr

    dask.config.set(scheduler="threads", num_workers=workers)
    chunk_option = ["--chunks", ",".join(map(str, chunks))] if chunks else []
    cluster = ["--scheduler", scheduler] if scheduler else []
    _import_outside_the_timing()
    times = {}
    cpu = time.process_time()
    start = time.perf_counter()
    _seglab("threshold", folder / "image.zarr", "-o", folder / "mask.zarr", "--method", "otsu",
            "--overwrite", *chunk_option, *cluster)  # fmt: skip
    times["threshold"] = time.perf_counter() - start
    start = time.perf_counter()
    _seglab("clean", folder / "mask.zarr", "-o", folder / "clean.zarr", "--overwrite",
            *chunk_option, *cluster,
            "--remove-smaller-than", 30, "--fill-holes-smaller-than", 30)  # fmt: skip
    times["clean"] = time.perf_counter() - start
    start = time.perf_counter()
    _seglab("evaluate", folder / "clean.zarr", folder / "truth.zarr",
            "--csv", folder / "scores.csv", *chunk_option, *cluster)  # fmt: skip
    times["evaluate"] = time.perf_counter() - start
    with (folder / "scores.csv").open() as fh:
        total = next(row for row in csv.DictReader(fh) if row["plane"] == "total")
    cpu = time.process_time() - cpu
    mask = zarr.open_array(folder / "mask.zarr", mode="r")
    import napari_seglab

    return {
        "times": times,
        "cpu_s": cpu,
        "package": napari_seglab.__file__,
        "counts": [int(total[k]) for k in ("tp", "fp", "fn", "tn")],
        "threshold": mask.attrs["seglab"]["threshold"],
        "nbytes": mask.nbytes,
        "chunk_bytes": int(np.prod(mask.chunks)),
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
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier
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


def run_classifier(folder: Path) -> dict:
    """Train and save the classifier of the classify runs (in the process's SegLab)."""
    _classifier(folder)
    return {}


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
    """``seglab classify`` with `workers` threads (dask's and numba's) written to zarr."""
    import dask
    import numba

    from napari_seglab.core.io import open_image

    dask.config.set(scheduler="threads", num_workers=workers)
    numba.set_num_threads(workers)
    path = folder / "classifier.npz"
    _classifier(folder).predict(np.zeros((1, 64, 64), np.uint8))  # compile outside the timing
    _import_outside_the_timing()
    start = time.perf_counter()
    _seglab("classify", folder / "image.zarr", "-o", folder / "classes.zarr", "--classifier",
            path, "--overwrite")  # fmt: skip
    seconds = time.perf_counter() - start
    labels = open_image(folder / "classes.zarr")
    return {"times": {"classify": seconds}, "nbytes": labels.nbytes, "rss_mib": _peak_rss_mib(),
            "checksum": int(labels.astype(np.int64).sum().compute())}  # fmt: skip


def run_floors(folder: Path, workers: int) -> dict:
    """What the pipeline cannot beat, on the same volume: MiB/s of input.

    Reading and summing the image (`workers` threads), thresholding it at a fixed value and
    writing the mask to zarr with zarr's defaults (`workers` threads), and labelling one
    chunk (its mask) with ``scipy.ndimage.label``, ``cc3d.connected_components`` and
    SegLab's labeller (one thread each, best of three).
    """
    import cc3d
    import dask
    import dask.array as da
    import zarr
    from scipy import ndimage as ndi

    from napari_seglab.core.cleanup._label import label

    dask.config.set(scheduler="threads", num_workers=workers)
    image = da.from_zarr(str(folder / "image.zarr"))
    mib = image.nbytes / MIB
    out = {}
    start = time.perf_counter()
    image.sum().compute()
    out["read + sum"] = mib / (time.perf_counter() - start)
    start = time.perf_counter()
    (image > 135).astype(np.uint8).to_zarr(str(folder / "floor.zarr"), overwrite=True)
    out["threshold + zarr write"] = mib / (time.perf_counter() - start)
    shutil.rmtree(folder / "floor.zarr")
    chunk = zarr.open_array(folder / "image.zarr", mode="r")[
        tuple(slice(0, c) for c in image.chunksize)
    ]
    mask = chunk > 135
    structure = ndi.generate_binary_structure(3, 1)
    for name, func in (
        ("scipy.ndimage.label, one chunk", lambda: ndi.label(mask, structure)),
        ("cc3d.connected_components, one chunk", lambda: cc3d.connected_components(mask, 6)),
        ("SegLab's labelling, one chunk", lambda: label(mask, structure)),
    ):
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            func()
            best = min(best, time.perf_counter() - start)
        out[name] = mask.nbytes / MIB / best
    return out


def run_cluster(folder: Path, n_workers: int) -> dict:
    """:func:`run_chunked` on a ``distributed.LocalCluster`` of `n_workers` processes of
    one thread each (started before the timing)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        return run_chunked(folder, 1, None, scheduler=cluster.scheduler_address)


def cluster_workers(scratch: Path, rounds: int) -> None:
    """The pipeline on 1 and 2 worker processes, alternated, on the 256 MiB volume."""
    folder = scratch / "fits"
    folder.mkdir()
    make_volume(folder, (64, 2048, 2048), (64, 512, 512))
    runs: dict[int, list[dict]] = {1: [], 2: []}
    loads = [_load()]
    for _ in range(rounds):
        for n in (1, 2):
            runs[n].append(_in_subprocess("cluster", folder, workers=n))
            loads.append(_load())
    assert len({tuple(r["counts"]) for rs in runs.values() for r in rs}) == 1
    lines = ["| worker processes | total s, median (min-max) | MiB/s |", "|---|---|---|"]
    for n, rs in runs.items():
        totals = [sum(r["times"].values()) for r in rs]
        lines.append(
            f"| {n} | {_median_spread(totals)} | {np.median([_mbps(r) for r in rs]):.1f} |"
        )
    header = (
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `python "
        f"benchmarks/bench_large.py --cluster-workers --rounds {rounds}`: threshold + "
        "clean + evaluate of the 256 MiB volume (16 MiB chunks) through `--scheduler` on a "
        "`distributed.LocalCluster` of 1 or 2 worker processes (one thread each), "
        f"{rounds} round(s) alternated; {os.cpu_count()} "
        "CPUs. Load average at the start and after each run: " + "; ".join(loads) + "."
    )
    table = "\n".join(lines)
    print(header, table, sep="\n\n")
    from _readme import write_block

    write_block("cluster-benchmark", "### Worker processes\n\n" + header, table)


def _median_spread(values: list[float]) -> str:
    from _readme import spread

    return spread(values, ".1f")


def throughput(scratch: Path, before: Path, rounds: int) -> None:
    """Floors, and before / after (`before`: the ``src`` folder of the earlier code)
    alternated `rounds` times, on a 256 MiB volume in 16 MiB chunks with 2 threads; then
    ``seglab classify`` before / after on a 16 MiB volume."""
    after = Path(__file__).resolve().parents[1] / "src"
    folder = scratch / "fits"
    folder.mkdir()
    shape, chunks = (64, 2048, 2048), (64, 512, 512)
    make_volume(folder, shape, chunks)
    loads = [_load()]
    floors = _in_subprocess("floors", folder)
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(rounds):
        for name, source in (("before", before), ("after", after)):
            r = _in_subprocess("chunked", folder, workers=2, source=source)
            assert Path(r["package"]).is_relative_to(source), r["package"]
            runs[name].append(r)
            loads.append(_load())
    counts = {tuple(r["counts"]) for rs in runs.values() for r in rs}
    assert len(counts) == 1, counts
    numpy_run = _in_subprocess("numpy", folder)
    assert tuple(numpy_run["counts"]) in counts
    shutil.rmtree(folder)
    cfolder = scratch / "classify"
    cfolder.mkdir()
    cshape = (16, 1024, 1024)
    make_volume(cfolder, cshape, (16, 256, 256))
    # Trained and saved by the earlier code: a later one reads its files, not the reverse.
    _in_subprocess("classifier", cfolder, source=before)
    classify: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(rounds):
        for name, source in (("before", before), ("after", after)):
            classify[name].append(
                _in_subprocess("classify_chunked", cfolder, workers=2, source=source)
            )
            loads.append(_load())
    assert len({r["checksum"] for rs in classify.values() for r in rs}) == 1
    shutil.rmtree(cfolder)

    def mbps(rs: list[dict]) -> list[float]:
        return [_mbps(r) for r in rs]

    lines = [
        "| measurement | MiB/s, median (min-max) | after / before |",
        "|---|---|---|",
    ]
    for name, value in floors.items():
        per = " per thread" if "chunk" in name else ", 2 threads"
        lines.append(f"| floor: {name}{per} | {value:.0f} | |")
    ratio = np.median(mbps(runs["after"])) / np.median(mbps(runs["before"]))
    for name in ("before", "after"):
        steps = {k: [r["times"][k] for r in runs[name]] for k in runs[name][0]["times"]}
        detail = ", ".join(f"{k} {np.median(v):.1f} s" for k, v in steps.items())
        cpu = np.median([r["cpu_s"] for r in runs[name]])
        lines.append(
            f"| threshold + clean + evaluate, {name} ({detail}; CPU {cpu:.1f} s; peak RSS "
            f"{np.median([r['rss_mib'] for r in runs[name]]):.0f} MiB) "
            f"| {_median_spread(mbps(runs[name]))} | {(1, ratio)[name == 'after']:.2f} |"
        )
    c_ratio = np.median(mbps(classify["after"])) / np.median(mbps(classify["before"]))
    for name in ("before", "after"):
        lines.append(
            f"| seglab classify {'x'.join(map(str, cshape))}, {name} "
            f"| {_median_spread(mbps(classify[name]))} | {(1, c_ratio)[name == 'after']:.2f} |"
        )
    header = (
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `python "
        f"benchmarks/bench_large.py --throughput {before}`, {os.cpu_count()} CPUs; "
        f"{'x'.join(map(str, shape))} uint8 (256 MiB) in {'x'.join(map(str, chunks))} chunks "
        f"(16 MiB), 2 threads; before and after alternated {rounds} times, each in a fresh "
        f"process; identical counts {list(counts.pop())} (the in-memory ones too). Load "
        f"average (1 / 5 / 15 min) at the start {loads[0]}, after each run: "
        + "; ".join(loads[1:])
        + "."
    )
    table = "\n".join(lines)
    print(header, table, sep="\n\n")
    from _readme import write_block

    write_block("throughput-benchmark", "### Throughput\n\n" + header, table)


def grouping(scratch: Path, rounds: int) -> None:
    """The pipeline on 256 MiB stored in 64^3 chunks: read in the file's chunks
    (``--chunks 64,64,64``) against the default groups of them, alternated `rounds` times."""
    folder = scratch / "small-chunks"
    folder.mkdir()
    shape, chunk = (64, 2048, 2048), (64, 64, 64)
    make_volume(folder, shape, chunk)
    loads = [_load()]
    runs: dict[str, list[dict]] = {"file chunks": [], "grouped": []}
    for _ in range(rounds):
        for name in runs:
            chunks = chunk if name == "file chunks" else None
            runs[name].append(_in_subprocess("chunked", folder, workers=2, chunks=chunks))
            loads.append(_load())
    assert len({tuple(r["counts"]) for rs in runs.values() for r in rs}) == 1
    shutil.rmtree(folder)
    lines = [
        "| read in | threshold / clean / evaluate s | MiB/s, median (min-max) | peak RSS MiB |",
        "|---|---|---|---|",
    ]
    for name, rs in runs.items():
        steps = " / ".join(f"{np.median([r['times'][k] for r in rs]):.1f}" for k in rs[0]["times"])
        lines.append(
            f"| {name} | {steps} | {_median_spread([_mbps(r) for r in rs])} "
            f"| {np.median([r['rss_mib'] for r in rs]):.0f} |"
        )
    header = (
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `python "
        f"benchmarks/bench_large.py --grouping --rounds {rounds}`, {os.cpu_count()} CPUs: "
        f"threshold + clean + evaluate with 2 threads of {'x'.join(map(str, shape))} uint8 "
        f"(256 MiB) stored in {'x'.join(map(str, chunk))} chunks (1024 of 0.25 MiB), each run "
        "a fresh process, identical counts. *file chunks*: every step with `--chunks "
        "64,64,64`; *grouped*: the default (whole blocks of file chunks of about 16 MiB). "
        "Load average at the start and after each run: " + "; ".join(loads) + "."
    )
    table = "\n".join(lines)
    print(header, table, sep="\n\n")
    from _readme import write_block

    write_block("grouping-benchmark", "### Stores of small chunks\n\n" + header, table)


def rss_vs_chunks(scratch: Path, chunk: int, counts: tuple[int, ...], rounds: int) -> None:
    """Peak RSS of threshold + clean + evaluate (2 threads) for volumes of `counts` chunks
    of ``chunk**3`` voxels (4 chunks deep, the rest square), each run `rounds` times, the
    volumes alternated (one run's peak varies by tens of MiB)."""
    volumes, loads = [], [_load()]
    for n in counts:
        side = round((n / 4) ** 0.5)
        shape = (4 * chunk, side * chunk, side * chunk)
        folder = scratch / f"chunks{n}"
        folder.mkdir()
        make_volume(folder, shape, (chunk,) * 3)
        volumes.append((n, shape, folder, []))
    for _ in range(rounds):
        for _, _, folder, runs in volumes:
            runs.append(_in_subprocess("chunked", folder, workers=2, chunks=(chunk,) * 3))
            loads.append(_load())
    for _, _, folder, _ in volumes:
        shutil.rmtree(folder)
    lines = [
        "| chunks | volume | MiB | total s, median | MiB/s | peak RSS MiB, median (min-max) "
        "| vs the first |",
        "|---|---|---|---|---|---|---|",
    ]
    first = np.median([r["rss_mib"] for r in volumes[0][3]])
    for n, shape, _, runs in volumes:
        peak = [r["rss_mib"] for r in runs]
        seconds = np.median([sum(r["times"].values()) for r in runs])
        lines.append(
            f"| {n} | {'x'.join(map(str, shape))} | {runs[0]['nbytes'] / MIB:.0f} "
            f"| {seconds:.1f} | {runs[0]['nbytes'] / MIB / seconds:.1f} "
            f"| {np.median(peak):.0f} ({min(peak):.0f}-{max(peak):.0f}) "
            f"| {np.median(peak) / first - 1:+.0%} |"
        )
    header = (
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `python "
        f"benchmarks/bench_large.py --rss-chunks {','.join(map(str, counts))} --rss-chunk "
        f"{chunk} --rounds {rounds}`: threshold + clean + evaluate with 2 threads, chunks of "
        f"{chunk}^3 uint8 voxels ({chunk**3 / MIB:.2f} MiB), each run in a fresh process, the "
        f"volumes alternated {rounds} times. Load average at the start and after each run: "
        + "; ".join(loads)
        + "."
    )
    table = "\n".join(lines)
    print(header, table, sep="\n\n")
    from _readme import write_block

    write_block(
        "rss-chunks-benchmark", "### Peak RSS against the number of chunks\n\n" + header, table
    )


def _in_subprocess(
    kind: str, folder: Path, workers: int = 2, chunks=None, source: Path | None = None
) -> dict:
    """``run_<kind>`` in a fresh process; `source`: the ``src`` folder to import SegLab from."""
    extra = {"chunked": f", {workers}, {chunks!r})", "classify_chunked": f", {workers})",
             "floors": f", {workers})", "cluster": f", {workers})"}  # fmt: skip
    env = os.environ | ({"PYTHONPATH": str(source)} if source else {})
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
        env=env,
    )
    return json.loads(done.stdout)


def _mbps(result: dict) -> float:
    return result["nbytes"] / MIB / sum(result["times"].values())


def _row(shape: tuple[int, ...], chunks: tuple[int, ...], r: dict) -> None:
    print(f"| {'x'.join(map(str, shape))} | {r['nbytes'] / MIB:.0f} "
          f"| {'x'.join(map(str, chunks))} | {r['chunk_bytes'] / MIB:.1f} "
          f"| {sum(r['times'].values()):.0f} | {_mbps(r):.1f} | {r['rss_mib']:.0f} |",
          flush=True)  # fmt: skip


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


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
    parser.add_argument(
        "--big-steps",
        choices=("pipeline", "classify", "both"),
        default="pipeline",
        help="what runs on the large volume: threshold + clean + evaluate, seglab classify "
        "(about 20 minutes for 4 GiB on 2 cores), or both",
    )
    parser.add_argument(
        "--throughput",
        type=Path,
        metavar="BEFORE_SRC",
        help="floors and before / after on 256 MiB: the src folder of the earlier code",
    )
    parser.add_argument("--rounds", type=int, default=3, help="before / after (or RSS) rounds")
    parser.add_argument(
        "--cluster-workers", action="store_true", help="1 against 2 worker processes"
    )
    parser.add_argument(
        "--grouping", action="store_true", help="a store of 64^3 chunks, grouped or not"
    )
    parser.add_argument(
        "--rss-chunks",
        type=lambda t: tuple(int(v) for v in t.split(",")),
        help="peak RSS for these numbers of chunks (e.g. 256,4096)",
    )
    parser.add_argument("--rss-chunk", type=int, default=64, help="chunk side for --rss-chunks")
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
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average (1/5/15 min) {_load()}", flush=True)  # fmt: skip
    scratch = Path(tempfile.mkdtemp(dir=args.folder, prefix="seglab-bench-"))
    try:
        if args.throughput:
            throughput(scratch, args.throughput.resolve(), args.rounds)
            return
        if args.cluster_workers:
            cluster_workers(scratch, args.rounds)
            return
        if args.grouping:
            grouping(scratch, args.rounds)
            return
        if args.rss_chunks:
            rss_vs_chunks(scratch, args.rss_chunk, args.rss_chunks, args.rounds)
            return
        if args.only_big:
            _big_row(scratch, big, chunks, args.big_steps)
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
              f"chunks {chunks}; identical counts {numpy_run['counts']}, threshold "
              f"{numpy_run['threshold']}; load average now {_load()}")  # fmt: skip
        print("| path | threshold s | clean s | evaluate s | total s | MiB/s | peak RSS MiB |")
        print("|---|---|---|---|---|---|---|")
        for name, r in (("numpy (in memory)", numpy_run), ("chunked, 1 thread", one),
                        ("chunked, 2 threads", two)):  # fmt: skip
            t = r["times"]
            print(f"| {name} | {t['threshold']:.1f} | {t['clean']:.1f} | {t['evaluate']:.1f} "
                  f"| {sum(t.values()):.1f} | {_mbps(r):.1f} | {r['rss_mib']:.0f} |")  # fmt: skip
        speedup = sum(one["times"].values()) / sum(two["times"].values())
        print(f"\nSpeed-up from 1 to 2 threads: {speedup:.2f}x", flush=True)
        small = _in_subprocess("chunked", folder, workers=2, chunks=small_chunks)
        assert small["counts"] == numpy_run["counts"]
        _classifier(folder)
        big_classify = _in_subprocess("classify_chunked", folder, workers=2)

        cfolder = scratch / "classify"
        cfolder.mkdir()
        make_volume(cfolder, classify, (classify[0], 256, 256))
        c_numpy = _in_subprocess("classify_numpy", cfolder)
        c_one = _in_subprocess("classify_chunked", cfolder, workers=1)
        c_two = _in_subprocess("classify_chunked", cfolder, workers=2)
        assert c_numpy["checksum"] == c_one["checksum"] == c_two["checksum"]
        print(f"\nClassify {classify} uint8 = {np.prod(classify) / MIB:.0f} MiB, chunks "
              f"{(classify[0], 256, 256)}; identical labels; load average {_load()}")  # fmt: skip
        print("| path | classify s | MiB/s | peak RSS MiB |")
        print("|---|---|---|---|")
        for name, r in (("numpy (in memory)", c_numpy), ("chunked, 1 thread", c_one),
                        ("chunked, 2 threads", c_two)):  # fmt: skip
            print(f"| {name} | {r['times']['classify']:.1f} | {_mbps(r):.2f} "
                  f"| {r['rss_mib']:.0f} |")  # fmt: skip
        print(f"| chunked, 2 threads, {fits} ({np.prod(fits) / MIB:.0f} MiB, chunks {chunks}) "
              f"| {big_classify['times']['classify']:.1f} | {_mbps(big_classify):.2f} "
              f"| {big_classify['rss_mib']:.0f} |", flush=True)  # fmt: skip
        shutil.rmtree(cfolder)

        print("\nPeak RSS of the chunked pipeline (2 threads):")
        print("| volume | MiB | chunks | chunk MiB | total s | MiB/s | peak RSS MiB |")
        print("|---|---|---|---|---|---|---|")
        _row(fits, chunks, two)
        _row(fits, small_chunks, small)
        shutil.rmtree(folder)
        _big_row(scratch, big, chunks, args.big_steps)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _big_row(scratch: Path, big: tuple[int, ...], chunks: tuple[int, ...], steps: str) -> None:
    folder = scratch / "big"
    folder.mkdir()
    start = time.perf_counter()
    make_volume(folder, big, chunks)
    made = time.perf_counter() - start
    print(f"\n{big}: volume written in {made:.0f} s", flush=True)
    if steps in ("pipeline", "both"):
        r = _in_subprocess("chunked", folder, workers=2, chunks=None)
        _row(big, chunks, r)
        t = r["times"]
        print(f"threshold {t['threshold']:.0f} s, clean {t['clean']:.0f} s, evaluate "
              f"{t['evaluate']:.0f} s, total {sum(t.values()):.0f} s; counts {r['counts']}; "
              f"load average now {_load()}", flush=True)  # fmt: skip
    if steps in ("classify", "both"):
        _classifier(folder)
        r = _in_subprocess("classify_chunked", folder, workers=2)
        seconds = r["times"]["classify"]
        print(f"seglab classify, 2 threads: {seconds:.0f} s, {_mbps(r):.2f} MiB/s, peak RSS "
              f"{r['rss_mib']:.0f} MiB; load average now {_load()}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
