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
    with pytest.raises(data.DatasetMissingError) as err:  # a FileNotFoundError
        data.get_dataset(name, tmp_path / "nothing-here")
    assert "nothing-here" in str(err.value) and "download=True" in str(err.value)
    assert isinstance(err.value.__cause__, RuntimeError)  # torchvision's own error, chained


def test_missing_data_is_one_error_type(tmp_path, monkeypatch):
    """Every "no data here" of get_dataset is a DatasetMissingError, told apart by type."""
    monkeypatch.setattr(data.prepare_fashion_mnist, "__defaults__", (tmp_path / "nowhere",))
    for name in ("fashion-mnist", "lsun", "imagefolder"):
        with pytest.raises(data.DatasetMissingError, match="To get it"):
            data.get_dataset(name, tmp_path / "absent")


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


def _gradient16(path, w=64, h=48):
    """Write a 16-bit grey PNG whose columns rise from 0 to 65535; return its values."""
    a = np.linspace(0, 65535, w).round().astype(np.uint16)[None].repeat(h, 0)
    Image.fromarray(a).save(path)
    assert Image.open(path).mode.startswith("I")  # really read back as 16-bit
    return a


@pytest.mark.parametrize("channels", [1, 3])
def test_16bit_png_is_scaled_by_its_bit_depth(tmp_path, channels):
    (tmp_path / "data" / "grey").mkdir(parents=True)
    a = _gradient16(tmp_path / "data" / "grey" / "g16.png")
    ds = data.get_dataset("imagefolder", tmp_path / "data", image_size=48, channels=channels)
    x, y = ds[0]
    assert x.shape == (channels, 48, 48) and y == 0
    row = x[:, 24]  # (channels, 48): the centre crop keeps columns 8..55 of 64
    assert torch.all(row[:, 1:] >= row[:, :-1])  # tracks the gradient
    expect = torch.tensor(a[0, 8:56] / 65535 * 2 - 1, dtype=torch.float32)
    assert torch.allclose(row, expect.expand_as(row), atol=2 / 255 + 1e-6)
    _gradient16(tmp_path / "square.png", 64, 64)
    whole = data.image_transform(64, channels)(Image.open(tmp_path / "square.png"))
    assert whole.min() == -1 and whole.max() == 1
    assert (whole == 1).float().mean() < 0.05  # not the ~99 % white of clipping at 255


def test_32bit_integer_images_to_8bit():
    a = np.linspace(0, 65535, 32).round().astype(np.int32)[None].repeat(4, 0)
    im = data.to_8bit(Image.fromarray(a))  # an "I" image with 16-bit values: 16-bit
    assert im.mode == "L" and im.getextrema() == (0, 255)
    wide = data.to_8bit(Image.fromarray((a.astype(np.int64) * 65535 - 2**31).astype(np.int32)))
    v = np.asarray(wide)[0]
    assert v[0] <= 1 and v[-1] >= 250 and np.all(np.diff(v.astype(int)) >= 0)
    rgb = Image.new("RGB", (4, 4), (1, 2, 3))
    assert data.to_8bit(rgb) is rgb


def test_imagefolder_flat_folder_gets_label_0(tmp_path):
    for i in range(3):
        Image.new("L", (20, 20), i * 100).save(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".ipynb_checkpoints").mkdir()  # hidden folders are not labels
    Image.new("L", (20, 20), 255).save(tmp_path / ".ipynb_checkpoints" / "x.png")
    ds = data.get_dataset("imagefolder", tmp_path, image_size=16, channels=1)
    assert len(ds) == 3 and [y for _, y in ds.samples] == [0, 0, 0]
    assert [p for p, _ in ds.samples] == [str(tmp_path / f"{i}.png") for i in range(3)]
    t = data.preload(ds)
    assert torch.equal(data.to_uint8(t.tensors[0][:, 0, 0, 0]), torch.tensor([0, 100, 200],
                                                                           dtype=torch.uint8))
    assert t.tensors[1].tolist() == [0, 0, 0]


def test_imagefolder_images_beside_class_folders_are_refused(tmp_path):
    (tmp_path / "cats").mkdir()
    Image.new("L", (20, 20)).save(tmp_path / "cats" / "a.png")
    Image.new("L", (20, 20)).save(tmp_path / "stray.jpg")
    with pytest.raises(ValueError) as err:
        data.get_dataset("imagefolder", tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and "stray.jpg" in msg and "cats" in msg and "\n" not in msg
    (tmp_path / "stray.jpg").unlink()  # class folders alone still work
    assert data.get_dataset("imagefolder", tmp_path).classes == ["cats"]


def test_imagefolder_without_images_says_what_to_do(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(FileNotFoundError) as err:
        data.get_dataset("imagefolder", tmp_path)
    assert str(tmp_path) in str(err.value) and "folder of images" in str(err.value)
    (tmp_path / "empty-class").mkdir()
    with pytest.raises(FileNotFoundError, match="no data found"):
        data.get_dataset("imagefolder", tmp_path)


def test_imagefolder_truncated_image_is_named(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(
        tmp_path / "whole.png")
    raw = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[:len(raw) // 2])
    ds = data.get_dataset("imagefolder", tmp_path, image_size=32)
    whole = [p for p, _ in ds.samples].index(str(tmp_path / "whole.png"))
    assert ds[whole][0].shape == (3, 32, 32)
    with pytest.raises(OSError, match="cut.png"):
        data.preload(ds)


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


def test_keep_classes_selects_by_label_without_decoding(tmp_path, idx_folder, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", idx_folder)
    monkeypatch.setattr(data.prepare_fashion_mnist, "__defaults__", (idx_folder,))
    ds = data.get_dataset("fashion-mnist", tmp_path / "root", image_size=16)   # labels i % 10
    upper = data.keep_classes(ds, data.FASHION_MNIST_UPPER_BODY)
    assert len(upper) == 20 and sorted({y for _, y in upper}) == [0, 2, 3, 4, 6]
    assert upper.indices[:5] == [0, 2, 3, 4, 6]                      # in the dataset's order
    t = data.preload(upper, limit=6)
    assert t.tensors[0].shape == (6, 1, 16, 16) and t.tensors[1].tolist() == [0, 2, 3, 4, 6, 0]
    assert torch.equal(t.tensors[0][1], ds[2][0])
    shapes = data.get_dataset("synthetic", image_size=16, synthetic_size=50, seed=0)
    discs = data.keep_classes(shapes, [0])
    assert len(discs) == int((shapes.labels == 0).sum()) and all(y == 0 for _, y in discs)
    pre = data.preload(shapes)
    assert data.keep_classes(pre, [1]).indices == data.keep_classes(shapes, [1]).indices
    nested = data.keep_classes(torch.utils.data.Subset(shapes, range(10, 50)), [1])
    assert nested.dataset is shapes and all(i >= 10 and shapes.labels[i] == 1
                                            for i in nested.indices)
    with pytest.raises(ValueError, match=r"no item with a label in \[7\].*labels are \[0, 1\]"):
        data.keep_classes(shapes, [7])
    with pytest.raises(ValueError, match="has no labels"):
        data.keep_classes([(torch.zeros(1), 0)], [0])


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
