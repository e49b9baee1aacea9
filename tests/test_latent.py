"""Latent walks, smoothness and vector arithmetic (dcgan_lib.latent, paper 6.1 and 6.3.2)."""
import math

import numpy as np
import pytest
import torch

from dcgan_lib import latent
from dcgan_lib.models import Generator


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return Generator(16, nz=8, ngf=8, nc=1)


def test_lerp_and_slerp_endpoints_and_norms():
    g = torch.Generator().manual_seed(1)
    z0, z1 = torch.randn(50, generator=g).double(), torch.randn(50, generator=g).double() * 3
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    for f in (latent.lerp, latent.slerp):
        p = f(z0, z1, t)
        assert p.shape == (7, 50)
        assert torch.allclose(p[0], z0, atol=1e-5) and torch.allclose(p[-1], z1, atol=1e-5)
    s = latent.slerp(z0, z1, t)
    # slerp's norm moves linearly between the endpoint norms; its direction is on the arc
    assert torch.allclose(s.norm(dim=1), (1 - t) * z0.norm() + t * z1.norm(), rtol=1e-5)
    angles = torch.arccos(((s / s.norm(dim=1, keepdim=True)) @ (z0 / z0.norm())).clamp(-1, 1))
    total = torch.arccos((z0 / z0.norm()) @ (z1 / z1.norm()))
    assert torch.allclose(angles, t * total, atol=1e-4)
    # lerp through the middle of two opposite-ish vectors loses norm; slerp does not
    assert latent.lerp(z0, -z0, 0.5).norm() < 1e-5
    # parallel vectors: slerp falls back to lerp
    assert torch.allclose(latent.slerp(z0, 2 * z0, t), latent.lerp(z0, 2 * z0, t), atol=1e-5)


def test_walk_rows_chain_through_the_points():
    pts = torch.randn(9, 4)
    w = latent.walk(pts, 5, "spherical")
    assert w.shape == (8, 5, 4)
    for i in range(8):
        assert torch.allclose(w[i, 0], pts[i], atol=1e-5)
        assert torch.allclose(w[i, -1], pts[i + 1], atol=1e-5)
    with pytest.raises(ValueError, match="method"):
        latent.walk(pts, 5, "cubic")
    with pytest.raises(ValueError, match="steps"):
        latent.interpolate(pts[0], pts[1], 1)


def test_smoothness_even_morph_versus_jump():
    t = torch.linspace(0, 1, 6).reshape(1, 6, 1, 1, 1)
    a, b = torch.zeros(1, 1, 1, 4, 4), torch.ones(1, 1, 1, 4, 4)
    even = (1 - t) * a + t * b                                           # (1, 6, 1, 4, 4)
    jump = torch.cat([a.expand(1, 3, 1, 4, 4), b.expand(1, 3, 1, 4, 4)], 1)
    se = latent.smoothness(even)["summary"]
    sj = latent.smoothness(jump)["summary"]
    assert se["pixel_max_share"] == pytest.approx(1 / 5)
    assert se["pixel_jump"] == pytest.approx(1.0)
    assert sj["pixel_max_share"] == pytest.approx(1.0)
    assert sj["pixel_jump"] == math.inf
    # a feature function is used and reported under "feature"
    sf = latent.smoothness(even, features=lambda x: x.flatten(1) * 2)["summary"]
    assert sf["feature_mean_step"] == pytest.approx(2 * se["pixel_mean_step"])
    row = latent.smoothness(even)["rows"][0]
    assert np.allclose(row["pixel_steps"], 0.2)


