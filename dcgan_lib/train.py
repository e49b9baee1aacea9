"""Adversarial training (paper section 4: Adam, lr 0.0002, beta1 0.5, batch 128).

The default step is the one in the PyTorch examples: a D update on a real batch and on
G(z), then a G update that reuses the same G(z) (non-saturating loss, ``-log D(G(z))``).
``schedule="alternating"`` is the authors' released schedule instead: each minibatch makes
either one G update or one D update, in turn (``k = 1`` in their ``train_uncond_dcgan.py``).

Runs are reproducible and resumable to the bit on CPU: minibatch order comes from a
permutation seeded by (seed, epoch), z from a generator seeded by (seed, step), and a
checkpoint holds everything else (both networks and optimizers, step, RNG states, the fixed
sample noise, the config). Checkpoints are written atomically and the last few are kept, so an
interrupted run never spoils the last good one.

Under ``torchrun`` (``torch.distributed`` initialised, see :mod:`dcgan_lib.distributed`) the
same trainer runs data-parallel: both networks are wrapped in ``DistributedDataParallel``, each
process takes its own share of every epoch's permutation (``batch_size`` per process), and only
rank 0 logs, samples, evaluates and writes checkpoints, in the same format.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from . import data as data_mod
from . import distributed as dist_mod
from .models import Discriminator, Generator, batch_stats, default_z_dist, sample_z

SCHEDULES = ("same-batch", "alternating")


@dataclass
class TrainConfig:
    """Everything a run needs; saved in every checkpoint. Defaults are the paper's (section 4)."""

    dataset: str = "fashion-mnist"
    data_root: str | None = None
    download: bool = False
    image_size: int = 32
    channels: int | None = None        # None: the dataset's own (1 for (Fashion-)MNIST, else 3)
    limit: int | None = None           # use only the first N training images
    variant: str = "paper"             # "paper" (authors' code) or "torch" (PyTorch port)
    nz: int = 100
    ngf: int = 64
    ndf: int = 64
    z_dist: str | None = None          # None: the variant's ("uniform" paper, "normal" torch)
    batch_size: int = 128
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    schedule: str = "same-batch"       # or "alternating" (the authors' k=1 schedule)
    epochs: float | None = None        # give epochs or steps
    steps: int | None = None
    seed: int = 0
    out: str = "runs/dcgan"
    sample_every: int = 500            # steps between sample grids from the fixed noise
    checkpoint_every: int = 500        # steps between checkpoints (and one at every epoch end)
    keep_last: int = 3
    num_samples: int = 64              # size of the fixed-noise sample grid
    device: str = "auto"               # auto: cuda, then mps, then cpu
    amp: bool = True                   # bf16 autocast (CUDA only)
    channels_last: bool = True         # NHWC memory format, CUDA and CPU (CPU: +2-5 % at 32x32)
    preload: bool = True               # transform the dataset once into memory
    num_workers: int = 0
    progress: bool = True              # tqdm bar with ETA
    sync_bn: bool = False              # SyncBatchNorm across processes (distributed, CUDA)
    threads: int | None = None         # torch.set_num_threads(threads); None: PyTorch's default
    compile: bool = False              # torch.compile the networks of the step (inductor)

    def validate(self) -> None:
        if (self.epochs is None) == (self.steps is None):
            raise ValueError("give exactly one of epochs (--epochs) or steps (--steps)")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (batch-norm needs a batch)")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1 (or None), got {self.threads}")


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _seeded(*parts: int) -> torch.Generator:
    s = 0
    for p in parts:
        s = (s * 1_000_003 + int(p)) % (2**63 - 1)
    return torch.Generator().manual_seed(s)


