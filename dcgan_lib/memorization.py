"""Does the generator copy its training images? (paper section 4.1, figures 2 and 3)

The paper argues against memorisation by showing samples after one epoch (figure 2): with a
small learning rate and minibatch SGD a model that has seen each image once is unlikely to
reproduce it. We measure it instead, in two ways:

* **Nearest training images** of generated samples, in pixel space and in the feature space
  of a classifier (:func:`nearest_neighbours`, :func:`neighbours_in_spaces`). A copied image
  sits much closer to its nearest training image than unseen real images do to theirs;
  :func:`copy_statistics` compares the two distributions of distances.
* **The authors' distance score** (``nnd_score`` in their ``lib/metrics.py``, logged as
  ``1k_va_nnd``, ``10k_va_nnd``, ``100k_va_nnd`` by their ``train_uncond_dcgan.py`` after
  every epoch): the mean, over real images, of the Euclidean distance in pixel space (images
  in [-1, 1], flattened) to the nearest of 1k, 10k or 100k generated samples. It falls as the
  samples cover the real images better (a coverage measure rather than a copy detector).
  Their "validation" images were the first 10,000 of their training file; the book uses
  held-out images. Their distance adds 1e-3 twice under the square root; ours is exact.

Distances are computed with ``torch.cdist`` in chunks (queries x reference), so the reference
set can be a tensor or a streamed dataset of any size; the distances of the neighbours found
are recomputed directly (``||q - r||``). Exact copies are found by an exact path, not by
floating-point arithmetic: a query whose pixels equal a reference image's bit for bit (found by
hashing each image's bytes, then confirmed with ``torch.equal``) has that image as a neighbour at
distance exactly 0 in every space. Without it an embedding computed in a different batch (or on
another CPU, BLAS or thread count) could put a copy at about 1e-7 instead of 0.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .metrics import generate

Embed = Callable[[torch.Tensor], torch.Tensor] | None


def _flat(x: torch.Tensor, embed: Embed) -> torch.Tensor:
    x = embed(x) if embed is not None else x
    return x.reshape(len(x), -1).float()


def _image_keys(x: torch.Tensor) -> list[bytes]:
    """A digest of each image's float32 bytes: images equal bit for bit have equal keys. Used
    to find exact copies without floating-point arithmetic (SHA-1: the fastest of hashlib's
    here; a collision costs only a comparison, see :func:`_exact_pairs`)."""
    a = x.detach().float().cpu().reshape(len(x), -1).contiguous().numpy()
    return [hashlib.sha1(row).digest() for row in a]


def _exact_pairs(keys: dict[bytes, list[int]], queries: torch.Tensor, ref: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(query indices, indices in ref)`` of the pairs of images equal bit for bit; ``keys``
    maps each query image's key (:func:`_image_keys`) to the queries that have it."""
    qs, rs = [], []
    for b, key in enumerate(_image_keys(ref)):
        for a in keys.get(key, ()):
            if torch.equal(queries[a].float().cpu(), ref[b].float().cpu()):  # no hash collision
                qs.append(a)
                rs.append(b)
    return torch.tensor(qs, dtype=torch.long), torch.tensor(rs, dtype=torch.long)


def _reference_chunks(reference, chunk: int, num_workers: int) -> Iterator[torch.Tensor]:
    """Yield consecutive image batches of ``reference`` (tensor, dataset or iterable)."""
    if isinstance(reference, torch.Tensor):
        for i in range(0, len(reference), chunk):
            yield reference[i:i + chunk]
    elif isinstance(reference, Dataset):
        for batch in DataLoader(reference, batch_size=chunk, shuffle=False,
                                num_workers=num_workers):
            yield batch[0] if isinstance(batch, (list, tuple)) else batch
    else:  # an iterable of batches (tensors or (images, labels))
        for batch in reference:
            yield batch[0] if isinstance(batch, (list, tuple)) else batch


