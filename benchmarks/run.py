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
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import dataclasses
import io
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dcgan_lib import data as data_mod
from dcgan_lib.models import Discriminator, Generator, sample_z
from dcgan_lib.train import Trainer, TrainConfig

TRAIN_CONFIGS = (("32x32 grey", 32, 1), ("32x32 colour", 32, 3), ("64x64 colour", 64, 3))


# ============================================================================ small helpers
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median(xs) -> float:
    return statistics.median(xs) if xs else float("nan")


def _proc_status_kib(key: str) -> int | None:
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


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int,
                device: torch.device, clock: Callable[[], float] | None = None
                ) -> dict[str, list[float]]:
    """Seconds per call of each function: ``warmup`` untimed rounds, then ``repeats`` timed
    rounds; in every round each function runs once, back to back, the order rotating from
    round to round (A B C, B C A, ...), so slow spells of a shared machine hit all alike.
    ``clock``: wall time (default) or, with ``--clock cpu``, the CPU time of this process."""
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


def print_table(title: str, rows: list[dict], note: str | None = None) -> None:
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


# ============================================================================ machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_rows(device: torch.device) -> list[dict]:
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


# ============================================================================ training steps
class PlainLoop:
    """The textbook DCGAN step of the PyTorch examples (``pytorch/examples`` ``dcgan/main.py``),
    on the same networks and with the same hyperparameters as the library's trainer.

    D ends in ``nn.Sigmoid`` and the loss is ``nn.BCELoss``, as in the example; D is updated on
    the real batch (label 1) and on ``G(z).detach()`` (label 0), two ``backward`` calls, then G
    on ``D(G(z))`` with label 1 (which also computes D's weight gradients, discarded at the next
    ``netD.zero_grad()``). The only departure: noise comes from a generator owned by the loop
    (the example uses the global one), so that every loop here sees the same z.
    """

    def __init__(self, G: nn.Module, D: nn.Module, nz: int, z_dist: str, lr: float,
                 betas: tuple[float, float], device: torch.device, seed: int = 0):
        self.device, self.nz, self.z_dist = device, nz, z_dist
        self.netG = copy.deepcopy(G).to(device)
        self.netD = nn.Sequential(copy.deepcopy(D), nn.Sigmoid()).to(device)
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=betas)
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=betas)
        self.gen = torch.Generator().manual_seed(seed)
        self.real_label, self.fake_label = 1.0, 0.0

    def __call__(self, data: torch.Tensor) -> dict:
        device, netD, netG, criterion = self.device, self.netD, self.netG, self.criterion
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = data.to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), self.real_label, dtype=real_cpu.dtype, device=device)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = sample_z(batch_size, self.nz, self.z_dist, self.gen, device)
        fake = netG(noise)
        label.fill_(self.fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(self.real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        return dict(loss_d=errD.item(), loss_g=errG.item(), d_x=D_x, d_g_z1=D_G_z1,
                    d_g_z2=D_G_z2)

    @property
    def G(self) -> nn.Module:
        return self.netG


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


def _cycle_batches(tr: Trainer):
    """The trainer's own minibatch stream (on the GPU when the data fit there), endless."""
    epoch = 0
    while True:
        yield from tr._batches(epoch, 0)
        epoch += 1


def _plain_batches(tr: Trainer):
    """The same images as CPU batches, as the example's DataLoader hands them over."""
    x = tr.dataset.tensors[0].cpu()
    B = tr.cfg.batch_size
    batches = [x[i:i + B] for i in range(0, len(x) - B + 1, B)]
    i = 0
    while True:
        yield batches[i % len(batches)]
        i += 1


def _loop_args(tr: Trainer, device: torch.device) -> dict:
    c = tr.cfg
    return dict(G=tr.G, D=tr.D, nz=c.nz, z_dist=tr.G.z_dist, lr=c.lr, betas=(c.beta1, c.beta2),
                device=device)


def _ours_step(tr: Trainer, batches) -> Callable[[], dict]:
    def step():
        rec = tr.train_step(next(batches))
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
            plain = PlainLoop(**_loop_args(tr, device))
            pb, ob = _plain_batches(tr), _cycle_batches(tr)
            tr.G.train()
            tr.D.train()
            ours = _ours_step(tr, ob)
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


# ============================================================================ other workloads
def _timed(fn: Callable[[], object], repeats: int, warmup: int, device) -> float:
    return median(interleaved({"f": fn}, repeats, warmup, device)["f"])


def bench_sampling(args, device: torch.device) -> list[dict]:
    from dcgan_lib.metrics import generate
    rows = []
    for name, size, nc in TRAIN_CONFIGS:
        G = Generator(size, 100, args.width, nc).to(device)
        n = args.n_sample
        fn = lambda: generate(G, n, batch_size=min(500, n))  # noqa: E731
        sec = _timed(fn, args.repeats, 1, device)
        with peak_memory(device) as m:
            fn()
        rows.append({"workload": f"sampling {name} (metrics.generate)", "images": n,
                     "img/s": n / sec, "peak MiB": m["mib"]})
    return rows


def bench_features(args, device: torch.device) -> list[dict]:
    try:
        from dcgan_lib.features import discriminator_features
    except ImportError as err:
        print(f"\nskipped discriminator features: dcgan_lib.features.discriminator_features "
              f"is not available ({err})")
        return []
    rows = []
    for name, size, nc in TRAIN_CONFIGS:
        D = Discriminator(size, args.width, nc).to(device)
        n = args.n_sample
        x = data_mod.SyntheticShapes(n, size, nc).images
        fn = lambda: discriminator_features(D, x, batch_size=256, verbose=False)  # noqa: E731
        sec = _timed(fn, args.repeats, 1, device)
        with peak_memory(device) as m:
            fn()
        rows.append({"workload": f"D features {name} (features.discriminator_features)",
                     "images": n, "img/s": n / sec, "peak MiB": m["mib"]})
    return rows


def bench_dedup(args) -> list[dict]:
    try:
        from dcgan_lib import dedup
    except ImportError as err:
        print(f"\nskipped de-duplication hashing: dcgan_lib.dedup is not available ({err})")
        return []
    cpu = torch.device("cpu")
    n = args.n_dedup
    x = data_mod.to_uint8(data_mod.SyntheticShapes(n, 32, 3).images)
    ae = dedup.DedupAutoencoder().eval()
    keyers = {"dedup autoencoder codes + hash table (paper 4.1.1)": ae.keys,
              "dedup exact SHA-1 of bytes (baseline)": dedup.exact_keys}
    try:
        import imagehash  # noqa: F401
        keyers["dedup perceptual hash, imagehash (baseline)"] = dedup.phash_keys
    except ImportError:
        print("\nskipped perceptual-hash baseline: imagehash is not installed")
    rows = []
    for label, key_fn in keyers.items():
        def fn(key_fn=key_fn):
            return dedup.hash_stream(dedup.uint8_batches(x, 1024), key_fn, verbose=False)
        sec = _timed(fn, args.repeats, 1, cpu)
        with peak_memory(cpu) as m:
            fn()
        rows.append({"workload": label + " [cpu]", "images": n, "img/s": n / sec,
                     "peak MiB": m["mib"]})
    return rows


# ============================================================================ data loading
LOADER_SIZE = (256, 192)   # width, height of the synthetic photographs (LSUN: short side ~256)
LOADER_WORKERS = (0, 1, 2)
LOADER_BATCH = 128
LOADER_IMAGE_SIZE = 64


def synthetic_photos(n: int, fmt: str = "JPEG", size: tuple[int, int] = LOADER_SIZE,
                     quality: int = 75, seed: int = 0):
    """``n`` encoded images that compress and decode like photographs (a smooth random colour
    field with fine noise; about 12 kB as 256x192 JPEG at quality 75, LSUN's bedrooms average
    14 kB), yielded one at a time as bytes."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    w, h = size
    for _ in range(n):
        low = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        img = np.asarray(Image.fromarray(low).resize((w, h), Image.BICUBIC), np.int16)
        img = img + rng.integers(-12, 13, (h, w, 3), dtype=np.int16)
        buf = io.BytesIO()
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(buf, fmt, quality=quality)
        yield buf.getvalue()


def _loader_pass(ds, workers: int, device: torch.device, seed: int) -> int:
    """One shuffled pass of a DataLoader over ``ds`` (workers started inside: the trainer
    makes a new loader every epoch); returns the number of images delivered."""
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed)).tolist()
    loader = torch.utils.data.DataLoader(ds, batch_size=LOADER_BATCH, sampler=perm,
                                         num_workers=workers, pin_memory=device.type == "cuda",
                                         persistent_workers=False)
    n = 0
    for x, _ in loader:
        if device.type == "cuda":
            x = x.to(device, non_blocking=True)
        n += len(x)
    sync(device)
    if n != len(ds) or x.shape[1:] != (3, LOADER_IMAGE_SIZE, LOADER_IMAGE_SIZE):
        raise RuntimeError(f"loader pass delivered {n} of {len(ds)} images, last batch "
                           f"{tuple(x.shape)}")
    return n


def bench_loader(args, device: torch.device) -> list[dict]:
    """Loader images/s over an LSUN-format LMDB database and over an image folder holding the
    same JPEG files, for 0, 1 and 2 DataLoader workers; passes interleaved (rotating order)."""
    from dcgan_lib import prepare
    n, fmt = args.n_loader, args.loader_format
    ext = {"JPEG": "jpg", "WEBP": "webp"}[fmt]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="dcgan-loader-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        folder = tmp / "folder" / "bedroom"
        folder.mkdir(parents=True)
        files = []
        for i, b in enumerate(synthetic_photos(n, fmt)):
            files.append(folder / f"{i:07d}.{ext}")
            files[-1].write_bytes(b)
        sources: dict[str, tuple] = {}
        try:
            import lmdb  # noqa: F401
            db = tmp / "lsun" / "bedroom_train_lmdb"
            prepare.write_lsun_lmdb(files, db)  # the same bytes, keys in file order
            mib = sum(p.stat().st_size for p in db.iterdir()) / 2**20
            sources["LSUN LMDB (data.LMDBImages)"] = (
                data_mod.get_dataset("lsun", tmp / "lsun", LOADER_IMAGE_SIZE, 3), mib)
        except ImportError:
            print("\nskipped the LMDB loader rows: the lmdb package is not installed "
                  "(pip install lmdb)")
        mib = sum(p.stat().st_size for p in files) / 2**20
        sources["image folder (torchvision ImageFolder)"] = (
            data_mod.get_dataset("imagefolder", tmp / "folder", LOADER_IMAGE_SIZE, 3), mib)
        prep_s = time.perf_counter() - t0
        fns = {}
        for name, (ds, _) in sources.items():
            for w in LOADER_WORKERS:
                fns[(name, w)] = lambda ds=ds, w=w: _loader_pass(ds, w, device, 0)
        t = interleaved(fns, args.loader_repeats, 0, device, time.perf_counter)
        for ds, _ in sources.values():
            if hasattr(ds, "close"):
                ds.close()  # the LMDB environment, before its files are deleted
        for (name, w), secs in t.items():
            base = t[(name, 0)]
            rows.append({"loader": name, "workers": w, "images": n,
                         "MiB on disk": sources[name][1], "img/s": n / median(secs),
                         "vs 0 workers": paired_ratio(base, secs)})
    rows.sort(key=lambda r: (list(sources).index(r["loader"]), r["workers"]))
    if args.verbose:
        print(f"loader: wrote {n} images in {prep_s:.1f} s")
    return rows


# ============================================================================ the study
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
    name, size, nc = next(c for c in TRAIN_CONFIGS if c[1] == args.variant_size
                          and c[2] == args.variant_channels)
    with tempfile.TemporaryDirectory() as out:
        tr = make_trainer(size, nc, args.batch_size, args.width, device, out, args.n_images)
        la = _loop_args(tr, device)
        loops: dict[str, Callable] = {"textbook": PlainLoop(**la)}
        opts = candidate_options(args)
        for k, o in opts.items():
            loops[k] = VariantLoop(**la, opts=o)
        ob = _cycle_batches(tr)
        loops["library Trainer.train_step"] = _ours_step(tr, ob)
        batches = {k: _plain_batches(tr) for k in loops if k != "library Trainer.train_step"}
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


# ============================================================================ the profile
_ACT = ("relu", "leaky", "threshold", "tanh", "sigmoid", "binary_cross_entropy")


def _profile_group(name: str) -> str | None:
    """The part of a DCGAN step an (outermost) profiler event belongs to; None: look inside."""
    if name.startswith("autograd::engine::evaluate_function: "):
        fn = name.split(": ", 1)[1].lower()
        if fn.startswith("convolution"):
            return "convolution backward"
        if "batchnorm" in fn:
            return "batch-norm backward"
        if fn.startswith(("mm", "addmm")):
            return "linear layers (forward + backward)"
        if any(a in fn for a in _ACT):
            return "activations and loss (forward + backward)"
        return "other backward"
    if name.startswith("Optimizer."):
        return "optimizer (Adam step, zero_grad)"
    if name == "aten::convolution":
        return "convolution forward"
    if name == "aten::batch_norm":
        return "batch-norm forward"
    if name in ("aten::linear", "aten::mm", "aten::matmul", "aten::addmm"):
        return "linear layers (forward + backward)"
    if name.startswith("aten::") and any(a in name for a in _ACT):
        return "activations and loss (forward + backward)"
    return None


def bench_profile(args, device: torch.device) -> tuple[list[dict], str]:
    """Where the time of one ``Trainer.train_step`` goes: ``torch.profiler`` events grouped by
    their outermost known op (so the convolutions that a transposed convolution's backward
    runs count as backward), beside the FLOPs of each group (``FlopCounterMode``)."""
    name, size, nc = next(c for c in TRAIN_CONFIGS if c[1] == args.variant_size
                          and c[2] == args.variant_channels)
    with tempfile.TemporaryDirectory() as out:
        tr = make_trainer(size, nc, args.batch_size, args.width, device, out, args.n_images)
        step = _ours_step(tr, _cycle_batches(tr))
        for _ in range(1 + args.warmup):
            step()
        with FlopCounterMode(display=False) as fc:
            step()
        flops = {str(op): n for op, n in fc.get_flop_counts()["Global"].items()}
        acts = [torch.profiler.ProfilerActivity.CPU]
        if device.type == "cuda":
            acts.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=acts) as prof:
            sync(device)
            t0 = time.perf_counter()
            step()
            sync(device)
            wall = time.perf_counter() - t0
    cuda = device.type == "cuda"
    groups: dict[str, float] = {}
    for ev in prof.events():
        g = _profile_group(ev.name)
        if g is None:
            continue
        parent, outer = ev.cpu_parent, True
        while parent is not None:
            if _profile_group(parent.name) is not None:
                outer = False
                break
            parent = parent.cpu_parent
        if outer:
            t = (ev.device_time_total if cuda else ev.cpu_time_total) / 1e6
            groups[g] = groups.get(g, 0.0) + t
    fl = {"convolution forward": flops.get("aten.convolution", 0),
          "convolution backward": flops.get("aten.convolution_backward", 0),
          "linear layers (forward + backward)":
              flops.get("aten.mm", 0) + flops.get("aten.addmm", 0)}
    rows = []
    for g, t in sorted(groups.items(), key=lambda kv: -kv[1]):
        rows.append({"part of the step": g, "ms": 1e3 * t, "% of step": 100 * t / wall,
                     "GFLOP/s": fl[g] / t / 1e9 if fl.get(g) else float("nan")})
    if not cuda:
        rest = wall - sum(groups.values())
        rows.append({"part of the step": "rest (Python, data, z, logging)", "ms": 1e3 * rest,
                     "% of step": 100 * rest / wall, "GFLOP/s": float("nan")})
    rows.append({"part of the step": "whole step", "ms": 1e3 * wall, "% of step": 100.0,
                 "GFLOP/s": sum(flops.values()) / wall / 1e9})
    return rows, f"{name}, batch {args.batch_size}, width {args.width}"


# ============================================================================ main
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
    global CLOCK
    CLOCK = CLOCKS[args.clock]
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
                    f"peak MiB: extra memory of one pass over the images "
                    f"(de-duplication always on the CPU).")
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
