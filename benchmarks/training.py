"""Training images/s: the library's ``Trainer.train_step`` beside the textbook loop
(:class:`benchmarks.textbook.PlainLoop`), started from the same weights, timed interleaved in
one process, with the FLOPs of a step and its peak memory (paper section 4's training set-up:
batch 128, Adam 2e-4, beta1 0.5).

Also the helpers that :mod:`benchmarks.variants` and :mod:`benchmarks.profile_step` share:
a library trainer on synthetic images and its steps as zero-argument functions.
"""
from __future__ import annotations

import tempfile
from typing import Callable

import torch

from benchmarks.common import (TRAIN_CONFIGS, count_flops, interleaved, median, paired_ratio,
                               peak_memory, print_table)
from benchmarks.textbook import PlainLoop
from dcgan_lib import data as data_mod
from dcgan_lib.train import Trainer, TrainConfig


def make_trainer(size: int, nc: int, batch: int, width: int, device: torch.device,
                 out: str, n_images: int) -> Trainer:
    """The library's trainer on a preloaded synthetic dataset (paper variant, default
    hyperparameters: Adam 2e-4, beta1 0.5)."""
    cfg = TrainConfig(dataset="synthetic", image_size=size, channels=nc, batch_size=batch,
                      ngf=width, ndf=width, steps=1, out=out, progress=False,
                      device=str(device))
    ds = data_mod.get_dataset("synthetic", image_size=size, channels=nc,
                              synthetic_size=n_images)
    return Trainer(cfg, ds)


def cycle_batches(tr: Trainer):
    """The trainer's own minibatch stream, ``(images, labels or None)`` pairs (on the GPU
    when the data fit there), endless."""
    epoch = 0
    while True:
        yield from tr._batches(epoch, 0)
        epoch += 1


def plain_batches(tr: Trainer):
    """The same images as CPU batches, as the example's DataLoader hands them over."""
    x = tr.dataset.tensors[0].cpu()
    B = tr.cfg.batch_size
    batches = [x[i:i + B] for i in range(0, len(x) - B + 1, B)]
    i = 0
    while True:
        yield batches[i % len(batches)]
        i += 1


def loop_args(tr: Trainer, device: torch.device) -> dict:
    """Keyword arguments that build a textbook loop on the trainer's networks (copied, so the
    same starting weights) and hyperparameters."""
    c = tr.cfg
    return dict(G=tr.G, D=tr.D, nz=c.nz, z_dist=tr.G.z_dist, lr=c.lr, betas=(c.beta1, c.beta2),
                device=device)


def library_step(tr: Trainer, batches) -> Callable[[], dict]:
    """One ``Trainer.train_step`` on the next ``(images, labels)`` of ``batches``, as a
    zero-argument function (it advances ``tr.step`` as the training loop does)."""
    def step():
        rec = tr.train_step(*next(batches))
        tr.step += 1
        return rec
    return step


def bench_training(args, device: torch.device, mm_gflops: float) -> list[dict]:
    """Per image size: the library's ``Trainer.train_step`` and the textbook loop, started
    from the same weights, timed interleaved; FLOPs per image and peak memory of a step."""
    rows = []
    for name, size, nc in TRAIN_CONFIGS:
        with tempfile.TemporaryDirectory() as out:
            tr = make_trainer(size, nc, args.batch_size, args.width, device, out,
                              args.n_images)
            plain = PlainLoop(**loop_args(tr, device))
            pb, ob = plain_batches(tr), cycle_batches(tr)
            tr.G.train()
            tr.D.train()
            ours = library_step(tr, ob)
            plain_step = lambda: plain(next(pb))  # noqa: E731
            f_plain = count_flops(plain_step) / args.batch_size
            f_ours = count_flops(ours) / args.batch_size
            t = interleaved({"plain": plain_step, "ours": ours}, args.repeats, args.warmup,
                            device)
            with peak_memory(device) as m_plain:
                plain_step()
            with peak_memory(device) as m_ours:
                ours()
            ips_plain = args.batch_size / median(t["plain"])
            ips_ours = args.batch_size / median(t["ours"])
            rows.append({
                "training": name, "batch": args.batch_size, "width": args.width,
                "plain img/s": ips_plain, "ours img/s": ips_ours,
                "ours/plain": paired_ratio(t["plain"], t["ours"]),
                "GFLOP/img plain": f_plain / 1e9, "GFLOP/img ours": f_ours / 1e9,
                "ours GFLOP/s": f_ours * ips_ours / 1e9,
                "% of mm": 100 * f_ours * ips_ours / 1e9 / mm_gflops,
                "MiB plain": m_plain["mib"], "MiB ours": m_ours["mib"],
            })
            if args.verbose:
                print_table("training (so far)", rows[-1:])
            del tr, plain
    return rows
