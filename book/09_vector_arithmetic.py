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
# # 9 · Vector arithmetic in z (paper section 6.3.2, figures 7 and 8)
#
# **What the paper did.** On its face generator: for each visual concept (smiling woman,
# neutral woman, neutral man, ...) the z vectors of three exemplar samples are averaged; the
# arithmetic `smiling woman - neutral woman + neutral man` on the means gives a new vector
# whose image is a smiling man; eight more images come from adding uniform noise of scale 0.25
# to it (figure 7). Single exemplars were unstable, three were consistent. The same arithmetic
# on the images (pixel space) gives noisy overlays. Figure 8: a "turn" vector, the difference
# of the mean z of four faces looking left and four looking right, added in steps to random
# samples, reliably turns them. All judged by eye.
#
# **What we do.** No faces here. The arithmetic is done on two attributes we can measure:
#
# 1. **Our Fashion-MNIST generator**, concepts *class* × *brightness*:
#    `dark X - light X + light Y` should be a *dark Y*. Exemplars are chosen reproducibly from
#    2,000 seeded samples: the classifier of chapter 02 decides the class (probability > 0.9),
#    brightness (mean intensity) decides dark/light: the three darkest or lightest of the class.
#    Scored on every output: does the classifier say Y, and is it darker than the median
#    sample the classifier calls Y? For z arithmetic (centre + 8 neighbours, 3 exemplar sets per
#    analogy), with **single exemplars** (the paper: unstable), and for pixel arithmetic.
# 2. A **brightness direction** (figure 8's "turn" vector): mean z of the 4 lightest minus the
#    4 darkest samples of one class, added with weights -1 ... 1 to random samples of every
#    class. Scored: how often the brightness rises along the path and the class is kept.
# 3. **The authors' SVHN generator**, concept *polarity* (light digit on dark ground or dark on
#    light, measured as centre minus border brightness): `light-on-dark - dark-on-light + c`,
#    with `c` three hand-labelled samples of one digit (`book/data/svhn_boxes.json`, chapter 08).
#    Scored on polarity; the digit is shown, not scored (we have no reliable SVHN classifier).
#
# Profiles: `smoke`: tiny random models and an untrained classifier (nothing is a result);
# `cpu`: as described (a few minutes on 2 cores); `full`: chapter 03's 64x64 face generator
# (CelebA, `results/full/03_datasets/celeba/run/best.pt` by the chapter or
# `full_checkpoint`) with the same brightness measures but no class scores, for want of a face classifier
# (exemplars for other concepts can be listed by index in `full_exemplars`, a JSON file
# `{"a": [i, j, k], "b": [...], "c": [...]}` of seeded-sample indices).
#
# **Deviations.** Fashion-MNIST and SVHN instead of faces; the concepts, the scoring and the
# single-exemplar comparison are ours. Outputs are generated with batch statistics, with 128
# random z appended to every batch so that nine nearly identical vectors do not set the
# batch-norm statistics themselves (`latent.decode`'s `context`).

# %% tags=["parameters"]
profile = ""      # smoke | cpu | full; "": $DCGAN_PROFILE, else cpu
seed = 0
data_root = ""    # empty: $DCGAN_DATA or ~/.cache/dcgan_lib/data
results_dir = "results"
scale = ""        # "tiny": the profile's code path with tiny sizes (CI's test)
svhn_weights = ""      # empty: $DCGAN_SVHN_WEIGHTS or ../shared/reference/newmu-svhn-dcgan
ours_checkpoint = ""   # empty: results/cpu/02_training/run/best.pt (chapter 02, cpu profile)
boxes = ""             # empty: book/data/svhn_boxes.json (hand labels of the SVHN samples)
full_checkpoint = ""   # empty: results/full/03_datasets/celeba/run/best.pt (chapter 03, full)
full_exemplars = ""    # empty: none; a JSON file of listed exemplar indices (see above)
pool = None            # seeded samples exemplars are chosen from; None: the profile's (2,000)
reps = None            # exemplar triples per analogy; None: the profile's (3)
turn_samples = None    # random samples the direction is added to; None: the profile's (64)
random_dirs = None     # random directions of the same length, figure 8's baseline; None: 16

# %%
import json
import time
from functools import partial

import numpy as np
import torch

from dcgan_lib import (book, chapter_models, data, explore, features, graph, latent, metrics,
                       surgery, viz)

