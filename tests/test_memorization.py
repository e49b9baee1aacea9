import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from dcgan_lib import memorization as mem
from dcgan_lib.metrics import SmallClassifier, generate
from dcgan_lib.models import Generator


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices: one thread avoids spin-waiting on a busy shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def train():
    g = torch.Generator().manual_seed(0)
    return torch.rand(300, 1, 16, 16, generator=g) * 2 - 1


def brute_force(q, r, k):
    d = torch.cdist(q.reshape(len(q), -1).double(), r.reshape(len(r), -1).double(),
                    compute_mode="donot_use_mm_for_euclid_dist")
    return d.topk(k, dim=1, largest=False)


@pytest.mark.parametrize("chunk,query_chunk", [(128, 4096), (7, 1)])
def test_exact_copies_are_found_at_distance_zero(train, chunk, query_chunk):
    """An exact copy is the nearest neighbour, reported at distance 0 by the exact path (in
    feature space the embedding of a copy computed in another batch differs by ~1e-7, so
    floating-point distances alone would not give 0), whatever the batch split."""
    g = torch.Generator().manual_seed(1)
    copies = [5, 17, 123, 299]
    generated = torch.cat([train[copies], torch.rand(6, 1, 16, 16, generator=g) * 2 - 1])
    kw = dict(chunk=chunk, query_chunk=query_chunk)
    d, i = mem.nearest_neighbours(generated, train, k=1, **kw)
    assert d.shape == i.shape == (10, 1)
    assert i[:4, 0].tolist() == copies
    assert torch.all(d[:4] == 0)
    assert torch.all(d[4:] > 1)  # random images are far from every training image
    net = SmallClassifier(1, 10, image_size=16).eval()
    d, i = mem.nearest_neighbours(generated, train, embed=net.features, **kw)
    assert i[:4, 0].tolist() == copies and torch.all(d[:4] == 0)
    assert torch.all(d[4:] > 0)


def test_only_exact_copies_are_reported_exact(train):
    """A copy off by one float32 step in one pixel is the nearest neighbour but not at 0;
    a training image present twice is found twice at 0, in feature space too."""
    near = train[[5]].clone()
    near[0, 0, 3, 3] = torch.nextafter(near[0, 0, 3, 3], torch.tensor(2.0))
    d, i = mem.nearest_neighbours(near, train, k=1)
    assert i[0, 0] == 5 and 0 < d[0, 0] < 1e-6
    twice = torch.cat([train, train[[5]]])
    d, i = mem.nearest_neighbours(train[[5]], twice, k=2, chunk=100)
    assert sorted(i[0].tolist()) == [5, 300] and torch.all(d == 0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(256, 3))
    d, i = mem.nearest_neighbours(train[[5]], twice, k=2, embed=net, chunk=7, query_chunk=1)
    assert sorted(i[0].tolist()) == [5, 300] and torch.all(d == 0)


@pytest.mark.parametrize("k", [1, 3])
def test_chunked_equals_unchunked_and_brute_force(train, k):
    q = torch.rand(23, 1, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    d1, i1 = mem.nearest_neighbours(q, train, k=k, chunk=10_000, query_chunk=10_000)
    d2, i2 = mem.nearest_neighbours(q, train, k=k, chunk=70, query_chunk=10)
    bd, bi = brute_force(q, train, k)
    assert torch.equal(i1, i2) and torch.equal(i1, bi)
    assert torch.allclose(d1, d2, atol=1e-5) and torch.allclose(d1.double(), bd, atol=1e-4)
    assert torch.all(d1[:, 1:] >= d1[:, :-1])  # nearest first
    # a dataset (streamed by a DataLoader) and an iterable of batches give the same
    ds = TensorDataset(train, torch.zeros(len(train)))
    d3, i3 = mem.nearest_neighbours(q, ds, k=k, chunk=128)
    d4, i4 = mem.nearest_neighbours(q, ((train[j:j + 50], None) for j in range(0, 300, 50)), k=k)
    assert torch.equal(i3, i1) and torch.equal(i4, i1)
    assert torch.allclose(d3, d1, atol=1e-5) and torch.allclose(d4, d1, atol=1e-5)


def test_several_spaces_in_one_pass(train):
    net = SmallClassifier(1, 10, image_size=16).eval()
    q = train[:5] + 0.05
    both = mem.neighbours_in_spaces(q, train, {"pixels": None, "features": net.features}, k=2,
                                    chunk=100)
    pix = mem.nearest_neighbours(q, train, k=2)
    feat = mem.nearest_neighbours(q, train, k=2, embed=net.features)
    assert torch.equal(both["pixels"][1], pix[1]) and torch.equal(both["features"][1], feat[1])
    assert both["pixels"][1][:, 0].tolist() == [0, 1, 2, 3, 4]


def test_nnd_score_known_answer():
    real = torch.zeros(4, 1, 2, 2)
    real[:, 0, 0, 0] = torch.tensor([0.0, 10.0, 20.0, 30.0])
    gen = real.clone()
    assert mem.nnd_score(gen, real) == 0.0
    gen[:, 0, 1, 1] = torch.tensor([0.5, 1.0, 1.5, 2.0])  # offsets orthogonal to the spacing
    assert mem.nnd_score(gen, real) == pytest.approx((0.5 + 1.0 + 1.5 + 2.0) / 4)
    # direction matters: each real image's nearest generated one (the authors' nnd_score(gX, vaX))
    assert mem.nnd_score(gen[:1], real) == pytest.approx(
        sum(((real[j, 0, 0, 0]) ** 2 + 0.25) ** 0.5 for j in range(4)).item() / 4, rel=1e-6)
    with pytest.raises(ValueError, match="fewer than k"):
        mem.nearest_neighbours(real, real[:1], k=2)


def test_distance_score_evaluator():
    torch.manual_seed(0)
    G = Generator(16, nz=8, ngf=4, nc=1)
    real = torch.rand(30, 1, 16, 16) * 2 - 1
    ev = mem.DistanceScore(real, ns=(40, 10), seed=3, chunk=16)
    out = ev(G)
    assert list(out) == ["nnd_10", "nnd_40"]
    assert out["nnd_40"] <= out["nnd_10"]  # more samples can only come closer
    fake = generate(G, 40, 3)
    assert out["nnd_10"] == pytest.approx(mem.nnd_score(fake[:10], real), rel=1e-6)
    ref = ev.real_reference(real[:20])
    assert list(ref) == ["nnd_10"] and ref["nnd_10"] < out["nnd_10"]
    both = mem.combine_evaluators(lambda G: {"fd": 1.0}, ev)(G)
    assert both == {"fd": 1.0, **out}
    assert mem.DistanceScore(real, ns=(1000, 10000)).ns == (1000, 10000)
    assert list(mem.DistanceScore(real, ns=(1000,), seed=3).real_reference(real)) == []


def test_copy_statistics():
    held_out = torch.arange(1, 101, dtype=torch.float32)  # distances 1..100
    copies = mem.copy_statistics(torch.zeros(10), held_out)
    assert copies["closer_than_q"] == 1.0 and copies["ratio"] == 0.0
    same = mem.copy_statistics(held_out.flip(0), held_out, q=0.1)
    assert same["closer_than_q"] == pytest.approx(0.1)
    assert same["ratio"] == pytest.approx(1.0) and same["held_out_median"] == 50.5
