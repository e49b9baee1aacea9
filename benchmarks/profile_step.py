"""Where the time of one ``Trainer.train_step`` goes (the DCGAN step of paper sections 3-4):
``torch.profiler`` events grouped by their outermost known op (convolution forward and
backward, batch-norm, activations and loss, Adam), beside the FLOPs of each group
(``FlopCounterMode``), so each part's GFLOP/s can be set against the machine's matmul rate.
"""
from __future__ import annotations

import tempfile
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import TRAIN_CONFIGS, sync
from benchmarks.training import cycle_batches, library_step, make_trainer

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
        step = library_step(tr, cycle_batches(tr))
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
