# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3 · Training on the paper's datasets (sections 3 and 4.1-4.3; figures 2, 3, 10, 11)
#
# **What the paper did.** Section 4 trains DCGANs on three datasets, with no pre-processing
# besides scaling to [-1, 1] and no data augmentation:
#
# * **LSUN bedrooms** (4.1), a little over 3 million images at 64x64, with the generator of
#   figure 1 (1024 feature maps at 4x4). Figure 2 shows samples after *one* pass over the data
#   (the paper's argument that quality does not come from memorising: with a small learning
#   rate and minibatch SGD a model that has seen each image once is unlikely to copy it),
#   figure 3 samples after five epochs.
# * **Faces** (4.2): about 350,000 face boxes from 3M web images of 10K people (never
#   released); figure 10.
# * **ImageNet-1k** (4.3): min-resized centre crops at 32x32; figure 11.
#
# Every model: minibatch SGD with batches of 128, weights from N(0, 0.02), LeakyReLU slope
# 0.2, Adam with learning rate 0.0002 and beta1 = 0.5. Section 3 presents the architecture
# family as the result of a search for models that train *stably* across data sets and
# resolutions: that is the claim this chapter tests first, with the share of runs that converge.
#
# **What this chapter does.** It trains each set-up, shows samples from the same noise after
# one epoch and at the end, and measures:
#
# * **convergence**: the Fréchet distance (FD) of samples to held-out images in a classifier's
#   feature space, before training, after every epoch and at the end, and the share of the gap
#   from the untrained generator to the real-vs-real floor that training closed
#   (`metrics.gap_closed`: 0 = no better than untrained, 1 = as close as real data); a run
#   counts as converged at 0.9 or more. Each set-up is trained from several seeds.
# * **memorisation** (the paper's concern in 4.1): the **nearest training images** of
#   generated samples, in pixels and in the classifier's features, beside the same distances
#   for held-out real images (a copying model puts its samples much closer to training images
#   than unseen real images are), and the **authors' distance score** after every epoch, as
#   their `train_uncond_dcgan.py` logs it: the mean distance from each held-out image to its
#   nearest generated sample among 1k, 10k (and 100k) samples (`dcgan_lib.memorization`).
#
# **Profiles.** `full` is the paper's set-up on the paper's data, on a GPU, one set-up per run
# (`dataset` parameter: `lsun`, `celeba` or `imagenet32`; the chapter graph runs the three as
# three steps, and later chapters load their models). In `cpu` and `smoke` one run trains
# stand-ins of **all three set-ups** (`dataset = ""`), since this machine has neither the data
# nor the time for the paper's:
#
# | set-up | `cpu` stand-in (Fashion-MNIST, one grey channel) | size | seeds |
# |---|---|---|---|
# | LSUN bedrooms | all 10 classes, the first 30,000 training images | 64x64 | 3 |
# | faces | the 5 upper-body garment classes (T-shirt/top, pullover, dress, coat, shirt): all 30,000 of their training images, a narrow domain of one kind of object as faces are | 64x64 | 2 |
# | ImageNet-1k | all 10 classes, all 60,000 training images, the most varied of the three | 32x32 | 2 |
#
# Each `cpu` run: width 32 (32 filters in D's first and G's last hidden layer, 256 maps at 4x4
# at 64x64), the paper's optimiser and batch size, and as many epochs as each set-up needed
# to converge here: LSUN's 4, faces' 3 (2 epochs, the first `cpu` setting, left the 64x64
# runs at 0.72-0.90 of their FD gap and still improving), ImageNet's 2. **Time** of the `cpu`
# run on 2 CPU cores: **about 70 minutes**, an estimate from speeds measured on this book's
# 2-core machine (at 64x64 and width 32 about 100 training images/s on one thread, 1.6 to 1.8
# times that on two; 32x32 about 5 times faster): about 55 minutes of training (LSUN's
# 360,000 images over 3 seeds, faces' 180,000 over 2; ImageNet's 240,000 at 32x32) and about
# 10 minutes of measuring (after every epoch of each first seed the FD of 5,000 samples and
# the distance score of 10,000, about half a minute at 64x64; the other seeds' FDs; the
# nearest-neighbour searches, under a minute per set-up; loading the data). A machine busy
# with other work takes longer. `python ci/run_book.py --profile cpu --plan` gives the graph's
# own estimate of the training passes on the machine at hand. The last cell before the
# exercises prints the time this run took.
#
# **Deviations (all named, all switchable):**
# * *faces*: in `full`, CelebA (202,599 aligned celebrity faces, torchvision's 178x218 crops,
#   min-resized to 64 and centre-cropped) stands in for the authors' unreleased set.
# * *update schedule*: D then G on the same batch (`schedule="same-batch"`); the authors'
#   code alternates G and D updates over minibatches (`schedule="alternating"`). Their code
#   also adds an L2 weight decay of 1e-5 that the paper does not mention; we use none.
# * *widths*: `full` uses 128 filters in D's first and G's last hidden layer, the figure 1
#   generator at 64x64 (1024 maps at 4x4) and the width of the authors' faces code; for the
#   32x32 ImageNet model the paper gives no width and we use the same 128. `cpu` uses 32.
# * *epochs*: LSUN 5 (figures 2 and 3); faces 25 (the authors' faces script, `niter = 25`);
#   ImageNet not given in the paper, we use 25 as well. `cpu`: LSUN 4, faces 3, ImageNet 2.
# * *seeds*: the paper reports one model per data set; `cpu` trains LSUN's set-up from 3 seeds
#   and the others from 2 (`n_seeds`), to give its convergence claims a spread. `full`: one
#   seed per set-up by default (GPU hours), so its verdicts can be `partly` at best.
# * *quality measure*: the paper judged by eye. Our FD uses a small classifier (Inception
#   weights cannot be fetched offline): in `full` one trained on ImageNet-1k at the set-up's
#   resolution (so the same feature space serves all three data sets), in `cpu` one trained
#   on all of Fashion-MNIST at the set-up's resolution (the faces stand-in is measured in it
#   too, against held-out images of its 5 classes).
# * *distance score*: the authors' "validation" images were the first 10,000 images of their
#   training file; we use held-out images (LSUN bedrooms has only 300).

