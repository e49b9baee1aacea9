import numpy as np
import pytest
import torch

from dcgan_lib import metrics
from dcgan_lib.models import Generator


def test_frechet_distance_known_answers():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 5))
    mu, s = metrics.gaussian_stats(a)
    assert metrics.frechet_distance(mu, s, mu, s) == pytest.approx(0, abs=1e-6)
    # diagonal covariances: |mu1-mu2|^2 + sum (sqrt(v1) - sqrt(v2))^2
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = 5.0 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert metrics.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected)


def test_frechet_distance_grows_with_shift():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3000, 4))
    ref = metrics.gaussian_stats(a)
    d = [metrics.frechet_distance(*metrics.gaussian_stats(rng.normal(size=(3000, 4)) + m), *ref)
         for m in (0.0, 0.5, 1.0, 2.0)]
    assert d == sorted(d) and d[0] < 0.05


def test_classifier_learns_and_is_cached(tmp_path):
    net, acc = metrics.feature_classifier("synthetic", image_size=16, channels=1, cache_dir=tmp_path,
                                          epochs=3, verbose=False)
    assert acc > 0.8      # discs vs squares
    assert net.features(torch.zeros(2, 1, 16, 16)).shape == (2, 128)
    files = list(tmp_path.glob("*.pt"))
    assert len(files) == 1
    net2, acc2 = metrics.feature_classifier("synthetic", image_size=16, channels=1, cache_dir=tmp_path,
                                            epochs=3, verbose=False)
    assert acc2 == acc
    x = torch.randn(3, 1, 16, 16)
    assert torch.allclose(net.eval()(x), net2(x))


def test_evaluator_floor_below_untrained_generator(tmp_path):
    from dcgan_lib import data
    net, _ = metrics.feature_classifier("synthetic", image_size=16, channels=1, cache_dir=tmp_path,
                                        epochs=3, verbose=False)
    tr = data.get_dataset("synthetic", image_size=16, synthetic_size=600, channels=1, seed=0)
    te = data.get_dataset("synthetic", image_size=16, synthetic_size=600, split="test", channels=1, seed=0)
    ev = metrics.FrechetEvaluator(net, te.images, tr.images, n=500)
    G = Generator(16, 8, 4, 1, "paper")
    out = ev(G)
    assert out["fd_floor"] == ev.floor
    assert out["fd"] > 5 * ev.floor


def test_generate_is_seeded_and_handles_odd_sizes():
    G = Generator(16, 8, 4, 1, "paper")
    a, b = metrics.generate(G, 5, seed=3, batch_size=4), metrics.generate(G, 5, seed=3, batch_size=4)
    assert a.shape == (5, 1, 16, 16) and torch.equal(a, b)


def test_inception_fid_needs_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="Inception weights not found"):
        metrics.inception_fid(torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 32, 32),
                              tmp_path / "missing.pth")
