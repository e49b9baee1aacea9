"""Command line: ``dcgan train``, ``dcgan sample`` and ``dcgan data`` (paper section 4).

    dcgan train --dataset fashion-mnist --image-size 32 --epochs 5 --out runs/fmnist
    dcgan train --out runs/fmnist --epochs 10 --resume
    dcgan sample --checkpoint runs/fmnist/best.pt --num 64 --out samples.png
    dcgan data cifar10 svhn --root ~/data          # fetch, check and convert (dcgan_lib.fetch)

Every option of ``dcgan train`` is a :class:`~dcgan_lib.train.TrainConfig` field: its help
text, default and range live there. A mistake in the input is one line on stderr and exit
code 2; a run that cannot go on (folder locked, nothing to resume, disk full) exits 1;
SIGINT / SIGTERM write a checkpoint and exit 130 / 143.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from . import fetch


def _train_parser(sub) -> argparse.ArgumentParser:
    from .train import TrainConfig

    p = sub.add_parser("train", help="train a DCGAN",
                       description="Train a DCGAN (paper section 4). With --resume, options "
                                   "not given are those of the run being resumed.")
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        help_ = f.metadata["help"].replace("%", "%%")
        if f.default is not None:
            help_ += f" (default: {f.default})"
        # SUPPRESS: only the options given on the command line appear in the namespace
        if "bool" in f.type:
            p.add_argument(flag, default=argparse.SUPPRESS,
                           action=argparse.BooleanOptionalAction, help=help_)
            continue
        typ = float if "float" in f.type else int if "int" in f.type else str
        p.add_argument(flag, type=typ, default=argparse.SUPPRESS, help=help_,
                       choices=f.metadata.get("choices"), metavar=f.name.upper()
                       if not f.metadata.get("choices") else None)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its newest readable checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (once the new one can start)")
    return p


def _sample_parser(sub) -> argparse.ArgumentParser:
    s = sub.add_parser("sample", help="write a grid of samples from a checkpoint")
    s.add_argument("--checkpoint", required=True, help="a ckpt-*.pt or best.pt from dcgan train")
    s.add_argument("--num", type=int, default=64,
                   help="number of samples (default 64; at most what fits in memory); a "
                        "conditional checkpoint draws NUM / classes per class, rounded up, "
                        "one row per class")
    s.add_argument("--out", required=True,
                   help="image file to write (.png, .jpg, ...), replaced if it exists")
    s.add_argument("--seed", type=int, default=0,
                   help=f"seed of the noise (default 0; 0 to {2**63 - 1})")
    s.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    s.add_argument("--label", type=int, default=None,
                   help="conditional checkpoint (dcgan train --labels) only: draw NUM samples "
                        "of this class (0 to classes - 1) instead of a grid of every class")
    return s


def _events(history) -> list[tuple]:
    """``(step, event)`` of each entry of a run's history (for telling which one is newer)."""
    if not isinstance(history, list):
        return []
    return [(h.get("step"), h.get("event")) for h in history if isinstance(h, dict)]


def requested_length(saved: dict, config_json: dict | None) -> dict:
    """``{"steps": ..., "epochs": ...}``: the length the newest start or resume of the run
    asked for. ``config.json`` is written before a run's first step, so when a resume that
    asked for more steps stopped before its first checkpoint (disk full, a signal, a crash)
    its history is newer than the checkpoint's, and its last recorded length wins."""
    length = {"steps": saved.get("steps"), "epochs": saved.get("epochs")}
    if not isinstance(config_json, dict):
        return length
    theirs, ours = _events(config_json.get("history")), _events(saved.get("history"))
    if len(theirs) <= len(ours) or theirs[:len(ours)] != ours:
        return length  # not newer than the checkpoint, or of another run
    for event in reversed(config_json["history"]):
        if isinstance(event, dict) and ("steps" in event or "epochs" in event):
            return {"steps": event.get("steps"), "epochs": event.get("epochs")}
    return {"steps": config_json.get("steps"), "epochs": config_json.get("epochs")}


