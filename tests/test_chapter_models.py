"""The models of chapters 06-09 per profile (dcgan_lib.chapter_models)."""
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from dcgan_lib import book, chapter_models, reference
from dcgan_lib.train import TrainConfig, build_models


def _run(profile: str, tmp_path: Path, seed: int = 0) -> book.Run:
    return book.Run("99_test", profile, seed, None, tmp_path, "test")


def _checkpoint(path: Path, seed: int) -> Path:
    """A dcgan_lib checkpoint of tiny 16x16 grey models (train.load_models reads it)."""
    torch.manual_seed(seed)
    cfg = TrainConfig(image_size=16, ngf=4, ndf=4, nz=8, steps=1)
    G, D = build_models(cfg, 1)
    torch.save({"G": G.state_dict(), "D": D.state_dict(), "config": asdict(cfg), "nc": 1}, path)
    return path


def _fake_svhn(folder: Path) -> Path:
    """Files of the authors' names and shapes (constant values), as reference reads them."""
    folder.mkdir()
    for name, shape, _ in reference.GEN_FILES + reference.DISC_FILES:
        np.save(folder / name, np.full(shape, 0.01, np.float32))
    return folder


def test_smoke_stand_ins_are_tiny_seeded_and_of_each_kind(tmp_path):
    m = chapter_models.load_chapter_models(_run("smoke", tmp_path), ("svhn", "ours"))
    (Gs, Ds), (Go, Do) = m["svhn"], m["ours"]
    assert (Gs.nc, Gs.z_dist, Gs.image_size, Gs.nz, Gs.ngf) == (3, "normal", 32, 100, 8)
    assert (Go.nc, Go.z_dist, Do.nc, Ds.nc) == (1, "uniform", 1, 3)
    assert not any(net.training for net in (Gs, Ds, Go, Do))
    torch.rand(5)                                  # whatever ran before: the same models
    again = chapter_models.load_chapter_models(_run("smoke", tmp_path), ("svhn", "ours"))
    for a, b in zip((Gs, Ds, Go, Do), (*again["svhn"], *again["ours"])):
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(),
                                                     b.state_dict().values()))
    other = chapter_models.load_chapter_models(_run("smoke", tmp_path, seed=1), ("ours",))
    assert not torch.equal(other["ours"][0].blocks[0][0].weight, Go.blocks[0][0].weight)
    with pytest.raises(ValueError, match="role"):
        chapter_models.load_chapter_models(_run("smoke", tmp_path), ("lsun",))


def test_cpu_loads_our_checkpoint_and_the_authors_model(tmp_path):
    ck = _checkpoint(tmp_path / "best.pt", seed=3)
    weights = _fake_svhn(tmp_path / "svhn")
    m = chapter_models.load_chapter_models(_run("cpu", tmp_path), ("ours", "svhn"),
                                           ours_checkpoint=ck, svhn_weights=weights)
    G, D = m["ours"]
    saved = torch.load(ck, weights_only=False)
    assert all(torch.equal(v, G.state_dict()[k]) for k, v in saved["G"].items())
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in saved["D"].items())
    Gs, Ds = m["svhn"]
    assert (Gs.z_dist, Gs.nc, Gs.image_size) == ("normal", 3, 32)
    assert torch.all(Gs.blocks[0][0].weight == 0.01)
    assert not any(net.training for net in (G, D, Gs, Ds))
    with pytest.raises(FileNotFoundError, match="train first"):
        chapter_models.load_chapter_models(_run("cpu", tmp_path), ("ours",),
                                           ours_checkpoint=tmp_path / "missing.pt")


def test_full_checkpoint_plays_the_listed_roles_only(tmp_path):
    ck = _checkpoint(tmp_path / "full.pt", seed=4)
    run = _run("full", tmp_path)
    m = chapter_models.load_chapter_models(run, ("svhn", "ours"), full_roles=("svhn", "ours"),
                                           full_checkpoint=ck)
    assert m["svhn"] is m["ours"] and m["svhn"][0].image_size == 16   # loaded once, shared
    m = chapter_models.load_chapter_models(run, ("ours", "svhn"), full_roles=("ours",),
                                           full_checkpoint=ck)
    assert m["svhn"] is None and m["ours"][1].ndf == 4
