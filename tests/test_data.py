import io

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lib import data
from conftest import write_idx


def test_fashion_mnist_from_debian_gz_files(tmp_path, idx_folder, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", idx_folder)
    monkeypatch.setattr(data.prepare_fashion_mnist, "__defaults__", (idx_folder,))
    root = tmp_path / "root"
    ds = data.get_dataset("fashion-mnist", root, image_size=32)
    assert len(ds) == 40
    x, y = ds[3]
    assert x.shape == (1, 32, 32) and y == 3
    assert x.min() >= -1 and x.max() <= 1
    assert (root / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists()
    test = data.get_dataset("fashion-mnist", root, image_size=16, split="test")
    assert len(test) == 20 and test[0][0].shape == (1, 16, 16)


def test_fashion_mnist_missing_names_path_and_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data.prepare_fashion_mnist, "__defaults__", (tmp_path / "nowhere",))
    with pytest.raises(FileNotFoundError) as err:
        data.get_dataset("fashion-mnist", tmp_path / "empty")
    msg = str(err.value)
    assert str(tmp_path / "empty") in msg and "apt-get install -y dataset-fashion-mnist" in msg


def test_mnist_idx_files_and_pixel_scaling(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    imgs = np.zeros((6, 28, 28), np.uint8)
    imgs[:, :14] = 255
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", imgs, False)
        write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(6, dtype=np.uint8), False)
    ds = data.get_dataset("mnist", tmp_path, image_size=28)
    x, y = ds[5]
    assert y == 5
    assert torch.all(x[:, :14] == 1) and torch.all(x[:, 14:] == -1)
    colour = data.get_dataset("mnist", tmp_path, image_size=32, channels=3)
    assert colour[0][0].shape == (3, 32, 32)


@pytest.mark.parametrize("name", ["cifar10", "svhn", "mnist"])
def test_missing_torchvision_dataset_says_how_to_get_it(tmp_path, name):
    with pytest.raises(FileNotFoundError) as err:
        data.get_dataset(name, tmp_path / "nothing-here")
    assert "nothing-here" in str(err.value) and "download=True" in str(err.value)


def test_imagefolder_mixed_modes_and_sizes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.new("RGB", (80, 60), (255, 0, 0)).save(tmp_path / "a" / "red.png")
    Image.new("L", (50, 90), 128).save(tmp_path / "a" / "grey.jpg")
    Image.new("RGBA", (64, 64), (0, 0, 255, 128)).save(tmp_path / "b" / "alpha.png")
    Image.new("P", (40, 40)).save(tmp_path / "b" / "palette.png")
    ds = data.get_dataset("imagefolder", tmp_path, image_size=32)
    assert len(ds) == 4
    shapes = {tuple(ds[i][0].shape) for i in range(4)}
    assert shapes == {(3, 32, 32)}
    red = ds[[p for p, _ in ds.samples].index(str(tmp_path / "a" / "red.png"))][0]
    assert torch.allclose(red[0], torch.ones(32, 32)) and torch.allclose(red[1], -torch.ones(32, 32))
    grey = ds[[p for p, _ in ds.samples].index(str(tmp_path / "a" / "grey.jpg"))][0]
    assert torch.allclose(grey[0], grey[1]) and torch.allclose(grey[1], grey[2])
    assert sorted({y for _, y in ds.samples}) == [0, 1]


def test_imagefolder_unreadable_file_is_named(tmp_path):
    (tmp_path / "c").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "c" / "ok.png")
    (tmp_path / "c" / "broken.png").write_bytes(b"not a png at all")
    ds = data.get_dataset("imagefolder", tmp_path, image_size=32)
    idx = [p for p, _ in ds.samples].index(str(tmp_path / "c" / "broken.png"))
    with pytest.raises(OSError, match="broken.png"):
        ds[idx]


def test_imagefolder_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data found"):
        data.get_dataset("imagefolder", tmp_path / "absent")


def test_unknown_name_and_options():
    with pytest.raises(ValueError, match="unknown dataset 'cifar100'"):
        data.get_dataset("cifar100")
    with pytest.raises(ValueError, match="split"):
        data.get_dataset("synthetic", split="dev")
    with pytest.raises(ValueError, match="channels must be 1"):
        data.get_dataset("synthetic", channels=2)


def test_lsun_cannot_download():
    with pytest.raises(ValueError, match="LMDB"):
        data.get_dataset("lsun", "/tmp", download=True)


def test_synthetic_is_seeded_and_preload_roundtrip():
    a = data.get_dataset("synthetic", image_size=16, channels=3, synthetic_size=20, seed=1)
    b = data.get_dataset("synthetic", image_size=16, channels=3, synthetic_size=20, seed=1)
    assert torch.equal(a.images, b.images)
    assert a.images.shape == (20, 3, 16, 16) and a.images.min() >= -1 and a.images.max() <= 1
    t = data.preload(a, limit=7)
    assert t.tensors[0].shape == (7, 3, 16, 16) and torch.equal(t.tensors[0], a.images[:7])


