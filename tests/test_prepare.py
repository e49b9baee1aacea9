import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lib import data, prepare


@pytest.fixture
def fake_imagenet(tmp_path):
    """A tiny ImageNet-like folder: two classes, JPEG and PNG of mixed sizes and modes."""
    src = tmp_path / "imagenet"
    rng = np.random.default_rng(0)

    def noise(h, w, c):
        return rng.integers(0, 256, (h, w, c) if c > 1 else (h, w), dtype=np.uint8)

    train = {
        "n01": [("a.JPEG", Image.fromarray(noise(50, 70, 3), "RGB")),
                ("b.png", Image.fromarray(noise(40, 40, 1), "L")),
                ("c.png", Image.fromarray(noise(32, 64, 4), "RGBA")),
                ("d.jpeg", Image.fromarray(noise(90, 30, 3), "RGB").convert("CMYK"))],
        "n02": [("e.png", Image.fromarray(noise(17, 23, 3), "RGB").convert("P")),
                ("f.JPEG", Image.fromarray(noise(10, 12, 3), "RGB")),
                ("g.png", Image.fromarray(noise(64, 48, 3), "RGB"))],
    }
    val = {"n01": [("v1.JPEG", Image.fromarray(noise(33, 44, 3), "RGB"))],
           "n02": [("v2.png", Image.fromarray(noise(20, 20, 1), "L"))]}
    for split, classes in (("train", train), ("val", val)):
        for cls, files in classes.items():
            (src / split / cls).mkdir(parents=True)
            for name, img in files:
                img.save(src / split / cls / name)
    (src / "train" / "n02" / "notes.txt").write_text("not an image")
    return src


def sha(path):
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_prepared_matches_imagefolder_transform(fake_imagenet, tmp_path):
    out = tmp_path / "out"
    res = prepare.prepare_folder(fake_imagenet, out, sizes=(16, 8), chunk=3, progress=False)
    assert [(r["split"], r["n"], r["classes"]) for r in res] == [("train", 7, 2), ("val", 2, 2)]
    for size in (16, 8):
        ds = prepare.prepared_dataset(out, size, "train")
        ref = data.get_dataset("imagefolder", fake_imagenet / "train", size, 3)
        assert len(ds) == len(ref) == 7 and ds.classes == ["n01", "n02"]
        assert sorted(ds.source_index.tolist()) == list(range(7))
        assert ds.source_index.tolist() != list(range(7))  # stored shuffled
        files = (out / f"{size}px/train/files.txt").read_text().split()
        for i in range(len(ds)):
            x, y = ds[i]
            j = int(ds.source_index[i])
            xr, yr = ref[j]
            assert files[i] == str(Path(ref.samples[j][0]).relative_to(fake_imagenet / "train"))
            assert x.shape == (3, size, size) and x.dtype == torch.float32
            assert y == yr
            assert torch.allclose(x, xr, atol=1e-6)
        assert ds.images.dtype == np.uint8 and isinstance(ds.images, np.memmap)
    val = prepare.prepared_dataset(out, 8, "test")  # "test" reads the val split
    assert len(val) == 2 and sorted(val[i][1] for i in range(2)) == [0, 1]
    prepare.prepare_split(fake_imagenet, tmp_path / "sorted", "train", (8,), progress=False,
                          shuffle=False)
    plain = prepare.prepared_dataset(tmp_path / "sorted", 8)
    assert plain.source_index.tolist() == list(range(7))
    assert [plain[i][1] for i in range(7)] == [0, 0, 0, 0, 1, 1, 1]
    index = json.loads((out / "16px" / "train" / "index.json").read_text())
    assert index["n"] == 7 and index["size"] == 16 and index["layout"] == "NCHW uint8"
    assert not list(out.glob(".progress-*")) and not list(out.rglob("*.partial"))


