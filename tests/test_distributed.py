"""SegLab on worker processes: a distributed.LocalCluster of two single-threaded workers.

The Python functions and the ``seglab`` command give the in-memory results on it; a worker
that dies mid-run has its tasks retried, or, when dask may not retry, the run fails and
leaves no output that looks finished.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, KilledWorker, LocalCluster
from scipy import ndimage as ndi

import napari_seglab as sl
from napari_seglab import cli
from napari_seglab.core import open_image, save

pytestmark = pytest.mark.slow

# The workers cannot import this test module: send its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

CHUNKS = (16, 48, 48)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    """Smooth blobs with noise, 32 x 96 x 96 uint8 (objects cross the 16 x 48 x 48 chunks)."""
    rng = np.random.default_rng(1)
    field = ndi.gaussian_filter(rng.random((32, 96, 96)), 2.5)
    field = (field - field.min()) / np.ptp(field)
    return (60 + 120 * (field > 0.55) + rng.integers(0, 40, field.shape)).astype(np.uint8)


def _die_once(block: np.ndarray, marker: str) -> np.ndarray:
    """The identity, except that the first call (over all workers) kills its worker."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return block
    os.close(fd)
    os._exit(1)


def test_python_api_equals_in_memory(cluster, volume, tmp_path):
    with Client(cluster):
        result = sl.threshold(da.from_array(volume, chunks=CHUNKS), "otsu")
        cleaned = sl.clean_up(result.mask, remove_smaller_than=30, fill_holes_smaller_than=30)
        save(cleaned, tmp_path / "clean.zarr")
        scores = sl.evaluate(open_image(tmp_path / "clean.zarr"), volume > 150, objects=False)
    eager = sl.threshold(volume, "otsu")
    expected = sl.clean_up(eager.mask, remove_smaller_than=30, fill_holes_smaller_than=30)
    assert result.value == eager.value
    np.testing.assert_array_equal(open_image(tmp_path / "clean.zarr").compute(), expected)
    assert scores.counts == sl.evaluate(expected, volume > 150, objects=False).counts


def test_command_line_equals_in_memory_and_shows_progress(cluster, volume, tmp_path, capsys):
    save(da.from_array(volume, chunks=CHUNKS), tmp_path / "image.zarr")
    address = cluster.scheduler_address
    image, mask, clean = (str(tmp_path / f"{n}.zarr") for n in ("image", "mask", "clean"))
    assert cli.main(["threshold", image, "-o", mask, "--scheduler", address]) == 0
    err = capsys.readouterr().err
    assert "dask dashboard: http" in err and "tasks running" in err
    assert cli.main(["clean", mask, "-o", clean, "--remove-smaller-than", "30",
                     "--fill-holes-smaller-than", "30", "--scheduler", address,
                     "--quiet"]) == 0  # fmt: skip
    eager = sl.threshold(volume, "otsu").mask
    expected = sl.clean_up(eager, remove_smaller_than=30, fill_holes_smaller_than=30)
    np.testing.assert_array_equal(open_image(mask).compute() != 0, eager)
    np.testing.assert_array_equal(open_image(clean).compute() != 0, expected)


def test_a_killed_worker_is_retried(cluster, volume, tmp_path):
    data = da.from_array(volume, chunks=CHUNKS).map_blocks(
        _die_once, marker=str(tmp_path / "died"), meta=np.empty((0, 0, 0), volume.dtype)
    )
    with Client(cluster):
        save(sl.clean_up(data > 150, remove_smaller_than=30), tmp_path / "out.zarr")
    assert (tmp_path / "died").exists()
    np.testing.assert_array_equal(
        open_image(tmp_path / "out.zarr").compute(),
        sl.clean_up(volume > 150, remove_smaller_than=30),
    )


def test_a_killed_worker_without_retries_leaves_no_output(volume, tmp_path):
    data = da.from_array(volume, chunks=CHUNKS).map_blocks(
        _die_once, marker=str(tmp_path / "died"), meta=np.empty((0, 0, 0), volume.dtype)
    )
    out = Path(tmp_path / "out.zarr")
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(  # one worker: no other task in flight writes once the run failed
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
        pytest.raises(KilledWorker),
    ):
        save(data, out)
    assert (tmp_path / "died").exists()
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()


def test_the_documented_slurm_cluster_is_made(tmp_path):
    """docs/large-data.md's SLURM example builds its cluster (no jobs are submitted here)."""
    from dask_jobqueue import SLURMCluster

    with SLURMCluster(
        cores=8, memory="32GiB", walltime="02:00:00", queue="normal", log_directory=tmp_path
    ) as cluster:
        script = cluster.job_script()
        assert "#SBATCH -p normal" in script and "#SBATCH -t 02:00:00" in script
        assert cluster.scheduler_address.startswith("tcp://")
        assert cluster.dashboard_link.startswith("http")