def test_preload_generic_dataset(tmp_path):
    for i in range(5):
        Image.new("L", (20, 20), i * 50).save(tmp_path / f"{i}.png")
    (tmp_path / "sub").mkdir()
    for p in tmp_path.glob("*.png"):
        p.rename(tmp_path / "sub" / p.name)
    ds = data.get_dataset("imagefolder", tmp_path, image_size=16, channels=1)
    t = data.preload(ds, batch_size=2)
    assert t.tensors[0].shape == (5, 1, 16, 16)
    assert torch.equal(data.to_uint8(t.tensors[0][:, :, 0, 0]).flatten().sort().values,
                       torch.tensor([0, 50, 100, 150, 200], dtype=torch.uint8))


# ---------------------------------------------------------------- LSUN (LMDB)
lmdb = pytest.importorskip("lmdb")


def _random_jpegs(n=20, size=(80, 60), seed=0):
    """``n`` random colour images, as JPEG files' bytes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
            buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


JPEGS = _random_jpegs()


@pytest.fixture
def lsun_root(tmp_path, monkeypatch):
    """A tiny LSUN root: bedroom_train_lmdb with 20 random 80x60 JPEGs, as the LSUN project
    ships them (keys = ids, values = JPEG bytes); nothing is written outside tmp_path."""
    from dcgan_lib import prepare
    monkeypatch.chdir(tmp_path)  # torchvision's reader would drop its key cache here
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "lsun"
    # LSUN's keys are 40 hex digits; given in reverse here, so index i is JPEGS[19 - i]
    keys = [f"{19 - i:040x}".encode() for i in range(20)]
    assert prepare.write_lsun_lmdb(JPEGS, root / "bedroom_train_lmdb", keys=keys,
                                   commit_every=7) == 20
    return root


def test_lsun_lmdb_loads_resized_in_range(lsun_root, tmp_path):
    ds = data.get_dataset("lsun", lsun_root, 64)
    assert len(ds) == 20
    x, y = ds[0]
    assert x.shape == (3, 64, 64) and y == 0
    assert -1 <= x.min() < 0 < x.max() <= 1
    grey = data.get_dataset("lsun", lsun_root, 32, channels=1)
    assert grey[19][0].shape == (1, 32, 32)
    assert ds[-1][0].shape == (3, 64, 64)
    with pytest.raises(IndexError):
        ds[20]
    # the JPEGs stored unchanged, in sorted key order (the order torchvision's LSUN reader uses)
    tf = data.image_transform(64, 3)
    for i in (0, 7, 19):
        assert ds.key(i) == f"{i:040x}".encode()
        assert torch.equal(ds[i][0], tf(Image.open(io.BytesIO(JPEGS[19 - i]))))
    # no key cache for a small database, nothing in the working directory
    assert ds.key_cache is None
    assert not (tmp_path / "cache").exists() and not list(tmp_path.glob("_cache_*"))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_lsun_lmdb_dataloader_workers_see_every_image(lsun_root, method):
    ds = data.get_dataset("lsun", lsun_root, 32)
    expected = torch.stack([ds[i][0] for i in range(len(ds))])  # the parent has it open too
    loader = torch.utils.data.DataLoader(ds, batch_size=6, num_workers=2,
                                         multiprocessing_context=method)
    xs = torch.cat([x for x, _ in loader])
    assert xs.shape == (20, 3, 32, 32) and torch.equal(xs, expected)
    again = data.get_dataset("lsun", lsun_root, 32)  # a second dataset of the same database
    assert torch.equal(again[5][0], expected[5])
    again.close()
    assert torch.equal(ds[6][0], expected[6])  # reopened


def test_lsun_key_cache_is_named_by_database_and_renewed(lsun_root, tmp_path):
    from dcgan_lib import prepare
    db = lsun_root / "bedroom_train_lmdb"
    a = data.LMDBImages(db, cache_min_entries=1)
    assert a.key_cache.parent == tmp_path / "cache" / "dcgan_lib" / "lmdb-keys"
    assert a.key_cache.exists() and a.key(0) == b"0" * 40 and len(a) == 20
    b = data.LMDBImages(db, cache_min_entries=1)
    assert b.key_cache == a.key_cache and b._buf == a._buf
    # rebuilt with other keys at the same path: another cache file, the new keys
    prepare.write_lsun_lmdb(_random_jpegs(5, seed=1), db, keys=[b"a", b"bb", b"c", b"d", b"e"],
                            overwrite=True)
    c = data.LMDBImages(db, cache_min_entries=1)
    assert c.key_cache != a.key_cache and len(c) == 5 and c.key(1) == b"bb"
    assert c[1][0].size == (80, 60)  # no transform: the PIL image


def test_lsun_missing_and_unreadable(tmp_path, lsun_root):
    from dcgan_lib import prepare
    with pytest.raises(FileNotFoundError, match="download.py"):
        data.get_dataset("lsun", tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="bedroom_val_lmdb"):
        data.get_dataset("lsun", lsun_root, split="val")
    env = lmdb.open(str(tmp_path / "bad"), map_size=2**20)
    with env.begin(write=True) as txn:
        txn.put(b"broken-id", b"not a jpeg")
    env.close()
    ds = data.LMDBImages(tmp_path / "bad")
    with pytest.raises(OSError, match="broken-id"):
        ds[0]
    with pytest.raises(OSError, match="image 1"):
        prepare.write_lsun_lmdb([JPEGS[0], b"not an image"], tmp_path / "x")
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()
