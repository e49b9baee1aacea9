"""The exercises of chapter 06, walking in the latent space (paper section 6.1, figure 4).

Their checks, each beside its exercise's title and answer: the midpoint's length, spherical
interpolation. Students call them through :func:`dcgan_lib.exercises.check`
(``exercises.check("06.1", answer, ...)``); :data:`SIZES` is what the solution cells run and the
checks expect, per profile."""
from __future__ import annotations

import torch

from .base import Wrong, call, close, exercise, function, number, sizes_for

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(pairs=20000), cpu=dict(pairs=20000), full=dict(pairs=20000),
             tiny=dict())


@exercise("06.1", "How long is the midpoint?", "quick",
          "a number: the midpoint's length over the endpoints' mean length, on straight lines "
          "between random z")
def _ex06_1(answer, run, G):
    from ..latent import seeded_z
    a = number(answer, "a number (a ratio of norms)")
    n = sizes_for(SIZES, run)["pairs"]
    z0, z1 = seeded_z(G, n, 1001), seeded_z(G, n, 1002)
    ref = float(((z0 + z1) / 2).norm(dim=1).div((z0.norm(dim=1) + z1.norm(dim=1)) / 2).mean())
    if abs(a - ref) <= 0.02:
        return (f"{ref:.3f}: two random z in {z0.shape[1]} dimensions are nearly orthogonal, so "
                f"the midpoint is about 1/sqrt(2) as long; the walk passes nearer the origin "
                "than any sample")
    if abs(a - 1) <= 0.02:
        raise Wrong("1 is the spherical walk's (it keeps the norm); a straight line is shorter "
                    "in the middle")
    if abs(a - 0.5) <= 0.02:
        raise Wrong("half would need z0 and z1 to point opposite ways; random z in high "
                    "dimensions are nearly orthogonal")
    raise Wrong(f"{a:.3f}; measure it: mean of |(z0 + z1) / 2| / ((|z0| + |z1|) / 2) over many "
                "pairs of G's z")


@exercise("06.2", "Spherical interpolation, as a function", "quick",
          "a function slerp(z0, z1, t) of two vectors (nz,) and a number t in [0, 1]")
def _ex06_2(answer):
    from ..latent import lerp, slerp
    function(answer, "lambda z0, z1, t: ...")
    g = torch.Generator().manual_seed(6)
    z0 = torch.randn(100, generator=g, dtype=torch.float64)
    z1 = 1.3 * torch.randn(100, generator=g, dtype=torch.float64)
    omega = torch.arccos(torch.dot(z0 / z0.norm(), z1 / z1.norm()))
    classic = lambda t: (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) \
        / torch.sin(omega)  # noqa: E731
    ts = (0.0, 0.3, 0.5, 0.8, 1.0)
    outs = []
    for t in ts:
        out = call(answer, z0.clone(), z1.clone(), t)
        out = torch.as_tensor(out, dtype=torch.float64).reshape(-1)
        if out.shape != z0.shape:
            raise Wrong(f"at t={t} it returns {tuple(out.shape)} values, not {tuple(z0.shape)}")
        outs.append(out)
    lib = [slerp(z0, z1, t).reshape(-1) for t in ts]
    cla = [classic(torch.tensor(t, dtype=torch.float64)) for t in ts]
    if all(close(o, r) for o, r in zip(outs, lib)) or all(close(o, r) for o, r in zip(outs, cla)):
        return ("along the great circle at constant angular speed; the midpoint keeps the "
                "endpoints' length (the straight line's is about 0.71 of it)")
    if not (close(outs[0], z0) and close(outs[-1], z1)):
        raise Wrong("at t=0 it should return z0 and at t=1 z1")
    if all(close(o, lerp(z0, z1, t).reshape(-1)) for o, t in zip(outs, ts)):
        raise Wrong("that is linear interpolation: its midpoint is about 0.71 as long as the "
                    "endpoints")
    straight = [lerp(z0, z1, t).reshape(-1) for t in ts]
    if all(close(o / o.norm(), s / s.norm()) for o, s in zip(outs, straight)):
        raise Wrong("that points along the straight line (a normalised lerp): not constant "
                    "angular speed; weight z0 and z1 by sin((1 - t) w) / sin w and sin(t w) / "
                    "sin w")
    raise Wrong("it leaves the great circle between z0 and z1: use w = arccos(u0 . u1) of the "
                "unit vectors and sin((1 - t) w) / sin w, sin(t w) / sin w as weights")


EXERCISES = (_ex06_1, _ex06_2)