# %% tags=["parameters"]
profile = ""      # smoke | cpu | full; "": $DCGAN_PROFILE, else cpu
seed = 0          # the first seed of every set-up (its runs use seed, seed + 1, ...)
data_root = ""    # empty: $DCGAN_DATA or ~/.cache/dcgan_lib/data
results_dir = "results"
scale = ""        # "tiny": the profile's code path with tiny sizes (CI's test)
dataset = ""      # "": all three set-ups (smoke, cpu); lsun | celeba | imagenet32: that one
ngf = None        # width of G's last and D's first hidden layer; None: the profile's
epochs = None     # None: the profile's (cpu: lsun 4, celeba 3, imagenet32 2; full: lsun 5,
#                   celeba and imagenet32 25)
batch_size = None  # None: the profile's (128, the paper's)
lr = None         # Adam learning rate; None: the profile's (0.0002, the paper's)
limit = None      # use only the first N training images; None: the profile's
fd_n = None       # images per Fréchet distance; None: the profile's
n_query = None    # samples whose nearest training images are searched; None: the profile's
num_workers = None  # data loader processes (streamed data); None: the profile's
n_seeds = None    # runs per set-up; None: the profile's (cpu: lsun 3, celeba and imagenet32 2)

# %%
from dcgan_lib import book, data
run = book.setup("03_datasets", profile, seed, data_root, results_dir, scale)
SETUPS = {   # the paper's three set-ups (section 4), by the name the chapter graph uses
    "lsun": dict(name="LSUN bedrooms", section="4.1", res=64,
                 figure="figures 2 (one epoch) and 3 (five epochs)"),
    "celeba": dict(name="faces", section="4.2", res=64, figure="figure 10"),
    "imagenet32": dict(name="ImageNet-1k", section="4.3", res=32, figure="figure 11"),
}
assert dataset in ("", *SETUPS), \
    f"dataset must be '' (all three), lsun, celeba or imagenet32, got {dataset!r}"
RUN = [dataset] if dataset else list(SETUPS)
base = run.out                  # results/<profile>/03_datasets: each set-up's runs in <set-up>/
if dataset:                     # one set-up (the full pipeline): its figures and metrics apart
    run.out = base / dataset
    run.out.mkdir(exist_ok=True)
S = run.settings(   # a dict value is per set-up (a missing set-up: None)
    smoke=dict(data="synthetic", classes={"celeba": (0,)}, channels=None, ngf=8, limit=256,
               epochs=2, batch_size=64, lr=2e-4, fd_n=128, nnd_ns=(100, 200), n_held_out=200,
               n_query=64, clf_data="synthetic", clf_limit=None, clf_epochs=1, preload=True,
               num_workers=0, n_seeds={"lsun": 3, "celeba": 2, "imagenet32": 1}),
    cpu=dict(data="fashion-mnist", classes={"celeba": data.FASHION_MNIST_UPPER_BODY}, ngf=32,
             channels=None, limit={"lsun": 30000}, epochs={"lsun": 4, "celeba": 3, "imagenet32": 2},
             batch_size=128, lr=2e-4, fd_n=5000,
             nnd_ns=(1000, 10000), n_held_out=10000, n_query=1000, clf_data="fashion-mnist",
             clf_limit=None, clf_epochs=1, preload=True, num_workers=0,
             n_seeds={"lsun": 3, "celeba": 2, "imagenet32": 2}),
    full=dict(data={"lsun": "lsun", "celeba": "celeba", "imagenet32": "imagenet"}, classes=None,
              channels=3, ngf=128, limit=None, epochs={"lsun": 5, "celeba": 25, "imagenet32": 25},
              batch_size=128, lr=2e-4, fd_n=10000, nnd_ns=(1000, 10000, 100000),
              n_held_out=10000, n_query=1000, clf_data="imagenet", clf_limit=200000,
              clf_epochs=5, preload={"lsun": False, "celeba": False, "imagenet32": True},
              num_workers=8, n_seeds=1),
    tiny=dict(ngf=8, limit=32, epochs=2, batch_size=16, fd_n=12, nnd_ns=(8, 16),
              n_held_out=16, n_query=8, clf_limit=64, clf_epochs=1, num_workers=0),
    ngf=ngf, epochs=epochs, batch_size=batch_size, lr=lr, limit=limit, fd_n=fd_n,
    n_query=n_query, num_workers=num_workers, n_seeds=n_seeds)
