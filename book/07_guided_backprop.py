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
# # 7 · What the discriminator's features respond to (paper section 6.2, figure 5)
#
# **What the paper did.** For the LSUN-bedroom discriminator, figure 5 shows guided
# backpropagation (Springenberg et al., 2014) of the maximal axis-aligned responses of the
# first 6 features of the last convolutional layer: for each feature (channel), the images and
# positions where it responds most, and the input pattern that drives that single activation.
# A significant minority respond to beds, the central object of the dataset. Beside it, the
# same for a randomly initialised discriminator: little to no discrimination, random structure.
# Nothing is measured.
#
# **What we do.** The same visualisation (`dcgan_lib.guided`) for the **authors' SVHN
# discriminator** over seeded samples of their generator (we have no SVHN images here) and for
# **our Fashion-MNIST discriminator** (chapter 02) over real Fashion-MNIST test images, each
# beside a randomly initialised discriminator of the same architecture. And we measure what the
# paper only shows: how much of each map's mass falls on the object, the central digit (the
# boxes hand-drawn in `book/data/svhn_boxes.json`, see chapter 08) or the garment (its
# non-black pixels), relative to the object's share of the image (`ratio`: 1 = no preference,
# above 1 = the feature looks at the object).
#
# **LeakyReLU.** Guided backpropagation is defined for ReLU: at each rectifier, the gradient
# passes only where the forward input was positive and the gradient itself is positive. The
# DCGAN discriminator uses LeakyReLU(0.2). We treat it as a ReLU in the backward pass (guided
# through the positive part only; the 0.2 leak passes nothing back): `leaky="positive"`, the
# default. The other choice, keeping the leak (`leaky="slope"`), is measured at the end.
#
# Batch-norm uses fixed statistics (re-estimated on the image set, as section 5's probe), so
# each map depends on its own image only.
#
# Profiles: `smoke`: tiny random discriminators on synthetic shapes (nothing is a result);
# `cpu`: as described, about a minute; `full`: the discriminator of chapter 03's 64x64
# LSUN-bedroom run (`full_checkpoint`, see chapter 06) over 2,000 LSUN images; there are no
# object masks there, so only the mask-free measure (`top_share`) is reported.
#
# **Deviations.** Generated SVHN samples instead of real images for the authors' model; how
# many top responses are shown per feature (8) is ours; the measures are ours.

# %% tags=["parameters"]
profile = ""      # smoke | cpu | full; "": $DCGAN_PROFILE, else cpu
seed = 0
data_root = ""    # empty: $DCGAN_DATA or ~/.cache/dcgan_lib/data
results_dir = "results"
scale = ""        # "tiny": the profile's code path with tiny sizes (CI's test)
svhn_weights = ""      # empty: $DCGAN_SVHN_WEIGHTS or ../shared/reference/newmu-svhn-dcgan
ours_checkpoint = ""   # empty: results/cpu/02_training/run/best.pt (chapter 02, cpu profile)
full_checkpoint = ""   # empty: results/full/03_datasets/lsun/run/best.pt (chapter 03, full)
boxes = ""             # empty: book/data/svhn_boxes.json
n_images = None        # images searched for maximal responses; None: the profile's (2,000)
n_features = None      # channels of the last conv layer shown; None: the profile's (6)
k = None               # top responses shown per feature; None: the profile's (8)

# %%
import time

import numpy as np
import torch

from dcgan_lib import (book, chapter_models, data, features, guided, latent, surgery,
                       viz)
from dcgan_lib.models import Discriminator

run = book.setup("07_guided_backprop", profile, seed, data_root, results_dir, scale)
S = run.settings(
    smoke=dict(features=6, k=8, n_images=64, bn_images=256),
    cpu=dict(features=6, k=8, n_images=2000, bn_images=2000),
    full=dict(features=6, k=8, n_images=2000, bn_images=2000),
    tiny=dict(k=4, n_images=16, bn_images=16),
    n_images=n_images, features=n_features, k=k)
