"""Sample-quality measures that run offline (for section 4's trained generators; the paper
itself has no such number).

The Fréchet distance between two Gaussians fitted to features (Heusel et al., 2017) is the
standard FID when the features come from Inception-v3. Inception weights cannot be downloaded
on an offline machine, so the book's default is the same distance in the feature space of a
small classifier trained with this library on the same dataset (cached, test accuracy reported).
We always report the real-vs-real floor beside it: the distance between two disjoint real sets
of the same size as the generated one (no model can be expected to go below it).

The standard Inception FID is :func:`inception_fid`, through torch-fidelity, with weights from
a local file (``pip install torch-fidelity``; see docs/data.md for where to get the file).
(The DCGAN paper predates FID; it judged samples by eye and by the probes of section 5.)
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from scipy import linalg
from torch import nn

from . import data as data_mod
from .features import train_classifier
from .models import batch_stats
from .checkpoint import load as load_safe
from .checkpoint import save_atomic


class SmallClassifier(nn.Module):
    """A small CNN whose 128-d penultimate layer is the feature space of the Fréchet distance:
    images (N, channels, image_size, image_size) in [-1, 1] -> logits (N, classes). Not from
    the paper (which predates FID): the book's offline stand-in for Inception-v3."""

    def __init__(self, channels: int = 1, classes: int = 10, width: int = 16,
                 image_size: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(True),
            nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(4 * w * (image_size // 8) ** 2, 128), nn.ReLU(True),
        )
        self.head = nn.Linear(128, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 128-d features (N, 128) of images ``x`` (N, C, H, W) in [-1, 1]."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, classes) of images ``x`` (N, C, H, W) in [-1, 1]."""
        return self.head(self.body(x))


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction (0..1) of images ``x`` (N, C, H, W) that the classifier ``net`` (in eval
    mode) labels as ``y`` (N,), in batches of ``batch_size``."""
    net.eval()
    hits = sum((net(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
               for i in range(0, len(x), batch_size))
    return hits / len(x)


def train_small_classifier(x: torch.Tensor, y: torch.Tensor, epochs: int = 2,
                           batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                           classes: int | None = None) -> SmallClassifier:
    """A :class:`SmallClassifier`, initialised after ``torch.manual_seed(seed)``, trained by
    :func:`dcgan_lib.features.train_classifier` (Adam, full minibatches only) on images ``x``
    (N, C, H, W) in [-1, 1] and labels ``y`` (N,). Returns it in eval mode."""
    torch.manual_seed(seed)
    net = SmallClassifier(x.shape[1], classes or int(y.max()) + 1, image_size=x.shape[-1])
    return train_classifier(net, x, y, lr, epochs, batch_size, seed, drop_last=True)


def feature_classifier(dataset: str, root: str | None = None, image_size: int = 32,
                       channels: int | None = None, epochs: int = 1, seed: int = 0,
                       cache_dir: str | Path | None = None, limit: int | None = None,
                       verbose: bool = True) -> tuple[SmallClassifier, float]:
    """The classifier whose features the Fréchet distance uses, trained once and cached.

    Returns ``(net, test_accuracy)``. The cache key holds the dataset, size, channels, epochs,
    seed and limit; the file is written atomically.
    """
    cache = Path(cache_dir) if cache_dir else data_mod.default_data_root().parent / "classifiers"
    from .book import rel
    key = f"{dataset}-{image_size}px-c{channels}-e{epochs}-s{seed}-n{limit}.pt"
    path = cache / key
    if path.exists():
        ck = load_safe(path)
        net = SmallClassifier(ck["channels"], ck["classes"], image_size=image_size)
        net.load_state_dict(ck["state"])
        if verbose:
            print(f"feature classifier: cached {rel(path)} (test accuracy {ck['test_acc']:.4f})")
        return net.eval(), ck["test_acc"]
    t0 = time.perf_counter()
    tr = data_mod.preload(data_mod.get_dataset(dataset, root, image_size, channels, "train",
                                               seed=seed), limit)
    te = data_mod.preload(data_mod.get_dataset(dataset, root, image_size, channels, "test",
                                               seed=seed), limit)
    x, y = tr.tensors
    classes = int(y.max()) + 1
    net = train_small_classifier(x, y, epochs, seed=seed, classes=classes)
    acc = accuracy(net, *te.tensors)
    save_atomic({"state": net.state_dict(), "channels": x.shape[1], "classes": classes,
                 "test_acc": acc}, path)
    if verbose:
        print(f"feature classifier: trained on {len(x)} {dataset} images in "
              f"{time.perf_counter() - t0:.0f}s, test accuracy {acc:.4f}, cached at {rel(path)}")
    return net, acc


@torch.no_grad()
def extract(net: SmallClassifier, x: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """Classifier features of images ``x`` (N, C, H, W) in [-1, 1], as float64."""
    net.eval()
    dev = next(net.parameters()).device
    out = [net.features(x[i:i + batch_size].to(dev)).double().cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


def gaussian_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D): the Gaussian that the Fréchet
    distance (Heusel et al., 2017, eq. 6) compares."""
    return feats.mean(0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Heusel et al., 2017, eq. 6)."""
    diff = mu1 - mu2
    # Tr((S1 S2)^(1/2)) = Tr((S1^(1/2) S2 S1^(1/2))^(1/2)), a symmetric PSD matrix: eigh is
    # exact and stable where a general matrix square root of S1 S2 is not.
    w, v = linalg.eigh(sigma1)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    eig = linalg.eigvalsh(half @ sigma2 @ half)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


@torch.no_grad()
def generate(G: nn.Module, n: int, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """``n`` samples from ``G`` with fixed seeded noise, batch statistics in batch-norm
    (as the authors sampled), on CPU, in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    outs = []
    with batch_stats(G):
        for i in range(0, n, batch_size):
            k = min(batch_size, n - i)
            z = G.sample_z(max(k, 2), generator=g)  # batch-norm needs two samples at least
            outs.append(G(z)[:k].float().cpu())
    return torch.cat(outs)


class FrechetEvaluator:
    """Fréchet distance of ``G``'s samples to a fixed real reference set, in classifier space.

    ``reference`` are real images (the test split); ``floor`` is the distance of ``n`` other
    real images (from the training split) to the same reference: the real-vs-real floor.
    Call the evaluator with a generator; it returns ``{"fd": ..., "fd_floor": ...}``.
    """

    def __init__(self, net: SmallClassifier, reference: torch.Tensor, other_real: torch.Tensor,
                 n: int = 5000, seed: int = 0):
        self.net, self.n, self.seed = net, n, seed
        self.ref = gaussian_stats(extract(net, reference[:n]))
        self.floor = frechet_distance(*gaussian_stats(extract(net, other_real[:n])), *self.ref)

    def __call__(self, G: nn.Module) -> dict:
        """``{"fd": distance of n seeded samples of G, "fd_floor": the real-vs-real floor}``,
        squared feature units (Heusel et al., 2017, eq. 6)."""
        fake = generate(G, self.n, self.seed)
        fd = frechet_distance(*gaussian_stats(extract(self.net, fake)), *self.ref)
        return {"fd": fd, "fd_floor": self.floor}


def gap_closed(fd_untrained: float, fd: float, floor: float) -> float:
    """Share of the Fréchet gap from an untrained generator to the real-vs-real floor that a
    trained one closed: 0 = no better than untrained, 1 = as close as real data (the proxy the
    convergence claims of :mod:`dcgan_lib.claims` are decided on)."""
    return (fd_untrained - fd) / (fd_untrained - floor)


# datasets with class labels, on which the feature classifier can be trained
FD_DATASETS = ("mnist", "fashion-mnist", "cifar10", "svhn")


def quality_evaluator(cfg, n: int = 5000) -> FrechetEvaluator | None:
    """The per-epoch quality measure of a training run (``TrainConfig.quality``), or None.

    ``fd`` (and ``auto`` on a dataset of :data:`FD_DATASETS`): the Fréchet distance of ``n``
    samples to the test split in the features of :func:`feature_classifier` (trained once on
    the dataset's labels, cached), with the real-vs-real floor; its ``description`` says so in
    every ``epochs.jsonl`` record. ``none``, or ``auto`` elsewhere: no measure (None).
    """
    if cfg.quality == "none" or cfg.labels or (cfg.quality == "auto"
                                               and cfg.dataset not in FD_DATASETS):
        return None  # (a conditional GAN's samples are measured by table 3, chapter 10)
    if cfg.dataset not in FD_DATASETS:
        raise ValueError(f"quality (--quality) fd needs a dataset with class labels "
                         f"({', '.join(FD_DATASETS)}), got --dataset {cfg.dataset}; use "
                         "--quality none")
    net, acc = feature_classifier(cfg.dataset, cfg.data_root, cfg.image_size, cfg.channels,
                                  seed=0, verbose=False)
    test = data_mod.preload(data_mod.get_dataset(cfg.dataset, cfg.data_root, cfg.image_size,
                                                 cfg.channels, "test"), n)
    other = data_mod.preload(data_mod.get_dataset(cfg.dataset, cfg.data_root, cfg.image_size,
                                                  cfg.channels, "train"), n)
    n = min(n, len(test), len(other))
    ev = FrechetEvaluator(net, test.tensors[0], other.tensors[0], n=n)
    ev.description = (f"fd: Fréchet distance of {n} samples to the {cfg.dataset} test set in the "
                      f"128-d features of a classifier trained on its labels (test accuracy "
                      f"{acc:.3f}); lower is better; real-vs-real floor {ev.floor:.3g}")
    return ev


def inception_fid(real: torch.Tensor, fake: torch.Tensor, weights_path: str | Path,
                  batch_size: int = 100) -> float:
    """Standard FID (Inception-v3 pool features) through torch-fidelity with local weights.

    ``real`` and ``fake`` are images in [-1, 1]; ``weights_path`` is torch-fidelity's
    ``weights-inception-2015-12-05-6726825d.pth`` placed by hand (this machine cannot fetch it).
    """
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Inception weights not found at {path}. Download torch-fidelity's "
            "weights-inception-2015-12-05-6726825d.pth on a connected machine (see docs/data.md, "
            "'Quality measure') and pass its path.")
    try:
        import torch_fidelity
    except ImportError as err:
        raise ImportError("inception_fid needs torch-fidelity: pip install 'dcgan_lib[fid]'") from err

    class _U8(torch.utils.data.Dataset):
        def __init__(self, x):
            self.x = data_mod.to_uint8(x)
            if self.x.shape[1] == 1:
                self.x = self.x.repeat(1, 3, 1, 1)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    m = torch_fidelity.calculate_metrics(
        input1=_U8(fake), input2=_U8(real), fid=True, batch_size=batch_size, verbose=False,
        cuda=torch.cuda.is_available(), feature_extractor_weights_path=str(path))
    return float(m["frechet_inception_distance"])