P = {key: {k: (v.get(key) if isinstance(v, dict) else v) for k, v in S.items()} for key in RUN}
SEEDS = {key: [seed + i for i in range(P[key]["n_seeds"])] for key in RUN}
print(f"set-ups in this run: {', '.join(RUN)}; seeds {SEEDS}")
S

# %% [markdown]
# ## The paper's set-up, and the size of its models
# The table is the `full` profile; the parameter counts are of the paper-width networks of
# figure 1 (64x64 colour; the faces set-up uses the same). This run's own settings are printed
# above.

# %%
# NBVAL_CHECK_OUTPUT
from dcgan_lib.models import Discriminator, Generator, count_parameters
setup_rows = [
    {"dataset": "lsun", "paper data": "LSUN bedrooms (3,033,042)", "size": 64, "epochs": 5,
     "ours (full)": "same", "paper figure": "2, 3"},
    {"dataset": "celeba", "paper data": "faces (~350k, unreleased)", "size": 64, "epochs": "?",
     "ours (full)": "CelebA train (162,770), 25 epochs", "paper figure": "10"},
    {"dataset": "imagenet32", "paper data": "ImageNet-1k (1,281,167)", "size": 32, "epochs": "?",
     "ours (full)": "same, 25 epochs", "paper figure": "11"},
]
run.table(setup_rows, "paper_setup")
print("all: batch 128, Adam lr 0.0002 beta1 0.5, N(0, 0.02) init, LeakyReLU 0.2, "
      "no augmentation, paper variant (5x5 kernels, uniform z, nz = 100)")
print(f"lsun at 64x64, 128 filters: G {count_parameters(Generator(64, 100, 128, 3)):,}"
      f" parameters, D {count_parameters(Discriminator(64, 128, 3)):,}")

# %% [markdown]
# ## Getting the data
# The `full` profile needs the paper's data here (and, for its feature space, ImageNet-1k
# prepared at each set-up's resolution): `dcgan data lsun celeba imagenet32 --root DIR` gets,
# checks and converts them. The chapter graph (`dcgan_lib.graph`) lists what this run reads;
# `dcgan_lib.fetch` checks it, and in the `full` profile a missing piece stops the chapter here.

# %%
from pathlib import Path
from torchvision.datasets import FashionMNIST

from dcgan_lib import graph, prepare
root = Path(run.data_root or data.default_data_root())
notes = [prepare.lsun_instructions(root, "bedroom")] if "lsun" in RUN else []
notes += [prepare.celeba_manual_instructions(root)] if "celeba" in RUN else []
notes += [prepare.imagenet_instructions(root / "imagenet", r)
          for r in sorted({SETUPS[key]["res"] for key in RUN})]
print("\n\n".join(notes))
missing = sorted({m for key in RUN
                  for m in graph.missing_data(graph.find_step(run.profile, "03_datasets", key),
                                              root)})
if run.profile == "full" and missing:
    raise FileNotFoundError("the full profile needs: " + "; ".join(missing))
NAMES = {"fashion-mnist": FashionMNIST.classes}   # class names by label, where known
DATA = {key: P[key]["data"] + (" (" + ", ".join(
    NAMES[P[key]["data"]][c] if P[key]["data"] in NAMES else f"class {c}"
    for c in P[key]["classes"]) + ")" if P[key]["classes"] else "") for key in RUN}  # trained on
print(f"\nThis run ({run.profile}) uses: " + "; ".join(
    f"{key}: {DATA[key]} at {SETUPS[key]['res']}x{SETUPS[key]['res']}" for key in RUN))

# %% [markdown]
# ## The data of each set-up
# Training images are held in memory (`preload`) except LSUN's and CelebA's in `full`, which
# are decoded as training goes. Held-out images (each data set's test split, of the same
# classes) are the reference of the quality measure and of the memorisation checks.
# The grids below, as every grid in this chapter, are drawn at the images' own resolution
# (64x64 pixel for pixel, 32x32 at twice the size).

# %%
import dataclasses
import shutil
import time

import matplotlib.pyplot as plt
import torch
from torch.utils.data import Subset, TensorDataset

from dcgan_lib import claims, memorization, metrics, train, viz
from dcgan_lib.train import TrainConfig, Trainer, load_generator, read_jsonl

