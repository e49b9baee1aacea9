"""Conditional DCGAN and its fully connected baseline (appendix A.1): the models, and the one
GAN trainer of dcgan_lib.train driving them with a label (``TrainConfig(labels=True)``)."""
import dataclasses
import math
import json

import pytest
import torch
from sklearn.neighbors import NearestCentroid
from torch import nn
from torch.utils.data import TensorDataset

from dcgan_lib.conditional import (CondDiscriminator, CondGenerator, MLPCondGenerator,
                                   class_grid, concat_label, cond_layer_table,
                                   generate_labelled, nn_error_evaluator, nn_predictions,
                                   one_hot, per_class_errors, real_class_grid, split_errors)
from dcgan_lib.knn import chunks, nn_errors
from dcgan_lib.models import batch_stats, count_parameters
from dcgan_lib.train import (ConfigError, TrainConfig, Trainer, build_models, list_checkpoints,
                             load_models, lr_at, read_jsonl, time_steps, train)

TINY = dict(nz=8, ngf=8, ndf=8, nfc=32)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tiny models gain nothing from a second thread, and on a shared two-core machine
    two threads contend for the cores and make every small operation many times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def toy(n: int, s: int = 16, seed: int = 0):
    """Three classes a nearest-centroid classifier separates perfectly: left, right or top
    half bright, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.full((n, 1, s, s), -1.0)
    x[y == 0, :, :, : s // 2] = 1
    x[y == 1, :, :, s // 2:] = 1
    x[y == 2, :, : s // 2, :] = 1
    x = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    return x, y


def cond_cfg(out, **kw) -> TrainConfig:
    base = dict(labels=True, dataset="synthetic", image_size=16, channels=1, batch_size=16,
                epochs=1, out=str(out), progress=False, quality="none", sample_every=1000,
                checkpoint_every=1000, num_samples=6, **TINY)
    return TrainConfig(**{**base, **kw})


def test_weight_shapes_are_the_authors():
    # mnist/train_cond_dcgan.py: gw (nz+ny, 1024), gw2 (1024+ny, 128*7*7), gw3 (128+ny, 64, 5, 5),
    # gwx (64+ny, 1, 5, 5); dw (64, 1+ny, 5, 5), dw2 (128, 64+ny, 5, 5), dw3 (128*7*7+ny, 1024),
    # dwy (1024+ny, 1). torch stores Linear weights as (out, in).
    G, D = CondGenerator(), CondDiscriminator()
    assert [tuple(p.shape) for p in G.parameters()] == [
        (1024, 110), (6272, 1034), (138, 64, 5, 5), (74, 1, 5, 5)]
    assert [tuple(p.shape) for p in D.parameters()] == [
        (64, 11, 5, 5), (128, 74, 5, 5), (1024, 6282), (1, 1034)]
    z, y = G.sample_z(4), torch.tensor([0, 3, 7, 9])
    x = G(z, y)
    assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    assert D(x, y).shape == (4,)
    # the trainer builds exactly these from a config (28x28, 10 classes)
    Gc, Dc = build_models(TrainConfig(labels=True, image_size=28, epochs=1), nc=1, ny=10)
    assert [p.shape for p in Gc.parameters()] == [p.shape for p in G.parameters()]
    assert [p.shape for p in Dc.parameters()] == [p.shape for p in D.parameters()]


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_label_enters_every_layer(arch, tmp_path):
    G, D = build_models(cond_cfg(tmp_path, arch=arch), nc=1, ny=5)
    for model, shape in ((G, (8,)), (D, (1, 16, 16))):
        rows = cond_layer_table(model, shape)
        assert len(rows) == 4
        prev = (shape[0] * shape[1] * shape[2],) if model.flatten_input else shape
        for row in rows:   # ny units (vectors) or ny constant maps (feature maps) appended
            assert row["input (with y)"] == (prev[0] + 5, *prev[1:])
            prev = row["output"]
        # the last layer sees y: for a fixed input, changing y changes the output
        last = model.blocks[-1]
        h = torch.randn(4, rows[-1]["input (with y)"][0] - 5, *rows[-1]["input (with y)"][1:])
        a = last(concat_label(h, one_hot(torch.zeros(4, dtype=torch.long), 5)))
        b = last(concat_label(h, one_hot(torch.ones(4, dtype=torch.long), 5)))
        assert not torch.allclose(a, b)


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_batchnorm_has_no_scale_or_bias(arch, tmp_path):
    G, D = build_models(cond_cfg(tmp_path, arch=arch), nc=1, ny=3)   # appendix A.1: default
    for model in (G, D):
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        assert len(bns) == 3 if model is G else len(bns) == 2
        assert all(not m.affine and m.weight is None and m.bias is None for m in bns)
        # the only parameters are the conv / linear weights (no biases anywhere, as the authors)
        layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d,
                                                               nn.ConvTranspose2d))]
        assert count_parameters(model) == sum(m.weight.numel() for m in layers)
        assert all(m.bias is None for m in layers)
        # what the layer computes: (h - mean) / sqrt(var + eps) over the batch, nothing more
        seen = []
        hooks = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0].clone(), o.clone())))
                 for m in bns]
        x = G.sample_z(64) if model is G else torch.randn(64, 1, 16, 16)
        model(x, torch.arange(64) % 3)
        for h in hooks:
            h.remove()
        assert len(seen) == len(bns)
        for m, h, o in seen:
            dims = [0] if h.dim() == 2 else [0, 2, 3]
            mean = h.mean(dims, keepdim=True)
            var = h.var(dims, unbiased=False, keepdim=True)
            assert torch.allclose(o, (h - mean) / torch.sqrt(var + m.eps), atol=1e-4)
    # with bn_affine=True each batch-norm adds a scale and a shift per unit
    Ga, _ = build_models(cond_cfg(tmp_path, arch=arch, bn_affine=True), nc=1, ny=3)
    extra = sum(2 * m.num_features for m in Ga.modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm))
    assert count_parameters(Ga) == count_parameters(G) + extra


def _class_accuracy(G, clf, ny=3, n=300, seed=1):
    xs, ys = next(generate_labelled(G, n, n, seed=seed))
    pred = torch.as_tensor(clf.predict(xs.flatten(1).numpy()))
    return (pred == ys).float().mean().item(), xs, ys


@pytest.mark.parametrize("arch,n,kw", [
    ("dcgan", 600, dict(nz=8, ngf=8, ndf=8, nfc=64, epochs=10, batch_size=32)),
    ("mlp", 2048, dict(nz=8, nfc=256, epochs=20, batch_size=64)),
])
def test_changing_y_changes_the_class(arch, n, kw, tmp_path):
    x, y = toy(n)
    clf = NearestCentroid().fit(x.flatten(1).numpy(), y.numpy())
    cfg = cond_cfg(tmp_path / arch, arch=arch, lr=1e-3, **kw)
    G0, _ = build_models(cfg, 1, 3)
    acc0, _, _ = _class_accuracy(G0, clf)
    G = train(cfg, TensorDataset(x, y)).G
    acc, _, _ = _class_accuracy(G, clf)
    assert acc0 < 0.7          # untrained: the label does not decide the class
    assert acc >= 0.9          # trained: the class a classifier assigns is the one asked for
    # the same z with another label gives the other class. The batch must mix the labels:
    # batch-norm with batch statistics would subtract a label shared by the whole batch.
    z = G.sample_z(90, torch.Generator().manual_seed(3))
    base = torch.arange(90) % 3
    with torch.no_grad(), batch_stats(G):
        for shift in range(3):
            labels = (base + shift) % 3
            pred = torch.as_tensor(clf.predict(G(z, labels).flatten(1).numpy()))
            assert (pred == labels).float().mean() >= 0.9


def test_one_step_serves_both_gans_and_the_alternating_schedule(tmp_path):
    x, y = toy(64)
    tr = Trainer(cond_cfg(tmp_path, schedule="alternating"), TensorDataset(x, y))
    for step in range(4):
        g0 = [p.clone() for p in tr.G.parameters()]
        d0 = [p.clone() for p in tr.D.parameters()]
        rec = tr.train_step(x[:16], y[:16])
        tr.step += 1
        g_moved = any(not torch.equal(a, b) for a, b in zip(g0, tr.G.parameters()))
        d_moved = any(not torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))
        assert (g_moved, d_moved) == ((True, False) if step % 2 == 0 else (False, True))
        assert ("loss_g" in rec) == (step % 2 == 0) and ("loss_d" in rec) == (step % 2 == 1)
    with pytest.raises(ValueError, match="pass the batch's labels"):
        tr.train_step(x[:16])
    tr.close()
    same = Trainer(cond_cfg(tmp_path / "b"), TensorDataset(x, y))   # same-batch: both
    assert {"loss_g", "loss_d"} <= set(same.train_step(x[:16], y[:16]))


def test_linear_lr_decay_is_the_authors(tmp_path):
    cfg = TrainConfig(labels=True, image_size=28, epochs=200, decay_epochs=100)
    assert [lr_at(cfg, e, 200) for e in (0, 99, 100)] == [cfg.lr] * 3
    assert lr_at(cfg, 101, 200) == pytest.approx(0.99 * cfg.lr)
    assert lr_at(cfg, 199, 200) == pytest.approx(cfg.lr / 100)
    assert lr_at(dataclasses.replace(cfg, decay_epochs=0), 199, 200) == cfg.lr
    x, y = toy(64)
    train(cond_cfg(tmp_path, batch_size=32, epochs=4, decay_epochs=2), TensorDataset(x, y))
    lrs = [r["lr"] for r in read_jsonl(tmp_path / "epochs.jsonl")]
    assert lrs == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4])


def test_weight_decay_reaches_adam(tmp_path):
    x, y = toy(32)
    tr = Trainer(cond_cfg(tmp_path, weight_decay=2.5e-5), TensorDataset(x, y))
    assert tr.optG.param_groups[0]["weight_decay"] == 2.5e-5
    assert tr.optD.param_groups[0]["weight_decay"] == 2.5e-5


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_conditional_resume_is_the_uninterrupted_run_to_the_bit(tmp_path, arch):
    x, y = toy(96)
    ds = TensorDataset(x, y)
    kw = dict(arch=arch, batch_size=32, epochs=3, decay_epochs=2, checkpoint_every=2)
    straight = train(cond_cfg(tmp_path / "a", **kw), ds)
    part = Trainer(cond_cfg(tmp_path / "b", **kw), ds)
    part.fit(until_step=5)   # mid-epoch 2 (3 steps an epoch)
    resumed = Trainer(cond_cfg(tmp_path / "b", **kw), ds, resume=True)
    assert resumed.step == 5
    resumed.fit()
    for a, b in zip([*straight.G.state_dict().values(), *straight.D.state_dict().values()],
                    [*resumed.G.state_dict().values(), *resumed.D.state_dict().values()]):
        assert torch.equal(a, b)
    assert [r["step"] for r in read_jsonl(tmp_path / "b" / "log.jsonl")] == list(range(1, 10))
    G, D, c = load_models(list_checkpoints(tmp_path / "b")[-1])
    assert c.labels and c.arch == arch and G.ny == 3
    assert torch.equal(next(G.parameters()), next(straight.G.parameters()))
    with pytest.raises(ConfigError, match="nfc=32 but this run asks for nfc=64"):
        Trainer(cond_cfg(tmp_path / "b", **{**kw, "nfc": 64}), ds, resume=True)


def test_sample_grid_shows_each_class_in_its_column(tmp_path):
    x, y = toy(64)
    tr = Trainer(cond_cfg(tmp_path, num_samples=9), TensorDataset(x, y))
    assert tr.fixed_y.tolist() == [0, 1, 2] * 3
    assert tr.sample().shape == (9, 1, 16, 16)
    from PIL import Image
    assert Image.open(tr.save_samples()).size == (3 * 17 + 1, 3 * 17 + 1)


def test_time_steps_measures_without_touching_the_run_folder(tmp_path):
    x, y = toy(64)
    sec = time_steps(cond_cfg(tmp_path / "never"), TensorDataset(x, y), steps=2)
    assert 0 < sec < 60 and not (tmp_path / "never").exists()


def test_generate_labelled_streams_balanced_chunks():
    G = CondGenerator(ny=4, image_size=16, **{k: v for k, v in TINY.items() if k != "ndf"})
    before = [b.clone() for b in G.buffers()]
    chunks = list(generate_labelled(G, 103, batch=25, seed=0))
    assert [len(c[0]) for c in chunks] == [25, 25, 25, 25, 3]
    labels = torch.cat([c[1] for c in chunks])
    assert torch.equal(labels, torch.arange(103) % 4)
    assert torch.equal(torch.bincount(labels[:100]), torch.full((4,), 25))
    again = torch.cat([c[0] for c in generate_labelled(G, 103, batch=25, seed=0)])
    assert torch.equal(torch.cat([c[0] for c in chunks]), again)
    other = torch.cat([c[0] for c in generate_labelled(G, 103, batch=25, seed=1)])
    assert not torch.equal(other, again)
    # sampling uses batch statistics and leaves the running averages alone
    assert all(torch.equal(a, b) for a, b in zip(before, G.buffers()))
    grid = class_grid(G, per_class=3)
    assert grid.shape == (12, 1, 16, 16)


def test_real_class_grid_rows_are_classes():
    x, y = toy(60)
    grid = real_class_grid(x, y, per_class=4)
    assert grid.shape == (12, 1, 16, 16)
    clf = NearestCentroid().fit(x.flatten(1).numpy(), y.numpy())
    assert clf.predict(grid.flatten(1).numpy()).tolist() == [0] * 4 + [1] * 4 + [2] * 4
    with pytest.raises(ValueError, match="per_class"):
        real_class_grid(x, y, per_class=30)


def test_bad_input_errors(tmp_path):
    with pytest.raises(ValueError, match="image_size must be a multiple of 4"):
        CondGenerator(image_size=30)
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        CondGenerator()(torch.zeros(2, 100), torch.tensor([3, 10]))
    with pytest.raises(ConfigError, match="--arch"):
        cond_cfg(tmp_path, arch="resnet").validate()
    with pytest.raises(ConfigError, match="add --labels"):
        TrainConfig(arch="mlp", epochs=1).validate()
    with pytest.raises(ConfigError, match="decay_epochs"):
        cond_cfg(tmp_path, epochs=2, decay_epochs=3).validate()
    with pytest.raises(ConfigError, match="multiple of 4"):
        cond_cfg(tmp_path, image_size=30).validate()
    with pytest.raises(ValueError, match="output must be one of"):
        MLPCondGenerator(output="relu")
    x, y = toy(8)
    with pytest.raises(ConfigError, match="fewer than batch_size"):
        Trainer(cond_cfg(tmp_path), TensorDataset(x, y))


def test_sigmoid_output_is_the_authors_layer_mapped_to_symmetric_range():
    G = MLPCondGenerator(nz=8, ny=3, nh=16, image_size=8, output="sigmoid")
    out = G.blocks[-1][1]
    a = torch.linspace(-6, 6, 101)
    assert torch.allclose(out(a), 2 * torch.sigmoid(a) - 1)      # [0, 1] mapped to [-1, 1]
    assert torch.allclose(out(a), torch.tanh(a / 2), atol=1e-6)  # = tanh of half the input
    h = G(G.sample_z(16), torch.arange(16) % 3)
    assert h.shape == (16, 1, 8, 8) and -1 <= h.min() and h.max() <= 1
    assert isinstance(MLPCondGenerator(output="tanh").blocks[-1][1], nn.Tanh)


def test_config_json_of_a_conditional_run(tmp_path):
    x, y = toy(32)
    train(cond_cfg(tmp_path), TensorDataset(x, y))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["labels"] is True and saved["arch"] == "dcgan"


def test_nn_predictions_score_every_prefix_and_query_set_as_nn_errors():
    from sklearn.neighbors import KNeighborsClassifier
    G = CondGenerator(ny=3, image_size=16, **{k: v for k, v in TINY.items() if k != "ndf"})
    xv, yv = toy(40, seed=1)
    xt, yt = toy(30, seed=2)
    preds = nn_predictions(generate_labelled(G, 90, batch=16, seed=0),
                           torch.cat([xv, xt]), at=[90, 7, 50], block=5, log=None)
    assert sorted(preds) == [7, 50, 90] and all(p.shape == (70,) for p in preds.values())
    rows = nn_errors(generate_labelled(G, 90, batch=16, seed=0),
                     {"val": (xv, yv), "test": (xt, yt)}, at=[7, 50, 90], log=None)
    for row in rows:
        errs = split_errors(preds[row["N"]], {"val": yv, "test": yt})
        assert errs == pytest.approx({"val": row["val"], "test": row["test"]})
    gx, gy = (torch.cat(t) for t in zip(*generate_labelled(G, 50, batch=16, seed=0)))
    ref = KNeighborsClassifier(1).fit(gx.flatten(1).numpy(), gy.numpy())
    assert preds[50].tolist() == ref.predict(torch.cat([xv, xt]).flatten(1).numpy()).tolist()
    # real data through knn.chunks; one line logged per N
    lines = []
    real = nn_predictions(chunks(xv, yv, 16), xt, at=[40], log=lines.append)
    assert len(lines) == 1 and "40 samples" in lines[0] and real[40].shape == (30,)
    with pytest.raises(ValueError, match="before N=100"):
        nn_predictions(chunks(xv, yv), xt, at=[100], log=None)
    with pytest.raises(ValueError, match="positive"):
        nn_predictions(chunks(xv, yv), xt, at=[0], log=None)
    with pytest.raises(ValueError, match="70 predictions for 40"):
        split_errors(preds[7], {"val": yv})


def test_per_class_errors():
    y = torch.tensor([0, 0, 1, 1, 1, 2])
    pred = torch.tensor([0, 1, 1, 1, 0, 2])
    errs = per_class_errors(pred, y, ny=4)
    assert errs[:3] == pytest.approx([0.5, 1 / 3, 0.0]) and errs[3] != errs[3]   # NaN: no query


def test_nn_error_evaluator_follows_training_without_changing_it(tmp_path):
    x, y = toy(64)
    ds = TensorDataset(x, y)
    xv, yv = toy(24, seed=3)
    ev = nn_error_evaluator(xv, yv, n=30, batch=10, seed=1)
    assert "24 held-out images" in ev.description and "30 samples" in ev.description
    kw = dict(batch_size=16, epochs=2)
    with_ev = train(cond_cfg(tmp_path / "a", **kw), ds, evaluator=ev)
    plain = train(cond_cfg(tmp_path / "b", **kw), ds)
    for a, b in zip(with_ev.G.state_dict().values(), plain.G.state_dict().values()):
        assert torch.equal(a, b)     # the same run: the evaluator draws its own noise
    recs = read_jsonl(tmp_path / "a" / "epochs.jsonl")
    assert [r["epoch"] for r in recs] == [1, 2]
    assert all(0 <= r["nn_val_error"] <= 1 and r["quality"] == ev.description for r in recs)
    assert not (tmp_path / "a" / "best.pt").exists()
    # the number is the 1-NN error of n samples of the final G
    pred = nn_predictions(generate_labelled(with_ev.G, 30, 10, seed=1), xv, [30], log=None)[30]
    assert recs[-1]["nn_val_error"] == pytest.approx((pred != yv).float().mean().item())
    with pytest.raises(ValueError, match="at least 1"):
        nn_error_evaluator(xv, yv, n=0)


def test_direct_transposed_conv_is_the_same_layer():
    """CondGenerator's last layer (DirectConvTranspose2d, ATen's direct CPU kernel, about 6x
    faster than oneDNN's for one output map) computes what nn.ConvTranspose2d computes, with
    the same gradients, state-dict keys and counted FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode
    from dcgan_lib.conditional import CondGenerator, DirectConvTranspose2d
    torch.manual_seed(0)
    direct = DirectConvTranspose2d(74, 1, 5, 2, 2, output_padding=1, bias=False)
    plain = nn.ConvTranspose2d(74, 1, 5, 2, 2, output_padding=1, bias=False)
    plain.load_state_dict(direct.state_dict())
    x0 = torch.randn(6, 74, 14, 14)
    outs, grads, flops = [], [], []
    for m in (direct, plain):
        x = x0.clone().requires_grad_()
        with FlopCounterMode(display=False) as fc:
            out = m(x)
            out.square().sum().backward()
        outs.append(out.detach())
        grads.append((x.grad, m.weight.grad))
        flops.append(fc.get_total_flops())
    assert outs[0].shape == (6, 1, 28, 28)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-3)
    assert flops[0] == flops[1] > 0
    G = CondGenerator()
    assert isinstance(G.blocks[3][0], DirectConvTranspose2d) and "blocks.3.0.weight" in G.state_dict()
    from dcgan_lib.conditional import cond_layer_table
    assert cond_layer_table(G, (100,))[3]["layers"] == "ConvTranspose2d + Tanh"  # as before


