#!/usr/bin/env python
"""Time and peak memory of de-duplication hashing (paper section 4.1.1) at scale.

    python benchmarks/dedup_scale.py [--n 1000000] [--batch 4096] [--ae PATH] [--max-distance 0]
                                     [--methods ae,exact] [--tracemalloc]

Streams ``--n`` 32x32 grey images, generated on the fly (Fashion-MNIST's training images
resized to 32x32 once, repeated, each copy with fresh Gaussian noise of sigma 8/255, so nearly
every image is distinct: the hash table's worst case), through each method's key function into
a :class:`dcgan_lib.dedup.HashIndex`; images are never all in memory, only their keys are.
Methods: ``ae`` = the autoencoder codes (paper; ``--ae`` loads a trained one saved with
``DedupAutoencoder.save``, otherwise an untrained one, which costs the same), ``exact`` =
SHA-1 of the bytes, ``phash`` = imagehash's perceptual hash (slow: about 1/20 of the others).

Prints images/s (every 10% and at the end), the process's peak resident set
(``resource.getrusage``: ``ru_maxrss``, which includes torch and the source images), the
growth of the resident set over the run, the hash table's size, optionally the peak of Python
allocations (``--tracemalloc``: what is still allocated at the end is the table; tracing
slows the dict inserts), and the projection to the paper's 3M LSUN images (time and table
memory scale linearly with the number of images; the table size is taken from tracemalloc when
given, else from the resident-set growth, which is noisier). Run one method per process for
clean memory figures: ``ru_maxrss`` is a high-water mark of the whole process.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

import numpy as np
import torch

from dcgan_lib import dedup
from dcgan_lib.data import get_dataset

PAPER_N = 3_000_000


def rss_mib() -> float:
    """Current resident set (Linux /proc), MiB."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_rss_mib() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024


def source_images(root: str | None, synthetic: bool) -> torch.Tensor:
    """The images to repeat: Fashion-MNIST train at 32x32 (uint8), or synthetic shapes."""
    if synthetic:
        from dcgan_lib.data import SyntheticShapes, to_uint8
        return to_uint8(SyntheticShapes(4096, 32, 1).images)[:, 0]
    data = get_dataset("fashion-mnist", root, 32).data
    return torch.cat([dedup.centre_crops(data[i:i + 4096], 32, 1).mul(255).round()
                      .to(torch.uint8)[:, 0] for i in range(0, len(data), 4096)])


def stream(src: torch.Tensor, n: int, batch: int, seed: int = 0):
    """``n`` images in batches: ``src`` repeated, plus Gaussian noise (sigma 8/255)."""
    g = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch):
        m = min(batch, n - start)
        idx = torch.arange(start, start + m) % len(src)
        noise = torch.randn(m, *src.shape[1:], generator=g) * 8
        yield (src[idx].float() + noise).clamp(0, 255).round().to(torch.uint8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="images to hash (default 1M)")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--methods", default="ae,exact", help="comma list of ae, exact, phash")
    ap.add_argument("--ae", default=None, help="trained autoencoder (DedupAutoencoder.save)")
    ap.add_argument("--max-distance", type=int, default=0, help="Hamming radius t (ae, phash)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--synthetic", action="store_true", help="synthetic shapes, not Fashion-MNIST")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = set(methods) - {"ae", "exact", "phash"}
    if bad or args.n < 1 or args.batch < 1:
        ap.error(f"--methods takes ae, exact, phash (got {sorted(bad)}); --n, --batch must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dedup_scale: n={args.n:,} batch={args.batch} methods={methods} t={args.max_distance} "
          f"torch threads={torch.get_num_threads()} cpus={os.cpu_count()} load={load:.1f}")
    src = source_images(args.data_root, args.synthetic)
    if args.ae:
        ae = dedup.DedupAutoencoder.load(args.ae)
        print(f"autoencoder: {args.ae} {ae.config}")
    else:
        ae = dedup.DedupAutoencoder().eval()
        with torch.no_grad():
            ae.mean.copy_((dedup.centre_crops(src[:4096], 32, 3).flatten(1) * 2 - 1).mean(0))
        print("autoencoder: untrained (same cost as a trained one), mean set from the data")
    keyers = {"ae": ae.keys, "exact": dedup.exact_keys, "phash": dedup.phash_keys}
    base_rss = rss_mib()
    print(f"resident set before hashing: {base_rss:,.0f} MiB (torch, source images)")

    for m in methods:
        t = 0 if m == "exact" else args.max_distance
        index = dedup.HashIndex(t)
        if args.tracemalloc:
            tracemalloc.start()
        rss0, t0, key_s, done = rss_mib(), time.perf_counter(), 0.0, 0
        every = max(args.n // 10, 1)
        for batch in stream(src, args.n, args.batch):
            tk = time.perf_counter()
            keys = keyers[m](batch)
            key_s += time.perf_counter() - tk
            index.add(keys)
            before, done = done, done + len(batch)
            if done // every != before // every or done == args.n:
                dt = time.perf_counter() - t0
                print(f"  {m}: {done:>10,} images  {dt:7.1f} s  {done / dt:9,.0f} images/s  "
                      f"rss {rss_mib():,.0f} MiB", flush=True)
        sec = time.perf_counter() - t0
        traced = ([v / 2**20 for v in tracemalloc.get_traced_memory()] if args.tracemalloc
                  else None)
        if args.tracemalloc:
            tracemalloc.stop()
        grow = rss_mib() - rss0
        groups = index.groups()
        per_img = (traced[0] if traced is not None else grow) * 2**20 / args.n
        print(f"{m}: {args.n:,} images in {sec:.1f} s = {args.n / sec:,.0f} images/s "
              f"(keys {key_s:.1f} s; image generation + table {sec - key_s:.1f} s); "
              f"{len(groups):,} groups, "
              f"{index.n_duplicates:,} duplicates"
              + (f", {index.comparisons:,} candidate checks" if t else ""))
        print(f"{m}: peak resident set {peak_rss_mib():,.0f} MiB; growth over the run "
              f"{grow:,.0f} MiB ({grow * 2**20 / args.n:.0f} bytes/image)"
              + (f"; tracemalloc: table {traced[0]:,.0f} MiB "
                 f"({traced[0] * 2**20 / args.n:.0f} bytes/image), peak {traced[1]:,.0f} MiB"
                 if traced is not None else ""))
        print(f"{m}: projection to the paper's {PAPER_N:,} images: "
              f"{sec * PAPER_N / args.n / 60:,.1f} min, table about "
              f"{per_img * PAPER_N / 2**20:,.0f} MiB (+ {base_rss:,.0f} MiB baseline)")
        del index, groups
    return 0


if __name__ == "__main__":
    sys.exit(main())
