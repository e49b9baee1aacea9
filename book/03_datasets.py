# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3 · Training on the paper's datasets (section 4; figures 2, 3, 10, 11)
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
# 0.2, Adam with learning rate 0.0002 and beta1 = 0.5.
#
# **What this chapter does.** One chapter, run once per dataset (`dataset` parameter:
# `lsun`, `celeba` or `imagenet32`). The `full` profile is the paper's set-up on the paper's
# data (on a GPU; the data preparation is below). It trains, shows samples from the same
# noise after one epoch and at the end, and measures the paper's memorisation concern:
#
# * the **nearest training images** of generated samples, in pixels and in the features of a
#   classifier, beside the same distances for real held-out images (a copying model puts its
#   samples much closer to training images than unseen real images are);
# * the **authors' distance score** after every epoch, as their `train_uncond_dcgan.py` logs
#   it: the mean distance from each real image to its nearest generated sample among 1k,
#   10k and 100k samples (`dcgan_lib.memorization`);
# * the Fréchet distance in the classifier's feature space, which picks the **best
#   checkpoint** (`best.pt`) beside the last, since DCGAN runs can degrade late.
#
# **Deviations (all named, all switchable):**
# * *faces*: CelebA (202,599 aligned celebrity faces, torchvision's 178x218 crops,
#   min-resized to 64 and centre-cropped) stands in for the authors' unreleased set.
# * *update schedule*: D then G on the same batch (`schedule="same-batch"`); the authors'
#   code alternates G and D updates over minibatches (`schedule="alternating"`). Their code
#   also adds an L2 weight decay of 1e-5 that the paper does not mention; we use none.
# * *widths*: `full` uses 128 filters in D's first and G's last hidden layer, the figure 1
#   generator at 64x64 (1024 maps at 4x4) and the width of the authors' faces code; for the
#   32x32 ImageNet model the paper gives no width and we use the same 128.
# * *epochs*: LSUN 5 (figures 2 and 3); faces 25 (the authors' faces script, `niter = 25`);
#   ImageNet not given in the paper, we use 25 as well.
# * *quality measure*: the paper judged by eye. Our Fréchet distance uses a small classifier
#   (Inception weights cannot be fetched offline): in `full` one trained on ImageNet-1k at the
#   chapter's resolution (so the same feature space serves all three datasets), in `cpu` one
#   trained on Fashion-MNIST.
# * *distance score*: the authors' "validation" images were the first 10,000 images of their
#   training file; we use held-out images (LSUN bedrooms has only 300).
# * **`cpu` profile**: the same code on Fashion-MNIST (one grey channel), at the chapter's
#   resolution, so that it runs in well under half an hour on 2 CPU cores (see the next cell):
#   at 64x64 (`lsun`, `celeba`) widths of 16 instead of 128 and the first 30,000 training
#   images for 5 epochs; at 32x32 (`imagenet32`) width 32 and all 60,000 images for 5 epochs.
#   For `lsun` and `celeba` the `cpu` runs are the same run. `smoke` is synthetic shapes.

# %% tags=["parameters"]
profile = ""      # smoke | cpu | full; "": $DCGAN_PROFILE, else cpu
seed = 0
data_root = ""    # empty: $DCGAN_DATA or ~/.cache/dcgan_lib/data
results_dir = "results"
scale = ""        # "tiny": the profile's code path with tiny sizes (CI's test)
dataset = "lsun"  # lsun | celeba | imagenet32
ngf = None        # width of G's last and D's first hidden layer; None: the profile's
epochs = None     # None: the profile's (full: lsun 5, celeba and imagenet32 25)
batch_size = None  # None: the profile's (128, the paper's)
lr = None         # Adam learning rate; None: the profile's (0.0002, the paper's)
limit = None      # use only the first N training images; None: the profile's
fd_n = None       # images per Fréchet distance; None: the profile's
n_query = None    # samples whose nearest training images are searched; None: the profile's
num_workers = None  # data loader processes (streamed data); None: the profile's

