"""Run by tests/test_distributed.py under torchrun (2 processes, gloo on CPU); a 4th argument
``labels`` trains the conditional GAN instead.

Trains a tiny DCGAN for ``steps`` steps in ``out`` (resuming when asked), then checks that
every rank holds the same weights and writes rank 0's findings to ``out/ddp_result.json``.
"""
import json
import os
import sys

import torch
import torch.distributed as dist

from dcgan_lib import data, distributed
from dcgan_lib.train import TrainConfig, Trainer

out, steps, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "resume"
labels = len(sys.argv) > 4 and sys.argv[4] == "labels"   # the conditional GAN (appendix A.1)
distributed.init_from_env()
rank, world = distributed.rank_and_world()
cfg = TrainConfig(dataset="synthetic", image_size=16, channels=1, nz=8, ngf=4, ndf=4,
                  batch_size=8, steps=steps, out=out, progress=False, checkpoint_every=2,
                  sample_every=100, num_samples=4, device="cpu", labels=labels, nfc=16)
ds = data.get_dataset("synthetic", image_size=16, channels=1, synthetic_size=64)
if labels:
    ds = data.preload(ds)
tr = Trainer(cfg, ds, resume=resume, overwrite=not resume)
start = tr.step
seen = []
for i, (real, _) in enumerate(tr._batches(0, 0)):   # first two minibatches of this rank
    seen.append(real[:, 0, 0, 0].tolist())
    if i == 1:
        break
tr.fit()
flat = torch.cat([p.detach().flatten() for p in list(tr.G.parameters()) + list(tr.D.parameters())])
gathered = [torch.zeros_like(flat) for _ in range(world)]
dist.all_gather(gathered, flat)
batches = [None] * world
dist.all_gather_object(batches, seen)
if rank == 0:
    result = {"world": world, "start": start, "step": tr.step,
              "in_sync": all(torch.equal(gathered[0], g) for g in gathered),
              "distinct_batches": batches[0] != batches[1],
              "steps_per_epoch": tr.steps_per_epoch}
    with open(f"{out}/ddp_result.json", "w") as f:
        json.dump(result, f)
dist.barrier()
dist.destroy_process_group()
sys.stdout.flush()
os._exit(0)  # skip interpreter teardown, where gloo's threads can abort ("terminate called ...")