run = book.setup("09_vector_arithmetic", profile, seed, data_root, results_dir, scale)
S = run.settings(
    smoke=dict(real="synthetic", n_real=256, pool=512, min_prob=0.0, reps=2,
               pairs=[(0, 1), (2, 3)], turn_class=0, turn_samples=16, context=32,
               random_dirs=3),
    cpu=dict(real="fashion-mnist", n_real=10000, pool=2000, min_prob=0.9, reps=3,
             pairs=[(0, 1), (2, 7), (3, 8), (4, 9)], turn_class=0, turn_samples=64, context=128,
             random_dirs=16),
    full=dict(real=None, n_real=0, pool=2000, min_prob=0.0, reps=3, pairs=[], turn_class=None,
              turn_samples=64, context=128, random_dirs=16),
    tiny=dict(pool=64, turn_samples=8, context=16, random_dirs=2),
    pool=pool, reps=reps, turn_samples=turn_samples, random_dirs=random_dirs)
run.table([{"setting": k, "value": str(v)} for k, v in S.items()], "settings")
t_start = time.perf_counter()
CLASSES = ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle boot")

# %% [markdown]
# ## The seeded pool and its measurements

# %%
models = chapter_models.load_chapter_models(
    run, ("ours", "svhn"), full_roles=("ours",), svhn_weights=svhn_weights,
    ours_checkpoint=ours_checkpoint, full_checkpoint=full_checkpoint, full_artefact="celeba_model")
G, D = models["ours"]
G_svhn, D_svhn = models["svhn"] or (None, None)
if run.profile == "smoke":
    net = metrics.SmallClassifier(1).eval()            # untrained stand-in
    bf = surgery.BoxFile("smoke", seed, 40, 32, samples={i: [surgery.Box(8, 4, 24, 28, str(i % 2))]
                                                         for i in range(40)})
elif run.profile == "cpu":
    net, acc = metrics.feature_classifier("fashion-mnist", run.data_root, 32)
    bf = surgery.load_boxes(boxes or book.REPO / "book/data/svhn_boxes.json")
else:
    net, bf = None, None

context = latent.seeded_z(G, S["context"], seed + 7)
z = latent.seeded_z(G, S["pool"], seed)
x = latent.decode(G, z, batch_size=500)
bright = latent.brightness(x)
d_pool = latent.p_real(D, x).mean().item()
print(f"our discriminator's mean P(real) on the {len(x)} pool samples: {d_pool:.3f}")
if net is not None:   # typicality: distance to the nearest real image in classifier features
    real = data.preload(data.get_dataset(S["real"], run.data_root, 32, 1, seed=seed,
                                         synthetic_size=S["n_real"]), S["n_real"]).tensors[0]
    with torch.no_grad():
        real_f = net.features(real)
    nn_pool = float(latent.nearest_distance(net.features, real_f, x).median())
    print(f"median distance of a pool sample to its nearest of {len(real)} real images "
          f"(classifier features): {nn_pool:.3f}")
if net is not None:
    with torch.no_grad():
        prob = torch.softmax(net(x), 1).numpy()
    pred, conf = prob.argmax(1), prob.max(1)
    median_bright = {c: float(np.median(bright[pred == c])) if (pred == c).any() else np.nan
                     for c in range(10)}
    if run.profile == "smoke":   # the untrained classifier's most frequent class stands in
        top = int(np.bincount(pred, minlength=10).argmax())
        S["pairs"], S["turn_class"] = [(top, top)], top
    run.table([{"class": CLASSES[c], "samples": int((pred == c).sum()),
                "confident (> min_prob)": int(((pred == c) & (conf > S["min_prob"])).sum()),
                "median brightness": median_bright[c]} for c in range(10)], "pool")

# %% [markdown]
# ## Figure 7 on Fashion-MNIST: dark X - light X + light Y = dark Y ?
#
# For each pair (X, Y), `reps` disjoint exemplar triples (the darkest three, the next three, ...)
# give `reps` arithmetic results of 9 images each. An output "carries the concept" when the
# classifier calls it Y and it is darker than the median Y sample. Darkening is linear in
# pixels, so pixel arithmetic can pass that test with an image no one would draw; the
# paper's point against it is the "noisy overlap". Two measures of how typical an output is:
# `NN dist`, its distance to the nearest of 10,000 real training images in the classifier's
# feature space divided by the same for the pool's median sample (1 = as typical as a
# sample, above 1 = further from anything real), and our discriminator's mean probability
# that it is real (`P(real)`; the pool's value is printed above).

