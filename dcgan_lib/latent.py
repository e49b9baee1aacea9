"""Walking in the latent space (paper section 6.1, figure 4) and vector arithmetic on z
(section 6.3.2, figures 7 and 8).

Sampling. The authors' batch-norm has no running averages: every image was generated inside a
batch, with that batch's statistics (:func:`dcgan_lib.models.batch_stats`). :func:`decode` does
the same (``bn="batch"``), in one batch when it can. A batch of nine nearly identical vectors
(the centre and eight neighbours of figure 7) has degenerate statistics, so ``context`` appends a
fixed set of random z to every batch and returns only the requested images: the statistics are
then those of ordinary random samples. ``bn="eval"`` uses the running statistics instead
(our own checkpoints have them; :func:`population_bn` estimates them for the authors' model).

Walks (figure 4): :func:`walk` puts ``steps`` points on each segment between consecutive points
of a series (the paper: 9 random points), linearly (:func:`lerp`, the paper's) or spherically
(:func:`slerp`, a common alternative for Gaussian z, whose norm it keeps near the typical one);
:func:`walk_images` renders a whole walk in one batch.
:func:`smoothness` measures each row: the change between neighbouring images, in pixels and in a
feature space, and how much of the row's total change its largest single step holds
(``max_share``: 1/(steps-1) for an even morph, close to 1 for a jump). A memorising model jumps;
:class:`MemorisingGenerator` (a look-up table of images) shows what that looks like.

Arithmetic (figure 7): :func:`concept_mean` averages the z of three exemplars per concept,
:func:`analogy` forms ``a - b + c`` on the means, :func:`neighbours` adds uniform noise of scale
0.25 for the eight surrounding samples (:func:`analogy_outputs` does all three and renders the
nine images); :func:`pixel_analogy` is the paper's baseline, the same
arithmetic on the mean images. Figure 8's "turn" vector is :func:`direction` (mean of one
attribute value's exemplars minus the other's), applied to random z by :func:`along`.
Exemplars are picked reproducibly from seeded samples by a score (:func:`pick_exemplars`) or by
listed indices; :func:`concept_rate` scores how often outputs carry the intended concept;
:func:`brightness` and :func:`polarity` are two attributes measurable in pixels.
:func:`score_analogies` scores several analogies at once: for each exemplar triple the z
arithmetic with three and with one exemplar per concept and the pixel baseline
(:func:`analogy_sets`), each judged by a concept test (e.g. :func:`darker_of_class`) and by
per-image measures such as the discriminator's :func:`p_real` and the feature-space
:func:`nearest_distance` to real images.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .models import batch_stats

BN_MODES = ("batch", "eval")


# ------------------------------------------------------------------ sampling
def seeded_z(G: nn.Module, n: int, seed: int) -> torch.Tensor:
    """``n`` latent vectors from ``G``'s own z distribution, from ``torch.Generator`` seeded
    with ``seed``: ``G.sample_z(n, torch.Generator().manual_seed(seed))``."""
    return G.sample_z(n, torch.Generator().manual_seed(seed))


@torch.no_grad()
def population_bn(G: nn.Module, n: int = 2048, batch_size: int = 128, seed: int = 0) -> nn.Module:
    """Set every batch-norm layer's running statistics of ``G`` to the average, over batches of
    ``batch_size`` random z (``n`` in all, seeded), of each batch's statistics, so that
    ``decode(G, z, bn="eval")`` matches batch sampling without depending on the batch."""
    from torch.utils.data import TensorDataset

    from .features import reestimate_bn
    return reestimate_bn(G, TensorDataset(seeded_z(G, n, seed)), batch_size)


@torch.no_grad()
def decode(G: nn.Module, z: torch.Tensor, bn: str = "batch", batch_size: int = 512,
           context: torch.Tensor | None = None) -> torch.Tensor:
    """Images ``G(z)`` (N, C, H, W) on the CPU, in [-1, 1], for z (N, nz) (the samples of
    figures 4 and 7).

    ``bn="batch"``: batch statistics, as the authors sampled, in chunks of ``batch_size``; with
    ``context`` (random z) appended to every chunk so its statistics are those of ordinary
    samples. ``bn="eval"``: running statistics (each image depends on its own z only).
    """
    if bn not in BN_MODES:
        raise ValueError(f"bn must be one of {BN_MODES}, got {bn!r}")
    if z.ndim != 2:
        raise ValueError(f"z must be a (N, nz) tensor, got shape {tuple(z.shape)}")
    dev = next(G.parameters()).device
    was_training = G.training
    G.eval()
    outs = []
    try:
        for i in range(0, len(z), batch_size):
            chunk = z[i:i + batch_size].to(dev)
            k = len(chunk)
            if bn == "eval":
                outs.append(G(chunk).cpu())
                continue
            if context is not None:
                chunk = torch.cat([chunk, context.to(dev)])
            if len(chunk) < 2:
                raise ValueError("bn='batch' needs at least two vectors in a batch; pass context "
                                 "(random z) or use bn='eval'")
            with batch_stats(G):
                outs.append(G(chunk)[:k].cpu())
    finally:
        G.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)


# ------------------------------------------------------------------ interpolation
def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Linear interpolation ``(1 - t) z0 + t z1`` (the paper's walk); ``t`` of shape (T,)
    gives (T, nz)."""
    t = torch.as_tensor(t, dtype=z0.dtype).reshape(-1, 1)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985): along the great circle between the directions of
    ``z0`` and ``z1``, with the norm interpolated linearly; equal to :func:`lerp` for parallel
    vectors. ``t`` of shape (T,) gives (T, nz)."""
    t = torch.as_tensor(t, dtype=z0.dtype).reshape(-1, 1)
    n0, n1 = z0.norm(), z1.norm()
    if n0 == 0 or n1 == 0:
        return lerp(z0, z1, t)
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos((u0 @ u1).clamp(-1.0, 1.0))
    if omega < 1e-6:
        return lerp(z0, z1, t)
    s = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / s
    return direction * ((1 - t) * n0 + t * n1)


METHODS: dict[str, Callable] = {"linear": lerp, "spherical": slerp}


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int,
                method: str = "linear") -> torch.Tensor:
    """``steps`` points from ``z0`` to ``z1`` inclusive, shape (steps, nz)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (both endpoints), got {steps}")
    return METHODS[method](z0, z1, torch.linspace(0, 1, steps))