def test_nn_predictions_gathers_chunks_into_blocks_and_still_stops_at_every_mark():
    """Chunks of 3 gathered into blocks of 8 for the distances: the predictions at marks that
    fall inside a block, at a block's end and at the stream's end are brute force's."""
    from dcgan_lib.conditional import nn_predictions
    g = torch.Generator().manual_seed(2)
    q, x = torch.randn(11, 6, generator=g), torch.randn(30, 6, generator=g)
    y = torch.arange(30)
    stream = ((x[i:i + 3], y[i:i + 3]) for i in range(0, 30, 3))
    got = nn_predictions(stream, q, [5, 8, 13, 16, 30], block=8, log=None)
    for n, pred in got.items():
        assert pred.tolist() == torch.cdist(q, x[:n]).argmin(1).tolist(), n


def test_holdout_split_is_seeded_disjoint_and_complete():
    from dcgan_lib.conditional import holdout_split
    tr, va = holdout_split(100, 20, seed=3)
    assert len(tr) == 80 and len(va) == 20
    assert sorted(torch.cat([tr, va]).tolist()) == list(range(100))
    tr2, va2 = holdout_split(100, 20, seed=3)
    assert torch.equal(tr, tr2) and torch.equal(va, va2)
    assert not torch.equal(holdout_split(100, 20, seed=4)[1], va)
    with pytest.raises(ValueError):
        holdout_split(10, 10)


