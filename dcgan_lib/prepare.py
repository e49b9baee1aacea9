"""Preparing the paper's datasets (section 4: 4.1 LSUN bedrooms, 4.2 faces, 4.3 ImageNet-1k).

**ImageNet-1k** (section 4.3: "min-resized center crops", no augmentation). :func:`prepare_folder`
converts an extracted ImageNet (``<src>/train/<wnid>/*.JPEG`` and ``<src>/val/<wnid>/*.JPEG``,
torchvision's ``ImageFolder`` layout) once into uint8 arrays of min-resized centre crops, one
``.npy`` file per split and size, which :class:`PreparedImages` streams through a memory map::

    python -m dcgan_lib.prepare imagenet /data/ILSVRC2012 ~/.cache/dcgan_lib/data/imagenet \
        --sizes 32 64 --workers 16

gives ``<out>/32px/train/{images.npy, labels.npy, index.json, ...}`` and the same for
``64px`` and ``val`` (1.28M training images: 3.9 GB at 32x32, 15.7 GB at 64x64), stored in a
fixed shuffled order so that the first N images are a sample of all classes. Each source image is
decoded once for all sizes; each size is resized from the source image (shorter side to the
size, bilinear with antialiasing, then a centre crop: the same as ``data.image_transform``).
The conversion is resumable: every ``chunk`` images the arrays are flushed and a progress file
is replaced atomically, so an interrupted run continues from the last finished chunk when
started again with the same arguments. ``index.json`` is written last; a split without it is
not finished and is never read.

**CelebA** (our stand-in for the authors' scraped faces). torchvision reads it from
``<root>/celeba/``; its Google Drive download often fails (quota), and the files people then
fetch by hand are often not the ones torchvision checks. :func:`check_celeba` says exactly
what is missing or wrong, and :func:`celeba_manual_instructions` explains the manual set-up.

**LSUN bedrooms** come only as LMDB databases from the LSUN project (torchvision cannot
download them). :func:`check_lsun` and :func:`lsun_instructions` say where to get them.
:func:`write_lsun_lmdb` writes images into a database of the same format (keys = image ids,
values = the encoded image bytes), which ``data.get_dataset("lsun", ...)`` and
:class:`dcgan_lib.data.LMDBImages` read and stream, e.g. to pack a folder of images into one
file for a fast disk or a network file system::

    python -m dcgan_lib.prepare lmdb /data/my_bedrooms ~/.cache/dcgan_lib/data/bedroom_train_lmdb
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
from collections.abc import Iterable
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets import CelebA
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset
from torchvision.datasets.utils import check_integrity
from torchvision.transforms import functional as TF

SIZES = (32, 64)
SPLITS = ("train", "val")
FORMAT = "dcgan_lib-prepared-v1"


# ---------------------------------------------------------------- conversion
def min_resize_center_crop(img: Image.Image, size: int) -> np.ndarray:
    """Shorter side to ``size`` (bilinear, antialiased), centre crop: (3, size, size) uint8."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    img = TF.center_crop(TF.resize(img, size), size)
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def _load(job: tuple[str, tuple[int, ...]]) -> list[np.ndarray]:
    """Decode one source image and return its crop at every size (runs in worker processes)."""
    path, sizes = job
    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            img.load()
    except Exception as err:  # PIL raises several types for broken files
        raise OSError(f"prepare: cannot read image {path} ({type(err).__name__}: {err}). "
                      "Remove or replace the file and run the same command again: the "
                      "conversion resumes from the last finished chunk.") from None
    return [min_resize_center_crop(img, s) for s in sizes]


def list_split(src: str | Path, split: str) -> tuple[list[tuple[str, int]], list[str]]:
    """``(samples, classes)`` of ``<src>/<split>`` in ``ImageFolder`` order (sorted)."""
    folder = Path(src) / split
    if not folder.is_dir():
        raise FileNotFoundError(f"prepare: no folder {folder}")
    try:
        classes, class_to_idx = find_classes(folder)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"prepare: {folder} has no class sub-folders ({err}). The ImageNet validation "
            "images ship as one flat folder: sort them into <val>/<wnid>/ folders first (the "
            "ILSVRC 'valprep.sh' script or LOC_val_solution.csv do this).") from None
    samples = make_dataset(folder, class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)
    if not samples:
        raise FileNotFoundError(f"prepare: no images ({', '.join(IMG_EXTENSIONS)}) under {folder}")
    return samples, classes