device = "cuda" if torch.cuda.is_available() else "cpu"
CONVERGED = {c.metric: c.rule for c in claims.for_chapter("03_datasets")}[
    "lsun_fd_gap_closed"].reproduced_at   # gap closed from which a run counts as converged: 0.9
train_sets, held, real = {}, {}, {}
t0 = time.perf_counter()
for key in RUN:
    p, res = P[key], SETUPS[key]["res"]
    tr, te = (data.get_dataset(p["data"], run.data_root, res, p["channels"], split,
                               synthetic_size=1024, seed=seed) for split in ("train", "test"))
    if p["classes"]:   # the faces stand-in: only the classes of one kind of object
        tr, te = data.keep_classes(tr, p["classes"]), data.keep_classes(te, p["classes"])
    if p["preload"]:
        train_sets[key] = data.preload(tr, p["limit"])
    else:
        train_sets[key] = Subset(tr, range(min(p["limit"], len(tr)))) if p["limit"] else tr
    held[key] = data.preload(te, p["n_held_out"]).tensors[0]
    real[key] = data.preload(train_sets[key], max(p["nnd_ns"] + (2 * p["fd_n"],)),
                             num_workers=p["num_workers"]).tensors[0]
    print(f"{key}: {DATA[key]}: {len(train_sets[key])} training images, {len(held[key])} "
          f"held-out, shape {tuple(held[key].shape[1:])}, range [{held[key].min():.0f}, "
          f"{held[key].max():.0f}]")
print(f"loaded in {time.perf_counter() - t0:.0f}s")
fig = viz.native_grids({f"{key}: {DATA[key]}, {SETUPS[key]['res']}px": real[key][:20]
                        for key in RUN}, 4)
run.figure(fig, "real_images", caption="real training images of each set-up's stand-in: "
           "what its generators should learn to draw")

# %% [markdown]
# ## Quality measure and the authors' distance score
# The FD to held-out images in the classifier's feature space (with the real-vs-real floor:
# as many real training images against the same reference) is measured after every epoch of
# each set-up's first seed and picks its `best.pt`; for the other seeds, after the first epoch
# and at the end. The distance score is computed after every epoch of the first seed from 1k,
# 10k (and in `full` 100k) samples; beside it, the same score with *real training images* in
# place of samples, which is what a generator matching the data would get. When the held-out
# split is smaller than the FD sample size (LSUN: 300 images), the reference is a slice of the
# training images instead.

# %%
nets, fd_evals, evaluators, nnd_real, rows = {}, {}, {}, {}, []
for key in RUN:
    p, res = P[key], SETUPS[key]["res"]
    if res not in nets:   # one classifier per resolution (cached under the data root)
        nets[res] = metrics.feature_classifier(p["clf_data"], run.data_root, res, p["channels"],
                                               epochs=p["clf_epochs"], seed=seed,
                                               limit=p["clf_limit"])
    net = nets[res][0].to(device)
    reference = held[key] if len(held[key]) >= p["fd_n"] else real[key][p["fd_n"]:]
    fd_evals[key] = metrics.FrechetEvaluator(net, reference, real[key], n=p["fd_n"], seed=seed)
    nnd_eval = memorization.DistanceScore(held[key], p["nnd_ns"], seed=seed, device=device)
    nnd_real[key] = nnd_eval.real_reference(real[key])
    evaluators[key] = memorization.combine_evaluators(fd_evals[key], nnd_eval)
    rows.append({"set-up": key, "classifier": f"{p['clf_data']} {res}px",
                 "test accuracy": nets[res][1], "FD floor": fd_evals[key].floor,
                 "FD n": p["fd_n"], **{f"real {k[4:]}": v for k, v in nnd_real[key].items()}})
run.table(rows, "quality_measure")
run.log_metrics(**{f"{r['set-up']}_fd_floor": r["FD floor"] for r in rows})

# %% [markdown]
# ## Training: the first seed of each set-up
# Samples come from the same 64 z vectors after one epoch and at the end, with batch
# statistics in batch-norm (as the authors sampled). The epoch-1 generator is kept as
# `epoch1.pt` for the memorisation check; `best.pt` (the epoch with the lowest FD) is the model
# later chapters load in `full`.

