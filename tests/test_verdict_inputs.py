"""The library functions that turn a chapter's runs into the samples its verdicts are decided
on (issue 15): repeated training runs, the midpoint Fréchet distance, per-triple analogy scores,
per-image surgery measures and the de-duplication pair counts."""
import numpy as np
import pytest
import torch

from dcgan_lib import data, dedup, latent, metrics, surgery
from dcgan_lib.models import Generator
from dcgan_lib.train import TrainConfig, repeat_runs


def test_gap_closed_is_zero_untrained_and_one_at_the_floor():
    assert metrics.gap_closed(100.0, 100.0, 1.0) == 0
    assert metrics.gap_closed(100.0, 1.0, 1.0) == 1
    assert metrics.gap_closed(100.0, 50.5, 1.0) == pytest.approx(0.5)
    assert metrics.gap_closed(100.0, 120.0, 1.0) < 0          # worse than untrained


def _weight_norm(G):
    return {"fd": float(sum(p.detach().abs().sum() for p in G.parameters())), "fd_floor": 0.0}


def test_repeat_runs_trains_each_variant_and_seed_and_reloads_finished_runs(tmp_path):
    ds = data.get_dataset("synthetic", image_size=16, channels=1, synthetic_size=32)
    cfg = TrainConfig(dataset="synthetic", image_size=16, channels=1, nz=8, ngf=4, ndf=4,
                      batch_size=16, epochs=1, out=str(tmp_path / "rep"), progress=False,
                      num_samples=4, sample_every=100, checkpoint_every=100)
    rows = repeat_runs(cfg, ds, _weight_norm, [0, 1], {"paper": {}, "lr 0.001": {"lr": 1e-3}})
    assert [(r["variant"], r["seed"]) for r in rows] == [
        ("paper", 0), ("paper", 1), ("lr 0.001", 0), ("lr 0.001", 1)]
    for r in rows:
        assert (tmp_path / "rep" / f"{r['variant']}-seed{r['seed']}" / "config.json").is_file()
        assert r["fd_final"] != r["fd_untrained"]               # the weights moved
        assert r["gap_closed"] == pytest.approx(
            (r["fd_untrained"] - r["fd_final"]) / r["fd_untrained"])
    assert rows[0]["fd_untrained"] != rows[1]["fd_untrained"]   # seeds differ
    assert rows[0]["fd_untrained"] == rows[2]["fd_untrained"]   # same seed, same init
    assert rows[0]["fd_final"] != rows[2]["fd_final"]           # the variant changed training
    again = repeat_runs(cfg, ds, _weight_norm, [0, 1], {"paper": {}, "lr 0.001": {"lr": 1e-3}})
    for a, b in zip(rows, again):                              # finished runs load, not retrain
        assert b["fd_final"] == pytest.approx(a["fd_final"], rel=1e-6)
        assert b["fd_untrained"] == pytest.approx(a["fd_untrained"], rel=1e-6)


def test_repeat_runs_per_epoch_measures_each_epoch_end_and_keeps_them_on_reload(tmp_path):
    ds = data.get_dataset("synthetic", image_size=16, channels=1, synthetic_size=32)
    cfg = TrainConfig(dataset="synthetic", image_size=16, channels=1, nz=8, ngf=4, ndf=4,
                      batch_size=16, epochs=2, out=str(tmp_path / "rep"), progress=False,
                      num_samples=4, sample_every=100, checkpoint_every=100)
    row, = repeat_runs(cfg, ds, _weight_norm, [3], per_epoch=True)
    assert len(row["fd_epochs"]) == 2 and row["fd_epochs"][0] != row["fd_epochs"][1]
    assert row["fd_epochs"][-1] == pytest.approx(row["fd_final"], rel=1e-6)   # same model
    plain, = repeat_runs(cfg, ds, _weight_norm, [3])
    assert "fd_epochs" not in plain
    again, = repeat_runs(cfg, ds, _weight_norm, [3], per_epoch=True)        # finished: loaded
    assert again["fd_epochs"] == pytest.approx(row["fd_epochs"], rel=1e-6)


