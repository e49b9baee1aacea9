import pytest
import torch
from torch import nn

from dcgan_lib.models import (Discriminator, Generator, activations, batch_stats,
                              count_parameters, layer_table, sample_z)


@pytest.mark.parametrize("variant", ["paper", "torch"])
@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_shapes(variant, size):
    G = Generator(size, nz=10, ngf=8, nc=3, variant=variant)
    D = Discriminator(size, ndf=8, nc=3, variant=variant)
    x = G(G.sample_z(3))
    assert x.shape == (3, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (3,)


def test_torch_variant_parameter_counts_match_pytorch_example():
    assert count_parameters(Generator(64, 100, 64, 3, "torch")) == 3_576_704
    assert count_parameters(Discriminator(64, 64, 3, "torch")) == 2_765_568


def test_paper_variant_matches_authors_svhn_layout():
    G = Generator(32, 100, 64, 3, "paper")
    shapes = [tuple(p.shape) for p in G.parameters()]
    assert shapes == [(100, 4096)[::-1], (4096,), (4096,), (256, 128, 5, 5), (128,), (128,),
                      (128, 64, 5, 5), (64,), (64,), (64, 3, 5, 5)]
    D = Discriminator(32, 64, 3, "paper")
    shapes = [tuple(p.shape) for p in D.parameters()]
    assert shapes == [(64, 3, 5, 5), (128, 64, 5, 5), (128,), (128,), (256, 128, 5, 5),
                      (256,), (256,), (1, 4096)]


@pytest.mark.parametrize("variant", ["paper", "torch"])
def test_no_batchnorm_on_generator_output_or_discriminator_input(variant):
    G = Generator(32, 10, 8, 1, variant)
    D = Discriminator(32, 8, 1, variant)
    bn = (nn.BatchNorm1d, nn.BatchNorm2d)
    assert not any(isinstance(m, bn) for m in G.blocks[-1])
    assert isinstance(G.blocks[-1][-1], nn.Tanh)
    assert not any(isinstance(m, bn) for m in D.blocks[0])
    assert all(any(isinstance(m, bn) for m in b) for b in G.blocks[:-1])
    assert all(any(isinstance(m, bn) for m in b) for b in D.blocks[1:-1])
    # no biases anywhere but batch-norm shifts
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                assert m.bias is None
    assert all(isinstance(b[-1], nn.LeakyReLU) and b[-1].negative_slope == 0.2
               for b in D.blocks[:-1])


def test_initial_weight_statistics():
    torch.manual_seed(0)
    G = Generator(64, 100, 64, 3, "torch")
    w = torch.cat([m.weight.flatten() for m in G.modules()
                   if isinstance(m, (nn.ConvTranspose2d, nn.Linear))])
    assert abs(w.mean().item()) < 1e-3
    assert abs(w.std().item() - 0.02) < 1e-3
    g = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(g.mean().item() - 1) < 0.01 and 0.01 < g.std().item() < 0.03
    b = torch.cat([m.bias for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert torch.all(b == 0)


def test_bn_without_affine():
    G = Generator(32, 10, 8, 1, "paper", bn_affine=False)
    assert all(not m.affine for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def test_z_distributions():
    g = torch.Generator().manual_seed(0)
    u = sample_z(4000, 10, "uniform", g)
    assert u.min() >= -1 and u.max() <= 1 and abs(u.std().item() - (1 / 3) ** 0.5) < 0.02
    n = sample_z(4000, 10, "normal", g)
    assert abs(n.std().item() - 1) < 0.05
    with pytest.raises(ValueError, match="uniform"):
        sample_z(2, 2, "cauchy")
    assert Generator(32, variant="paper").z_dist == "uniform"
    assert Generator(32, variant="torch").z_dist == "normal"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="power of two"):
        Generator(48)
    with pytest.raises(ValueError, match="variant"):
        Discriminator(32, variant="keras")


def test_activations_per_block():
    D = Discriminator(32, 8, 3, "paper")
    x = torch.randn(4, 3, 32, 32)
    with activations(D) as acts:
        out = D(x)
    assert [tuple(a.shape) for a in acts.values()] == [(4, 8, 16, 16), (4, 16, 8, 8),
                                                        (4, 32, 4, 4), (4, 1)]
    assert torch.equal(acts[3].reshape(-1), out)
    assert not D.blocks[0]._forward_hooks  # hooks removed afterwards
    G = Generator(32, 10, 8, 1, "torch")
    with activations(G, layers=[1]) as acts:
        G(G.sample_z(2))
    assert list(acts) == [1] and acts[1].shape == (2, 16, 8, 8)


def test_batch_stats_leaves_running_statistics_alone():
    G = Generator(16, 10, 8, 1, "paper").eval()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    z = G.sample_z(8)
    with batch_stats(G):
        a = G(z)
    assert not G.training
    for k, v in G.state_dict().items():
        assert torch.equal(v, before[k]), k
    # batch statistics differ from the (untrained) running ones
    assert not torch.allclose(a, G(z))


def test_layer_table_rows():
    rows = layer_table(Discriminator(64, 64, 3, "torch"), (3, 64, 64))
    assert [r["output"] for r in rows] == [(64, 32, 32), (128, 16, 16), (256, 8, 8),
                                          (512, 4, 4), (1,)]
    assert sum(r["params"] for r in rows) == 2_765_568


@pytest.mark.parametrize("variant", ["paper", "torch"])
def test_a_training_step_changes_both_networks(variant):
    torch.manual_seed(0)
    G, D = Generator(16, 8, 8, 1, variant), Discriminator(16, 8, 1, variant)
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    g0 = [p.clone() for p in G.parameters()]
    d0 = [p.clone() for p in D.parameters()]
    loss = nn.BCEWithLogitsLoss()
    real, fake = torch.rand(8, 1, 16, 16) * 2 - 1, G(G.sample_z(8))
    ld = loss(D(real), torch.ones(8)) + loss(D(fake.detach()), torch.zeros(8))
    oD.zero_grad(); ld.backward(); oD.step()
    lg = loss(D(fake), torch.ones(8))
    oG.zero_grad(); lg.backward(); oG.step()
    assert all(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


@pytest.mark.parametrize("variant", ["paper", "torch"])
def test_constructor_z_dist_is_what_sample_z_draws(variant):
    for dist in ("uniform", "normal"):
        G = Generator(16, 8, 4, 1, variant, z_dist=dist)
        assert G.z_dist == dist
        z = G.sample_z(2000, torch.Generator().manual_seed(0))
        assert torch.equal(z, sample_z(2000, 8, dist, torch.Generator().manual_seed(0)))
    assert Generator(16, 8, 4, 1, variant, z_dist=None).z_dist == \
        ("uniform" if variant == "paper" else "normal")
    with pytest.raises(ValueError, match="z_dist"):
        Generator(16, 8, 4, 1, variant, z_dist="cauchy")
    with pytest.raises(TypeError):   # keyword-only past variant
        Generator(16, 8, 4, 1, variant, True)


def test_z_dist_belongs_to_the_constructor_not_the_state_dict():
    torch.manual_seed(0)
    G = Generator(16, 8, 4, 1, "paper", z_dist="normal")
    state = G.state_dict()
    assert not any("z_dist" in k for k in state)          # checkpoints hold weights only
    # a round trip into a generator built the same way samples the same z and images
    G2 = Generator(16, 8, 4, 1, "paper", z_dist="normal")
    G2.load_state_dict(state)
    assert G2.z_dist == "normal"
    z, z2 = (g.sample_z(4, torch.Generator().manual_seed(1)) for g in (G, G2))
    assert torch.equal(z, z2)
    assert torch.equal(G.eval()(z), G2.eval()(z2))
    # loading weights never changes the distribution the target was built with
    U = Generator(16, 8, 4, 1, "paper")
    U.load_state_dict(state)
    assert U.z_dist == "uniform" and U.sample_z(500).min() >= -1



# ---------------------------------------------------------------- memory estimate (issue 13)
from dcgan_lib import models as models_mod  # noqa: E402

ONE_STEP = r"""
import json, sys
import torch
from torch import nn
from dcgan_lib.models import Discriminator, Generator

def rss_and_peak():
    with open("/proc/self/status") as f:
        d = dict(line.split(":", 1) for line in f)
    return int(d["VmRSS"].split()[0]) * 1024, int(d["VmHWM"].split()[0]) * 1024

def step(size, nc, nz, width, batch):
    # the trainer's same-batch step (train.Trainer.train_step), float32, channels-last
    cl = torch.channels_last
    G = Generator(size, nz, width, nc).to(memory_format=cl)
    D = Discriminator(size, width, nc).to(memory_format=cl)
    oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    loss = nn.BCEWithLogitsLoss()
    real = (torch.rand(batch, nc, size, size) * 2 - 1).contiguous(memory_format=cl)
    fake = G(G.sample_z(batch))
    oD.zero_grad(set_to_none=True)
    loss(D(real), torch.ones(batch)).backward()
    loss(D(fake.detach()), torch.zeros(batch)).backward()
    oD.step()
    D.requires_grad_(False)
    lg = loss(D(fake), torch.ones(batch))
    oG.zero_grad(set_to_none=True)
    lg.backward()
    oG.step()

size, nc, nz, width, batch = map(int, sys.argv[1:])
torch.set_num_threads(1)
step(size, nc, nz, width, 2)        # warm-up: kernels, thread pool
before, _ = rss_and_peak()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                    # the peak (VmHWM) starts again from here
step(size, nc, nz, width, batch)
print(json.dumps(rss_and_peak()[1] - before))
"""


def _can_reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def test_memory_estimate_grows_with_batch_image_size_width_and_data():
    est = models_mod.estimate_train_memory
    base = est(32, 3, 100, 16, 16, 32)
    assert est(32, 3, 100, 16, 16, 64) > base and est(32, 3, 100, 16, 16, 16) < base
    assert est(64, 3, 100, 16, 16, 32) > base and est(32, 3, 100, 32, 32, 32) > base
    assert est(32, 3, 100, 16, 16, 32, variant="torch") > 0
    n = 1000
    assert est(32, 3, 100, 16, 16, 32, dataset_images=n) - base == n * 3 * 32 * 32 * 4
    assert est(32, 3, 100, 16, 16, 32, dataset_images=n, preload=False) == base
    # parameters alone, four copies of float32 (weights, gradients, two Adam moments)
    params = count_parameters(Generator(32, 100, 16, 3)) + count_parameters(
        Discriminator(32, 16, 3))
    assert base > 16 * params


def test_memory_estimate_refuses_bad_arguments_by_name():
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        models_mod.estimate_train_memory(32, 3, 100, 16, 16, 0)
    with pytest.raises(ValueError, match="image_size must be a power of two"):
        models_mod.estimate_train_memory(24, 3, 100, 16, 16, 8)
    with pytest.raises(ValueError, match="ngf must be at least 1"):
        models_mod.estimate_train_memory(32, 3, 100, 0, 16, 8)


def test_memory_estimate_of_the_run_the_kernel_killed():
    """``--image-size 1024`` (batch 128, width 64) was killed at 23.7 GB on a 24 GB machine."""
    assert models_mod.estimate_train_memory(1024, 3, 100, 64, 64, 128) > 24 * 2**30
    assert models_mod.estimate_train_memory(64, 3, 100, 64, 64, 128) < 2 * 2**30


@pytest.mark.skipif(not _can_reset_peak_rss(), reason="needs Linux's /proc/self/clear_refs")
def test_memory_estimate_is_near_the_measured_peak_of_one_training_step():
    """The peak resident memory one real CPU step adds (measured in a fresh process after a
    warm-up step, the peak reset just before) is within a factor 2 of the estimate. 64x64:
    at smaller sizes memory freed by the warm-up and the imports hides much of the step."""
    import json
    import os
    import subprocess
    import sys
    cfg = (64, 3, 100, 16, 64)  # size, channels, nz, width, batch
    r = subprocess.run([sys.executable, "-c", ONE_STEP, *map(str, cfg)], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    measured = json.loads(r.stdout)
    size, nc, nz, width, batch = cfg
    estimate = models_mod.estimate_train_memory(size, nc, nz, width, width, batch)
    assert 0.5 < estimate / measured < 2, (estimate, measured)


def test_available_memory_and_its_fallbacks(monkeypatch):
    import sys
    free = models_mod.available_memory()
    assert isinstance(free, int) and 0 < free
    with open("/proc/meminfo") as f:
        total = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024
    assert free <= total

    def no_proc(*a, **k):
        raise OSError("no /proc here")
    monkeypatch.setattr(models_mod, "open", no_proc, raising=False)
    psutil = pytest.importorskip("psutil")
    assert 0 < models_mod.available_memory() <= psutil.virtual_memory().total
    monkeypatch.setitem(sys.modules, "psutil", None)  # not installed
    assert 0 < models_mod.available_memory() <= total
