"""Image de-duplication by semantic hashing (paper section 4.1.1).

The paper fits a 3072-128-3072 de-noising, dropout-regularised ReLU autoencoder on 32x32
downsampled centre crops of the training images, binarises the code layer by thresholding the
ReLU (a unit is 1 when its activation is above zero) and uses the 128-bit codes as hash keys, so
that de-duplication is one pass over the data with a hash table: images whose codes collide are
duplicates. This module implements that and measures it:

* :class:`DedupAutoencoder` - the 3072-128-3072 autoencoder. Grey images are replicated to three
  channels so that the input is 3072 = 3 x 32 x 32 as in the paper. Training corrupts the input
  with Gaussian noise (de-noising) and drops code units (dropout); :func:`train_autoencoder`.
* :class:`HashIndex` - the hash table (``dict`` from packed code bytes to image indices), filled
  batch by batch (streaming: only the codes are kept, never the images). ``max_distance=0`` is
  the paper's exact collision. ``max_distance=t > 0`` also links codes within Hamming distance
  ``t`` by bucket splitting (pigeonhole): the bits are cut into ``t + 1`` chunks, two codes
  within distance ``t`` agree exactly on at least one chunk, so one hash table per chunk gives
  the candidates, which are then checked. This stays near linear while buckets stay small;
  :attr:`HashIndex.comparisons` counts the candidate checks so that can be measured.
* :func:`hash_stream` - runs any key function over an iterable of batches into an index and
  prints images/s. Key functions: :meth:`DedupAutoencoder.keys` (ours), :func:`exact_keys`
  (baseline: SHA-1 of the stored uint8 bytes) and :func:`phash_keys` (baseline: the perceptual
  hash of the ``imagehash`` library).
* :func:`plant_duplicates` and :func:`evaluate_groups` - near-duplicates with known ground
  truth (1-pixel shifts, small Gaussian noise, brightness changes, JPEG re-encoding, slight
  crop-and-resize, and byte-identical copies) and the pair precision, recall and
  false-positive rate of a grouping; :func:`sweep` does that for several key functions, each
  at several Hamming tolerances.

Choices the paper does not state, all switchable: the input is centred by the training mean
(``centre=True``; without it most ReLU units die on Fashion-MNIST's black background), the
corruption is additive Gaussian noise (``noise_std``), dropout acts on the code (``dropout``),
the optimiser is Adam. Deviation, off by default: ``align=True`` moves each image's intensity
centroid to the centre, scales its radius of gyration to a fixed size and standardises its
brightness before the autoencoder (moment normalisation), which makes the codes of shifted,
re-scaled and re-lit copies nearly equal on datasets of centred objects such as Fashion-MNIST.
"""
from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.v2 import functional as TF

KINDS = ("shift", "noise", "brightness", "jpeg", "crop", "copy")


# --------------------------------------------------------------------------------------------
# images in, 32x32 centre crops out
# --------------------------------------------------------------------------------------------

def as_nchw(images, name: str = "images") -> torch.Tensor:
    """uint8 or float images -> a (N, C, H, W) tensor (uint8 kept, float kept).

    Accepts (N, H, W) grey, (N, C, H, W) or (N, H, W, C) with C in (1, 3), as a tensor or a
    numpy array.
    """
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{name}: expected a batch of images shaped (N, H, W), (N, C, H, W) or "
                         f"(N, H, W, C) with C = 1 or 3, got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise ValueError(f"{name}: expected uint8 images in [0, 255] or float images in "
                         f"[-1, 1], got dtype {x.dtype}")
    return x


def to_unit(images) -> torch.Tensor:
    """Images -> float (N, C, H, W) in [0, 1] (uint8 / 255, float in [-1, 1] rescaled)."""
    x = as_nchw(images)
    return x.float() / 255 if x.dtype == torch.uint8 else (x.float() + 1) / 2


