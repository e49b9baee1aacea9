"""Adversarial training (paper section 4: Adam, lr 0.0002, beta1 0.5, batch 128).

One step serves both of the paper's GANs: the unconditional DCGAN of sections 3-4 and the
conditional DCGAN of appendix A.1, which is the same GAN with the class label fed to G and D
(``TrainConfig(labels=True)``, models from :mod:`dcgan_lib.conditional`; ``arch="mlp"`` is
the fully connected baseline of table 3).

The default step is the one in the PyTorch examples: a D update on a real batch and on
G(z), then a G update that reuses the same G(z) (non-saturating loss, ``-log D(G(z))``).
``schedule="alternating"`` is the authors' released schedule instead: each minibatch makes
either one G update or one D update, in turn (``k = 1`` in their ``train_uncond_dcgan.py``).

Runs are reproducible and resumable to the bit on CPU: minibatch order comes from a
permutation seeded by (seed, epoch), z from a generator seeded by (seed, step), and a
checkpoint holds everything else (both networks and optimizers, step, RNG states, the fixed
sample noise, the config and its history).

A run folder is never lost or clobbered (:mod:`dcgan_lib.run_folder` on
:mod:`dcgan_lib.checkpoint`): a lock keeps a second run out; ``resume`` continues from the
newest readable checkpoint or stops with a message, never from step 0 on its own; logs are cut back to the checkpoint's step (lines that are not
records are dropped with a warning); SIGINT and SIGTERM finish the current step and write a
checkpoint, and further signals wait until it is written; out of disk space anywhere
(checkpoints, logs, sample grids) is a one-line error naming the file and the checkpoint kept;
``config.json`` records the length every start and resume asked for and every setting changed
on a resume; temporary files a killed write left are removed when a run starts or resumes.

Under ``torchrun`` (``torch.distributed`` initialised, see :mod:`dcgan_lib.distributed`) the
same trainer runs data-parallel: both networks are wrapped in ``DistributedDataParallel``, each
process takes its own share of every epoch's permutation (``batch_size`` per process), and only
rank 0 logs, samples, evaluates and writes checkpoints, in the same format.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
import random
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from . import checkpoint as ckpt_mod
from . import data as data_mod
from . import distributed as dist_mod
from .checkpoint import (CheckpointError, DiskFullError, JsonlWriter, read_jsonl, save_atomic,
                         write_bytes_atomic)
from .models import Discriminator, Generator, batch_stats, default_z_dist, sample_z
from .rng import seeded_generator
from .run_folder import RunFolder, list_checkpoints

__all__ = ["TrainConfig", "ConfigError", "TrainingInterrupted", "Trainer", "train",
           "build_models", "load_checkpoint", "load_generator", "load_models",
           "list_checkpoints", "read_jsonl", "save_atomic", "pick_device", "SCHEDULES",
           "repeat_runs"]

SCHEDULES = ("same-batch", "alternating")
QUALITY = ("auto", "fd", "none")


class ConfigError(ValueError):
    """An option out of its range; the message names the option, the value and the range."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped a run after a step; a checkpoint of that step was written.
    ``ran``: the steps this call of :meth:`Trainer.fit` ran."""

    def __init__(self, signum: int, step: int, path: Path | None, ran: int | None = None):
        self.signum, self.step, self.path, self.ran = signum, step, path, ran
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        where = f"checkpoint {path} written" if path else "no checkpoint written"
        ran_ = "" if ran is None else \
            f" ({ran} step{'' if ran == 1 else 's'} ran this time, from step {step - ran})"
        super().__init__(f"stopped by {name} at step {step}{ran_}; {where}; continue with the "
                         "same command and --resume")


def option(default, help: str, check: str | None = None, choices: tuple | None = None):
    """A :class:`TrainConfig` field with its help text (the CLI's ``--help``) and its range."""
    return field(default=default, metadata={"help": help, "check": check, "choices": choices})


def _cpu_cores() -> int:
    """CPU cores this process may run on (its affinity mask; else all of the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


CORES = _cpu_cores()
PER_CORE = 4            # --threads and --num-workers: at most this many per core
MAX_STEPS = 100_000_000  # a run's length: ~800x the paper's longest (LSUN, 5 epochs of 3M)
MAX_SEED = 2**63 - 1     # torch and Python generators take 64-bit seeds
LONG_RUN = 2000          # steps: the CLI times a longer run first and prints its length

# range checks by name: (test, description for the error message)
CHECKS = {
    ">0": (lambda v: v > 0, "greater than 0"),
    "epochs": (lambda v: 0 < v <= MAX_STEPS, f"greater than 0 and at most {MAX_STEPS:,}"),
    "steps": (lambda v: 1 <= v <= MAX_STEPS, f"from 1 to {MAX_STEPS:,}"),
    "seed": (lambda v: 0 <= v <= MAX_SEED, f"from 0 to {MAX_SEED} (2**63 - 1)"),
    "threads": (lambda v: 1 <= v <= PER_CORE * CORES,
                f"from 1 to {PER_CORE * CORES} ({PER_CORE} per CPU core of this machine)"),
    "workers": (lambda v: 0 <= v <= PER_CORE * CORES,
                f"from 0 to {PER_CORE * CORES} ({PER_CORE} per CPU core of this machine)"),
    ">=0": (lambda v: v >= 0, "0 or more"),
    ">=1": (lambda v: v >= 1, "at least 1"),
    ">=2": (lambda v: v >= 2, "at least 2 (batch-norm needs a batch)"),
    "[0,1)": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "pow2": (lambda v: v >= 16 and v & (v - 1) == 0, "a power of two >= 16 (16, 32, 64, ...)"),
}
MACHINE = ("threads", "workers")  # checks that depend on this machine, not on the run


def _type_error(value, typ: str) -> str | None:
    """What ``value`` should be for a field annotated ``typ`` (a string, e.g. ``"int | None"``),
    or None when it is that: a checkpoint's or a notebook's config may hold anything."""
    if value is None:
        return None if "None" in typ else "given"
    if "bool" in typ:
        return None if isinstance(value, bool) else "true or false"
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        return "a whole number" if "int" in typ else "a finite number" if "float" in typ \
            else "text"
    if "int" in typ:
        return None if isinstance(value, numbers.Integral) else "a whole number"
    if "float" in typ:
        return None if isinstance(value, numbers.Real) and math.isfinite(value) \
            else "a finite number"
    return None if isinstance(value, str) else "text"


@dataclass
class TrainConfig:
    """Everything a run needs; saved in every checkpoint. Defaults are the paper's (section 4).

    Each field carries its help text and its valid range (``option``): the CLI's ``dcgan train
    --help`` and :meth:`validate` are made from them, so the two cannot drift apart.
    """

    dataset: str = option("fashion-mnist", "dataset name", choices=data_mod.NAMES)
    data_root: str | None = option(None, "folder holding the data (default $DCGAN_DATA or "
                                   "~/.cache/dcgan_lib/data); for imagefolder, the folder of "
                                   "images")
    download: bool = option(False, "let torchvision download the dataset when it is missing")
    image_size: int = option(32, "image side in pixels, a power of two >= 16 (the paper: 64 "
                             "for LSUN and faces, 32 for ImageNet); with --labels a multiple "
                             "of 4 >= 8 (28 for MNIST)")
    channels: int | None = option(None, "1 (grey) or 3 (colour); default: the dataset's own",
                                  choices=(1, 3))
    limit: int | None = option(None, "use only the first N training images", check=">=1")
    variant: str = option("paper", "paper: the authors' code (5x5 kernels, per-unit BN "
                          "projection, uniform z); torch: the PyTorch port (4x4 kernels, "
                          "transposed-conv projection, normal z)", choices=("paper", "torch"))
    labels: bool = option(False, "condition G and D on the class label: appendix A.1's "
                          "conditional DCGAN (the label is appended to every layer's input)")
    arch: str = option("dcgan", "with --labels: dcgan (the authors' conditional MNIST DCGAN) "
                       "or mlp (table 3's fully connected GAN baseline)",
                       choices=("dcgan", "mlp"))
    nfc: int = option(1024, "with --labels: units of the fully connected layers (authors: "
                      "1024)", check=">=1")
    bn_affine: bool | None = option(None, "batch-norm with scale and bias (--bn-affine) or "
                                    "without (--no-bn-affine); default: the paper's, with "
                                    "them, except with --labels (appendix A.1 drops them)")
    output: str = option("tanh", "with --labels: G's output layer, tanh (images in [-1, 1]) or "
                         "sigmoid (the authors' MNIST code, mapped to [-1, 1])",
                         choices=("tanh", "sigmoid"))
    nz: int = option(100, "size of z (paper: 100)", check=">=1")
    ngf: int = option(64, "generator width: channels of its last hidden layer (doubling "
                      "towards z)", check=">=1")
    ndf: int = option(64, "discriminator width: channels of its first layer (doubling with "
                      "depth)", check=">=1")
    z_dist: str | None = option(None, "uniform (in [-1, 1], the paper) or normal; default: "
                                "the variant's", choices=("uniform", "normal"))
    batch_size: int = option(128, "minibatch size (paper: 128)", check=">=2")
    lr: float = option(2e-4, "Adam learning rate (paper: 0.0002)", check=">0")
    beta1: float = option(0.5, "Adam beta1 (paper: 0.5)", check="[0,1)")
    beta2: float = option(0.999, "Adam beta2 (0.999)", check="[0,1)")
    weight_decay: float = option(0.0, "L2 weight decay added to the gradient (the authors' "
                                 "MNIST code: 2.5e-5)", check=">=0")
    decay_epochs: float = option(0.0, "the learning rate falls linearly to 0 over the last "
                                 "decay_epochs epochs (the authors' MNIST code: 100 of 200)",
                                 check=">=0")
    schedule: str = option("same-batch", "same-batch: D then G on one batch (PyTorch "
                           "examples); alternating: one minibatch for G, the next for D (the "
                           "authors' code)", choices=SCHEDULES)
    epochs: float | None = option(None, "passes over the data (may be fractional); give this "
                                  f"or --steps; at most {MAX_STEPS:,} steps in all",
                                  check="epochs")
    steps: int | None = option(None, f"number of updates, at most {MAX_STEPS:,}; give this or "
                               "--epochs", check="steps")
    seed: int = option(0, f"seed of weights, data order and noise (0 to {MAX_SEED})",
                       check="seed")
    out: str = option("runs/dcgan", "run folder: checkpoints, log.jsonl, epochs.jsonl, "
                      "samples/ (created if missing; not a file)")
    sample_every: int = option(500, "steps between sample grids from the fixed noise",
                               check=">=1")
    checkpoint_every: int = option(500, "steps between checkpoints (one is also written at "
                                   "every epoch end)", check=">=1")
    keep_last: int = option(3, "how many step checkpoints to keep", check=">=1")
    num_samples: int = option(64, "size of the fixed-noise sample grid, at least 2 (it is "
                              "drawn with batch statistics); counted in the memory estimate",
                              check=">=2")
    quality: str = option("auto", "per-epoch quality measure that picks best.pt: fd (Fréchet "
                          "distance in the features of a classifier trained on the dataset's "
                          "labels, metrics.quality_evaluator), none, or auto (fd where the "
                          "dataset has class labels: mnist, fashion-mnist, cifar10, svhn)",
                          choices=QUALITY)
    device: str = option("auto", "auto (cuda, then mps, then cpu), or a torch device name")
    amp: bool = option(True, "bf16 autocast on CUDA (--no-amp to turn off)")
    channels_last: bool = option(True, "channels-last (NHWC) memory format on CUDA and CPU, a "
                                 "few % faster (--no-channels-last to turn off)")
    preload: bool = option(True, "transform the dataset into memory once (--no-preload for "
                           "large datasets)")
    num_workers: int = option(0, "data loader worker processes (without --preload), at most "
                              f"{PER_CORE} per CPU core ({PER_CORE * CORES} here)",
                              check="workers")
    progress: bool = option(True, "tqdm progress bar with ETA (--no-progress to turn off)")
    sync_bn: bool = option(False, "SyncBatchNorm across processes under torchrun (CUDA only)")
    threads: int | None = option(None, "CPU threads for PyTorch (torch.set_num_threads); "
                                 "default: PyTorch's own (one per core). On a machine shared "
                                 "with other jobs 1 can be faster; at most "
                                 f"{PER_CORE} per CPU core ({PER_CORE * CORES} here)",
                                 check="threads")
    compile: bool = option(False, "torch.compile the networks (inductor): compiles for a "
                           "while first; on a CPU no faster (docs/benchmarks.md)")

    def validate(self, for_run: bool = True) -> None:
        """Check every option's type and range; :class:`ConfigError` names the first bad one.

        ``for_run=False`` checks only what a saved config must hold to rebuild its models (a
        checkpoint's): not the device, ``--out`` or the limits of this machine."""
        for f in dataclasses.fields(self):
            what = _type_error(getattr(self, f.name), f.type)
            if what:
                raise ConfigError(f"{f.name} (--{f.name.replace('_', '-')}) must be {what}, "
                                  f"got {getattr(self, f.name)!r}")
        if (self.epochs is None) == (self.steps is None):
            raise ConfigError("give exactly one of epochs (--epochs) or steps (--steps)")
        size = self.image_size
        if isinstance(size, bool) or not isinstance(size, int) or not (
                (size >= 8 and size % 4 == 0) if self.labels else CHECKS["pow2"][0](size)):
            what = "a multiple of 4 >= 8 (with --labels)" if self.labels else CHECKS["pow2"][1]
            raise ConfigError(f"image_size (--image-size) must be {what}, got {size!r}")
        if self.arch == "mlp" and not self.labels:
            raise ConfigError("arch (--arch) mlp is table 3's conditional baseline: add --labels")
        if self.labels and self.quality == "fd":
            raise ConfigError("quality (--quality) fd measures unconditional samples; with "
                              "--labels use --quality none (chapter 10 measures table 3)")
        if self.decay_epochs and self.epochs is not None and self.decay_epochs > self.epochs:
            raise ConfigError(f"decay_epochs (--decay-epochs) must be at most epochs "
                              f"({self.epochs}), got {self.decay_epochs}")
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if value is None:
                continue
            flag = "--" + f.name.replace("_", "-")
            if meta.get("choices") and value not in meta["choices"]:
                raise ConfigError(f"{f.name} ({flag}) must be one of "
                                  f"{', '.join(map(str, meta['choices']))}, got {value!r}")
            if meta.get("check") and (for_run or meta["check"] not in MACHINE):
                ok, what = CHECKS[meta["check"]]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
                    raise ConfigError(f"{f.name} ({flag}) must be {what}, got {value!r}")
        from .metrics import FD_DATASETS
        if self.quality == "fd" and self.dataset not in FD_DATASETS:
            raise ConfigError(f"quality (--quality) fd needs a dataset with class labels "
                              f"({', '.join(FD_DATASETS)}), got --dataset {self.dataset}; use "
                              "--quality none or auto")
        if not for_run:
            return
        if not self.out.strip():
            raise ConfigError(f"out (--out) must name a folder for the run, got {self.out!r}")
        if Path(self.out).exists() and not Path(self.out).is_dir():
            raise ConfigError(f"out (--out) {self.out} is a file, not a folder; give the run's "
                              "folder (created if missing)")
        if self.device != "auto":
            try:
                dev = torch.device(self.device)
            except RuntimeError:
                raise ConfigError(f"device (--device) must be auto or a torch device name such "
                                  f"as cpu, cuda, cuda:1 or mps, got {self.device!r}") from None
            if dev.type == "cuda" and not torch.cuda.is_available():
                raise ConfigError(f"device (--device) {self.device!r}: no CUDA device on this "
                                  "machine; use --device cpu or auto")
            mps = getattr(torch.backends, "mps", None)
            if dev.type not in ("cpu", "cuda", "mps") or (
                    dev.type == "mps" and not (mps and mps.is_available())):
                # a name torch parses but cannot train on here (meta, xla, mps on Linux, ...)
                raise ConfigError(f"device (--device) {self.device!r}: not a device that runs "
                                  "on this machine; use --device cpu, cuda, mps or auto")
            if dev.type == "cuda" and dev.index is not None and \
                    dev.index >= torch.cuda.device_count():
                raise ConfigError(f"device (--device) {self.device!r}: this machine has "
                                  f"{torch.cuda.device_count()} CUDA device(s), numbered from "
                                  "0; use --device cuda or auto")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A config from a checkpoint's or config.json's plain dict (extra keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# settings a resumed run must share with its checkpoint, and those it may change (applied to
# the optimizers from the resume on, and recorded in config.json's history)
MUST_MATCH = ("dataset", "image_size", "channels", "limit", "variant", "labels", "arch", "nfc",
              "bn_affine", "output", "nz", "ngf", "ndf", "z_dist", "batch_size", "seed",
              "schedule", "num_samples")
OPTIMISER = ("lr", "beta1", "beta2", "weight_decay", "decay_epochs")


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA, then Apple's MPS, then the CPU; otherwise the named torch device."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# ---------------------------------------------------------------- checkpoints
RESUME_KEYS = ("optG", "optD", "step", "fixed_z", "rng")


def load_checkpoint(path: str | Path, map_location="cpu", resume: bool = False) -> dict:
    """A training checkpoint, loaded safely (:func:`dcgan_lib.checkpoint.load`: tensors and
    plain data only) and checked (:func:`check_checkpoint`): the loader of every consumer
    (``dcgan sample``, ``--resume``, the chapters). :class:`CheckpointError` names the file and
    what is wrong when it is not a checkpoint of ours; ``resume`` also asks for what a resume
    reads (optimisers, step, fixed noise, random states)."""
    ck = ckpt_mod.load(path, map_location)
    check_checkpoint(ck, path, resume)
    return ck


def check_checkpoint(ck, path: str | Path, resume: bool = False) -> TrainConfig:
    """Check a loaded checkpoint before anything uses it: its keys, its config (types and
    ranges, :meth:`TrainConfig.validate`) and that every tensor has the shape of the models
    that config builds (built on the ``meta`` device: no memory, no random draws). Returns the
    config; raises :class:`CheckpointError`, one line naming ``path`` and the fault."""
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path}: {what}; it was not written by dcgan train "
                               "or was changed since: use another ckpt-*.pt of the run")

    if not isinstance(ck, dict):
        raise bad(f"holds a {type(ck).__name__}, not a dict of config, G and D")
    needed = ("config", "G", "D", "nc") + (RESUME_KEYS if resume else ())
    missing = [k for k in needed if k not in ck]
    if missing:
        raise bad(f"no {', '.join(missing)} inside" + (" (needed to resume)" if resume and
                                                      set(missing) <= set(RESUME_KEYS) else ""))
    saved = ck["config"]
    if not isinstance(saved, dict):
        raise bad(f"its config is a {type(saved).__name__}, not a dict of settings")
    try:
        cfg = TrainConfig.from_dict(saved)
        cfg.validate(for_run=False)
    except (ConfigError, TypeError) as err:
        raise bad(f"its config is invalid: {err}") from None
    nc, ny = ck["nc"], ck.get("ny", 0)
    for name, v, low in (("nc", nc, 1), ("ny", ny, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise bad(f"{name} must be a whole number >= {low}, got {v!r}")
    if cfg.channels is not None and nc != cfg.channels:
        raise bad(f"nc is {nc} but its config says channels={cfg.channels}")
    try:
        with torch.device("meta"):
            G, D = build_models(cfg, nc, ny)
    except (ConfigError, ValueError, TypeError, RuntimeError, OverflowError) as err:
        raise bad(f"its config builds no models: {str(err).splitlines()[0][:100]}") from None
    model = f"its config's model ({_widths(cfg, nc, ny)})"
    for name, net in (("G", G), ("D", D)):
        _check_tensors(ck[name], net.state_dict(), name, model, bad)
    if not resume:
        return cfg
    for name, net in (("optG", G), ("optD", D)):
        _check_optimiser(ck[name], list(net.parameters()), name, bad)
    step = ck["step"]
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEPS:
        raise bad(f"step must be a whole number from 0 to {MAX_STEPS:,}, got {step!r}")
    fz = ck["fixed_z"]
    if not isinstance(fz, torch.Tensor) or tuple(fz.shape) != (cfg.num_samples, cfg.nz) \
            or not fz.is_floating_point():
        got = f"{tuple(fz.shape)} {fz.dtype}" if isinstance(fz, torch.Tensor) else \
            type(fz).__name__
        raise bad(f"fixed_z must be a floating-point tensor of shape ({cfg.num_samples}, "
                  f"{cfg.nz}) (num_samples, nz), got {got}")
    rng = ck["rng"]
    if not (isinstance(rng, dict) and isinstance(rng.get("torch"), torch.Tensor)
            and rng["torch"].dtype == torch.uint8 and isinstance(rng.get("python"), (list, tuple))
            and rng["torch"].shape == torch.get_rng_state().shape):
        raise bad("rng must hold the torch (a uint8 tensor of this torch's size) and python "
                  "random states")
    try:  # on a throwaway generator: the state random.setstate will be given on resume
        random.Random().setstate(_as_rng_state(rng["python"]))
    except (TypeError, ValueError, OverflowError, IndexError, KeyError) as err:
        raise bad(f"its python random state is not one ({str(err)[:60]})") from None
    return cfg


def _widths(cfg: TrainConfig, nc: int, ny: int) -> str:
    s = f"image_size {cfg.image_size}, nc {nc}, nz {cfg.nz}, ngf {cfg.ngf}, ndf {cfg.ndf}"
    return s + (f", ny {ny}, arch {cfg.arch}, nfc {cfg.nfc}" if cfg.labels else
                f", variant {cfg.variant}")


def _check_tensors(given, expected: dict, name: str, model: str, bad) -> None:
    """``given`` is a state dict with exactly the keys and shapes of ``expected``."""
    if not isinstance(given, dict):
        raise bad(f"{name} is a {type(given).__name__}, not a dict of tensors")
    missing = [k for k in expected if k not in given]
    extra = [str(k) for k in given if k not in expected]
    if missing or extra:
        what = [f"missing {', '.join(missing[:3])}"] if missing else []
        what += [f"unexpected {', '.join(extra[:3])}"] if extra else []
        raise bad(f"the tensors of {name} are not those of {model}: {'; '.join(what)}")
    for k, v in expected.items():
        t = given[k]
        if not isinstance(t, torch.Tensor) or t.shape != v.shape:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise bad(f"{name}'s {k} has shape {got}, but {model} has {tuple(v.shape)}")


def _check_optimiser(state, params: list, name: str, bad) -> None:
    """``state`` is an Adam state dict for ``params``: one entry per parameter, its moments of
    the parameter's shape (what ``Optimizer.load_state_dict`` and the next step rely on)."""
    groups = state.get("param_groups") if isinstance(state, dict) else None
    if not (isinstance(groups, list) and all(isinstance(g, dict) and
                                             isinstance(g.get("params"), list) for g in groups)
            and isinstance(state.get("state"), dict)):
        raise bad(f"{name} is not an optimiser state (param_groups and state)")
    for g in groups:  # the hyper-parameters Adam's step reads (lr, betas: set on resume)
        for k in ("lr", "eps", "weight_decay"):
            v = g.get(k, 0.0)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise bad(f"{name}'s {k} must be a finite number, got {v!r}")
        betas = g.get("betas", (0.5, 0.999))
        if not (isinstance(betas, (list, tuple)) and len(betas) == 2 and all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas)):
            raise bad(f"{name}'s betas must be two numbers, got {betas!r}")
        for k in ("amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused"):
            if g.get(k) is not None and not isinstance(g[k], bool):
                raise bad(f"{name}'s {k} must be true or false, got {g[k]!r}")
    ids = [i for g in groups for i in g["params"]]
    if len(ids) != len(params):
        raise bad(f"{name} is for {len(ids)} parameters, its model has {len(params)}")
    shape = dict(zip(ids, (p.shape for p in params)))
    for i, st in state["state"].items():
        if i not in shape or not isinstance(st, dict):
            raise bad(f"{name} holds state for an unknown parameter {i!r}")
        for k in ("step", "exp_avg", "exp_avg_sq"):  # what Adam's next step reads
            t = st.get(k)
            if t is None or k != "step" and not (isinstance(t, torch.Tensor)
                                                 and t.shape == shape[i]):
                got = "none" if t is None else tuple(t.shape) if isinstance(
                    t, torch.Tensor) else type(t).__name__
                raise bad(f"{name}'s {k} of parameter {i} must be "
                          f"{'given' if k == 'step' else 'a tensor of its shape'}, got {got}")
        for k, t in st.items():
            if not isinstance(t, torch.Tensor) and (isinstance(t, bool) or not isinstance(
                    t, numbers.Real)) or isinstance(t, torch.Tensor) and (
                    t.is_complex() or t.dtype == torch.bool):
                raise bad(f"{name}'s {k} of parameter {i} is not a real number or tensor, got "
                          f"{type(t).__name__}")
            if isinstance(t, torch.Tensor) and t.dim() and t.shape != shape[i]:
                raise bad(f"{name}'s {k} of parameter {i} has shape {tuple(t.shape)}, the "
                          f"parameter {tuple(shape[i])}")


def build_models(cfg: TrainConfig, nc: int, ny: int = 0) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator of a config, ``nc`` channels: the DCGAN of section 3
    (figure 1), or with ``cfg.labels`` the conditional models of appendix A.1 for ``ny``
    classes (:mod:`dcgan_lib.conditional`)."""
    affine = (not cfg.labels) if cfg.bn_affine is None else cfg.bn_affine
    if not cfg.labels:
        G = Generator(cfg.image_size, cfg.nz, cfg.ngf, nc, cfg.variant, z_dist=cfg.z_dist,
                      bn_affine=affine)
        return G, Discriminator(cfg.image_size, cfg.ndf, nc, cfg.variant, bn_affine=affine)
    from . import conditional as cond
    if ny < 2:
        raise ConfigError(f"labels (--labels) needs a dataset with at least 2 classes, got {ny}")
    common = dict(nc=nc, image_size=cfg.image_size, bn_affine=affine)
    if cfg.arch == "mlp":
        return (cond.MLPCondGenerator(cfg.nz, ny, cfg.nfc, output=cfg.output, **common),
                cond.MLPCondDiscriminator(ny, cfg.nfc, **common))
    return (cond.CondGenerator(cfg.nz, ny, cfg.ngf, cfg.nfc, output=cfg.output, **common),
            cond.CondDiscriminator(ny, cfg.ndf, cfg.nfc, **common))


def lr_at(cfg: TrainConfig, epoch: int, epochs: float) -> float:
    """Learning rate of (0-based) ``epoch`` of a run of ``epochs``: constant, then linear to
    zero over the last ``decay_epochs`` (the authors' MNIST code: 100 + 100 epochs, so epoch
    199 runs at lr / 100)."""
    if not cfg.decay_epochs:
        return cfg.lr
    return cfg.lr * min(1.0, max(0.0, (epochs - epoch) / cfg.decay_epochs))


def load_models(path: str | Path, device="cpu") -> tuple[Generator, Discriminator, TrainConfig]:
    """``(G, D, config)`` of a checkpoint written by :class:`Trainer`, on ``device``; the
    checkpoint is checked first (:func:`load_checkpoint`). A conditional checkpoint
    (``--labels``) gives the models of :mod:`dcgan_lib.conditional`: ``G(z, y)``."""
    ck = load_checkpoint(path)
    cfg = TrainConfig.from_dict(ck["config"])
    G, D = build_models(cfg, ck["nc"], ck.get("ny", 0))
    G.load_state_dict(ck["G"])
    D.load_state_dict(ck["D"])
    return G.to(device), D.to(device), cfg


def load_generator(path: str | Path, device="cpu") -> Generator:
    """The generator of a checkpoint (for sampling and the later chapters)."""
    return load_models(path, device)[0]


def estimate_sample_memory(cfg: TrainConfig, nc: int, ny: int, n: int,
                           batch_size: int) -> int:
    """Bytes that drawing ``n`` samples of the generator of ``cfg`` (``batch_size`` at a time)
    and writing them as one grid (:func:`dcgan_lib.models.grid_floats`) takes: the activations
    of one batch (counted on the ``meta`` device), the samples, the grid."""
    from .models import layer_output_numel, grid_floats
    with torch.device("meta"):
        G = build_models(cfg, nc, ny)[0]
        z = torch.zeros(2, cfg.nz)
        cond = (torch.zeros(2, ny),) if cfg.labels else ()  # one-hot labels
        per_image = layer_output_numel(G, z, *cond) / 2
    image = nc * cfg.image_size ** 2
    b = min(n, batch_size)
    return int(4 * (b * (per_image + cfg.nz) + 3 * n * image + grid_floats(n, cfg.image_size)))


def _duration(seconds: float) -> str:
    for unit, s in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * s:
            return f"{seconds / s:.1f} {unit}"
    return f"{seconds:.0f} s"


def length_note(tr: "Trainer", timing: bool = True) -> str:
    """One line on the run ``tr`` has ahead: its steps and, with ``timing``, how long they take
    at the speed of a few steps timed here (:func:`time_steps`, in a temporary folder; the
    run's random states are left as they were)."""
    left = tr.total_steps - tr.step
    note = (f"{tr.out}: {left:,} steps to run (to step {tr.total_steps:,}, "
            f"{tr.steps_per_epoch:,} an epoch)")
    if not timing or tr.world > 1 or tr.cfg.compile:
        return note
    state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[tr.device.index or 0] if tr.cuda else []):
            cfg = dataclasses.replace(tr.cfg, preload=False, limit=None, threads=None)
            sec = time_steps(cfg, tr.dataset, steps=3)
    except (ConfigError, RuntimeError, ValueError, OSError):
        return note
    finally:
        random.setstate(state)
    return note + (f"; about {_duration(left * sec)} at {sec:.3g} s a step timed on this "
                   "machine (Ctrl-C stops it with a checkpoint; --resume continues)")


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------- the trainer
class Trainer:
    """Train a DCGAN per :class:`TrainConfig` in the run folder ``cfg.out``.

    ``resume=True`` continues from the newest readable checkpoint there (and raises
    :class:`NothingToResumeError` when there is none); ``overwrite=True`` replaces a run
    already in the folder, once everything else has been checked. ``evaluator(G) -> dict``
    runs at every epoch end; its ``"fd"`` entry (lower is better) picks ``best.pt``. With no
    evaluator, ``cfg.quality`` decides (:func:`dcgan_lib.metrics.quality_evaluator`). Logs:
    ``log.jsonl`` (per step), ``epochs.jsonl`` (per epoch), ``samples/step-XXXXXXXX.png``.
    The folder itself (its lock and files, checkpoints on disk, ``config.json``) is
    ``folder``, a :class:`dcgan_lib.run_folder.RunFolder`; the trainer keeps the training.
    """

    def __init__(self, cfg: TrainConfig, dataset: Dataset | None = None,
                 evaluator: Callable[[Generator], dict] | None = None, resume: bool = False,
                 overwrite: bool = False):
        cfg.validate()
        self.cfg, self.evaluator = cfg, evaluator
        self.out = Path(cfg.out)
        self.rank, self.world = dist_mod.rank_and_world()
        self.main = self.rank == 0
        # the folder: lock, files, checkpoints, config.json (only rank 0 writes)
        self.folder = RunFolder(cfg, functools.partial(load_checkpoint, resume=True), self.main)
        self.folder.open(resume)  # before anything reads or writes the folder
        try:
            self._setup(dataset)
            if resume:
                self.resume()
            else:
                self.folder.start_fresh(overwrite)
            self.start_step = self.step
            self.folder.remove_stale_temp()
        except BaseException as err:
            self.folder.abandon(err)
            raise

    # -- set-up ------------------------------------------------------------------
    def _setup(self, dataset: Dataset | None) -> None:
        cfg = self.cfg
        self.device = dist_mod.local_device(cfg.device) if self.world > 1 else \
            pick_device(cfg.device)
        if cfg.threads is not None:  # for this process, from here on (data loading included)
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        self._check_memory(0)  # the networks alone, before a dataset is even opened
        if dataset is None:
            if cfg.download and cfg.dataset != "synthetic":  # `dcgan data`'s sources and checks
                from .fetch import ensure
                ensure(cfg.dataset, cfg.data_root or data_mod.default_data_root())
            dataset = data_mod.get_dataset(cfg.dataset, cfg.data_root, cfg.image_size,
                                           cfg.channels, "train", cfg.download, seed=cfg.seed)
        if cfg.preload:  # and with the images it will hold in memory
            self._check_memory(min(len(dataset), cfg.limit or len(dataset)))
        if cfg.preload:
            dataset = data_mod.preload(dataset, cfg.limit)
        elif cfg.limit is not None:
            dataset = torch.utils.data.Subset(dataset, range(min(cfg.limit, len(dataset))))
        self.dataset, self.n = dataset, len(dataset)
        if self.n < cfg.batch_size * self.world:
            raise ConfigError(f"batch_size (--batch-size) {cfg.batch_size}: the dataset has "
                              f"{self.n} images, fewer than batch_size={cfg.batch_size} x "
                              f"{self.world} processes; use a smaller --batch-size")
        x0 = dataset[0][0]
        self.nc = x0.shape[0]
        self.ny = _num_classes(dataset) if cfg.labels else 0
        if x0.shape[-1] != cfg.image_size:
            raise ConfigError(f"dataset images are {tuple(x0.shape)}, expected size "
                              f"{cfg.image_size}")
        self.steps_per_epoch = self.n // (cfg.batch_size * self.world)
        self.total_steps = cfg.steps if cfg.steps is not None else \
            int(math.ceil(cfg.epochs * self.steps_per_epoch))
        if self.total_steps > MAX_STEPS:
            raise ConfigError(f"epochs (--epochs) {cfg.epochs:g} are {self.total_steps:,} steps "
                              f"({self.steps_per_epoch:,} an epoch), more than the {MAX_STEPS:,} "
                              "a run may take; give fewer --epochs")
        self.G, self.D = build_models(cfg, self.nc, self.ny)
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
        opt = dict(lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay)
        self.optG = torch.optim.Adam(self.G.parameters(), **opt)
        self.optD = torch.optim.Adam(self.D.parameters(), **opt)
        self.loss = nn.BCEWithLogitsLoss()
        self.fixed_z = sample_z(cfg.num_samples, cfg.nz, self.G.z_dist, seeded_generator(cfg.seed, 7))
        # the fixed grid's labels: sample i shows class i % ny (row by row for ny columns)
        self.fixed_y = torch.arange(cfg.num_samples) % self.ny if cfg.labels else None
        self.step, self.best_fd = 0, float("inf")
        self.on_device = isinstance(dataset, TensorDataset) and self.cuda
        if self.on_device:  # small datasets live on the GPU: no loader at all
            self.dataset = TensorDataset(*(t.to(self.device) for t in dataset.tensors))
        self.epochs_total = cfg.epochs if cfg.epochs is not None else \
            self.total_steps / self.steps_per_epoch
        if self.evaluator is None and self.main:
            from .metrics import quality_evaluator
            self.evaluator = quality_evaluator(cfg)

    def _check_memory(self, n: int) -> None:
        """Refuse a run whose estimated memory (``models.estimate_train_memory``, with ``n``
        images preloaded) exceeds what the machine has free."""
        from .models import available_memory, estimate_train_memory
        cfg = self.cfg
        nc = cfg.channels or data_mod.DEFAULT_CHANNELS.get(cfg.dataset, 3)
        size = max(16, 1 << (cfg.image_size - 1).bit_length())  # the DCGAN at the next 2^k
        try:
            need = estimate_train_memory(size, nc, cfg.nz, cfg.ngf, cfg.ndf,
                                         cfg.batch_size, cfg.variant, dataset_images=n,
                                         preload=cfg.preload, samples=cfg.num_samples)
        except (RuntimeError, OverflowError, TypeError) as err:  # sizes past torch's 64 bits
            raise ConfigError(
                f"this run's networks are too large to build ({cfg.image_size}x{cfg.image_size}, "
                f"nz {cfg.nz}, widths {cfg.ngf}/{cfg.ndf}: {str(err).splitlines()[0][:60]}); "
                "lower --image-size, --nz or --ngf/--ndf") from None
        if self.device.type == "cuda":
            free, where = torch.cuda.mem_get_info(self.device)[0], f"free on {self.device}"
        else:
            free, where = available_memory(), "available on this machine"
        if need > free:
            raise ConfigError(
                f"this run needs about {need / 2**30:.1f} GiB ({cfg.image_size}x{cfg.image_size}, "
                f"batch {cfg.batch_size}, widths {cfg.ngf}/{cfg.ndf}, a sample grid of "
                f"{cfg.num_samples}" + (f", {n} images preloaded" if n else "") +
                f"), {free / 2**30:.1f} GiB {where}; lower --batch-size, --num-samples, "
                "--image-size or --ngf/--ndf, or use --no-preload")

    # -- checkpoints (on disk: the run folder's) ---------------------------------------
    def state(self) -> dict:
        """Everything a resume needs, as tensors and plain Python data (safe to load)."""
        return {
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "optG": self.optG.state_dict(), "optD": self.optD.state_dict(),
            "step": self.step, "epoch": self.step / self.steps_per_epoch,
            "best_fd": self.best_fd, "fixed_z": self.fixed_z, "nc": self.nc, "ny": self.ny,
            "config": asdict(self.cfg), "history": self.folder.history,
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                    "cuda": torch.cuda.get_rng_state_all() if self.cuda else None},
        }

    def save(self, name: str | None = None) -> Path:
        """Write a checkpoint (``ckpt-<step>.pt``, or ``name``) atomically; keep the last
        ``keep_last`` readable step checkpoints (:meth:`RunFolder.save`)."""
        if not self.main:
            return self.folder.checkpoint_path(self.step, name)
        return self.folder.save(self.state(), name)

    def resume(self) -> Path:
        """Load the newest readable checkpoint in ``cfg.out``, skipping unreadable ones by
        name (:meth:`RunFolder.find_resume`); apply changed optimiser settings; cut the logs
        back to its step."""
        path, ck, skipped = self.folder.find_resume(self.device)
        self._check_compatible(ck["config"], path)
        if ck["nc"] != self.nc or (self.cfg.labels and ck.get("ny", 0) != self.ny):
            raise ConfigError(f"cannot resume from {path}: its models are for {ck['nc']} "
                              f"channel(s) and {ck.get('ny', 0)} classes, this run's data "
                              f"has {self.nc} and {self.ny}; pass --channels {ck['nc']} "
                              "(and the same --dataset) or use a new --out folder")
        self.G.load_state_dict(ck["G"])
        self.D.load_state_dict(ck["D"])
        self.optG.load_state_dict(ck["optG"])
        self.optD.load_state_dict(ck["optD"])
        self.step, self.best_fd = ck["step"], ck.get("best_fd", float("inf"))
        self.fixed_z = ck["fixed_z"].cpu().float()
        torch.set_rng_state(ck["rng"]["torch"].cpu())
        random.setstate(_as_rng_state(ck["rng"]["python"]))
        if self.cuda and ck["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state_all([s.cpu() for s in ck["rng"]["cuda"]])
        self._apply_changes(ck["config"], ck.get("history"))
        self.folder.truncate_logs(self.step)
        note = f" (skipped unreadable: {', '.join(skipped)})" if skipped else ""
        from .book import rel
        self.folder.say(f"resuming {rel(self.out)} from {path.name} at step {self.step}{note}")
        return path

    def _check_compatible(self, saved: dict, path: Path) -> None:
        now = asdict(self.cfg)
        resolved = {"z_dist": lambda c: c.get("z_dist") or default_z_dist(c["variant"])}
        for k in MUST_MATCH:
            a = resolved[k](saved) if k in resolved else saved.get(k, now[k])
            b = resolved[k](now) if k in resolved else now[k]
            if a != b:
                raise ConfigError(f"cannot resume from {path}: it was trained with {k}={a!r} but "
                                  f"this run asks for {k}={b!r}; pass the same "
                                  f"--{k.replace('_', '-')} or use a new --out folder")

    def _apply_changes(self, saved: dict, history: list[dict] | None) -> None:
        """Settings that differ from the checkpoint's (``saved``, with its ``history``): the
        optimiser's are applied to both Adams from this step on; all are recorded in the
        history (config.json, :meth:`RunFolder.resumed`)."""
        now = asdict(self.cfg)
        changed = {k: [saved.get(k), now[k]] for k in now
                   if k in saved and saved[k] != now[k] and k not in ("progress", "out")}
        for opt in (self.optG, self.optD):
            for group in opt.param_groups:
                group["lr"] = self.cfg.lr
                group["betas"] = (self.cfg.beta1, self.cfg.beta2)
                group["weight_decay"] = self.cfg.weight_decay
        self.folder.resumed(history, self.step, changed)
        applied = [f"{k} {_fmt(a)} -> {_fmt(b)}" for k, (a, b) in changed.items() if k in OPTIMISER]
        if applied:
            self.folder.say(f"from step {self.step}: {', '.join(applied)} (recorded in "
                            "config.json)")

    # -- data ----------------------------------------------------------------
    def _batches(self, epoch: int, start: int):
        """Minibatches ``(x, y)`` ``start..`` of ``epoch``, in the order fixed by (seed, epoch);
        ``y`` (the labels) is None unless ``cfg.labels``."""
        B = self.cfg.batch_size
        perm = torch.randperm(self.n, generator=seeded_generator(self.cfg.seed, epoch, 1))
        # process r of w takes minibatches r, r + w, r + 2w, ... of the epoch's permutation
        perm = perm[: self.steps_per_epoch * B * self.world].reshape(-1, self.world, B)
        perm = perm[start:, self.rank].reshape(-1)
        labels = self.cfg.labels
        if isinstance(self.dataset, TensorDataset):
            x, y = self.dataset.tensors[0], self.dataset.tensors[-1]
            for i in range(0, len(perm), B):
                idx = perm[i:i + B].to(x.device)
                yield x[idx], (y[idx] if labels else None)
        else:
            loader = DataLoader(self.dataset, batch_size=B, sampler=perm.tolist(),
                                num_workers=self.cfg.num_workers, pin_memory=self.cuda,
                                drop_last=True, persistent_workers=False)
            for x, y in loader:
                yield x, (y if labels else None)

    # -- one update ------------------------------------------------------------
    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda and self.cfg.amp)

    def train_step(self, real: torch.Tensor, y: torch.Tensor | None = None) -> dict:
        """One update as set by ``cfg.schedule`` on ``real`` (B, C, H, W) in [-1, 1], with
        their labels ``y`` (B,) for a conditional GAN (both G and D see them; G draws the same
        labels as the real batch); returns the logged numbers: losses, D(x) and D(G(z)) before
        and after D's update."""
        real = real.to(self.device, non_blocking=True).contiguous(memory_format=self.mem_format)
        B = real.shape[0]
        if self.cfg.labels and y is None:
            raise ValueError("this GAN is conditional (labels=True): pass the batch's labels")
        cond = () if y is None else (y.to(self.device, non_blocking=True),)
        z = sample_z(B, self.cfg.nz, self.G.z_dist,
                     seeded_generator(self.cfg.seed, self.step, 2, self.rank), self.device)
        ones = torch.ones(B, device=self.device)
        zeros = torch.zeros(B, device=self.device)
        rec: dict = {}
        do_d = do_g = True
        if self.cfg.schedule == "alternating":  # authors: G on even updates, D on odd ones
            do_g = self.step % 2 == 0
            do_d = not do_g
        with self._autocast():
            fake = self.G_step(z, *cond)
        if do_d:
            self.optD.zero_grad(set_to_none=True)
            # one backward per D forward (DDP reduces once, after the second)
            with self._autocast(), dist_mod.no_sync(self.D_step):
                d_real = self.D_step(real, *cond).float()
                loss_real = self.loss(d_real, ones)
                loss_real.backward()
            with self._autocast():
                d_fake = self.D_step(fake.detach(), *cond).float()
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
                    d_fake2 = self.D(fake, *cond).float()  # the bare D, outside DDP
                loss_g = self.loss(d_fake2, ones)
                self.optG.zero_grad(set_to_none=True)
                loss_g.backward()
            finally:
                self.D.requires_grad_(True)
            self.optG.step()
            rec.update(loss_g=loss_g.item(), d_g_z2=torch.sigmoid(d_fake2).mean().item())
        return rec

    # -- the loop ----------------------------------------------------------------
    def sample(self, z: torch.Tensor | None = None, y: torch.Tensor | None = None
               ) -> torch.Tensor:
        """G(z) (or G(z, y)) for the fixed noise and labels (or ``z``, ``y``), with batch
        statistics as the authors sampled; (N, C, H, W) in [-1, 1] on the CPU."""
        z = self.fixed_z if z is None else z
        y = self.fixed_y if y is None else y
        cond = () if y is None else (y.to(self.device),)
        with torch.no_grad(), batch_stats(self.G):
            return self.G(z.to(self.device), *cond).float().cpu()

    def save_samples(self) -> Path:
        """Write the fixed-noise grid to ``samples/step-XXXXXXXX.png`` (atomically: out of
        space it is :class:`DiskFullError` naming the file, and no partial PNG is left)."""
        import io

        from torchvision.utils import save_image
        path = self.out / "samples" / f"step-{self.step:08d}.png"
        x = self.sample()
        nrow = self.ny if self.cfg.labels else int(math.sqrt(len(x))) or 1
        buf = io.BytesIO()
        save_image(x * 0.5 + 0.5, buf, format="png", nrow=nrow, padding=1)
        write_bytes_atomic(path, buf.getvalue())
        return path

    def fit(self, until_step: int | None = None) -> dict:
        """Train to ``total_steps`` (or ``until_step``); returns the last epoch record.

        SIGINT / SIGTERM (in the main thread) finish the current step, write a checkpoint and
        raise :class:`TrainingInterrupted` saying how many steps ran; a further signal while
        it stops neither cuts the step nor the checkpoint (it is deferred, with a note on
        stderr). Out of disk space raises :class:`DiskFullError` naming the file and the
        checkpoint kept. The run folder's lock is released on the way out.
        """
        end = min(self.total_steps, until_step) if until_step is not None else self.total_steps
        stop: dict = {"from": self.step}
        handlers = self._catch_signals(stop)
        try:
            self.folder.hold()
            return self._loop(end, stop)
        except DiskFullError as err:
            err.kept = self.folder.kept()
            raise
        finally:
            for sig, old in handlers.items():
                signal.signal(sig, old)
            self.folder.close()

    def _catch_signals(self, stop: dict) -> dict:
        """Route SIGINT and SIGTERM to ``stop["signal"]`` (checked after every step) for the
        whole of :meth:`fit`. A second signal is deferred: acting on it at once would cut the
        step or the stop checkpoint and lose the steps since the last one (``kill -9`` still
        stops at once; the atomic writes keep the last checkpoint whole)."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum, frame):
            if "signal" not in stop:
                stop["signal"] = signum
                return
            stop["again"] = stop.get("again", 0) + 1
            if stop["again"] == 1 and self.main:
                _note(("\n" if stop.get("bar") else "") +  # not at the end of the bar's line
                      f"{signal.Signals(signum).name} again: already stopping; the step in "
                      "flight finishes and its checkpoint is written first, then the run exits "
                      "(kill -9 would lose the steps since the last checkpoint)")

        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in handlers:
            signal.signal(s, handler)
        return handlers

    def _loop(self, end: int, stop: dict) -> dict:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        self.folder.write_config()
        bar = None
        if cfg.progress and self.main:
            from tqdm import tqdm
            bar = tqdm(total=end, initial=self.step, unit="step", dynamic_ncols=True)
            stop["bar"] = True
        last: dict = {}
        self.G.train()
        self.D.train()
        log = JsonlWriter(self.out / "log.jsonl") if self.main else None
        try:
            while self.step < end:
                epoch, start = divmod(self.step, self.steps_per_epoch)
                t0, first = time.perf_counter(), self.step
                self._set_lr(epoch)
                for real, y in self._batches(epoch, start):
                    rec = self.train_step(real, y)
                    self.step += 1
                    rec = {"step": self.step, "epoch": epoch, **rec}
                    if log is not None:
                        log.write(rec)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix({k: f"{v:.3f}" for k, v in rec.items()
                                         if k in ("loss_d", "loss_g", "d_x")})
                    epoch_end = self.step % self.steps_per_epoch == 0
                    if self.main and (self.step % cfg.sample_every == 0 or epoch_end
                                      or self.step == end):
                        self.save_samples()
                    if epoch_end:
                        last = self._end_epoch(epoch, self.step - first,
                                               time.perf_counter() - t0)
                    saved = self.step % cfg.checkpoint_every == 0 or epoch_end or self.step == end
                    if saved:
                        self.save()
                    if self._stopping(stop):
                        path = None if saved else self.save()
                        raise TrainingInterrupted(stop.get("signal", signal.SIGTERM), self.step,
                                                  path or self.folder.checkpoint_path(self.step),
                                                  ran=self.step - stop["from"])
                    if self.step >= end:
                        break
        finally:
            if log is not None:
                log.close()
            if bar is not None:
                bar.close()
        return last

    def _set_lr(self, epoch: int) -> None:
        """The learning rate of ``epoch`` (:func:`lr_at`) in both optimisers."""
        for opt in (self.optG, self.optD):
            for group in opt.param_groups:
                group["lr"] = lr_at(self.cfg, epoch, self.epochs_total)

    def _stopping(self, stop: dict) -> bool:
        """Whether a signal asked to stop; under torchrun every process agrees on it."""
        if self.world == 1:
            return "signal" in stop
        flag = torch.tensor([1.0 if "signal" in stop else 0.0], device=self.device)
        torch.distributed.all_reduce(flag)
        return flag.item() > 0

    def _end_epoch(self, epoch: int, steps: int, seconds: float) -> dict:
        """The per-epoch record (``epochs.jsonl``): time, images/s of the steps this process
        ran in the epoch (a resumed epoch counts only its own), quality, best.pt."""
        if not self.main:
            return {}
        rec = {"epoch": epoch + 1, "step": self.step, "lr": self.optG.param_groups[0]["lr"],
               "seconds": round(seconds, 2),
               "images_per_s": round(steps * self.cfg.batch_size * self.world / seconds, 1)}
        if self.evaluator is not None:
            rec.update(self.evaluator(self.G))
            self.G.train()
            rec.setdefault("quality", getattr(self.evaluator, "description", "fd"))
            if rec.get("fd", float("inf")) < self.best_fd:
                self.best_fd = rec["fd"]
                rec["best"] = True
                self.save("best.pt")
        else:
            rec["quality"] = "none (no measure for this dataset; best.pt is not written)"
        with JsonlWriter(self.out / "epochs.jsonl") as f:
            f.write(rec)
        return rec

    def close(self) -> None:
        """Release the run folder (also done at the end of :meth:`fit`)."""
        self.folder.close()


def _note(msg: str) -> None:
    """A line on stderr from a signal handler: ``print`` may find stderr's buffer busy (the
    progress bar writing when the signal came), then the line goes to the descriptor."""
    try:
        print(msg, file=sys.stderr, flush=True)
    except (RuntimeError, OSError, ValueError):
        try:
            os.write(2, (msg + "\n").encode())
        except OSError:
            pass


def _num_classes(dataset: Dataset) -> int:
    """Classes of a labelled dataset: ``classes`` if it has them, else the largest label + 1."""
    if getattr(dataset, "classes", None):
        return len(dataset.classes)
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) > 1:
        return int(dataset.tensors[-1].max()) + 1
    base = getattr(dataset, "dataset", None)  # a Subset
    if base is not None:
        return _num_classes(base)
    raise ConfigError("labels (--labels): cannot tell the number of classes of this dataset "
                      "(no `classes` and not a preloaded (images, labels) dataset)")


def time_steps(cfg: TrainConfig, dataset: Dataset, steps: int = 5, warmup: int = 1) -> float:
    """Seconds per :meth:`Trainer.train_step` of ``cfg`` on ``dataset`` on this machine
    (median of ``steps`` after ``warmup``), to choose a schedule that fits a time budget.
    Runs in a temporary folder; nothing is written under ``cfg.out``."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(dataclasses.replace(cfg, out=tmp, progress=False, quality="none"), dataset)
        batches = tr._batches(0, 0)
        times = []
        for s in range(warmup + steps):
            real, y = next(batches)
            t0 = time.perf_counter()
            tr.train_step(real, y)
            if tr.cuda:
                torch.cuda.synchronize()
            if s >= warmup:
                times.append(time.perf_counter() - t0)
            tr.step += 1
        tr.close()
    return sorted(times)[len(times) // 2]


def _as_rng_state(s):
    """``random.setstate`` wants tuples; a checkpoint may give lists back."""
    return tuple(_as_rng_state(x) for x in s) if isinstance(s, (list, tuple)) else s


def train(cfg: TrainConfig, dataset: Dataset | None = None, evaluator=None,
          resume: bool | str = False, overwrite: bool = False, announce: bool = False
          ) -> Trainer:
    """Build a :class:`Trainer`, run it to the end, return it. ``resume="auto"`` resumes when
    ``cfg.out`` holds a checkpoint and starts a new run otherwise (a finished run only loads).
    ``announce``: a run of :data:`LONG_RUN` steps or more first prints its length, timed
    (:func:`length_note`), on stderr."""
    if resume == "auto":
        resume = bool(list_checkpoints(cfg.out))
    tr = Trainer(cfg, dataset, evaluator, resume, overwrite)
    if announce and tr.main and tr.total_steps - tr.step >= LONG_RUN:
        tr.folder.say(length_note(tr))
    tr.fit()
    return tr


def repeat_runs(cfg: TrainConfig, dataset: Dataset, evaluator: Callable[[Generator], dict],
                seeds, variants: dict[str, dict] | None = None,
                per_epoch: bool = False) -> list[dict]:
    """Train ``cfg`` once per seed and per variant (name -> fields changed from ``cfg``; the
    default is ``cfg`` itself, named ``"paper"``), each in ``<cfg.out>/<variant>-seed<seed>``,
    and measure each generator before and after with ``evaluator``: the repeats that give a
    claim of section 4 its spread. A finished run in its folder is loaded, not retrained
    (``train(resume="auto")``). Returns one row per run: variant, seed, ``fd_untrained``,
    ``fd_final``, ``fd_floor``, ``gap_closed`` (:func:`dcgan_lib.metrics.gap_closed`) and
    ``seconds``. With ``per_epoch`` the trainer also measures every epoch's end with
    ``evaluator`` (written to ``epochs.jsonl``, kept across a resume, and picking ``best.pt``)
    and each row gets ``fd_epochs``, the Fréchet distance after epoch 1, 2, ..."""
    from .metrics import gap_closed
    variants = variants or {"paper": {}}
    rows = []
    for name, changes in variants.items():
        for seed in seeds:
            c = dataclasses.replace(cfg, **changes, seed=seed, quality="none", progress=False,
                                    out=str(Path(cfg.out) / f"{name}-seed{seed}"))
            t0 = time.perf_counter()
            tr = Trainer(c, dataset, evaluator if per_epoch else None,
                         resume=bool(list_checkpoints(c.out)), overwrite=True)
            torch.manual_seed(seed)       # the untrained generator of this seed, as a run inits it
            fd0 = evaluator(build_models(c, tr.nc, tr.ny)[0])["fd"]
            tr.fit()
            ev = evaluator(tr.G)
            rows.append({"variant": name, "seed": seed, "fd_untrained": fd0, "fd_final": ev["fd"],
                         "fd_floor": ev["fd_floor"],
                         "gap_closed": gap_closed(fd0, ev["fd"], ev["fd_floor"]),
                         "seconds": time.perf_counter() - t0})
            if per_epoch:
                rows[-1]["fd_epochs"] = [e["fd"] for e in read_jsonl(tr.out / "epochs.jsonl")]
    return rows


def config_from_dict(d: dict) -> TrainConfig:
    """A config from a dict whose keys must all be :class:`TrainConfig` fields."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    return TrainConfig(**d)
