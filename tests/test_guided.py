"""Guided backpropagation of discriminator features (dcgan_lib.guided, paper section 6.2)."""
import numpy as np
import pytest
import torch
from torch import nn

from dcgan_lib import guided
from dcgan_lib.models import Discriminator


class TinyReLUNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.ReLU(inplace=True)),
            nn.Sequential(nn.Conv2d(4, 3, 3, 2, 1), nn.ReLU(inplace=True)),
        ])

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


def manual_guided(net, x, c, i, j):
    """Springenberg's rule written out layer by layer with autograd.grad."""
    x = x.clone().requires_grad_(True)
    conv1, conv2 = net.blocks[0][0], net.blocks[1][0]
    a1 = conv1(x)
    h1 = torch.relu(a1)
    a2 = conv2(h1)
    h2 = torch.relu(a2)
    g_h2 = torch.zeros_like(h2)
    g_h2[0, c, i, j] = 1.0
    g_a2 = g_h2.clamp(min=0) * (a2 > 0)
    g_h1, = torch.autograd.grad(a2, h1, g_a2, retain_graph=True)
    g_a1 = g_h1.clamp(min=0) * (a1 > 0)
    g_x, = torch.autograd.grad(a1, x, g_a1)
    return g_x


def test_matches_springenbergs_rule_on_a_relu_net():
    net = TinyReLUNet()
    x = torch.randn(5, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    resp = guided.max_responses(net, x, layer=1, channels=[0, 2], k=2)
    maps = guided.guided_backprop(net, x, resp, layer=1)
    for r, m in zip(resp, maps):
        ref = manual_guided(net, x[r.image:r.image + 1], r.channel, r.y, r.x)[0]
        assert torch.allclose(m, ref, atol=1e-6)
    plain = guided.guided_backprop(net, x, resp, layer=1, guide=False)
    assert not torch.allclose(plain, maps)                 # guiding changes the gradient
    assert (plain < 0).any()


@pytest.mark.parametrize("leaky", ["positive", "slope"])
def test_gradient_through_each_rectifier_is_guided(leaky):
    torch.manual_seed(0)
    D = Discriminator(16, ndf=8, nc=1).eval()
    x = torch.randn(4, 1, 16, 16)
    seen = []

    def pre(m, inp):
        t = inp[0]
        if t.requires_grad:
            t.register_hook(lambda g, t=t: seen.append((t.detach(), g.detach())))

    hs = [m.register_forward_pre_hook(pre) for m in D.modules() if isinstance(m, nn.LeakyReLU)]
    resp = guided.max_responses(D, x, channels=[0, 1], k=2)
    guided.guided_backprop(D, x, resp, leaky=leaky)
    for h in hs:
        h.remove()
    assert len(seen) == 2                       # both LeakyReLUs up to the last conv layer
    for inp, g in seen:
        assert (g >= 0).all()                   # non-negative through every rectifier
        if leaky == "positive":
            assert (g[inp < 0] == 0).all()      # and zero where the forward input was negative
    assert (seen[-1][1] > 0).sum() > 0
    # seen[-1] is the first LeakyReLU (backward runs last to first); with "slope" its 0.2 leak
    # passes signal back where the input was negative, with "positive" nothing does
    inp, g = seen[-1]
    assert (g[inp < 0] > 0).any() == (leaky == "slope")


def test_context_restores_the_model():
    torch.manual_seed(0)
    D = Discriminator(16, ndf=8, nc=1).eval()
    x = torch.randn(3, 1, 16, 16)
    acts = [m for m in D.modules() if isinstance(m, nn.LeakyReLU)]
    assert all(m.inplace for m in acts)
    with guided.guided(D):
        assert not any(m.inplace for m in acts)
    assert all(m.inplace for m in acts)
    assert all(not m._forward_hooks and not m._backward_hooks for m in acts)
    with pytest.raises(ValueError, match="leaky"):
        with guided.guided(D, "abs"):
            pass
    with pytest.raises(ValueError, match="no nn.ReLU"):
        with guided.guided(nn.Linear(2, 2)):
            pass


def test_max_responses_are_the_largest_activations_and_maps_do_not_depend_on_batch():
    torch.manual_seed(0)
    D = Discriminator(16, ndf=8, nc=1)
    x = torch.randn(12, 1, 16, 16)
    D.train()                                    # max_responses must switch to eval itself
    resp = guided.max_responses(D, x, channels=range(3), k=4, batch_size=5)
    assert D.training
    D.eval()
    with torch.no_grad():
        a = D.blocks[1](D.blocks[0](x))         # last conv block of a 16px D is block 1
    assert guided.last_conv_layer(D) == 1
    for ch in range(3):
        rs = [r for r in resp if r.channel == ch]
        per_image = a[:, ch].flatten(1).max(1).values
        top = torch.sort(per_image, descending=True).values[:4]
        assert np.allclose([r.value for r in rs], top.numpy(), atol=1e-6)
        for r in rs:
            assert a[r.image, ch, r.y, r.x] == pytest.approx(r.value, abs=1e-6)
    both = guided.guided_backprop(D, x, resp[:2])
    one = guided.guided_backprop(D, x, resp[1:2])
    assert torch.allclose(both[1], one[0], atol=1e-6)
    shown = guided.to_display(both)
    assert shown.abs().flatten(1).amax(1).allclose(torch.ones(2))


def test_mass_inside_known_answer():
    maps = torch.zeros(2, 1, 4, 4)
    maps[0, 0, 0, 0] = 3.0
    maps[0, 0, 3, 3] = -1.0
    maps[1] = 1.0
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[:, :2, :2] = True
    out = guided.mass_inside(maps, masks)
    assert np.allclose(out["inside"], [0.75, 0.25])
    assert np.allclose(out["area"], [0.25, 0.25])
    assert np.allclose(out["ratio"], [3.0, 1.0])
    with pytest.raises(ValueError, match="masks"):
        guided.mass_inside(maps, masks[0])
    resp = [guided.Response(0, 0, 0, 0, 0, 1.0), guided.Response(1, 0, 1, 0, 0, 1.0)]
    assert guided.per_channel(np.array([2.0, 5.0]), resp) == {0: 2.0, 1: 5.0}


def test_top_share_flat_versus_peaked():
    flat = torch.ones(1, 3, 10, 10)
    peaked = torch.zeros(1, 1, 10, 10)
    peaked[0, 0, 0, :5] = 2.0
    assert guided.top_share(flat, 0.1) == pytest.approx([0.1])
    assert guided.top_share(peaked, 0.1) == pytest.approx([1.0])


def test_max_responses_rejects_empty_input():
    D = Discriminator(16, ndf=8, nc=1)
    with pytest.raises(ValueError, match="at least one image"):
        guided.max_responses(D, torch.zeros(0, 1, 16, 16))
