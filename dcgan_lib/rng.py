"""Seeded random streams (paper section 4's training, reproducible to the bit).

Every random draw of a run comes from a CPU generator seeded by a tuple of integers: the run's
seed and where the draw is made (epoch or step, a stream id, the process's rank), so a run
resumed from a checkpoint, or a data-parallel process, draws exactly what an uninterrupted
single run would. :mod:`dcgan_lib.train` (minibatch order, z, the fixed sample noise) and
:mod:`dcgan_lib.conditional` (labelled samples for table 3) both draw from here.
"""
from __future__ import annotations

import torch

__all__ = ["seeded_generator"]


def seeded_generator(*parts: int) -> torch.Generator:
    """A CPU generator seeded by a tuple of integers (seed, epoch or step, stream id, ...)."""
    s = 0
    for p in parts:
        s = (s * 1_000_003 + int(p)) % (2**63 - 1)
    return torch.Generator().manual_seed(s)
