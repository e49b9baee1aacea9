"""Command line: ``dcgan train`` and ``dcgan sample``.

    dcgan train --dataset fashion-mnist --image-size 32 --epochs 5 --out runs/fmnist
    dcgan train --dataset fashion-mnist --image-size 32 --epochs 10 --out runs/fmnist --resume
    dcgan sample --checkpoint runs/fmnist/best.pt --num 64 --out samples.png
"""
from __future__ import annotations

import argparse
import sys

from . import data

TRAIN_HELP = {
    "dataset": f"dataset name: {', '.join(data.NAMES)}",
    "data_root": "folder holding the data (default $DCGAN_DATA or ~/.cache/dcgan_lib/data); "
                 "for imagefolder, the folder of images",
    "download": "let torchvision download the dataset when it is missing",
    "image_size": "image side in pixels, a power of two >= 16 (the paper: 64 for LSUN and "
                  "faces, 32 for ImageNet)",
    "channels": "1 (grey) or 3 (colour); default: the dataset's own",
    "limit": "use only the first N training images",
    "variant": "paper: the authors' code (5x5 kernels, per-unit BN projection, uniform z); "
               "torch: the PyTorch port (4x4 kernels, transposed-conv projection, normal z)",
    "nz": "size of z (paper: 100)",
    "ngf": "generator width: channels of its last hidden layer (doubling towards z)",
    "ndf": "discriminator width: channels of its first layer (doubling with depth)",
    "z_dist": "uniform (in [-1, 1], the paper) or normal; default: the variant's",
    "batch_size": "minibatch size (paper: 128)",
    "lr": "Adam learning rate (paper: 0.0002)",
    "beta1": "Adam beta1 (paper: 0.5)",
    "beta2": "Adam beta2 (0.999)",
    "schedule": "same-batch: D then G on one batch (PyTorch examples); alternating: one "
                "minibatch for G, the next for D (the authors' code)",
    "epochs": "passes over the data (may be fractional); give this or --steps",
    "steps": "number of updates; give this or --epochs",
    "seed": "seed of weights, data order and noise",
    "out": "run folder: checkpoints, log.jsonl, epochs.jsonl, samples/",
    "sample_every": "steps between sample grids from the fixed noise",
    "checkpoint_every": "steps between checkpoints (one is also written at every epoch end)",
    "keep_last": "how many step checkpoints to keep",
    "num_samples": "size of the fixed-noise sample grid",
    "device": "auto (cuda, then mps, then cpu), or a torch device name",
    "amp": "bf16 autocast on CUDA (--no-amp to turn off)",
    "channels_last": "channels-last (NHWC) memory format on CUDA and CPU, a few %% faster "
                     "(--no-channels-last to turn off)",
    "preload": "transform the dataset into memory once (--no-preload for large datasets)",
    "num_workers": "data loader worker processes (without --preload)",
    "progress": "tqdm progress bar with ETA (--no-progress to turn off)",
    "sync_bn": "SyncBatchNorm across processes under torchrun (CUDA only)",
    "compile": "torch.compile the networks (inductor): compiles for a while first; on a CPU "
               "no faster (README, Benchmarks)",
    "threads": "CPU threads for PyTorch (torch.set_num_threads); default: PyTorch's own (one "
               "per core). On a machine shared with other jobs 1 can be faster",
}


def _train_parser(sub) -> argparse.ArgumentParser:
    from dataclasses import fields

    from .train import TrainConfig

    p = sub.add_parser("train", help="train a DCGAN", description="Train a DCGAN (paper section 4).")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        help_ = TRAIN_HELP[f.name] + (f" (default: {default})" if default is not None else "")
        if isinstance(default, bool):
            p.add_argument(flag, default=default, action=argparse.BooleanOptionalAction, help=help_)
            continue
        typ = {"epochs": float, "steps": int, "limit": int, "channels": int, "threads": int}.get(
            f.name, type(default) if default is not None else str)
        kw = {}
        if f.name == "variant":
            kw["choices"] = ("paper", "torch")
        if f.name == "schedule":
            kw["choices"] = ("same-batch", "alternating")
        if f.name == "z_dist":
            kw["choices"] = ("uniform", "normal")
        if f.name == "dataset":
            kw["choices"] = data.NAMES
        p.add_argument(flag, type=typ, default=default, help=help_, **kw)
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the checkpoints already in --out")
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="dcgan", description="DCGAN reproduction tools")
    sub = ap.add_subparsers(dest="cmd", required=True)
    _train_parser(sub)
    s = sub.add_parser("sample", help="write a grid of samples from a checkpoint")
    s.add_argument("--checkpoint", required=True, help="a ckpt-*.pt or best.pt from dcgan train")
    s.add_argument("--num", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    s.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    args = ap.parse_args(argv)

    if args.cmd == "train":
        from .distributed import init_from_env
        from .train import TrainConfig, train
        init_from_env()  # under torchrun: one process per device, DistributedDataParallel
        opts = {k: v for k, v in vars(args).items() if k not in ("cmd", "resume", "overwrite")}
        cfg = TrainConfig(**opts)
        try:
            cfg.validate()
            tr = train(cfg, resume=args.resume, overwrite=args.overwrite)
        except (ValueError, FileNotFoundError, FileExistsError, RuntimeError, OSError) as err:
            print(f"dcgan train: error: {err}", file=sys.stderr)
            return 2
        print(f"done: {tr.step} steps; checkpoints and samples in {cfg.out}")
        return 0
    if args.cmd == "sample":
        import math

        from torchvision.utils import save_image

        from .metrics import generate
        from .train import load_generator
        if args.num < 1:
            print("dcgan sample: error: --num must be at least 1", file=sys.stderr)
            return 2
        try:
            G = load_generator(args.checkpoint)
        except (FileNotFoundError, RuntimeError) as err:
            print(f"dcgan sample: error: {err}", file=sys.stderr)
            return 2
        x = generate(G, args.num, args.seed, batch_size=max(2, min(args.num, 500)))
        save_image(x * 0.5 + 0.5, args.out, nrow=args.nrow or math.ceil(math.sqrt(args.num)),
                   padding=1)
        print(f"wrote {args.num} samples to {args.out}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