def test_midpoint_fd_draws_and_a_generator_far_from_the_real_images():
    torch.manual_seed(0)
    G = Generator(16, nz=8, ngf=8, nc=1)
    embed = lambda x: x.flatten(1)[:, :12]                       # noqa: E731
    fake_like = latent.decode(G, latent.seeded_z(G, 300, 99))   # real = the generator's own
    out = latent.midpoint_fd(G, embed, fake_like, n=300, draws=3, seed=0, context=64)
    assert set(out) == {"midpoint", "sample"} and all(len(v) == 3 for v in out.values())
    assert all(np.isfinite(v) and v >= -1e-9 for vs in out.values() for v in vs)
    far = latent.midpoint_fd(G, embed, torch.ones(300, 1, 16, 16), n=300, draws=2, seed=0)
    assert min(far["sample"]) > 10 * max(out["sample"])         # real images unlike samples
    wide = latent.midpoint_fd(G, lambda x: x.flatten(1), fake_like, n=300, draws=1, seed=0,
                              max_dims=32)                      # 256 pixels projected to 32
    assert all(np.isfinite(v) for vs in wide.values() for v in vs)


def test_triple_scores_are_per_triple_hit_rates_and_means():
    outputs = {"A": [{"z, 3 exemplars": torch.ones(9, 1, 4, 4), "z, 1 exemplar": -torch.ones(9, 1, 4, 4),
                      "pixels": torch.ones(1, 1, 4, 4)},
                     {"z, 3 exemplars": torch.cat([torch.ones(3, 1, 4, 4), -torch.ones(6, 1, 4, 4)]),
                      "z, 1 exemplar": torch.ones(9, 1, 4, 4), "pixels": -torch.ones(1, 1, 4, 4)}]}
    bright = lambda imgs: imgs.flatten(1).mean(1) > 0           # noqa: E731
    analogies = {"A": ([None, None], bright)}
    hits = latent.triple_scores(outputs, analogies)
    assert hits == {"z, 3 exemplars": [1.0, pytest.approx(1 / 3)], "z, 1 exemplar": [0.0, 1.0],
                    "pixels": [1.0, 0.0]}
    means = latent.triple_scores(outputs, analogies, lambda imgs: imgs.flatten(1).mean(1))
    assert means["z, 3 exemplars"] == [1.0, pytest.approx(-1 / 3)]


def test_per_image_change_ratio_and_structure_kept():
    before = torch.zeros(4, 1, 8, 8)
    before[:, :, 2:6, 2:6] = torch.arange(16.).reshape(4, 4) / 16   # structure inside the box
    masks = torch.zeros(4, 8, 8, dtype=torch.bool)
    masks[:, 2:6, 2:6] = True
    after = before.clone()
    after[:, :, 2:6, 2:6] = 0.5                                   # the object wiped flat
    after[:, :, 0, 0] += 0.1                                      # a little change outside
    r = surgery.per_image(before, after, masks)
    assert r["change_ratio"].shape == (4,) and (r["change_ratio"] > 1).all()
    assert (r["structure_kept_inside"] < 1).all()
    same = surgery.per_image(before, before + 0.01, masks)      # an even shift: ratio 1, all kept
    assert same["change_ratio"] == pytest.approx(np.ones(4))
    assert same["structure_kept_inside"] == pytest.approx(np.ones(4))


def test_duplicate_pairs_count_every_true_pair():
    imgs = (torch.rand(30, 1, 28, 28) * 255).to(torch.uint8)
    p = dedup.plant_duplicates(imgs, 4, seed=0)
    alone = dedup.evaluate_groups(np.arange(len(p.family)), p)
    assert alone["duplicate_pairs"] == 4 * 21 and alone["true_pairs"] == 0
    perfect = dedup.evaluate_groups(p.family, p)
    assert perfect["true_pairs"] == perfect["duplicate_pairs"] == 4 * 21