# %%
n3 = 3 * S["reps"]
analogies, pair_of = {}, {}
for (cx, cy) in S["pairs"]:
    okx = (pred == cx) & (conf > S["min_prob"])
    oky = (pred == cy) & (conf > S["min_prob"])
    dark_x = latent.pick_exemplars(bright, n3, among=okx, lowest=True)
    light_x = latent.pick_exemplars(bright, n3, among=okx)
    light_y = latent.pick_exemplars(bright, n3, among=oky)
    name = f"dark {CLASSES[cx]} - light {CLASSES[cx]} + light {CLASSES[cy]}"
    analogies[name] = ([(dark_x[i:i + 3], light_x[i:i + 3], light_y[i:i + 3])
                        for i in range(0, n3, 3)],
                       partial(latent.darker_of_class, net, cy, median_bright[cy]))
    pair_of[name] = (cx, cy)
if analogies:
    measures = {"P(real)": partial(latent.p_real, D),
                "NN dist": partial(latent.nearest_distance, net.features, real_f, scale=nn_pool)}
    rows, outputs = latent.score_analogies(G, z, x, analogies, measures, seed=seed,
                                           context=context)
    for name in list(analogies)[:2]:   # the first triple of the first two pairs
        (cx, cy), (a, b, c), out = pair_of[name], analogies[name][0][0], outputs[name][0]
        fig = viz.grids_side_by_side({f"a: dark {CLASSES[cx]}": x[a],
                                      f"b: light {CLASSES[cx]}": x[b],
                                      f"c: light {CLASSES[cy]}": x[c],
                                      "z: a - b + c (centre first, + 8)": out["z, 3 exemplars"],
                                      "pixels: a - b + c": out["pixels"]}, nrow=3, size=2.8)
        run.figure(fig, f"arithmetic_{CLASSES[cx]}_{CLASSES[cy]}".replace(" ", "_"),
                   title=name)
    run.table(rows, "arithmetic_scores")
    run.log_metrics(rate_z3=rows[-1]["z, 3 exemplars"], rate_z1=rows[-1]["z, 1 exemplar"],
                    rate_pixels=rows[-1]["pixels"], p_real_pool=d_pool,
                    p_real_z3=rows[-1]["P(real) z, 3 exemplars"],
                    p_real_pixels=rows[-1]["P(real) pixels"],
                    nn_dist_z3=rows[-1]["NN dist z, 3 exemplars"],
                    nn_dist_z1=rows[-1]["NN dist z, 1 exemplar"],
                    nn_dist_pixels=rows[-1]["NN dist pixels"])

# %% [markdown]
# ## Figure 8 on Fashion-MNIST: a brightness direction
#
# `d = mean z(4 lightest) - mean z(4 darkest)` of one class, added as `z + alpha d` for alpha
# from -1 to 1 to random samples of every class. Scored per alpha over `turn_samples` random
# samples: the share whose brightness moved the intended way (up for alpha > 0, down for
# alpha < 0) and the share whose class (by the classifier) is the same as at alpha = 0.

# %%
alphas = np.linspace(-1, 1, 9)
if S["turn_class"] is not None:
    okc = (pred == S["turn_class"]) & (conf > S["min_prob"])
    light = latent.pick_exemplars(bright, 4, among=okc)
    dark = latent.pick_exemplars(bright, 4, among=okc, lowest=True)
else:
    light = latent.pick_exemplars(bright, 4)
    dark = latent.pick_exemplars(bright, 4, lowest=True)
d = latent.direction(z[dark], z[light])
z_rand = latent.seeded_z(G, S["turn_samples"], seed + 3)
turn = latent.score_direction(G, z_rand, d, alphas, classify=net, context=context)
run.figure(viz.show_grid(turn["images"][:8].flatten(0, 1), len(alphas), scale=1.3), "direction",
           title="z + alpha * (light - dark), alpha = -1 ... 1, 8 random samples")
rows = []
for j, alpha in enumerate(alphas):
    row = {"alpha": float(alpha), "mean brightness": float(turn["brightness"][:, j].mean()),
           "moved the intended way": latent.concept_rate(turn["moved"][:, j])}
    if turn["kept"] is not None:
        row["class kept"] = latent.concept_rate(turn["kept"][:, j])
    rows.append(row)
