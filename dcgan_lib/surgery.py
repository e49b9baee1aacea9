"""Forgetting to draw an object (paper section 6.3.1, figure 6).

The paper drew 52 window bounding boxes on 150 bedroom samples, fitted a logistic regression on
the generator's second-highest convolutional layer to tell activations inside the boxes
(positives) from activations at random places in the same images (negatives), dropped every
feature map with a positive weight (about 200) at every spatial location, and generated new
samples with and without them: most windows disappear or turn into other objects.

Pipeline here, for any generator and any object:

1. :func:`box_samples`: the seeded samples a box file refers to, with the activations of
   :func:`feature_layer` (for a 64x64 paper generator, the 16x16x256 layer: it is the only one
   whose 256 maps can lose "about 200"; the 32x32 layer has 128). For the authors' 32x32 SVHN
   generator that is the 8x8x128 layer.
2. :func:`object_dataset`: one row per map cell (a C-vector); a cell is positive when its centre
   falls inside a box of its image, negatives are drawn at random among the other cells of the
   same images (``neg_per_pos`` per positive).
3. :func:`fit_object_classifier`: scikit-learn ``LogisticRegression``; accuracy by
   cross-validation grouped by image. :func:`object_channels`: the maps with weight > 0.
4. :func:`drop_channels`: a forward hook on that block zeroes those maps at every location.
5. Boxes in a batch run (:func:`window_boxes`): the user's, drawn earlier on this checkpoint's
   samples (:func:`model_id`), else an automatic stand-in (:func:`bright_boxes`), labelled
   :data:`STAND_IN` wherever it is used.
6. Measures: :func:`region_change` (how much the boxed or predicted object region changes
   against the rest of the image), :func:`structure_change` (how much drawn structure, edge
   energy, survives there and elsewhere) and :func:`verdict` (a classifier's decisions before
   and after),
   beside a control that drops as many random maps (:func:`random_channels`).

Boxes are data, in a JSON file (format ``dcgan-boxes/1``; :func:`load_boxes`, :func:`save_boxes`,
:func:`validate`)::

    {"format": "dcgan-boxes/1",
     "model": "newmu-svhn-dcgan",     # which generator (free text id; say how to load it)
     "seed": 0, "n_samples": 160,     # z = G.sample_z(n_samples, Generator().manual_seed(seed))
     "bn": "batch",                   # "batch": all n_samples in one batch, batch statistics
                                      # (the authors' sampling); "eval": running statistics
     "image_size": 32,
     "object": "central digit",
     "note": "free text: who drew them, how",
     "samples": [                     # every sample looked at, in any order, each once
        {"sample": 0, "boxes": []},   # looked at, no object
        {"sample": 1, "boxes": [{"box": [12, 2, 21, 30], "label": "5"}]}]}

A box is ``[x0, y0, x1, y1]`` in pixels of the generated image, ``x`` to the right and ``y``
down from the top-left corner, ``x0``/``y0`` inclusive and ``x1``/``y1`` exclusive, so
``0 <= x0 < x1 <= image_size``; ``label`` is optional (a string or null). :class:`BoxDrawer`
draws them on samples in JupyterLab.
"""
from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .latent import BN_MODES, decode, seeded_z
from .models import activations

FORMAT = "dcgan-boxes/1"
REQUIRED = ("model", "seed", "n_samples", "bn", "image_size", "samples")


# ------------------------------------------------------------------ the box file
@dataclass
class Box:
    """One object box on a generated sample (section 6.3.1's window boxes): pixels, ``x0``,
    ``y0`` inclusive, ``x1``, ``y1`` exclusive, origin top-left; ``label`` optional."""

    x0: int
    y0: int
    x1: int
    y1: int
    label: str | None = None

    @property
    def area(self) -> int:
        """Pixels inside the box."""
        return (self.x1 - self.x0) * (self.y1 - self.y0)


@dataclass
class BoxFile:
    """A box file (format ``dcgan-boxes/1``, the module docstring): which generator
    (``model``), which seeded samples (``seed``, ``n_samples``, ``image_size`` pixels, ``bn``
    mode), the ``object`` boxed, and ``samples``: sample index -> its :class:`Box` list
    (empty: looked at, no object). Section 6.3.1's 52 window boxes on 150 samples are one."""

    model: str
    seed: int
    n_samples: int
    image_size: int
    bn: str = "batch"
    object: str = ""
    note: str = ""
    samples: dict[int, list[Box]] = field(default_factory=dict)  # sample index -> its boxes

    @property
    def indices(self) -> list[int]:
        """Samples looked at, ascending."""
        return sorted(self.samples)

    @property
    def boxed(self) -> list[int]:
        """Samples with at least one box, ascending."""
        return [i for i in self.indices if self.samples[i]]

    def n_boxes(self) -> int:
        """Boxes over all samples."""
        return sum(len(b) for b in self.samples.values())

    def labels(self) -> dict[int, str]:
        """Sample -> the label of its first labelled box."""
        out = {}
        for i in self.indices:
            for b in self.samples[i]:
                if b.label is not None:
                    out[i] = b.label
                    break
        return out