def _fingerprint(samples: list[tuple[str, int]], root: Path) -> str:
    """Identifies the list of source files and labels (not their contents)."""
    h = hashlib.sha1()
    for path, label in samples:
        h.update(f"{os.path.relpath(path, root)}\t{label}\n".encode())
    return h.hexdigest()


def _write_json(obj: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def split_dir(out: str | Path, size: int, split: str) -> Path:
    """Where one prepared split lives: ``<out>/<size>px/<split>/``."""
    return Path(out) / f"{size}px" / split


def prepare_split(src: str | Path, out: str | Path, split: str = "train",
                  sizes: tuple[int, ...] = SIZES, chunk: int = 4096, workers: int = 0,
                  progress: bool = True, limit: int | None = None,
                  shuffle: bool = True) -> dict:
    """Convert ``<src>/<split>`` into ``<out>/<size>px/<split>/`` for every size (resumable).

    Returns ``{"split", "n", "classes", "sizes", "skipped"}``; ``skipped`` is True when every
    size was already complete. ``limit`` converts only the first N images (in sorted order).
    With ``shuffle`` (default) the images are stored in a fixed random order (seed 0), so that
    the first N of a prepared split are a sample of all classes (``limit=`` in the trainer
    and the classifier take the first N); ``source_index.npy`` gives each stored image's
    position in the sorted listing and ``files.txt`` its path.
    """
    src, out = Path(src), Path(out)
    sizes = tuple(int(s) for s in sizes)
    if not sizes or min(sizes) < 1:
        raise ValueError(f"prepare: sizes must be positive integers, got {sizes}")
    samples, classes = list_split(src, split)
    if limit is not None:
        samples = samples[:limit]
    n = len(samples)
    finger = _fingerprint(samples, src / split) + ("-shuffled" if shuffle else "")
    order = np.random.default_rng(0).permutation(n) if shuffle else np.arange(n)
    samples = [samples[j] for j in order]
    todo = []
    for s in sizes:
        idx = split_dir(out, s, split) / "index.json"
        if idx.exists() and json.loads(idx.read_text()).get("fingerprint") == finger:
            continue
        todo.append(s)
    summary = {"split": split, "n": n, "classes": len(classes), "sizes": sizes,
               "skipped": not todo}
    if not todo:
        if progress:
            print(f"prepare: {split} already complete at {sizes} px in {out}")
        return summary
    todo = tuple(todo)
    out.mkdir(parents=True, exist_ok=True)
    prog_path = out / f".progress-{split}.json"
    done = 0
    if prog_path.exists():
        prog = json.loads(prog_path.read_text())
        same_images = prog.get("fingerprint") == finger
        if same_images and tuple(prog["sizes"]) != todo and prog["done"] == n \
                and set(todo) <= set(prog["sizes"]):
            todo = tuple(prog["sizes"])  # interrupted while finalising: finish every size
        if not same_images or tuple(prog["sizes"]) != todo:
            raise RuntimeError(
                f"prepare: {out} holds an unfinished conversion of '{split}' made from other "
                f"images or sizes (sizes {prog.get('sizes')}, {prog.get('n')} images; now "
                f"{list(todo)}, {n} images). Run the same command as before to finish it, or "
                f"delete {prog_path} and the images.npy.partial files to start over.")
        done = prog["done"]
    parts = {s: split_dir(out, s, split) / "images.npy.partial" for s in todo}
    arrays = {}
    for s, p in parts.items():
        if done == n:
            break
        p.parent.mkdir(parents=True, exist_ok=True)
        if done == 0:
            arrays[s] = np.lib.format.open_memmap(p, mode="w+", dtype=np.uint8,
                                                  shape=(n, 3, s, s))
            continue
        if not p.exists():
            raise RuntimeError(f"prepare: {p} is missing but {prog_path} says {done} images "
                               f"were converted; delete {prog_path} to start over")
        arrays[s] = np.lib.format.open_memmap(p, mode="r+")
        if arrays[s].shape != (n, 3, s, s):
            raise RuntimeError(f"prepare: {p} has shape {arrays[s].shape}, expected "
                               f"{(n, 3, s, s)}; delete it and {prog_path} to start over")

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n, initial=done, unit="img", dynamic_ncols=True,
                   desc=f"{split} -> {'/'.join(map(str, todo))}px")
    pool = Pool(workers) if workers and workers > 1 else None
    try:
        while done < n:
            end = min(done + chunk, n)
            jobs = [(samples[i][0], todo) for i in range(done, end)]
            results = pool.imap(_load, jobs, chunksize=16) if pool else map(_load, jobs)
            for i, crops in enumerate(results, start=done):
                for s, crop in zip(todo, crops):
                    arrays[s][i] = crop
                if bar is not None:
                    bar.update(1)
            for a in arrays.values():
                a.flush()
            done = end
            _write_json({"fingerprint": finger, "done": done, "n": n, "sizes": list(todo)},
                        prog_path)
    finally:
        if pool is not None:
            pool.terminate()
        if bar is not None:
            bar.close()
    arrays.clear()  # close the memory maps before renaming

    labels = np.asarray([lab for _, lab in samples], dtype=np.int64)
    files = "".join(os.path.relpath(path, src / split) + "\n" for path, _ in samples)
    for s in todo:
        d = split_dir(out, s, split)
        for name, arr in (("labels", labels), ("source_index", order.astype(np.int64))):
            np.save(d / f".{name}.tmp.npy", arr)
            os.replace(d / f".{name}.tmp.npy", d / f"{name}.npy")
        (d / ".files.txt.tmp").write_text(files)
        os.replace(d / ".files.txt.tmp", d / "files.txt")
        if parts[s].exists():
            os.replace(parts[s], d / "images.npy")
        elif not (d / "images.npy").exists():
            raise RuntimeError(f"prepare: neither {parts[s]} nor {d / 'images.npy'} exists; "
                               f"delete {prog_path} to start over")
        _write_json({"format": FORMAT, "split": split, "n": n, "size": s, "channels": 3,
                     "layout": "NCHW uint8", "classes": classes, "source": str(src / split),
                     "fingerprint": finger, "order": "shuffled (seed 0)" if shuffle else "sorted",
                     "transform": "min-resize (bilinear, antialias) + centre crop"},
                    d / "index.json")
    prog_path.unlink(missing_ok=True)
    return summary