# %%
from dcgan_lib import book
run = book.setup("03_datasets", profile, seed, data_root, results_dir, scale)
assert dataset in ("lsun", "celeba", "imagenet32"), \
    f"dataset must be lsun, celeba or imagenet32, got {dataset!r}"
run.out = run.out / dataset  # one folder per dataset: results/<profile>/03_datasets/<dataset>
run.out.mkdir(exist_ok=True)
RES = 32 if dataset == "imagenet32" else 64
PAPER = {  # the full profile: the paper's data and set-up
    "lsun": dict(data="lsun", epochs=5, figure="figures 2 (1 epoch) and 3 (5 epochs)"),
    "celeba": dict(data="celeba", epochs=25, figure="figure 10"),
    "imagenet32": dict(data="imagenet", epochs=25, figure="figure 11"),
}[dataset]
# cpu: step times measured with the library on this 2-core machine and scaled to chapter 02's
# cpu run (0.79 s per step at 32x32, width 64): about 0.41 s per step at 64x64 with width 16,
# 0.23 s at 32x32 with width 32; with the evaluations, about 15 and 12 minutes in all.
CPU = {
    "lsun": dict(ngf=16, limit=30000, epochs=5),
    "celeba": dict(ngf=16, limit=30000, epochs=5),
    "imagenet32": dict(ngf=32, limit=None, epochs=5),
}[dataset]
S = run.settings(
    smoke=dict(data="synthetic", channels=None, ngf=8, limit=256, epochs=2, batch_size=64,
               lr=2e-4, fd_n=128, nnd_ns=(100, 200), n_held_out=200, n_query=64,
               clf_data="synthetic", clf_limit=None, clf_epochs=1, preload=True, num_workers=0),
    cpu=dict(data="fashion-mnist", channels=None, **CPU, batch_size=128, lr=2e-4, fd_n=5000,
             nnd_ns=(1000, 10000), n_held_out=10000, n_query=1000, clf_data="fashion-mnist",
             clf_limit=None, clf_epochs=1, preload=True, num_workers=0),
    full=dict(data=PAPER["data"], channels=3, ngf=128, limit=None, epochs=PAPER["epochs"],
              batch_size=128, lr=2e-4, fd_n=10000, nnd_ns=(1000, 10000, 100000),
              n_held_out=10000, n_query=1000, clf_data="imagenet", clf_limit=200000,
              clf_epochs=5, preload=dataset == "imagenet32", num_workers=8),
    tiny=dict(ngf=8, limit=32, epochs=2, batch_size=16, fd_n=12, nnd_ns=(8, 16),
              n_held_out=16, n_query=8, clf_limit=64, clf_epochs=1, num_workers=0),
    ngf=ngf, epochs=epochs, batch_size=batch_size, lr=lr, limit=limit, fd_n=fd_n,
    n_query=n_query, num_workers=num_workers)
S

# %% [markdown]
# ## The paper's set-up, and the size of its models
# The table is the `full` profile; the parameter counts are of the paper-width networks at
# this chapter's resolution (colour). This run's own settings are printed above.

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
print(f"{dataset} at {RES}x{RES}, 128 filters: G {count_parameters(Generator(RES, 100, 128, 3)):,}"
      f" parameters, D {count_parameters(Discriminator(RES, 128, 3)):,}")

# %% [markdown]
# ## Getting the data
# The `full` profile needs the paper's data here (and, for its feature space, ImageNet-1k
# prepared at this resolution): `dcgan data lsun celeba imagenet32 --root DIR` gets, checks
# and converts them. The chapter graph (`dcgan_lib.graph`) lists what this run reads;
# `dcgan_lib.fetch` checks it, and in the `full` profile a missing piece stops the chapter here.