def resume_config(out: str, given: dict):
    """The config of a resumed run: the newest readable checkpoint's (else config.json's),
    with the options given on the command line on top; None when there is nothing to read.
    The run's length, when not given, is the one its newest start or resume asked for
    (:func:`requested_length`), not an older one the checkpoint was written under."""
    import json

    from .checkpoint import CheckpointError
    from .train import TrainConfig, list_checkpoints, load_checkpoint
    saved = history = None
    for path in reversed(list_checkpoints(out)):
        try:  # the checkpoint Trainer.resume will take: the newest that passes its checks
            ck = load_checkpoint(path, resume=True)
            saved, history = ck["config"], ck.get("history")
            break
        except CheckpointError:
            continue
    config_json = None
    if (Path(out) / "config.json").is_file():
        try:
            config_json = json.loads((Path(out) / "config.json").read_text())
        except (ValueError, OSError):
            config_json = None
    if saved is None and isinstance(config_json, dict):
        saved, history = config_json, config_json.get("history")
    if not isinstance(saved, dict):
        return None
    if "epochs" in given or "steps" in given:  # the run's length is given anew
        saved = {**saved, "epochs": None, "steps": None}
    else:
        saved = {**saved, **requested_length({**saved, "history": history}, config_json)}
    return TrainConfig.from_dict({**saved, **given})