def prepare_folder(src: str | Path, out: str | Path, sizes: tuple[int, ...] = SIZES,
                   splits: tuple[str, ...] = SPLITS, chunk: int = 4096, workers: int = 0,
                   progress: bool = True, limit: int | None = None,
                   shuffle: bool = True) -> list[dict]:
    """Prepare every split of ``splits`` found under ``src`` (ImageNet: train and val)."""
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"prepare: source folder {src} does not exist")
    found = [s for s in splits if (src / s).is_dir()]
    if not found:
        raise FileNotFoundError(
            f"prepare: none of the split folders {', '.join(splits)} exists under {src}; "
            "expected <src>/train/<class>/*.JPEG (ImageNet as extracted: ILSVRC/Data/CLS-LOC)")
    return [prepare_split(src, out, s, sizes, chunk, workers, progress, limit, shuffle)
            for s in found]


# ---------------------------------------------------------------- reading
class PreparedImages(Dataset):
    """A prepared split (``<out>/<size>px/<split>/``) as ``(image in [-1, 1], label)``.

    The images stay on disk: the array is memory-mapped on first access (in each DataLoader
    worker separately) and never loaded whole. ``channels=1`` converts to grey with the
    ITU-R 601 weights PIL uses for mode "L" (to within rounding).
    """

    def __init__(self, folder: str | Path, channels: int = 3):
        self.folder = Path(folder)
        index = self.folder / "index.json"
        if not index.exists():
            unfinished = any(self.folder.parent.parent.glob(".progress-*.json")) or \
                (self.folder / "images.npy.partial").exists()
            state = ("its conversion is unfinished: run the same prepare command again to "
                     "resume it") if unfinished else \
                "run `python -m dcgan_lib.prepare imagenet <extracted ImageNet> <out>` first"
            raise FileNotFoundError(f"prepared data: no {index} ({state}).")
        self.index = json.loads(index.read_text())
        if self.index.get("format") != FORMAT:
            raise RuntimeError(f"prepared data: {index} is not a {FORMAT} index; prepare again")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.channels = channels
        self.labels = torch.from_numpy(np.load(self.folder / "labels.npy"))
        self.source_index = np.load(self.folder / "source_index.npy")
        self.classes = self.index["classes"]
        self._images = None
        n, s = self.index["n"], self.index["size"]
        expected = (n, 3, s, s)
        shape = np.load(self.folder / "images.npy", mmap_mode="r").shape
        if shape != expected or len(self.labels) != n:
            raise RuntimeError(f"prepared data: {self.folder} holds images {shape} and "
                               f"{len(self.labels)} labels, index.json says {expected}; "
                               "prepare again")

    @property
    def images(self) -> np.ndarray:
        """The split's images, (N, 3, size, size) uint8, memory-mapped (opened on first use,
        in each process)."""
        if self._images is None:
            self._images = np.load(self.folder / "images.npy", mmap_mode="r")
        return self._images

    def __getstate__(self):  # pickling (DataLoader with spawn) must not copy the array
        st = dict(self.__dict__)
        st["_images"] = None
        return st

    def __len__(self) -> int:
        return self.index["n"]

    def __getitem__(self, i: int):
        x = torch.from_numpy(np.array(self.images[i], dtype=np.float32))
        if self.channels == 1:
            x = (x * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0, keepdim=True)
        return x / 127.5 - 1, int(self.labels[i])