# %%
from pathlib import Path
from dcgan_lib import data, graph, prepare
root = Path(run.data_root or data.default_data_root())
notes = [prepare.imagenet_instructions(root / "imagenet", RES)]
if dataset == "lsun":
    notes.insert(0, prepare.lsun_instructions(root, "bedroom"))
if dataset == "celeba":
    notes.insert(0, prepare.celeba_manual_instructions(root))
print("\n\n".join(notes))
missing = graph.missing_data(graph.find_step(run.profile, "03_datasets", dataset), root)
if run.profile == "full" and missing:
    raise FileNotFoundError("the full profile needs: " + "; ".join(missing))
print(f"\nThis run ({run.profile}) uses {S['data']} at {RES}x{RES}.")

# %%
import time

import matplotlib.pyplot as plt
import torch
from torch.utils.data import TensorDataset

from dcgan_lib import memorization, metrics, viz
from dcgan_lib.train import TrainConfig, Trainer, load_generator, read_jsonl

device = "cuda" if torch.cuda.is_available() else "cpu"
t0 = time.perf_counter()
train_set = data.get_dataset(S["data"], run.data_root, RES, S["channels"], "train",
                             synthetic_size=S["limit"] or 512, seed=seed)
if S["preload"]:
    train_set = data.preload(train_set, S["limit"])
held_out = data.preload(data.get_dataset(S["data"], run.data_root, RES, S["channels"], "test",
                                         synthetic_size=S["n_held_out"], seed=seed),
                        S["n_held_out"]).tensors[0]
n_real = max(S["nnd_ns"] + (2 * S["fd_n"],))
real_train = data.preload(train_set, n_real, num_workers=S["num_workers"]).tensors[0]
print(f"{S['data']}: {len(train_set)} training images (limit {S['limit']}), {len(held_out)} "
      f"held-out, shape {tuple(held_out.shape[1:])}, range [{held_out.min():.0f}, "
      f"{held_out.max():.0f}]; loaded in {time.perf_counter() - t0:.0f}s")
fig = viz.show_grid(real_train[:64], 8, f"real training images ({S['data']}, {RES}x{RES})")
run.figure(fig, "real_images")

# %% [markdown]
# ## Quality measure and the authors' distance score
# The Fréchet distance to held-out images in the classifier's feature space (with the
# real-vs-real floor: as many real training images against the same reference) picks
# `best.pt`. The distance score is computed after every epoch from 1k, 10k (and in `full`
# 100k) samples; beside it, the same score with *real training images* in place of samples,
# which is what a generator matching the data would get. When the held-out split is smaller
# than the Fréchet sample size (LSUN: 300 images), the reference is a slice of the training
# images instead.

# %%
net, clf_acc = metrics.feature_classifier(S["clf_data"], run.data_root, RES, S["channels"],
                                          epochs=S["clf_epochs"], seed=seed,
                                          limit=S["clf_limit"])
net = net.to(device)
fd_reference = held_out if len(held_out) >= S["fd_n"] else real_train[S["fd_n"]:]
fd_eval = metrics.FrechetEvaluator(net, fd_reference, real_train, n=S["fd_n"], seed=seed)
nnd_eval = memorization.DistanceScore(held_out, S["nnd_ns"], seed=seed, device=device)
nnd_real = nnd_eval.real_reference(real_train)
print(f"classifier ({S['clf_data']}) test accuracy {clf_acc:.4f}; Fréchet floor "
      f"{fd_eval.floor:.3f} (n={S['fd_n']}); distance score of real training images: "
      + ", ".join(f"{k} {v:.3f}" for k, v in nnd_real.items()))
run.log_metrics(classifier_test_accuracy=clf_acc, fd_floor=fd_eval.floor,
                **{f"real_{k}": v for k, v in nnd_real.items()})

# %% [markdown]
# ## Training
# Samples come from the same 64 z vectors after one epoch and at the end, with batch
# statistics in batch-norm (as the authors sampled). The epoch-1 generator is kept as
# `epoch1.pt` for the memorisation check.