def centre_crops(images, size: int = 32, channels: int | None = 3) -> torch.Tensor:
    """The paper's input: shorter side resized to ``size`` (antialiased), centre crop,
    grey replicated to ``channels`` (None: keep the images' own). Returns float
    (N, channels, size, size) in [0, 1]."""
    x = to_unit(images)
    if x.shape[-2:] != (size, size):
        x = TF.center_crop(TF.resize(x, size, antialias=True), [size, size])
    return match_channels(x.clamp(0, 1), channels)


def match_channels(x: torch.Tensor, channels: int | None) -> torch.Tensor:
    """(N, C, H, W) -> (N, channels, H, W): grey replicated, colour averaged to grey."""
    if channels is None or x.shape[1] == channels:
        return x
    return x.expand(-1, channels, -1, -1) if x.shape[1] == 1 else x.mean(1, keepdim=True)


def align_moments(x: torch.Tensor, radius: float = 0.5, floor: float = 0.1) -> torch.Tensor:
    """Moment normalisation (the ``align`` deviation): per image, translate the centroid of
    the intensity above ``floor`` to the centre, scale so its radius of gyration is ``radius``
    (in [-1, 1] coordinates), then standardise the pixels (zero mean, unit variance).

    ``x``: float (N, C, H, W) in [0, 1]. Blank images are left in place.
    """
    n, _, h, w = x.shape
    lum = x.mean(1)
    wgt = (lum - floor).clamp_min(0)
    mass = wgt.sum((1, 2))
    ys = torch.linspace(-1 + 1 / h, 1 - 1 / h, h)[:, None]
    xs = torch.linspace(-1 + 1 / w, 1 - 1 / w, w)[None, :]
    safe = mass.clamp_min(1e-8)
    cy, cx = (wgt * ys).sum((1, 2)) / safe, (wgt * xs).sum((1, 2)) / safe
    r2 = (wgt * ((ys - cy[:, None, None]) ** 2 + (xs - cx[:, None, None]) ** 2)).sum((1, 2)) / safe
    scale = torch.where(mass > 1e-8, r2.sqrt().clamp_min(1e-3) / radius, torch.ones(n))
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros").flatten(1)
    y = y - y.mean(1, keepdim=True)
    return y / y.std(1, keepdim=True, correction=0).clamp_min(1e-6)


# --------------------------------------------------------------------------------------------
# the autoencoder (section 4.1.1)
# --------------------------------------------------------------------------------------------

