"""The discriminator as a feature extractor, and the paper's linear probe (section 5, tables 1-2).

Protocol, as the authors' ``svhn/svhn_semisup_analysis.py`` for their SVHN model:

1. :func:`reestimate_bn`: batch-norm population statistics re-estimated over the training set
   (the average of the per-batch means and variances; the authors' batch-norm keeps none).
2. :func:`discriminator_features`: the output of every convolutional block of D (after its
   LeakyReLU) max-pooled to a ``grid`` x ``grid`` map, flattened and concatenated. For the
   authors' 32x32 SVHN discriminator (64, 128, 256 maps at 16, 8, 4 pixels) and grid 4 that is
   (64 + 128 + 256) * 16 = 7,168 dimensions; the paper quotes 28,672 for its ImageNet model.
3. :func:`svm_probe`: a regularised linear L2-SVM (scikit-learn ``LinearSVC``: squared hinge,
   L2 penalty). ``C`` is chosen on a validation set by the mean error over ``val_draws`` draws of
   ``k`` labels per class; the test error is the mean and 1.96 standard deviations over
   ``test_draws`` fresh draws (the authors: 10 draws per C over their grid :data:`AUTHORS_CS`,
   then 100 draws).

Baselines for the same tables: raw pixels (:func:`pixel_features`), a randomly initialised D of
the same architecture (a fresh ``Discriminator``), and :func:`cnn_probe`, the supervised CNN of
the same architecture (D's conv stack + a linear softmax head) trained on the same labelled draws
after a random hyperparameter search (:func:`random_trials`; the paper's 28.87% row in table 2,
64 trials). :func:`probe_label_settings` runs the probe for several label budgets on the same
features (table 1's "all labels" and "400 per class" columns).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .models import Discriminator, activations, init_weights

AUTHORS_CS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01)  # svhn_semisup_analysis.py


def iterate_batches(images: torch.Tensor | Dataset, batch_size: int) -> Iterator[torch.Tensor]:
    """Consecutive batches of images from a tensor ``(N, C, H, W)`` or a dataset of
    ``(image, label)`` pairs (read with a ``DataLoader``)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"images must be a (N, C, H, W) tensor, got shape "
                             f"{tuple(images.shape)}")
        for i in range(0, len(images), batch_size):
            yield images[i:i + batch_size]
    else:
        loader = torch.utils.data.DataLoader(images, batch_size=batch_size)
        for batch in loader:
            yield batch[0] if isinstance(batch, (list, tuple)) else batch


def _device(model: nn.Module, device) -> torch.device:
    return torch.device(device) if device is not None else next(model.parameters()).device


def _bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def reestimate_bn(D: nn.Module, images: torch.Tensor | Dataset, batch_size: int = 128,
                  device=None) -> nn.Module:
    """Replace every batch-norm layer's running statistics by population statistics of
    ``images``: the average over batches of ``batch_size`` of each batch's mean and variance, as
    the authors' probe (``infer_bnorm_stats``). PyTorch's cumulative average (``momentum=None``)
    does the averaging; it stores the unbiased batch variance, which differs from the authors'
    biased one by a factor n/(n-1), n = batch_size * height * width (1.0001 for 128 images at
    8x8). Returns ``D`` in eval mode, ready for :func:`discriminator_features`.
    """
    bns = _bn_layers(D)
    if not bns:
        return D.eval()
    dev = _device(D, device)
    saved = [(m.momentum, m.track_running_stats) for m in bns]
    D.eval()
    for m in bns:
        if m.running_mean is None:
            raise ValueError(f"{type(m).__name__} was built with track_running_stats=False; "
                             "it has no running statistics to re-estimate")
        m.reset_running_stats()
        m.momentum = None            # cumulative moving average = mean over batches
        m.track_running_stats = True
        m.train()
    n = 0
    try:
        for x in iterate_batches(images, batch_size):
            D(x.to(dev))
            n += len(x)
    finally:
        for m, (mom, track) in zip(bns, saved):
            m.momentum, m.track_running_stats = mom, track
            m.eval()
    if n == 0:
        raise ValueError("reestimate_bn got no images")
    return D