def test_memorising_generator_walk_jumps_and_real_generator_is_smoother(G):
    imgs = torch.rand(20, 1, 16, 16) * 2 - 1
    M = latent.MemorisingGenerator(imgs, nz=8, seed=0)
    z = M.anchors[:3]
    out = latent.decode(M, z)
    assert torch.equal(out, imgs[:3])                 # anchors map to their own images
    w = latent.walk(latent.seeded_z(G, 4, 0), 12)
    mem = latent.decode(M, w.reshape(-1, 8)).reshape(3, 12, 1, 16, 16)
    gen = latent.decode(G, w.reshape(-1, 8)).reshape(3, 12, 1, 16, 16)
    sm = latent.smoothness(mem)["summary"]
    sg = latent.smoothness(gen)["summary"]
    assert sm["pixel_max_share"] > sg["pixel_max_share"]


def test_decode_batch_context_and_eval(G):
    z = latent.seeded_z(G, 6, 0)
    assert torch.equal(z, G.sample_z(6, torch.Generator().manual_seed(0)))
    ctx = latent.seeded_z(G, 64, 1)
    a = latent.decode(G, z, "batch", context=ctx)
    b = latent.decode(G, z[:3], "batch", context=ctx)
    assert a.shape == (6, 1, 16, 16)
    # with a large context the statistics hardly depend on the other requested vectors
    assert (a[:3] - b).abs().max() < 0.05
    # without context, one vector alone cannot be batch-normalised
    with pytest.raises(ValueError, match="context"):
        latent.decode(G, z[:1], "batch")
    latent.population_bn(G, n=256, batch_size=64, seed=0)
    e1 = latent.decode(G, z, "eval")
    e2 = torch.cat([latent.decode(G, z[i:i + 1], "eval") for i in range(6)])
    assert torch.allclose(e1, e2, atol=1e-5)          # eval: each image depends on its z only
    assert (e1 - a).abs().mean() < 0.1                # population stats ~ batch stats
    with pytest.raises(ValueError, match="bn"):
        latent.decode(G, z, "train")


def test_arithmetic_of_identical_exemplars_returns_the_exemplar():
    z = torch.randn(1, 10).repeat(3, 1)
    m = latent.concept_mean(z)
    assert torch.allclose(m, z[0])
    other = torch.randn(10)
    assert torch.allclose(latent.analogy(m, other, other), z[0])
    assert torch.allclose(latent.concept_mean(torch.eye(4), [0, 2]), torch.tensor([.5, 0, .5, 0]))
    x = torch.rand(3, 1, 4, 4) * 2 - 1
    assert torch.allclose(latent.pixel_analogy(x, x, x), x.mean(0))
    with pytest.raises(ValueError, match="exemplar"):
        latent.concept_mean(torch.randn(4, 3), [])


def test_neighbours_centre_first_uniform_scale():
    z = torch.randn(100)
    nb = latent.neighbours(z, 8, 0.25, torch.Generator().manual_seed(0))
    assert nb.shape == (9, 100)
    assert torch.equal(nb[0], z)
    d = nb[1:] - z
    assert d.abs().max() <= 0.25 and d.abs().max() > 0.2
    assert abs(d.mean()) < 0.03                      # centred noise


def test_direction_and_along():
    left, right = torch.zeros(4, 5), torch.ones(4, 5)
    d = latent.direction(left, right)
    assert torch.allclose(d, torch.ones(5))
    z = torch.randn(2, 5)
    p = latent.along(z, d, [0, 0.5, 1])
    assert p.shape == (2, 3, 5)
    assert torch.allclose(p[:, 0], z) and torch.allclose(p[:, 2], z + 1)


def test_pick_exemplars_is_reproducible_and_respects_mask():
    s = np.array([0.1, 0.9, 0.5, 0.9, 0.3, 0.8])
    assert latent.pick_exemplars(s, 3) == [1, 3, 5]                 # ties by index
    assert latent.pick_exemplars(s, 2, lowest=True) == [0, 4]
    assert latent.pick_exemplars(s, 2, among=s < 0.85) == [5, 2]
    with pytest.raises(ValueError, match="qualify"):
        latent.pick_exemplars(s, 3, among=s > 0.85)


