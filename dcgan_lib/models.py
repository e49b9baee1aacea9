"""DCGAN generator and discriminator (paper section 3, figure 1; section 4 for the init).

Two variants share one code path:

* ``paper`` follows the authors' released Theano code: 5x5 kernels with stride 2 (padding 2,
  output_padding 1 in the generator), z projected to 4x4 by a bias-free matrix product whose
  batch-norm is per unit (one gain and bias for each of the C*4*4 outputs), and in the
  discriminator the last conv layer flattened into one linear unit. z is uniform in [-1, 1].
* ``torch`` follows the common PyTorch port (pytorch/examples ``dcgan``): 4x4 kernels with
  stride 2 and padding 1, a transposed convolution from z (a 1x1 map) to 4x4, and a 4x4
  "valid" convolution to the single logit. z is standard normal.

Both follow the architecture guidelines of section 3: strided convolutions instead of pooling,
batch-norm everywhere except the generator's output and the discriminator's input, ReLU in G
with tanh on the output, LeakyReLU(0.2) in D, no fully connected hidden layers and no biases
(batch-norm's shift plays that role). D returns one logit per image (the sigmoid lives in the
loss, ``BCEWithLogitsLoss``).

Every network is a ``blocks`` ``nn.ModuleList``; each block is one layer of the paper's
figure 1 (conv, batch-norm, activation). :func:`activations` collects the output of every
block with forward hooks, which is what the probes, guided backprop and generator surgery use.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
from torch import nn

VARIANTS = ("paper", "torch")


def _check(image_size: int, variant: str) -> int:
    """Return the number of stride-2 layers for ``image_size`` (4x4 -> image_size)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    n = int(round(math.log2(image_size))) if image_size > 0 else 0
    if image_size < 16 or 2**n != image_size:
        raise ValueError(
            f"image_size must be a power of two >= 16 (16, 32, 64, 128, ...), got {image_size}"
        )
    return n - 2


def default_z_dist(variant: str) -> str:
    """The paper samples z uniformly in [-1, 1] (section 3); the PyTorch port uses N(0, 1)."""
    return "uniform" if variant == "paper" else "normal"


def sample_z(n: int, nz: int, dist: str = "uniform", generator: torch.Generator | None = None,
             device: torch.device | str = "cpu") -> torch.Tensor:
    """Draw ``n`` latent vectors, shape (n, nz), on ``device``: ``uniform`` in [-1, 1] (the
    paper, section 3) or ``normal`` (N(0, 1), the PyTorch port), from ``generator``."""
    if dist == "uniform":
        z = torch.rand(n, nz, generator=generator) * 2 - 1
    elif dist == "normal":
        z = torch.randn(n, nz, generator=generator)
    else:
        raise ValueError(f"z distribution must be 'uniform' or 'normal', got {dist!r}")
    return z.to(device)


class Reshape(nn.Module):
    """(N, ...) -> (N, *shape): the paper's reshape of the projected z into a 4x4 map
    (figure 1)."""

    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (N, ...) reshaped to (N, *shape)."""
        return x.reshape(x.shape[0], *self.shape)


class Generator(nn.Module):
    """DCGAN generator G(z) -> image in [-1, 1] (figure 1): z (N, nz) -> (N, nc, image_size,
    image_size).

    ``ngf`` is the width of the last hidden layer; the 4x4 layer has ``ngf * 2**(L-1)``
    channels where ``L = log2(image_size) - 2`` (for 64x64 and ngf=128: 1024 channels, as in
    figure 1). ``bn_affine=False`` gives batch-norm without scale and bias (appendix A.1).
    ``z_dist`` is the latent distribution :meth:`sample_z` draws from, ``"uniform"`` in
    [-1, 1] (section 3) or ``"normal"``; ``None`` means the variant's
    (:func:`default_z_dist`). It is part of the architecture, like ``variant``: not in the
    ``state_dict``, so a checkpoint's weights load into a generator built with any ``z_dist``
    and leave it unchanged.
    """

    def __init__(self, image_size: int = 64, nz: int = 100, ngf: int = 64, nc: int = 3,
                 variant: str = "paper", *, bn_affine: bool = True, z_dist: str | None = None):
        super().__init__()
        n_up = _check(image_size, variant)
        if z_dist not in (None, "uniform", "normal"):
            raise ValueError(f"z_dist must be 'uniform', 'normal' or None, got {z_dist!r}")
        self.image_size, self.nz, self.ngf, self.nc, self.variant = image_size, nz, ngf, nc, variant
        self.z_dist = z_dist or default_z_dist(variant)
        widths = [ngf * 2 ** (n_up - 1 - i) for i in range(n_up)]  # 4x4 ... image_size/2
        blocks = []
        if variant == "paper":
            c = widths[0]
            blocks.append(nn.Sequential(
                nn.Linear(nz, c * 16, bias=False),
                nn.BatchNorm1d(c * 16, affine=bn_affine),  # per unit, as the authors' code
                nn.ReLU(True),
                Reshape(c, 4, 4),
            ))
        else:
            blocks.append(nn.Sequential(
                Reshape(nz, 1, 1),
                nn.ConvTranspose2d(nz, widths[0], 4, 1, 0, bias=False),
                nn.BatchNorm2d(widths[0], affine=bn_affine),
                nn.ReLU(True),
            ))
        outs = widths[1:] + [nc]
        for i, (cin, cout) in enumerate(zip(widths, outs)):
            last = i == len(outs) - 1
            layers: list[nn.Module] = [_up(cin, cout, variant)]
            if last:
                layers.append(nn.Tanh())
            else:
                layers += [nn.BatchNorm2d(cout, affine=bn_affine), nn.ReLU(True)]
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images (N, nc, image_size, image_size) in [-1, 1] (tanh) from z (N, nz) (or
        (N, nz, 1, 1))."""
        x = z.reshape(z.shape[0], -1)
        for block in self.blocks:
            x = block(x)
        return x

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent vectors (n, nz) from this generator's ``z_dist``, on its device."""
        return sample_z(n, self.nz, self.z_dist, generator, next(self.parameters()).device)