# %%
cfgs, main = {}, {}
for key in RUN:
    p, res = P[key], SETUPS[key]["res"]
    cfgs[key] = TrainConfig(
        dataset=p["data"], data_root=run.data_root, image_size=res, channels=p["channels"],
        limit=p["limit"], variant="paper", nz=100, ngf=p["ngf"], ndf=p["ngf"],
        batch_size=p["batch_size"], lr=p["lr"], beta1=0.5, epochs=p["epochs"], seed=seed,
        out=str(base / key / "run"), sample_every=10**9, checkpoint_every=2000, progress=False,
        preload=p["preload"], num_workers=p["num_workers"])
    t0 = time.perf_counter()
    trainer = Trainer(cfgs[key], train_sets[key], evaluators[key], overwrite=True)
    ev0 = evaluators[key](trainer.G)
    trainer.fit(until_step=trainer.steps_per_epoch)
    after_one_epoch = trainer.sample()
    trainer.save("epoch1.pt")
    trainer.fit()
    main[key] = dict(G=trainer.G, ev0=ev0, after_one_epoch=after_one_epoch,
                     at_end=trainer.sample(), steps=trainer.total_steps,
                     epochs=read_jsonl(Path(cfgs[key].out) / "epochs.jsonl"),
                     seconds=time.perf_counter() - t0)
    last = main[key]["epochs"][-1]
    print(f"{key}: {trainer.steps_per_epoch} steps per epoch, {trainer.total_steps} steps, "
          f"{last['images_per_s']:.0f} images/s; FD untrained {ev0['fd']:.4g} -> after epoch 1 "
          f"{main[key]['epochs'][0]['fd']:.4g} -> end {last['fd']:.4g} (floor "
          f"{fd_evals[key].floor:.3g}), {main[key]['seconds']:.0f}s in all")
del trainer
run.table([{"set-up": key, "epoch": e["epoch"], "FD": e["fd"],
            "gap closed": metrics.gap_closed(main[key]["ev0"]["fd"], e["fd"], e["fd_floor"]),
            **{f"score {k[4:]}": e[k] for k in e if k.startswith("nnd_")},
            "seconds": e["seconds"], "images/s": e["images_per_s"]}
           for key in RUN for e in main[key]["epochs"]], "per_epoch")

# %% [markdown]
# ## Repeats: the other seeds
# Each further seed trains the same configuration (`train.repeat_runs`, in
# `<set-up>/repeats/paper-seed<seed>`) and is measured before training, after its first epoch
# (from its epoch-end checkpoint) and at the end. The table lists every run of the chapter:
# the first seed's numbers come from the run above.

# %%
runs = []
for key in RUN:
    m, floor = main[key], fd_evals[key].floor
    runs.append({"set-up": key, "seed": seed, "fd_untrained": m["ev0"]["fd"],
                 "fd_epoch1": m["epochs"][0]["fd"], "fd_final": m["epochs"][-1]["fd"],
                 "fd_floor": floor,
                 "gap_closed_epoch1": metrics.gap_closed(m["ev0"]["fd"], m["epochs"][0]["fd"],
                                                         floor),
                 "gap_closed": metrics.gap_closed(m["ev0"]["fd"], m["epochs"][-1]["fd"], floor),
                 "seconds": m["seconds"]})
    if len(SEEDS[key]) < 2:
        continue
    shutil.rmtree(base / key / "repeats", ignore_errors=True)   # fresh runs, as the one above
    rep_cfg = dataclasses.replace(cfgs[key], out=str(base / key / "repeats"),
                                  keep_last=P[key]["epochs"] + 1)   # keep epoch 1's checkpoint
    for r in train.repeat_runs(rep_cfg, train_sets[key], fd_evals[key], SEEDS[key][1:]):
        folder = base / key / "repeats" / f"{r['variant']}-seed{r['seed']}"
        spe = len(train_sets[key]) // P[key]["batch_size"]          # steps per epoch
        fd1 = fd_evals[key](load_generator(folder / f"ckpt-{spe:08d}.pt", device))["fd"]
        runs.append({"set-up": key, "seed": r["seed"], "fd_untrained": r["fd_untrained"],
                     "fd_epoch1": fd1, "fd_final": r["fd_final"], "fd_floor": r["fd_floor"],
                     "gap_closed_epoch1": metrics.gap_closed(r["fd_untrained"], fd1,
                                                             r["fd_floor"]),
                     "gap_closed": r["gap_closed"], "seconds": r["seconds"]})
run.table(runs, "runs")
run.log_metrics(**{f"{key}_gap_closed_mean": sum(r["gap_closed"] for r in runs
                                                   if r["set-up"] == key) / len(SEEDS[key])
                   for key in RUN})

# %% [markdown]
# ## Samples from the same noise: after one epoch and at the end
# The paper shows LSUN samples after one pass (its figure 2) and after five (figure 3) to argue
# that quality does not come from memorising. Each figure shows one set-up's first seed, 18
# samples from the same z vectors; under it, 12 final samples of each other seed, all at
# native resolution (few, to keep the notebook small: `metrics.generate` draws more from any
# run's checkpoint).

# %%
for key in RUN:
    m = main[key]
    figures = [{"after 1 epoch": m["after_one_epoch"][:18],
                f"after {len(m['epochs'])} epochs": m["at_end"][:18]},
               {f"seed {s}, at the end": metrics.generate(load_generator(
                   sorted((base / key / "repeats" / f"paper-seed{s}").glob("ckpt-*.pt"))[-1],
                   device), 12, seed + 1) for s in SEEDS[key][1:]}]
    for i, panels in enumerate(figures):
        if not panels:
            continue
        fig = viz.native_grids(panels, 6, gap=0.04)
        run.figure(fig, f"{key}_samples" + ("_other_seeds" if i else ""), caption=(
            f"{key} ({run.profile}: {DATA[key]}, {SETUPS[key]['res']}x{SETUPS[key]['res']}), "
            f"paper {SETUPS[key]['figure']}: "
            + ("the other seeds at the end: does every seed draw the same kinds of items?" if i
               else f"seed {seed} after one epoch and at the end, same z: do the items already "
               "have their shapes after one pass?")))