def test_grey_and_pickling(fake_imagenet, tmp_path):
    out = tmp_path / "out"
    prepare.prepare_split(fake_imagenet, out, "train", sizes=(16,), progress=False)
    grey = prepare.prepared_dataset(out, 16, "train", channels=1)
    ref = data.get_dataset("imagefolder", fake_imagenet / "train", 16, 1)
    x, _ = grey[0]
    assert x.shape == (1, 16, 16)
    # PIL converts to grey before resizing; we after: equal to within rounding
    assert (x - ref[int(grey.source_index[0])][0]).abs().max() <= 2.5 / 127.5
    grey[1]  # opens the memory map
    blob = pickle.dumps(grey)
    assert len(blob) < 2000  # the images are not copied into the pickle
    again = pickle.loads(blob)
    assert torch.equal(again[3][0], grey[3][0])


def test_interrupted_conversion_resumes_to_identical_output(fake_imagenet, tmp_path,
                                                            monkeypatch):
    clean = tmp_path / "clean"
    prepare.prepare_split(fake_imagenet, clean, "train", sizes=(16, 8), chunk=2,
                          progress=False)
    out = tmp_path / "out"
    real_load = prepare._load
    calls = []

    def flaky(job):
        calls.append(job[0])
        if len(calls) == 6:
            raise KeyboardInterrupt  # stopped in the third chunk
        return real_load(job)

    monkeypatch.setattr(prepare, "_load", flaky)
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare_split(fake_imagenet, out, "train", sizes=(16, 8), chunk=2,
                              progress=False)
    prog = json.loads((out / ".progress-train.json").read_text())
    assert prog["done"] == 4 and prog["sizes"] == [16, 8]
    assert not (out / "16px" / "train" / "index.json").exists()
    with pytest.raises(FileNotFoundError, match="unfinished"):
        prepare.prepared_dataset(out, 16, "train")
    # a different request must not silently mix with the unfinished one
    monkeypatch.setattr(prepare, "_load", real_load)
    with pytest.raises(RuntimeError, match="same command"):
        prepare.prepare_split(fake_imagenet, out, "train", sizes=(16,), progress=False)

    calls.clear()
    monkeypatch.setattr(prepare, "_load", lambda job: calls.append(job[0]) or real_load(job))
    res = prepare.prepare_split(fake_imagenet, out, "train", sizes=(16, 8), chunk=2,
                                progress=False)
    assert len(calls) == 3  # only images 5..7 were decoded again
    assert not res["skipped"]
    for size in (16, 8):
        for name in ("images.npy", "labels.npy"):
            assert sha(out / f"{size}px/train/{name}") == sha(clean / f"{size}px/train/{name}")
    assert not (out / ".progress-train.json").exists()

    calls.clear()
    res = prepare.prepare_split(fake_imagenet, out, "train", sizes=(16, 8), progress=False)
    assert res["skipped"] and calls == []


def test_interrupted_while_finalising_is_finished(fake_imagenet, tmp_path):
    out = tmp_path / "out"
    prepare.prepare_split(fake_imagenet, out, "train", sizes=(16, 8), progress=False)
    before = sha(out / "8px/train/images.npy")
    # as if stopped after finalising 16px but before 8px: progress file back, 8px unfinished
    (out / "8px/train/index.json").unlink()
    (out / "8px/train/images.npy").rename(out / "8px/train/images.npy.partial")
    (out / ".progress-train.json").write_text(json.dumps(
        {"fingerprint": json.loads((out / "16px/train/index.json").read_text())["fingerprint"],
         "done": 7, "n": 7, "sizes": [16, 8]}))
    prepare.prepare_split(fake_imagenet, out, "train", sizes=(16, 8), progress=False)
    assert sha(out / "8px/train/images.npy") == before
    assert len(prepare.prepared_dataset(out, 8)) == 7


def test_workers_give_the_same_bytes(fake_imagenet, tmp_path):
    prepare.main(["imagenet", str(fake_imagenet), str(tmp_path / "a"), "--sizes", "8",
                  "--workers", "0"])
    prepare.main(["imagenet", str(fake_imagenet), str(tmp_path / "b"), "--sizes", "8",
                  "--workers", "2", "--chunk", "3"])
    for split in ("train", "val"):
        assert sha(tmp_path / f"a/8px/{split}/images.npy") == \
            sha(tmp_path / f"b/8px/{split}/images.npy")