run.table([{"setting": k, "value": str(v)} for k, v in S.items()], "settings")
t_start = time.perf_counter()

# %% [markdown]
# The three backward rules on one LeakyReLU(0.2), for inputs -1 and 2 and incoming gradients
# +1 and -1 (guided: negative gradients stop; `positive`: so do negative inputs):

# %%
# NBVAL_CHECK_OUTPUT
act = torch.nn.Sequential(torch.nn.LeakyReLU(0.2))
for label, kw in (("plain", None), ("guided, positive", "positive"), ("guided, slope", "slope")):
    for g_out in (1.0, -1.0):
        xin = torch.tensor([-1.0, 2.0], requires_grad=True)
        if kw is None:
            (act(xin) * g_out).sum().backward()
        else:
            with guided.guided(act, kw):
                (act(xin) * g_out).sum().backward()
        print(f"{label:<17} grad_out {g_out:+.0f} -> grad_in {[round(v, 3) for v in xin.grad.tolist()]}")

# %% [markdown]
# ## Image sets, discriminators and object masks
#
# Two studies, each a trained D and a random D of the same architecture over the same images:
# `svhn` (the authors' D over the seeded samples the boxes were drawn on, masks = the boxes;
# on `full`: the bedroom D over LSUN images, no masks) and `fashion` (our D over real test
# images, masks = non-black pixels).

# %%
box_file = surgery.load_boxes(boxes or book.REPO / "book/data/svhn_boxes.json")
models = chapter_models.load_chapter_models(
    run, ("svhn", "ours"), full_roles=("svhn",), svhn_weights=svhn_weights,
    ours_checkpoint=ours_checkpoint, full_checkpoint=full_checkpoint)
studies = {}
if run.profile == "smoke":
    (G_s, D_s), (_, D_f) = models["svhn"], models["ours"]
    bf = surgery.BoxFile("smoke", seed, 64, 32, samples={
        i: [surgery.Box(8, 4, 24, 28)] if i % 2 else [] for i in range(64)})
    _, x_s, _ = surgery.box_samples(G_s, bf)
    bn_s = latent.decode(G_s, latent.seeded_z(G_s, S["bn_images"], seed + 1))
    studies["svhn"] = dict(D=D_s, images=x_s[bf.boxed], masks=surgery.pixel_masks(bf, bf.boxed),
                           bn=bn_s, name="tiny random D (3 channels)")
    x_f = data.preload(data.get_dataset("synthetic", None, 32, 1, synthetic_size=S["n_images"],
                                        seed=seed)).tensors[0]
    studies["fashion"] = dict(D=D_f, images=x_f, masks=x_f[:, 0] > -0.8,
                              bn=x_f, name="tiny random D (1 channel)")
elif run.profile == "cpu":
    (G_s, D_s), (_, D_f) = models["svhn"], models["ours"]
    bf = box_file
    _, x_s, _ = surgery.box_samples(G_s, bf)      # the samples the boxes were drawn on
    bn_s = latent.decode(G_s, latent.seeded_z(G_s, S["bn_images"], seed + 1), batch_size=128)
    studies["svhn"] = dict(D=D_s, images=x_s[bf.boxed], masks=surgery.pixel_masks(bf, bf.boxed),
                           bn=bn_s, name="authors' SVHN D")
    x_f = data.preload(data.get_dataset("fashion-mnist", run.data_root, 32, split="test"),
                       S["n_images"]).tensors[0]
    studies["fashion"] = dict(D=D_f, images=x_f, masks=x_f[:, 0] > -0.8, bn=x_f,
                              name="our Fashion-MNIST D")
else:
    _, D_b = models["svhn"]
    x_b = data.preload(data.get_dataset("lsun", run.data_root, D_b.image_size, split="train"),
                       S["n_images"]).tensors[0]
    studies["svhn"] = dict(D=D_b, images=x_b, masks=None, bn=x_b, name="LSUN bedroom D")

