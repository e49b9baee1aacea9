"""The book's exercises (issue 16): every check against its reference solution and against the
typical wrong answers, on tiny models and synthetic data; the student edition (solutions
removed by tag); and both editions executed in the smoke profile: the instructor edition
passes every check, the student edition runs top to bottom with every check "not done yet"."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dcgan_lib import data, dedup, exercises, latent, surgery
from dcgan_lib import features as feat
from dcgan_lib.models import Discriminator, Generator, count_parameters

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "ci"))
import student_edition  # noqa: E402

CHAPTERS = sorted(p.stem for p in (REPO / "book").glob("[0-9][0-9]_*.py"))


def smoke_run(tmp_path=None, profile="smoke", scale=""):
    return SimpleNamespace(profile=profile, scale=scale, seed=0, out=tmp_path)


def status(id, answer, **context):
    return exercises.verdict(id, answer, **context).status


def says(id, answer, words, **context):
    v = exercises.verdict(id, answer, **context)
    assert v.status == "wrong" and words in v.message, str(v)


# ------------------------------------------------------------------------ mechanics
def test_every_chapter_has_two_to_four_exercises_with_sizes_for_every_profile():
    for ch in CHAPTERS:
        n = len(exercises.for_chapter(ch))
        assert 2 <= n <= 4, (ch, n)
        for profile in ("smoke", "cpu", "full"):
            exercises.sizes(ch, smoke_run(profile=profile))
            exercises.sizes(ch, smoke_run(profile=profile, scale="tiny"))
    assert {e.level for e in exercises.EXERCISES.values()} == set(exercises.LEVELS)


def test_each_chapters_exercises_live_in_its_own_module():
    """exercises/chNN.py holds chapter NN's exercises, all listed in its EXERCISES, in order,
    and its SIZES; nothing else registers one."""
    assert list(exercises.CHAPTERS) == [c[:2] for c in CHAPTERS]
    for num, module in exercises.CHAPTERS.items():
        assert module.__name__ == f"dcgan_lib.exercises.ch{num}"
        defined = [v for v in vars(module).values() if isinstance(v, exercises.Exercise)]
        assert list(module.EXERCISES) == defined == exercises.for_chapter(num), num
        assert exercises.sizes(num, smoke_run()) == dict(module.SIZES.get("smoke", {}))
    assert list(exercises.EXERCISES) == [e.id for m in exercises.CHAPTERS.values()
                                         for e in m.EXERCISES]


def test_the_course_guide_lists_every_exercise():
    guide = (REPO / "site" / "course.md").read_text()
    for e in exercises.EXERCISES.values():
        assert f"[{e.id}](chapters/" in guide and e.title in guide, e.id


def test_not_done_yet_wrong_kinds_and_one_line(capsys, tmp_path):
    run = smoke_run(tmp_path)
    exercises.check("02.1", None, run=run, cfg=None, log=[])
    line = capsys.readouterr().out
    assert line.startswith("Exercise 02.1 not done yet: ") and line.count("\n") == 1
    assert exercises.parse(line) == {"02.1": "not done yet"}
    assert json.loads((tmp_path / "exercises.json").read_text())["02.1"]["status"] == \
        "not done yet"
    says("01.1", "many", "should be an integer")
    says("02.2", lambda logits: 1 / 0, "your function raised ZeroDivisionError")
    with pytest.raises(TypeError):                      # a chapter's mistake, not the student's
        exercises.verdict("02.1", None, run=run)
    with pytest.raises(KeyError):
        exercises.verdict("99.9", 1)


def test_a_check_leaves_the_random_state_alone():
    G = Generator(32, 100, 8, 3, z_dist="normal")
    torch.manual_seed(3)
    np.random.seed(3)
    exercises.verdict("06.1", 0.7, run=smoke_run(), G=G)
    a, b = torch.rand(1), np.random.rand()
    torch.manual_seed(3)
    np.random.seed(3)
    assert torch.equal(a, torch.rand(1)) and b == np.random.rand()


# ------------------------------------------------------------------- 01 architecture
def test_01_architecture():
    assert status("01.1", count_parameters(Generator(64, 100, 128, 3, "torch"))) == "right"
    says("01.1", count_parameters(Generator(64, 100, 128, 3, "paper")), "paper variant")
    says("01.1", count_parameters(Generator(64, 100, 64, 3, "torch")), "width-64")
    says("01.1", count_parameters(Discriminator(64, 128, 3, "torch")), "discriminator")
    says("01.1", 12_000_000, "off by")
    assert status("01.2", (2, 1)) == "right"
    says("01.2", (1, 0), "9x9")
    says("01.2", (2, 0), "7x7")
    says("01.2", [3, 2], "smaller than the stride")
    says("01.2", (2,), "2 numbers")
    assert status("01.3", Generator(128, 100, 64, 3)) == "right"
    says("01.3", Generator(128, 100, 128, 3), "2048 maps")
    says("01.3", Generator(64, 100, 128, 3), "(3, 64, 64)")
    says("01.3", Generator(128, 100, 64, 3, "torch"), "torch variant")
    says("01.3", "Generator(128)", "generator module")


# ---------------------------------------------------------------------- 02 training
@pytest.fixture(scope="module")
def gan_runs(tmp_path_factory):
    from dcgan_lib.train import Trainer, TrainConfig, read_jsonl
    base = tmp_path_factory.mktemp("ex02")
    ds = data.preload(data.get_dataset("synthetic", None, 32, 1, synthetic_size=64))
    cfg = TrainConfig(dataset="synthetic", image_size=32, ngf=8, ndf=8, batch_size=16, steps=12,
                      out=str(base / "chapter"), progress=False, quality="none",
                      sample_every=10**6, checkpoint_every=10**6)
    Trainer(cfg, ds).fit()

    def trained(name, **change):
        c = dataclasses.replace(cfg, out=str(base / name), **change)
        tr = Trainer(c, ds)
        tr.fit()
        return tr
    return SimpleNamespace(cfg=cfg, ds=ds, log=read_jsonl(base / "chapter" / "log.jsonl"),
                           trained=trained)


def test_02_1_beta1(gan_runs):
    run = smoke_run()
    ctx = dict(run=run, cfg=gan_runs.cfg, log=gan_runs.log)
    good = gan_runs.trained("b09", beta1=0.9, steps=10)
    v = exercises.verdict("02.1", {"prediction": "lower", "run": good}, **ctx)
    assert v.ok and "over the first 10 steps" in v.message, v
    assert status("02.1", {"prediction": "same", "run": good.out}, **ctx) == "right"  # a folder
    says("02.1", {"prediction": "up", "run": good}, "prediction should be one of", **ctx)
    says("02.1", {"prediction": "higher"}, "lacks run", **ctx)
    same = gan_runs.trained("b05", steps=10)
    says("02.1", {"prediction": "higher", "run": same}, "beta1=0.5", **ctx)
    both = gan_runs.trained("b09lr", beta1=0.9, lr=1e-3, steps=10)
    says("02.1", {"prediction": "higher", "run": both}, "also changed lr", **ctx)
    short = gan_runs.trained("b09short", beta1=0.9, steps=4)
    says("02.1", {"prediction": "higher", "run": short}, "logged 4 steps", **ctx)


def test_02_2_generator_loss():
    ok = lambda l: F.binary_cross_entropy_with_logits(l, torch.ones_like(l))  # noqa: E731
    v = exercises.verdict("02.2", ok)
    assert v.ok and "non-saturating" in v.message
    assert status("02.2", lambda l: -F.logsigmoid(l).mean()) == "right"
    says("02.2", lambda l: torch.log(1 - torch.sigmoid(l)).mean(), "saturating loss")
    says("02.2", lambda l: F.logsigmoid(l).mean(), "wrong sign")
    says("02.2", lambda l: F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)),
         "D's loss")
    says("02.2", lambda l: -F.logsigmoid(l).sum(), "sum")
    says("02.2", lambda l: -torch.log(l).mean(), "logits, not probabilities")
    says("02.2", lambda l: -F.logsigmoid(l), "average the loss")
    says("02.2", lambda l: -F.logsigmoid(l).mean().detach().item(), "not a tensor")
    says("02.2", 0.69, "should be a function")


def test_02_3_beat_the_recipe(gan_runs):
    from dcgan_lib import metrics
    torch.manual_seed(0)
    x = gan_runs.ds.tensors[0]
    ev = metrics.FrechetEvaluator(metrics.SmallClassifier(1).eval(), x[:32], x[32:], n=32)
    fast = gan_runs.trained("fast", lr=1e-3, steps=4)   # one epoch: 64 images / 16
    fd = ev(fast.G)["fd"]
    ctx = dict(run=smoke_run(), cfg=gan_runs.cfg, evaluator=ev)
    v = exercises.verdict("02.3", fast, epochs=[{"fd": fd * 1.5 + 1}], **ctx)
    assert v.ok and "below the recipe's" in v.message, v
    says("02.3", fast, "not below", epochs=[{"fd": fd * 0.5}], **ctx)
    ep = [{"fd": 1e9}]
    says("02.3", gan_runs.trained("recipe", steps=4), "the recipe itself", epochs=ep, **ctx)
    says("02.3", gan_runs.trained("wide", lr=1e-3, batch_size=8, steps=8), "batch_size",
         epochs=ep, **ctx)
    says("02.3", gan_runs.trained("long", lr=1e-3, steps=8), "one epoch", epochs=ep, **ctx)
    says("02.3", fast.out, "Trainer", epochs=ep, **ctx)


# ---------------------------------------------------------------------- 03 datasets
def test_03_memorisation_and_epochs():
    train = data.SyntheticShapes(200, 16, 1, seed=0).images
    held = data.SyntheticShapes(100, 16, 1, seed=1).images
    ctx = dict(run=smoke_run(), train_images=train, held_out=held)
    near = (train[:32] + 0.02 * torch.randn(32, 1, 16, 16)).clamp(-1, 1)
    v = exercises.verdict("03.1", near, **ctx)
    assert v.ok and "none is a byte copy" in v.message, v
    says("03.1", held[:32], "would not flag them", **ctx)
    says("03.1", train[:32].clone(), "byte copies", **ctx)
    says("03.1", near[:, :, :8], "images should be", **ctx)
    says("03.1", near * 3, "outside [-1, 1]", **ctx)
    says("03.1", near[:4], "too few", **ctx)
    epochs = [{"epoch": 1, "fd": 9.0, "nnd_100": 3.0, "nnd_1k": 5.0},
              {"epoch": 2, "fd": 7.0, "nnd_100": 2.0, "nnd_1k": 6.0},
              {"epoch": 3, "fd": 8.0, "nnd_100": 2.5, "nnd_1k": 4.0}]
    v = exercises.verdict("03.2", 3, run=smoke_run(), epochs=epochs)
    assert v.ok and "nnd_1k" in v.message and "epoch 2" in v.message, v
    says("03.2", 2, "Fréchet distance picks", run=smoke_run(), epochs=epochs)
    says("03.2", 1, "another epoch is lower", run=smoke_run(), epochs=epochs)
    says("03.2", 4, "no epoch 4", run=smoke_run(), epochs=epochs)


# ------------------------------------------------------------------ 04 deduplication
@pytest.fixture(scope="module")
def dedup_ctx():
    train_u8 = dedup.load_uint8(data.get_dataset("synthetic", None, 32, split="train",
                                                 synthetic_size=512))
    held_u8 = dedup.load_uint8(data.get_dataset("synthetic", None, 32, split="test",
                                                synthetic_size=512))
    models = {}
    for name, align in (("paper", False), ("align", True)):
        torch.manual_seed(0)
        models[name] = dedup.DedupAutoencoder(align=align)
        dedup.train_autoencoder(models[name], train_u8, 2, seed=0, log_every=0)
    return SimpleNamespace(train_u8=train_u8, held_u8=held_u8, models=models,
                           planted=dedup.plant_duplicates(held_u8, 40, seed=0))


def test_04_1_autoencoder_without_noise(dedup_ctx):
    c = dedup_ctx
    ctx = dict(run=smoke_run(), held_u8=c.held_u8, planted=c.planted,
               paper_model=c.models["paper"])
    torch.manual_seed(0)
    ae = dedup.DedupAutoencoder(noise_std=0.0, dropout=0.0)
    dedup.train_autoencoder(ae, c.train_u8, 5, seed=0, log_every=0)
    v = exercises.verdict("04.1", ae, **ctx)
    assert v.ok and "dead" in v.message and "recall at t=0" in v.message, v
    says("04.1", c.models["paper"], "set both to 0", **ctx)
    says("04.1", dedup.DedupAutoencoder(noise_std=0.0, dropout=0.0), "untrained", **ctx)
    says("04.1", dedup.DedupAutoencoder(noise_std=0.0, dropout=0.0, centre=False),
         "also changed centre", **ctx)
    says("04.1", "ae", "DedupAutoencoder", **ctx)


def test_04_2_shifted_copies(dedup_ctx):
    ctx = dict(run=smoke_run(), planted=dedup_ctx.planted)
    v = exercises.verdict("04.2", (dedup_ctx.models["align"].keys, 8), **ctx)
    assert v.ok and "shift copies" in v.message, v
    says("04.2", (dedup.exact_keys, 0), "needs recall", **ctx)
    says("04.2", (dedup.exact_keys, 4), "bit codes", **ctx)
    says("04.2", dedup.exact_keys, "pair (key_fn, t)", **ctx)
    says("04.2", (dedup.exact_keys, -1), "between 0 and 64", **ctx)


# ------------------------------------------------------------------ 05 classification
def test_05_1_and_2():
    assert status("05.1", 3584) == "right"
    says("05.1", 7168, "width-64")
    says("05.1", 8192 + 4096 + 2048, "without pooling")
    says("05.1", 2048, "last block alone")
    says("05.1", 1000, "is not it")
    assert status("05.2", lambda m: F.adaptive_max_pool2d(m, 4).flatten(1)) == "right"
    says("05.2", lambda m: F.adaptive_avg_pool2d(m, 4).flatten(1), "average pooling")
    says("05.2", lambda m: m.flatten(1), "pool each map")
    says("05.2", lambda m: F.adaptive_max_pool2d(m, 2).flatten(1), "pool each map")
    says("05.2", lambda m: F.max_pool2d(m, 2).flatten(1), "pool each map")


def test_05_3_few_labels():
    ds = data.SyntheticShapes(240, 32, 1, seed=0)
    x, y = ds.images, ds.labels.numpy()
    te = data.SyntheticShapes(60, 32, 1, seed=1)
    splits = (x[60:], y[60:], x[:60], y[:60], te.images, te.labels.numpy())
    torch.manual_seed(0)
    D = Discriminator(32, 8, 1)
    probe = dict(cs=(1e-3, 1e-2), val_draws=1, test_draws=2, seed=0)
    run = smoke_run()
    k = exercises.sizes("05", run)["k"]
    pix = [feat.pixel_features(v) for v in splits[0::2]]
    e_pix = feat.svm_probe(pix[0], y[60:], pix[1], y[:60], pix[2], splits[5], k=k,
                           verbose=False, **probe).test_mean
    fx, _ = feat.extract_features(D, splits[0::2], bn_images=x[60:], batch_size=64,
                                  verbose=False)
    e_d = feat.svm_probe(fx[0], y[60:], fx[1], y[:60], fx[2], splits[5], k=k, verbose=False,
                         **probe).test_mean
    chapter = {"raw pixels": e_pix + 3.0, "our D": e_d + 1.0}
    ctx = dict(run=run, splits=splits, D=D, bn_images=x[60:], probe=probe, batch_size=64,
               chapter_errors=chapter)
    v = exercises.verdict("05.3", {"raw pixels": e_pix, "our D": e_d}, **ctx)
    assert v.ok and f"with {k} labels per class" in v.message, v
    if abs(e_pix - e_d) > 0.01:
        says("05.3", {"raw pixels": e_d, "our D": e_pix}, "the check measures", **ctx)
    says("05.3", chapter, "more labels", **ctx)
    says("05.3", {"raw pixels": 0.3, "our D": 0.2}, "fractions", **ctx)
    says("05.3", {"our D": e_d}, "lacks raw pixels", **ctx)


# -------------------------------------------------------------------- 06 latent walk
def test_06_latent_walk():
    G = Generator(32, 100, 8, 3, z_dist="normal")
    run = smoke_run()
    assert status("06.1", 0.707, run=run, G=G) == "right"
    says("06.1", 1.0, "spherical walk", run=run, G=G)
    says("06.1", 0.5, "nearly orthogonal", run=run, G=G)
    says("06.1", 0.9, "measure it", run=run, G=G)
    classic = lambda z0, z1, t: (  # noqa: E731
        torch.sin((1 - t) * (w := torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))))
        * z0 + torch.sin(t * w) * z1) / torch.sin(w)
    assert status("06.2", classic) == "right"
    assert status("06.2", lambda a, b, t: latent.slerp(a, b, t)[0]) == "right"
    says("06.2", lambda a, b, t: (1 - t) * a + t * b, "linear interpolation")
    nlerp = lambda a, b, t: ((1 - t) * a + t * b) / ((1 - t) * a + t * b).norm() * (  # noqa
        (1 - t) * a.norm() + t * b.norm())
    says("06.2", nlerp, "normalised lerp")
    says("06.2", lambda a, b, t: a, "at t=0 it should return z0")
    says("06.2", lambda a, b, t: torch.zeros(3), "returns (3,) values")


# ---------------------------------------------------------------- 07 guided backprop
def test_07_guided_backprop():
    assert status("07.1", [0, 0, 2, 0]) == "right"
    assert status("07.1", torch.tensor([0.0, 0.0, 2.0, 0.0])) == "right"
    says("07.1", [0, -1, 2, 0], "plain gradient")
    says("07.1", [1, 0, 2, 3], "deconvnet")
    says("07.1", [0, 0, 2], "4 numbers")
    from dcgan_lib import features, guided
    torch.manual_seed(0)
    D = Discriminator(32, 8, 1)
    x = data.SyntheticShapes(48, 32, 1, seed=0).images
    features.reestimate_bn(D, x, 16)
    study = {"D": D, "images": x, "masks": x[:, 0] > -0.8}
    resp = guided.max_responses(D, x, channels=range(32), k=4)
    maps = guided.guided_backprop(D, x, resp)
    per = guided.per_channel(guided.mass_inside(maps, study["masks"][[r.image for r in resp]])
                             ["ratio"], resp)
    best, worst = max(per, key=per.get), min(per, key=per.get)
    ctx = dict(run=smoke_run(), study=study, k=4)
    v = exercises.verdict("07.2", best, **ctx)
    assert v.ok and "the highest of the 32 channels" in v.message, v
    says("07.2", worst, "channels are higher", **ctx)
    says("07.2", 32, "does not exist", **ctx)
    v = exercises.verdict("07.2", best, run=smoke_run(), study={**study, "masks": None}, k=4)
    assert "top_share" in v.message, v     # no masks (the full profile): the mask-free measure


# --------------------------------------------------------------------- 08 forgetting
@pytest.fixture(scope="module")
def surgery_ctx():
    torch.manual_seed(0)
    G = Generator(32, 100, 8, 3, z_dist="normal").eval()
    bf = surgery.BoxFile("test", 0, 40, 32, object="made-up box", samples={
        i: [surgery.Box(10, 6, 22, 28, str(i % 3))] if i % 4 else [] for i in range(40)})
    layer = surgery.feature_layer(G)
    z, images, feats = surgery.box_samples(G, bf, layer)
    X, y, where = surgery.object_dataset(feats, bf, seed=0)
    clf, _ = surgery.fit_object_classifier(X, y, groups=where[:, 0], seed=0)
    drop = surgery.object_channels(clf)
    control = surgery.random_channels(feats.shape[1], len(drop), seed=0, exclude=drop)
    before, _ = surgery.generate_pair(G, z, layer, drop, batch_size=len(z))
    return dict(run=smoke_run(), G=G, z=z, layer=layer, drop=drop, before=before,
                masks=surgery.pixel_masks(bf, range(bf.n_samples)), boxed=bf.boxed), clf, control


def test_08_1_fewer_maps(surgery_ctx):
    ctx, clf, _ = surgery_ctx
    drop = ctx["drop"]
    assert len(drop) >= 4
    top = sorted(drop, key=lambda c: -clf.coef_[0][c])[:len(drop) // 2]
    v = exercises.verdict("08.1", top, **ctx)
    assert v.ok and f"{len(top)} maps give" in v.message, v
    says("08.1", drop, "use at most", **ctx)
    says("08.1", [top[0], top[0]], "appears twice", **ctx)
    says("08.1", [10_000], "channels run from 0", **ctx)
    says("08.1", [], "empty", **ctx)
    weak = sorted(drop, key=lambda c: clf.coef_[0][c])[:1]     # the weakest object map alone
    v = exercises.verdict("08.1", weak, **ctx)
    assert v.status in ("right", "wrong") and "inside/outside change ratio" in v.message


def test_08_2_least_liked_maps(surgery_ctx):
    ctx, clf, control = surgery_ctx
    G, z, layer, drop = ctx["G"], ctx["z"], ctx["layer"], ctx["drop"]
    least = [int(c) for c in np.argsort(clf.coef_[0], kind="stable")[:len(drop)]]
    _, after = surgery.generate_pair(G, z, layer, least, batch_size=len(z))
    b = ctx["boxed"]
    r = surgery.region_change(ctx["before"][b], after[b], ctx["masks"][b])["ratio"]
    full = dict(ctx, clf=clf, control=control)
    v = exercises.verdict("08.2", {"prediction": "less", "ratio": r}, **full)
    assert v.ok and "random maps" in v.message, v
    says("08.2", {"prediction": "less", "ratio": r + 0.5}, "is not what dropping", **full)
    says("08.2", {"prediction": "fewer", "ratio": r}, "prediction should be one of", **full)


# ---------------------------------------------------------------- 09 vector arithmetic
def test_sleeve_length_measures_the_bands_beside_the_torso():
    x = -torch.ones(2, 1, 32, 32)
    x[:, :, 2:30, 8:24] = 1                  # a torso
    x[1, :, 13:28, 1:7] = 1                  # long sleeves hanging beside it
    x[1, :, 13:28, 25:31] = 1
    s = exercises.sleeve_length(x)
    assert s[0] == 0 and s[1] > 0.9


class LinearG(torch.nn.Module):
    """A generator whose images are a smooth function of z with structure in every region
    (an untrained DCGAN's vary too little there to test a direction)."""

    nz = 100

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(100, 32 * 32)
        torch.nn.init.normal_(self.fc.weight, 0, 0.3)

    def forward(self, z):
        return torch.tanh(self.fc(z)).reshape(-1, 1, 32, 32)

    def sample_z(self, n, generator=None):
        return torch.rand(n, 100, generator=generator) * 2 - 1


@pytest.fixture(scope="module")
def arithmetic_ctx():
    torch.manual_seed(0)
    G = LinearG().eval()
    context = latent.seeded_z(G, 32, 7)
    z = latent.seeded_z(G, 512, 0)
    x = latent.decode(G, z, batch_size=512)
    s = exercises.sleeve_length(x)
    d = latent.direction(z[latent.pick_exemplars(s, 8, lowest=True)],
                         z[latent.pick_exemplars(s, 8)])
    return G, context, d


def test_09_1_sleeve_direction(arithmetic_ctx):
    G, context, d = arithmetic_ctx
    ctx = dict(run=smoke_run(), G=G, classifier=None, context=context)
    v = exercises.verdict("09.1", d, **ctx)
    assert v.ok and "sleeve bands" in v.message, v
    says("09.1", -d, "shortens sleeves", **ctx)
    says("09.1", 100 * d, "no longer than a typical z", **ctx)
    says("09.1", d[:50], "z has 100 dimensions", **ctx)
    says("09.1", torch.zeros(100), "no longer than", **ctx)
    r = torch.randn(100, generator=torch.Generator().manual_seed(1))
    says("09.1", r * d.norm() / r.norm(), "not more than a random direction", **ctx)
    says("09.1", d, "needs the classifier", run=smoke_run(profile="cpu"), G=G, classifier=None,
         context=context)                  # cpu judges tops only: it needs the classifier


def test_09_2_alpha_two(arithmetic_ctx):
    from dcgan_lib import metrics
    G, context, d = arithmetic_ctx
    torch.manual_seed(0)
    net = metrics.SmallClassifier(1).eval()
    z = latent.seeded_z(G, 16, 3)
    with torch.no_grad():
        c = {a: net(latent.decode(G, z + a * d, context=context)).argmax(1) for a in (0, 1, 2)}
    share = {a: float((c[a] == c[0]).float().mean()) for a in (1, 2)}
    ctx = dict(run=smoke_run(), G=G, d=d, z=z, context=context, classifier=net)
    v = exercises.verdict("09.2", share[2], **ctx)
    assert v.ok and "keep their class at alpha = 2" in v.message, v
    says("09.2", 12.5, "between 0 and 1", **ctx)
    says("09.2", (share[2] + 0.5) % 1, "the check measures", **ctx)
    says("09.2", share[2], "needs the chapter's classifier", **{**ctx, "classifier": None})


# -------------------------------------------------------------------- 10 conditional
def test_10_1_config():
    from dcgan_lib.train import TrainConfig
    ok = dict(labels=True, arch="mlp", dataset="mnist", image_size=28, bn_affine=False,
              schedule="alternating", epochs=200, decay_epochs=100, weight_decay=2.5e-5)
    assert status("10.1", TrainConfig(**ok)) == "right"
    says("10.1", TrainConfig(**{**ok, "arch": "dcgan"}), "fully connected")
    says("10.1", TrainConfig(**{**ok, "bn_affine": None}), "without scale and bias")
    says("10.1", TrainConfig(**{**ok, "schedule": "same-batch"}), "alternates")
    says("10.1", TrainConfig(**{**ok, "decay_epochs": 0.0}), "linearly to 0")
    says("10.1", TrainConfig(**{**ok, "epochs": 100}), "200 epochs")
    says("10.1", dict(ok), "TrainConfig")


@pytest.fixture(scope="module")
def knn_ctx():
    tr = data.SyntheticShapes(200, 16, 1, seed=0)
    te = data.SyntheticShapes(50, 16, 1, seed=1)
    return tr.images, tr.labels, te.images, te.labels


def test_10_2_few_real_images(knn_ctx):
    from dcgan_lib.knn import chunks, nn_errors
    x, y, xt, yt = knn_ctx
    run = smoke_run()
    k = exercises.sizes("10", run)["per_class"]
    few = torch.cat([(y == c).nonzero().flatten()[:k] for c in range(2)]).sort().values
    ref = 100 * nn_errors(chunks(x[few], y[few]), {"test": (xt, yt)}, log=None)[0]["test"]
    ctx = dict(run=run, x_train=x, y_train=y, x_test=xt, y_test=yt)
    v = exercises.verdict("10.2", ref, **ctx)
    assert v.ok and f"with {k} images per class" in v.message, v
    if ref > 0:
        says("10.2", ref / 100, "fraction", **ctx)
    says("10.2", ref + 5, "the check measures", **ctx)


def test_10_3_worst_class(knn_ctx):
    from dcgan_lib.conditional import CondGenerator, generate_labelled
    from dcgan_lib.knn import StreamingNN
    x, y, _, _ = knn_ctx
    torch.manual_seed(0)
    G = CondGenerator(nz=16, ny=2, ngf=8, nfc=32, image_size=16).eval()
    run = smoke_run()
    n = exercises.sizes("10", run)["samples"] * 2
    gx, gy = (torch.cat(t) for t in zip(*generate_labelled(G, n, seed=run.seed + 31)))
    knn = StreamingNN(gx)
    knn.partial_fit(x, y)
    miss = (knn.predict() != gy).float()
    err = [float(miss[gy == c].mean()) for c in range(2)]
    ctx = dict(run=run, G=G, x_train=x, y_train=y)
    v = exercises.verdict("10.3", int(np.argmax(err)), **ctx)
    assert v.ok, v
    if max(err) - min(err) > 0.5:
        says("10.3", int(np.argmin(err)), "do worse", **ctx)
    says("10.3", 5, "no class 5", **ctx)


# -------------------------------------------------------------------- student edition
def test_student_edition_drops_solution_cells_by_tag(tmp_path):
    written = student_edition.write(tmp_path)
    assert [p.stem for p in written] == CHAPTERS
    import nbformat
    for path in written:
        nb = nbformat.read(path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert not any("solution" in t for t in tags), path.name
        starters = sum("student" in t for t in tags)
        assert starters == len(exercises.for_chapter(path.stem)), path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        assert "jupytext" not in nb.metadata
        book = nbformat.read(REPO / "book" / path.name, as_version=4)
        assert len(book.cells) - len(nb.cells) == starters    # one solution per exercise
        text = "\n".join(c.source for c in nb.cells)
        assert "@@COST" not in text, path.name               # every exercise states its cost


def test_student_edition_uses_tags_not_text(tmp_path):
    chapter = tmp_path / "99_toy.py"
    chapter.write_text('# %% [markdown]\n# # toy\n\n# %% tags=["student"]\nanswer = None\n\n'
                       '# %% tags=["solution"]\nanswer = 3  # tags=["student"]\n\n'
                       '# %%\n# a cell that mentions tags=["solution"] in its text\n'
                       'print(answer)\n')
    nb = student_edition.student_notebook(chapter)
    assert [c.source for c in nb.cells if c.cell_type == "code"] == [
        "answer = None", '# a cell that mentions tags=["solution"] in its text\nprint(answer)']
    chapter.write_text('# %% tags=["solution"]\nanswer = 3\n')
    with pytest.raises(SystemExit, match="tagged 'student'"):
        student_edition.student_notebook(chapter)


def _execute(src: Path, dst: Path, results: Path) -> str:
    """Run one notebook with papermill in the smoke profile; its outputs' text."""
    env = {**os.environ, "DCGAN_PROFILE": "smoke", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "papermill", "-k", "python3", "--log-level",
                           "ERROR", str(src), str(dst), "-p", "profile", "smoke",
                           "-p", "results_dir", str(results)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{src}: {proc.stderr[-3000:]}"
    nb = json.loads(dst.read_text())
    out = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            t = o.get("text", "")
            out.append("".join(t) if isinstance(t, list) else t)
    return "\n".join(out)


def test_instructor_edition_passes_every_check_and_student_edition_runs(tmp_path):
    student = student_edition.write(tmp_path / "student")
    jobs = [(REPO / "book" / p.name, "instructor") for p in student]
    jobs += [(p, "student") for p in student]

    def one(job):
        src, edition = job
        return src.stem, edition, _execute(src, tmp_path / f"{edition}-{src.name}",
                                           tmp_path / f"results-{edition}")
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(one, jobs))
    for chapter, edition, text in done:
        got = exercises.parse(text)
        ids = [e.id for e in exercises.for_chapter(chapter)]
        want = "right" if edition == "instructor" else "not done yet"
        assert sorted(got) == ids, (chapter, edition, got)
        bad = {i: s for i, s in got.items() if s != want}
        lines = [ln for ln in text.splitlines() if ln.startswith("Exercise ")]
        assert not bad, f"{edition} {chapter}: " + "; ".join(lines)