class DedupAutoencoder(nn.Module):
    """3072-128-3072 de-noising, dropout-regularised ReLU autoencoder (section 4.1.1).

    ``encoder`` = Linear(3072, 128) + ReLU, ``decoder`` = Linear(128, 3072). In training mode
    the input gets Gaussian noise (``noise_std``, de-noising) and the code gets dropout
    (``dropout``); the target is the clean input. :meth:`codes` binarises the code by
    thresholding the ReLU: bit = activation > ``threshold`` (0 in the paper).
    """

    def __init__(self, n_code: int = 128, image_size: int = 32, channels: int = 3,
                 dropout: float = 0.5, noise_std: float = 0.2, centre: bool = True,
                 align: bool = False):
        super().__init__()
        self.config = dict(n_code=n_code, image_size=image_size, channels=channels,
                           dropout=dropout, noise_std=noise_std, centre=centre, align=align)
        n_in = channels * image_size * image_size
        self.encoder = nn.Sequential(nn.Linear(n_in, n_code), nn.ReLU())
        self.decoder = nn.Linear(n_code, n_in)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mean", torch.zeros(n_in))

    def prepare(self, images) -> torch.Tensor:
        """Images (uint8, or float in [-1, 1]) -> flat inputs (N, 3072): 32x32 centre crops in
        [-1, 1] (or moment-aligned and standardised with ``align``), minus ``mean``."""
        c = self.config
        x = centre_crops(images, c["image_size"], None)   # own channels: grey aligns 3x faster
        x = align_moments(x).view(x.shape) if c["align"] else x * 2 - 1
        return match_channels(x, c["channels"]).flatten(1) - self.mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct prepared inputs ``x`` (N, 3072)."""
        if self.training and self.config["noise_std"] > 0:
            x = x + self.config["noise_std"] * torch.randn_like(x)
        return self.decoder(self.dropout(self.encoder(x)))

    @torch.no_grad()
    def codes(self, images, threshold: float = 0.0) -> torch.Tensor:
        """Binary codes (N, 128) of bool: ReLU activation > ``threshold``."""
        was = self.training
        self.eval()
        h = self.encoder(self.prepare(images))
        self.train(was)
        return h > threshold

    def keys(self, images, threshold: float = 0.0) -> np.ndarray:
        """Hash keys: the binary codes packed into bytes, (N, 16) uint8."""
        return np.packbits(self.codes(images, threshold).numpy(), axis=1)

    def save(self, path) -> None:
        """Write the configuration and weights to ``path`` (a ``torch.save`` file that
        :meth:`load` reads back with ``weights_only=True``)."""
        torch.save({"config": self.config, "state": self.state_dict()}, path)

    @classmethod
    def load(cls, path) -> "DedupAutoencoder":
        """The autoencoder :meth:`save` wrote to ``path``, on the CPU, in eval mode."""
        ck = torch.load(path, map_location="cpu", weights_only=True)
        ae = cls(**ck["config"])
        ae.load_state_dict(ck["state"])
        return ae.eval()


def train_autoencoder(ae: DedupAutoencoder, images, epochs: float = 10, batch_size: int = 128,
                      lr: float = 1e-3, seed: int = 0, log_every: int = 1) -> list[dict]:
    """Fit ``ae`` to reconstruct ``images`` (uint8 or [-1, 1] float, any layout
    :func:`as_nchw` takes; prepared batch by batch, so 32x32 inputs are never all in memory).

    Adam, MSE, minibatch order from a generator seeded by ``seed``; ``epochs`` may be
    fractional. Sets ``ae.mean`` to the mean prepared input of (up to) 10,000 images first
    when ``ae.config['centre']``. Leaves ``ae`` in eval mode. Returns one log row per epoch
    (mean training loss, seconds, images/s).
    """
    x = as_nchw(images)
    if epochs <= 0 or batch_size < 1:
        raise ValueError(f"epochs must be > 0 and batch_size >= 1, got {epochs}, {batch_size}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # noise and dropout
    if ae.config["centre"]:
        ae.mean.zero_()
        idx = torch.randperm(len(x), generator=g)[:10_000]
        ae.mean.copy_(torch.cat([ae.prepare(x[idx[i:i + 1024]])
                                 for i in range(0, len(idx), 1024)]).mean(0))
    opt = torch.optim.Adam(ae.parameters(), lr=lr)
    per_epoch = math.ceil(len(x) / batch_size)
    steps = max(1, round(epochs * per_epoch))
    log = []
    ae.train()
    t0, total, seen, step = time.perf_counter(), 0.0, 0, 0
    while step < steps:
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch_size):
            inp = ae.prepare(x[perm[i:i + batch_size]])
            loss = F.mse_loss(ae(inp), inp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(inp)
            seen += len(inp)
            step += 1
            if step % per_epoch == 0 or step == steps:
                dt = time.perf_counter() - t0
                log.append(dict(epoch=round(step / per_epoch, 3), loss=total / seen,
                                seconds=dt, images_per_s=seen / dt))
                if log_every and (len(log) % log_every == 0 or step == steps):
                    print(f"epoch {log[-1]['epoch']:g}: loss {log[-1]['loss']:.4f} "
                          f"({seen / dt:,.0f} images/s)")
                t0, total, seen = time.perf_counter(), 0.0, 0
            if step >= steps:
                break
    ae.eval()
    return log


def code_usage(codes: torch.Tensor) -> dict:
    """How the bits are used: mean fraction on, dead (never on) and stuck (always on) bits,
    and the number of distinct codes."""
    c = torch.as_tensor(codes).bool()
    p = c.float().mean(0)
    distinct = len({bytes(r) for r in np.packbits(c.numpy(), axis=1)})
    return dict(bits=c.shape[1], mean_on=p.mean().item(), dead=int((p == 0).sum()),
                stuck=int((p == 1).sum()), distinct_codes=distinct, images=len(c))


# --------------------------------------------------------------------------------------------
# baselines: exact bytes and perceptual hash
# --------------------------------------------------------------------------------------------

def exact_keys(images) -> list[bytes]:
    """SHA-1 of each image's stored uint8 bytes: byte-identical images, and only those, share
    a key (20 bytes each). Needs uint8 images. A baseline for section 4.1.1's hashing."""
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.dtype != torch.uint8 or x.ndim < 2:
        raise ValueError(f"exact_keys: expected a batch of uint8 images (the stored bytes), got "
                         f"dtype {x.dtype}, shape {tuple(x.shape)}; convert float images in "
                         "[-1, 1] with dcgan_lib.data.to_uint8 first")
    a = np.ascontiguousarray(x.numpy())
    return [hashlib.sha1(a[i].tobytes()).digest() for i in range(len(a))]


