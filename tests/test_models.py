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
