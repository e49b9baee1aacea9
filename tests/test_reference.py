"""The port of the authors' SVHN DCGAN (dcgan_lib.reference) against an independent NumPy
implementation of their equations (true convolution, gradient-of-convolution "deconv",
batch-statistics batch-norm with epsilon 1e-8), plus the loader's and downloader's errors."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from dcgan_lib import reference
from dcgan_lib.models import batch_stats

HAVE_WEIGHTS = reference.available()
needs_weights = pytest.mark.skipif(
    not HAVE_WEIGHTS,
    reason=(f"the authors' SVHN DCGAN weights are not in {reference.default_path()} "
            f"(set ${reference.ENV} or {reference.HOW_TO_GET})"))


# ------------------------------------------------------------ NumPy reference (float64)
def np_conv(x, w, stride=2, pad=2):
    """True convolution (cuDNN 'conv' mode): y[i] = sum_a x[stride*i + pad - a] w[a],
    zero outside; x (N, Cin, H, W), w (Cout, Cin, K, K)."""
    n, cin, h, wd = x.shape
    cout, _, k, _ = w.shape
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    xp = np.zeros((n, cin, h + 2 * pad + k, wd + 2 * pad + k))
    xp[:, :, pad:pad + h, pad:pad + wd] = x        # xp[u] = x[u - pad]
    y = np.zeros((n, cout, ho, wo))
    for a in range(k):
        for b in range(k):
            # x[stride*i + pad - a] = xp[stride*i + 2*pad - a]
            r0, c0 = 2 * pad - a, 2 * pad - b
            patch = xp[:, :, r0:r0 + stride * ho:stride, c0:c0 + stride * wo:stride]
            y += np.einsum("ncij,oc->noij", patch, w[:, :, a, b])
    return y


def np_deconv(h, w, stride=2, pad=2):
    """The authors' deconv: the gradient of np_conv with respect to its input (an input twice
    the size of h), i.e. its adjoint; w (Cin_of_h, Cout, K, K) as in their files."""
    n, c, hh, hw = h.shape
    _, cout, k, _ = w.shape
    ho, wo = hh * stride, hw * stride
    out = np.zeros((n, cout, ho + 2 * pad + k, wo + 2 * pad + k))  # out[u] <-> x[u - pad]
    for a in range(k):
        for b in range(k):
            r0, c0 = 2 * pad - a, 2 * pad - b
            contrib = np.einsum("noij,oc->ncij", h, w[:, :, a, b])
            out[:, :, r0:r0 + stride * hh:stride, c0:c0 + stride * hw:stride] += contrib
    return out[:, :, pad:pad + ho, pad:pad + wo]


def np_bn(x, g, b, eps=1e-8):
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    u = x.mean(axes, keepdims=True)
    s = ((x - u) ** 2).mean(axes, keepdims=True)
    return (x - u) / np.sqrt(s + eps) * g.reshape(shape) + b.reshape(shape)


def relu(x):
    return np.maximum(x, 0)


def lrelu(x):
    return np.where(x > 0, x, 0.2 * x)


def np_gen(z, p):
    w, g, b, w2, g2, b2, w3, g3, b3, wx = p
    h = relu(np_bn(z @ w, g, b)).reshape(len(z), 256, 4, 4)
    h2 = relu(np_bn(np_deconv(h, w2), g2, b2))
    h3 = relu(np_bn(np_deconv(h2, w3), g3, b3))
    return np.tanh(np_deconv(h3, wx))


def np_discrim(x, p):
    w, w2, g2, b2, w3, g3, b3, wy = p
    h = lrelu(np_conv(x, w))
    h2 = lrelu(np_bn(np_conv(h, w2), g2, b2))
    h3 = lrelu(np_bn(np_conv(h2, w3), g3, b3))
    return [h, h2, h3], h3.reshape(len(x), -1) @ wy  # logit; the authors apply a sigmoid


def raw_params(files):
    folder = reference.find_weights()
    return [np.load(folder / name).astype(np.float64) for name, _, _ in files]


# ------------------------------------------------------------ the reference itself
def test_numpy_conv_is_true_convolution():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 1, 10, 10))
    w = rng.normal(size=(1, 1, 5, 5))
    expected = convolve2d(x[0, 0], w[0, 0], mode="same")   # scipy: true convolution
    np.testing.assert_allclose(np_conv(x, w, stride=1)[0, 0], expected, atol=1e-12)
    np.testing.assert_allclose(np_conv(x, w, stride=2)[0, 0], expected[::2, ::2], atol=1e-12)


def test_numpy_deconv_is_adjoint_of_conv():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 8, 8))
    w = rng.normal(size=(4, 3, 5, 5))
    y = rng.normal(size=(2, 4, 4, 4))
    lhs = np.sum(np_conv(x, w) * y)           # <C x, y>
    rhs = np.sum(x * np_deconv(y, w))         # <x, C^T y>
    assert np_deconv(y, w).shape == x.shape
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


# ------------------------------------------------------------ the port
@needs_weights
def test_generator_matches_numpy():
    G, _ = reference.load_svhn_dcgan()
    assert G.z_dist == "normal" and G.nz == 100
    z = G.sample_z(16, torch.Generator().manual_seed(0))
    with torch.no_grad(), batch_stats(G):
        ours = G(z).double().numpy()
    theirs = np_gen(z.double().numpy(), raw_params(reference.GEN_FILES))
    assert ours.shape == (16, 3, 32, 32)
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    assert ours.std() > 0.1  # not a trivial (constant) image


@needs_weights
def test_discriminator_matches_numpy_every_layer():
    _, D = reference.load_svhn_dcgan()
    x = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    from dcgan_lib.models import activations
    with torch.no_grad(), batch_stats(D), activations(D) as acts:
        logit = D(x)
    hs, y = np_discrim(x.double().numpy(), raw_params(reference.DISC_FILES))
    for i, h in enumerate(hs):
        scale = max(1.0, np.abs(h).max())
        np.testing.assert_allclose(acts[i].double().numpy(), h, atol=1e-4 * scale, rtol=0,
                                   err_msg=f"conv block {i}")
    np.testing.assert_allclose(logit.double().numpy(), y[:, 0], atol=1e-4 * max(1, np.abs(y).max()))
    np.testing.assert_allclose(torch.sigmoid(logit).double().numpy(), 1 / (1 + np.exp(-y[:, 0])),
                               atol=1e-4)


@needs_weights
def test_unflipped_kernels_would_not_match():
    """The kernel flip is what makes the port agree (a guard that the test can fail)."""
    _, D = reference.load_svhn_dcgan()
    with torch.no_grad():
        w = D.blocks[0][0].weight
        w.copy_(w.flip(2, 3))
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad(), batch_stats(D):
        ours = D(x).double().numpy()
    _, y = np_discrim(x.double().numpy(), raw_params(reference.DISC_FILES))
    assert np.abs(ours - y[:, 0]).max() > 1e-2


@needs_weights
def test_batchnorm_eps_and_eval_mode():
    G, D = reference.load_svhn_dcgan()
    bns = [m for m in [*G.modules(), *D.modules()]
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(bns) == 5 and all(m.eps == 1e-8 for m in bns)
    assert not G.training and not D.training


# ------------------------------------------------------------ errors and downloads
def test_missing_folder_names_folder_and_address(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        reference.load_svhn_dcgan(missing)
    msg = str(err.value)
    assert str(missing) in msg and reference.BASE_URL in msg and "download_svhn_dcgan" in msg
    monkeypatch.setenv(reference.ENV, str(tmp_path / "from-env"))
    with pytest.raises(FileNotFoundError, match="from-env"):
        reference.load_svhn_dcgan()


def test_wrong_shape_names_the_file(tmp_path):
    for name in reference.FILES:
        np.save(tmp_path / name, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="200_gen_params.jl_01.npy"):
        reference.load_svhn_dcgan(tmp_path)


def _fake_source(folder: Path) -> Path:
    folder.mkdir()
    for name in reference.FILES:
        (folder / name).write_bytes(b"not the authors' file " + name.encode())
    return folder


def test_download_rejects_wrong_hash(tmp_path):
    src = _fake_source(tmp_path / "src")
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="SHA-256") as err:
        reference.download_svhn_dcgan(dest, base_url=src.as_uri())
    assert reference.FILES[0] in str(err.value) and reference.SHA256[reference.FILES[0]] in str(err.value)
    assert list(dest.iterdir()) == []  # nothing kept, no partial file


def test_download_network_error_says_what_to_do(tmp_path):
    with pytest.raises(OSError, match="fetch the files by hand"):
        reference.download_svhn_dcgan(tmp_path, base_url=(tmp_path / "absent").as_uri())


@needs_weights
def test_download_checks_and_keeps_good_files(tmp_path, monkeypatch):
    src = reference.find_weights()
    dest = reference.download_svhn_dcgan(tmp_path / "w", base_url=src.as_uri())
    assert sorted(p.name for p in dest.iterdir()) == sorted(reference.FILES)
    assert all(reference.sha256(dest / f) == reference.SHA256[f] for f in reference.FILES)
    G, _ = reference.load_svhn_dcgan(dest)
    # a tampered file is fetched again; good ones are not
    bad = dest / reference.FILES[3]
    bad.write_bytes(bad.read_bytes()[:-1] + b"\x00")
    fetched = []
    real = reference.urlopen
    monkeypatch.setattr(reference, "urlopen", lambda url, timeout: fetched.append(url) or real(url))
    reference.download_svhn_dcgan(dest, base_url=src.as_uri())
    assert [u.rsplit("/", 1)[1] for u in fetched] == [reference.FILES[3]]
    assert reference.sha256(bad) == reference.SHA256[reference.FILES[3]]


@needs_weights
def test_tampered_source_file_is_named(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for f in reference.FILES:
        (src / f).write_bytes((reference.find_weights() / f).read_bytes())
    target = src / reference.FILES[-1]
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=reference.FILES[-1]):
        reference.download_svhn_dcgan(tmp_path / "dest", base_url=src.as_uri())
    assert not (tmp_path / "dest" / reference.FILES[-1]).exists()
