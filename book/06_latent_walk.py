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
# # 6 · Walking in the latent space (paper section 6.1, figure 4)
#
# **What the paper did.** Section 6.1 interpolates between a series of 9 random points in z
# for the LSUN bedroom generator and shows the images along the way (figure 4). Sharp
# transitions would be a sign of memorisation; smooth ones, where objects appear and vanish
# gradually (a window growing, a TV turning into a window), suggest the model has learned a
# meaningful representation. The paper shows the figure and measures nothing.
#
# **What we do.** The same walk, 9 random points and 10 images per segment (8 rows), for
#
# 1. the **authors' SVHN generator** (`dcgan_lib.reference`, z Gaussian, sampled with batch
#    statistics as they did), linearly as the paper, and spherically (slerp) beside it;
# 2. **our Fashion-MNIST generator** (chapter 02, z uniform in [-1, 1]);
# 3. two baselines of what non-smooth looks like: an **untrained** generator of the same
#    architecture as ours, and a **memorising** model, a look-up table that returns the
#    nearest of 1,000 real training images (one random z per image).
#
# Each walk is measured, not only shown (`latent.smoothness`): for each row, the change between
# neighbouring images (root-mean-square difference) in pixels and in a feature space, and
# `max_share`, the share of the row's total change made by its single largest step. An even
# morph over 10 images has max_share 1/9 = 0.11; a row with one jump has max_share near 1.
# The feature space is the Fashion-MNIST classifier's 128-d penultimate layer for the
# Fashion-MNIST models (the classifier of chapter 02), and the authors' discriminator's
# section-5 features (7,168-d, batch-norm re-estimated on its samples) for SVHN.
#
# Profiles: `smoke` runs the code on tiny random models (nothing in it is a result); `cpu` is
# described above (a minute or two on 2 cores); `full` uses a 64x64 LSUN-bedroom generator
# trained by chapter 03 in the `full` profile (`results/full/03_datasets/lsun/run/best.pt`, from
# the chapter graph `dcgan_lib.graph`; pass another path as `full_checkpoint`), with its own
# discriminator as feature space and 1,000 real LSUN training images for the memoriser (the
# validation split holds only 300).
#
# **Deviations.** Not bedrooms on the `cpu` profile (no LSUN here). The spherical walk, the
# measure and the two baselines are ours. All images of a walk are generated in one batch with
# batch statistics, as the authors sampled.

# %% tags=["parameters"]
profile = ""      # smoke | cpu | full; "": $DCGAN_PROFILE, else cpu
seed = 0
data_root = ""    # empty: $DCGAN_DATA or ~/.cache/dcgan_lib/data
results_dir = "results"
scale = ""        # "tiny": the profile's code path with tiny sizes (CI's test)
svhn_weights = ""      # empty: $DCGAN_SVHN_WEIGHTS or ../shared/reference/newmu-svhn-dcgan
ours_checkpoint = ""   # empty: results/cpu/02_training/run/best.pt (chapter 02, cpu profile)
full_checkpoint = ""   # empty: results/full/03_datasets/lsun/run/best.pt (chapter 03, full)
points = None          # random points the walk goes through; None: the profile's (9)
steps = None           # images per segment; None: the profile's (10)
memorise = None        # real images the memorising baseline holds; None: the profile's

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from dcgan_lib import book, chapter_models, data, explore, features, latent, metrics, viz
from dcgan_lib.models import Generator

run = book.setup("06_latent_walk", profile, seed, data_root, results_dir, scale)
S = run.settings(
    smoke=dict(points=5, steps=6, memorise=64, bn_samples=256),
    cpu=dict(points=9, steps=10, memorise=1000, bn_samples=2048),
    full=dict(points=9, steps=10, memorise=1000, bn_samples=2048),
    tiny=dict(points=3, steps=4, memorise=16, bn_samples=32),
    points=points, steps=steps, memorise=memorise)
run.table([{"setting": k, "value": str(v)} for k, v in S.items()], "settings")
t_start = time.perf_counter()

# %% [markdown]
# ## The models
#
# `main` is the generator of the figure (the authors' SVHN model here, bedrooms on `full`),
# measured in its own discriminator's feature space. `ours`, `untrained` and `memorising` share
# one feature space (the Fashion-MNIST classifier here).

# %%
models = chapter_models.load_chapter_models(
    run, ("svhn", "ours"), full_roles=("svhn", "ours"), svhn_weights=svhn_weights,
    ours_checkpoint=ours_checkpoint, full_checkpoint=full_checkpoint)