# %% [markdown]
# ## Convergence per epoch
# Left: the share of the FD gap closed (0 = untrained, 1 = the real-vs-real floor) after every
# epoch of each set-up's first seed (lines), and after epoch 1 and at the end of the other
# seeds (dots); the dashed line is the 0.9 that counts as converged. Right: the authors'
# distance score at the largest sample count divided by the same score of real training images
# (1 = samples cover the held-out images as well as real images do).

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
for i, key in enumerate(RUN):
    m = main[key]
    xs = [0] + [e["epoch"] for e in m["epochs"]]
    a1.plot(xs, [0.0] + [metrics.gap_closed(m["ev0"]["fd"], e["fd"], e["fd_floor"])
                         for e in m["epochs"]], "o-", color=f"C{i}", label=f"{key}, seed {seed}")
    others = [r for r in runs if r["set-up"] == key and r["seed"] != seed]
    for j, r in enumerate(others):
        a1.plot([1, len(m["epochs"])], [r["gap_closed_epoch1"], r["gap_closed"]], "o:",
                color=f"C{i}", alpha=0.6, ms=4,
                label=None if j else f"{key}, seed{'s' * (len(others) > 1)} "
                + ", ".join(str(o["seed"]) for o in others))
    k = max(nnd_real[key], key=lambda n: int(n[4:].replace("k", "000")))
    a2.plot(xs, [e[k] / nnd_real[key][k] for e in [m["ev0"], *m["epochs"]]], "o-",
            color=f"C{i}", label=f"{key} ({k[4:]} samples)")
a1.axhline(CONVERGED, color="k", ls="--", lw=1)
a1.set_ylabel("share of the FD gap closed")
a1.set_ylim(min(-0.05, a1.get_ylim()[0]), 1.05)
a2.axhline(1.0, color="k", ls="--", lw=1)
a2.set_ylabel("distance score, as a multiple of real images'")
for ax in (a1, a2):
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8)
run.figure(fig, "convergence_per_epoch", caption="left: every line and dot should end above "
           "the dashed 0.9; right: lower is better, 1 is real data")

# %% [markdown]
# ## Memorisation: nearest training images
# For `n_query` samples of each set-up's first-seed generator after one epoch and at the end,
# and for as many held-out real images, the nearest image of the training set actually used,
# in pixels and in the classifier's features (one pass over the training set, `torch.cdist` in
# chunks). A model that copied would put its samples much closer to training images than
# held-out images are: `closer_than_q` is the fraction of samples closer than the 1% quantile
# of the held-out distances (about 0.01 if nothing is copied, near 1 if everything is).
# The positive control, a "copying generator": `n_query` random training images with a little
# Gaussian noise (standard deviation `copy_noise` on the [-1, 1] scale), measured the same way;
# the test must flag it.

# %%
copy_noise = 0.02
nn_rows, nn_found, queries, train_refs = [], {}, {}, {}
for key in RUN:
    p, q, t0 = P[key], P[key]["n_query"], time.perf_counter()
    g1 = load_generator(base / key / "run" / "epoch1.pt", device)
    copied = torch.randperm(len(train_sets[key]), generator=torch.Generator().manual_seed(seed + 2))
    copies = torch.stack([train_sets[key][j][0] for j in copied[:q].tolist()])
    copies = (copies + copy_noise * torch.randn(copies.shape, generator=torch.Generator()
                                                .manual_seed(seed + 3))).clamp(-1, 1)
    queries[key] = torch.cat([metrics.generate(g1, q, seed + 1),
                              metrics.generate(main[key]["G"], q, seed + 1), held[key][:q], copies])
    train_refs[key] = train_sets[key].tensors[0] if isinstance(train_sets[key], TensorDataset) \
        else train_sets[key]
    nn_found[key] = memorization.neighbours_in_spaces(
        queries[key], train_refs[key],
        {"pixels": None, "features": nets[SETUPS[key]["res"]][0].features},
        device=device, num_workers=p["num_workers"])
    for space, (d, i) in nn_found[key].items():
        for name, part in (("after 1 epoch", slice(0, q)), ("at the end", slice(q, 2 * q)),
                           ("copying control", slice(3 * q, 4 * q))):
            st = memorization.copy_statistics(d[part, 0], d[2 * q:3 * q, 0])
            nn_rows.append({"set-up": key, "space": space, "generator": name, **st})
    print(f"{key}: nearest neighbours of {len(queries[key])} images among "
          f"{len(train_sets[key])} training images in {time.perf_counter() - t0:.0f}s")