def prepared_dataset(root: str | Path, image_size: int = 32, split: str = "train",
                     channels: int = 3) -> PreparedImages:
    """The prepared split at ``<root>/<image_size>px/<split>`` (``test`` means ``val``)."""
    split = {"test": "val"}.get(split, split)
    return PreparedImages(split_dir(root, image_size, split), channels)


def check_prepared(out: str | Path, size: int, splits: tuple[str, ...] = SPLITS) -> list[str]:
    """Problems that stop :func:`prepared_dataset` from reading ``<out>/<size>px/<split>``."""
    problems = []
    for split in splits:
        d = split_dir(out, size, split)
        if not (d / "index.json").exists():
            unfinished = (Path(out) / f".progress-{split}.json").exists()
            problems.append(f"no finished {size}x{size} '{split}' split in {d}" +
                            (" (a conversion was interrupted: run it again to resume)"
                             if unfinished else ""))
    return problems


def _printable(text: str) -> str:
    """Instructions as printed (and published in the book): paths under the repository, the
    data root or the home folder written without the machine's folders
    (:func:`dcgan_lib.book.shorten_paths`)."""
    from .book import shorten_paths
    return shorten_paths(text)


def imagenet_instructions(out: str | Path, size: int = 32) -> str:
    """How to prepare ImageNet-1k for the book, and what is missing under ``out`` now."""
    problems = check_prepared(out, size)
    state = "Everything the loader needs is in place." if not problems else \
        "Missing now:\n" + "\n".join(f"  - {p}" for p in problems)
    return _printable(
        "ImageNet-1k (ILSVRC2012) as min-resized centre crops:\n"
        "  1. Download the training and validation archives from image-net.org (an account is\n"
        "     needed) and extract them into <src>/train/<wnid>/*.JPEG and <src>/val/<wnid>/*.JPEG\n"
        "     (sort the flat validation folder into classes with the ILSVRC valprep.sh script).\n"
        f"  2. python -m dcgan_lib.prepare imagenet <src> {out} --sizes 32 64\n"
        "     (resumable: run the same command again after an interruption).\n"
        f"{state}")


# ---------------------------------------------------------------- CelebA
CELEBA_TEXT_FILES = {name: md5 for _, md5, name in CelebA.file_list if name.endswith(".txt")}
CELEBA_IMAGES = 202_599