def _pil_images(images):
    from PIL import Image
    x = as_nchw(images)
    if x.dtype != torch.uint8:
        x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    arr = x.permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arr]


def phash_keys(images, hash_size: int = 8) -> np.ndarray:
    """Perceptual hash (``imagehash.phash``: signs of the low-frequency DCT of a 32x32 grey
    version) of each image, packed: (N, hash_size**2 / 8) uint8. A baseline for section
    4.1.1's hashing."""
    try:
        import imagehash
    except ImportError as err:
        raise ImportError("phash_keys needs the imagehash package: pip install imagehash") from err
    bits = [imagehash.phash(im, hash_size=hash_size).hash.reshape(-1) for im in _pil_images(images)]
    return np.packbits(np.stack(bits), axis=1)


# --------------------------------------------------------------------------------------------
# the hash table
# --------------------------------------------------------------------------------------------

class HashIndex:
    """Hash table from binary codes to image indices, filled in batches (section 4.1.1's
    "linear time de-duplication").

    Streaming and greedy, as de-duplication is done: an image whose key matches a *kept* image
    becomes a duplicate of it (joins its group); otherwise it is kept. Only kept images are in
    the table, so a group is a kept image and its duplicates, never a chain.

    ``max_distance=0`` (the paper): "matches" is "has the same key", one ``dict`` from key
    bytes to the kept image's index. ``max_distance=t > 0``: "matches" is "Hamming distance
    <= t"; the bits are cut into ``t + 1`` chunks with one ``dict`` per chunk (two codes within
    ``t`` agree on at least one chunk), the image is compared only with kept images sharing a
    chunk and joins the nearest (earliest on ties); an image whose code equals an earlier
    image's joins that image's group directly, so identical codes always end up together as
    with ``t = 0``. ``comparisons`` counts the distance checks.
    Keys from :func:`exact_keys` (digests) only work with ``max_distance=0``.
    """

    def __init__(self, max_distance: int = 0):
        if not isinstance(max_distance, (int, np.integer)) or max_distance < 0:
            raise ValueError(f"max_distance must be an integer >= 0, got {max_distance!r}")
        self.max_distance = int(max_distance)
        self.n = 0
        self.comparisons = 0
        self._first: dict[bytes, int] = {}          # key -> its group's kept index
        self._dups: dict[int, list[int]] = {}        # kept index -> its duplicates
        self._width: int | None = None
        self._codes = np.zeros((0, 0), np.uint8)    # near mode: codes of kept images (grown x2)
        self._kept: list[int] = []                  # near mode: image index of each stored code
        self._chunks: list[dict[bytes, list[int]]] = []
        self._bounds: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return self.n

    def _check(self, keys) -> np.ndarray | list[bytes]:
        if isinstance(keys, np.ndarray):
            if keys.dtype != np.uint8 or keys.ndim != 2:
                raise ValueError(f"HashIndex.add: keys must be packed codes, a (N, bytes) uint8 "
                                 f"array, or a list of bytes; got {keys.dtype} {keys.shape}")
            width = keys.shape[1]
        else:
            keys = list(keys)
            if not all(isinstance(k, bytes) for k in keys):
                raise ValueError("HashIndex.add: keys must be a (N, bytes) uint8 array of packed "
                                 "codes or a list of bytes objects")
            if self.max_distance:
                raise ValueError("HashIndex: max_distance > 0 needs packed binary codes (a uint8 "
                                 "array), not digests; use max_distance=0 with exact_keys")
            width = len(keys[0]) if keys else self._width
        if self._width is not None and width is not None and width != self._width:
            raise ValueError(f"HashIndex.add: keys have {width} bytes, earlier ones {self._width}")
        self._width = width if self._width is None else self._width
        return keys

    def add(self, keys) -> None:
        """Add a batch of keys; the images get the next indices."""
        keys = self._check(keys)
        if self.max_distance == 0:
            base, first, dups = self.n, self._first, self._dups
            rows = [bytes(k) for k in keys] if isinstance(keys, np.ndarray) else keys
            for j, k in enumerate(rows):
                i = first.setdefault(k, base + j)
                if i != base + j:
                    dups.setdefault(i, []).append(base + j)
            self.n += len(rows)
            return
        self._add_near(keys)

    def _add_near(self, keys: np.ndarray) -> None:
        t, n_bits = self.max_distance, keys.shape[1] * 8
        if not self._bounds:
            if t + 1 > n_bits:
                raise ValueError(f"max_distance {t} needs at least {t + 1} bits, "
                                 f"keys have {n_bits}")
            cuts = np.linspace(0, n_bits, t + 2).round().astype(int)
            self._bounds = list(zip(cuts[:-1], cuts[1:]))
            self._chunks = [{} for _ in self._bounds]
            self._codes = np.zeros((1024, keys.shape[1]), np.uint8)
        bits = np.unpackbits(keys, axis=1)
        parts = [[bytes(r) for r in np.packbits(bits[:, a:b], axis=1)] for a, b in self._bounds]
        whole = [bytes(k) for k in keys]
        for j in range(len(keys)):
            i = self.n + j
            same = self._first.get(whole[j])
            if same is not None:                    # an identical code: its group, as t = 0
                if same != i:
                    self._dups.setdefault(same, []).append(i)
                continue
            cand: set[int] = set()
            for table, part in zip(self._chunks, parts):
                cand.update(table.get(part[j], ()))
            if cand:
                c = np.fromiter(cand, dtype=np.int64, count=len(cand))
                self.comparisons += len(c)
                d = np.bitwise_count(self._codes[c] ^ keys[j]).sum(1)
                best = np.lexsort((c, d))[0]
                if d[best] <= t:
                    self._first[whole[j]] = self._kept[c[best]]
                    self._dups.setdefault(self._kept[c[best]], []).append(i)
                    continue
            self._first[whole[j]] = i
            slot = len(self._kept)                  # keep image i
            if slot == len(self._codes):
                self._codes = np.concatenate([self._codes, np.zeros_like(self._codes)])
            self._codes[slot] = keys[j]
            self._kept.append(i)
            for table, part in zip(self._chunks, parts):
                table.setdefault(part[j], []).append(slot)
        self.n += len(keys)

    def labels(self) -> np.ndarray:
        """Group label per image: the index of the kept image it duplicates, else its own."""
        lab = np.arange(self.n)
        for i, rest in self._dups.items():
            lab[rest] = i
        return lab

    def groups(self) -> list[list[int]]:
        """Groups (kept image first, then its duplicates), largest first, then by index."""
        return sorted(([i, *rest] for i, rest in self._dups.items()),
                      key=lambda g: (-len(g), g[0]))

    @property
    def n_duplicates(self) -> int:
        """Images that duplicate a kept image (what de-duplication removes)."""
        return sum(len(r) for r in self._dups.values())