run.table(nn_rows, "nearest_training_distances")
run.log_metrics(**{f"{r['set-up']}_{r['space']}_{r['generator'].replace(' ', '_')}_closer_than_q":
                   r["closer_than_q"] for r in nn_rows})

# %%
for key in RUN:
    q = P[key]["n_query"]
    for name, part in (("at the end", slice(q, q + 8)), ("after 1 epoch", slice(0, 8))):
        if name == "after 1 epoch" and key != RUN[0]:
            continue   # after one epoch: the first set-up only (the paper's figure 2 question)
        panels = {f"generated ({name})": queries[key][part],
                  **{f"nearest training image ({space})":
                     torch.stack([train_sets[key][j][0] for j in nn_found[key][space][1][part, 0]
                                  .tolist()]) for space in ("pixels", "features")}}
        fig = viz.native_grids(panels, 4)
        run.figure(fig, f"{key}_nearest_training_{name.replace(' ', '_')}", caption=(
            f"{key}: 8 samples {name} and their nearest training images, in the same places: "
            "similar items, or copies?"))

# %% [markdown]
# **Reading the results.** The numbers above are this run's; the README quotes the committed
# `cpu` run. What to look at: whether the samples after one epoch already look like the data
# (the paper's figure 2 argument); whether the nearest training images in the memorisation
# figures are *different* images (similar in kind or shape, not copies), which
# `closer_than_q` quantifies; whether every seed of every set-up closes most of its FD gap
# (section 3's stability claim) or some runs stall; and whether the distance score keeps
# falling towards the real-image line. In `cpu` and `smoke` the data are not the paper's: a
# verdict below says whether the paper's claim held for these stand-ins at this scale, and the
# `full` profile gives the paper's experiment.
#
# ## Verdicts
# The rules are in `dcgan_lib/claims.py`, written before these runs. Each set-up's claim is
# decided on the share of the FD gap its runs closed (mean over seeds with its 95% interval; a
# set-up run from one seed has no interval and is at best `partly`); section 3's stability
# claim on the share of all runs that converged (decided only when the run trained all three
# set-ups); figure 2's on the gap closed after one epoch;
# the copying claim on the share of final LSUN-set-up samples nearer a training image, in the
# classifier's features, than 99% of held-out images are. Under the table: the copying
# test's positive control (the copying generator above, which the same rule must not pass),
# each set-up's runs in one line, and where a set-up did not converge, the likeliest cause
# from its curves.

# %%
M = claims.Measure
by_setup = {key: [r for r in runs if r["set-up"] == key] for key in RUN}
about = {key: (f"{len(by_setup[key])} seed(s), {P[key]['epochs']} epochs of "
               f"{len(train_sets[key])} {DATA[key]} images at {SETUPS[key]['res']}x"
               f"{SETUPS[key]['res']}, width {P[key]['ngf']}") for key in RUN}
measured = {metric: M.from_samples([r["gap_closed"] for r in by_setup[key]], note=about[key])
            for key, metric in (("lsun", "lsun_fd_gap_closed"), ("celeba", "faces_fd_gap_closed"),
                                ("imagenet32", "imagenet_fd_gap_closed")) if key in RUN}
if "lsun" in RUN:
    measured["lsun_fd_gap_closed_epoch1"] = M.from_samples(
        [r["gap_closed_epoch1"] for r in by_setup["lsun"]], note="after epoch 1; " + about["lsun"])
    q = P["lsun"]["n_query"]
    closer = next(r["closer_than_q"] for r in nn_rows if r["set-up"] == "lsun"
                  and r["space"] == "features" and r["generator"] == "at the end")
    measured["lsun_closer_than_q"] = M.binomial(round(closer * q), q, note=(
        f"{q} final samples of seed {seed}, classifier features, against {q} held-out images"))
n_ok = sum(r["gap_closed"] >= CONVERGED for r in runs)
if len(RUN) == len(SETUPS):   # stability *across data sets*: only when all three ran here
    measured["converged_share"] = M(n_ok / len(runs), 0.0, len(runs), note=(
        f"{n_ok} of {len(runs)} runs closed >= {CONVERGED:g} of their FD gap: "
        + ", ".join(f"{key} {sum(r['gap_closed'] >= CONVERGED for r in by_setup[key])}/"
                    f"{len(by_setup[key])}" for key in RUN)))
verdicts = run.verdicts(measured)
if "lsun" in RUN:   # the positive control: the copying generator judged by the same rule
    copying = next(c for c in claims.CLAIMS if c.id == "sec4.1-no-copying")
    closer_copies = next(r["closer_than_q"] for r in nn_rows if r["set-up"] == "lsun"
                         and r["space"] == "features" and r["generator"] == "copying control")
    control = copying.decide({"lsun_closer_than_q": M.binomial(round(closer_copies * q), q)})
    print(f"positive control: {q} training images plus noise of sd {copy_noise} judged as if "
          f"they were the LSUN set-up's samples: closer_than_q {closer_copies:.3f}, "
          f"{control['verdict']}; the test must not pass it")
