"""Data-parallel training across processes and machines with PyTorch's own engine.

Not in the paper (which trains on one GPU); it runs section 4's training on several.

Launch any training with ``torchrun`` and the trainer runs under DistributedDataParallel:

    torchrun --nproc_per_node=4 -m dcgan_lib.cli train --dataset lsun --image-size 64 ...
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --nproc_per_node=8 -m dcgan_lib.cli train ...

NCCL on CUDA, gloo on CPU. Each process reads its own share of every epoch's permutation, so
``--batch-size`` is per process (the paper's 128 on one GPU is 4 x 32 on four).
"""
from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist
from torch import nn


def init_from_env() -> bool:
    """Initialise the process group when launched by torchrun (``WORLD_SIZE`` > 1): NCCL
    with this process's GPU (``LOCAL_RANK``) on CUDA, gloo on the CPU. Returns whether a
    process group is running (False for a single process)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend)
    return True


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)`` of this process: ``(0, 1)`` without a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_device(name: str = "auto") -> torch.device:
    """The device ``name`` ("cpu", "cuda", "cuda:1"...); ``"auto"``: this process's GPU
    (``cuda:$LOCAL_RANK``) when CUDA is available, else the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def wrap(G: nn.Module, D: nn.Module, device: torch.device, sync_bn: bool = False):
    """``(G, D, DDP(G), DDP(D))``; with ``sync_bn`` G and D first get SyncBatchNorm (CUDA only).

    Optimizers must be built on the returned G and D (SyncBatchNorm conversion makes new
    batch-norm modules)."""
    from torch.nn.parallel import DistributedDataParallel as DDP
    if sync_bn:
        if device.type != "cuda":
            raise ValueError("sync_bn (--sync-bn) needs CUDA; gloo on CPU has no SyncBatchNorm")
        G = nn.SyncBatchNorm.convert_sync_batchnorm(G)
        D = nn.SyncBatchNorm.convert_sync_batchnorm(D)
    ids = [device.index] if device.type == "cuda" else None
    return G, D, DDP(G, device_ids=ids), DDP(D, device_ids=ids)


def no_sync(module: nn.Module):
    """``module.no_sync()`` for a DDP wrapper, a no-op context otherwise."""
    return module.no_sync() if hasattr(module, "no_sync") else contextlib.nullcontext()


def barrier() -> None:
    """Wait until every process reaches this point (no-op without a process group)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
