"""Wall time and peak resident memory of one benchmark stage (used by ``bench_scale.py``).

A stage's peak is sampled, not read from ``getrusage``: ``ru_maxrss`` is the whole process's
peak since it started, so after the first big stage every later stage would report the same
figure. A background thread reads the resident set size every ``interval`` seconds while the
stage runs; a spike shorter than that can be missed, so the peak is a lower bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024


def rss_bytes() -> int:
    """This process's resident set size now (``VmRSS``; psutil where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.Process().memory_info().rss)


@dataclass
class StageResult:
    """One stage's figures: wall seconds, absolute peak RSS and the peak above the RSS the
    stage started with (what the stage itself needed), plus free-form details."""

    seconds: float = 0.0
    peak_mb: float = 0.0
    delta_mb: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "peak_mb": self.peak_mb,
            "delta_mb": self.delta_mb,
            "details": self.details,
        }


class _Sampler(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = rss_bytes()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())


@contextmanager
def measured(name: str, interval: float = 0.05) -> Iterator[StageResult]:
    """Time the ``with`` body and sample its peak RSS; prints one line when it ends."""
    result = StageResult()
    baseline = rss_bytes()
    sampler = _Sampler(interval)
    sampler.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        peak = max(sampler.peak, rss_bytes())
        result.peak_mb = peak / MB
        result.delta_mb = (peak - baseline) / MB
        print(
            f"  {name:<22} {result.seconds:8.1f} s   peak RSS {result.peak_mb:7.0f} MB"
            f" (+{result.delta_mb:.0f} MB)",
            flush=True,
        )
