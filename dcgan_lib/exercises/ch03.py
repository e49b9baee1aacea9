"""The exercises of chapter 03, training on the paper's data sets (sections 4.1-4.3, figures 2-3).

Their checks, each beside its exercise's title and answer: fooling the memorisation check, the
epoch that covers held-out images best. Students call them through
:func:`dcgan_lib.exercises.check` (``exercises.check("03.1", answer, ...)``); :data:`SIZES` is
what the solution cells run and the checks expect, per profile."""
from __future__ import annotations

import torch

from .base import Wrong, exercise, integer, sizes_for

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(noise=0.02, min_closer=0.5), cpu=dict(noise=0.02, min_closer=0.5),
             full=dict(noise=0.02, min_closer=0.5), tiny=dict())


@exercise("03.1", "Fool the memorisation check", "practice",
          "a tensor (N, C, H, W) of images in [-1, 1] that the check flags as copies, none a "
          "byte copy")
def _ex03_1(answer, run, train_images, held_out):
    from ..memorization import copy_statistics, nearest_neighbours
    need = sizes_for(SIZES, run)["min_closer"]
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"the answer should be a tensor of images, got {type(answer).__name__}")
    if answer.ndim != 4 or tuple(answer.shape[1:]) != tuple(held_out.shape[1:]):
        raise Wrong(f"images should be (N, {', '.join(map(str, held_out.shape[1:]))}), got "
                    f"{tuple(answer.shape)}")
    n = len(answer)
    if n < 8:
        raise Wrong(f"{n} images are too few to judge; give at least 8")
    if answer.min() < -1.001 or answer.max() > 1.001:
        raise Wrong(f"pixels outside [-1, 1] ({answer.min():.2f} ... {answer.max():.2f}): no "
                    "generator draws those")
    d, _ = nearest_neighbours(answer.float(), train_images)
    r, _ = nearest_neighbours(held_out[:max(n, 100)].float(), train_images)
    exact = int((d[:, 0] == 0).sum())
    if exact:
        raise Wrong(f"{exact} of your {n} images are byte copies of training images (distance "
                    "0): the exact-copy test catches those; make near copies")
    st = copy_statistics(d[:, 0], r[:, 0])
    msg = (f"closer_than_q = {st['closer_than_q']:.2f} (median distance to the nearest training "
           f"image {st['generated_median']:.2f}, held-out images {st['held_out_median']:.2f})")
    if st["closer_than_q"] >= need:
        return msg + ": flagged as copies, though none is a byte copy"
    raise Wrong(msg + f": the check would not flag them (needs at least {need}); make them "
                "closer to training images than the nearest 1% of held-out images are")


@exercise("03.2", "Which epoch covers the held-out images best?", "quick",
          "an integer: the epoch with the lowest distance score at the largest sample count")
def _ex03_2(answer, run, epochs):
    e = integer(answer, "an integer (an epoch, 1 = the first)")
    keys = sorted((k for k in epochs[0] if k.startswith("nnd_")),
                  key=lambda k: int(k[4:].replace("k", "000")))
    key = keys[-1]
    best = min(epochs, key=lambda r: r[key])
    by_fd = min(epochs, key=lambda r: r["fd"])
    nums = [r["epoch"] for r in epochs]
    if e not in nums:
        raise Wrong(f"there is no epoch {e}; the run has epochs {nums[0]}..{nums[-1]}")
    if e == best["epoch"]:
        agree = "the same epoch" if by_fd["epoch"] == e else f"epoch {by_fd['epoch']}"
        return (f"epoch {e}: {key} = {best[key]:.3f}; the Fréchet distance picks {agree}")
    if e == by_fd["epoch"]:
        raise Wrong(f"epoch {e} is the one the Fréchet distance picks; the distance score "
                    f"({key}) is lowest at another")
    mine = next(r for r in epochs if r["epoch"] == e)
    raise Wrong(f"epoch {e} has {key} = {mine[key]:.3f}; another epoch is lower "
                f"({best[key]:.3f})")


EXERCISES = (_ex03_1, _ex03_2)