run.table(rows, "direction_scores")
at = {float(a): r for a, r in zip(alphas, rows)}
run.log_metrics(direction_moved_05=(at[0.5]["moved the intended way"] +
                                    at[-0.5]["moved the intended way"]) / 2,
                direction_class_kept_05=(at[0.5].get("class kept", np.nan) +
                                         at[-0.5].get("class kept", np.nan)) / 2,
                direction_class_kept_1=(at[1.0].get("class kept", np.nan) +
                                        at[-1.0].get("class kept", np.nan)) / 2)

# %% [markdown]
# ### The baseline: random directions of the same length
#
# What any direction of that length does to the same samples: `random_dirs` directions drawn
# uniformly on the sphere of radius `|d|` (`latent.random_directions`), each scored exactly as
# `d` is. A random direction brightens half the samples and darkens the others only if
# brightness has no preferred direction in z; the measured share is the baseline figure 8's
# direction must beat, and the class kept under random directions says how much any move of
# that length changes the garment.

# %%
rand_dirs = latent.random_directions(S["random_dirs"], d, seed=seed + 11)
rand_scores = [latent.score_direction(G, z_rand, r, alphas, classify=net, context=context)
               for r in rand_dirs]
half = (0.5, -0.5)
rand_rows = [{"direction": f"random {k}",
              "moved the intended way (±0.5)": float(latent.per_sample_at(sc["moved"], alphas,
                                                                         half).mean()),
              **({"class kept (±0.5)": float(latent.per_sample_at(sc["kept"], alphas,
                                                                  half).mean())}
                 if sc["kept"] is not None else {})}
             for k, sc in enumerate(rand_scores)]
run.table(rand_rows, "random_directions")

# %% [markdown]
# ## Try it: the direction and the arithmetic on samples you choose
#
# In JupyterLab these cells show sliders over the same generator (`dcgan_lib.explore`): the
# first moves one of 16 seeded samples along the brightness direction `d` above (any `alpha`
# from -3 to 3, beyond the measured range); the second forms `a - b + c` from three samples you
# pick, in z and, beside it, in pixels. Look for the brightness changing while the garment
# stays, and for a clean garment from the z arithmetic where the pixel arithmetic overlays.
# Headless runs and the rendered site show the static figures at the sliders' starting values.

# %%
explore.show(explore.direction(G, d, n=16, seed=seed, name="(light - dark)"), run,
             "explore_direction");

# %%
explore.show(explore.arithmetic(G, n=32, seed=seed), run, "explore_arithmetic");

# %% [markdown]
# ## The authors' SVHN generator: polarity arithmetic
#
# `a` = the three samples most clearly light-on-dark, `b` = the three most clearly
# dark-on-light (polarity = centre minus border brightness, over the 160 seeded samples of the
# box file), `c` = the three hand-labelled samples of one digit that are most dark-on-light,
# other than those of `a` and `b` (every digit with at least three such samples). The outputs
# should be that digit, light on dark: scored on polarity > 0, and by the authors'
# discriminator's mean probability that they are real (batch-norm re-estimated on 1,000 of the
# generator's samples; no real SVHN images here for the distance measure).