(G_main, D_main), (G_ours, _) = models["svhn"], models["ours"]
if run.profile == "smoke":
    memory = data.preload(data.get_dataset("synthetic", None, 32, 1, synthetic_size=S["memorise"],
                                           seed=seed)).tensors[0]
    net = metrics.SmallClassifier(1).eval()          # untrained: a stand-in feature space
    net_acc = float("nan")
    names = ("tiny random G (3 channels)", "tiny random G (1 channel)")
elif run.profile == "cpu":
    memory = data.preload(data.get_dataset("fashion-mnist", run.data_root, 32),
                          S["memorise"]).tensors[0]
    net, net_acc = metrics.feature_classifier("fashion-mnist", run.data_root, 32)
    names = ("authors' SVHN G", "our Fashion-MNIST G")
else:
    memory = data.preload(data.get_dataset("lsun", run.data_root, G_main.image_size),
                          S["memorise"]).tensors[0]
    net, net_acc = None, float("nan")
    names = ("LSUN bedroom G", "LSUN bedroom G")

G_untrained = Generator(G_ours.image_size, G_ours.nz, G_ours.ngf, G_ours.nc, G_ours.variant,
                        z_dist=G_ours.z_dist).eval()
G_memo = latent.MemorisingGenerator(memory, nz=G_ours.nz, z_dist=G_ours.z_dist, seed=seed)
# the discriminator's features need batch-norm statistics: re-estimated on the generator's samples
main_samples = latent.decode(G_main, latent.seeded_z(G_main, S["bn_samples"], seed + 1),
                             batch_size=128)
features.reestimate_bn(D_main, main_samples, 128)
d_features = lambda x: torch.from_numpy(features.discriminator_features(D_main, x, verbose=False))
f_features = d_features if net is None else net.features
run.table([{"model": names[0], "z": G_main.z_dist, "image": str(tuple(main_samples.shape[1:])),
            "feature space": "its discriminator's section-5 features"},
           {"model": names[1], "z": G_ours.z_dist, "image": f"{G_ours.nc}x{G_ours.image_size}px",
            "feature space": "classifier" if net is not None else "D features"},
           {"model": "untrained G", "z": G_untrained.z_dist, "image": "same as above",
            "feature space": "same as above"},
           {"model": f"memorising ({len(memory)} images)", "z": G_memo.z_dist,
            "image": "same as above", "feature space": "same as above"}], "models")
print(f"classifier test accuracy: {net_acc:.4f}")

# %% [markdown]
# ## Figure 4: the walk through 9 random points
#
# Each row goes from one random point to the next (the last image of a row is the first of the
# next). Linear interpolation, as the paper:

# %%
points_main = latent.seeded_z(G_main, S["points"], seed)
walk_lin = latent.walk_images(G_main, points_main, S["steps"], "linear")
walk_sph = latent.walk_images(G_main, points_main, S["steps"], "spherical")
r, t = walk_lin.shape[:2]
run.figure(viz.show_grid(walk_lin.flatten(0, 1), t, scale=1.2), "walk_main_linear",
           title=f"{names[0]}: linear walk through {S['points']} random points");

# %% [markdown]
# The same points, spherical interpolation. With Gaussian z a straight line passes closer to the
# origin than any typical sample (its midpoint has about 0.71 of the endpoints' norm), where
# the generator was rarely trained; slerp keeps the norm.

# %%
run.figure(viz.show_grid(walk_sph.flatten(0, 1), t, scale=1.2), "walk_main_spherical",
           title=f"{names[0]}: spherical walk, same points")
print("norm of z along row 0, linear:   ",
      np.round(latent.walk(points_main, S["steps"], "linear")[0].norm(dim=1).numpy(), 1))
print("norm of z along row 0, spherical:",
      np.round(latent.walk(points_main, S["steps"], "spherical")[0].norm(dim=1).numpy(), 1))

# %% [markdown]
# ## Try it: walk between two samples you choose
#
# In JupyterLab this cell shows sliders over the same generator (`dcgan_lib.explore.walk`):
# pick two of 16 seeded samples (`a`, `b`), move `t` along the way, switch between linear and
# spherical interpolation. Look for a morph without jumps and images that stay plausible in the
# middle. Headless runs and the rendered site show the static figure at the sliders' starting
# values instead.

# %%
explore.show(explore.walk(G_main, n=16, seed=seed), run, "explore_walk");

# %% [markdown]
# ## Our generator and the two baselines
#
# The same walk (9 points of their own z distribution) for our Fashion-MNIST generator, an
# untrained one and the memorising look-up table.