@dataclass
class HashStats:
    """What one :func:`hash_stream` pass did (section 4.1.1's single pass over the data):
    ``images`` hashed, ``seconds`` in all and ``key_seconds`` computing keys (wall clock),
    ``groups`` and ``duplicates`` in the index, ``comparisons`` of candidate codes (the
    Hamming-tolerance check), and ``extra`` numbers of the caller."""

    images: int = 0
    seconds: float = 0.0
    key_seconds: float = 0.0
    groups: int = 0
    duplicates: int = 0            # images that are not the first of their group
    comparisons: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        """Throughput of the pass, images a second (wall clock)."""
        return self.images / max(self.seconds, 1e-9)


def hash_stream(batches: Iterable, key_fn: Callable, max_distance: int = 0,
                index: HashIndex | None = None, name: str = "hash",
                verbose: bool = True) -> tuple[HashIndex, HashStats]:
    """Key every batch with ``key_fn`` and add it to a :class:`HashIndex`, one batch at a
    time (only keys are kept). A batch is an image array or an ``(images, labels)`` pair
    (as a DataLoader gives): section 4.1.1's de-duplication in one pass with a hash table.
    ``max_distance``: Hamming tolerance in bits (0: the paper's exact collision). Prints
    images/s. Returns the index and a :class:`HashStats`."""
    index = index if index is not None else HashIndex(max_distance)
    st = HashStats()
    t0 = time.perf_counter()
    for batch in batches:
        if (isinstance(batch, (tuple, list)) and len(batch) == 2
                and getattr(batch[0], "ndim", 0) >= 3 and getattr(batch[1], "ndim", 9) <= 1):
            batch = batch[0]                         # (images, labels) from a DataLoader
        tk = time.perf_counter()
        keys = key_fn(batch)
        st.key_seconds += time.perf_counter() - tk
        index.add(keys)
    st.seconds = time.perf_counter() - t0
    st.images = len(index)
    groups = index.groups()
    st.groups, st.duplicates = len(groups), sum(len(g) - 1 for g in groups)
    st.comparisons = index.comparisons
    if verbose:
        print(f"{name}: {st.images:,} images in {st.seconds:.1f} s "
              f"({st.images_per_s:,.0f} images/s; keys {st.key_seconds:.1f} s), "
              f"{st.groups:,} groups, {st.duplicates:,} duplicates"
              + (f", {st.comparisons:,} candidate checks" if index.max_distance else ""))
    return index, st