# %%
if G_svhn is not None:
    ctx_s = latent.seeded_z(G_svhn, S["context"], seed + 7)
    z_s = latent.seeded_z(G_svhn, bf.n_samples, bf.seed)
    x_s = latent.decode(G_svhn, z_s, bn=bf.bn, batch_size=bf.n_samples)   # as the boxes were drawn
    pol = latent.polarity(x_s)
    features.reestimate_bn(D_svhn, latent.decode(G_svhn, latent.seeded_z(G_svhn, 1000, seed + 1),
                                                 batch_size=128), 128)
    d_svhn_pool = latent.p_real(D_svhn, x_s).mean().item()
    labels = bf.labels()
    a = latent.pick_exemplars(pol, 3)
    b_ = latent.pick_exemplars(pol, 3, lowest=True)
    digits = sorted({v for v in labels.values()})
    rows, shown, hits_z, hits_p = [], 0, [], []
    for digit in digits:
        among = np.array([labels.get(i) == digit and i not in a + b_ for i in range(bf.n_samples)])
        if among.sum() < 3:
            continue
        c = latent.pick_exemplars(pol, 3, among=among, lowest=True)   # most dark-on-light
        out = latent.analogy_outputs(G_svhn, z_s, a, b_, c, seed=seed, context=ctx_s)
        pix = latent.pixel_analogy(x_s[a], x_s[b_], x_s[c]).unsqueeze(0)
        hz, hp = latent.polarity(out) > 0, latent.polarity(pix) > 0
        dz, dp = (latent.p_real(D_svhn, imgs).mean().item() for imgs in (out, pix))
        hits_z += list(hz)
        hits_p += list(hp)
        rows.append({"digit (c)": digit, "c samples": str(c),
                     "c polarity": ", ".join(f"{v:+.2f}" for v in pol[c]),
                     "z: light-on-dark": float(hz.mean()), "pixels: light-on-dark": float(hp.mean()),
                     "P(real) z": dz, "P(real) pixels": dp})
        if shown < 2:
            fig = viz.grids_side_by_side({"light-on-dark (a)": x_s[a], "dark-on-light (b)": x_s[b_],
                                          f"dark-on-light {digit} (c)": x_s[c],
                                          "z: a - b + c (+ 8 neighbours)": out,
                                          "pixels: a - b + c": pix}, nrow=3, size=2.8)
            run.figure(fig, f"svhn_polarity_{digit}", title=f"SVHN: light - dark + dark {digit}")
            shown += 1
    if rows:
        rows.append({"digit (c)": "all", "c samples": "", "c polarity": "",
                     "z: light-on-dark": latent.concept_rate(hits_z),
                     "pixels: light-on-dark": latent.concept_rate(hits_p),
                     "P(real) z": float(np.mean([r["P(real) z"] for r in rows])),
                     "P(real) pixels": float(np.mean([r["P(real) pixels"] for r in rows]))})
        run.table(rows, "svhn_polarity_scores")
        run.log_metrics(svhn_rate_z=rows[-1]["z: light-on-dark"],
                        svhn_rate_pixels=rows[-1]["pixels: light-on-dark"],
                        svhn_p_real_z=rows[-1]["P(real) z"],
                        svhn_p_real_pixels=rows[-1]["P(real) pixels"], svhn_p_real_pool=d_svhn_pool)
    print(f"polarity of the exemplars: a {np.round(pol[a], 3)}, b {np.round(pol[b_], 3)}")
    print(f"the authors' discriminator's mean P(real) on the {len(x_s)} samples: {d_svhn_pool:.3f}")
else:
    print("no SVHN generator in this profile")

# %% [markdown]
# ## Listed exemplars (full profile)
#
# On the `full` profile, exemplars for the paper's own concepts (smiling woman, ...) are
# listed by index into the seeded pool in `full_exemplars`; the result is shown, not scored.

# %%
if full_exemplars:
    ex = json.loads(open(full_exemplars).read())
    out = latent.analogy_outputs(G, z, ex["a"], ex["b"], ex["c"], seed=seed, context=context)
    pix = latent.pixel_analogy(x[ex["a"]], x[ex["b"]], x[ex["c"]]).unsqueeze(0)
    run.figure(viz.grids_side_by_side({"a": x[ex["a"]], "b": x[ex["b"]], "c": x[ex["c"]],
                                       "z: a - b + c": out, "pixels": pix}, nrow=3),
               "listed_exemplars", title="a - b + c with listed exemplars")
else:
    print("no listed exemplars given (full_exemplars is empty)")

# %% [markdown]
# ## Reading the numbers
#
# * `z, 3 exemplars` against `pixels`: the concept scores say whether the outputs are Y and
#   dark (or light-on-dark); pixel arithmetic can pass them, since darkening is linear in
#   pixels. The paper's "noisy overlap" shows in the figures; `NN dist` measures it as
#   distance from real images. `P(real)` is a weak judge: a discriminator at the end of
#   training rejects most of its generator's own samples too (compare the pool's value).
# * `z, 1 exemplar` against `z, 3 exemplars`: the paper found single exemplars unstable.
# * The direction: the share of samples that moved the intended way, against the share that
#   kept their class, per alpha, is this run's measure of figure 8's "reliably"; the figure
#   shows what else changes along the way.

# %% [markdown]
# ## Verdicts
# Decided on our Fashion-MNIST generator, the model with a classifier to score its outputs
# (the SVHN polarity study above has no digit classifier and is not scored here). The unit of
# the spread is the exemplar triple: each triple's hit rate (or mean `NN dist`) over its
# outputs, averaged over the triples of all pairs with the 95% interval of that mean. The
# direction, in two parts (figure 8 claims both): the attribute changes (the share of random
# samples whose brightness moved the intended way at alpha = ±0.5, each sample's mean over the
# two signs, the samples the unit of the spread) against the same share for random directions
# of the same length (their spread over directions); and the rest is kept (the share of those
# samples whose class the classifier reads unchanged at ±0.5), against a declared threshold
# of 9 in 10 ("reliably"), the random directions' share shown above for comparison.