def conv_block_indices(D: nn.Module) -> list[int]:
    """Indices of ``D``'s convolutional blocks (the blocks section 5 takes features from)."""
    if isinstance(D, Discriminator):
        return list(range(len(D.conv_blocks)))
    if hasattr(D, "blocks"):
        return list(range(len(D.blocks)))
    raise TypeError(f"expected a Discriminator (with .blocks), got {type(D).__name__}")


@torch.no_grad()
def discriminator_features(D: nn.Module, images: torch.Tensor | Dataset, batch_size: int = 256,
                           grid: int = 4, layers: Sequence[int] | None = None, device=None,
                           verbose: bool = True) -> np.ndarray:
    """Section 5 features: each conv block's output max-pooled to ``grid`` x ``grid``, flattened
    and concatenated, for all ``images`` in batches of ``batch_size``. Returns a float32 array
    ``(N, dims)``; prints the throughput in images/s when ``verbose``.

    D runs in eval mode, so batch-norm uses its running statistics: call
    :func:`reestimate_bn` first (the outputs then do not depend on the batching).
    """
    layers = conv_block_indices(D) if layers is None else list(layers)
    dev = _device(D, device)
    was_training = D.training
    D.eval()
    feats = []
    t0 = time.perf_counter()
    try:
        with activations(D, layers) as acts:
            for x in iterate_batches(images, batch_size):
                D(x.to(dev))
                pooled = [torch.nn.functional.adaptive_max_pool2d(acts[i], grid).flatten(1)
                          for i in layers]
                feats.append(torch.cat(pooled, 1).float().cpu().numpy())
    finally:
        D.train(was_training)
    if not feats:
        raise ValueError("discriminator_features got no images")
    out = np.concatenate(feats)
    dt = time.perf_counter() - t0
    if verbose:
        print(f"features: {len(out)} images -> {out.shape[1]} dims in {dt:.1f} s "
              f"({len(out) / dt:.0f} images/s, batch {batch_size})")
    return out


def feature_dims(D: nn.Module, grid: int = 4) -> list[int]:
    """Dimensions each conv block contributes to :func:`discriminator_features`."""
    layers = conv_block_indices(D)
    dev = _device(D, None)
    x = torch.zeros(2, D.nc, D.image_size, D.image_size, device=dev)
    was_training = D.training
    D.eval()
    with torch.no_grad(), activations(D, layers) as acts:
        D(x)
    D.train(was_training)
    return [acts[i].shape[1] * min(grid, acts[i].shape[2]) * min(grid, acts[i].shape[3])
            for i in layers]


def pixel_features(images: torch.Tensor | Dataset) -> np.ndarray:
    """The raw-pixel baseline: images flattened to float32 vectors."""
    return np.concatenate([x.flatten(1).float().numpy() for x in iterate_batches(images, 4096)])


