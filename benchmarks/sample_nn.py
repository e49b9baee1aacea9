#!/usr/bin/env python
"""Table 3's 10M column, its cost: samples/s of drawing labelled samples from the conditional
generator and fitting the streaming 1-NN classifier on them, and the share of the machine's
matrix-multiply (sgemm) rate that this pipeline reaches (issue 24, item 3).

    python benchmarks/sample_nn.py [--n 20000] [--threads 1 2] [--batch 512] [--block 2048]
                                   [--queries 10000] [--mm-size 2048] [--repeats 3]

The pipeline is the library's own: ``conditional.generate_labelled`` (the appendix's
``CondGenerator`` at 28x28, batch statistics as the authors sampled) streamed into
``conditional.nn_predictions`` (``knn.StreamingNN``: distances to ``--queries`` images, 10,000
= MNIST's test set). Its arithmetic per sample is counted by
``torch.utils.flop_counter.FlopCounterMode``: the generator (about 36 MFLOP) plus the distances
(2 x queries x 784 = about 16 MFLOP for 10,000 queries); the share of the sgemm rate is
``(MFLOP per sample) x samples/s / (sgemm GFLOP/s)``, counting both parts. The sgemm rate is
``torch.mm`` of two ``--mm-size`` square float32 matrices, measured right before and after each
thread setting (the median of both), so a busy spell of a shared machine affects both alike.
The goal is at least 60% of the sgemm rate. The two parts are also timed alone on
``--n-part`` samples (sampling only; distances only, on samples drawn beforehand) to show which
one falls short. The generator is untrained (the same arithmetic as a trained one) and the
queries are random images in [-1, 1] (distances cost the same whatever the pixels).

Also prints the projected time of the paper's 10M samples at the measured rate.
"""
from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine_rows, matmul_rate, median, print_table, torch_threads  # noqa: E402
from dcgan_lib.conditional import CondGenerator, generate_labelled, nn_predictions  # noqa: E402
from dcgan_lib.knn import StreamingNN  # noqa: E402

GOAL = 0.60            # share of the sgemm rate the pipeline should reach
PAPER_N = 10_000_000   # table 3's largest column
IMAGE_SIZE = 28


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000,
                   help="samples through the pipeline per thread setting (default 20,000; the "
                        "paper's column is 10M)")
    p.add_argument("--n-part", type=int, default=None,
                   help="samples for each part timed alone (default min(n, 4096); 0 skips)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   help="torch thread counts to measure (default 1 2)")
    p.add_argument("--batch", type=int, default=None,
                   help="generator batch (default: generate_labelled's own default)")
    p.add_argument("--block", type=int, default=2048,
                   help="StreamingNN block: samples per distance matrix product (default 2048)")
    p.add_argument("--queries", type=int, default=10_000,
                   help="query images the classifier scores (default 10,000: MNIST's test set)")
    p.add_argument("--mm-size", type=int, default=2048,
                   help="size of the square torch.mm measuring the sgemm rate (default 2048)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats of each torch.mm")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for name in ("n", "queries", "block", "mm_size", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)}: give at least 1")
    if args.batch is not None and args.batch < 2:
        p.error(f"--batch {args.batch}: give at least 2 (batch-norm statistics)")
    if min(args.threads) < 1:
        p.error(f"--threads {' '.join(map(str, args.threads))}: give counts of at least 1")
    if args.n_part is None:
        args.n_part = min(args.n, 4096)
    return args


def batch_size(args) -> int:
    """``--batch``, else ``generate_labelled``'s default batch."""
    return args.batch or inspect.signature(generate_labelled).parameters["batch"].default


def _batch_kw(args) -> dict:
    return {"batch": batch_size(args)}


def flops_per_sample(G: CondGenerator, queries: torch.Tensor, args) -> tuple[float, float]:
    """(generator FLOPs, distance FLOPs) per sample, counted by ``FlopCounterMode`` on one
    batch of the pipeline's own calls."""
    b = batch_size(args)
    with FlopCounterMode(display=False) as fc:
        x, y = next(generate_labelled(G, b, batch=b))
    g = fc.get_total_flops() / len(x)
    knn = StreamingNN(queries, args.block)
    with FlopCounterMode(display=False) as fc:
        knn.partial_fit(x, y)
    return g, fc.get_total_flops() / len(x)


