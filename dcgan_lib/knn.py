"""Nearest-neighbour evaluation of a conditional generator (paper appendix A.1, table 3).

A 1-nearest-neighbour classifier (Euclidean distance between raw pixels) is *fitted* on N
generated, labelled samples and *scored* on real held-out images: its error says how well the
class-conditional distributions were learnt. The "real data" row fits it on the real training
set instead. The paper's N go up to 10M samples, far more than fit in memory, so the classifier
here is streaming: the query images (the real held-out set) stay fixed, and each chunk of
reference samples updates, for every query, the smallest distance seen so far and its label
(:class:`StreamingNN`). The result is the same as fitting on all samples at once
(scikit-learn's ``KNeighborsClassifier(1)``); the tests check both.

Distances come from matrix products: ``|q - x|^2 = |q|^2 - 2 q.x + |x|^2``, where the
``|q|^2`` term is the same for every reference and is left out of the arg-min.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, Sequence

import torch


class StreamingNN:
    """1-NN classifier for a fixed set of ``queries`` (M, ...) (table 3's classifier, with
    the real held-out images as queries), fitted chunk by chunk.

    ``partial_fit(x, y)`` adds labelled reference samples; ``predict()`` gives, for each query,
    the label of its nearest reference among all those added (the earliest one on an exact tie).
    References are processed in blocks of ``block`` against all queries (memory: queries x
    block floats).
    """

    def __init__(self, queries: torch.Tensor, block: int = 2048, device=None,
                 dtype: torch.dtype = torch.float32):
        if queries.dim() < 2 or len(queries) == 0:
            raise ValueError(f"queries must be a non-empty (M, ...) tensor, got {tuple(queries.shape)}")
        self.device = torch.device(device) if device is not None else queries.device
        self.dtype, self.block = dtype, block
        self.q = queries.reshape(len(queries), -1).to(self.device, dtype)
        self.q_sq = (self.q * self.q).sum(1)
        self.best = torch.full((len(self.q),), float("inf"), device=self.device, dtype=dtype)
        self.label = torch.full((len(self.q),), -1, device=self.device, dtype=torch.long)
        self.n_seen = 0
        self._d: torch.Tensor | None = None   # the distance block, reused

    @property
    def dim(self) -> int:
        """Values per query (C * H * W for images)."""
        return self.q.shape[1]

    @torch.no_grad()
    def partial_fit(self, x: torch.Tensor, y: torch.Tensor) -> "StreamingNN":
        """Add reference samples ``x`` (N, ...) of :attr:`dim` values each, labels ``y``
        (N,): every query keeps the nearest reference seen so far (Euclidean) and its label.
        Returns ``self``."""
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.dim:
            raise ValueError(f"reference samples have {x.shape[1]} values each but the queries "
                             f"have {self.dim}; generate images of the evaluation set's size")
        if len(y) != len(x):
            raise ValueError(f"{len(x)} samples but {len(y)} labels")
        for i in range(0, len(x), self.block):
            xb = x[i:i + self.block].to(self.device, self.dtype)
            yb = y[i:i + self.block].to(self.device, torch.long)
            # |x|^2 - 2 q.x  (one addmm); |q|^2 is the same for all references of a query.
            # The (queries x block) result goes into one buffer kept between calls: a fresh
            # one (80 MB for 10,000 queries) costs its page faults at every block on a CPU.
            if self._d is None or self._d.shape[1] < len(xb):
                self._d = torch.empty(len(self.q), max(len(xb), 1), device=self.device,
                                      dtype=self.dtype)
            d = self._d[:, :len(xb)]
            torch.addmm((xb * xb).sum(1)[None], self.q, xb.T, alpha=-2.0, out=d)
            dmin, idx = d.min(1)
            better = dmin < self.best
            self.best = torch.where(better, dmin, self.best)
            self.label = torch.where(better, yb[idx], self.label)
        self.n_seen += len(x)
        return self

    def predict(self) -> torch.Tensor:
        """Label of each query's nearest reference so far, shape (M,), on the CPU."""
        if self.n_seen == 0:
            raise RuntimeError("no reference samples yet: call partial_fit first")
        return self.label.cpu()

    def distances(self) -> torch.Tensor:
        """Euclidean distance from each query to its nearest reference, shape (M,), in the
        units of the values (pixels in [-1, 1] for images), on the CPU."""
        return (self.best + self.q_sq).clamp_min(0).sqrt().cpu()