def _up(cin: int, cout: int, variant: str) -> nn.ConvTranspose2d:
    if variant == "paper":
        return nn.ConvTranspose2d(cin, cout, 5, 2, 2, output_padding=1, bias=False)
    return nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)


def _down(cin: int, cout: int, variant: str) -> nn.Conv2d:
    if variant == "paper":
        return nn.Conv2d(cin, cout, 5, 2, 2, bias=False)
    return nn.Conv2d(cin, cout, 4, 2, 1, bias=False)


class Discriminator(nn.Module):
    """DCGAN discriminator D(x) -> one logit per image (figure 1 mirrored): (N, nc,
    image_size, image_size) in [-1, 1] -> (N,).

    Widths double from ``ndf`` at each stride-2 layer down to 4x4; no batch-norm on the
    first layer. The last block maps the 4x4 map to one logit: a flatten + linear unit
    (``paper``) or a 4x4 convolution (``torch``).
    """

    def __init__(self, image_size: int = 64, ndf: int = 64, nc: int = 3,
                 variant: str = "paper", *, bn_affine: bool = True):
        super().__init__()
        n_down = _check(image_size, variant)
        self.image_size, self.ndf, self.nc, self.variant = image_size, ndf, nc, variant
        widths = [ndf * 2**i for i in range(n_down)]
        blocks = []
        for i, cout in enumerate(widths):
            cin = nc if i == 0 else widths[i - 1]
            layers: list[nn.Module] = [_down(cin, cout, variant)]
            if i > 0:
                layers.append(nn.BatchNorm2d(cout, affine=bn_affine))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            blocks.append(nn.Sequential(*layers))
        if variant == "paper":
            blocks.append(nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * 16, 1, bias=False)))
        else:
            blocks.append(nn.Sequential(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False), nn.Flatten()))
        self.blocks = nn.ModuleList(blocks)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image, shape (N,), for images ``x`` (N, nc, image_size, image_size)
        in [-1, 1]; sigmoid(logit) is D's probability that the image is real."""
        for block in self.blocks:
            x = block(x)
        return x.reshape(-1)

    @property
    def conv_blocks(self) -> list[nn.Module]:
        """The convolutional blocks (all but the final logit), used as features in section 5."""
        return list(self.blocks)[:-1]


def init_weights(module: nn.Module) -> None:
    """Section 4: weights from N(0, 0.02); batch-norm gains from N(1, 0.02), shifts zero."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def block_names(model: nn.Module) -> list[str]:
    """Names of the blocks, ``blocks.0`` ... ``blocks.N``, in forward order: the layers of
    figure 1."""
    return [f"blocks.{i}" for i in range(len(model.blocks))]


@contextlib.contextmanager
def activations(model: nn.Module, layers: list[int] | None = None,
                detach: bool = True) -> Iterator[dict[int, torch.Tensor]]:
    """Record the output of each block (or of the listed block indices) during forward passes.

    >>> with activations(D) as acts:
    ...     D(x)
    >>> acts[0].shape   # first conv block

    Forward hooks keep the model untouched; the dict is filled by every forward inside the
    ``with`` block (a later forward overwrites an earlier one).
    """
    acts: dict[int, torch.Tensor] = {}
    idx = range(len(model.blocks)) if layers is None else layers
    handles = []
    for i in idx:
        def hook(_m, _inp, out, i=i):
            acts[i] = out.detach() if detach else out
        handles.append(model.blocks[i].register_forward_hook(hook))
    try:
        yield acts
    finally:
        for h in handles:
            h.remove()


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (weights, batch-norm gains and shifts) of ``model``."""
    return sum(p.numel() for p in model.parameters())


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """Figure 1 as a table, one row per block: name, first layer, output shape (per image,
    for inputs of ``input_shape`` without the batch dimension) and parameter count."""
    x = torch.zeros(2, *input_shape)
    was_training = model.training
    model.eval()
    rows = []
    with torch.no_grad(), activations(model) as acts:
        model(x)
    model.train(was_training)
    for i, block in enumerate(model.blocks):
        kinds = " + ".join(type(m).__name__ for m in block if not isinstance(m, Reshape))
        rows.append({"block": i, "layers": kinds, "output": tuple(acts[i].shape[1:]),
                     "params": count_parameters(block)})
    return rows