for key, st in studies.items():
    D = st["D"]
    st["D_random"] = Discriminator(D.image_size, D.ndf, D.nc, D.variant)
    for net in (D, st["D_random"]):
        features.reestimate_bn(net, st["bn"], 128)
run.table([{"study": k, "discriminator": st["name"], "images": len(st["images"]),
            "image": str(tuple(st["images"].shape[1:])),
            "last conv layer": f"block {guided.last_conv_layer(st['D'])}",
            "masks": "none" if st["masks"] is None else "yes"} for k, st in studies.items()],
          "studies");

# %% [markdown]
# ## Maximal axis-aligned responses and their guided-backpropagation maps
#
# For each of the first 6 channels of the last conv layer: the 8 images (at most one position
# per image) where it is largest. Each panel shows, per feature, a row of the input images and
# below it the row of maps (scaled per map; grey = 0).

# %%
for key, st in studies.items():
    for which in ("D_random", "D"):
        net = st[which]
        resp = guided.max_responses(net, st["images"], channels=range(S["features"]), k=S["k"])
        maps = guided.guided_backprop(net, st["images"], resp)
        st[which + "_resp"], st[which + "_maps"] = resp, maps
    rows = []
    for which in ("D_random", "D"):
        resp, maps = st[which + "_resp"], st[which + "_maps"]
        imgs = st["images"][[r.image for r in resp]]
        for c in range(S["features"]):
            rows += [imgs[c * S["k"]:(c + 1) * S["k"]],
                     guided.to_display(maps[c * S["k"]:(c + 1) * S["k"]])]
    half = len(rows) // 2
    fig = viz.grids_side_by_side({"random D (baseline)": torch.cat(rows[:half]),
                                  st["name"]: torch.cat(rows[half:])}, S["k"], size=6.5)
    fig.subplots_adjust(top=0.9)
    run.figure(fig, f"guided_{key}", title=f"{key}: first {S['features']} features of the last "
               "conv layer (per feature: top images, then their maps)")

# %% [markdown]
# ## Measured: do the features look at the object?
#
# `ratio` = share of the map's absolute mass inside the object mask / the mask's share of the
# image, averaged over the top responses of each feature (1 = no preference). `top_share` =
# share of the mass in the 10% strongest pixels (0.1 for a flat map), a measure needing no mask.

# %%
rows, per_feature = [], {}
for key, st in studies.items():
    for which, label in (("D_random", "random D"), ("D", st["name"])):
        resp, maps = st[which + "_resp"], st[which + "_maps"]
        top = guided.top_share(maps, 0.1)
        row = {"study": key, "discriminator": label, "top_share": float(top.mean())}
        if st["masks"] is not None:
            m = guided.mass_inside(maps, st["masks"][[r.image for r in resp]])
            per = guided.per_channel(m["ratio"], resp)
            per_feature[key, which] = [float(v) for v in per.values()]
            row.update({"mask area": float(m["area"].mean()), "inside": float(m["inside"].mean()),
                        "ratio": float(np.nanmean(m["ratio"])),
                        "features with ratio > 1": f"{sum(v > 1 for v in per.values())}/{len(per)}"})
        rows.append(row)
run.table(rows, "object_concentration")
run.log_metrics(**{f"{r['study']}_{'random' if r['discriminator'] == 'random D' else 'trained'}_"
                   f"{k}": v for r in rows for k, v in r.items()
                   if isinstance(v, float)})

# %% [markdown]
# ## The LeakyReLU choice, measured
#
# The same maps for the trained discriminators with the leak kept in the backward pass
# (`leaky="slope"`), and plain gradients (no guidance at all) for comparison.

# %%
rows = []
for key, st in studies.items():
    resp = st["D_resp"]
    for label, kw in (("guided, positive part (default)", dict(leaky="positive")),
                      ("guided, leak kept (slope 0.2)", dict(leaky="slope")),
                      ("plain gradient", dict(guide=False))):
        maps = guided.guided_backprop(st["D"], st["images"], resp, **kw)
        row = {"study": key, "backward": label, "top_share": float(guided.top_share(maps).mean()),
               "negative mass": float(maps.clamp(max=0).abs().sum() / maps.abs().sum())}
        if st["masks"] is not None:
            m = guided.mass_inside(maps, st["masks"][[r.image for r in resp]])
            row["ratio"] = float(np.nanmean(m["ratio"]))
        rows.append(row)