def check_celeba(root: str | Path) -> list[str]:
    """Problems that stop ``torchvision.datasets.CelebA(root)`` from loading; [] when none.

    torchvision wants ``<root>/celeba/img_align_celeba/*.jpg`` and the five annotation files
    ``<root>/celeba/*.txt``, each with the MD5 of the official release.
    """
    root = Path(root)
    base = root / CelebA.base_folder
    problems = []
    if not base.is_dir():
        if (root / "img_align_celeba").is_dir():
            return [f"the files are in {root} but torchvision looks in {base}: move "
                    "img_align_celeba/ and the .txt files into a folder named 'celeba' there"]
        return [f"no folder {base}"]
    img = base / "img_align_celeba"
    if not img.is_dir():
        if (base / "img_align_celeba.zip").exists():
            problems.append(f"{base / 'img_align_celeba.zip'} is not extracted: run "
                            f"`unzip img_align_celeba.zip` inside {base}")
        else:
            problems.append(f"no image folder {img} (img_align_celeba.zip, 1.4 GB, unzipped)")
    else:
        if (img / "img_align_celeba").is_dir():
            problems.append(f"the images are one level too deep ({img / 'img_align_celeba'}): "
                            f"move them up into {img}")
        else:
            n = sum(1 for e in os.scandir(img) if e.name.endswith(".jpg"))
            if n == 0:
                problems.append(f"{img} holds no .jpg images")
            elif n != CELEBA_IMAGES:
                problems.append(f"{img} holds {n} .jpg images, the release has {CELEBA_IMAGES} "
                                "(an incomplete unzip? torchvision will fail on missing ones)")
    for name, md5 in CELEBA_TEXT_FILES.items():
        path = base / name
        if not path.exists():
            csv = base / (Path(name).stem + ".csv")
            hint = (f" ({csv.name} is there: that is a re-export, e.g. Kaggle's, which "
                    "torchvision does not read; get the original .txt)") if csv.exists() else ""
            problems.append(f"missing {path}{hint}")
        elif not check_integrity(str(path), md5):
            problems.append(f"{path} differs from the official file (MD5 {md5} expected): "
                            "download it again from the official folders (a copy with Windows "
                            "line endings or re-saved by a spreadsheet fails this check)")
    return problems


def celeba_manual_instructions(root: str | Path) -> str:
    """How to set up CelebA by hand for torchvision, and what is missing under ``root`` now."""
    base = Path(root) / CelebA.base_folder
    problems = check_celeba(root)
    state = "Everything torchvision needs is in place." if not problems else \
        "Missing or wrong now:\n" + "\n".join(f"  - {p}" for p in problems)
    return _printable(
        "CelebA by hand (when `download=True` fails with a Google Drive quota error):\n"
        "  1. From the CelebA page (mmlab.ie.cuhk.edu.hk/projects/CelebA.html), 'Align&Cropped\n"
        "     Images' -> Img/img_align_celeba.zip, and from Anno/: list_attr_celeba.txt,\n"
        "     identity_CelebA.txt, list_bbox_celeba.txt, list_landmarks_align_celeba.txt;\n"
        "     from Eval/: list_eval_partition.txt.\n"
        f"  2. Put them all in {base}/ and unzip the images there, so that\n"
        f"     {base}/img_align_celeba/000001.jpg exists (202,599 images).\n"
        "  3. Keep the .txt files byte for byte: torchvision checks their MD5.\n"
        f"{state}")


# ---------------------------------------------------------------- LSUN
def check_lsun(root: str | Path, category: str = "bedroom",
               splits: tuple[str, ...] = ("train", "val")) -> list[str]:
    """Problems that stop ``data.get_dataset("lsun", root, category=category)`` (and
    ``torchvision.datasets.LSUN(root, [f"{category}_{split}"])``)."""
    root = Path(root)
    problems = []
    try:
        import lmdb  # noqa: F401
    except ImportError:
        problems.append("the lmdb package is not installed: pip install lmdb "
                        "(or pip install 'dcgan_lib[lsun]')")
    for split in splits:
        db = root / f"{category}_{split}_lmdb"
        if not (db / "data.mdb").exists():
            zip_ = root / f"{category}_{split}_lmdb.zip"
            if zip_.exists():
                problems.append(f"{zip_} is not extracted: run `unzip {zip_.name}` in {root}")
            else:
                problems.append(f"no LMDB database {db}/data.mdb")
    return problems


