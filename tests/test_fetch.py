"""``dcgan data`` (dcgan_lib.fetch) on tiny data sets in their real on-disk formats
(tests/fixtures_full.py): checks, checksums, downloads through torchvision with the network
replaced, extraction and conversion."""
import argparse
import pickle
import shutil
import struct
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


def test_mnist_without_the_gz_downloads_is_present_unchecked(tmp_path, capsys):
    F.build_mnist(tmp_path)
    for gz in tmp_path.glob("MNIST/raw/*.gz"):
        gz.unlink()
    assert fetch.main(["data", "mnist", "--root", str(tmp_path), "--check-only"]) == 0
    line = summary(capsys.readouterr().out, "mnist")
    assert "present: train 32, test 16 images" in line and "MD5 not checked" in line


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
              "applies to one data set, lsun or imagenet32, not mnist"),
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
