"""Visualising the discriminator's features (paper section 6.2, figure 5) with guided
backpropagation (Springenberg et al., 2014, "Striving for simplicity", section 3.4).

Figure 5 shows, for the first six features (channels) of the discriminator's last convolutional
layer, the images and locations where each responds most ("maximal axis-aligned responses":
one channel, one spatial position, as opposed to a random direction in feature space), and for
each the guided-backpropagation map of that single activation with respect to the input image;
beside it, the same for a randomly initialised discriminator.

Guided backpropagation is the gradient of the chosen activation with respect to the input, except
that at every rectifier the backward signal is kept only where the forward input was positive
**and** the incoming gradient is positive (Springenberg's equation for ReLU):
``grad_in = relu(grad_out) * [x > 0]``. It is implemented with autograd hooks on the activation
modules (:func:`guided`): a forward hook records where the activation's input was positive, a
full backward hook replaces the gradient it passes on. Convolutions, batch-norm and the rest keep
their own backward.

**LeakyReLU (the DCGAN discriminator's activation, slope 0.2).** Guided backpropagation is
defined for ReLU. By default (``leaky="positive"``) the LeakyReLU is guided through its positive
part only, as if it were a ReLU: ``grad_in = relu(grad_out) * [x > 0]``; the 0.2 leak of the
forward pass passes no signal back. ``leaky="slope"`` keeps the leak:
``grad_in = relu(grad_out) * (1 if x > 0 else 0.2)``. The forward pass is unchanged either way.

Batch-norm must use fixed statistics (the model is put in eval mode), otherwise the images of a
batch would interact and one image's map would depend on the others; for the authors' SVHN
discriminator re-estimate them first (:func:`dcgan_lib.features.reestimate_bn`).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

LEAKY_MODES = ("positive", "slope")
RECTIFIERS = (nn.ReLU, nn.LeakyReLU)


@contextlib.contextmanager
def guided(model: nn.Module, leaky: str = "positive") -> Iterator[nn.Module]:
    """Within the block, backpropagation through every ``nn.ReLU`` / ``nn.LeakyReLU`` of
    ``model`` is guided (see the module docstring for the two LeakyReLU treatments).

    In-place activations are switched to out-of-place for the duration (full backward hooks
    need it); everything is restored on exit.
    """
    if leaky not in LEAKY_MODES:
        raise ValueError(f"leaky must be one of {LEAKY_MODES}, got {leaky!r}")
    acts = [m for m in model.modules() if isinstance(m, RECTIFIERS)]
    if not acts:
        raise ValueError(f"{type(model).__name__} has no nn.ReLU / nn.LeakyReLU modules to guide")
    masks: dict[nn.Module, torch.Tensor] = {}
    handles, inplace = [], [m.inplace for m in acts]

    def forward_hook(m, inp, out):
        masks[m] = inp[0].detach() > 0

    def backward_hook(m, grad_input, grad_output):
        pos = masks[m]
        g = grad_output[0].clamp(min=0)
        if isinstance(m, nn.LeakyReLU) and leaky == "slope":
            return (g * torch.where(pos, 1.0, m.negative_slope).to(g.dtype),)
        return (g * pos.to(g.dtype),)

    try:
        for m in acts:
            m.inplace = False
            handles.append(m.register_forward_hook(forward_hook))
            handles.append(m.register_full_backward_hook(backward_hook))
        yield model
    finally:
        for h in handles:
            h.remove()
        for m, ip in zip(acts, inplace):
            m.inplace = ip


def block_output(model: nn.Module, x: torch.Tensor, layer: int) -> torch.Tensor:
    """Output of ``model.blocks[layer]`` (the blocks after it are not run)."""
    for block in model.blocks[:layer + 1]:
        x = block(x)
    return x


def last_conv_layer(D: nn.Module) -> int:
    """Index of the last convolutional block of a dcgan_lib discriminator."""
    return len(D.conv_blocks) - 1 if hasattr(D, "conv_blocks") else len(D.blocks) - 2


@dataclass
class Response:
    """One maximal response: ``channel``'s activation ``value`` at (``y``, ``x``) of ``image``."""
    channel: int
    rank: int
    image: int
    y: int
    x: int
    value: float