run.table(rows, "leaky_relu_treatment");

# %% [markdown]
# ## Reading the numbers
#
# * The paper's claim, in our terms: trained features should concentrate on the object
#   (`ratio` clearly above 1 for some features) and random ones should not (ratio near 1,
#   structure unrelated to the object). The table above gives the measured values for this run.
# * On SVHN the "object" (the central digit) covers a large part of the image, so the largest
#   ratio possible is small (1 / mask area); compare trained and random, not absolute values.
# * Negative mass: guided backpropagation passes only positive signal through the rectifiers,
#   but the first convolution (not a rectifier, so not guided) can still make the map negative
#   at the input; the table shows how much of each map that is, per backward rule.

# %% [markdown]
# ## Verdicts
# Decided on the authors' SVHN discriminator (a DCGAN its authors trained; on `full`, chapter
# 03's LSUN discriminator has no masks, so the claim is not run there): each of its
# maximally responding features gives one mean `ratio` over its top responses, and the trained
# features must beat those of the random discriminator by more than the combined 95%
# intervals over features. Our Fashion-MNIST discriminator's numbers are in the table above.

# %%
from dcgan_lib import claims

key = "svhn" if ("svhn", "D") in per_feature else next((k for k, _ in per_feature), None)
verdicts = run.verdicts({} if key is None else {
    "guided_object_ratio": claims.Measure.from_samples(
        per_feature[key, "D"], note=f"{studies[key]['name']}, per feature, {key} masks"),
    "guided_object_ratio_random": claims.Measure.from_samples(
        per_feature[key, "D_random"], note=f"random D, per feature, {key} masks")})
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
# second.

# %%
from dcgan_lib import exercises
from dcgan_lib.models import layer_table

# %% [markdown]
# ### Exercise 07.1 (quick; under a second): guided backpropagation by hand
#
# A ReLU receives the inputs x = (-1, 2, 3, -0.5) and, from above, the gradients g = (1, -1,
# 2, 3). Which gradient does guided backpropagation pass down to x? (The plain gradient and the
# "deconvnet" rule are the two typical wrong answers: the check names them.)

# %% tags=["student"]
answer = None  # four numbers

# %% tags=["solution"]
answer = [0.0, 0.0, 2.0, 0.0]

# %%
exercises.check("07.1", answer)

# %% [markdown]
# ### Exercise 07.2 (open-ended; `cpu` 15 s): the feature that looks at the object most
#
# The figure shows the first 6 channels of the last conv layer. Search every channel: whose
# guided-backpropagation maps, over its top `S["k"]` responses, concentrate most on
# the garment (the highest mean `ratio`; on `full`, where there are no masks, `top_share`)?
# Use the fashion study (`studies["fashion"]`; on `full` the only study).

# %% tags=["student"]
answer = None  # an integer: a channel of the last conv layer

# %% tags=["solution"]
st = studies["fashion"] if "fashion" in studies else studies["svhn"]
last = guided.last_conv_layer(st["D"])
n_ch = layer_table(st["D"], tuple(st["images"].shape[1:]))[last]["output"][0]
resp = guided.max_responses(st["D"], st["images"], channels=range(n_ch), k=S["k"])
maps = guided.guided_backprop(st["D"], st["images"], resp)
score = (guided.mass_inside(maps, st["masks"][[r.image for r in resp]])["ratio"]
         if st["masks"] is not None else guided.top_share(maps))
per = guided.per_channel(score, resp)
answer = max(per, key=per.get)

# %%
exercises.check("07.2", answer, run=run,
                study=studies["fashion"] if "fashion" in studies else studies["svhn"], k=S["k"])