def test_error_curve_reads_every_n_of_one_pass():
    from dcgan_lib.conditional import error_curve
    x, y = toy(60)
    q, qy = toy(30, seed=1)
    preds = nn_predictions(chunks(x, y, 7), q, [3, 30, 60], log=None)
    curve = error_curve(preds, qy)
    assert [n for n, _ in curve] == [3, 30, 60]
    ref = nn_errors(chunks(x, y, 7), {"q": (q, qy)}, at=[3, 30, 60], log=None)
    assert [e for _, e in curve] == pytest.approx([r["q"] for r in ref])


def test_models_manifest_round_trip_and_refuses_what_was_not_trained(tmp_path):
    from dcgan_lib.conditional import check_models_manifest, table3_scope, write_models_manifest
    run = tmp_path / "dcgan_seed0"
    run.mkdir()
    with pytest.raises(FileNotFoundError, match="did not finish"):
        write_models_manifest(tmp_path / "m.json", {"dcgan/0": {"out": run, "steps": 10}})
    (run / "ckpt-00000010.pt").write_bytes(b"x")
    write_models_manifest(tmp_path / "m.json", {"dcgan/0": {"out": run, "steps": 10}})
    check_models_manifest(tmp_path / "m.json", {"dcgan/0": {"out": run, "steps": 10}})
    with pytest.raises(ValueError, match="other settings"):
        check_models_manifest(tmp_path / "m.json", {"dcgan/0": {"out": run, "steps": 20}})
    with pytest.raises(ValueError, match="does not list dcgan/1"):
        check_models_manifest(tmp_path / "m.json", {"dcgan/1": {"out": run, "steps": 10}})
    with pytest.raises(FileNotFoundError, match="training stage"):
        check_models_manifest(tmp_path / "absent.json", {})
    assert table3_scope("mnist") == "paper data: MNIST"
    assert table3_scope("fashion-mnist") == "stand-in: Fashion-MNIST for MNIST"


def test_over_models_is_the_mean_over_trained_models_with_a_t_spread():
    from dcgan_lib.conditional import over_models
    errors = {("dcgan", 0): {50: {"val": 0.1, "test": 0.03}, 500: {"val": None, "test_big": 0.02}},
              ("dcgan", 1): {50: {"val": 0.1, "test": 0.05}, 500: {"val": None, "test_big": 0.02}}}
    m, vals = over_models(errors, "dcgan", [0, 1], 50)
    assert vals == pytest.approx([3.0, 5.0]) and m.value == pytest.approx(4.0) and m.n == 2
    assert m.spread == pytest.approx(12.706 * math.sqrt(2) / math.sqrt(2))   # t(1) x sd / sqrt 2
    assert over_models(errors, "dcgan", [0, 1], 500)[1] == pytest.approx([2.0, 2.0])
    assert over_models(errors, "dcgan", [0, 1], 7) == (None, [])