# %%
points_ours = latent.seeded_z(G_ours, S["points"], seed)
# the look-up table's own anchors are drawn with `seed` too: walk it between other random
# points, so its jumps are measured (where a walk crosses from one anchor's cell to the next),
# not built in by walking exactly through its anchors
points_memo = latent.seeded_z(G_memo, S["points"], seed + 1000)
assert not any(torch.equal(p, a) for p in points_memo for a in G_memo.anchors)
walks = {
    names[0] + " (linear)": (walk_lin, d_features),
    names[0] + " (spherical)": (walk_sph, d_features),
    names[1]: (latent.walk_images(G_ours, points_ours, S["steps"]), f_features),
    "untrained G": (latent.walk_images(G_untrained, points_ours, S["steps"]), f_features),
    "memorising": (latent.walk_images(G_memo, points_memo, S["steps"]), f_features),
}
fig, axes = plt.subplots(1, 3, figsize=(15, 5.6))
for ax, name in zip(axes, list(walks)[2:]):
    viz.show_grid(walks[name][0].flatten(0, 1), t, name, ax=ax)
fig.tight_layout()
run.figure(fig, "walk_ours_and_baselines", title="linear walks through 9 random points");

# %% [markdown]
# ## Measured: how smooth is each walk?
#
# `max_share` is the share of a row's total change made in its largest step (0.11 for an even
# morph over 10 images, 1 for a single jump), averaged over the 8 rows and for the worst row;
# `jump` is the largest step over the median step (1 for an even morph).

# %%
results = {name: latent.smoothness(x, feat) for name, (x, feat) in walks.items()}
rows = []
for name, res in results.items():
    s = res["summary"]
    rows.append({"walk": name,
                 "pixel step": s["pixel_mean_step"], "pixel max_share": s["pixel_max_share"],
                 "pixel worst": s["pixel_worst_max_share"], "pixel jump": s["pixel_jump"],
                 "feature max_share": s["feature_max_share"],
                 "feature worst": s["feature_worst_max_share"], "feature jump": s["feature_jump"]})
run.table(rows, "smoothness")
even = 1 / (t - 1)
slug = {name: "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
        for name in results}
run.log_metrics(even_share=even, **{f"{slug[name]}_{k}": v for name, res in results.items()
                                   for k, v in res["summary"].items() if k != "even_share"})
for name, res in results.items():
    s = res["summary"]
    print(f"{name:<40} max_share / even: pixels {s['pixel_max_share'] / even:5.2f}, "
          f"features {s['feature_max_share'] / even:5.2f}")

# %% [markdown]
# Per-step change along every row (pixels): a smooth walk gives flat curves, a memorising one
# isolated spikes with zeros between them.

# %%
fig, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 2.8), sharey=True)
for ax, (name, res) in zip(axes, results.items()):
    for row in res["rows"]:
        ax.plot(range(1, t), row["pixel_steps"], lw=1, alpha=0.7)
    ax.set_title(name, fontsize=8)
    ax.set_xlabel("step")
axes[0].set_ylabel("RMS pixel change")
fig.tight_layout()
run.figure(fig, "steps_per_row", title="change between neighbouring images, one line per row");

# %% [markdown]
# ## Reading the numbers
#
# The printout above gives each walk's `max_share` as a multiple of the even value (1 = every
# step the same size).
#
# * The memorising model is the picture of section 6.1's warning: walked between random
#   points that are not its anchors, most steps change nothing and the few that cross from one
#   memorised image's cell to the next change everything, so its multiple is large (at most
#   steps - 1, when a row makes one jump) and its `jump` often infinite (zero median step).
# * A trained DCGAN whose walk changes gradually stays within a small multiple of the even
#   value in both spaces; the grids show whether the images on the way are plausible digits and
#   garments, and whether objects appear and vanish gradually (the paper's other criterion,
#   judged by eye).
# * An untrained generator is a random smooth function of z, so its walk is smooth as well:
#   smoothness alone does not show that a model learned anything; it rules out look-up-table
#   memorisation. That is why the paper pairs the walk with semantic changes along it.

# %% [markdown]
# ## Are the images between points plausible?
#
# The paper's second criterion, that every image along the walk is plausibly a bedroom, is
# measured on our Fashion-MNIST generator, the one with real images to compare against here:
# the Fréchet distance (classifier features) of the images at the midpoints of 2,000 random
# pairs of z, beside that of 2,000 ordinary samples, each to 2,000 real test images, in 5
# independent draws. Midpoints are where a walk strays furthest from the points the generator
# was trained on.