@torch.no_grad()
def max_responses(D: nn.Module, images: torch.Tensor, layer: int | None = None,
                  channels=range(6), k: int = 8, batch_size: int = 256) -> list[Response]:
    """Figure 5's "maximal axis-aligned responses": for each of ``channels`` of block
    ``layer`` (default: the last conv block), the ``k`` largest activations over all ``images`` and all spatial positions, at most one per image
    (its maximum), largest first. D runs in eval mode."""
    layer = last_conv_layer(D) if layer is None else layer
    channels = list(channels)
    if len(images) == 0 or not channels:
        raise ValueError("max_responses needs at least one image and one channel")
    was = D.training
    D.eval()
    best, where = [], []
    try:
        for i in range(0, len(images), batch_size):
            a = block_output(D, images[i:i + batch_size], layer)[:, channels]    # (B, c, h, w)
            flat = a.flatten(2)
            v, pos = flat.max(2)                                          # best position per image
            best.append(v)
            where.append(pos)
    finally:
        D.train(was)
    best, where = torch.cat(best), torch.cat(where)                       # (N, c)
    w = a.shape[-1]
    k = min(k, len(images))
    out = []
    for j, ch in enumerate(channels):
        order = torch.argsort(best[:, j], descending=True, stable=True)[:k]
        for r, n in enumerate(order.tolist()):
            p = int(where[n, j])
            out.append(Response(ch, r, n, p // w, p % w, float(best[n, j])))
    return out


def guided_backprop(D: nn.Module, images: torch.Tensor, responses: list[Response],
                    layer: int | None = None, leaky: str = "positive",
                    guide: bool = True) -> torch.Tensor:
    """Figure 5's maps: the guided-backpropagation map of each response's single activation
    with respect to its input image (``images`` (N, C, H, W) in [-1, 1]); returns (len(responses), C, H, W). ``guide=False`` gives the plain gradient
    (for comparison). D runs in eval mode, so the maps do not depend on the batch."""
    layer = last_conv_layer(D) if layer is None else layer
    if not responses:
        return torch.empty(0, *images.shape[1:])
    x = images[[r.image for r in responses]].detach().clone().requires_grad_(True)
    was = D.training
    D.eval()
    try:
        ctx = guided(D, leaky) if guide else contextlib.nullcontext()
        with ctx, torch.enable_grad():
            a = block_output(D, x, layer)
            idx = torch.arange(len(responses))
            target = a[idx, [r.channel for r in responses], [r.y for r in responses],
                       [r.x for r in responses]]
            target.sum().backward()
    finally:
        D.train(was)
    return x.grad.detach()


def to_display(maps: torch.Tensor) -> torch.Tensor:
    """Scale each map to [-1, 1] by its largest absolute value (zero stays mid-grey), for
    :func:`dcgan_lib.viz.show_grid`."""
    m = maps.flatten(1).abs().amax(1).clamp(min=1e-12).reshape(-1, 1, 1, 1)
    return maps / m


def mass_inside(maps: torch.Tensor, masks: torch.Tensor) -> dict:
    """How concentrated the maps are on a region: per map, the fraction of its absolute value
    (summed over channels) that falls inside ``masks`` (N, H, W) bool, and that fraction divided
    by the region's share of the image (1 = no preference, > 1 = concentrated on the region).
    Returns arrays ``inside``, ``area`` and ``ratio``."""
    if masks.shape != (maps.shape[0], *maps.shape[2:]):
        raise ValueError(f"masks must be (N, H, W) = {(maps.shape[0], *maps.shape[2:])}, got "
                         f"{tuple(masks.shape)}")
    e = maps.abs().sum(1).double()                                        # (N, H, W)
    tot = e.flatten(1).sum(1).clamp(min=1e-300)
    inside = (e * masks).flatten(1).sum(1) / tot
    area = masks.flatten(1).double().mean(1)
    ratio = torch.where(area > 0, inside / area.clamp(min=1e-12), torch.nan)
    return {"inside": inside.numpy(), "area": area.numpy(), "ratio": ratio.numpy()}


def top_share(maps: torch.Tensor, fraction: float = 0.1) -> np.ndarray:
    """A measure that needs no mask: per map, the share of its absolute value (summed over
    channels) held by its top ``fraction`` of pixels (``fraction`` for a flat map, 1 for a map
    concentrated on that few pixels)."""
    e = maps.abs().sum(1).flatten(1).double()
    k = max(1, int(round(fraction * e.shape[1])))
    tot = e.sum(1).clamp(min=1e-300)
    return (e.topk(k, dim=1).values.sum(1) / tot).numpy()


def per_channel(values: np.ndarray, responses: list[Response]) -> dict[int, float]:
    """Mean of ``values`` (one per response) for each channel, ignoring NaN."""
    out: dict[int, list] = {}
    for v, r in zip(values, responses):
        out.setdefault(r.channel, []).append(v)
    return {c: float(np.nanmean(v)) for c, v in out.items()}