def walk(points: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """Figure 4's walk through a series of points (the paper: 9 random points): one row per
    segment between consecutive points, ``steps`` images per row, endpoints included (the last
    image of a row is the first of the next). Returns (len(points) - 1, steps, nz)."""
    if points.ndim != 2 or len(points) < 2:
        raise ValueError(f"points must be (K >= 2, nz), got shape {tuple(points.shape)}")
    return torch.stack([interpolate(points[i], points[i + 1], steps, method)
                        for i in range(len(points) - 1)])


def walk_images(G: nn.Module, points: torch.Tensor, steps: int, method: str = "linear",
                bn: str = "batch", context: torch.Tensor | None = None) -> torch.Tensor:
    """Images of :func:`walk` through ``points``, all in one batch: (rows, steps, C, H, W)."""
    w = walk(points, steps, method)
    r, t, nz = w.shape
    x = decode(G, w.reshape(r * t, nz), bn, batch_size=r * t, context=context)
    return x.reshape(r, t, *x.shape[1:])


# ------------------------------------------------------------------ smoothness
def _row_steps(x: torch.Tensor) -> np.ndarray:
    """Distances between consecutive items of one row (T, D): RMS per component."""
    d = (x[1:] - x[:-1]).double()
    return d.pow(2).mean(1).sqrt().numpy()


def smoothness(images: torch.Tensor, features: Callable[[torch.Tensor], torch.Tensor] | None = None
               ) -> dict:
    """How smooth each row of a walk is (section 6.1: smooth transitions, not sharp ones).
    ``images`` (R, T, C, H, W): R rows of T images.

    Per row and per space (``pixel``; ``feature`` when ``features`` maps images (N, C, H, W) to
    vectors (N, D)): the T-1 step changes (root-mean-square difference between neighbours),
    ``max_share`` = largest step / sum of steps (1/(T-1) for an even morph, 1 for a single jump)
    and ``jump`` = largest step / median step. Returns ``{"rows": [dict per row], "summary":
    {space_stat: value}}`` where the summary holds each statistic's mean over rows and the worst
    row's ``max_share``.
    """
    if images.ndim != 5:
        raise ValueError(f"images must be (rows, steps, C, H, W), got {tuple(images.shape)}")
    r, t = images.shape[:2]
    if t < 3:
        raise ValueError(f"need at least 3 images per row to compare steps, got {t}")
    spaces = {"pixel": images.reshape(r, t, -1).float()}
    if features is not None:
        with torch.no_grad():
            f = torch.as_tensor(features(images.reshape(r * t, *images.shape[2:])))
        spaces["feature"] = f.reshape(r, t, -1).float()
    rows, summary = [], {}
    for i in range(r):
        row = {"row": i}
        for name, x in spaces.items():
            s = _row_steps(x[i])
            total = s.sum()
            row[f"{name}_mean_step"] = float(s.mean())
            row[f"{name}_max_step"] = float(s.max())
            row[f"{name}_max_share"] = float(s.max() / total) if total > 0 else 0.0
            med = np.median(s)
            row[f"{name}_jump"] = float(s.max() / med) if med > 0 else float("inf")
            row[f"{name}_steps"] = s
        rows.append(row)
    for name in spaces:
        for stat in ("mean_step", "max_share", "jump"):
            summary[f"{name}_{stat}"] = float(np.mean([row[f"{name}_{stat}"] for row in rows]))
        summary[f"{name}_worst_max_share"] = float(max(row[f"{name}_max_share"] for row in rows))
    summary["even_share"] = 1.0 / (t - 1)
    return {"rows": rows, "summary": summary}


def midpoint_fd(G: nn.Module, embed: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                n: int = 2000, draws: int = 5, seed: int = 0, context: int = 256,
                max_dims: int = 256) -> dict:
    """Section 6.1's "every image along the walk is plausible", measured: the Fréchet distance
    to ``real`` images (in the feature space ``embed``) of the images at the midpoints of ``n``
    random pairs of z, beside that of ``n`` ordinary samples, in ``draws`` independent draws
    (seeded). Both are rendered with batch statistics of ordinary samples (``context`` random z
    appended to every batch, :func:`decode`), so a midpoint is judged as the generator draws it
    among others. Features wider than ``max_dims`` (a discriminator's 7,168 or more) are
    projected to ``max_dims`` by a fixed seeded Gaussian matrix first, which keeps the distance
    a distance between the two image sets and the covariances small enough to compare.
    Returns ``{"midpoint": [fd per draw], "sample": [fd per draw]}``."""
    from .metrics import frechet_distance, gaussian_stats
    proj: list = []

    def stats(x):
        f = embed(x).detach().double().cpu().flatten(1)
        if f.shape[1] > max_dims:
            if not proj:
                g = torch.Generator().manual_seed(seed + 20_000)
                proj.append(torch.randn(f.shape[1], max_dims, generator=g,
                                        dtype=torch.float64) / max_dims ** 0.5)
            f = f @ proj[0]
        return gaussian_stats(f.numpy())

    ref = stats(real[:n])
    ctx = seeded_z(G, context, seed + 10_000)
    out: dict[str, list[float]] = {"midpoint": [], "sample": []}
    for d in range(draws):
        za, zb = seeded_z(G, n, seed + 2 * d), seeded_z(G, n, seed + 2 * d + 1)
        for name, z in (("midpoint", lerp(za, zb, 0.5)), ("sample", za)):
            out[name].append(frechet_distance(*stats(decode(G, z, context=ctx)), *ref))
    return out


class MemorisingGenerator(nn.Module):
    """A generator that has memorised ``images``: z -> the image of the nearest of ``anchors``
    (one random z per image). Walking its latent space shows what memorisation looks like:
    nothing changes, then everything changes at once (section 6.1's "sharp transitions")."""

    def __init__(self, images: torch.Tensor, nz: int = 100, z_dist: str = "normal",
                 seed: int = 0):
        super().__init__()
        from .models import sample_z
        if images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
        self.nz, self.z_dist = nz, z_dist
        self.register_buffer("images", images.detach().clone())
        self.register_buffer("anchors", sample_z(len(images), nz, z_dist,
                                                 torch.Generator().manual_seed(seed)))
        self._dummy = nn.Parameter(torch.zeros(()), requires_grad=False)  # carries the device

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """For each z (N, nz), the memorised image (C, H, W) whose anchor is nearest
        (Euclidean): (N, C, H, W)."""
        idx = torch.cdist(z.reshape(len(z), -1).float(), self.anchors).argmin(1)
        return self.images[idx]

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent vectors (n, nz) from ``z_dist``, on the CPU (as ``Generator``'s)."""
        from .models import sample_z
        return sample_z(n, self.nz, self.z_dist, generator)


# ------------------------------------------------------------------ vector arithmetic
def concept_mean(z: torch.Tensor, indices: Sequence[int] | None = None) -> torch.Tensor:
    """The mean z of a concept's exemplars (the paper averages three), shape (nz,)."""
    sel = z if indices is None else z[list(indices)]
    if len(sel) == 0:
        raise ValueError("a concept needs at least one exemplar")
    return sel.mean(0)


def analogy(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``a - b + c`` (figure 7: smiling woman - neutral woman + neutral man)."""
    return a - b + c


def neighbours(z: torch.Tensor, n: int = 8, scale: float = 0.25,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Figure 7's nine: ``z`` itself first, then ``n`` copies with uniform noise in
    [-scale, scale] added to every component. Returns (1 + n, nz)."""
    noise = (torch.rand(n, z.numel(), generator=generator) * 2 - 1) * scale
    return torch.cat([z.reshape(1, -1), z.reshape(1, -1) + noise.to(z)])


@torch.no_grad()
def analogy_outputs(G: nn.Module, z: torch.Tensor, a: Sequence[int], b: Sequence[int],
                    c: Sequence[int], n: int = 8, scale: float = 0.25, seed: int = 0,
                    bn: str = "batch", context: torch.Tensor | None = None) -> torch.Tensor:
    """Figure 7 for exemplar indices ``a``, ``b``, ``c`` into ``z``: the images of
    ``mean(z[a]) - mean(z[b]) + mean(z[c])`` and of ``n`` noisy neighbours (centre first),
    (1 + n, C, H, W)."""
    q = analogy(concept_mean(z, a), concept_mean(z, b), concept_mean(z, c))
    return decode(G, neighbours(q, n, scale, torch.Generator().manual_seed(seed)), bn,
                  context=context)


def pixel_analogy(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The paper's baseline: the same arithmetic on mean images (each argument (k, C, H, W)),
    clipped to [-1, 1]. Returns one image (C, H, W)."""
    return (a.mean(0) - b.mean(0) + c.mean(0)).clamp(-1, 1)


# the three output sets of one exemplar triple, in the order of the score tables
ANALOGY_OUTPUTS = ("z, 3 exemplars", "z, 1 exemplar", "pixels")


def analogy_sets(G: nn.Module, z: torch.Tensor, images: torch.Tensor, a: Sequence[int],
                 b: Sequence[int], c: Sequence[int], seed: int = 0,
                 context: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Figure 7 for one exemplar triple (indices into the pool ``z`` (N, nz) and its images
    ``images`` (N, C, H, W)), against its two baselines, keyed by :data:`ANALOGY_OUTPUTS`:
    ``a - b + c`` on the mean z of all exemplars and 8 neighbours (9 images), the same with
    the first exemplar of each concept only (the paper found single exemplars unstable; 9
    images) and on the mean images (:func:`pixel_analogy`, 1 image). Neighbour noise is seeded
    with ``seed``; ``context`` as in :func:`decode`."""
    return {"z, 3 exemplars": analogy_outputs(G, z, a, b, c, seed=seed, context=context),
            "z, 1 exemplar": analogy_outputs(G, z, a[:1], b[:1], c[:1], seed=seed,
                                             context=context),
            "pixels": pixel_analogy(images[a], images[b], images[c]).unsqueeze(0)}


def score_analogies(G: nn.Module, z: torch.Tensor, images: torch.Tensor,
                    analogies: dict[str, tuple[Sequence[tuple], Callable]],
                    measures: dict[str, Callable] | None = None, seed: int = 0,
                    context: torch.Tensor | None = None
                    ) -> tuple[list[dict], dict[str, list[dict[str, torch.Tensor]]]]:
    """Score figure 7's arithmetic (section 6.3.2) for several analogies.

    ``analogies`` maps a name to ``(triples, hit)``: ``triples`` a list of exemplar index
    triples ``(a, b, c)`` into ``z`` / ``images`` (the paper: three exemplars per concept),
    triple ``r`` rendered by :func:`analogy_sets` with noise seed ``seed + r``; ``hit(imgs)``
    says per image (bool, (M,)) whether an output carries the intended concept. ``measures``
    maps a name to a per-image value ``f(imgs)`` ((M,), e.g. :func:`p_real`,
    :func:`nearest_distance`), averaged over all outputs of a kind.

    Returns ``(rows, outputs)``: one row per analogy and a last row ``"all"`` (outputs pooled),
    with columns ``analogy``, one hit rate (:func:`concept_rate`) per output kind
    (:data:`ANALOGY_OUTPUTS`), ``"<measure> <kind>"`` means, and ``"outputs (z, pixels)"``
    (how many images the rates of the z and the pixel arithmetic count); ``outputs[name]``
    holds each triple's :func:`analogy_sets`. No rows when ``analogies`` is empty.
    """
    measures = measures or {}
    rows, outputs = [], {}
    pooled = {"hit": {k: [] for k in ANALOGY_OUTPUTS},
              **{m: {k: [] for k in ANALOGY_OUTPUTS} for m in measures}}

    def row(name: str, v: dict) -> dict:
        return {"analogy": name, **{k: concept_rate(h) for k, h in v["hit"].items()},
                **{f"{m} {k}": float(np.mean(x)) for m in measures for k, x in v[m].items()},
                "outputs (z, pixels)": f"{len(v['hit'][ANALOGY_OUTPUTS[0]])}, "
                                       f"{len(v['hit']['pixels'])}"}

    for name, (triples, hit) in analogies.items():
        if not triples:
            raise ValueError(f"analogy {name!r} has no exemplar triples")
        vals = {"hit": {k: [] for k in ANALOGY_OUTPUTS},
                **{m: {k: [] for k in ANALOGY_OUTPUTS} for m in measures}}
        outputs[name] = []
        for r, (a, b, c) in enumerate(triples):
            sets = analogy_sets(G, z, images, a, b, c, seed=seed + r, context=context)
            outputs[name].append(sets)
            with torch.no_grad():
                for kind, imgs in sets.items():
                    vals["hit"][kind] += list(np.asarray(hit(imgs), bool))
                    for m, f in measures.items():
                        vals[m][kind] += torch.as_tensor(f(imgs)).tolist()
        rows.append(row(name, vals))
        for key, per_kind in vals.items():
            for kind, v in per_kind.items():
                pooled[key][kind] += v
    if rows:
        rows.append(row("all", pooled))
    return rows, outputs


@torch.no_grad()
def triple_scores(outputs: dict[str, list[dict[str, torch.Tensor]]],
                  analogies: dict[str, tuple[Sequence[tuple], Callable]],
                  measure: Callable | None = None) -> dict[str, list[float]]:
    """Per exemplar triple, the scores :func:`score_analogies` pools: for each output kind
    (:data:`ANALOGY_OUTPUTS`) one value per triple of every analogy, the hit rate of that
    analogy's ``hit`` (or, with ``measure``, the mean of ``measure(imgs)``). Triples are
    independent draws of exemplars, so these are the samples a verdict's spread comes from
    (the nine images of one triple are not independent)."""
    out: dict[str, list[float]] = {k: [] for k in ANALOGY_OUTPUTS}
    for name, (_, hit) in analogies.items():
        f = measure or (lambda imgs: np.asarray(hit(imgs), float))
        for sets in outputs[name]:
            for kind, imgs in sets.items():
                out[kind].append(float(np.mean(np.asarray(torch.as_tensor(f(imgs)), float))))
    return out


@torch.no_grad()
def p_real(D: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The discriminator's probability that each image (N, C, H, W) is real, sigmoid(D(x)),
    shape (N,); D as it is (put it in eval mode with population statistics first)."""
    return torch.sigmoid(D(images))


@torch.no_grad()
def nearest_distance(embed: Callable[[torch.Tensor], torch.Tensor], reference: torch.Tensor,
                     images: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Euclidean distance of each image (N, C, H, W), in the feature space ``embed`` maps
    images to, to its nearest row of ``reference`` (M, D) (features of real images), divided
    by ``scale`` (e.g. the median for the generator's own samples, so 1 = as typical as a
    sample). Shape (N,)."""
    return torch.cdist(embed(images), reference).min(1).values / scale


@torch.no_grad()
def darker_of_class(classifier: nn.Module, target: int, max_brightness: float,
                    images: torch.Tensor) -> np.ndarray:
    """Figure 7's concept test on a labelled dataset ("dark Y"): per image (N, C, H, W), is
    it classified as ``target`` (argmax of ``classifier``'s logits) and darker than
    ``max_brightness`` (:func:`brightness`, [0, 1])? Bool, shape (N,)."""
    pred = classifier(images).argmax(1).numpy()
    return (pred == target) & (brightness(images) < max_brightness)


def direction(z_from: torch.Tensor, z_to: torch.Tensor) -> torch.Tensor:
    """Figure 8's "turn" vector: mean of ``z_to``'s exemplars minus mean of ``z_from``'s."""
    return concept_mean(z_to) - concept_mean(z_from)


def along(z: torch.Tensor, d: torch.Tensor, alphas: Sequence[float]) -> torch.Tensor:
    """Each row of ``z`` (N, nz) moved along ``d`` by every ``alpha``: (N, len(alphas), nz)."""
    a = torch.as_tensor(list(alphas), dtype=z.dtype).reshape(1, -1, 1)
    return z.unsqueeze(1) + a * d.reshape(1, 1, -1)


def random_directions(k: int, like: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """``k`` random directions (k, nz) of the same length as ``like``, uniform on the sphere:
    figure 8's measured baseline (what any direction of that length does)."""
    from .rng import seeded_generator
    r = torch.randn(k, like.numel(), generator=seeded_generator(seed, 8), dtype=like.dtype)
    return r / r.norm(dim=1, keepdim=True) * like.norm()


def score_direction(G: nn.Module, z: torch.Tensor, d: torch.Tensor, alphas: Sequence[float],
                    classify: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    context: torch.Tensor | None = None) -> dict:
    """Figure 8's test of a direction ``d`` on the samples ``z`` (N, nz), moved by every alpha
    of ``alphas`` (which must hold 0): per sample and alpha, whether its brightness moved the
    intended way (up for alpha > 0, down for alpha < 0; True at 0) and, with ``classify``
    (images -> class logits), whether its class is the one at alpha = 0. Returns arrays
    ``brightness``, ``moved`` and ``kept`` (None without a classifier), each (N, len(alphas)),
    and ``images`` (N, len(alphas), C, H, W)."""
    alphas = [float(a) for a in alphas]
    if 0.0 not in alphas:
        raise ValueError(f"alphas must hold 0 (the unmoved sample), got {alphas}")
    mid = alphas.index(0.0)
    path = along(z, d, alphas)
    imgs = decode(G, path.reshape(-1, z.shape[1]), context=context)
    imgs = imgs.reshape(len(z), len(alphas), *imgs.shape[1:])
    b = brightness(imgs.flatten(0, 1)).reshape(len(z), len(alphas))
    sign = np.sign(np.asarray(alphas))
    moved = (np.sign(b - b[:, mid:mid + 1]) == sign) | (sign == 0)
    kept = None
    if classify is not None:
        with torch.no_grad():
            pc = classify(imgs.flatten(0, 1)).argmax(1).numpy().reshape(len(z), len(alphas))
        kept = pc == pc[:, mid:mid + 1]
    return {"images": imgs, "brightness": b, "moved": moved, "kept": kept}


def per_sample_at(scores: np.ndarray, alphas: Sequence[float], at: Sequence[float]
                  ) -> np.ndarray:
    """Each sample's mean of a (N, len(alphas)) boolean score over the alphas ``at`` (e.g.
    ±0.5): one value per sample, so the samples, not their alphas, are the unit of a spread."""
    alphas = [round(float(a), 9) for a in alphas]
    cols = [alphas.index(round(float(a), 9)) for a in at]
    return np.asarray(scores, float)[:, cols].mean(1)


def pick_exemplars(scores, k: int = 3, among=None, lowest: bool = False) -> list[int]:
    """Indices of the ``k`` samples with the highest (``lowest=True``: lowest) ``scores``,
    restricted to the boolean mask ``among``; ties broken by index, so the choice is
    reproducible for seeded samples. Raises when fewer than ``k`` samples qualify."""
    s = np.asarray(scores, dtype=float)
    ok = np.ones(len(s), bool) if among is None else np.asarray(among, bool)
    if ok.shape != s.shape:
        raise ValueError(f"among has shape {ok.shape}, scores {s.shape}")
    idx = np.flatnonzero(ok)
    if len(idx) < k:
        raise ValueError(f"only {len(idx)} samples qualify, need k={k}; draw more samples or "
                         "loosen the condition")
    key = s[idx] if lowest else -s[idx]
    order = np.lexsort((idx, key))
    return [int(i) for i in idx[order[:k]]]


def concept_rate(hits) -> float:
    """Fraction of outputs that carry the intended concept (``hits`` boolean)."""
    h = np.asarray(hits, bool)
    if h.size == 0:
        raise ValueError("no outputs to score")
    return float(h.mean())


def brightness(images: torch.Tensor) -> np.ndarray:
    """Mean intensity of each image in [0, 1] (all channels)."""
    return (images.reshape(len(images), -1).float().mean(1) * 0.5 + 0.5).numpy()


def polarity(images: torch.Tensor, border: int = 4) -> np.ndarray:
    """Centre minus border brightness of each image, in [-1, 1] units of [0, 1] intensity:
    positive for a light object on a dark background, negative for dark on light (the
    central square excludes ``border`` pixels on each side; the border is the outer ring)."""
    x = images.float().mean(1) * 0.5 + 0.5                   # (N, H, W) in [0, 1]
    h, w = x.shape[-2:]
    if not 0 < 2 * border < min(h, w):
        raise ValueError(f"border {border} does not fit {h}x{w} images")
    ring = torch.ones(h, w, dtype=torch.bool)
    ring[border:h - border, border:w - border] = False
    centre = x[:, border:h - border, border:w - border].reshape(len(x), -1).mean(1)
    return (centre - x[:, ring].mean(1)).numpy()