# %%
if run.profile == "cpu":
    real_fd = data.preload(data.get_dataset("fashion-mnist", run.data_root, 32, split="test"),
                           2000).tensors[0]
else:                      # smoke: the synthetic images; full: the LSUN images of the memoriser
    real_fd = memory
n_fd = run.pick(len(real_fd), 2000, 1000)
mid = latent.midpoint_fd(G_ours, f_features, real_fd, n=n_fd, draws=run.pick(2, 5, 5), seed=seed)
run.table([{"images": k, "FD per draw": ", ".join(f"{v:.3g}" for v in vs),
            "mean": float(np.mean(vs))} for k, vs in mid.items()], "midpoint_fd")

# %% [markdown]
# ## Verdicts
# Smoothness is decided on the authors' SVHN generator's linear walk (the paper's kind of walk
# on a DCGAN its authors trained), in its discriminator's feature space, against the
# memorising look-up table (walked between random points that are not its anchors): each
# row's largest step as a multiple of an even step, over the rows. The positive control
# printed below judges the look-up table itself as if it were the model: the rule must not
# call it smooth. Plausibility is decided on our generator's midpoints, above.

# %%
from dcgan_lib import claims


jumpiness = {name: claims.Measure.from_samples(
    [row["feature_max_share"] / even for row in results[name]["rows"]],
    note=f"{name}, {len(results[name]['rows'])} rows") for name in (names[0] + " (linear)", "memorising")}
jumpiness["untrained G"] = claims.Measure.from_samples(
    [row["feature_max_share"] / even for row in results["untrained G"]["rows"]],
    note=f"untrained G, {len(results['untrained G']['rows'])} rows")
smooth = next(c for c in claims.CLAIMS if c.id == "sec6.1-smooth")
control = smooth.decide({"walk_jumpiness": jumpiness["memorising"],
                         "walk_jumpiness_memorising": jumpiness["untrained G"]})
print(f"positive control: the memorising table judged as if it were the model, against the "
      f"untrained G's walk as the baseline: {control['verdict']} ({control['why']}); the test "
      "must not pass it")
note_fd = f"{names[1]}, {n_fd} images, {len(mid['midpoint'])} draws"
verdicts = run.verdicts({
    "walk_jumpiness": jumpiness[names[0] + " (linear)"],
    "walk_jumpiness_memorising": jumpiness["memorising"],
    "walk_midpoint_fd": claims.Measure.from_samples(mid["midpoint"], note="midpoints, " + note_fd),
    "walk_sample_fd": claims.Measure.from_samples(mid["sample"], note="samples, " + note_fd)})
elapsed = time.perf_counter() - t_start
run.log_metrics(seconds=elapsed)
print(f"chapter compute time: {elapsed:.0f} s")

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

EX = exercises.sizes("06", run)
EX

# %% [markdown]
# ### Exercise 06.1 (quick; under a second): how long is the midpoint?
#
# Predict: on a straight line between two random z of the main generator (100-dimensional),
# how long is the midpoint compared with the endpoints: about the same, half, or something
# else? Then measure the mean of |(z0 + z1) / 2| / ((|z0| + |z1|) / 2) over `EX["pairs"]`
# random pairs (`latent.seeded_z(G_main, ...)`).

# %% tags=["student"]
answer = None  # a number: the mean ratio

# %% tags=["solution"]
z0, z1 = latent.seeded_z(G_main, EX["pairs"], seed + 11), latent.seeded_z(G_main, EX["pairs"],
                                                                          seed + 12)
answer = float((((z0 + z1) / 2).norm(dim=1) / ((z0.norm(dim=1) + z1.norm(dim=1)) / 2)).mean())

# %%
exercises.check("06.1", answer, run=run, G=G_main)

# %% [markdown]
# ### Exercise 06.2 (quick; under a second): spherical interpolation, as a function
#
# Write slerp: a function of two vectors z0, z1 (nz,) and a number t in [0, 1] that moves
# along the great circle between them at constant angular speed, sin((1 - t) w) / sin w z0 +
# sin(t w) / sin w z1, with w the angle between z0 and z1.

# %% tags=["student"]
answer = None  # a function: lambda z0, z1, t: ...

# %% tags=["solution"]
answer = lambda z0, z1, t: (  # noqa: E731
    torch.sin((1 - t) * (w := torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm())))) * z0
    + torch.sin(t * w) * z1) / torch.sin(w)

# %%
exercises.check("06.2", answer)