# %%
from dcgan_lib import claims

measured = {}
if analogies:
    hits = latent.triple_scores(outputs, analogies)
    dist = latent.triple_scores(outputs, analogies, measures["NN dist"])
    note = f"{len(hits['pixels'])} exemplar triples over {len(analogies)} class pairs"
    M = claims.Measure.from_samples
    measured.update(
        analogy_rate_z=M(hits["z, 3 exemplars"], note="z, 3 exemplars, " + note),
        analogy_rate_z1=M(hits["z, 1 exemplar"], note="z, 1 exemplar, " + note),
        analogy_rate_pixels=M(hits["pixels"], note="pixels, " + note),
        analogy_nn_dist_z=M(dist["z, 3 exemplars"], note="z, 3 exemplars, " + note),
        analogy_nn_dist_pixels=M(dist["pixels"], note="pixels, " + note))
note = f"{len(z_rand)} random samples at alpha = ±0.5, per-sample means"
measured["direction_moved"] = claims.Measure.from_samples(
    latent.per_sample_at(turn["moved"], alphas, half), note="the light - dark direction, " + note)
measured["direction_moved_random"] = claims.Measure.from_samples(
    [r["moved the intended way (±0.5)"] for r in rand_rows],
    note=f"{len(rand_rows)} random directions of the same length, the same samples")
if turn["kept"] is not None:
    measured["direction_class_kept"] = claims.Measure.from_samples(
        latent.per_sample_at(turn["kept"], alphas, half), note="the light - dark direction, " + note)
verdicts = run.verdicts(measured)
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

EX = exercises.sizes("09", run)
EX

# %% [markdown]
# ### Exercise 09.1 (open-ended; `cpu` 4 s): a direction that lengthens sleeves
#
# Find a direction d in z that gives T-shirts long sleeves. The check moves held-out samples
# by d (in `cpu` those the classifier calls T-shirts) and measures sleeve length by
# `exercises.sleeve_length`, the brightness of two bands beside the torso where long sleeves
# hang. It wants the bands brighter, on average, than random directions of the same length
# make them (by `EX["sigmas"]` spreads), on at least `EX["min_up"]` of the samples, at least
# `EX["min_long"]` of them then classified as long-sleeved tops (pullover, coat or shirt), and
# |d| no longer than a typical z. Beware: the pixel measure alone is easy to fool (what else
# fills the sides of an image?). Figure 8's recipe is one way; there are others.

# %% tags=["student"]
answer = None  # a tensor of shape (nz,)

# %% tags=["solution"]
if EX["by_class"]:   # twice the step from the mean T-shirt to the mean long-sleeved top
    answer = 2 * (z[np.isin(pred, exercises.LONG_SLEEVED)].mean(0) - z[pred == 0].mean(0))
else:                # no classes to go by (smoke: an untrained stand-in; full: none)
    sleeves = exercises.sleeve_length(x)
    answer = latent.direction(z[latent.pick_exemplars(sleeves, EX["exemplars"], lowest=True)],
                              z[latent.pick_exemplars(sleeves, EX["exemplars"])])

# %%
exercises.check("09.1", answer, run=run, G=G, classifier=net, context=context)

# %% [markdown]
# ### Exercise 09.2 (quick; `cpu` 1 s): beyond the figure's range
#
# The brightness direction `d` above was applied for alpha from -1 to 1. Predict: at alpha =
# 2, do more or fewer of the `turn_samples` random samples `z_rand` keep their class than at
# alpha = 1? Then measure the share that keeps it: classify (`net`) the images of `z_rand` and
# of `z_rand + 2 * d`, each decoded with `context=context`. (Needs the classifier: `cpu` and
# `smoke`.)

# %% tags=["student"]
answer = None  # a number: the share of samples whose class is unchanged, between 0 and 1

# %% tags=["solution"]
if net is not None:
    with torch.no_grad():
        class_start = net(latent.decode(G, z_rand, context=context)).argmax(1)
        class_two = net(latent.decode(G, z_rand + 2 * d, context=context)).argmax(1)
    answer = float((class_two == class_start).float().mean())

# %%
exercises.check("09.2", answer, run=run, G=G, d=d, z=z_rand, context=context, classifier=net)