def _int(v, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{where} must be an integer, got {v!r}")
    return v


def validate(data: dict, source: str = "<box data>") -> BoxFile:
    """Check a decoded box file and return it as a :class:`BoxFile`; every error names
    ``source`` and the offending field."""
    def err(msg):
        return ValueError(f"{source}: {msg} (format: see dcgan_lib.surgery's docstring)")
    if not isinstance(data, dict):
        raise err(f"top level must be a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise err(f"'format' must be {FORMAT!r}, got {data.get('format')!r}")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise err(f"missing field(s) {', '.join(missing)}")
    try:
        seed = _int(data["seed"], "'seed'")
        n = _int(data["n_samples"], "'n_samples'")
        size = _int(data["image_size"], "'image_size'")
    except ValueError as e:
        raise err(str(e)) from None
    if n < 1 or size < 1:
        raise err(f"'n_samples' and 'image_size' must be positive, got {n} and {size}")
    if data["bn"] not in BN_MODES:
        raise err(f"'bn' must be one of {BN_MODES}, got {data['bn']!r}")
    if not isinstance(data["model"], str) or not data["model"]:
        raise err("'model' must be a non-empty string naming the generator")
    if not isinstance(data["samples"], list):
        raise err("'samples' must be a list of {\"sample\": i, \"boxes\": [...]} objects")
    samples: dict[int, list[Box]] = {}
    for k, s in enumerate(data["samples"]):
        where = f"samples[{k}]"
        if not isinstance(s, dict) or "sample" not in s or "boxes" not in s:
            raise err(f"{where} must be an object with 'sample' and 'boxes'")
        try:
            i = _int(s["sample"], f"{where}.sample")
        except ValueError as e:
            raise err(str(e)) from None
        if not 0 <= i < n:
            raise err(f"{where}.sample = {i} is outside 0..n_samples-1 = 0..{n - 1}")
        if i in samples:
            raise err(f"{where}.sample = {i} appears twice; list each sample once")
        if not isinstance(s["boxes"], list):
            raise err(f"{where}.boxes must be a list")
        boxes = []
        for j, b in enumerate(s["boxes"]):
            w = f"{where}.boxes[{j}]"
            if not isinstance(b, dict) or "box" not in b:
                raise err(f"{w} must be an object with 'box': [x0, y0, x1, y1]")
            xy = b["box"]
            if not isinstance(xy, list) or len(xy) != 4:
                raise err(f"{w}.box must be a list [x0, y0, x1, y1], got {xy!r}")
            try:
                x0, y0, x1, y1 = (_int(v, f"{w}.box") for v in xy)
            except ValueError as e:
                raise err(str(e)) from None
            if not (0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size):
                raise err(f"{w}.box = {xy} must satisfy 0 <= x0 < x1 <= {size} and "
                          f"0 <= y0 < y1 <= {size} (pixels, x1/y1 exclusive)")
            label = b.get("label")
            if label is not None and not isinstance(label, str):
                raise err(f"{w}.label must be a string or null, got {label!r}")
            boxes.append(Box(x0, y0, x1, y1, label))
        samples[i] = boxes
    return BoxFile(data["model"], seed, n, size, data["bn"], str(data.get("object", "")),
                   str(data.get("note", "")), samples)


def to_dict(bf: BoxFile) -> dict:
    """``bf`` as the JSON object of the box-file format (the inverse of :func:`validate`)."""
    return {"format": FORMAT, "model": bf.model, "seed": bf.seed, "n_samples": bf.n_samples,
            "bn": bf.bn, "image_size": bf.image_size, "object": bf.object, "note": bf.note,
            "samples": [{"sample": i, "boxes": [{"box": [b.x0, b.y0, b.x1, b.y1],
                                                  **({"label": b.label} if b.label is not None
                                                     else {})} for b in bf.samples[i]]}
                        for i in bf.indices]}


def load_boxes(path: str | Path) -> BoxFile:
    """Read and validate a box file; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"box file {path} does not exist; draw boxes with "
                                "dcgan_lib.surgery.BoxDrawer and save them with save_boxes")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column "
                         f"{e.colno})") from None
    return validate(data, str(path))


def save_boxes(bf: BoxFile, path: str | Path) -> Path:
    """Validate and write ``bf`` as JSON (one sample per line)."""
    d = to_dict(bf)
    validate(d, str(path))
    head = {k: v for k, v in d.items() if k != "samples"}
    lines = ",\n".join("  " + json.dumps(s) for s in d["samples"])
    text = json.dumps(head, indent=1)[:-2] + ',\n "samples": [\n' + lines + "\n ]\n}\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pixel_masks(bf: BoxFile, indices: Sequence[int] | None = None) -> torch.Tensor:
    """(N, H, W) bool: True inside any box of each sample (``indices`` default: all looked at)."""
    indices = bf.indices if indices is None else list(indices)
    m = torch.zeros(len(indices), bf.image_size, bf.image_size, dtype=torch.bool)
    for k, i in enumerate(indices):
        for b in bf.samples.get(i, []):
            m[k, b.y0:b.y1, b.x0:b.x1] = True
    return m


def cell_labels(boxes: Sequence[Box], image_size: int, map_size: int) -> torch.Tensor:
    """(map_size, map_size) bool: a feature-map cell is inside when its centre, in image pixels
    (cell (i, j) covers rows i*s..(i+1)*s, s = image_size / map_size), lies in a box."""
    s = image_size / map_size
    c = (torch.arange(map_size) + 0.5) * s
    out = torch.zeros(map_size, map_size, dtype=torch.bool)
    for b in boxes:
        rows = (c >= b.y0) & (c < b.y1)
        cols = (c >= b.x0) & (c < b.x1)
        out |= rows[:, None] & cols[None, :]
    return out


# ------------------------------------------------------------------ generator side
def feature_layer(G: nn.Module) -> int:
    """The block index of the generator's "second highest convolution layer" (section 6.3.1):
    the second-to-last hidden layer, ``len(G.blocks) - 3`` (64x64: 16x16x256 for ngf=128;
    32x32: 8x8)."""
    i = len(G.blocks) - 3
    if i < 0:
        raise ValueError(f"{type(G).__name__} has {len(G.blocks)} blocks; need at least 3")
    return i


@contextlib.contextmanager
def drop_channels(G: nn.Module, layer: int, channels: Sequence[int]) -> Iterator[nn.Module]:
    """Within the block, the output maps ``channels`` of ``G.blocks[layer]`` are zero at every
    spatial location (a forward hook replaces the block's output)."""
    ch = sorted(set(int(c) for c in channels))

    def hook(_m, _inp, out):
        if not ch:
            return out
        if max(ch) >= out.shape[1] or min(ch) < 0:
            raise IndexError(f"channels {ch[0]}..{ch[-1]} outside 0..{out.shape[1] - 1} of "
                             f"block {layer}")
        out = out.clone()
        out[:, ch] = 0
        return out

    h = G.blocks[layer].register_forward_hook(hook)
    try:
        yield G
    finally:
        h.remove()


@torch.no_grad()
def box_samples(G: nn.Module, bf: BoxFile, layer: int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(z, images, features)`` of all ``bf.n_samples`` seeded samples the box file refers to,
    drawn as it says (``bn``; "batch" = one batch), with ``features`` the output of block
    ``layer`` (default :func:`feature_layer`)."""
    layer = feature_layer(G) if layer is None else layer
    z = seeded_z(G, bf.n_samples, bf.seed)
    with activations(G, [layer]) as acts:
        images = decode(G, z, bn=bf.bn, batch_size=len(z))
    if images.shape[-1] != bf.image_size:
        raise ValueError(f"the box file is for {bf.image_size}px images, the generator makes "
                         f"{images.shape[-1]}px ones: wrong model for these boxes ({bf.model})")
    return z, images, acts[layer].cpu()


def object_dataset(features: torch.Tensor, bf: BoxFile, neg_per_pos: float = 1.0,
                   seed: int = 0, only_boxed: bool = True
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows for the logistic regression: positives are the cells inside boxes, negatives random
    other cells of the same images (``only_boxed``: images with a box, as the paper; otherwise
    every image looked at). ``features`` (n_samples, C, s, s) indexed by sample. Returns
    ``X`` (M, C), ``y`` (M,) and ``where`` (M, 3) = (sample, row, column)."""
    if features.ndim != 4 or len(features) != bf.n_samples:
        raise ValueError(f"features must be (n_samples={bf.n_samples}, C, s, s), got "
                         f"{tuple(features.shape)}")
    s = features.shape[-1]
    rng = np.random.default_rng(seed)
    rows_x, rows_y, where = [], [], []
    for i in (bf.boxed if only_boxed else bf.indices):
        inside = cell_labels(bf.samples[i], bf.image_size, s).numpy()
        pos = np.argwhere(inside)
        neg_all = np.argwhere(~inside)
        n_neg = min(len(neg_all), int(round(neg_per_pos * max(len(pos), 1))))
        neg = neg_all[rng.choice(len(neg_all), n_neg, replace=False)] if n_neg else neg_all[:0]
        for cells, label in ((pos, 1), (neg, 0)):
            for r, c in cells:
                rows_x.append(features[i, :, r, c].numpy())
                rows_y.append(label)
                where.append((i, r, c))
    if not rows_x or len(set(rows_y)) < 2:
        raise ValueError("need both positive and negative cells: draw boxes on some samples "
                         "(and leave some of each image outside them)")
    return np.stack(rows_x).astype(np.float64), np.array(rows_y), np.array(where)


def fit_object_classifier(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None,
                          C: float = 1.0, folds: int = 5, seed: int = 0):
    """scikit-learn ``LogisticRegression`` (L2, ``C``) on the cells; returns ``(clf, info)``
    with the training accuracy and, when ``groups`` (the sample of each row) is given, the
    accuracy of ``folds``-fold cross-validation that keeps each image in one fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    clf = LogisticRegression(C=C, max_iter=5000, random_state=seed).fit(X, y)
    info = {"cells": len(y), "positives": int(y.sum()), "train_accuracy": clf.score(X, y)}
    if groups is not None and len(np.unique(groups)) >= folds:
        cv = cross_val_score(LogisticRegression(C=C, max_iter=5000, random_state=seed), X, y,
                             groups=groups, cv=GroupKFold(folds))
        info["cv_accuracy"] = float(cv.mean())
    return clf, info


def object_channels(clf, threshold: float = 0.0) -> list[int]:
    """Feature maps whose logistic-regression weight is greater than ``threshold`` (the paper:
    greater than zero)."""
    return [int(c) for c in np.flatnonzero(np.asarray(clf.coef_).reshape(-1) > threshold)]


def random_channels(n_total: int, k: int, seed: int = 0,
                    exclude: Sequence[int] = ()) -> list[int]:
    """``k`` maps chosen at random (seeded) among ``n_total``, avoiding ``exclude`` when there
    are enough others: the control for :func:`object_channels`."""
    rng = np.random.default_rng(seed)
    pool = np.setdiff1d(np.arange(n_total), np.asarray(exclude, int))
    if len(pool) < k:
        pool = np.arange(n_total)
    return sorted(int(c) for c in rng.choice(pool, k, replace=False))


def control_draws(n_total: int, k: int, draws: int, seed: int = 0,
                  exclude: Sequence[int] = ()) -> list[list[int]]:
    """``draws`` independent controls of ``k`` random maps each: :func:`random_channels` with
    seeds ``seed``, ``seed + 1``, ... (draw 0 is the single control ``random_channels(...,
    seed=seed)``). One draw can be lucky or unlucky; a baseline averaged over several is not."""
    if draws < 1:
        raise ValueError(f"need at least one draw, got {draws}")
    return [random_channels(n_total, k, seed=seed + d, exclude=exclude) for d in range(draws)]


@torch.no_grad()
def over_draws(G: nn.Module, z: torch.Tensor, layer: int, draws: Sequence[Sequence[int]],
               measure: Callable[[torch.Tensor], dict], bn: str = "batch",
               batch_size: int = 512, context: torch.Tensor | None = None
               ) -> dict[str, np.ndarray]:
    """Each channel set of ``draws`` (:func:`control_draws`) dropped in turn from the same
    ``z``: the images (as :func:`generate_pair`'s ``after``, same ``bn`` and ``batch_size``)
    go to ``measure(after) -> {name: one value per sample}``. Returns ``{name: array (draws,
    N)}``; only one draw's images are held at a time."""
    out: dict[str, list] = {}
    for channels in draws:
        with drop_channels(G, layer, channels):
            after = decode(G, z, bn, batch_size, context)
        for name, v in measure(after).items():
            out.setdefault(name, []).append(np.asarray(v, dtype=float))
    return {name: np.stack(v) for name, v in out.items()}


def paired_against_draws(obj, draws) -> dict:
    """The per-sample paired comparison of the object maps with random maps: ``obj`` (N,) is a
    measure of each sample with the object maps dropped, ``draws`` (D, N) the same measure of
    the same samples under each of D random draws (NaN: no value). Kept are the samples with a
    value everywhere; for them ``diff`` = object minus the mean over the draws (what a paired
    test is computed from), ``object``, ``control`` (the mean over the draws), and
    ``draw_means`` (D,): each draw's mean over the kept samples, i.e. how much the baseline
    would have moved with one draw only. ``kept``: the boolean mask over the N samples."""
    obj = np.asarray(obj, dtype=float)
    draws = np.atleast_2d(np.asarray(draws, dtype=float))
    if draws.shape[1] != len(obj):
        raise ValueError(f"draws must be (D, {len(obj)}) for {len(obj)} samples, got "
                         f"{draws.shape}")
    kept = ~np.isnan(obj) & ~np.isnan(draws).any(0)
    if not kept.any():
        raise ValueError("no sample has a value with the object maps and every draw")
    control = draws[:, kept].mean(0)
    return {"diff": obj[kept] - control, "object": obj[kept], "control": control,
            "draw_means": draws[:, kept].mean(1), "kept": kept}


@torch.no_grad()
def generate_pair(G: nn.Module, z: torch.Tensor, layer: int, channels: Sequence[int],
                  bn: str = "batch", batch_size: int = 512, context: torch.Tensor | None = None,
                  record: bool = False):
    """The same ``z`` through ``G`` without and with the maps dropped: ``(before, after)``;
    with ``record``, also the block-``layer`` features of the unmodified pass (for
    :func:`predicted_masks`; needs all of ``z`` in one batch)."""
    feats = None
    if record:
        if len(z) > batch_size:
            raise ValueError("record=True needs len(z) <= batch_size (one batch)")
        with activations(G, [layer]) as acts:
            before = decode(G, z, bn, batch_size, context)
        feats = acts[layer][:len(z)].cpu()
    else:
        before = decode(G, z, bn, batch_size, context)
    with drop_channels(G, layer, channels):
        after = decode(G, z, bn, batch_size, context)
    return (before, after, feats) if record else (before, after)


def predicted_masks(clf, features: torch.Tensor, image_size: int,
                    threshold: float = 0.5) -> torch.Tensor:
    """Where the logistic regression sees the object: cells with P(object) > ``threshold``,
    upsampled (nearest) to pixel masks (N, image_size, image_size)."""
    n, c, s, _ = features.shape
    p = clf.predict_proba(features.permute(0, 2, 3, 1).reshape(-1, c).double().numpy())[:, 1]
    cells = torch.from_numpy(p.reshape(n, 1, s, s) > threshold).float()
    return torch.nn.functional.interpolate(cells, size=image_size, mode="nearest")[:, 0] > 0.5


def region_change(before: torch.Tensor, after: torch.Tensor, masks: torch.Tensor) -> dict:
    """Mean absolute pixel change inside ``masks`` (N, H, W) and outside, over the images that
    have both an inside and an outside; ``ratio`` = inside / outside (1: the object region
    changed no more than the rest)."""
    d = (after - before).abs().mean(1).double()                           # (N, H, W)
    m = masks.bool()
    n_in, n_out = m.flatten(1).sum(1), (~m).flatten(1).sum(1)
    ok = (n_in > 0) & (n_out > 0)
    if not ok.any():
        raise ValueError("no image has both pixels inside and outside the masks")
    inside = (d * m).flatten(1).sum(1)[ok] / n_in[ok]
    outside = (d * ~m).flatten(1).sum(1)[ok] / n_out[ok]
    return {"images": int(ok.sum()), "inside": float(inside.mean()),
            "outside": float(outside.mean()), "ratio": float(inside.mean() / outside.mean()),
            "whole": float(d.mean())}


def edge_energy(images: torch.Tensor, masks: torch.Tensor) -> tuple[float, float]:
    """Mean gradient magnitude of the grey image (differences between neighbouring pixels)
    inside ``masks`` (N, H, W) and outside: how much drawn structure (strokes, edges) each
    region holds, insensitive to a change of overall colour."""
    g = images.float().mean(1)                                            # (N, H, W)
    gx = torch.zeros_like(g)
    gy = torch.zeros_like(g)
    gx[:, :, :-1] = (g[:, :, 1:] - g[:, :, :-1]).abs()
    gy[:, :-1] = (g[:, 1:] - g[:, :-1]).abs()
    e = (gx.pow(2) + gy.pow(2)).sqrt().double()
    m = masks.bool()
    if not m.any() or m.all():
        raise ValueError("masks must have pixels both inside and outside")
    return float(e[m].mean()), float(e[~m].mean())


def structure_change(before: torch.Tensor, after: torch.Tensor, masks: torch.Tensor) -> dict:
    """How much drawn structure survives inside the object region and outside it:
    ``inside_kept`` = edge energy after / before inside ``masks``, ``outside_kept`` the same
    outside (1 = as much structure as before; an object that disappears lowers inside_kept
    more than outside_kept)."""
    ib, ob = edge_energy(before, masks)
    ia, oa = edge_energy(after, masks)
    return {"inside_before": ib, "inside_after": ia, "outside_before": ob, "outside_after": oa,
            "inside_kept": ia / ib, "outside_kept": oa / ob}


def per_image(before: torch.Tensor, after: torch.Tensor, masks: torch.Tensor,
              keep_all: bool = False) -> dict:
    """:func:`region_change`'s ratio and :func:`structure_change`'s ``inside_kept`` image by
    image (numpy arrays over the images that have pixels inside and outside their mask, and
    drawn structure inside it before): the samples a verdict's spread is computed from. With
    ``keep_all``, one value for every image, NaN where an image has none (to pair images
    across several ``after``: :func:`paired_against_draws`)."""
    d = (after - before).abs().mean(1).double()
    m = masks.bool()
    n_in, n_out = m.flatten(1).sum(1), (~m).flatten(1).sum(1)

    def energy(x):
        g = x.float().mean(1)
        gx, gy = torch.zeros_like(g), torch.zeros_like(g)
        gx[:, :, :-1] = (g[:, :, 1:] - g[:, :, :-1]).abs()
        gy[:, :-1] = (g[:, 1:] - g[:, :-1]).abs()
        e = (gx.pow(2) + gy.pow(2)).sqrt().double()
        return (e * m).flatten(1).sum(1) / n_in.clamp(min=1)

    inside = (d * m).flatten(1).sum(1) / n_in.clamp(min=1)
    outside = (d * ~m).flatten(1).sum(1) / n_out.clamp(min=1)
    e_before, e_after = energy(before), energy(after)
    ok = (n_in > 0) & (n_out > 0) & (outside > 0) & (e_before > 0)
    ratio = inside / outside.clamp(min=1e-12)
    kept = e_after / e_before.clamp(min=1e-12)
    if keep_all:
        nan = torch.tensor(float("nan"), dtype=ratio.dtype)
        return {"change_ratio": torch.where(ok, ratio, nan).numpy(),
                "structure_kept_inside": torch.where(ok, kept, nan).numpy()}
    return {"change_ratio": ratio[ok].numpy(), "structure_kept_inside": kept[ok].numpy()}


def verdict(classify: Callable, before: torch.Tensor, after: torch.Tensor,
            featurize: Callable | None = None) -> dict:
    """A classifier's decisions before and after: ``classify(images) -> probabilities (N, K)``,
    or with ``featurize`` ``classify(featurize(images))`` (e.g. a scikit-learn
    ``predict_proba`` on :func:`dcgan_lib.features.discriminator_features`). Returns the share
    of images whose predicted class is unchanged, the mean confidence (top probability)
    before, and the mean probability after of the class predicted before."""
    if featurize is not None:
        before, after = featurize(before), featurize(after)
    pb, pa = np.asarray(classify(before)), np.asarray(classify(after))
    cb = pb.argmax(1)
    idx = np.arange(len(cb))
    return {"unchanged": float((pa.argmax(1) == cb).mean()),
            "confidence_before": float(pb[idx, cb].mean()),
            "confidence_after": float(pa[idx, cb].mean())}


def predicted_class(classify: Callable, images: torch.Tensor,
                    featurize: Callable | None = None) -> np.ndarray:
    """The class :func:`verdict`'s classifier predicts for each image (``classify(images)`` or
    ``classify(featurize(images))`` -> probabilities (N, K)), as an int array (N,): compare two
    of them sample by sample for a paired verdict."""
    x = featurize(images) if featurize is not None else images
    return np.asarray(classify(x)).argmax(1)


# ------------------------------------------------------------------ boxes for a batch run
STAND_IN = "AUTOMATIC STAND-IN"
STAND_IN_OBJECT = (f"bright region ({STAND_IN} for hand-drawn windows: the largest connected "
                   "region of each sample's brightest pixels, surgery.bright_boxes)")


def model_id(checkpoint: str | Path) -> str:
    """The ``model`` field of a box file drawn on ``checkpoint``'s samples: its file name and
    the start of its SHA-256, so boxes are never used with another model's samples."""
    import hashlib
    path = Path(checkpoint)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return f"{path.name} sha256:{h.hexdigest()[:16]}"


def bright_boxes(images: torch.Tensor, quantile: float = 0.9, min_share: float = 0.01,
                 max_share: float = 0.35, smooth: int | None = None) -> list[list[Box]]:
    """The automatic stand-in for hand-drawn window boxes (section 6.3.1 drew them by hand):
    per image (N, C, H, W) in [-1, 1], the bounding box of the largest 4-connected region of
    pixels brighter than the image's ``quantile`` of brightness (mean over channels, averaged
    over ``smooth`` x ``smooth`` pixels first, default H / 8, so that texture does not split a
    region), kept when that region covers between ``min_share`` and ``max_share`` of the image
    (else no box). The premise, a stand-in and no more: in bedroom photographs the window is
    usually the brightest region (daylight)."""
    from scipy import ndimage
    out = []
    for img in images:
        lum = img.float().mean(0).numpy()
        lum = ndimage.uniform_filter(lum, smooth or max(1, lum.shape[0] // 8), mode="nearest")
        mask = lum > np.quantile(lum, quantile)
        labels, n = ndimage.label(mask)
        boxes = []
        if n:
            sizes = np.bincount(labels.ravel())[1:]
            k = int(sizes.argmax()) + 1
            share = sizes[k - 1] / lum.size
            if min_share <= share <= max_share:
                ys, xs = np.nonzero(labels == k)
                boxes.append(Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1,
                                 int(ys.max()) + 1))
        out.append(boxes)
    return out


def window_boxes(G: nn.Module, checkpoint: str | Path, path: str | Path | None = None,
                 explicit: bool = False, n_samples: int = 150, seed: int = 0
                 ) -> tuple[BoxFile, str]:
    """The window boxes of section 6.3.1 for ``G`` (loaded from ``checkpoint``) in a batch run:
    ``(box file, how it was obtained)``.

    * the box file at ``path`` when it exists and was drawn on this checkpoint's samples
      (its ``model`` is :func:`model_id` of ``checkpoint``): the user's hand-drawn boxes;
    * otherwise the automatic stand-in: :func:`bright_boxes` on ``n_samples`` seeded samples,
      every one looked at, ``object`` saying :data:`STAND_IN`; the second value says why.

    ``explicit`` (the user named ``path``): a missing file is an error instead."""
    mid = model_id(checkpoint)
    why = "no hand-drawn box file"
    if path is not None and Path(path).is_file():
        bf = load_boxes(path)
        if bf.model == mid:
            return bf, f"hand-drawn ({path})"
        why = (f"{path} was drawn for model {bf.model!r}, not this checkpoint ({mid}): "
               "ignored; draw them again for this model (docs/gpu-runner.md)")
    elif explicit:
        raise FileNotFoundError(f"full_boxes {path} does not exist; draw window boxes with "
                                "surgery.BoxDrawer (docs/gpu-runner.md) or leave full_boxes "
                                "empty for the automatic stand-in")
    else:
        why = f"no hand-drawn box file at {path}" if path else why
    bf = BoxFile(mid, seed, n_samples, G.image_size, object=STAND_IN_OBJECT,
                 note=f"{STAND_IN}, made by dcgan_lib.surgery.window_boxes ({why})")
    _, images, _ = box_samples(G, bf)
    bf.samples = dict(enumerate(bright_boxes(images)))
    return bf, f"{STAND_IN} ({why})"


# ------------------------------------------------------------------ drawing boxes
class BoxDrawer:
    """Draw boxes on samples in JupyterLab with the mouse (matplotlib ``RectangleSelector``).

    Interactive use needs an interactive backend: ``%pip install ipympl`` once, then
    ``%matplotlib widget`` in the notebook::

        G = ...; bf = surgery.BoxFile(surgery.model_id(checkpoint), seed=0, n_samples=150,
                                      image_size=64, object="window")
        z, images, _ = surgery.box_samples(G, bf)
        drawer = surgery.BoxDrawer(images, bf, label="window"); drawer.show()
        # drag a box around each object; keys: n next sample, p previous, u undo last box
        # on this sample, e mark "no object" and go on; then:
        surgery.save_boxes(bf, "book/data/my_boxes.json")

    Every sample shown is recorded as looked at (with no boxes until some are drawn).
    :meth:`add` does the bookkeeping and can be called directly.
    """

    def __init__(self, images: torch.Tensor, bf: BoxFile, start: int = 0,
                 label: str | None = None, scale: float = 6.0):
        if len(images) != bf.n_samples:
            raise ValueError(f"{len(images)} images for a box file of {bf.n_samples} samples")
        self.images, self.bf, self.current, self.label, self.scale = images, bf, start, label, scale
        self.fig = self.ax = self.selector = None

    def add(self, sample: int, x0: float, y0: float, x1: float, y1: float,
            label: str | None = None) -> Box:
        """Record a box from two corners in pixel coordinates (any order), widened to whole
        pixels and clipped to the image."""
        n = self.bf.image_size
        xa, xb = sorted((x0, x1))
        ya, yb = sorted((y0, y1))
        b = Box(max(0, math.floor(xa)), max(0, math.floor(ya)), min(n, math.ceil(xb)),
                min(n, math.ceil(yb)), label if label is not None else self.label)
        if b.x1 <= b.x0 or b.y1 <= b.y0:
            raise ValueError(f"box {[x0, y0, x1, y1]} is empty after clipping to {n}px")
        self.bf.samples.setdefault(sample, []).append(b)
        return b

    def undo(self, sample: int | None = None) -> None:
        """Remove the last box of ``sample`` (default: the current one)."""
        s = self.current if sample is None else sample
        if self.bf.samples.get(s):
            self.bf.samples[s].pop()

    def goto(self, sample: int) -> None:
        """Show ``sample`` (clipped to 0..n_samples-1) and mark it as looked at."""
        self.current = int(np.clip(sample, 0, self.bf.n_samples - 1))
        self.bf.samples.setdefault(self.current, [])
        if self.ax is not None:
            self._draw()

    def on_select(self, eclick, erelease) -> None:
        """matplotlib ``RectangleSelector`` callback: add the dragged box to the current
        sample."""
        self.add(self.current, eclick.xdata, eclick.ydata, erelease.xdata, erelease.ydata)
        self._draw()

    def on_key(self, event) -> None:
        """Keys: ``n`` or ``e`` next sample, ``p`` previous, ``u`` undo the last box."""
        if event.key == "n" or event.key == "e":
            self.goto(self.current + 1)
        elif event.key == "p":
            self.goto(self.current - 1)
        elif event.key == "u":
            self.undo()
            self._draw()

    def _draw(self) -> None:
        from matplotlib.patches import Rectangle
        n = self.bf.image_size
        self.ax.clear()
        img = (self.images[self.current] * 0.5 + 0.5).clamp(0, 1).permute(1, 2, 0).numpy()
        self.ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray",
                       interpolation="nearest", extent=(0, n, n, 0))
        for b in self.bf.samples.get(self.current, []):
            self.ax.add_patch(Rectangle((b.x0, b.y0), b.x1 - b.x0, b.y1 - b.y0, fill=False,
                                        color="yellow", lw=1.5))
        self.ax.set_title(f"sample {self.current}: {len(self.bf.samples.get(self.current, []))}"
                          f" box(es) · n next, p previous, u undo, e no object", fontsize=8)
        if self.fig is not None:
            self.fig.canvas.draw_idle()

    def show(self):
        """Open the drawing figure on the current sample; returns the figure."""
        import matplotlib.pyplot as plt
        from matplotlib.widgets import RectangleSelector
        self.fig, self.ax = plt.subplots(figsize=(self.scale, self.scale))
        self.goto(self.current)
        self.selector = RectangleSelector(self.ax, self.on_select, useblit=False, button=[1],
                                          minspanx=1, minspany=1, spancoords="data",
                                          interactive=False)
        self.fig.canvas.mpl_connect("key_press_event", self.on_key)
        return self.fig


def draw_boxes_on(images: torch.Tensor, boxes: Sequence[Sequence[Box]], color=(1.0, 1.0, -1.0),
                  ) -> torch.Tensor:
    """Copies of ``images`` (N, C, H, W) in [-1, 1] with a 1-pixel outline of each box, for
    figures (``color`` per channel in [-1, 1]; grey images take its first value)."""
    out = images.clone()
    col = torch.tensor(color[:out.shape[1]] if out.shape[1] == 3 else color[:1],
                       dtype=out.dtype).reshape(-1, 1)
    for k, bs in enumerate(boxes):
        for b in bs:
            x1, y1 = b.x1 - 1, b.y1 - 1
            out[k, :, b.y0, b.x0:b.x1] = col
            out[k, :, y1, b.x0:b.x1] = col
            out[k, :, b.y0:b.y1, b.x0] = col
            out[k, :, b.y0:b.y1, x1] = col
    return out