def _train(args) -> int:
    from .checkpoint import NO_SPACE, RunFolderError
    from .distributed import init_from_env
    from .train import ConfigError, TrainConfig, TrainingInterrupted, train
    given = {k: v for k, v in vars(args).items()
             if k not in ("cmd", "resume", "overwrite", "as_program")}
    if args.resume and args.overwrite:
        return _error("train", "--resume and --overwrite exclude each other: --resume continues "
                      "the run in --out, --overwrite replaces it")
    try:
        cfg = None
        if args.resume:
            cfg = resume_config(given.get("out", TrainConfig.out), given)
        cfg = cfg or TrainConfig(**given)
        cfg.validate()
        init_from_env()  # under torchrun: one process per device, DistributedDataParallel
        tr = train(cfg, resume=args.resume, overwrite=args.overwrite, announce=True)
    except TrainingInterrupted as stop:
        if getattr(args, "as_program", False):  # the checkpoint is written: more Ctrl-C's
            _ignore_signals()                    # must not cut the exit short
        print(f"dcgan train: {stop}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        # once training has started a signal ends in TrainingInterrupted (above), never here
        print("dcgan train: interrupted before the first step (while setting up); no step ran "
              "and no checkpoint was written", file=sys.stderr)
        return 130
    except RunFolderError as err:  # locked, nothing to resume, disk full, unreadable file
        return _error("train", err, code=1)
    except OSError as err:
        if err.errno in NO_SPACE:  # out of space outside the run folder's own writes
            return _error("train", _no_space(err), code=1)
        return _error("train", err)
    except (ConfigError, ValueError, FileNotFoundError, FileExistsError) as err:
        return _error("train", err)
    print(f"done: {tr.step} steps; checkpoints and samples in {cfg.out}")
    return 0


def _sample(args) -> int:
    """``dcgan sample``: every option and --out checked, then the checkpoint (checked by
    :func:`~dcgan_lib.train.load_checkpoint`), then the memory the grid needs; the image is
    written atomically (an old file at --out stays whole until the new one is complete)."""
    import io
    import math
    import os

    from PIL import Image
    from torchvision.utils import save_image

    from .checkpoint import DiskFullError, RunFolderError, write_bytes_atomic
    from .metrics import generate
    from .models import available_memory
    from .train import MAX_SEED, estimate_sample_memory, load_models
    out = Path(args.out)
    if args.num < 1:
        return _error("sample", f"--num must be at least 1, got {args.num}")
    if args.nrow is not None and args.nrow < 1:
        return _error("sample", f"--nrow must be at least 1, got {args.nrow}")
    if not 0 <= args.seed <= MAX_SEED:
        return _error("sample", f"--seed must be from 0 to {MAX_SEED} (2**63 - 1), got "
                      f"{args.seed}")
    if args.label is not None and args.label < 0:
        return _error("sample", f"--label must be a class number, 0 or more, got {args.label}")
    if not args.out.strip() or out.is_dir():
        return _error("sample", f"--out {args.out!r} is a folder, not an image file; give a "
                      "file name such as samples.png")
    if not out.parent.is_dir():
        return _error("sample", f"--out {out}: the folder {out.parent} does not exist; create "
                      "it first or write elsewhere")
    known = Image.registered_extensions()
    fmt = known.get(out.suffix.lower())
    if fmt not in Image.SAVE:
        return _error("sample", f"--out {out}: unknown image type {out.suffix or '(none)'!r}; "
                      "end the name with .png, .jpg or .webp")
    probe = out.with_name(f".{out.name}.probe{os.getpid()}")
    try:  # can a file be written there (a read-only disk, /proc, no permission)?
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        probe.unlink()
    except OSError as err:
        return _error("sample", f"--out {out}: cannot write in {out.parent} ({err.strerror}); "
                      "write elsewhere")
    try:
        G, _, cfg = load_models(args.checkpoint)
    except (FileNotFoundError, RunFolderError) as err:
        return _error("sample", err)
    ny = getattr(G, "ny", 0) if cfg.labels else 0
    if args.label is not None and not ny:
        return _error("sample", f"--label {args.label}: {args.checkpoint} is unconditional "
                      "(trained without --labels); leave --label out")
    if args.label is not None and args.label >= ny:
        return _error("sample", f"--label must be from 0 to {ny - 1} ({args.checkpoint} has "
                      f"{ny} classes), got {args.label}")
    per_class = math.ceil(args.num / ny) if ny and args.label is None else None
    n = per_class * ny if per_class else args.num
    need = estimate_sample_memory(cfg, G.nc, ny, n, 500)
    free = available_memory()
    if need > free:
        return _error("sample", f"--num {args.num}: {n:,} samples and their grid need about "
                      f"{need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB available on this "
                      "machine; ask for fewer")
    if ny:
        from .conditional import sample_classes
        x = sample_classes(G, args.num if args.label is not None else per_class, args.seed,
                           args.label)
    else:
        x = generate(G, n, args.seed, batch_size=max(2, min(n, 500)))
    nrow = args.nrow or per_class or math.ceil(math.sqrt(n))
    buf = io.BytesIO()
    try:
        save_image(x * 0.5 + 0.5, buf, format=fmt, nrow=nrow, padding=1)
        write_bytes_atomic(out, buf.getbuffer())
    except DiskFullError as err:
        return _error("sample", f"no space left on the device writing {out}: it needs "
                      f"{err.needed / 2**20:.1f} MB, {err.free / 2**20:.1f} MB free; nothing was "
                      "overwritten", code=1)
    except (OSError, ValueError) as err:
        return _error("sample", f"--out {out}: cannot write it ({err}); write elsewhere or "
                      "ask for fewer samples")
    what = (f" of class {args.label}" if args.label is not None else
            f" ({per_class} per class, one row per class)" if ny else "")
    print(f"wrote {n} samples{what} to {out}")
    return 0


def _ignore_signals() -> None:
    """Ignore SIGINT and SIGTERM from here to the exit (a stopped run's last lines)."""
    import signal
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except ValueError:  # not the main thread
            pass


def _no_space(err: OSError) -> str:
    """One line for an out-of-space ``OSError``: the file, the space free there, what to do."""
    import shutil
    where = Path(err.filename) if err.filename else None
    try:
        free = shutil.disk_usage(where.parent if where else ".").free
        room = f"{free / 2**20:.1f} MB free"
    except OSError:
        room = "free space unknown"
    return (f"no space left on the device writing {where or '(unnamed file)'} ({room}); "
            "the run's checkpoints are as they were. Free some space, then run the same "
            "command again (with --resume if a checkpoint was written)")


def _error(cmd: str, err, code: int = 2) -> int:
    print(f"dcgan {cmd}: error: {err}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="dcgan", description="DCGAN reproduction tools")
    sub = ap.add_subparsers(dest="cmd", required=True)
    _train_parser(sub)
    _sample_parser(sub)
    fetch.add_parser(sub)
    args = ap.parse_args(argv)
    lists = ("names", "sizes")  # the only options that take several values
    odd = [k for k, v in vars(args).items() if isinstance(v, list) and k not in lists]
    if odd:  # argparse turns "--label=--" into an empty list instead of refusing it
        flag = "--" + odd[0].replace("_", "-")
        return _error(args.cmd, f"{flag} needs a value after it, got '--'; e.g. {flag}=3")
    args.as_program = argv is None  # the process's own command line, not a call from Python
    return {"train": _train, "sample": _sample, "data": fetch.run}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
