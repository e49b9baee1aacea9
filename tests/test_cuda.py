"""What only a CUDA device can check (run by ci/gpu_check.sh; skipped elsewhere): the trainer's
GPU path of paper section 4's recipe (bf16 autocast, channels-last, data kept on the device),
its checkpoints read back on the CPU, and the CPU's numbers reproduced on the GPU in float32."""
from __future__ import annotations

import math

import pytest
import torch

from dcgan_lib import data, features, metrics
from dcgan_lib.models import Discriminator, Generator
from dcgan_lib.train import TrainConfig, Trainer, load_models, read_jsonl

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs CUDA (ci/gpu_check.sh runs these on a GPU)")


def cfg(tmp_path, name, **kw):
    base = dict(dataset="synthetic", image_size=32, channels=3, nz=16, ngf=16, ndf=16,
                batch_size=32, steps=8, out=str(tmp_path / name), sample_every=4,
                checkpoint_every=4, progress=False, num_samples=4, device="cuda")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def ds():
    return data.get_dataset("synthetic", image_size=32, channels=3, synthetic_size=128)


@pytest.mark.parametrize("amp,channels_last", [(True, True), (False, False)])
def test_training_on_cuda_runs_and_its_checkpoint_loads_on_the_cpu(tmp_path, ds, amp,
                                                                   channels_last):
    tr = Trainer(cfg(tmp_path, f"run-{amp}", amp=amp, channels_last=channels_last), ds)
    assert next(tr.G.parameters()).is_cuda and next(tr.D.parameters()).is_cuda
    tr.fit()
    log = read_jsonl(tmp_path / f"run-{amp}" / "log.jsonl")
    assert len(log) == 8 and all(math.isfinite(r["loss_d"]) and math.isfinite(r["loss_g"])
                                 for r in log)
    G, D, saved = load_models(sorted((tmp_path / f"run-{amp}").glob("ckpt-*.pt"))[-1])
    assert saved.device == "cuda" and not next(G.parameters()).is_cuda
    with torch.no_grad():
        assert torch.isfinite(G(G.sample_z(4))).all()


def test_float32_cuda_matches_the_cpu(tmp_path):
    torch.manual_seed(0)
    G, D = Generator(32, 16, 16, 3), Discriminator(32, 16, 3)
    z = G.sample_z(8, torch.Generator().manual_seed(1))
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        x_cpu, d_cpu = G.eval()(z), D.eval()(G(z))
        G_cuda, D_cuda = G.cuda(), D.cuda()
        x_gpu = G_cuda(z.cuda()).cpu()
        d_gpu = D_cuda(x_gpu.cuda()).cpu()
    assert torch.allclose(x_cpu, x_gpu, atol=1e-4)
    assert torch.allclose(d_cpu, d_gpu, atol=1e-3)


def test_sampling_and_section5_features_on_cuda_match_the_cpu():
    import copy
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    G, D = Generator(32, 16, 16, 3), Discriminator(32, 16, 3)
    x = metrics.generate(copy.deepcopy(G).cuda(), 64, seed=0)
    assert x.shape == (64, 3, 32, 32) and not x.is_cuda
    assert torch.allclose(x, metrics.generate(G, 64, seed=0), atol=1e-4)
    f_gpu = features.discriminator_features(copy.deepcopy(D).cuda(), x, verbose=False)
    f_cpu = features.discriminator_features(D, x, verbose=False)
    assert f_gpu.shape == (64, sum(features.feature_dims(D)))
    assert abs(f_gpu - f_cpu).max() < 1e-3