def chunks(x: torch.Tensor, y: torch.Tensor, size: int = 4096
           ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Stream an in-memory labelled set, images ``x`` (N, ...) and labels ``y`` (N,) (e.g.
    table 3's real-data row: the real training images), in chunks of ``size``."""
    for i in range(0, len(x), size):
        yield x[i:i + size], y[i:i + size]


def nn_errors(stream: Iterable[tuple[torch.Tensor, torch.Tensor]],
              sets: dict[str, tuple[torch.Tensor, torch.Tensor]],
              at: Sequence[int] | None = None, block: int = 2048, device=None,
              dtype: torch.dtype = torch.float32, log: Callable[[str], None] | None = print
              ) -> list[dict]:
    """Table 3's metric: 1-NN error on each query set of ``sets`` ({name: (images, labels)}) of
    the classifier fitted on the first N samples of ``stream``, for every N in ``at``.

    ``stream`` yields ``(images, labels)`` chunks (e.g. :func:`dcgan_lib.conditional.
    generate_labelled`); it is consumed once, chunks are split at the ``at`` boundaries, and
    nothing is kept but the running nearest neighbour of every query. ``at=None`` is the whole
    stream. Returns one row per N: ``{"N": N, "<name>": error (fraction), "seconds",
    "samples_per_s"}`` and logs the speed. Raises if the stream ends before ``max(at)``.
    """
    names = list(sets)
    qs = torch.cat([sets[k][0].reshape(len(sets[k][0]), -1) for k in names])
    ls = [torch.as_tensor(sets[k][1]).long().cpu() for k in names]
    bounds = [0]
    for lab in ls:
        bounds.append(bounds[-1] + len(lab))
    knn = StreamingNN(qs, block, device or qs.device, dtype)
    marks = sorted(set(at)) if at is not None else []
    if any(m <= 0 for m in marks):
        raise ValueError(f"sample counts in `at` must be positive, got {marks}")
    rows: list[dict] = []
    t0 = time.perf_counter()

    def record(n: int) -> None:
        pred = knn.predict()
        secs = time.perf_counter() - t0
        row = {"N": n}
        for k, lab, a, b in zip(names, ls, bounds[:-1], bounds[1:]):
            row[k] = (pred[a:b] != lab).float().mean().item()
        row.update(seconds=round(secs, 2), samples_per_s=round(n / max(secs, 1e-9), 1))
        rows.append(row)
        if log is not None:
            errs = ", ".join(f"{k} error {row[k]:.2%}" for k in names)
            log(f"1-NN on {n:,} samples: {errs} ({secs:.1f} s, {row['samples_per_s']:,.0f} "
                f"samples/s against {len(qs):,} queries)")

    k = 0
    for x, y in stream:
        while len(x) and (at is None or k < len(marks)):
            take = len(x) if at is None else min(len(x), marks[k] - knn.n_seen)
            knn.partial_fit(x[:take], y[:take])
            x, y = x[take:], y[take:]
            if k < len(marks) and knn.n_seen == marks[k]:
                record(marks[k])
                k += 1
        if at is not None and k == len(marks):
            break
    if at is None:
        record(knn.n_seen)
    elif k < len(marks):
        raise ValueError(f"the sample stream ended after {knn.n_seen:,} samples, before "
                         f"N={marks[k]:,}; generate at least max(at) samples")
    return rows


def log_grid(lo: int, hi: int, per_decade: int = 4) -> list[int]:
    """Sample counts from ``lo`` to ``hi`` (both included), ``per_decade`` per tenfold evenly
    in log N, rounded to integers: the N at which a streaming 1-NN pass
    (:func:`nn_errors`, :func:`dcgan_lib.conditional.nn_predictions`) reads its error, for an
    error-vs-N curve on a log axis."""
    if not 0 < lo <= hi or per_decade < 1:
        raise ValueError(f"need 0 < lo <= hi and per_decade >= 1, got {lo}, {hi}, {per_decade}")
    import math
    k = math.ceil(round(math.log10(hi / lo) * per_decade, 9))
    out = {lo, hi}
    out.update(int(round(lo * 10 ** (i / per_decade))) for i in range(k + 1))
    return sorted(n for n in out if lo <= n <= hi)