@contextlib.contextmanager
def batch_stats(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` with the statistics of the current batch in every batch-norm layer,
    without touching its running averages. This is how the authors sampled (their batch-norm
    has no running averages; section 4 and their ``lib/ops.py``)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, m.track_running_stats) for m in bns]
    for m in bns:
        m.train()
        m.track_running_stats = False
    try:
        yield model
    finally:
        for m, (tr, track) in zip(bns, saved):
            m.train(tr)
            m.track_running_stats = track


# Activations of one training step, as a multiple of the new tensors the layers of G and D
# output for the batch: autograd keeps about one per layer until the backward, which adds
# gradient buffers and convolution workspaces. Measured on CPU (peak RSS increase of one
# same-batch step, float32, 64 and 128 pixels, widths 8 to 64): 1.1-1.3; 1.5 leaves a margin.
ACTIVATION_FACTOR = 1.5


def layer_output_numel(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Elements of the new tensors the leaf modules of ``model`` output in one forward of
    ``inputs``: views (``Reshape``, ``Flatten``) and in-place activations are not counted."""
    total = 0

    def hook(m, _inp, out):
        nonlocal total
        if not (out._is_view() or getattr(m, "inplace", False)):
            total += out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if not any(True for _ in m.children())]
    try:
        model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total


def grid_floats(n: int, image_size: int) -> float:
    """Floats (4 bytes) that writing ``n`` images of ``image_size`` as one grid takes
    (``torchvision.utils.save_image``: a 3-channel float grid with 1-pixel padding, a scaled
    copy, then 8-bit pixels for PIL, twice)."""
    return n * 3 * (image_size + 1) ** 2 * 2.5


def estimate_train_memory(image_size: int, nc: int, nz: int, ngf: int, ndf: int,
                          batch_size: int, variant: str = "paper", dataset_images: int = 0,
                          preload: bool = True, samples: int = 0) -> int:
    """Bytes a float32 training run of these networks (section 4: Adam, minibatch
    ``batch_size``) needs at its peak, to refuse before it starts a run that cannot fit.

    The sum of

    * the parameters of G and D, four times (weights, gradients and Adam's two moments);
    * the activations of one step: the new tensors every layer of G and D outputs for one
      image (views and in-place activations share memory and are left out), counted with
      forward hooks in a pass on the ``meta`` device (no memory, no compute),
      times ``batch_size`` and :data:`ACTIVATION_FACTOR` (what autograd keeps for the
      backward, gradient buffers, workspaces), plus the real and generated batches;
    * the preloaded dataset, ``dataset_images * nc * image_size**2 * 4`` bytes, if ``preload``;
    * or, where it is larger than the step, the fixed-noise sample grid of ``samples`` images
      (G's activations in one batch, the images and the grid file, :func:`grid_floats`).

    An estimate, not a bound: bf16 autocast on CUDA needs less, ``torch.compile`` may differ.
    Raises ``ValueError`` (naming the option) for arguments the networks refuse.
    """
    for name, v in (("nc", nc), ("nz", nz), ("ngf", ngf), ("ndf", ndf),
                    ("batch_size", batch_size)):
        if v < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    for name, v in (("dataset_images", dataset_images), ("samples", samples)):
        if v < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    with torch.device("meta"):
        G = Generator(image_size, nz, ngf, nc, variant)
        D = Discriminator(image_size, ndf, nc, variant)
        n = 2  # batch-norm needs two values per channel in training mode
        z = torch.zeros(n, nz)
        x = torch.zeros(n, nc, image_size, image_size)
        per_image_g = layer_output_numel(G, z) / n
        per_image = per_image_g + layer_output_numel(D, x) / n
    params = count_parameters(G) + count_parameters(D)
    image = nc * image_size * image_size
    step = batch_size * (ACTIVATION_FACTOR * per_image + 2 * image + nz)
    grid = samples * (per_image_g + nz + 2 * image) + grid_floats(samples, image_size)
    floats = 4 * params + max(step, grid)
    if preload:
        floats += dataset_images * image
    return int(4 * floats)


def available_memory() -> int:
    """Bytes of memory this machine can give a new job now without swapping: ``MemAvailable``
    of ``/proc/meminfo`` (Linux), else ``psutil.virtual_memory().available`` when psutil is
    installed, else free pages times page size (``os.sysconf``)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    import os
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