def _row(threads: int, part: str, n: int, secs: float, mflop: float, sgemm: float) -> dict:
    rate = n / secs
    gflops = mflop * rate / 1e3
    return {"part": part, "threads": threads, "samples": n, "seconds": secs,
            "samples/s": rate, "MFLOP/sample": mflop, "GFLOP/s": gflops,
            "% of sgemm": 100 * gflops / sgemm}


def measure(args, threads: int, G: CondGenerator, queries: torch.Tensor,
            g_flops: float, d_flops: float) -> tuple[list[dict], float]:
    """The rows of one thread setting, and its sgemm GFLOP/s."""
    cpu = torch.device("cpu")
    with torch_threads(threads):
        mm = [matmul_rate(args.mm_size, cpu, args.repeats)]
        rows = []
        if args.n_part:
            t0 = time.perf_counter()
            xs, ys = [], []
            for x, y in generate_labelled(G, args.n_part, seed=args.seed, **_batch_kw(args)):
                xs.append(x)
                ys.append(y)
            t_g = time.perf_counter() - t0
            x, y = torch.cat(xs), torch.cat(ys)
            knn = StreamingNN(queries, args.block)
            t0 = time.perf_counter()
            knn.partial_fit(x, y)
            t_d = time.perf_counter() - t0
            rows += [("sampling alone (generate_labelled)", args.n_part, t_g, g_flops),
                     (f"distances alone (StreamingNN, {len(queries):,} queries)", args.n_part,
                      t_d, d_flops)]
        t0 = time.perf_counter()
        nn_predictions(generate_labelled(G, args.n, seed=args.seed, **_batch_kw(args)),
                       queries, [args.n], block=args.block, log=None)
        t_p = time.perf_counter() - t0
        mm.append(matmul_rate(args.mm_size, cpu, args.repeats))
    sgemm = median(mm)
    rows.append(("pipeline (sampling + distances)", args.n, t_p, g_flops + d_flops))
    return [_row(threads, part, n, s, f / 1e6, sgemm) for part, n, s, f in rows], sgemm


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    G = CondGenerator(image_size=IMAGE_SIZE)
    queries = torch.rand(args.queries, 1, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1
    g_flops, d_flops = flops_per_sample(G, queries, args)
    print_table("machine", machine_rows(torch.device("cpu")))
    rows, mm_rows, shares = [], [], {}
    for t in args.threads:
        got, sgemm = measure(args, t, G, queries, g_flops, d_flops)
        rows += got
        mm_rows.append({"threads": t, f"torch.mm {args.mm_size}x{args.mm_size} GFLOP/s": sgemm})
        shares[t] = got[-1]["% of sgemm"] / 100
    batch = batch_size(args)
    print_table("sgemm rate (float32 torch.mm, median of before and after)", mm_rows)
    print_table(
        f"sampling + streaming 1-NN, CondGenerator {IMAGE_SIZE}x{IMAGE_SIZE} (batch {batch}), "
        f"{args.queries:,} queries (block {args.block})", rows,
        note=f"per sample: generator {g_flops / 1e6:.1f} MFLOP + distances {d_flops / 1e6:.1f} "
             "MFLOP (FlopCounterMode); % of sgemm counts both parts")
    pipe = [r for r in rows if r["part"].startswith("pipeline")]
    for r in pipe:
        hours = PAPER_N / r["samples/s"] / 3600
        met = "met" if r["% of sgemm"] >= 100 * GOAL else "NOT met"
        print(f"{r['threads']} thread(s): {r['samples/s']:,.0f} samples/s, "
              f"{r['% of sgemm']:.0f}% of the sgemm rate (goal {GOAL:.0%}: {met}); "
              f"{PAPER_N:,} samples would take {hours:.1f} h")
    sys.stdout.flush()
    return {"rows": rows, "sgemm": mm_rows, "share": shares, "flops": (g_flops, d_flops)}


if __name__ == "__main__":
    main()
