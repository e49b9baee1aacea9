"""The trained generator and discriminator each of chapters 06-09 studies, per profile (the
models behind the figures of paper section 6).

A chapter asks for *roles*, in the order it wants them loaded:

* ``"svhn"``: the authors' SVHN DCGAN (section 5.2's model, z Gaussian), read by
  :func:`dcgan_lib.reference.load_svhn_dcgan` from ``svhn_weights`` (empty: its default
  places);
* ``"ours"``: our Fashion-MNIST DCGAN, the best checkpoint of chapter 02's ``cpu`` run
  (``ours_checkpoint``; empty: the chapter graph's ``ch02_model`` of the ``cpu`` profile,
  under the run's results root).

Per profile:

* ``smoke``: each role is a tiny untrained stand-in of the same kind: 32x32, nz 100,
  ngf = ndf = 8, the ``paper`` variant; 3 channels and Gaussian z for ``svhn``, 1 channel and
  the variant's uniform z for ``ours``. All are built, in the order asked, right after
  ``torch.manual_seed(run.seed)``, so they do not depend on what the chapter ran before.
* ``cpu``: the models above.
* ``full``: one checkpoint of the book's ``full`` run (``full_checkpoint``; empty: the
  chapter graph's ``lsun_model``, chapter 03's 64x64 LSUN-bedroom run, under
  ``results/full/``) plays every role listed in ``full_roles`` (the same modules for each,
  loaded once); the other roles are ``None``.

Every module is returned in eval mode on the CPU. On ``cpu`` and ``full`` the loaders build
fresh modules before copying the weights in, which draws from torch's global generator; the
roles are loaded in the order asked, so a chapter's later random draws do not change.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from . import graph, reference
from .book import Run
from .models import Discriminator, Generator
from .train import load_models

ROLES = ("svhn", "ours")
# the smoke stand-ins: Generator(32, 100, 8, nc, z_dist=...), Discriminator(32, 8, nc)
SMOKE = {"svhn": dict(nc=3, z_dist="normal"), "ours": dict(nc=1, z_dist=None)}

Models = tuple[Generator, Discriminator]


def load_chapter_models(run: Run, roles: Sequence[str], *, full_roles: Sequence[str] = (),
                        svhn_weights: str | Path = "", ours_checkpoint: str | Path = "",
                        full_checkpoint: str | Path = "", full_artefact: str = "lsun_model"
                        ) -> dict[str, Models | None]:
    """``{role: (G, D) or None}`` for ``run.profile``, in the order of ``roles`` (see the
    module docstring). In ``full`` the roles of ``full_roles`` share one model:
    ``full_checkpoint``, else the chapter graph's ``full_artefact`` (chapter 03's bedroom
    model by default); its path is logged in the chapter's metrics as ``checkpoint``. ``G`` maps z (N, nz) to images (N, nc, H, W) in [-1, 1] and draws z
    from its own ``z_dist`` (``G.sample_z``); ``D`` maps images to one logit each, (N,)."""
    unknown = [r for r in [*roles, *full_roles] if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; choose from {ROLES}")
    out: dict[str, Models | None] = {}
    if run.profile == "smoke":
        torch.manual_seed(run.seed)
        for role in roles:
            s = SMOKE[role]
            out[role] = (Generator(32, 100, 8, s["nc"], z_dist=s["z_dist"]).eval(),
                         Discriminator(32, 8, s["nc"]).eval())
        return out
    if run.profile == "full":
        full = None
        for role in roles:
            if role in full_roles and full is None:
                path = full_checkpoint or graph.artefact_path(full_artefact, run)
                G, D, _ = load_models(path)
                full = (G.eval(), D.eval())
                run.log_metrics(checkpoint=str(path))
            out[role] = full if role in full_roles else None
        return out
    for role in roles:
        if role == "svhn":
            out[role] = reference.load_svhn_dcgan(svhn_weights or None)
        else:
            G, D, _ = load_models(ours_checkpoint or
                                  graph.artefact_path("ch02_model", "cpu", run.results))
            out[role] = (G.eval(), D.eval())
    return out
