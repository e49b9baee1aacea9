"""Section 5 feature extraction and probes (dcgan_lib.features) on tiny models and toy data."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from dcgan_lib import features
from dcgan_lib.models import Discriminator


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: OpenMP threads only add latency (a lot of it on a busy 2-core machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def images(n=48, nc=1, size=16, seed=0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, nc, size, size, generator=g) * 2 - 1) * 0.8 + shift


def test_feature_dims_of_authors_svhn_discriminator():
    D = Discriminator(32, 64, 3, variant="paper")
    assert features.feature_dims(D) == [64 * 16, 128 * 16, 256 * 16]
    assert sum(features.feature_dims(D)) == 7168
    f = features.discriminator_features(D, torch.zeros(3, 3, 32, 32), verbose=False)
    assert f.shape == (3, 7168) and f.dtype == np.float32


def test_feature_dims_other_sizes_and_variants():
    D = Discriminator(16, 8, 1, variant="paper")       # 8x8 and 4x4 maps
    assert features.feature_dims(D) == [8 * 16, 16 * 16]
    D = Discriminator(64, 8, 3, variant="torch")        # 32, 16, 8, 4
    f = features.discriminator_features(D, torch.zeros(2, 3, 64, 64), grid=2, verbose=False)
    assert f.shape == (2, (8 + 16 + 32 + 64) * 4) == (2, sum(features.feature_dims(D, grid=2)))


def test_features_are_max_pooled_block_outputs():
    torch.manual_seed(0)
    D = Discriminator(32, 8, 1).eval()
    x = images(5, 1, 32)
    f = features.discriminator_features(D, x, verbose=False)
    with torch.no_grad():
        h0 = D.blocks[0](x)           # 16x16 -> 4x4 windows, as the authors' dnn_pool((4, 4))
        h1 = D.blocks[1](h0)          # 8x8 -> 2x2 windows
        h2 = D.blocks[2](h1)          # 4x4 kept
    expected = torch.cat([F.max_pool2d(h0, 4).flatten(1), F.max_pool2d(h1, 2).flatten(1),
                          h2.flatten(1)], 1).numpy()
    np.testing.assert_allclose(f, expected, atol=1e-6)


def test_reestimate_bn_sets_data_statistics_and_restores_state():
    torch.manual_seed(0)
    D = Discriminator(16, 8, 1)
    bn = D.blocks[1][1]
    assert torch.all(bn.running_mean == 0) and torch.all(bn.running_var == 1)
    x = images(64, shift=0.3)
    features.reestimate_bn(D, x, batch_size=16)
    with torch.no_grad():                       # block 1's input does not depend on batch-norm
        pre = D.blocks[1][0](D.blocks[0](x))
    torch.testing.assert_close(bn.running_mean, pre.mean((0, 2, 3)), atol=1e-5, rtol=1e-4)
    per_batch_var = torch.stack([pre[i:i + 16].var((0, 2, 3), unbiased=True)
                                 for i in range(0, 64, 16)]).mean(0)
    torch.testing.assert_close(bn.running_var, per_batch_var, atol=1e-5, rtol=1e-4)
    assert bn.momentum == 0.1 and bn.track_running_stats and not D.training
    assert bn.num_batches_tracked.item() == 4
    # other data, other statistics
    old = bn.running_mean.clone()
    features.reestimate_bn(D, images(64, seed=1, shift=-0.5), batch_size=16)
    assert (bn.running_mean - old).abs().max() > 1e-3


def test_reestimate_bn_accepts_a_dataset():
    torch.manual_seed(0)
    D1, D2 = Discriminator(16, 8, 1), Discriminator(16, 8, 1)
    D2.load_state_dict(D1.state_dict())
    x = images(40)
    features.reestimate_bn(D1, x, batch_size=8)
    features.reestimate_bn(D2, TensorDataset(x, torch.zeros(40)), batch_size=8)
    for a, b in zip(D1.buffers(), D2.buffers()):
        torch.testing.assert_close(a, b)


def test_reestimate_bn_rejects_bn_without_running_stats():
    D = Discriminator(16, 8, 1)
    D.blocks[1][1] = torch.nn.BatchNorm2d(16, track_running_stats=False)
    with pytest.raises(ValueError, match="track_running_stats"):
        features.reestimate_bn(D, images(8))


def test_batching_gives_same_features_as_one_batch(capsys):
    torch.manual_seed(0)
    D = Discriminator(16, 8, 1)
    x = images(50)
    features.reestimate_bn(D, x, batch_size=25)
    one = features.discriminator_features(D, x, batch_size=50)
    assert "images/s" in capsys.readouterr().out
    many = features.discriminator_features(D, x, batch_size=7, verbose=False)
    np.testing.assert_allclose(one, many, atol=1e-5)
    ds = features.discriminator_features(D, TensorDataset(x, torch.zeros(50)), batch_size=16,
                                         verbose=False)
    np.testing.assert_allclose(one, ds, atol=1e-5)


def test_pixel_features():
    x = images(10, 3, 16)
    f = features.pixel_features(x)
    assert f.shape == (10, 3 * 256)
    np.testing.assert_array_equal(f[3], x[3].flatten().numpy())


def test_label_draws():
    y = np.repeat(np.arange(4), 30)[np.random.default_rng(0).permutation(120)]
    draws = features.label_draws(y, 5, 3, seed=1)
    assert len(draws) == 3
    for d in draws:
        assert len(np.unique(d)) == 20
        assert np.all(np.bincount(y[d]) == 5)
    again = features.label_draws(y, 5, 3, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(draws, again))
    other = features.label_draws(y, 5, 3, seed=1, stream=1)
    assert not np.array_equal(draws[0], other[0])
    # a longer run of the same stream starts with the same draws (shared labelled subsets)
    assert np.array_equal(features.label_draws(y, 5, 5, seed=1)[2], draws[2])
    with pytest.raises(ValueError, match="fewer"):
        features.label_draws(y, 31, 1)


def blobs(n_per_class, n_classes=3, dim=20, sep=3.0, seed=0, informative=True):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(n_classes, dim)) * sep
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = rng.normal(size=(len(y), dim)) + (centres[y] if informative else 0)
    return x.astype(np.float32), y


def test_svm_probe_separable_beats_chance():
    tr, va, te = blobs(40, seed=0), blobs(30, seed=1), blobs(30, seed=2)
    res = features.svm_probe(*tr, *va, *te, k=5, cs=[1e-3, 1e-1, 10.0], val_draws=2,
                             test_draws=4, verbose=False)
    assert res.param == "C" and res.best in (1e-3, 1e-1, 10.0)
    assert len(res.test_errors) == 4 and len(res.val_mean) == 3
    assert res.test_mean < 10.0          # chance is 66.7%
    assert res.test_spread >= 0
    row = res.row("toy")
    assert row["features"] == "toy" and row["draws"] == 4 and row["dims"] == 20
    assert row["chosen"] == f"C={res.best:g}"


def test_svm_probe_uninformative_features_stay_near_chance():
    tr, va, te = (blobs(40, seed=s, informative=False) for s in (0, 1, 2))
    res = features.svm_probe(*tr, *va, *te, k=10, cs=[0.01, 1.0], val_draws=2, test_draws=3,
                             verbose=False)
    assert res.test_mean > 45.0


def test_svm_probe_all_labels_and_input_checks():
    tr, va, te = blobs(20, seed=0), blobs(10, seed=1), blobs(10, seed=2)
    res = features.svm_probe(*tr, *va, *te, k=None, cs=[1.0], verbose=False)
    assert len(res.test_errors) == 1 and not res.best_at_edge
    with pytest.raises(ValueError, match="val_x has 30 rows"):
        features.svm_probe(*tr, va[0], va[1][:5], *te, verbose=False)


def test_supervised_cnn_has_discriminator_architecture():
    D = Discriminator(32, 8, 3)
    net = features.supervised_cnn(D, 10)
    assert net(torch.zeros(4, 3, 32, 32)).shape == (4, 10)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.weight.shape for c in convs] == [
        m.weight.shape for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert not torch.equal(convs[0].weight, D.blocks[0][0].weight)  # freshly initialised


def test_cnn_probe_learns_an_easy_task():
    # class = brightness: trivially learnable, so a working training loop must beat chance
    g = torch.Generator().manual_seed(0)
    def make(n):
        y = torch.arange(n) % 2
        x = torch.rand(n, 1, 16, 16, generator=g) * 0.5 - 0.75 + 0.9 * y[:, None, None, None]
        return x, y.numpy()
    D = Discriminator(16, 4, 1)
    trials = [dict(lr=1e-2, weight_decay=0.0, dropout=0.0, batch_size=10, epochs=15),
              dict(lr=1e-7, weight_decay=0.0, dropout=0.5, batch_size=10, epochs=1)]
    res = features.cnn_probe(D, *make(40), *make(40), *make(40), k=10, trials=trials,
                             val_draws=1, test_draws=2, verbose=False)
    assert res.param == "trial" and len(res.test_errors) == 2
    assert res.best == 0 and res.chosen.startswith("lr=0.01")   # the untrainable trial loses
    assert res.val_best == res.val_mean[0] < res.val_mean[1]
    assert list(res.row("cnn")) == list(features.ProbeResult("C", [1.0], [0.0], [0.0], 1.0,
                                                             np.zeros(1), dims=5).row("x"))
    assert res.test_mean < 20.0   # chance is 50%


def test_repeat_grey():
    x = images(4, 1, 16)
    x3 = features.repeat_grey(x, 3)
    assert x3.shape == (4, 3, 16, 16) and torch.equal(x3[:, 2], x[:, 0])
    assert features.repeat_grey(x3, 3) is x3
    with pytest.raises(ValueError, match="3 channels"):
        features.repeat_grey(x3, 1)


def test_feature_probe_end_to_end_on_grey_images_for_colour_d():
    # two classes told apart by brightness; a random colour D on repeated grey images
    g = torch.Generator().manual_seed(0)
    def make(n):
        y = torch.arange(n) % 2
        return torch.rand(n, 1, 16, 16, generator=g) * 0.6 - 0.8 + 0.9 * y[:, None, None, None], y.numpy()
    torch.manual_seed(0)
    D = Discriminator(16, 8, 3)
    res = features.feature_probe(D, *make(60), *make(30), *make(30), k=10, cs=[0.01, 1.0],
                                 val_draws=1, test_draws=2, verbose=False)
    assert res.dims == 8 * 16 + 16 * 16 and res.extract_seconds > 0
    assert res.test_mean < 20.0
    assert res.row("random D")["dims"] == res.dims


def test_random_trials_are_seeded_and_stay_in_the_search_space():
    a = features.random_trials(64, seed=3)
    assert a == features.random_trials(64, seed=3) != features.random_trials(64, seed=4)
    sp = features.SEARCH_SPACE
    for key in ("lr", "weight_decay", "dropout"):
        vals = [t[key] for t in a]
        assert sp[key][0] <= min(vals) < max(vals) <= sp[key][1]
    lrs = np.log10([t["lr"] for t in a])   # log-uniform: about half below the log midpoint
    assert 20 < (lrs < -3).sum() < 44
    assert {t["batch_size"] for t in a} == set(sp["batch_size"])
    assert {t["epochs"] for t in features.random_trials(30, epochs=(2, 5))} == {2, 5}
    with pytest.raises(ValueError, match="trials must be >= 1"):
        features.random_trials(0)
    with pytest.raises(ValueError, match="epochs"):
        features.random_trials(2, epochs=(0,))


def test_supervised_cnn_dropout_head():
    D = Discriminator(16, 4, 1)
    net = features.supervised_cnn(D, 3, dropout=0.5)
    assert any(isinstance(m, torch.nn.Dropout) for m in net)
    assert not any(isinstance(m, torch.nn.Dropout) for m in features.supervised_cnn(D, 3))
    with pytest.raises(ValueError, match="dropout"):
        features.supervised_cnn(D, 3, dropout=1.0)


def test_probe_label_settings_all_labels_and_per_class():
    tr, va, te = blobs(60, sep=0.5, seed=0), blobs(30, sep=0.5, seed=1), blobs(100, sep=0.5, seed=2)
    res = features.probe_label_settings(*tr, *va, *te, ks=[5, None], cs=[0.1, 1.0],
                                        val_draws=2, test_draws=5, verbose=False)
    assert list(res) == ["5 per class", "all"]
    assert len(res["5 per class"].test_errors) == 5 and len(res["all"].test_errors) == 1
    assert res["all"].test_spread == 0.0
    # overlapping classes: 60 labels per class must beat 5 per class clearly (31% vs 17% here)
    assert res["all"].test_mean < res["5 per class"].test_mean - 5
    with pytest.raises(ValueError, match="ks"):
        features.probe_label_settings(*tr, *va, *te, ks=[])


def test_extract_features_matches_feature_probe_dims():
    torch.manual_seed(0)
    D = Discriminator(16, 8, 3)
    sets = [images(6, 1, 16), images(4, 1, 16)]
    fx, secs = features.extract_features(D, sets, batch_size=4, verbose=False)
    assert [f.shape for f in fx] == [(6, 8 * 16 + 16 * 16), (4, 8 * 16 + 16 * 16)] and secs > 0
    with pytest.raises(ValueError, match="no image sets"):
        features.extract_features(D, [])
