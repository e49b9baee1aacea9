"""Measuring tools shared by the benchmarks: timing, FLOP counting, peak memory, the machine
description and its matrix-multiply rate, and the plain-text tables ``run.py`` prints.

* :func:`interleaved` times several functions round-robin (order rotating every round), so
  slow spells of a shared machine hit all alike; :func:`paired_ratio` turns two such series
  into a speed-up. The clock is the wall clock, or this process's CPU time after
  ``use_clock("cpu")`` (``run.py --clock cpu``).
* :func:`count_flops` counts the convolution and matrix-product FLOPs of a call
  (``torch.utils.flop_counter.FlopCounterMode``, 2 per multiply-add, forward and backward).
* :func:`peak_memory` measures the peak extra memory of a ``with`` block in MiB (CUDA
  allocator, or the process's peak resident set on Linux).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import resource
import statistics
import sys
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

# (row name, image size in pixels, channels) of the three training set-ups of the paper's book
TRAIN_CONFIGS = (("32x32 grey", 32, 1), ("32x32 colour", 32, 3), ("64x64 colour", 64, 3))

def sync(device: torch.device) -> None:
    """Wait for the GPU's queued work (no-op on the CPU), so that a clock read after it is
    the end of the work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median(xs) -> float:
    """Median of ``xs``; NaN when empty."""
    return statistics.median(xs) if xs else float("nan")


def _proc_status_kib(key: str) -> int | None:
    """The value in KiB of line ``key`` of ``/proc/self/status`` (e.g. VmRSS); None if absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _proc_status_kib("VmHWM") is not None
    except OSError:
        return False


def _malloc_trim() -> None:
    """Give freed heap memory back to the OS so a later peak is not hidden by reuse."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def peak_memory(device: torch.device):
    """Peak extra memory of the ``with`` block in MiB: ``result["mib"]``, ``result["how"]``."""
    res: dict = {}
    if device.type == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        yield res
        sync(device)
        res["mib"] = (torch.cuda.max_memory_allocated(device) - base) / 2**20
        res["how"] = "cuda max_memory_allocated"
        return
    _malloc_trim()
    if _reset_peak_rss():
        base = _proc_status_kib("VmRSS")
        yield res
        res["mib"] = (_proc_status_kib("VmHWM") - base) / 1024
        res["how"] = "peak RSS (VmHWM reset via /proc/self/clear_refs)"
    else:  # ru_maxrss only grows: its growth is a lower bound of the block's peak
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        yield res
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
        res["mib"] = grown / (2**20 if sys.platform == "darwin" else 1024)
        res["how"] = "ru_maxrss growth (lower bound)"


@contextlib.contextmanager
def torch_threads(n: int | None):
    """``torch.set_num_threads(n)`` inside the ``with`` block, restored after (None: as is)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations (2 per multiply-add) of the convolutions and matrix products
    that ``fn()`` runs, forward and backward (elementwise work is not counted)."""
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = CLOCKS["wall"]


def use_clock(name: str) -> None:
    """Time every later :func:`interleaved` call (that passes no clock) by ``CLOCKS[name]``:
    "wall" (seconds of the wall clock) or "cpu" (CPU seconds of this process)."""
    global CLOCK
    CLOCK = CLOCKS[name]



def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int,
                device: torch.device, clock: Callable[[], float] | None = None
                ) -> dict[str, list[float]]:
    """Seconds per call of each function: ``warmup`` untimed rounds, then ``repeats`` timed
    rounds; in every round each function runs once, back to back, the order rotating from
    round to round (A B C, B C A, ...), so slow spells of a shared machine hit all alike.
    ``clock``: the one chosen by :func:`use_clock` (default: wall time), or any function
    returning seconds."""
    clock = clock or CLOCK
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
        sync(device)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            sync(device)
            t0 = clock()
            fns[n]()
            sync(device)
            times[n].append(clock() - t0)
    return times


def paired_ratio(t_ref: list[float], t_new: list[float]) -> float:
    """Median over rounds of (reference time / new time): the speed-up, > 1 is faster."""
    return median([a / b for a, b in zip(t_ref, t_new)])


def timed(fn: Callable[[], object], repeats: int, warmup: int, device) -> float:
    """Median seconds of one call of ``fn`` over ``repeats`` timed calls after ``warmup``."""
    return median(interleaved({"f": fn}, repeats, warmup, device)["f"])


def print_table(title: str, rows: list[dict], note: str | None = None) -> None:
    """Print ``rows`` (dicts, the union of their keys as columns) as a plain-text table under
    ``## title``, first column left-aligned, the others right-aligned; then ``note``."""
    print(f"\n## {title}")
    if not rows:
        print("(nothing)")
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.rjust(w) if i else v.ljust(w)  # noqa: E731
                                  for i, (v, w) in enumerate(zip(vals, widths)))
    print(line(cols))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))
    if note:
        print(note)
    sys.stdout.flush()


def _fmt(v) -> str:
    """A table cell: floats to about three significant digits, NaN as "n/a"."""
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        if abs(v) >= 0.01 or v == 0:
            return f"{v:.2f}"
        return f"{v:.1e}"
    return str(v)


# ---------------------------------------------------------------- the machine
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_rows(device: torch.device) -> list[dict]:
    """The "machine" table: CPU, cores, torch threads and version, load average, GPU."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    rows = [
        {"item": "CPU", "value": f"{cpu_model()} ({torch.backends.cpu.get_cpu_capability()})"},
        {"item": "cores", "value": f"{os.cpu_count()} logical, {usable} usable by this process"},
        {"item": "torch threads", "value": f"{torch.get_num_threads()} intra-op, "
                                           f"{torch.get_num_interop_threads()} inter-op"},
        {"item": "torch", "value": f"{torch.__version__} (oneDNN "
                                   f"{'on' if torch.backends.mkldnn.is_available() else 'off'})"},
        {"item": "python", "value": platform.python_version()},
    ]
    if hasattr(os, "getloadavg"):
        rows.append({"item": "load average", "value": " ".join(f"{x:.2f}"
                                                               for x in os.getloadavg())})
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        rows.append({"item": "GPU", "value": f"{p.name}, {p.total_memory / 2**30:.0f} GiB, "
                                             f"{p.multi_processor_count} SMs"})
    else:
        rows.append({"item": "GPU", "value": "none used"})
    rows.append({"item": "device", "value": str(device)})
    return rows


def matmul_rate(n: int, device: torch.device, repeats: int,
                dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of ``torch.mm`` of two n x n matrices (2 n^3 flops), median of ``repeats``."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = interleaved({"mm": lambda: torch.mm(a, b)}, max(repeats, 3), 1, device)["mm"]
    return 2 * n**3 / median(times) / 1e9
