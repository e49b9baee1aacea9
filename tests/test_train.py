import json

import pytest
import torch

from dcgan_lib import data
from dcgan_lib.train import (TrainConfig, Trainer, list_checkpoints, load_checkpoint,
                             load_generator, read_jsonl, save_atomic, train)


def tiny(tmp_path, name="run", **kw):
    base = dict(dataset="synthetic", image_size=16, channels=1, nz=8, ngf=4, ndf=4,
                batch_size=16, steps=6, out=str(tmp_path / name), sample_every=4,
                checkpoint_every=2, keep_last=2, progress=False, num_samples=4)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def ds():
    return data.get_dataset("synthetic", image_size=16, channels=1, synthetic_size=64)


def weights(tr):
    return {**{f"G.{k}": v for k, v in tr.G.state_dict().items()},
            **{f"D.{k}": v for k, v in tr.D.state_dict().items()}}


@pytest.mark.parametrize("schedule", ["same-batch", "alternating"])
def test_resume_continues_exactly(tmp_path, ds, schedule):
    straight = train(tiny(tmp_path, "a", steps=10, schedule=schedule), ds)
    part = Trainer(tiny(tmp_path, "b", steps=10, schedule=schedule), ds)
    part.fit(until_step=6)   # crosses the epoch boundary at step 4
    assert part.step == 6
    resumed = Trainer(tiny(tmp_path, "b", steps=10, schedule=schedule), ds, resume=True)
    assert resumed.step == 6
    resumed.fit()
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the resumed run's log has each step once
    steps = [r["step"] for r in read_jsonl(tmp_path / "b" / "log.jsonl")]
    assert steps == list(range(1, 11))


def test_different_seeds_differ(tmp_path, ds):
    a = weights(train(tiny(tmp_path, "a", seed=1), ds))
    b = weights(train(tiny(tmp_path, "b", seed=2), ds))
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_logs_samples_and_checkpoint_contents(tmp_path, ds):
    tr = train(tiny(tmp_path, steps=6), ds)
    out = tmp_path / "run"
    log = read_jsonl(out / "log.jsonl")
    assert len(log) == 6
    for r in log:
        assert {"step", "loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"} <= r.keys()
        assert 0 <= r["d_x"] <= 1
    assert len(read_jsonl(out / "epochs.jsonl")) == 1   # 64 images / 16 = 4 steps per epoch
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == [
        "step-00000004.png", "step-00000006.png"]
    cks = list_checkpoints(out)
    assert [p.name for p in cks] == ["ckpt-00000004.pt", "ckpt-00000006.pt"]  # keep_last=2
    ck = load_checkpoint(cks[-1])
    assert {"G", "D", "optG", "optD", "step", "epoch", "rng", "fixed_z", "config"} <= ck.keys()
    assert ck["step"] == 6 and ck["config"]["seed"] == 0 and ck["fixed_z"].shape == (4, 8)
    G = load_generator(cks[-1])
    assert G(G.sample_z(2)).shape == (2, 1, 16, 16)
    assert json.loads((out / "config.json").read_text())["batch_size"] == 16


def test_alternating_schedule_updates_one_network_per_step(tmp_path, ds):
    tr = Trainer(tiny(tmp_path, schedule="alternating"), ds)
    x = tr.dataset.tensors[0][:16]
    g0 = [p.clone() for p in tr.G.parameters()]
    d0 = [p.clone() for p in tr.D.parameters()]
    rec = tr.train_step(x)        # step 0: G only
    assert "loss_g" in rec and "loss_d" not in rec
    assert all(torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(g0, tr.G.parameters()))
    tr.step += 1
    g1 = [p.clone() for p in tr.G.parameters()]
    rec = tr.train_step(x)        # step 1: D only
    assert "loss_d" in rec and "loss_g" not in rec
    assert all(torch.equal(a, b) for a, b in zip(g1, tr.G.parameters()))


def test_same_batch_improves_discriminator_on_its_batch(tmp_path, ds):
    tr = Trainer(tiny(tmp_path, lr=1e-3), ds)
    x = tr.dataset.tensors[0][:16]
    first = tr.train_step(x)
    for _ in range(5):
        last = tr.train_step(x)
    assert last["d_x"] > first["d_x"]


def test_refuses_to_overwrite_and_checks_resume_config(tmp_path, ds):
    train(tiny(tmp_path, steps=2), ds)
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(tiny(tmp_path, steps=2), ds)
    with pytest.raises(ValueError, match="ngf=4 but this run asks for ngf=8"):
        Trainer(tiny(tmp_path, steps=2, ngf=8), ds, resume=True)
    tr = Trainer(tiny(tmp_path, steps=2), ds, overwrite=True)
    assert tr.step == 0 and not list_checkpoints(tmp_path / "run")