# %%
cfg = TrainConfig(dataset=S["data"], data_root=run.data_root, image_size=RES,
                  channels=S["channels"], limit=S["limit"], variant="paper", nz=100,
                  ngf=S["ngf"], ndf=S["ngf"], batch_size=S["batch_size"], lr=S["lr"],
                  beta1=0.5,
                  epochs=S["epochs"], seed=seed, out=str(run.out / "run"),
                  sample_every=10**9, checkpoint_every=2000, progress=False,
                  preload=S["preload"], num_workers=S["num_workers"])
evaluator = memorization.combine_evaluators(fd_eval, nnd_eval)
trainer = Trainer(cfg, train_set, evaluator, overwrite=True)
t0 = time.perf_counter()
ev0 = evaluator(trainer.G)
print(f"{trainer.steps_per_epoch} steps per epoch, {trainer.total_steps} steps; untrained "
      f"generator: FD {ev0['fd']:.2f} (evaluation took {time.perf_counter() - t0:.0f}s)")
trainer.fit(until_step=trainer.steps_per_epoch)
after_one_epoch = trainer.sample()
trainer.save("epoch1.pt")
trainer.fit()
at_end = trainer.sample()
epochs = read_jsonl(run.out / "run" / "epochs.jsonl")
best = min(epochs, key=lambda e: e["fd"])
nnd_keys = [k for k in epochs[0] if k.startswith("nnd_")]
run.table([{"epoch": e["epoch"], "FD": e["fd"], **{k: e[k] for k in nnd_keys},
            "seconds": e["seconds"], "images/s": e["images_per_s"]} for e in epochs],
          "per_epoch")
print(f"best checkpoint by FD: epoch {best['epoch']} -> {run.out / 'run' / 'best.pt'}; "
      f"last: {sorted((run.out / 'run').glob('ckpt-*.pt'))[-1].name}")

# %%
fig = viz.grids_side_by_side({"after 1 epoch": after_one_epoch,
                              f"after {len(epochs)} epochs": at_end}, nrow=8, size=4.2)
fig.subplots_adjust(top=0.84)
run.figure(fig, "samples_epoch1_vs_end",
           f"{dataset} ({run.profile}: {S['data']} {RES}x{RES}) · paper {PAPER['figure']}")

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
xs = [0] + [e["epoch"] for e in epochs]
a1.plot(xs, [ev0["fd"]] + [e["fd"] for e in epochs], "o-", label="generated vs held-out")
a1.axhline(fd_eval.floor, color="k", ls="--", lw=1, label="real vs real (floor)")
a1.set_yscale("log")
a1.set_ylabel("Fréchet distance (classifier features)")
for i, k in enumerate(nnd_keys):
    a2.plot(xs, [ev0[k]] + [e[k] for e in epochs], "o-", color=f"C{i}",
            label=f"{k[4:]} samples")
    if k in nnd_real:
        a2.axhline(nnd_real[k], color=f"C{i}", ls="--", lw=1, label=f"{k[4:]} real images")
a2.set_ylabel("mean distance to nearest sample (pixels)")
for ax in (a1, a2):
    ax.set_xlabel("epoch")
    ax.legend(fontsize=7)
fig.tight_layout()
run.figure(fig, "quality_per_epoch")

# %% [markdown]
# ## Memorisation: nearest training images
# For `n_query` samples of the generator after one epoch and at the end, and for as many
# held-out real images, the nearest image of the training set actually used, in pixels and
# in the classifier's features (one pass over the training set, `torch.cdist` in chunks).
# A model that copied would put its samples much closer to training images than held-out
# images are: `closer_than_q` is the fraction of samples closer than the 1% quantile of the
# held-out distances (about 0.01 if nothing is copied, near 1 if everything is).