def lsun_instructions(root: str | Path, category: str = "bedroom") -> str:
    """Where the LSUN LMDB files come from, and what is missing under ``root`` now."""
    problems = check_lsun(root, category)
    state = "Everything the LSUN reader needs is in place." if not problems else \
        "Missing now:\n" + "\n".join(f"  - {p}" for p in problems)
    return _printable(
        f"LSUN {category}s (torchvision cannot download LSUN):\n"
        "  1. Get the LSUN project's download script (github.com/fyu/lsun, download.py) and run\n"
        f"     `python download.py -c {category}`: it fetches {category}_train_lmdb.zip "
        "(bedrooms: about 43 GB,\n"
        f"     3,033,042 images) and {category}_val_lmdb.zip (300 images).\n"
        f"  2. Unzip both in {root}/ so that {root}/{category}_train_lmdb/data.mdb exists.\n"
        "  3. pip install lmdb. The first use lists the database's keys (minutes for 3M keys)\n"
        "     and caches them in ~/.cache/dcgan_lib/lmdb-keys/ (renewed when the database\n"
        "     changes). A folder of your own images: python -m dcgan_lib.prepare lmdb <folder>\n"
        f"     {root}/{category}_train_lmdb\n"
        f"{state}")


def _encoded(item, fmt: str, quality: int) -> bytes:
    """The stored bytes of one image: a file's bytes or ``bytes`` as they are (checked to be
    an image PIL can open), a PIL image or a uint8 array (H x W or H x W x C) encoded."""
    if isinstance(item, (str, os.PathLike)):
        item = Path(item).read_bytes()
    if isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
        try:
            Image.open(io.BytesIO(data)).verify()
        except Exception as err:
            raise OSError(f"not an image PIL can read ({type(err).__name__}: {err})") from None
        return data
    if isinstance(item, np.ndarray):
        item = Image.fromarray(np.ascontiguousarray(item, dtype=np.uint8))
    if not isinstance(item, Image.Image):
        raise TypeError(f"cannot store a {type(item).__name__} as an image")
    if fmt.upper() in ("JPEG", "JPG") and item.mode not in ("RGB", "L"):
        item = item.convert("RGB")
    buf = io.BytesIO()
    item.save(buf, format=fmt, quality=quality)
    return buf.getvalue()