def test_bad_sources_say_what_to_do(fake_imagenet, tmp_path):
    with pytest.raises(FileNotFoundError, match="none of the split folders"):
        prepare.prepare_folder(fake_imagenet / "train", tmp_path / "o")
    flat = tmp_path / "flat"
    (flat / "val").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(flat / "val" / "ILSVRC2012_val_00000001.JPEG")
    with pytest.raises(FileNotFoundError, match="valprep"):
        prepare.prepare_split(flat, tmp_path / "o", "val", progress=False)
    broken = fake_imagenet / "train" / "n02" / "h.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(OSError, match="h.png") as err:
        prepare.prepare_split(fake_imagenet, tmp_path / "o", "train", progress=False)
    assert "resumes" in str(err.value)
    with pytest.raises(FileNotFoundError, match="prepare imagenet"):
        prepare.prepared_dataset(tmp_path / "nothing", 32)


def write_celeba(base, monkeypatch, n_images=2):
    (base / "img_align_celeba").mkdir(parents=True)
    for i in range(n_images):
        Image.new("RGB", (178, 218)).save(base / "img_align_celeba" / f"{i + 1:06d}.jpg")
    md5s = {}
    for name in prepare.CELEBA_TEXT_FILES:
        (base / name).write_text(f"{name}\n")
        md5s[name] = hashlib.md5((base / name).read_bytes()).hexdigest()
    monkeypatch.setattr(prepare, "CELEBA_TEXT_FILES", md5s)
    monkeypatch.setattr(prepare, "CELEBA_IMAGES", n_images)


def test_celeba_check_explains_each_problem(tmp_path, monkeypatch):
    assert prepare.check_celeba(tmp_path) == [f"no folder {tmp_path / 'celeba'}"]
    base = tmp_path / "celeba"
    write_celeba(base, monkeypatch)
    assert prepare.check_celeba(tmp_path) == []
    assert "in place" in prepare.celeba_manual_instructions(tmp_path)

    (base / "list_eval_partition.txt").unlink()
    (base / "list_eval_partition.csv").write_text("image_id,partition\n")
    (base / "identity_CelebA.txt").write_text("changed\r\n")
    problems = prepare.check_celeba(tmp_path)
    assert len(problems) == 2
    missing = [p for p in problems if "list_eval_partition.txt" in p]
    changed = [p for p in problems if "identity_CelebA.txt" in p]
    assert len(missing) == 1 and "Kaggle" in missing[0]
    assert len(changed) == 1 and "MD5" in changed[0]
    text = prepare.celeba_manual_instructions(tmp_path)
    assert "img_align_celeba.zip" in text and "list_eval_partition.txt" in text
    assert str(base) in text

    Image.new("RGB", (4, 4)).save(base / "img_align_celeba" / "000003.jpg")
    assert any("3 .jpg images" in p for p in prepare.check_celeba(tmp_path))


def test_celeba_common_layout_mistakes(tmp_path, monkeypatch):
    nested = tmp_path / "n" / "celeba" / "img_align_celeba"
    (nested / "img_align_celeba").mkdir(parents=True)
    assert any("one level too deep" in p for p in prepare.check_celeba(tmp_path / "n"))
    (tmp_path / "z" / "celeba").mkdir(parents=True)
    (tmp_path / "z" / "celeba" / "img_align_celeba.zip").write_bytes(b"")
    assert any("not extracted" in p for p in prepare.check_celeba(tmp_path / "z"))
    (tmp_path / "flat" / "img_align_celeba").mkdir(parents=True)
    assert "folder named 'celeba'" in prepare.check_celeba(tmp_path / "flat")[0]