# ------------------------------------------------------------------- label draws
def label_draws(labels, k: int, n_draws: int, seed: int = 0, stream: int = 0
                ) -> list[np.ndarray]:
    """``n_draws`` index arrays, each ``k`` examples per class drawn without replacement (the
    authors' uniformly class-distributed subsets). ``(seed, stream)`` fixes them, so two probes
    with the same arguments see the same labelled subsets."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    counts = {c: int((labels == c).sum()) for c in classes}
    short = {int(c): n for c, n in counts.items() if n < k}
    if short:
        raise ValueError(f"cannot draw k={k} labels per class: classes {short} have fewer "
                         "examples; lower k or use a larger training pool")
    rng = np.random.default_rng([seed, stream])
    by_class = [np.flatnonzero(labels == c) for c in classes]
    return [np.concatenate([rng.choice(idx, k, replace=False) for idx in by_class])
            for _ in range(n_draws)]


# ------------------------------------------------------------------- probe results
@dataclass
class ProbeResult:
    """Errors in percent. ``grid``/``val_mean``/``val_spread``: the hyperparameter searched on
    the validation set (``param``: "C", "lr" or "trial") with mean and 1.96 std of validation
    error over the validation draws; ``best``: the chosen value (for "trial": its index into
    ``settings``, the hyperparameters of each trial); ``test_errors``: one per test draw."""

    param: str
    grid: list[float]
    val_mean: list[float]
    val_spread: list[float]
    best: float
    test_errors: np.ndarray
    seconds: float = 0.0
    not_converged: int = 0
    dims: int = 0
    extract_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    settings: list[dict] = field(default_factory=list)

    @property
    def test_mean(self) -> float:
        """Mean test error over the label draws, percent (tables 1-2's figure)."""
        return float(np.mean(self.test_errors))

    @property
    def test_spread(self) -> float:
        """1.96 standard deviations over the test draws (the authors' +-)."""
        return float(1.96 * np.std(self.test_errors))

    @property
    def val_best(self) -> float:
        """Mean validation error of the chosen setting (the paper's 28.87% is this number for
        its supervised CNN)."""
        return float(min(self.val_mean))

    @property
    def chosen(self) -> str:
        """The chosen hyperparameter(s) as text."""
        if self.param == "trial":
            return describe_trial(self.settings[int(self.best)])
        return f"{self.param}={self.best:g}"

    @property
    def best_at_edge(self) -> bool:
        """True when the chosen value is the smallest or largest of the grid (widen it)."""
        if self.param == "trial":  # random search: no ordered grid
            return False
        return len(self.grid) > 1 and self.best in (min(self.grid), max(self.grid))

    def row(self, name: str, **extra) -> dict:
        """One table row: name, ``extra`` columns, feature dimensions, the chosen
        hyperparameter, validation error of that choice, test error mean +- 1.96 std; the same
        columns for every probe."""
        return {"features": name, **extra, "dims": self.dims or "",
                "chosen": self.chosen,
                "val error %": round(self.val_best, 2),
                "test error %": round(self.test_mean, 2),
                "+- 1.96 std": round(self.test_spread, 2),
                "draws": len(self.test_errors)}


def _error_pct(y_true, y_pred) -> float:
    return 100.0 * float(np.mean(np.asarray(y_true) != np.asarray(y_pred)))


def _fit_svm(x, y, c: float, max_iter: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC
    model = LinearSVC(C=c, loss="squared_hinge", penalty="l2", max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y)
    return model, any(issubclass(w.category, ConvergenceWarning) for w in caught)


def svm_probe(train_x: np.ndarray, train_y, val_x: np.ndarray, val_y, test_x: np.ndarray,
              test_y, k: int | None = 100, cs: Sequence[float] = AUTHORS_CS, val_draws: int = 10,
              test_draws: int = 100, seed: int = 0, max_iter: int = 1000,
              verbose: bool = True) -> ProbeResult:
    """The L2-SVM probe of section 5 on precomputed features.

    ``train_x`` holds the features of the labelled pool (the training set minus the
    validation split); every draw takes ``k`` of its examples per class. ``C`` minimises the
    mean validation error over ``val_draws`` draws; the test error is measured on
    ``test_draws`` other draws with that ``C``. ``k=None`` uses the whole pool (one draw: the
    "all labels" column of table 1). Defaults are the authors' SVHN protocol.
    """
    train_y, val_y, test_y = map(np.asarray, (train_y, val_y, test_y))
    for name, x, y in (("train", train_x, train_y), ("val", val_x, val_y),
                       ("test", test_x, test_y)):
        if len(x) != len(y):
            raise ValueError(f"{name}_x has {len(x)} rows but {name}_y has {len(y)} labels")
    if not cs:
        raise ValueError("cs (the grid of C values) is empty")
    t0 = time.perf_counter()
    if k is None:
        vdraws = tdraws = [np.arange(len(train_y))]
    else:
        vdraws = label_draws(train_y, k, val_draws, seed, stream=0)
        tdraws = label_draws(train_y, k, test_draws, seed, stream=1)
    not_conv = 0
    val_mean, val_spread = [], []
    for c in cs:
        errs = []
        for idx in vdraws:
            model, nc = _fit_svm(train_x[idx], train_y[idx], c, max_iter)
            not_conv += nc
            errs.append(_error_pct(val_y, model.predict(val_x)))
        val_mean.append(float(np.mean(errs)))
        val_spread.append(float(1.96 * np.std(errs)))
        if verbose:
            print(f"  C={c:g}: validation error {val_mean[-1]:.2f}% +- {val_spread[-1]:.2f}")
    best = float(cs[int(np.argmin(val_mean))])
    test_errs = []
    for idx in tdraws:
        model, nc = _fit_svm(train_x[idx], train_y[idx], best, max_iter)
        not_conv += nc
        test_errs.append(_error_pct(test_y, model.predict(test_x)))
    res = ProbeResult("C", [float(c) for c in cs], val_mean, val_spread, best,
                      np.asarray(test_errs), time.perf_counter() - t0, not_conv,
                      dims=int(train_x.shape[1]))
    if res.best_at_edge:
        res.notes.append(f"best C={best:g} is at the edge of the grid")
    if not_conv:
        res.notes.append(f"{not_conv} LinearSVC fits stopped at max_iter={max_iter}")
    if verbose:
        print(f"  best C={best:g}: test error {res.test_mean:.2f}% +- {res.test_spread:.2f} "
              f"over {len(test_errs)} draws ({res.seconds:.0f} s)"
              + "".join(f"; {n}" for n in res.notes))
    return res


def repeat_grey(images: torch.Tensor, nc: int) -> torch.Tensor:
    """Images (N, C, H, W) for a discriminator of ``nc`` channels: unchanged when C = nc, grey
    (C = 1) repeated to ``nc`` channels (as PIL's L -> RGB); any other C is an error (colour is
    never averaged to grey here, unlike :func:`dcgan_lib.dedup.match_channels`)."""
    if images.shape[1] == nc:
        return images
    if images.shape[1] == 1:
        return images.expand(-1, nc, -1, -1)
    raise ValueError(f"images have {images.shape[1]} channels but the discriminator takes {nc}; "
                     "only grey (1-channel) images are converted")


def extract_features(D: nn.Module, image_sets: Sequence[torch.Tensor],
                     bn_images: torch.Tensor | None = None, batch_size: int = 256, grid: int = 4,
                     verbose: bool = True) -> tuple[list[np.ndarray], float]:
    """Section 5 features of several image sets with one discriminator:
    :func:`reestimate_bn` on ``bn_images`` (default: the first set, the training pool), then
    :func:`discriminator_features` of every set (grey images repeated to D's channels).
    Returns the feature arrays and the seconds it took."""
    if not image_sets:
        raise ValueError("extract_features got no image sets")
    conv = [repeat_grey(x, D.nc) for x in image_sets]
    bn = conv[0] if bn_images is None else repeat_grey(bn_images, D.nc)
    t0 = time.perf_counter()
    reestimate_bn(D, bn, batch_size)
    fx = [discriminator_features(D, x, batch_size, grid, verbose=verbose) for x in conv]
    return fx, time.perf_counter() - t0


def feature_probe(D: nn.Module, pool_x: torch.Tensor, pool_y, val_x: torch.Tensor, val_y,
                  test_x: torch.Tensor, test_y, bn_images: torch.Tensor | None = None,
                  batch_size: int = 256, grid: int = 4, verbose: bool = True,
                  **svm_kwargs) -> ProbeResult:
    """Section 5 end to end for one discriminator: :func:`extract_features` of the pool,
    validation and test images (batch-norm statistics from ``bn_images``, default the pool,
    i.e. the training set), then :func:`svm_probe` with ``svm_kwargs``."""
    fx, extract = extract_features(D, (pool_x, val_x, test_x), bn_images, batch_size, grid,
                                   verbose)
    res = svm_probe(fx[0], pool_y, fx[1], val_y, fx[2], test_y, verbose=verbose, **svm_kwargs)
    res.extract_seconds = extract
    return res


def labels_text(k: int | None) -> str:
    """How a label budget reads in a table: "all" or "<k> per class"."""
    return "all" if k is None else f"{k} per class"


def probe_label_settings(pool_f: np.ndarray, pool_y, val_f: np.ndarray, val_y,
                         test_f: np.ndarray, test_y, ks: Sequence[int | None],
                         verbose: bool = True, **svm_kwargs) -> dict[str, ProbeResult]:
    """:func:`svm_probe` once per label budget in ``ks`` on the same features (``None``: all
    labels of the pool, one fit per ``C``), keyed by :func:`labels_text`. Table 1 reports
    CIFAR-10 with all labels and with 400 per class; table 2 SVHN with 100 per class."""
    if not ks:
        raise ValueError("ks (the label budgets) is empty")
    out = {}
    for k in ks:
        if verbose:
            print(f" labels: {labels_text(k)}")
        out[labels_text(k)] = svm_probe(pool_f, pool_y, val_f, val_y, test_f, test_y, k=k,
                                        verbose=verbose, **svm_kwargs)
    return out


# ------------------------------------------------------------------- supervised baseline
def supervised_cnn(D: Discriminator, n_classes: int, dropout: float = 0.0) -> nn.Sequential:
    """A fresh network of D's architecture for classification: the same conv blocks
    (re-initialised as in section 4), flattened, dropout with probability ``dropout``, and a
    linear layer to ``n_classes`` logits in place of D's single real/fake unit."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    fresh = Discriminator(D.image_size, D.ndf, D.nc, D.variant)
    convs = nn.Sequential(*fresh.conv_blocks)
    with torch.no_grad():
        dims = convs(torch.zeros(2, D.nc, D.image_size, D.image_size)).flatten(1).shape[1]
    head = [nn.Dropout(dropout)] if dropout > 0 else []
    net = nn.Sequential(*fresh.conv_blocks, nn.Flatten(), *head, nn.Linear(dims, n_classes))
    init_weights(net)
    return net


def train_classifier(net: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float,
                     epochs: int, batch_size: int = 100, seed: int = 0,
                     weight_decay: float = 0.0, drop_last: bool = False) -> nn.Module:
    """Train the classifier ``net`` (images (N, C, H, W) -> logits (N, classes)) on images
    ``x`` and labels ``y`` (N,): cross-entropy with Adam (no augmentation), minibatches
    reshuffled per epoch by ``seed``; a last partial minibatch is skipped with ``drop_last``
    (always when it holds one image: batch-norm needs two). Returns ``net`` in eval mode
    (batch-norm with running statistics). The one classifier training loop of the library:
    section 5's supervised baseline and the feature classifier of :mod:`dcgan_lib.metrics`."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    dev = next(net.parameters()).device
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    y = torch.as_tensor(y, dtype=torch.long)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            if len(idx) < (batch_size if drop_last else 2):  # batch-norm needs two examples
                continue
            loss = loss_fn(net(x[idx].to(dev)), y[idx].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def predict(net: nn.Module, images: torch.Tensor | Dataset, batch_size: int = 512) -> np.ndarray:
    """Predicted classes (argmax of the logits), in batches."""
    dev = next(net.parameters()).device
    net.eval()
    return np.concatenate([net(x.to(dev)).argmax(1).cpu().numpy()
                           for x in iterate_batches(images, batch_size)])


# The supervised CNN's search space. The paper names the method (random search, Bergstra &
# Bengio 2012) and the number of trials (64) but not the space; this one is ours.
SEARCH_SPACE = dict(lr=(1e-4, 1e-2),             # log-uniform (Adam)
                    weight_decay=(1e-6, 1e-2),   # log-uniform (Adam's L2 penalty)
                    dropout=(0.0, 0.6),          # uniform, before the linear head
                    batch_size=(32, 64, 128),    # one of
                    epochs=(10, 20, 40))         # one of (``random_trials(epochs=...)``)


def random_trials(n: int, seed: int = 0, epochs: Sequence[int] | None = None,
                  space: dict | None = None) -> list[dict]:
    """``n`` hyperparameter settings drawn at random from ``space`` (default
    :data:`SEARCH_SPACE`; ``epochs`` replaces its epoch choices): a random search as the
    paper's supervised baseline (64 trials). Pairs are ranges (log-uniform for ``lr`` and
    ``weight_decay``, uniform for ``dropout``); longer tuples are choices."""
    if n < 1:
        raise ValueError(f"the number of trials must be >= 1, got {n}")
    space = dict(SEARCH_SPACE if space is None else space)
    if epochs is not None:
        if not epochs or min(epochs) < 1:
            raise ValueError(f"epochs must be a non-empty list of positive counts, got {epochs}")
        space["epochs"] = tuple(epochs)
    rng = np.random.default_rng([seed, 7])
    trials = []
    for _ in range(n):
        lo, hi = space["lr"]
        wlo, whi = space["weight_decay"]
        dlo, dhi = space["dropout"]
        trials.append(dict(
            lr=float(np.exp(rng.uniform(np.log(lo), np.log(hi)))),
            weight_decay=float(np.exp(rng.uniform(np.log(wlo), np.log(whi)))),
            dropout=float(rng.uniform(dlo, dhi)),
            batch_size=int(rng.choice(space["batch_size"])),
            epochs=int(rng.choice(space["epochs"]))))
    return trials


def describe_trial(t: dict) -> str:
    """One trial's hyperparameters as short text."""
    return (f"lr={t['lr']:.2g} wd={t['weight_decay']:.1g} drop={t['dropout']:.2f} "
            f"bs={t['batch_size']} ep={t['epochs']}")


def cnn_probe(D: Discriminator, train_images: torch.Tensor, train_y, val_images: torch.Tensor,
              val_y, test_images: torch.Tensor, test_y, k: int = 100,
              trials: int | Sequence[dict] = 64, epochs: Sequence[int] | None = None,
              val_draws: int = 1, test_draws: int = 3, seed: int = 0,
              verbose: bool = True) -> ProbeResult:
    """The supervised baseline of table 2: :func:`supervised_cnn` trained from scratch on
    labelled draws of ``k`` per class (the same draws as :func:`svm_probe` with the same ``k``
    and ``seed``), its hyperparameters chosen by random search on the validation set
    (``trials``: a number of :func:`random_trials`, with ``epochs`` choices, or the list of
    settings itself), then the test error of the best setting over ``test_draws`` draws. The
    paper searched 64 trials and reported the best validation error (28.87%):
    :attr:`ProbeResult.val_best`.
    """
    train_y, val_y, test_y = map(np.asarray, (train_y, val_y, test_y))
    train_images, val_images, test_images = (repeat_grey(x, D.nc) for x in
                                             (train_images, val_images, test_images))
    settings = random_trials(trials, seed, epochs) if isinstance(trials, int) else list(trials)
    if not settings:
        raise ValueError("trials is empty")
    n_classes = int(max(train_y.max(), val_y.max(), test_y.max())) + 1
    t0 = time.perf_counter()
    vdraws = label_draws(train_y, k, val_draws, seed, stream=0)
    tdraws = label_draws(train_y, k, test_draws, seed, stream=1)

    def fit(idx, t, s):
        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG untouched
            torch.manual_seed(s)
            net = supervised_cnn(D, n_classes, t["dropout"]).to(next(D.parameters()).device)
        return train_classifier(net, train_images[idx], torch.as_tensor(train_y[idx]),
                                t["lr"], t["epochs"], t["batch_size"], seed=s,
                                weight_decay=t["weight_decay"])

    val_mean, val_spread = [], []
    for i, t in enumerate(settings):
        errs = [_error_pct(val_y, predict(fit(idx, t, seed * 1000 + j), val_images))
                for j, idx in enumerate(vdraws)]
        val_mean.append(float(np.mean(errs)))
        val_spread.append(float(1.96 * np.std(errs)))
        if verbose:
            print(f"  trial {i + 1}/{len(settings)} {describe_trial(t)}: validation error "
                  f"{val_mean[-1]:.2f}%")
    best = int(np.argmin(val_mean))
    test_errs = [_error_pct(test_y, predict(fit(idx, settings[best], seed * 1000 + 500 + j),
                                            test_images))
                 for j, idx in enumerate(tdraws)]
    res = ProbeResult("trial", list(range(len(settings))), val_mean, val_spread, best,
                      np.asarray(test_errs), time.perf_counter() - t0, settings=settings)
    if verbose:
        print(f"  best trial {best + 1} ({describe_trial(settings[best])}): validation error "
              f"{res.val_best:.2f}%, test error {res.test_mean:.2f}% +- {res.test_spread:.2f} "
              f"over {len(test_errs)} draws ({res.seconds:.0f} s)")
    return res
