"""Two checkouts of SegLab timed in one run: does a change make anything slower?

    git worktree add --detach ../seglab-before <commit>
    python benchmarks/bench_versions.py ../seglab-before            # 5 alternating rounds
    python benchmarks/bench_versions.py ../seglab-before --quick    # small sizes
    python benchmarks/bench_versions.py ../seglab-before --write    # also update README.md

Each measurement runs the checkout's own benchmark code (``benchmarks/bench_classifier.py``
and ``benchmarks/bench_large.py`` of that checkout) against that checkout's ``src`` in a fresh
process, alternating before / after round by round (after one unrecorded round that fills
both checkouts' numba caches), so both see the same machine load. The
table gives the median and the range (min to max) of each quantity over the rounds, and the
load average before and after. Same tasks, same sizes, same threads on both sides.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(checkout: Path, code: str) -> dict:
    """Run `code` (which prints one JSON line last) with `checkout`'s src and benchmarks."""
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=checkout / "benchmarks",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{checkout}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _classifier(task: str, *args: object) -> str:
    return (
        "import json, bench_classifier as b; "
        f"print(json.dumps(b.TASKS[{task!r}](*{list(args)!r})))"
    )


def _large(folder: Path) -> str:
    return (
        "import json; from pathlib import Path; import bench_large as b; "
        f"r = b.run_chunked(Path({str(folder)!r}), 2, None); "
        "r['total'] = sum(r['times'].values()); r['mib_s'] = b._mbps(r); "
        "r.update(r.pop('times')); print(json.dumps(r))"
    )


def _make_volume(checkout: Path, folder: Path, shape: tuple[int, ...]) -> None:
    chunks = (shape[0] // 4 or 1, *(min(512, n) for n in shape[1:]))
    _run(
        checkout,
        "import json; from pathlib import Path; import bench_large as b; "
        f"b.make_volume(Path({str(folder)!r}), {shape!r}, {chunks!r}); print('{{}}')",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the other checkout (e.g. a git worktree)")
    parser.add_argument("--runs", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="small sizes (development)")
    parser.add_argument("--write", action="store_true", help="write the table to README.md")
    options = parser.parse_args()
    checkouts = {"before": options.before.resolve(), "after": HERE.parent}
    size = 512 if options.quick else 2048
    shape3d = [8, 128, 128] if options.quick else [16, 512, 512]
    volume = (16, 512, 512) if options.quick else (64, 2048, 2048)
    tasks = {
        f"2D {size}² classifier (features, fit, predict)": (
            _classifier("seglab_2d", size),
            ("features", "fit", "predict", "total"),
        ),
        f"live update {size}² (stroke -> preview)": (
            _classifier("live", size, 5),
            ("median",),
        ),
        f"3D features {'x'.join(map(str, shape3d))}": (
            _classifier("seglab_3d", shape3d),
            ("time",),
        ),
    }
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: dict[str, dict[str, list[dict]]] = {n: {k: [] for k in checkouts} for n in tasks}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        _make_volume(checkouts["after"], folder, volume)
        mib = math.prod(volume) / 2**20
        large = f"seglab threshold + clean + evaluate, {mib:.0f} MiB uint8, 2 threads"
        tasks[large] = (_large(folder), ("threshold", "clean", "evaluate", "total", "mib_s"))
        results[large] = {k: [] for k in checkouts}
        for round_ in range(-1, options.runs):  # round -1 warms the numba caches, unrecorded
            order = list(checkouts) if round_ % 2 == 0 else list(checkouts)[::-1]
            for name, (code, _) in tasks.items():
                for who in order:
                    sys.stderr.write(f"... round {round_ + 1}: {name} ({who})\n")
                    result = _run(checkouts[who], code)
                    if round_ >= 0:
                        results[name][who].append(result)
    load_after = os.getloadavg()

    def cell(values: list[float], unit: str) -> str:
        return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f})"

    rows = ["| measurement | before | after | after / before |", "|---|---|---|---|"]
    for name, (_, keys) in tasks.items():
        for key in keys:
            old = [r[key] for r in results[name]["before"]]
            new = [r[key] for r in results[name]["after"]]
            unit = " MiB/s" if key == "mib_s" else " s"
            ratio = statistics.median(new) / statistics.median(old)
            rows.append(f"| {name}: {key} | {cell(old, unit)} | {cell(new, unit)} | {ratio:.2f} |")
    header = (
        f"Run {started}: `python benchmarks/bench_versions.py {options.before}"
        f"{' --quick' if options.quick else ''}`, {options.runs} alternating rounds, "
        f"{os.cpu_count()} CPUs; median (min-max). Load average before / after: "
        f"{load_before[0]:.1f} / {load_after[0]:.1f}."
    )
    table = "\n".join(rows)
    sys.stdout.write(header + "\n\n" + table + "\n")
    if options.write:
        from _readme import write_block

        write_block("versions-benchmark", header, table)


if __name__ == "__main__":
    main()