def write_lsun_lmdb(images: Iterable, path: str | Path, keys: Iterable[bytes | str] | None = None,
                    fmt: str = "JPEG", quality: int = 90, overwrite: bool = False,
                    commit_every: int = 1000) -> int:
    """Write ``images`` into a new LMDB database at ``path`` in LSUN's format; returns the
    number of images written.

    The format is the one the LSUN project ships and torchvision's ``LSUN`` and
    :class:`dcgan_lib.data.LMDBImages` read: a folder ``path`` holding ``data.mdb`` and
    ``lock.mdb``, one entry per image, key = the image's id (bytes), value = the encoded image
    file. Name the folder ``<root>/<category>_<split>_lmdb`` (e.g. ``bedroom_train_lmdb``) for
    ``data.get_dataset("lsun", root, category=...)`` to find it.

    ``images``: paths of image files or ``bytes`` (stored unchanged: JPEG, WebP, PNG, ...), PIL
    images or uint8 arrays (encoded as ``fmt`` with ``quality``), streamed (any iterable).
    ``keys``: one per image; by default the zero-padded position (``0000000000``, ...), so
    that LMDB's sorted key order, the datasets' index order, is the order given. The database
    is written under ``<path>.partial`` and renamed when complete (removed on an error), so an
    interrupted run never leaves a database that looks whole; ``overwrite`` replaces an
    existing ``path``.
    """
    import lmdb
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    tmp = path.with_name(path.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    key_iter = iter(keys) if keys is not None else None
    env = lmdb.open(str(tmp), map_size=64 * 2**20, subdir=True, lock=True, sync=False)
    n = 0

    def commit(chunk: list[tuple[bytes, bytes]]) -> None:
        while True:
            try:
                with env.begin(write=True) as txn:
                    for k, v in chunk:
                        if not txn.put(k, v, overwrite=False):
                            raise ValueError(f"key {k!r} is given twice")
                return
            except lmdb.MapFullError:  # grow the map and write the chunk again
                env.set_mapsize(2 * env.info()["map_size"])

    try:
        chunk: list[tuple[bytes, bytes]] = []
        for i, item in enumerate(images):
            if key_iter is None:
                key = f"{i:010d}".encode()
            else:
                try:
                    key = next(key_iter)
                except StopIteration:
                    raise ValueError(f"fewer keys than images ({i})") from None
                key = key.encode() if isinstance(key, str) else bytes(key)
            try:
                value = _encoded(item, fmt, quality)
            except OSError as err:
                raise OSError(f"write_lsun_lmdb: image {i} "
                              f"({item if isinstance(item, (str, os.PathLike)) else key!r}): "
                              f"{err}") from None
            chunk.append((key, value))
            n += 1
            if len(chunk) >= commit_every:
                commit(chunk)
                chunk = []
        if chunk:
            commit(chunk)
        env.sync(True)
    except BaseException:
        env.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    env.close()
    if n == 0:
        shutil.rmtree(tmp)
        raise ValueError("write_lsun_lmdb: no images given")
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return n


def image_files(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursively, torchvision's image extensions), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower()
                  in IMG_EXTENSIONS)


# ---------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    """``python -m dcgan_lib.prepare imagenet|check-celeba|check-lsun|lmdb ...`` (see the
    module docstring); returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m dcgan_lib.prepare", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    im = sub.add_parser("imagenet", help="convert an extracted ImageNet (ImageFolder layout)")
    im.add_argument("src", help="folder holding train/ and val/ with one sub-folder per class")
    im.add_argument("out", help="output folder, e.g. ~/.cache/dcgan_lib/data/imagenet")
    im.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    im.add_argument("--splits", nargs="+", default=list(SPLITS))
    im.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    im.add_argument("--chunk", type=int, default=4096)
    im.add_argument("--sorted", action="store_true",
                    help="keep ImageFolder's sorted order instead of a fixed shuffle")
    ce = sub.add_parser("check-celeba", help="check the manual CelebA layout")
    ce.add_argument("root")
    ls = sub.add_parser("check-lsun", help="check the LSUN LMDB layout")
    ls.add_argument("root")
    ls.add_argument("--category", default="bedroom")
    lm = sub.add_parser("lmdb", help="pack a folder of images into an LMDB database in LSUN's "
                                     "format (files stored unchanged, keys = relative paths)")
    lm.add_argument("src", help="folder of images (searched recursively)")
    lm.add_argument("out", help="database folder, e.g. <data root>/bedroom_train_lmdb")
    lm.add_argument("--overwrite", action="store_true", help="replace an existing database")
    args = ap.parse_args(argv)
    if args.cmd == "lmdb":
        files = image_files(args.src)
        keys = (p.relative_to(args.src).as_posix() for p in files)
        n = write_lsun_lmdb(files, args.out, keys=keys, overwrite=args.overwrite)
        print(f"wrote {n} images from {args.src} to {args.out}")
        return 0
    if args.cmd == "imagenet":
        for r in prepare_folder(args.src, args.out, tuple(args.sizes), tuple(args.splits),
                                args.chunk, args.workers, shuffle=not args.sorted):
            print(f"{r['split']}: {r['n']} images, {r['classes']} classes, sizes {r['sizes']}")
        return 0
    if args.cmd == "check-celeba":
        print(celeba_manual_instructions(args.root))
        return 1 if check_celeba(args.root) else 0
    print(lsun_instructions(args.root, args.category))
    return 1 if check_lsun(args.root, args.category) else 0


if __name__ == "__main__":
    sys.exit(main())
