"""Play with a generator's latent space in JupyterLab: walks between two samples (paper section
6.1, figure 4), a direction added to a sample (section 6.3.2, figure 8) and the arithmetic
``a - b + c`` on chosen samples (section 6.3.2, figure 7), with the chapter's own generator.

Chapters 06 and 09 measure what those figures show; this module lets a reader try it. An
:class:`Explorer` is a pure function from its controls' values to a row of images
(:meth:`Explorer.images`, tested like any other function); :meth:`Explorer.widget` puts
ipywidgets sliders in front of it and redraws one PNG when a slider moves.

:func:`show` displays the widget only in a live JupyterLab or Notebook front end (the kernels
that ``jupyter_server`` starts carry ``JPY_SESSION_NAME``; papermill's and nbval's do not).
Everywhere else (a headless run, the committed notebooks, the rendered site) it draws the
static figure at the controls' starting values instead, so no page holds a widget that cannot
render. ``DCGAN_WIDGETS=1`` or ``0`` forces either.

Images are decoded with batch statistics and a fixed ``context`` of random z
(:func:`dcgan_lib.latent.decode`), as the chapters decode theirs, one image at a time, so an
image depends on its own z only, not on the others in its row.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from . import latent

WIDGETS_ENV = "DCGAN_WIDGETS"


def live() -> bool:
    """Whether :func:`show` displays widgets: ``$DCGAN_WIDGETS`` when it is ``1`` or ``0``,
    else whether this kernel was started by a Jupyter server (JupyterLab, Notebook)."""
    forced = os.environ.get(WIDGETS_ENV, "")
    if forced in ("0", "1"):
        return forced == "1"
    return bool(os.environ.get("JPY_SESSION_NAME"))


@dataclass
class Slider:
    """One control: its range, step and starting value; integer when all four are ints."""
    low: float
    high: float
    step: float
    start: float
    help: str = ""

    @property
    def integer(self) -> bool:
        return all(isinstance(v, int) for v in (self.low, self.high, self.step, self.start))


@dataclass
class Explorer:
    """Controls (name -> :class:`Slider`) and ``render(**values) -> (images (N, C, H, W) in
    [-1, 1], one label per image)``: what the widget redraws and the static figure shows."""
    title: str
    sliders: dict[str, Slider]
    render: Callable[..., tuple[torch.Tensor, list[str]]]
    caption: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    def values(self, **changed) -> dict:
        """The starting values with ``changed`` applied; an unknown or out-of-range value is
        refused with the control's name and range."""
        unknown = set(changed) - set(self.sliders)
        if unknown:
            raise ValueError(f"no control named {sorted(unknown)}; the controls are "
                             f"{sorted(self.sliders)}")
        out = {k: s.start for k, s in self.sliders.items()}
        for k, v in changed.items():
            s = self.sliders[k]
            if not s.low <= v <= s.high:
                raise ValueError(f"{k} must be in [{s.low}, {s.high}], got {v}")
            out[k] = int(v) if s.integer else float(v)
        return out

    def describe(self, **changed) -> str:
        """The title with the values shown: ``"walk ... (a = 0, b = 1, ...)"``."""
        values = ", ".join(f"{k} = {v}" for k, v in self.values(**changed).items())
        return f"{self.title} ({values})"

    def images(self, **changed) -> tuple[torch.Tensor, list[str]]:
        """The row of images and labels at the given values (others at their start)."""
        return self.render(**self.values(**changed))

    def png(self, **changed) -> bytes:
        """:meth:`images` as one PNG (the widget's picture), labels left out."""
        from torchvision.utils import save_image
        key = tuple(sorted(self.values(**changed).items()))
        if key not in self._cache:
            buf = io.BytesIO()
            imgs, _ = self.images(**changed)
            save_image((imgs + 1) / 2, buf, nrow=len(imgs), padding=2, format="png")
            self._cache = {key: buf.getvalue()}      # the last picture only
        return self._cache[key]

    def figure(self, **changed):
        """The static figure: the row of images with their labels, a title and the caption."""
        import matplotlib.pyplot as plt
        imgs, labels = self.images(**changed)
        fig, axes = plt.subplots(1, len(imgs), figsize=(1.6 * len(imgs), 2.1), squeeze=False)
        for ax, img, label in zip(axes[0], imgs, labels):
            x = ((img.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
            ax.imshow(x[..., 0] if x.shape[2] == 1 else x, cmap="gray", vmin=0, vmax=1)
            ax.set_title(label, fontsize=8)
            ax.axis("off")
        fig.suptitle(self.describe(**changed), fontsize=9)
        fig.tight_layout()
        return fig

    def widget(self):
        """ipywidgets: one slider per control above the picture, redrawn when one moves. The
        box's ``controls`` (name -> slider) and ``picture`` are there for tests and scripts."""
        import ipywidgets as w
        controls = {}
        for name, s in self.sliders.items():
            cls = w.IntSlider if s.integer else w.FloatSlider
            controls[name] = cls(min=s.low, max=s.high, step=s.step, value=s.start,
                                 description=name, tooltip=s.help, continuous_update=False)
        picture = w.Image(value=self.png(), format="png")

        def redraw(_change=None):
            picture.value = self.png(**{k: c.value for k, c in controls.items()})

        for c in controls.values():
            c.observe(redraw, names="value")
        box = w.VBox([w.HTML(f"<b>{self.title}</b>"), *controls.values(), picture,
                      w.HTML(f"<i>{self.caption}</i>")])
        box.controls, box.picture = controls, picture
        return box


def show(explorer: Explorer, run=None, name: str | None = None):
    """The widget in a live front end (:func:`live`), else the static figure: through
    ``run.figure`` (saved with the chapter's figures) when ``run`` and ``name`` are given.
    Returns the widget or the figure."""
    if live():
        from IPython.display import display
        box = explorer.widget()
        display(box)
        return box
    fig = explorer.figure()
    if run is not None and name:
        run.figure(fig, name, title=explorer.describe() + ": static, the controls' starting "
                   "values (open the chapter in JupyterLab to move them)")
    return fig


def _pool(G: nn.Module, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` seeded samples' z and the fixed context of 64 random z they are decoded with."""
    return latent.seeded_z(G, n, seed), latent.seeded_z(G, 64, seed + 7)


def _decode(G: nn.Module, z: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """Each z decoded alone with ``context`` (batch statistics of ordinary samples), so an
    image does not depend on the other images of the row."""
    return torch.cat([latent.decode(G, zi.unsqueeze(0), context=context) for zi in z])


def walk(G: nn.Module, n: int = 16, seed: int = 0, steps: int = 7) -> Explorer:
    """Walk from sample ``a`` to sample ``b`` of ``n`` seeded samples: the two ends and
    ``steps`` images between them, linear (``spherical`` = 0, the paper's) or spherical
    interpolation (``spherical`` = 1), and ``t`` picks one more image anywhere on the way."""
    z, ctx = _pool(G, n, seed)

    def render(a: int, b: int, t: float, spherical: int):
        method = "spherical" if spherical else "linear"
        path = latent.interpolate(z[a], z[b], steps + 2, method)
        at = (latent.slerp if spherical else latent.lerp)(z[a], z[b], t)          # (1, nz)
        imgs = _decode(G, torch.cat([path, at]), ctx)
        ts = torch.linspace(0, 1, steps + 2)
        return imgs, [f"#{a}" if i == 0 else f"#{b}" if i == steps + 1 else f"t={float(x):.2f}"
                      for i, x in enumerate(ts)] + [f"t={t:.2f}"]

    return Explorer(
        "walk between two samples (figure 4)",
        {"a": Slider(0, n - 1, 1, 0, "first sample"), "b": Slider(0, n - 1, 1, 1, "second sample"),
         "t": Slider(0.0, 1.0, 0.05, 0.5, "where on the way (last image)"),
         "spherical": Slider(0, 1, 1, 0, "0: linear (the paper's), 1: spherical")},
        render, caption="a smooth morph from one end to the other, with plausible images all "
        "the way, is what section 6.1 reads as 'not memorised'")


def direction(G: nn.Module, d: torch.Tensor, n: int = 16, seed: int = 0,
              alphas: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0),
              name: str = "the direction") -> Explorer:
    """Sample ``i`` of ``n`` seeded samples moved along ``d`` by each of ``alphas`` and by the
    slider's ``alpha`` (the last image), as figure 8 moves faces along its 'turn' vector."""
    z, ctx = _pool(G, n, seed)

    def render(i: int, alpha: float):
        moved = latent.along(z[i:i + 1], d, list(alphas) + [alpha])[0]
        return (_decode(G, moved, ctx),
                [f"{a:+.1f}" for a in alphas] + [f"alpha {alpha:+.2f}"])

    return Explorer(f"sample + alpha x {name} (figure 8)",
                    {"i": Slider(0, n - 1, 1, 0, "which sample"),
                     "alpha": Slider(-3.0, 3.0, 0.1, 1.0, "how far along the direction")},
                    render, caption="the attribute should change steadily with alpha while the "
                    "rest of the sample stays (figure 8's two claims)")


def arithmetic(G: nn.Module, n: int = 32, seed: int = 0) -> Explorer:
    """``a - b + c`` on three chosen samples of ``n`` seeded ones (figure 7 with one exemplar
    per concept; the chapter's measured version averages three): the three samples, their
    arithmetic in z and, for comparison, the same arithmetic on their pixels."""
    z, ctx = _pool(G, n, seed)

    def render(a: int, b: int, c: int):
        out = _decode(G, torch.stack([z[a], z[b], z[c], latent.analogy(z[a], z[b], z[c])]), ctx)
        pixels = latent.pixel_analogy(out[0:1], out[1:2], out[2:3]).unsqueeze(0)
        return (torch.cat([out, pixels]),
                [f"a #{a}", f"b #{b}", f"c #{c}", "z: a - b + c", "pixels: a - b + c"])

    return Explorer("vector arithmetic on chosen samples (figure 7)",
                    {"a": Slider(0, n - 1, 1, 0, "a"), "b": Slider(0, n - 1, 1, 1, "b"),
                     "c": Slider(0, n - 1, 1, 2, "c")},
                    render, caption="z arithmetic should give a clean sample with a's concept "
                    "moved onto c; pixel arithmetic gives an overlay (the paper's baseline)")