@torch.no_grad()
def neighbours_in_spaces(queries: torch.Tensor, reference: torch.Tensor | Dataset | Iterable,
                         spaces: dict[str, Embed], k: int = 1, chunk: int = 4096,
                         query_chunk: int = 4096, device: str | torch.device = "cpu",
                         num_workers: int = 0, progress: bool = False
                         ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The ``k`` nearest reference images of every query, in several spaces in one pass.

    ``spaces`` maps a name to an embedding (``None``: raw pixels, flattened; else a function
    of an image batch that treats each image on its own, e.g. ``classifier.features`` of a
    network in ``eval()`` mode). ``reference`` is read once, in chunks of
    ``chunk`` images (a dataset is streamed through a DataLoader). Returns for each space
    ``(distances, indices)``, both (N, k), sorted nearest first; indices count reference
    images in the order read. A reference image equal to a query bit for bit is always among
    that query's neighbours, at distance exactly 0 in every space (an exact copy, found by
    comparing the images themselves, whatever rounding the embedding or ``cdist`` does).
    """
    device = torch.device(device)
    keys: dict[bytes, list[int]] = {}
    for i in range(0, len(queries), query_chunk):
        for a, key in enumerate(_image_keys(queries[i:i + query_chunk]), i):
            keys.setdefault(key, []).append(a)
    qs = {name: torch.cat([_flat(queries[i:i + query_chunk].to(device), e)
                           for i in range(0, len(queries), query_chunk)])
          for name, e in spaces.items()}
    n = len(queries)
    best = {name: (torch.full((n, k), float("inf"), device=device),
                   torch.full((n, k), -1, dtype=torch.long, device=device)) for name in spaces}
    offset = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(reference) if hasattr(reference, "__len__") else None,
                   unit="img", desc="nearest neighbours")
    for ref in _reference_chunks(reference, chunk, num_workers):
        copy_q, copy_r = _exact_pairs(keys, queries, ref)
        ref = ref.to(device)
        m = len(ref)
        for name, embed in spaces.items():
            r = _flat(ref, embed)
            q = qs[name]
            bd, bi = best[name]
            kk = min(k, m)
            for i in range(0, n, query_chunk):
                qi = q[i:i + query_chunk]
                dist = torch.cdist(qi, r)
                here = (copy_q >= i) & (copy_q < i + len(qi))
                if here.any():  # exact copies: marked -1, so they come first
                    dist[(copy_q[here] - i).to(device), copy_r[here].to(device)] = -1.0
                dc, j = dist.topk(kk, dim=1, largest=False)
                # direct distances for the candidates (cdist's matrix-product form loses
                # precision); exact copies at 0 exactly
                d = torch.stack([(qi - r[j[:, t]]).norm(dim=1) for t in range(kk)], 1)
                d = d.masked_fill(dc < 0, 0.0)
                alld = torch.cat([bd[i:i + len(qi)], d], 1)
                alli = torch.cat([bi[i:i + len(qi)], j + offset], 1)
                top, pos = alld.topk(k, dim=1, largest=False)
                bd[i:i + len(qi)] = top
                bi[i:i + len(qi)] = alli.gather(1, pos)
        offset += m
        if bar is not None:
            bar.update(m)
    if bar is not None:
        bar.close()
    if offset < k:
        raise ValueError(f"reference set has {offset} images, fewer than k={k}")
    return {name: (d.cpu(), i.cpu()) for name, (d, i) in best.items()}


def nearest_neighbours(queries: torch.Tensor, reference: torch.Tensor | Dataset | Iterable,
                       k: int = 1, embed: Embed = None, **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """``(distances, indices)`` (N, k) of the ``k`` nearest reference images of each query,
    in pixel space (``embed=None``) or in the space ``embed`` maps images to."""
    return neighbours_in_spaces(queries, reference, {"space": embed}, k, **kw)["space"]


def nnd_score(generated: torch.Tensor, real: torch.Tensor, **kw) -> float:
    """The authors' distance score: mean over ``real`` images of the pixel-space Euclidean
    distance to the nearest ``generated`` image (their ``nnd_score(gX, vaX)``)."""
    d, _ = nearest_neighbours(real, generated, 1, **kw)
    return float(d[:, 0].double().mean())


def _label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


class DistanceScore:
    """Evaluator for the trainer: the authors' score at several sample counts per epoch.

    ``real`` are held-out images in [-1, 1]; ``ns`` the numbers of generated samples (the
    authors: 1k, 10k, 100k). Returns ``{"nnd_1k": ..., "nnd_10k": ..., ...}``; the samples
    are ``metrics.generate``'s (seeded noise, batch statistics in batch-norm).
    """

    def __init__(self, real: torch.Tensor, ns: tuple[int, ...] = (1000, 10000, 100000),
                 seed: int = 0, device: str | torch.device = "cpu", chunk: int = 4096):
        if not len(real):
            raise ValueError("DistanceScore: no real images given")
        self.real, self.ns, self.seed = real, tuple(sorted(ns)), seed
        self.device, self.chunk = device, chunk

    def __call__(self, G: nn.Module) -> dict:
        """``{"nnd_<n>": score}`` for every ``n`` of ``ns``: :func:`nnd_score` of the first
        ``n`` seeded samples of ``G``, in pixel units of [-1, 1] images."""
        fake = generate(G, max(self.ns), self.seed)
        return {f"nnd_{_label(n)}": nnd_score(fake[:n], self.real, chunk=self.chunk,
                                              device=self.device) for n in self.ns}

    def real_reference(self, real_other: torch.Tensor) -> dict:
        """The same score with real images (e.g. training images) in place of samples: what a
        generator matching the data would get. Counts beyond ``len(real_other)`` are left out."""
        return {f"nnd_{_label(n)}": nnd_score(real_other[:n], self.real, chunk=self.chunk,
                                              device=self.device)
                for n in self.ns if n <= len(real_other)}


def combine_evaluators(*evaluators: Callable[[nn.Module], dict]) -> Callable[[nn.Module], dict]:
    """One evaluator for the trainer that runs several and merges their dicts (in order)."""
    def run(G: nn.Module) -> dict:
        out: dict = {}
        for ev in evaluators:
            out.update(ev(G))
        return out
    return run


def copy_statistics(generated_d: torch.Tensor, real_d: torch.Tensor, q: float = 0.01) -> dict:
    """Section 4.1's question measured: compare nearest-training-image distances of generated
    samples with those of held-out real images (both 1-d, pixel or feature units). ``closer_than_q`` is the fraction of generated samples nearer to
    a training image than the ``q`` quantile of the held-out distances: about ``q`` for a
    model that copies nothing, near 1 for one that copies."""
    g = generated_d.double().flatten().numpy()
    r = real_d.double().flatten().numpy()
    thr = float(np.quantile(r, q))
    return {"generated_median": float(np.median(g)), "held_out_median": float(np.median(r)),
            "ratio": float(np.median(g) / np.median(r)), "generated_min": float(g.min()),
            f"held_out_q{q:g}": thr, "closer_than_q": float((g < thr).mean())}