def uint8_batches(source, batch_size: int = 1024, limit: int | None = None,
                  num_workers: int = 0):
    """Stream a dataset as uint8 image batches.

    ``source``: a uint8 array/tensor of images (sliced), a torchvision dataset with a uint8
    ``.data`` (MNIST, Fashion-MNIST, CIFAR: its stored bytes, sliced), or any dataset of
    ``(image in [-1, 1], label)`` (loaded with a DataLoader with ``num_workers`` workers,
    converted by ``to_uint8``).
    """
    from .data import to_uint8
    array = isinstance(source, (np.ndarray, torch.Tensor))
    data = source if array else getattr(source, "data", None)
    if data is not None and torch.as_tensor(data[:1]).dtype == torch.uint8:
        n = len(data) if limit is None else min(limit, len(data))
        for i in range(0, n, batch_size):
            yield torch.as_tensor(data[i:min(i + batch_size, n)])
        return
    if array:
        raise ValueError(f"uint8_batches: arrays must hold uint8 images, got {source.dtype}")
    if limit is not None and limit < len(source):
        source = torch.utils.data.Subset(source, range(limit))
    for x, _ in torch.utils.data.DataLoader(source, batch_size=batch_size,
                                            num_workers=num_workers):
        yield to_uint8(x)


def load_uint8(source, limit: int | None = None, batch_size: int = 1024) -> torch.Tensor:
    """All of ``source`` (or its first ``limit`` images) as one uint8 tensor (N, C, H, W)
    (see :func:`uint8_batches` for what ``source`` may be)."""
    return torch.cat(list(uint8_batches(source, batch_size, limit)))


# --------------------------------------------------------------------------------------------
# planted near-duplicates and their evaluation
# --------------------------------------------------------------------------------------------