# ---------------------------------------------------------------- checkpoints
def save_atomic(obj: dict, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def list_checkpoints(out: str | Path) -> list[Path]:
    """Step checkpoints in ``out``, oldest first."""
    return sorted(Path(out).glob("ckpt-*.pt"))


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first (dcgan train ...)")
    try:
        ck = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # truncated or not a checkpoint
        raise RuntimeError(f"checkpoint {path} cannot be read ({err}); "
                           "use an earlier ckpt-*.pt from the same folder") from err
    if not isinstance(ck, dict) or "G" not in ck or "config" not in ck:
        raise RuntimeError(f"{path} is not a dcgan_lib checkpoint (no G / config inside)")
    return ck


def build_models(cfg: TrainConfig, nc: int) -> tuple[Generator, Discriminator]:
    G = Generator(cfg.image_size, cfg.nz, cfg.ngf, nc, cfg.variant)
    D = Discriminator(cfg.image_size, cfg.ndf, nc, cfg.variant)
    G.z_dist = cfg.z_dist or default_z_dist(cfg.variant)
    return G, D


def load_generator(path: str | Path, device="cpu") -> Generator:
    """Rebuild the generator of a checkpoint (for sampling and the later chapters)."""
    ck = load_checkpoint(path)
    cfg = TrainConfig(**ck["config"])
    G, _ = build_models(cfg, ck["nc"])
    G.load_state_dict(ck["G"])
    return G.to(device)


def load_models(path: str | Path, device="cpu") -> tuple[Generator, Discriminator, TrainConfig]:
    ck = load_checkpoint(path)
    cfg = TrainConfig(**ck["config"])
    G, D = build_models(cfg, ck["nc"])
    G.load_state_dict(ck["G"])
    D.load_state_dict(ck["D"])
    return G.to(device), D.to(device), cfg


# ---------------------------------------------------------------- the trainer
class Trainer:
    """Train a DCGAN per :class:`TrainConfig`; ``resume=True`` continues from ``cfg.out``.

    ``evaluator(G) -> dict`` (optional) runs at every epoch end; its ``"fd"`` entry (lower is
    better) picks ``best.pt``. Logs: ``log.jsonl`` (per step), ``epochs.jsonl`` (per epoch),
    ``samples/step-XXXXXXXX.png`` (fixed noise).
    """

    def __init__(self, cfg: TrainConfig, dataset: Dataset | None = None,
                 evaluator: Callable[[Generator], dict] | None = None, resume: bool = False,
                 overwrite: bool = False):
        cfg.validate()
        self.cfg, self.evaluator = cfg, evaluator
        self.out = Path(cfg.out)
        self.rank, self.world = dist_mod.rank_and_world()
        self.main = self.rank == 0
        self.device = dist_mod.local_device(cfg.device) if self.world > 1 else pick_device(cfg.device)
        if cfg.threads is not None:  # for this process, from here on (data loading included)
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        if dataset is None:
            dataset = data_mod.get_dataset(cfg.dataset, cfg.data_root, cfg.image_size,
                                           cfg.channels, "train", cfg.download, seed=cfg.seed)
        if cfg.preload:
            dataset = data_mod.preload(dataset, cfg.limit)
        elif cfg.limit is not None:
            dataset = torch.utils.data.Subset(dataset, range(min(cfg.limit, len(dataset))))
        self.dataset = dataset
        self.n = len(dataset)
        if self.n < cfg.batch_size * self.world:
            raise ValueError(f"dataset has {self.n} images, fewer than batch_size={cfg.batch_size}"
                             f" x {self.world} processes")
        x0 = dataset[0][0]
        self.nc = x0.shape[0]
        if x0.shape[-1] != cfg.image_size:
            raise ValueError(f"dataset images are {tuple(x0.shape)}, expected size {cfg.image_size}")
        self.steps_per_epoch = self.n // (cfg.batch_size * self.world)
        self.total_steps = cfg.steps if cfg.steps is not None else \
            int(math.ceil(cfg.epochs * self.steps_per_epoch))
        self.G, self.D = build_models(cfg, self.nc)
        self.cuda = self.device.type == "cuda"
        # channels-last (NHWC): faster convolutions with cuDNN and with oneDNN on a CPU (measured
        # by benchmarks/run.py --variants); MPS is left as it is
        self.mem_format = torch.channels_last if (cfg.channels_last and self.device.type in
                                                  ("cuda", "cpu")) else torch.contiguous_format
        self.G.to(self.device, memory_format=self.mem_format)
        self.D.to(self.device, memory_format=self.mem_format)
        # the modules that train_step calls: DDP wrappers when distributed, else the networks
        self.G_step, self.D_step = self.G, self.D
        if self.world > 1:
            self.G, self.D, self.G_step, self.D_step = dist_mod.wrap(self.G, self.D, self.device,
                                                                     cfg.sync_bn)
        if cfg.compile:  # the step's calls only; checkpoints keep the plain modules' weights
            self.G_step, self.D_step = torch.compile(self.G_step), torch.compile(self.D_step)
        betas = (cfg.beta1, cfg.beta2)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.optD = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        self.loss = nn.BCEWithLogitsLoss()
        self.fixed_z = sample_z(cfg.num_samples, cfg.nz, self.G.z_dist, _seeded(cfg.seed, 7))
        self.step, self.best_fd = 0, float("inf")
        self.on_device = isinstance(dataset, TensorDataset) and self.cuda
        if self.on_device:  # small datasets live on the GPU: no loader at all
            self.dataset = TensorDataset(*(t.to(self.device) for t in dataset.tensors))
        if resume:
            self.resume()
        elif list_checkpoints(self.out) or (self.out / "best.pt").exists():
            if not overwrite:
                raise FileExistsError(
                    f"{self.out} already holds checkpoints; pass resume=True (--resume) to "
                    "continue that run, overwrite=True (--overwrite) to replace it, or pick "
                    "another out folder (--out)")
            for old in [*list_checkpoints(self.out), self.out / "best.pt"]:
                old.unlink(missing_ok=True)
            for old in (self.out / "samples").glob("step-*.png"):
                old.unlink()
            self._truncate_logs()

    # -- state -------------------------------------------------------------
    def state(self) -> dict:
        st = {
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "optG": self.optG.state_dict(), "optD": self.optD.state_dict(),
            "step": self.step, "epoch": self.step / self.steps_per_epoch,
            "best_fd": self.best_fd, "fixed_z": self.fixed_z, "nc": self.nc,
            "config": asdict(self.cfg),
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                    "cuda": torch.cuda.get_rng_state_all() if self.cuda else None},
        }
        return st

    def save(self, name: str | None = None) -> Path:
        path = self.out / (name or f"ckpt-{self.step:08d}.pt")
        if not self.main:
            return path
        save_atomic(self.state(), path)
        if name is None:
            for old in list_checkpoints(self.out)[:-self.cfg.keep_last]:
                old.unlink()
        return path

    def resume(self) -> bool:
        """Load the newest readable checkpoint in ``cfg.out``; False when there is none."""
        cks = list_checkpoints(self.out)
        for path in reversed(cks):
            try:
                ck = load_checkpoint(path, map_location=self.device)
            except RuntimeError as err:
                warnings.warn(f"skipping unreadable checkpoint: {err}")
                continue
            self._check_compatible(ck["config"], path)
            self.G.load_state_dict(ck["G"])
            self.D.load_state_dict(ck["D"])
            self.optG.load_state_dict(ck["optG"])
            self.optD.load_state_dict(ck["optD"])
            self.step, self.best_fd = ck["step"], ck.get("best_fd", float("inf"))
            self.fixed_z = ck["fixed_z"].cpu()
            torch.set_rng_state(ck["rng"]["torch"].cpu())
            random.setstate(ck["rng"]["python"])
            if self.cuda and ck["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state_all([s.cpu() for s in ck["rng"]["cuda"]])
            self._truncate_logs()
            return True
        return False

    def _truncate_logs(self) -> None:
        """Drop log records written after the checkpoint we resume from (no duplicates)."""
        if not self.main:
            return
        for name in ("log.jsonl", "epochs.jsonl"):
            path = self.out / name
            if path.exists():
                keep = [r for r in read_jsonl(path) if r["step"] <= self.step]
                tmp = path.with_suffix(".tmp")
                tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
                os.replace(tmp, path)

    def _check_compatible(self, saved: dict, path: Path) -> None:
        keys = ("dataset", "image_size", "variant", "nz", "ngf", "ndf", "batch_size", "seed",
                "schedule", "limit")
        for k in keys:
            if saved.get(k) != getattr(self.cfg, k):
                raise ValueError(f"cannot resume from {path}: it was trained with {k}="
                                 f"{saved.get(k)!r} but this run asks for {k}="
                                 f"{getattr(self.cfg, k)!r}; pass the same --{k.replace('_', '-')}"
                                 " or use a new --out folder")

    # -- data ----------------------------------------------------------------
    def _batches(self, epoch: int, start: int):
        """Minibatches ``start..`` of ``epoch``, in the order fixed by (seed, epoch)."""
        B = self.cfg.batch_size
        perm = torch.randperm(self.n, generator=_seeded(self.cfg.seed, epoch, 1))
        # process r of w takes minibatches r, r + w, r + 2w, ... of the epoch's permutation
        perm = perm[: self.steps_per_epoch * B * self.world].reshape(-1, self.world, B)
        perm = perm[start:, self.rank].reshape(-1)
        if isinstance(self.dataset, TensorDataset):
            x = self.dataset.tensors[0]
            for i in range(0, len(perm), B):
                idx = perm[i:i + B].to(x.device)
                yield x[idx]
        else:
            loader = DataLoader(self.dataset, batch_size=B, sampler=perm.tolist(),
                                num_workers=self.cfg.num_workers, pin_memory=self.cuda,
                                drop_last=True, persistent_workers=False)
            for x, _ in loader:
                yield x

    # -- one update ------------------------------------------------------------
    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda and self.cfg.amp)

    def train_step(self, real: torch.Tensor) -> dict:
        """One update as set by ``cfg.schedule``; returns the logged numbers."""
        real = real.to(self.device, non_blocking=True).contiguous(memory_format=self.mem_format)
        B = real.shape[0]
        z = sample_z(B, self.cfg.nz, self.G.z_dist,
                     _seeded(self.cfg.seed, self.step, 2, self.rank), self.device)
        ones = torch.ones(B, device=self.device)
        zeros = torch.zeros(B, device=self.device)
        rec: dict = {}
        do_d = do_g = True
        if self.cfg.schedule == "alternating":  # authors: G on even updates, D on odd ones
            do_g = self.step % 2 == 0
            do_d = not do_g
        with self._autocast():
            fake = self.G_step(z)
        if do_d:
            self.optD.zero_grad(set_to_none=True)
            # one backward per D forward (DDP reduces once, after the second)
            with self._autocast(), dist_mod.no_sync(self.D_step):
                d_real = self.D_step(real).float()
                loss_real = self.loss(d_real, ones)
                loss_real.backward()
            with self._autocast():
                d_fake = self.D_step(fake.detach()).float()
            loss_fake = self.loss(d_fake, zeros)
            loss_fake.backward()
            self.optD.step()
            loss_d = loss_real.detach() + loss_fake.detach()
            rec.update(loss_d=loss_d.item(), d_x=torch.sigmoid(d_real).mean().item(),
                       d_g_z1=torch.sigmoid(d_fake).mean().item())
        if do_g:
            # D's weights are not updated here: freezing them skips their gradients (the
            # backward still flows through D to G), which the textbook loop computes and discards
            self.D.requires_grad_(False)
            try:
                with self._autocast():
                    d_fake2 = self.D(fake).float()  # the bare D, outside DDP
                loss_g = self.loss(d_fake2, ones)
                self.optG.zero_grad(set_to_none=True)
                loss_g.backward()
            finally:
                self.D.requires_grad_(True)
            self.optG.step()
            rec.update(loss_g=loss_g.item(), d_g_z2=torch.sigmoid(d_fake2).mean().item())
        return rec

    # -- the loop ----------------------------------------------------------------
    def sample(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """G(z) for the fixed noise (or ``z``), with batch statistics as the authors sampled."""
        z = self.fixed_z if z is None else z
        with torch.no_grad(), batch_stats(self.G):
            return self.G(z.to(self.device)).float().cpu()

    def save_samples(self) -> Path:
        from torchvision.utils import save_image
        path = self.out / "samples" / f"step-{self.step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        x = self.sample()
        save_image(x * 0.5 + 0.5, path, nrow=int(math.sqrt(len(x))) or 1, padding=1)
        return path

    def fit(self, until_step: int | None = None) -> dict:
        """Train to ``total_steps`` (or ``until_step``); returns the last epoch record."""
        cfg = self.cfg
        end = min(self.total_steps, until_step) if until_step is not None else self.total_steps
        self.out.mkdir(parents=True, exist_ok=True)
        if self.main:
            (self.out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
        bar = None
        if cfg.progress and self.main:
            from tqdm import tqdm
            bar = tqdm(total=end, initial=self.step, unit="step", dynamic_ncols=True)
        last: dict = {}
        self.G.train()
        self.D.train()
        with open(self.out / "log.jsonl", "a") if self.main else open(os.devnull, "w") as log:
            while self.step < end:
                epoch, start = divmod(self.step, self.steps_per_epoch)
                t0 = time.perf_counter()
                for real in self._batches(epoch, start):
                    rec = self.train_step(real)
                    self.step += 1
                    rec = {"step": self.step, "epoch": epoch, **rec}
                    log.write(json.dumps(rec) + "\n")
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix({k: f"{v:.3f}" for k, v in rec.items()
                                         if k in ("loss_d", "loss_g", "d_x")})
                    epoch_end = self.step % self.steps_per_epoch == 0
                    if self.main and (self.step % cfg.sample_every == 0 or epoch_end
                                      or self.step == end):
                        self.save_samples()
                    if epoch_end:
                        log.flush()
                        last = self._end_epoch(epoch, time.perf_counter() - t0)
                    if self.step % cfg.checkpoint_every == 0 or epoch_end or self.step == end:
                        log.flush()
                        self.save()
                    if self.step >= end:
                        break
        if bar is not None:
            bar.close()
        return last

    def _end_epoch(self, epoch: int, seconds: float) -> dict:
        if not self.main:
            return {}
        rec = {"epoch": epoch + 1, "step": self.step, "seconds": round(seconds, 2),
               "images_per_s": round(self.steps_per_epoch * self.cfg.batch_size * self.world
                                     / seconds, 1)}
        if self.evaluator is not None:
            rec.update(self.evaluator(self.G))
            self.G.train()
            if rec.get("fd", float("inf")) < self.best_fd:
                self.best_fd = rec["fd"]
                self.save("best.pt")
        with open(self.out / "epochs.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        return rec


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def train(cfg: TrainConfig, dataset: Dataset | None = None, evaluator=None,
          resume: bool = False, overwrite: bool = False) -> Trainer:
    """Build a :class:`Trainer`, run it to the end, return it."""
    tr = Trainer(cfg, dataset, evaluator, resume, overwrite)
    tr.fit()
    return tr


def config_from_dict(d: dict) -> TrainConfig:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    return TrainConfig(**d)