for key in RUN:   # each set-up in one line; where runs did not converge, the likeliest cause
    rs, m = by_setup[key], main[key]
    bad = [r for r in rs if r["gap_closed"] < CONVERGED]
    gaps = lambda rows, k="gap_closed": ", ".join(f"{r[k]:.4g}" for r in rows)
    log = read_jsonl(base / key / "run" / "log.jsonl")[-max(1, m["steps"] // 10):]
    d_x, d_gz = (sum(r[k] for r in log) / len(log) for k in ("d_x", "d_g_z1"))
    line = (f"{SETUPS[key]['name']} set-up ({key}, {DATA[key]}): gap closed {gaps(rs)} (seeds "
            f"{', '.join(str(r['seed']) for r in rs)}); FD at the end "
            f"{gaps(rs, 'fd_final')} (untrained {gaps(rs, 'fd_untrained')}, floor "
            f"{rs[0]['fd_floor']:.3g}). ")
    if not bad:
        line += f"Converged in all {len(rs)} runs."
    else:
        line += f"Did NOT converge in {len(bad)} of {len(rs)} runs. Likeliest cause: "
        worse = [r for r in bad if r["gap_closed"] <= r["gap_closed_epoch1"]]
        if any(r["gap_closed"] <= 0 for r in bad):
            line += "training failed: no better than the untrained generator"
        elif len(m["epochs"]) == 1:
            line += f"too few updates for this width (one epoch, {m['steps']} steps)"
        elif not worse:
            line += (f"too few updates: still improving when training stopped (gap after epoch 1 "
                     f"{gaps(bad, 'gap_closed_epoch1')}, at the end {gaps(bad)}, {m['steps']} "
                     "steps per run); more epochs are the first thing to try")
        else:
            line += ("unstable training: the gap closed fell after epoch 1 in "
                     + ", ".join(f"seed {r['seed']} ({r['gap_closed_epoch1']:.3f} -> "
                                 f"{r['gap_closed']:.3f})" for r in worse))
        line += (f". Over the last 10% of seed {seed}'s steps D(x) = {d_x:.2f}, D(G(z)) = "
                 f"{d_gz:.2f}" + (": D wins, G gets little gradient" if d_x > 0.95 and
                                  d_gz < 0.05 else ""))
    print(line)
run.log_metrics(**{f"{key}_checkpoint": book.rel(base / key / "run" / "best.pt") for key in RUN})
print(f"chapter compute time: {run.elapsed():.0f} s")

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell for your answer (`answer = None` until you set it), the reference
# solution (tagged `solution`: only in the instructor edition, `python ci/student_edition.py`
# writes the chapters without it) and a check that says in one line what is right or wrong
# (`dcgan_lib.exercises`). Costs: solution and check, measured in the `cpu` profile with one
# thread on a shared 2-core machine (`ci/time_exercises.py`); in `smoke` each takes under a
# second. `EX` holds this profile's exercise sizes. The exercises use the first set-up of this
# run (LSUN's, when the chapter ran all three): its images, its held-out images and the
# per-epoch table of its first seed.

# %%
from dcgan_lib import exercises

KEY = RUN[0]
real_train, held_out, train_ref, epochs = real[KEY], held[KEY], train_refs[KEY], main[KEY]["epochs"]
nnd_keys = [k for k in epochs[0] if k.startswith("nnd_")]
EX = exercises.sizes("03", run)
EX

# %% [markdown]
# ### Exercise 03.1 (practice; `cpu` 8 s): fool the memorisation check
#
# The check above flags a sample as a copy when it is nearer (in pixels) to a training image
# than the nearest 1% of held-out images are (`closer_than_q`). Make `S["n_query"]` images that
# it flags (closer_than_q of at least 0.5) although none is a byte copy of a training image.
# Then think: what kind of copying does this check catch, and what kind would it miss?

# %% tags=["student"]
answer = None  # a tensor (N, C, H, W) of images in [-1, 1]

# %% tags=["solution"]
near_copies = real_train[:S["n_query"]]
answer = (near_copies + EX["noise"] * torch.randn_like(near_copies)).clamp(-1, 1)

# %%
exercises.check("03.1", answer, run=run, train_images=train_ref, held_out=held_out)

# %% [markdown]
# ### Exercise 03.2 (quick; under a second): which epoch covers the held-out images best?
#
# The distance score (the authors' `nnd`) measures how well samples cover held-out images:
# lower is better. From the per-epoch table, which epoch has the lowest score at the largest
# sample count? Does the Fréchet distance pick the same epoch?

# %% tags=["student"]
answer = None  # an integer: the epoch (1 = the first)

# %% tags=["solution"]
answer = min(epochs, key=lambda e: e[nnd_keys[-1]])["epoch"]

# %%
exercises.check("03.2", answer, run=run, epochs=epochs)
