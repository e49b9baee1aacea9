"""Data loading at LSUN scale (paper section 4.1: LSUN bedrooms, 3M images in one LMDB
database): synthetic photographs written into an LSUN-format LMDB database
(``prepare.write_lsun_lmdb``) and into an image folder, and the images/s of shuffled
``DataLoader`` passes over ``data.get_dataset("lsun" / "imagefolder", image_size=64)`` with
0, 1 and 2 workers.
"""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import interleaved, median, paired_ratio, sync
from dcgan_lib import data as data_mod

LOADER_SIZE = (256, 192)   # width, height of the synthetic photographs (LSUN: short side ~256)
LOADER_WORKERS = (0, 1, 2)
LOADER_BATCH = 128
LOADER_IMAGE_SIZE = 64


def synthetic_photos(n: int, fmt: str = "JPEG", size: tuple[int, int] = LOADER_SIZE,
                     quality: int = 75, seed: int = 0):
    """``n`` encoded images that compress and decode like photographs (a smooth random colour
    field with fine noise; about 12 kB as 256x192 JPEG at quality 75, LSUN's bedrooms average
    14 kB), yielded one at a time as bytes."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    w, h = size
    for _ in range(n):
        low = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        img = np.asarray(Image.fromarray(low).resize((w, h), Image.BICUBIC), np.int16)
        img = img + rng.integers(-12, 13, (h, w, 3), dtype=np.int16)
        buf = io.BytesIO()
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(buf, fmt, quality=quality)
        yield buf.getvalue()


def _loader_pass(ds, workers: int, device: torch.device, seed: int) -> int:
    """One shuffled pass of a DataLoader over ``ds`` (workers started inside: the trainer
    makes a new loader every epoch); returns the number of images delivered."""
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed)).tolist()
    loader = torch.utils.data.DataLoader(ds, batch_size=LOADER_BATCH, sampler=perm,
                                         num_workers=workers, pin_memory=device.type == "cuda",
                                         persistent_workers=False)
    n = 0
    for x, _ in loader:
        if device.type == "cuda":
            x = x.to(device, non_blocking=True)
        n += len(x)
    sync(device)
    if n != len(ds) or x.shape[1:] != (3, LOADER_IMAGE_SIZE, LOADER_IMAGE_SIZE):
        raise RuntimeError(f"loader pass delivered {n} of {len(ds)} images, last batch "
                           f"{tuple(x.shape)}")
    return n


def bench_loader(args, device: torch.device) -> list[dict]:
    """Loader images/s over an LSUN-format LMDB database and over an image folder holding the
    same JPEG files, for 0, 1 and 2 DataLoader workers; passes interleaved (rotating order)."""
    from dcgan_lib import prepare
    n, fmt = args.n_loader, args.loader_format
    ext = {"JPEG": "jpg", "WEBP": "webp"}[fmt]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="dcgan-loader-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        folder = tmp / "folder" / "bedroom"
        folder.mkdir(parents=True)
        files = []
        for i, b in enumerate(synthetic_photos(n, fmt)):
            files.append(folder / f"{i:07d}.{ext}")
            files[-1].write_bytes(b)
        sources: dict[str, tuple] = {}
        try:
            import lmdb  # noqa: F401
            db = tmp / "lsun" / "bedroom_train_lmdb"
            prepare.write_lsun_lmdb(files, db)  # the same bytes, keys in file order
            mib = sum(p.stat().st_size for p in db.iterdir()) / 2**20
            sources["LSUN LMDB (data.LMDBImages)"] = (
                data_mod.get_dataset("lsun", tmp / "lsun", LOADER_IMAGE_SIZE, 3), mib)
        except ImportError:
            print("\nskipped the LMDB loader rows: the lmdb package is not installed "
                  "(pip install lmdb)")
        mib = sum(p.stat().st_size for p in files) / 2**20
        sources["image folder (torchvision ImageFolder)"] = (
            data_mod.get_dataset("imagefolder", tmp / "folder", LOADER_IMAGE_SIZE, 3), mib)
        prep_s = time.perf_counter() - t0
        fns = {}
        for name, (ds, _) in sources.items():
            for w in LOADER_WORKERS:
                fns[(name, w)] = lambda ds=ds, w=w: _loader_pass(ds, w, device, 0)
        t = interleaved(fns, args.loader_repeats, 0, device, time.perf_counter)
        for ds, _ in sources.values():
            if hasattr(ds, "close"):
                ds.close()  # the LMDB environment, before its files are deleted
        for (name, w), secs in t.items():
            base = t[(name, 0)]
            rows.append({"loader": name, "workers": w, "images": n,
                         "MiB on disk": sources[name][1], "img/s": n / median(secs),
                         "vs 0 workers": paired_ratio(base, secs)})
    rows.sort(key=lambda r: (list(sources).index(r["loader"]), r["workers"]))
    if args.verbose:
        print(f"loader: wrote {n} images in {prep_s:.1f} s")
    return rows
