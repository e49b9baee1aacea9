"""The study behind the CPU recommendations: candidate modifications of the textbook step
(:class:`StepOptions`: fused losses, a frozen D during the G update, channels_last, optimizer
implementations, thread count, oneDNN off, ``torch.compile``), each timed interleaved against
the textbook step and checked for giving the same numbers (the step of paper section 4:
Adam, lr 2e-4, beta1 0.5).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from benchmarks.common import (TRAIN_CONFIGS, count_flops, interleaved, median, paired_ratio,
                               torch_threads)
from benchmarks.textbook import PlainLoop
from benchmarks.training import (cycle_batches, library_step, loop_args, make_trainer,
                                 plain_batches)
from dcgan_lib.models import sample_z


@dataclass(frozen=True)
class StepOptions:
    """A candidate modification of the textbook step (all off = the textbook step)."""

    logits: bool = False        # BCEWithLogitsLoss on D's logit instead of Sigmoid + BCELoss
    one_backward: bool = False  # one backward of errD_real + errD_fake instead of two
    freeze_d: bool = False      # D.requires_grad_(False) during the G update: no D weight grads
    set_to_none: bool = True    # zero_grad(set_to_none=...) (torch 2.x default: True)
    channels_last: bool = False  # NHWC memory format for both networks and the batch
    adam: str = "foreach"       # "foreach" (torch default), "fused", "for-loop"
    items: bool = True          # read the five logged numbers with .item() every step
    threads: int | None = None  # torch.set_num_threads during the step (None: as is)
    mkldnn: bool = True         # oneDNN (MKL-DNN) kernels enabled
    compile: bool = False       # torch.compile both networks (inductor)


class VariantLoop:
    """The textbook step with the modifications in :class:`StepOptions` (same numbers: every
    option changes how the step is computed, not what it computes)."""

    def __init__(self, G: nn.Module, D: nn.Module, nz: int, z_dist: str, lr: float,
                 betas: tuple[float, float], device: torch.device, opts: StepOptions,
                 seed: int = 0):
        self.device, self.nz, self.z_dist, self.opts = device, nz, z_dist, opts
        self.fmt = torch.channels_last if opts.channels_last else torch.contiguous_format
        self.G = copy.deepcopy(G).to(device, memory_format=self.fmt)
        D = copy.deepcopy(D).to(device, memory_format=self.fmt)
        self.D = D
        self.netD = D if opts.logits else nn.Sequential(D, nn.Sigmoid())
        self.criterion = nn.BCEWithLogitsLoss() if opts.logits else nn.BCELoss()
        kw = {"fused": {"fused": True}, "foreach": {}, "for-loop": {"foreach": False}}[opts.adam]
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=betas, **kw)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas, **kw)
        self.fG = torch.compile(self.G) if opts.compile else self.G
        self.fD = torch.compile(self.netD) if opts.compile else self.netD
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, data: torch.Tensor) -> dict:
        """One step on ``data`` (B, C, H, W) in [-1, 1] under the options' thread count and
        oneDNN setting; returns what :class:`~benchmarks.textbook.PlainLoop` returns ({} when
        ``items`` is off)."""
        o = self.opts
        off = torch.backends.mkldnn.flags(enabled=False) if not o.mkldnn else \
            contextlib.nullcontext()
        with torch_threads(o.threads), off:
            return self._step(data)

    def _step(self, data: torch.Tensor) -> dict:
        o, dev, crit = self.opts, self.device, self.criterion
        real = data.to(dev).contiguous(memory_format=self.fmt)
        b = real.shape[0]
        ones = torch.ones(b, device=dev)
        zeros = torch.zeros(b, device=dev)
        self.optD.zero_grad(set_to_none=o.set_to_none)
        out_real = self.fD(real)
        err_real = crit(out_real, ones)
        z = sample_z(b, self.nz, self.z_dist, self.gen, dev)
        fake = self.fG(z)
        out_fake = self.fD(fake.detach())
        err_fake = crit(out_fake, zeros)
        if o.one_backward:
            (err_real + err_fake).backward()
        else:
            err_real.backward()
            err_fake.backward()
        self.optD.step()
        if o.freeze_d:
            self.netD.requires_grad_(False)
        self.optG.zero_grad(set_to_none=o.set_to_none)
        out_g = self.fD(fake)
        err_g = crit(out_g, ones)
        err_g.backward()
        if o.freeze_d:
            self.netD.requires_grad_(True)
        self.optG.step()
        if not o.items:
            return {}
        p = torch.sigmoid if o.logits else (lambda t: t)
        return dict(loss_d=(err_real + err_fake).item(), loss_g=err_g.item(),
                    d_x=p(out_real).mean().item(), d_g_z1=p(out_fake).mean().item(),
                    d_g_z2=p(out_g).mean().item())



def candidate_options(args) -> dict[str, StepOptions]:
    """The candidates of the CPU study: each one change to the textbook step, then combos."""
    nthreads = torch.get_num_threads()
    c = {
        "textbook (again: noise floor)": StepOptions(),
        "BCEWithLogits (no sigmoid)": StepOptions(logits=True),
        "one backward for D's two losses": StepOptions(one_backward=True),
        "freeze D during G update": StepOptions(freeze_d=True),
        "zero_grad(set_to_none=False)": StepOptions(set_to_none=False),
        "channels_last": StepOptions(channels_last=True),
        "Adam fused=True": StepOptions(adam="fused"),
        "Adam for-loop (foreach=False)": StepOptions(adam="for-loop"),
        "no .item() per step": StepOptions(items=False),
        "oneDNN off": StepOptions(mkldnn=False),
    }
    if nthreads > 1:
        c["1 thread"] = StepOptions(threads=1)
    # Trainer.train_step on a CPU is the next-but-one row ("+ channels_last"): channels-last
    # became its CPU default after this study measured it; the row below is the step without
    lib = StepOptions(logits=True, freeze_d=True)
    c["logits + freeze D (as the library)"] = lib
    c["logits + freeze D + channels_last"] = dataclasses.replace(lib, channels_last=True)
    c["logits + freeze D + fused Adam"] = dataclasses.replace(lib, adam="fused")
    c["logits + freeze D + channels_last + fused Adam"] = dataclasses.replace(
        lib, channels_last=True, adam="fused")
    if args.compile:
        c["logits + freeze D + torch.compile"] = dataclasses.replace(lib, compile=True)
    if args.only_variants:
        keep = [k for k in c if any(s.lower() in k.lower() for s in args.only_variants)]
        c = {k: c[k] for k in keep}
    return c


def _rel_diff(a: nn.Module, b: nn.Module) -> float:
    """|w_a - w_b| / |w_a| over all parameters of two copies of a network (0: identical)."""
    wa = torch.cat([p.detach().float().cpu().flatten() for p in a.parameters()])
    wb = torch.cat([p.detach().float().cpu().flatten() for p in b.parameters()])
    return ((wa - wb).norm() / wa.norm()).item()


def bench_variants(args, device: torch.device) -> tuple[list[dict], str]:
    """The study's rows: every candidate of :func:`candidate_options`, the textbook step and
    ``Trainer.train_step``, on the trainer's weights, timed round-robin; per row images/s,
    speed-up over the textbook step (median and range over rounds), GFLOP an image and the
    relative difference of G's weights from the textbook step's after the same steps.
    Returns the rows and a description of the set-up."""
    name, size, nc = next(c for c in TRAIN_CONFIGS if c[1] == args.variant_size
                          and c[2] == args.variant_channels)
    with tempfile.TemporaryDirectory() as out:
        tr = make_trainer(size, nc, args.batch_size, args.width, device, out, args.n_images)
        la = loop_args(tr, device)
        loops: dict[str, Callable] = {"textbook": PlainLoop(**la)}
        opts = candidate_options(args)
        for k, o in opts.items():
            loops[k] = VariantLoop(**la, opts=o)
        ob = cycle_batches(tr)
        loops["library Trainer.train_step"] = library_step(tr, ob)
        batches = {k: plain_batches(tr) for k in loops if k != "library Trainer.train_step"}
        fns = {k: (lambda k=k: loops[k](next(batches[k]))) if k in batches else loops[k]
               for k in loops}
        extra: dict[str, dict] = {k: {} for k in fns}
        compiling = any(o.compile for o in opts.values())
        for k, fn in fns.items():  # first step: FLOPs (and the compile, timed apart)
            opt = opts.get(k)
            if opt is not None and opt.compile:
                t0 = time.perf_counter()  # wall: the compiler works in subprocesses too
                fn()
                fn()  # the G update with D frozen compiles a second graph
                extra[k]["compile wall s"] = time.perf_counter() - t0
                fn()
            else:
                extra[k]["GFLOP/img"] = count_flops(fn) / args.batch_size / 1e9
                if compiling and k in batches:
                    fn(), fn()  # every loop makes 3 steps here, as the compiled one
        t = interleaved(fns, args.repeats, args.warmup, device)
    ref = loops["textbook"].G
    rows = []
    for k in fns:
        row = {"candidate": k, "img/s": args.batch_size / median(t[k]),
               "speed-up vs textbook": paired_ratio(t["textbook"], t[k]),
               "min..max": f"{min(a / b for a, b in zip(t['textbook'], t[k])):.2f}.."
                           f"{max(a / b for a, b in zip(t['textbook'], t[k])):.2f}"}
        row.update(extra[k])
        model = loops[k].G if k in opts or k == "textbook" else tr.G
        if k in opts or k == "textbook":
            row["G rel. diff"] = _rel_diff(ref, model)
        rows.append(row)
    return rows, f"{name}, batch {args.batch_size}, width {args.width}"
