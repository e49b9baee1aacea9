"""The exercises of chapter 09, vector arithmetic in z (paper section 6.3.2, figures 7-8).

Their checks, each beside its exercise's title and answer: a direction that lengthens sleeves
(judged by :func:`sleeve_length`), alpha = 2. Students call them through
:func:`dcgan_lib.exercises.check` (``exercises.check("09.1", answer, ...)``); :data:`SIZES` is
what the solution cells run and the checks expect, per profile."""
from __future__ import annotations

import numpy as np
import torch

from .base import Wrong, exercise, number, sizes_for

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
# by_class: judge T-shirts only, and by the classifier too (cpu: the Fashion-MNIST
# classifier; smoke's is an untrained stand-in and full has none)
SIZES = dict(smoke=dict(exemplars=8, check_samples=256, random_dirs=8, min_up=0.6,
                        sigmas=2.0, by_class=False, min_long=0.0),
             cpu=dict(exemplars=8, check_samples=1000, random_dirs=8, min_up=0.75,
                      sigmas=3.0, by_class=True, min_long=0.6),
             full=dict(exemplars=8, check_samples=1000, random_dirs=8, min_up=0.75,
                       sigmas=3.0, by_class=False, min_long=0.0),
             tiny=dict(exemplars=2, check_samples=16, random_dirs=4, min_up=0.0,
                       sigmas=0.0))


def sleeve_length(images: torch.Tensor) -> np.ndarray:
    """Exercise 09.1's measure of sleeve length: the mean intensity, in [0, 1], of two bands
    beside the torso in the lower part of each image (rows 40-87% of the height, columns
    3-19% and 81-97% of the width), where long sleeves hang and short ones leave background.
    (N, C, H, W) in [-1, 1] -> (N,)."""
    x = images.float().mean(1) * 0.5 + 0.5
    h, w = x.shape[-2:]
    r0, r1 = round(0.40 * h), round(0.87 * h)
    left = x[:, r0:r1, round(0.03 * w):round(0.19 * w)]
    right = x[:, r0:r1, round(0.81 * w):round(0.97 * w)]
    return torch.cat([left.flatten(1), right.flatten(1)], 1).mean(1).numpy()


TOPS = (0, 2, 4, 6)          # Fashion-MNIST's T-shirt/top, pullover, coat, shirt
LONG_SLEEVED = (2, 4, 6)     # pullover, coat, shirt
T_SHIRT = 0


@exercise("09.1", "A direction that lengthens sleeves", "open-ended",
          "a direction d in z, a tensor of shape (nz,)")
def _ex09_1(answer, run, G, classifier, context):
    from ..latent import decode, seeded_z
    s = sizes_for(SIZES, run)
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"the answer should be a tensor of shape ({G.nz},), got "
                    f"{type(answer).__name__}")
    d = answer.detach().float().reshape(-1)
    if d.numel() != G.nz:
        raise Wrong(f"z has {G.nz} dimensions, your direction {d.numel()}")
    if s["by_class"] and classifier is None:
        raise TypeError("exercise 09.1 needs the classifier in this profile")
    z = seeded_z(G, s["check_samples"], run.seed + 99_991)     # held out: no cell draws these
    typical = float(z.norm(dim=1).median())
    if not 0 < d.norm() <= typical:
        raise Wrong(f"|d| = {d.norm():.2f}; use a direction no longer than a typical z "
                    f"({typical:.2f}), else it changes everything")
    x0 = decode(G, z, context=context)
    start = np.ones(len(z), bool)
    if s["by_class"]:
        with torch.no_grad():
            start = classifier(x0).argmax(1).numpy() == T_SHIRT
    if start.sum() < 4:
        raise Wrong("too few held-out samples to judge")
    z, x0 = z[start], x0[start]
    base = sleeve_length(x0)
    x1 = decode(G, z + d, context=context)
    delta = sleeve_length(x1) - base
    g = torch.Generator().manual_seed(run.seed + 7)
    rand = []
    for _ in range(s["random_dirs"]):
        r = torch.randn(G.nz, generator=g)
        rand.append(float((sleeve_length(decode(G, z + r * d.norm() / r.norm(),
                                                context=context)) - base).mean()))
    mu, sd = float(np.mean(rand)), float(np.std(rand))
    up = float((delta > 0).mean())
    what = "T-shirts" if s["by_class"] else "samples"
    msg = (f"sleeve bands {delta.mean():+.3g} brighter on {100 * up:.0f}% of {len(z)} held-out "
           f"{what} (random directions of the same length: {mu:+.3g} +- {sd:.3g})")
    if s["by_class"]:
        with torch.no_grad():
            after = classifier(x1).argmax(1).numpy()
        long_ = float(np.isin(after, LONG_SLEEVED).mean())
        top = float(np.isin(after, TOPS).mean())
        msg += (f", {100 * long_:.0f}% then long-sleeved tops (pullover, coat, shirt), "
                f"{100 * top:.0f}% tops")
    if delta.mean() < mu - s["sigmas"] * sd:
        raise Wrong(msg + ": your direction shortens sleeves; turn it round (-d)")
    if delta.mean() <= mu + s["sigmas"] * sd:
        raise Wrong(msg + f": not more than a random direction does (needs {s['sigmas']:g} "
                    "spreads above it)")
    if up < s["min_up"]:
        raise Wrong(msg + f": too few samples move the intended way (needs {s['min_up']:.0%})")
    if s["by_class"] and long_ < s["min_long"]:
        raise Wrong(msg + f": too few become long-sleeved tops (needs {s['min_long']:.0%}); "
                    "what else fills the sides of an image?")
    return msg


@exercise("09.2", "Beyond the figure's range: alpha = 2", "quick",
          "a number: the share of samples whose class at alpha = 2 is their class at alpha = 0")
def _ex09_2(answer, run, G, d, z, context, classifier):
    from ..latent import decode
    if classifier is None:
        raise Wrong("this exercise needs the chapter's classifier (the cpu and smoke profiles)")
    a = number(answer, "a number (a share, 0 to 1)")
    if a > 1:
        raise Wrong("a share is between 0 and 1 (not a percentage)")
    with torch.no_grad():
        cls = {alpha: classifier(decode(G, z + alpha * d, context=context)).argmax(1)
               for alpha in (0.0, 1.0, 2.0)}
    shares = {alpha: float((cls[alpha] == cls[0.0]).float().mean()) for alpha in (1.0, 2.0)}
    ref, tol = shares[2.0], 1 / len(z) + 1e-9
    if abs(a - ref) <= tol:
        trend = ("more than" if ref > shares[1.0] else "fewer than" if ref < shares[1.0]
                 else "as many as")
        return (f"{ref:.3f} of {len(z)} samples keep their class at alpha = 2, {trend} at "
                f"alpha = 1 ({shares[1.0]:.3f})")
    if abs(a - shares[1.0]) <= tol and abs(shares[1.0] - ref) > tol:
        raise Wrong("that is the share at alpha = 1; move the samples by 2 d")
    raise Wrong(f"{a:.3f}; the check measures {ref:.3f} (classify z and z + 2 d decoded with "
                "the chapter's context)")


EXERCISES = (_ex09_1, _ex09_2)
