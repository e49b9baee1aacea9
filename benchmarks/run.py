#!/usr/bin/env python
"""Throughput and memory of dcgan_lib on the machine it runs on (issue 7, "Benchmarks").

    python benchmarks/run.py [--quick] [--device cpu|cuda] [--variants] [--compile]
                             [--loader] [--threads N] [--clock wall|cpu] [--json PATH]

Prints, in order:

* the machine: CPU model, cores, torch threads, load average, GPU if any;
* the measured float32 matrix-multiply rate (``torch.mm`` of large square matrices), the
  yardstick for "fraction of the machine's peak";
* training images/s at batch 128 for 32x32 grey, 32x32 colour and 64x64 colour: the library's
  ``Trainer.train_step`` beside a plain reference loop written here (the textbook PyTorch
  examples DCGAN step, same models and hyperparameters), timed interleaved in the same process
  and printed as a ratio, with the FLOPs of each step counted by
  ``torch.utils.flop_counter.FlopCounterMode`` so the achieved GFLOP/s can be set against the
  matrix-multiply rate;
* sampling (``metrics.generate``), discriminator feature extraction
  (``features.discriminator_features``) and de-duplication hashing (``dedup``) images/s;
* data loading at LSUN scale (``--loader``, in the default run): ``--n-loader`` synthetic
  256x192 JPEGs (LSUN's ~256-pixel short side) written into an LMDB database in LSUN's format
  (``prepare.write_lsun_lmdb``) and, for comparison, into an image folder; the images/s of a
  ``DataLoader`` over ``data.get_dataset("lsun" / "imagefolder", image_size=64)`` (decode,
  resize, centre crop, scale to [-1, 1]; batch 128, shuffled) with 0, 1 and 2 workers;
* the peak memory of each workload (CUDA: ``torch.cuda.max_memory_allocated``; CPU on Linux:
  the process's peak resident set, reset before each workload through
  ``/proc/self/clear_refs``, minus the resident set at its start; elsewhere the growth of
  ``ru_maxrss``, a lower bound).

``--variants`` adds the study behind the CPU recommendations: candidate modifications of the
textbook step (fused losses, a frozen D during the G update, channels_last, optimizer
implementations, thread count, oneDNN off, ``torch.compile`` with ``--compile``), each timed
interleaved against the textbook step and checked for giving the same numbers.

Every figure is the median of ``--repeats`` timed repeats after ``--warmup`` untimed ones; the
ratios are medians of per-repeat ratios (A and B timed back to back), which survive a machine
shared with other jobs far better than absolute rates. On a busy shared CPU, ``--threads 1
--clock cpu`` times the CPU seconds of a single-threaded process instead of wall seconds: that
measures the work of a step whatever else runs (its noise floor, textbook against itself, is
about 2%). ``--quick`` is a smoke check (< 60 s): small batch and widths, so its figures are
not the paper's.

This file reads the flags and prints the tables; each part lives in its own module:
``common`` (timing, FLOP counting, peak memory, the machine, tables), ``textbook`` (the PyTorch
examples' DCGAN step), ``training`` (the training table), ``throughput`` (sampling, features,
de-duplication), ``loader`` (data loading at LSUN scale), ``variants`` (the study) and
``profile_step`` (``--profile``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from benchmarks.common import CLOCKS, machine_rows, matmul_rate, print_table  # noqa: E402
from benchmarks.loader import (LOADER_BATCH, LOADER_IMAGE_SIZE, LOADER_SIZE,  # noqa: E402
                               bench_loader)
from benchmarks.profile_step import bench_profile  # noqa: E402
from benchmarks.throughput import bench_dedup, bench_features, bench_sampling  # noqa: E402
from benchmarks.training import bench_training  # noqa: E402
from benchmarks.variants import bench_variants  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke check in well under a minute: batch 16, width 16, few repeats")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where to run (default cpu)")
    p.add_argument("--variants", action="store_true",
                   help="also run the study of candidate optimisations of the training step")
    p.add_argument("--only-variants", nargs="*", default=None, metavar="TEXT",
                   help="keep only the candidates whose name contains one of these texts")
    p.add_argument("--variants-only", action="store_true",
                   help="run the machine check and the study, nothing else")
    p.add_argument("--skip-main", action="store_true",
                   help="leave out the training, sampling, features and de-duplication tables")
    p.add_argument("--profile", action="store_true",
                   help="also profile one Trainer.train_step (torch.profiler, grouped)")
    p.add_argument("--loader", action="store_true",
                   help="run the data-loading rows (LSUN LMDB vs image folder, 0/1/2 workers) "
                        "even with --skip-main or --variants-only; they are in the default run")
    p.add_argument("--skip-loader", action="store_true",
                   help="leave out the data-loading rows")
    p.add_argument("--n-loader", type=int, default=None,
                   help="synthetic 256x192 images for the loader rows (default 2000, quick 256)")
    p.add_argument("--loader-repeats", type=int, default=None,
                   help="timed passes per loader row (default 2, quick 1)")
    p.add_argument("--loader-format", default="JPEG", choices=["JPEG", "WEBP"],
                   help="encoding of the loader images (default JPEG; LSUN's databases hold WebP)")
    p.add_argument("--compile", action="store_true",
                   help="include torch.compile in the study (compiles for minutes on a CPU)")
    p.add_argument("--variant-size", type=int, default=32, choices=[32, 64])
    p.add_argument("--variant-channels", type=int, default=1, choices=[1, 3])
    p.add_argument("--batch-size", type=int, default=None, help="default 128 (quick: 16)")
    p.add_argument("--width", type=int, default=None,
                   help="ngf = ndf, default 64 (quick: 16)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5, quick 3)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed rounds after the FLOP-counting step, which warms up too "
                        "(default 1, quick 0)")
    p.add_argument("--mm-size", type=int, default=None,
                   help="matrix size (default 2048, quick 512)")
    p.add_argument("--n-sample", type=int, default=None,
                   help="images for sampling / features (default 1024, quick 128)")
    p.add_argument("--n-dedup", type=int, default=None,
                   help="images for de-duplication (default 8192, quick 1024)")
    p.add_argument("--n-images", type=int, default=None,
                   help="synthetic training images (default 2 batches)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads first")
    p.add_argument("--clock", default="wall", choices=list(CLOCKS),
                   help="time by the wall clock (default) or by this process's CPU time: with "
                        "--threads 1 on a busy shared machine, CPU time measures the work of "
                        "a step and ignores the waiting")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--verbose", action="store_true", help="print each training row as it is done")
    a = p.parse_args(argv)
    q = a.quick
    defaults = dict(batch_size=16 if q else 128, width=16 if q else 64, repeats=3 if q else 5,
                    warmup=0 if q else 1, mm_size=512 if q else 2048,
                    n_sample=128 if q else 1024, n_dedup=1024 if q else 8192,
                    n_loader=256 if q else 2000, loader_repeats=1 if q else 2)
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.n_images is None:
        a.n_images = 2 * a.batch_size
    for k in ("batch_size", "width", "repeats", "mm_size", "n_sample", "n_dedup", "n_loader",
              "loader_repeats"):
        if getattr(a, k) < (2 if k == "batch_size" else 1):
            p.error(f"--{k.replace('_', '-')} must be positive (batch size at least 2)")
    if a.n_images < a.batch_size:
        p.error(f"--n-images ({a.n_images}) must be at least --batch-size ({a.batch_size})")
    if a.warmup < 0:
        p.error("--warmup must be >= 0")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no CUDA GPU here (torch.cuda.is_available() is "
                "False); run with --device cpu")
    if a.clock == "cpu" and a.device == "cuda":
        p.error("--clock cpu times CPU work only; use --clock wall with --device cuda")
    if a.variants_only:
        a.variants = a.skip_main = True
    a.run_loader = (a.loader or not a.skip_main) and not a.skip_loader
    return a


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    common.use_clock(args.clock)
    clock_note = "" if args.clock == "wall" else \
        "\nTimes are CPU seconds of this process (--clock cpu), not wall seconds."
    device = torch.device(args.device)
    t_start = time.perf_counter()
    mode = "quick smoke check (NOT the paper's batch/width)" if args.quick else "full"
    print(f"# dcgan_lib benchmarks: {mode}; batch {args.batch_size}, ngf = ndf = {args.width}, "
          f"median of {args.repeats} repeats after {args.warmup} warm-up, {args.clock} clock")
    print(f"# command: python benchmarks/run.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    result: dict = {"args": vars(args)}
    result["machine"] = machine_rows(device)
    print_table("machine", result["machine"])
    mm = matmul_rate(args.mm_size, device, args.repeats)
    mm_rows = [{"matmul": f"torch.mm float32 {args.mm_size}x{args.mm_size}",
                "GFLOP/s": mm}]
    if device.type == "cuda":
        mm_rows.append({"matmul": f"torch.mm bfloat16 {args.mm_size}x{args.mm_size}",
                        "GFLOP/s": matmul_rate(args.mm_size, device, args.repeats,
                                               torch.bfloat16)})
    result["matmul"] = mm_rows
    print_table("matrix multiply (the machine's measured peak)", mm_rows)
    if not args.skip_main:
        result["training"] = bench_training(args, device, mm)
        print_table(
            "training images/s (Trainer.train_step vs the textbook loop, interleaved)",
            result["training"],
            "ours/plain: median of per-repeat time ratios (>1: ours faster). GFLOP/img: conv and "
            "matmul FLOPs of one step (forward + backward) per image, FlopCounterMode.\n"
            "% of mm: ours GFLOP/s over the float32 torch.mm rate above. MiB: peak extra memory "
            "of one step (" + ("cuda max_memory_allocated" if device.type == "cuda"
                               else "peak RSS") + ")." + clock_note)
        other = bench_sampling(args, device) + bench_features(args, device) + bench_dedup(args)
        result["other"] = other
        print_table("sampling, features, de-duplication", other,
                    "peak MiB: extra memory of one pass over the images "
                    "(de-duplication always on the CPU).")
    if args.run_loader:
        result["loader"] = bench_loader(args, device)
        print_table(
            f"data loading at LSUN scale ({args.n_loader} synthetic {LOADER_SIZE[0]}x"
            f"{LOADER_SIZE[1]} {args.loader_format} images, to {LOADER_IMAGE_SIZE}x"
            f"{LOADER_IMAGE_SIZE} colour, batch {LOADER_BATCH})", result["loader"],
            "img/s: images delivered by a shuffled DataLoader pass (decode, resize, centre crop, "
            "scale to [-1, 1]; workers started\ninside the pass, as every epoch of the trainer; "
            "pin_memory on CUDA), wall clock, median of " + str(args.loader_repeats) +
            " passes; vs 0 workers: median of\nper-pass time ratios. MiB on disk: data.mdb + "
            "lock.mdb, or the image files.")
    if args.variants:
        rows, what = bench_variants(args, device)
        result["variants"] = rows
        print_table(f"study: candidate changes to the textbook step ({what})", rows,
                    "speed-up: median over rounds of textbook time / candidate time, all timed "
                    "round-robin in one process; min..max over rounds.\nG rel. diff: |w - "
                    "w_textbook| / |w_textbook| over G's weights after the same steps (0 = "
                    "bit-identical; Adam's first steps move\nevery weight by about lr whatever "
                    "the size of its gradient, so rounding-level differences show as 1e-3 to "
                    "1e-2)." + clock_note)
    if args.profile:
        rows, what = bench_profile(args, device)
        result["profile"] = rows
        print_table(f"profile of one Trainer.train_step ({what})", rows,
                    "torch.profiler, " + ("GPU kernel time" if device.type == "cuda" else
                                          "wall clock of the CPU ops")
                    + "; GFLOP/s: FLOPs of the group in one step (FlopCounterMode) over its "
                      "time.")
    if hasattr(os, "getloadavg"):
        print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"total {time.perf_counter() - t_start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)
    return result


if __name__ == "__main__":
    main()