def test_lsun_check(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lmdb", None)  # as if not installed
    problems = prepare.check_lsun(tmp_path)
    assert len(problems) == 3 and "pip install lmdb" in problems[0]
    assert str(tmp_path / "bedroom_train_lmdb") in problems[1]
    assert str(tmp_path / "bedroom_val_lmdb") in problems[2]
    (tmp_path / "bedroom_train_lmdb.zip").write_bytes(b"")
    assert "unzip bedroom_train_lmdb.zip" in prepare.check_lsun(tmp_path)[1]
    for split in ("train", "val"):
        (tmp_path / f"bedroom_{split}_lmdb").mkdir()
        (tmp_path / f"bedroom_{split}_lmdb" / "data.mdb").write_bytes(b"")
    assert len(prepare.check_lsun(tmp_path)) == 1
    monkeypatch.setitem(sys.modules, "lmdb", sys)  # any module: "installed"
    assert prepare.check_lsun(tmp_path) == []
    assert "in place" in prepare.lsun_instructions(tmp_path)
    text = prepare.lsun_instructions(tmp_path / "elsewhere", "church_outdoor")
    assert "download.py -c church_outdoor" in text and "church_outdoor_val_lmdb" in text


def test_check_commands_exit_status_follows_the_problems(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "lmdb", sys)  # any module: "installed"
    assert prepare.main(["check-lsun", str(tmp_path)]) == 1
    for split in ("train", "val"):
        (tmp_path / f"bedroom_{split}_lmdb").mkdir()
        (tmp_path / f"bedroom_{split}_lmdb" / "data.mdb").write_bytes(b"")
    assert prepare.main(["check-lsun", str(tmp_path)]) == 0
    assert prepare.main(["check-celeba", str(tmp_path)]) == 1
    write_celeba(tmp_path / "celeba", monkeypatch)
    assert prepare.main(["check-celeba", str(tmp_path)]) == 0
    assert "in place" in capsys.readouterr().out


def test_check_prepared(fake_imagenet, tmp_path):
    out = tmp_path / "out"
    assert len(prepare.check_prepared(out, 8)) == 2
    prepare.prepare_split(fake_imagenet, out, "train", sizes=(8,), progress=False)
    assert prepare.check_prepared(out, 8) == [f"no finished 8x8 'val' split in {out}/8px/val"]
    assert "dcgan_lib.prepare imagenet" in prepare.imagenet_instructions(out, 8)


def test_write_lsun_lmdb_and_folder_to_lmdb(fake_imagenet, tmp_path, monkeypatch):
    """Images of every kind go in; a folder packs into a database the LSUN loader reads, its
    files stored byte for byte under their relative paths."""
    pytest.importorskip("lmdb")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "lsun"
    arr = np.zeros((6, 8, 3), np.uint8)
    pil = Image.new("RGBA", (9, 5), (1, 2, 3, 4))  # JPEG has no alpha: stored as RGB
    n = prepare.write_lsun_lmdb([arr, pil, np.zeros((4, 4), np.uint8)],
                                root / "bedroom_val_lmdb", fmt="PNG")
    assert n == 3
    ds = data.LMDBImages(root / "bedroom_val_lmdb")
    assert [ds.key(i) for i in range(3)] == [b"0000000000", b"0000000001", b"0000000002"]
    assert [ds[i][0].size for i in range(3)] == [(8, 6), (9, 5), (4, 4)]
    with pytest.raises(FileExistsError, match="overwrite"):
        prepare.write_lsun_lmdb([arr], root / "bedroom_val_lmdb")
    with pytest.raises(ValueError, match="no images"):
        prepare.write_lsun_lmdb([], tmp_path / "empty")
    with pytest.raises(ValueError, match="twice"):
        prepare.write_lsun_lmdb([arr, arr], tmp_path / "dup", keys=["k", "k"])

    src = fake_imagenet / "train"
    assert prepare.main(["lmdb", str(src), str(root / "bedroom_train_lmdb")]) == 0
    files = prepare.image_files(src)
    ds = data.get_dataset("lsun", root, 8, category="bedroom")
    assert len(ds) == len(files)
    keys = sorted(p.relative_to(src).as_posix().encode() for p in files)
    assert [ds.key(i) for i in range(len(ds))] == keys
    env = data._lmdb_env(root / "bedroom_train_lmdb")
    with env.begin() as txn:
        assert txn.get(b"n01/a.JPEG") == (src / "n01" / "a.JPEG").read_bytes()
    assert ds[0][0].shape == (3, 8, 8)
    assert data.get_dataset("lsun", root, 8, split="val")[1][0].shape == (3, 8, 8)