def test_scores_brightness_polarity_rate():
    dark = -torch.ones(2, 3, 16, 16)
    light_digit = dark.clone()
    light_digit[:, :, 6:10, 6:10] = 1                                # light centre on dark
    dark_digit = -light_digit
    assert np.allclose(latent.brightness(dark), 0)
    assert (latent.polarity(light_digit) > 0).all() and (latent.polarity(dark_digit) < 0).all()
    assert latent.concept_rate([True, False, True, True]) == 0.75
    with pytest.raises(ValueError):
        latent.concept_rate([])


def test_walk_images_shape_and_endpoints(G):
    pts = latent.seeded_z(G, 3, 0)
    x = latent.walk_images(G, pts, 4)
    assert x.shape == (2, 4, 1, 16, 16)
    assert torch.allclose(x[0, -1], x[1, 0], atol=1e-6)   # rows chain: same z, same batch


def test_analogy_outputs_of_identical_exemplars_is_the_exemplar(G):
    z = latent.seeded_z(G, 5, 0)
    z[1] = z[0]
    z[2] = z[0]
    ctx = latent.seeded_z(G, 64, 1)
    out = latent.analogy_outputs(G, z, [0, 1, 2], [3, 4], [3, 4], n=8, context=ctx)
    assert out.shape == (9, 1, 16, 16)
    latent.population_bn(G, n=256, batch_size=64, seed=0)     # batch-independent images
    out = latent.analogy_outputs(G, z, [0, 1, 2], [3, 4], [3, 4], n=8, bn="eval")
    ref = latent.decode(G, z[:1], bn="eval")
    assert torch.allclose(out[0], ref[0], atol=1e-5)      # centre = the exemplar's image
    assert not torch.allclose(out[1], ref[0], atol=1e-3)  # neighbours differ


def test_score_analogies_rows_outputs_and_pooling(G):
    z = latent.seeded_z(G, 30, 0)
    x = latent.decode(G, z)
    ctx = latent.seeded_z(G, 32, 1)
    light = lambda imgs: latent.brightness(imgs) > 0.5          # noqa: E731
    always = lambda imgs: [True] * len(imgs)                     # noqa: E731
    analogies = {"A": ([([0, 1, 2], [3, 4, 5], [6, 7, 8]), ([9, 10, 11], [12, 13, 14],
                                                             [15, 16, 17])], light),
                 "B": ([([18, 19, 20], [21, 22, 23], [24, 25, 26])], always)}
    measures = {"m": lambda imgs: latent.brightness(imgs)}
    rows, outputs = latent.score_analogies(G, z, x, analogies, measures, seed=5, context=ctx)
    assert [r["analogy"] for r in rows] == ["A", "B", "all"]
    assert list(rows[0]) == ["analogy", *latent.ANALOGY_OUTPUTS,
                             *(f"m {k}" for k in latent.ANALOGY_OUTPUTS), "outputs (z, pixels)"]
    # triple r is rendered with noise seed seed + r, exactly as analogy_sets does
    for r, (a, b, c) in enumerate(analogies["A"][0]):
        ref = latent.analogy_sets(G, z, x, a, b, c, seed=5 + r, context=ctx)
        for k in latent.ANALOGY_OUTPUTS:
            assert torch.equal(outputs["A"][r][k], ref[k])
    shapes = {k: tuple(v.shape) for k, v in outputs["A"][0].items()}
    assert shapes == {"z, 3 exemplars": (9, 1, 16, 16), "z, 1 exemplar": (9, 1, 16, 16),
                      "pixels": (1, 1, 16, 16)}
    assert rows[0]["outputs (z, pixels)"] == "18, 2" and rows[2]["outputs (z, pixels)"] == "27, 3"
    for k in latent.ANALOGY_OUTPUTS:
        imgs = torch.cat([o[k] for o in outputs["A"]])
        assert rows[0][k] == latent.concept_rate(light(imgs))
        assert rows[0][f"m {k}"] == pytest.approx(float(np.mean(latent.brightness(imgs))))
        assert rows[1][k] == 1.0
        n_a, n_b = len(imgs), len(outputs["B"][0][k])
        pooled = (rows[0][k] * n_a + 1.0 * n_b) / (n_a + n_b)
        assert rows[2][k] == pytest.approx(pooled)                # "all" pools the outputs
    assert latent.score_analogies(G, z, x, {}) == ([], {})
    with pytest.raises(ValueError, match="no exemplar triples"):
        latent.score_analogies(G, z, x, {"C": ([], light)})