def perturb(image: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One near-duplicate of a uint8 (H, W) or (H, W, 3) image.

    ``shift``: 1 pixel left/right/up/down (zero fill); ``noise``: Gaussian, sigma 8/255;
    ``brightness``: x0.85 or x1.15; ``jpeg``: PIL JPEG at quality 75; ``crop``: a random
    (H-2) x (W-2) window resized back to H x W (a 7% zoom plus up to 1 pixel of shift);
    ``copy``: the same bytes (what exact hashing must find).
    """
    from PIL import Image
    from torchvision.transforms import functional as TF1
    im = Image.fromarray(image)
    h, w = image.shape[:2]
    if kind == "copy":
        return image.copy()
    if kind == "shift":
        dx, dy = [(1, 0), (-1, 0), (0, 1), (0, -1)][rng.integers(4)]
        return np.asarray(TF1.affine(im, 0.0, [dx, dy], 1.0, [0.0, 0.0]))
    if kind == "noise":
        return np.clip(image + rng.normal(0, 8, image.shape), 0, 255).round().astype(np.uint8)
    if kind == "brightness":
        return np.asarray(TF1.adjust_brightness(im, float(rng.choice([0.85, 1.15]))))
    if kind == "jpeg":
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=75)
        return np.asarray(Image.open(buf).convert(im.mode))
    if kind == "crop":
        oy, ox = (int(v) for v in rng.integers(0, 3, 2))
        return np.asarray(TF1.resized_crop(im, oy, ox, h - 2, w - 2, [h, w]))
    raise ValueError(f"unknown perturbation {kind!r}; choose from {', '.join(KINDS)}")


@dataclass
class PlantedSet:
    """Images with planted near-duplicates. ``family[i]`` is the index of the original that
    image ``i`` was made from (its own index for originals); ``kind[i]`` is ``original`` or
    the perturbation."""
    images: torch.Tensor
    family: np.ndarray
    kind: np.ndarray


def plant_duplicates(images, n_sources: int, kinds: Sequence[str] = KINDS,
                     seed: int = 0) -> PlantedSet:
    """Append one copy of each ``kinds`` perturbation (:func:`perturb`) of the first
    ``n_sources`` of ``images`` (uint8, (N, H, W) grey or channels-last / channels-first
    colour) to all of them: a ground truth to measure section 4.1.1's hashing against
    (:func:`evaluate_groups`)."""
    x = as_nchw(images)
    if x.dtype != torch.uint8:
        raise ValueError("plant_duplicates: expected uint8 images; use dcgan_lib.data.to_uint8")
    if not 0 < n_sources <= len(x):
        raise ValueError(f"n_sources must be in 1..{len(x)}, got {n_sources}")
    rng = np.random.default_rng(seed)
    hwc = x.permute(0, 2, 3, 1).numpy()
    grey = hwc.shape[-1] == 1
    extra, fam, kind = [], [], []
    for i in range(n_sources):
        src = hwc[i, ..., 0] if grey else hwc[i]
        for k in kinds:
            extra.append(perturb(src, k, rng))
            fam.append(i)
            kind.append(k)
    new = torch.from_numpy(np.stack(extra))
    new = new[:, None] if grey else new.permute(0, 3, 1, 2)
    n = len(x)
    return PlantedSet(torch.cat([x, new]), np.concatenate([np.arange(n), fam]),
                      np.array(["original"] * n + kind))


def evaluate_groups(labels: np.ndarray, planted: PlantedSet) -> dict:
    """Pair metrics of a grouping against the planted ground truth.

    A pair of images is a true duplicate when both come from the same original. ``precision``
    = true pairs among grouped pairs; ``recall`` = grouped among true pairs; ``pair_fpr`` =
    grouped among the non-duplicate pairs (the usual false-positive rate; it shrinks as the
    set grows); ``false_share`` = 1 - precision, the share of collisions that are wrong (what
    the paper's "false positive rate of less than 1 in 100" from inspecting collisions
    measures). ``true_pairs``, ``false_pairs``: grouped pairs that are / are not duplicates;
    ``duplicate_pairs``: all true duplicate pairs (grouped or not). ``recall_<kind>``: share of
    that kind's copies grouped with their original.
    """
    from sklearn.metrics.cluster import pair_confusion_matrix
    labels = np.asarray(labels)
    if len(labels) != len(planted.family):
        raise ValueError(f"labels has {len(labels)} entries, the planted set {len(planted.family)}")
    (tn, fp), (fn, tp) = pair_confusion_matrix(planted.family, labels) // 2
    out = dict(precision=tp / max(tp + fp, 1), recall=tp / max(tp + fn, 1),
               pair_fpr=fp / max(fp + tn, 1), false_share=fp / max(tp + fp, 1),
               true_pairs=int(tp), false_pairs=int(fp), duplicate_pairs=int(tp + fn))
    for k in dict.fromkeys(planted.kind):
        if k == "original":
            continue
        m = planted.kind == k
        out[f"recall_{k}"] = float(np.mean(labels[m] == labels[planted.family[m]]))
    return out


def sweep(planted: PlantedSet, methods: dict[str, tuple[Callable, Sequence[int]]]) -> list[dict]:
    """Every key method at each of its tolerances on a planted set (the recall / false-positive
    trade-off of section 4.1.1's hashing).

    ``methods`` maps a name to ``(key_fn, t_values)``: ``key_fn(images)`` gives the keys of
    all ``planted.images`` at once (timed), and each ``t`` in ``t_values`` groups them with a
    fresh :class:`HashIndex` (``max_distance=t``; digests such as :func:`exact_keys` only take
    ``[0]``). One row per (method, t), in that order: ``method``, ``t``, the pair measures of
    :func:`evaluate_groups` (``precision``, ``recall``, ``pair_fpr``, ``false_share``,
    ``true_pairs``, ``false_pairs``, ``duplicate_pairs``), ``keys_per_s`` (images keyed per second), ``checks``
    (:attr:`HashIndex.comparisons`) and the ``recall_<kind>`` of each perturbation."""
    rows = []
    for name, (key_fn, t_values) in methods.items():
        t0 = time.perf_counter()
        keys = key_fn(planted.images)
        key_rate = len(planted.images) / (time.perf_counter() - t0)
        for t in t_values:
            index = HashIndex(t)
            index.add(keys)
            r = evaluate_groups(index.labels(), planted)
            rows.append(dict(method=name, t=t, precision=r["precision"], recall=r["recall"],
                             pair_fpr=r["pair_fpr"], false_share=r["false_share"],
                             true_pairs=r["true_pairs"], false_pairs=r["false_pairs"],
                             duplicate_pairs=r["duplicate_pairs"], keys_per_s=key_rate, checks=index.comparisons,
                             **{k: v for k, v in r.items() if k.startswith("recall_")}))
    return rows


def group_splits(groups: list[list[int]], boundaries: dict[str, range]) -> dict[str, int]:
    """Count groups by where their members come from, e.g. boundaries = {"train":
    range(60000), "test": range(60000, 70000)}: keys ``within <split>`` and ``across``."""
    out = {f"within {s}": 0 for s in boundaries}
    out["across"] = 0
    for g in groups:
        splits = {s for i in g for s, r in boundaries.items() if i in r}
        out["across" if len(splits) > 1 else f"within {splits.pop()}"] += 1
    return out


def show_groups(images, groups: list[list[int]], n_groups: int = 8, per_group: int = 6,
                titles: Sequence[str] | None = None, size: float = 0.9):
    """Figure: one row per group (the first ``per_group`` members). ``images[i]`` is an image
    (uint8 or [-1, 1] float, any layout :func:`as_nchw` takes for one image) or an
    ``(image, label)`` pair."""
    import matplotlib.pyplot as plt
    groups = groups[:n_groups]
    rows, cols = max(1, len(groups)), max([per_group] + [0])
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for r, g in enumerate(groups):
        for c, i in enumerate(g[:per_group]):
            item = images[i]
            item = item[0] if isinstance(item, tuple) else item
            img = centre_crops(torch.as_tensor(np.asarray(item))[None], 32, 3)[0]
            axes[r, c].imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
            axes[r, c].set_title(str(i) if titles is None else titles[i], fontsize=6)
        axes[r, 0].text(-4, 16, f"{len(g)}", ha="right", va="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 0.93))
    return fig
