"""Figures for the book: image grids and training curves (matplotlib, PNG).

The grids are the sample figures of the paper (figures 2-4, 6-8 and the appendix); the
curves show section 4's training (losses, D(x), D(G(z))), which the paper does not plot.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 1) -> np.ndarray:
    """Images in [-1, 1], shape (N, C, H, W) -> an (H', W', 3) array in [0, 1]."""
    images = images.detach().float().cpu()
    nrow = nrow or int(math.ceil(math.sqrt(len(images))))
    g = make_grid(images * 0.5 + 0.5, nrow=nrow, padding=padding, pad_value=1.0)
    return g.clamp(0, 1).permute(1, 2, 0).numpy()


def show_grid(images: torch.Tensor, nrow: int | None = None, title: str | None = None,
              ax=None, scale: float = 0.5):
    """Show images (N, C, H, W) in [-1, 1] as one grid of ``nrow`` a row (default: about
    square), on ``ax`` or a new figure sized ``scale`` inch per 32 pixels, titled ``title``;
    returns the figure (the paper's sample figures, e.g. figures 2-3)."""
    arr = grid_image(images, nrow)
    if ax is None:
        h, w = arr.shape[:2]
        fig, ax = plt.subplots(figsize=(max(2.0, w / 32 * scale), max(2.0, h / 32 * scale)))
    else:
        fig = ax.figure
    ax.imshow(arr, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def native_grids(panels: dict[str, torch.Tensor], ncol: int, side: int = 64,
                 gap: float = 0.06):
    """Grids side by side at their native resolution: ``{label: images (N, C, H, W) in
    [-1, 1]}``, ``ncol`` images a row, each image enlarged by a whole factor to ``side`` screen
    pixels (32x32 images twice, 64x64 once) and the figure sized so that one grid pixel is one
    screen pixel at matplotlib's ``figure.dpi``: nothing is resampled in between (the sample
    figures of chapter 3). Returns the figure."""
    n = max(len(v) for v in panels.values())
    rows = int(math.ceil(n / ncol))
    w, h = ncol * (side + 1) + 1, rows * (side + 1) + 1        # make_grid's 1-pixel padding
    dpi = plt.rcParams["figure.dpi"]
    fig, axes = plt.subplots(1, len(panels), squeeze=False,
                             figsize=(len(panels) * (1 + gap) * w / dpi, h / dpi),
                             gridspec_kw=dict(left=0, right=1, bottom=0, top=1, wspace=gap))
    for ax, (label, imgs) in zip(axes[0], panels.items()):
        zoom = max(1, side // imgs.shape[-1])
        if zoom > 1:
            imgs = torch.nn.functional.interpolate(imgs.float(), scale_factor=zoom)
        show_grid(imgs, ncol, label, ax=ax)
    return fig


def grids_side_by_side(grids: dict[str, torch.Tensor], nrow: int | None = None,
                       size: float = 3.2):
    """Several image grids ``{label: images (N, C, H, W) in [-1, 1]}`` in one row of panels,
    each ``size`` inches square and titled by its label; returns the figure (the paper's
    side-by-side comparisons, e.g. figure 6's before and after)."""
    fig, axes = plt.subplots(1, len(grids), figsize=(size * len(grids), size + 0.4))
    axes = np.atleast_1d(axes)
    for ax, (label, imgs) in zip(axes, grids.items()):
        show_grid(imgs, nrow, label, ax=ax)
    fig.tight_layout()
    return fig


def smooth(y: np.ndarray, k: int) -> np.ndarray:
    """Moving average over ``k`` points of the 1-D array ``y`` (valid part only: length
    ``len(y) - k + 1``); ``y`` itself when ``k <= 1`` or ``y`` is shorter than ``k``."""
    if k <= 1 or len(y) < k:
        return y
    return np.convolve(y, np.ones(k) / k, mode="valid")


def training_curves(log: list[dict], steps_per_epoch: int | None = None, k: int = 25):
    """Section 4's training as two panels: D's and G's losses, and D(x), D(G(z)) before and
    after D's update (probabilities), against steps (epochs on a second axis when
    ``steps_per_epoch`` is given), each smoothed over ``k`` steps. ``log``: the trainer's
    records (dicts with ``step`` and those keys). Returns the figure."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, keys in ((a1, ("loss_d", "loss_g")), (a2, ("d_x", "d_g_z1", "d_g_z2"))):
        for key in keys:
            pts = [(r["step"], r[key]) for r in log if key in r]
            if not pts:
                continue
            s, v = map(np.asarray, zip(*pts))
            ys = smooth(v, k)
            ax.plot(s[len(s) - len(ys):], ys, label=key, lw=1.2)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        if steps_per_epoch:
            sec = ax.secondary_xaxis("top", functions=(lambda x: x / steps_per_epoch,
                                                       lambda e: e * steps_per_epoch))
            sec.set_xlabel("epoch")
    a1.set_title(f"losses (moving average over {k} steps)", fontsize=9)
    a2.set_title("D(x), D(G(z)) before (z1) and after (z2) the D update", fontsize=9)
    fig.tight_layout()
    return fig