def test_analogy_measures():
    torch.manual_seed(0)
    from dcgan_lib.models import Discriminator
    D = Discriminator(16, 4, 1).eval()
    imgs = torch.rand(5, 1, 16, 16) * 2 - 1
    p = latent.p_real(D, imgs)
    assert p.shape == (5,) and torch.allclose(p, torch.sigmoid(D(imgs)))
    embed = lambda v: v.flatten(1)                                   # noqa: E731
    ref = torch.rand(7, 256)
    d = latent.nearest_distance(embed, ref, imgs, scale=2.0)
    brute = torch.stack([min((i.flatten() - r).norm() for r in ref) for i in imgs]) / 2
    assert torch.allclose(d, brute, atol=1e-4)

    class Fixed(torch.nn.Module):                                    # always says class 3
        def forward(self, v):
            return torch.nn.functional.one_hot(torch.full((len(v),), 3), 10).float()
    dark, light = -torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    both = torch.cat([dark, light])
    assert latent.darker_of_class(Fixed(), 3, 0.5, both).tolist() == [True, False]
    assert latent.darker_of_class(Fixed(), 2, 0.5, both).tolist() == [False, False]


def test_random_directions_have_the_length_of_the_direction_and_are_seeded():
    d = torch.randn(100)
    r = latent.random_directions(5, d, seed=3)
    assert r.shape == (5, 100)
    torch.testing.assert_close(r.norm(dim=1), torch.full((5,), float(d.norm())))
    assert torch.equal(r, latent.random_directions(5, d, seed=3))
    assert not torch.equal(r, latent.random_directions(5, d, seed=4))


def test_score_direction_sees_a_brightness_direction_and_a_random_one_less_often():
    """A toy generator whose brightness is z[0]: the direction e0 moves every sample the
    intended way; a random direction of the same length only about half of them (the
    positive control that figure 8's measured baseline can be beaten and can fail)."""
    class Bright(torch.nn.Module):
        nz = 8

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))  # decode asks for a device

        def forward(self, z):
            return torch.tanh(z[:, :1, None, None].expand(-1, 1, 4, 4) + 0 * z.sum())
    G, alphas = Bright().eval(), [-0.5, 0.0, 0.5]
    z = torch.randn(200, 8, generator=torch.Generator().manual_seed(0)) * 0.3
    e0 = torch.zeros(8)
    e0[0] = 1.0
    classify = lambda x: torch.stack([x.mean((1, 2, 3)) > 0, x.mean((1, 2, 3)) <= 0], 1).float()
    s = latent.score_direction(G, z, e0, alphas, classify=classify)
    assert s["moved"].shape == (200, 3) and s["moved"].all()
    moved = latent.per_sample_at(s["moved"], alphas, (0.5, -0.5))
    assert moved.shape == (200,) and moved.mean() == 1.0
    kept = latent.per_sample_at(s["kept"], alphas, (0.5, -0.5)).mean()
    assert kept < 1.0          # crossing zero changes the toy "class"
    rand = [latent.per_sample_at(latent.score_direction(G, z, r, alphas)["moved"], alphas,
                                 (0.5, -0.5)).mean()
            for r in latent.random_directions(8, e0, seed=1)]
    assert np.mean(rand) < 0.9
    with pytest.raises(ValueError, match="must hold 0"):
        latent.score_direction(G, z, e0, [-0.5, 0.5])