# %%
g1 = load_generator(run.out / "run" / "epoch1.pt", device)
queries = torch.cat([metrics.generate(g1, S["n_query"], seed + 1),
                     metrics.generate(trainer.G, S["n_query"], seed + 1),
                     held_out[:S["n_query"]]])
train_ref = trainer.dataset.tensors[0] if isinstance(trainer.dataset, TensorDataset) \
    else trainer.dataset
t0 = time.perf_counter()
nn = memorization.neighbours_in_spaces(queries, train_ref,
                                       {"pixels": None, "features": net.features},
                                       device=device, num_workers=S["num_workers"])
print(f"nearest neighbours of {len(queries)} images among {len(trainer.dataset)} training "
      f"images in {time.perf_counter() - t0:.0f}s")
q = S["n_query"]
rows = []
for space, (d, i) in nn.items():
    for name, part in (("after 1 epoch", slice(0, q)), ("at the end", slice(q, 2 * q))):
        st = memorization.copy_statistics(d[part, 0], d[2 * q:, 0])
        rows.append({"space": space, "generator": name, **st})
run.table(rows, "nearest_training_distances")
run.log_metrics(**{f"{r['space']}_{r['generator'].replace(' ', '_')}_closer_than_q":
                   r["closer_than_q"] for r in rows})

# %%
show = 16
for name, part in (("at the end", slice(q, q + show)), ("after 1 epoch", slice(0, show))):
    fig = viz.grids_side_by_side({
        f"generated ({name})": queries[part],
        "nearest training image (pixels)":
            torch.stack([trainer.dataset[j][0] for j in nn["pixels"][1][part, 0].tolist()]),
        "nearest training image (features)":
            torch.stack([trainer.dataset[j][0] for j in nn["features"][1][part, 0].tolist()]),
    }, nrow=4, size=3.4)
    fig.subplots_adjust(top=0.82)
    run.figure(fig, f"nearest_training_{name.replace(' ', '_')}",
               f"generated samples {name} and their nearest training images")

# %%
last = epochs[-1]
run.log_metrics(dataset=dataset, data=S["data"], epochs=len(epochs), fd_untrained=ev0["fd"],
                fd_epoch1=epochs[0]["fd"], fd_final=last["fd"], fd_best=best["fd"],
                best_epoch=best["epoch"], images_per_s=last["images_per_s"],
                **{f"{k}_final": last[k] for k in nnd_keys},
                checkpoint=str(run.out / "run" / "best.pt"))
print(f"FD after epoch 1 {epochs[0]['fd']:.2f}, at the end {last['fd']:.2f}, best "
      f"{best['fd']:.2f} (epoch {best['epoch']}), floor {fd_eval.floor:.3f}; distance score at "
      "the end " + ", ".join(f"{k[4:]} {last[k]:.3f} (real {nnd_real.get(k, float('nan')):.3f})"
                             for k in nnd_keys))

# %% [markdown]
# **Reading the results.** The numbers above are this run's; the README quotes the committed
# `cpu` runs. Three things to look at: whether samples after one epoch already look like the
# data (the paper's figure 2 argument); whether the nearest training images in the
# memorisation figures are *different* images (similar in pose or shape, not copies), which
# `closer_than_q` quantifies; and whether the distance score keeps falling towards the
# real-image line (samples covering the held-out images better) while the Fréchet distance
# picks the best epoch. In `cpu` and `smoke` the data are not the paper's: the chapter shows
# the method and the code path, and the `full` profile gives the paper's experiment.

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell for your answer (`answer = None` until you set it), the reference
# solution (tagged `solution`: only in the instructor edition, `python ci/student_edition.py`
# writes the chapters without it) and a check that says in one line what is right or wrong
# (`dcgan_lib.exercises`). Costs: solution and check, measured in the `cpu` profile with one
# thread on a shared 2-core machine (`ci/time_exercises.py`); in `smoke` each takes under a
# second. `EX` holds this profile's exercise sizes.

# %%
from dcgan_lib import exercises

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
