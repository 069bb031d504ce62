"""Peak memory of windowing a long sensor series, against the size of the series itself.

Measures what training does to a series: `chronological_split`, `supervised_windows` for the
train, val and test parts, and one full shuffled pass of `WindowBatches` over the train part.
Windows are strided views, so the cost should be O(series) (index arrays, one batch), not
O(series x window) as a materialised (n, window, features) array would be.

Run it in a fresh process (as `bench/run.py` does) so nothing else sits in the peak:

    python bench/windowing_memory.py --points 1000000 --window 128 --out /tmp/windowing.json
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from lstmops.data.windows import chronological_split, supervised_windows
from lstmops.train.common import WindowBatches

MB = 1024 * 1024
CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


class PeakRss:
    """Peak resident memory inside a `with` block, above the resident memory at its start.

    On Linux the kernel's own high-water mark (VmHWM) is reset on entry, so no spike is missed;
    elsewhere a thread samples the RSS every millisecond (`method` says which was used).
    """

    def __init__(self) -> None:
        self.start_bytes = 0
        self.peak_bytes = 0
        self.method = "VmHWM" if _can_reset_peak() else "sampled every 1 ms"
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def delta_bytes(self) -> int:
        return max(self.peak_bytes - self.start_bytes, 0)

    def __enter__(self) -> PeakRss:
        self.start_bytes = self._process.memory_info().rss
        self.peak_bytes = self.start_bytes
        if self.method == "VmHWM":
            CLEAR_REFS.write_text("5")  # 5: reset the peak RSS to the current RSS
        else:
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._sampler is None:
            self.peak_bytes = max(self.peak_bytes, _status_kib("VmHWM") * 1024)
        else:
            self._stop.set()
            self._sampler.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)


def _can_reset_peak() -> bool:
    try:
        CLEAR_REFS.write_text("5")
        return _status_kib("VmHWM") > 0
    except OSError:
        return False


def _status_kib(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"{STATUS} has no {field} line")


def measure(
    n_points: int,
    window: int,
    *,
    batch_size: int = 64,
    split: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> dict[str, Any]:
    """Peak RSS above the baseline while windowing an (n_points, 1) float64 series, with the sizes to compare."""
    rng = np.random.default_rng(seed)
    series = rng.standard_normal((n_points, 1)).cumsum(axis=0)  # the sensor value, as prepare keeps it
    with PeakRss() as peak:
        parts = chronological_split(n_points, *split)
        windows = {
            name: supervised_windows(series, series[:, 0], window, split=part)
            for name, part in (("train", parts.train), ("val", parts.val), ("test", parts.test))
        }
        batches = WindowBatches(windows["train"].X, windows["train"].y, batch_size=batch_size, shuffle=True, seed=seed)
        for index in range(len(batches)):
            batches[index]
    n_windows = sum(len(part.y) for part in windows.values())
    series_bytes = series.nbytes
    materialised_bytes = n_windows * window * series.shape[1] * series.itemsize
    return {
        "points": n_points,
        "window": window,
        "batch_size": batch_size,
        "windows": n_windows,
        "train_batches": len(batches),
        "series_mb": series_bytes / MB,
        "materialised_windows_mb": materialised_bytes / MB,
        "peak_rss_delta_mb": peak.delta_bytes / MB,
        "delta_over_series": peak.delta_bytes / series_bytes,
        "materialised_over_series": materialised_bytes / series_bytes,
        "method": peak.method,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)

    result = measure(args.points, args.window, batch_size=args.batch_size)
    print(
        f"{result['points']:,} points, window {result['window']}: series {result['series_mb']:.1f} MB, "
        f"windows if materialised {result['materialised_windows_mb']:,.0f} MB, "
        f"peak RSS delta {result['peak_rss_delta_mb']:.1f} MB ({result['delta_over_series']:.2f}x the series)"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