def test_unreadable_latest_checkpoint_falls_back_to_previous(tmp_path, ds):
    train(tiny(tmp_path, steps=4), ds)
    cks = list_checkpoints(tmp_path / "run")
    cks[-1].write_bytes(b"truncated")
    with pytest.raises(RuntimeError, match="cannot be read"):
        load_checkpoint(cks[-1])
    with pytest.warns(UserWarning, match="skipping unreadable checkpoint"):
        tr = Trainer(tiny(tmp_path, steps=4), ds, resume=True)
    assert tr.step == 2


def test_atomic_save_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_atomic({"a": 1}, path)

    def boom(obj, f):
        f.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"a": 2}, path)
    assert torch.load(path, weights_only=True)["a"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_config_errors(tmp_path, ds):
    with pytest.raises(ValueError, match="exactly one of epochs"):
        Trainer(tiny(tmp_path, steps=None), ds)
    with pytest.raises(ValueError, match="schedule"):
        Trainer(tiny(tmp_path, schedule="simultaneous"), ds)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        Trainer(tiny(tmp_path, batch_size=128), ds)
    with pytest.raises(FileNotFoundError, match="train first"):
        load_checkpoint(tmp_path / "none.pt")


def test_evaluator_picks_best_checkpoint(tmp_path, ds):
    calls = iter([5.0, 3.0, 4.0])
    tr = train(tiny(tmp_path, steps=12), ds, evaluator=lambda G: {"fd": next(calls)})
    epochs = read_jsonl(tmp_path / "run" / "epochs.jsonl")
    assert [e["fd"] for e in epochs] == [5.0, 3.0, 4.0]
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["step"] == 8 and tr.best_fd == 3.0


def test_threads_option_sets_torch_threads(tmp_path, ds):
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        tr = Trainer(tiny(tmp_path, "a", threads=1), ds)
        assert torch.get_num_threads() == 1
        tr.fit()
        saved = json.loads((tmp_path / "a" / "config.json").read_text())
        assert saved["threads"] == 1
        torch.set_num_threads(2)
        Trainer(tiny(tmp_path, "b"), ds)  # None: PyTorch's setting is left alone
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)
    with pytest.raises(ValueError, match=r"threads \(--threads\) must be from 1 to \d+ "
                                         r"\(4 per CPU core of this machine\), got 0"):
        Trainer(tiny(tmp_path, "c", threads=0), ds)


def test_checkpoint_without_threads_field_still_loads(tmp_path, ds):
    """Checkpoints written before the ``threads`` field existed load and resume."""
    train(tiny(tmp_path, steps=2), ds)
    path = list_checkpoints(tmp_path / "run")[-1]
    ck = torch.load(path, weights_only=True)
    del ck["config"]["threads"]
    torch.save(ck, path)
    G = load_generator(path)
    assert G(G.sample_z(2)).shape == (2, 1, 16, 16)
    tr = Trainer(tiny(tmp_path, steps=4), ds, resume=True)
    assert tr.step == 2 and tr.cfg.threads is None


def test_channels_last_on_cpu(tmp_path):
    colour = data.get_dataset("synthetic", image_size=16, channels=3, synthetic_size=32)
    tr = Trainer(tiny(tmp_path, "a", channels=3, device="cpu"), colour)
    conv = next(m for m in tr.D.modules() if isinstance(m, torch.nn.Conv2d))
    assert tr.mem_format == torch.channels_last
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    tr.train_step(tr.dataset.tensors[0][:16])
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)  # Adam kept it
    off = Trainer(tiny(tmp_path, "b", channels=3, device="cpu", channels_last=False), colour)
    assert off.mem_format == torch.contiguous_format


def test_compile_option_trains_like_eager_and_saves_plain_weights(tmp_path, ds):
    """``compile=True`` wraps the step's networks in torch.compile; the maths stays the same
    (up to rounding) and checkpoints hold the plain modules' keys."""
    pytest.importorskip("torch._inductor")
    import shutil
    if not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
        pytest.skip("torch.compile on a CPU needs a C++ compiler; none found")
    eager = train(tiny(tmp_path, "eager", steps=3, compile=False), ds)
    compiled = train(tiny(tmp_path, "compiled", steps=3, compile=True), ds)
    assert compiled.G_step is not compiled.G and compiled.G_step._orig_mod is compiled.G
    we, wc = weights(eager), weights(compiled)
    assert we.keys() == wc.keys()
    for k in we:
        if we[k].is_floating_point():
            assert torch.allclose(we[k], wc[k], rtol=1e-3, atol=1e-4), k
    G = load_generator(list_checkpoints(tmp_path / "compiled")[-1])
    assert G(G.sample_z(2)).shape == (2, 1, 16, 16)
