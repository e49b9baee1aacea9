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
# # 1 · The DCGAN architecture (paper section 3, figure 1)
#
# Section 3 of the paper condenses a long architecture search into five guidelines for stable
# deep convolutional GANs. This chapter shows each one in `dcgan_lib.models`, builds both
# variants the book supports side by side, and tabulates their layers and parameter counts.
#
# | guideline (section 3) | where in `dcgan_lib.models` |
# |---|---|
# | strided convolutions in D, fractionally-strided ones in G, no pooling | `_down`: `Conv2d(stride=2)`; `_up`: `ConvTranspose2d(stride=2)` |
# | batch-norm in G and D, but not on G's output nor D's input | every block but `G.blocks[-1]` and `D.blocks[0]` |
# | no fully connected hidden layers | z is projected by one matrix product (`paper`) or a 4x4 transposed convolution (`torch`), D ends in one linear unit on the flattened last conv map |
# | ReLU in G, tanh on its output | `nn.ReLU`, `nn.Tanh` |
# | LeakyReLU in D (slope 0.2, section 4) | `nn.LeakyReLU(0.2)` |
#
# **Two variants.** `paper` follows the authors' released code: 5x5 kernels, a bias-free
# projection of z whose batch-norm has one gain and shift per unit (not per channel), and z
# uniform in [-1, 1]. `torch` follows the widely copied PyTorch port: 4x4 kernels, z (normal)
# through a transposed convolution. Both use no biases (batch-norm's shift does that job) and
# initialise weights from N(0, 0.02) and batch-norm gains from N(1, 0.02) (section 4).

# %% tags=["parameters"]
profile = ""      # smoke | cpu | full; "": $DCGAN_PROFILE, else cpu
seed = 0
data_root = ""    # empty: $DCGAN_DATA or ~/.cache/dcgan_lib/data
results_dir = "results"
scale = ""        # "tiny": the profile's code path with tiny sizes (CI's test)

# %%
from dcgan_lib import book
run = book.setup("01_architecture", profile, seed, data_root, results_dir, scale)

# %%
import dataclasses

import torch
from dcgan_lib import viz
from dcgan_lib.models import Discriminator, Generator, count_parameters, layer_table
from dcgan_lib.train import TrainConfig

# %% [markdown]
# ## Figure 1: the LSUN generator
# The paper's figure 1 shows the 64x64 generator: z (100-d) projected to 4x4 with 1024 feature
# maps, then four fractionally-strided convolutions halving the maps (512, 256, 128) up to a
# 64x64 colour image. In `dcgan_lib` that is `Generator(64, nz=100, ngf=128, nc=3)`.

# %%
# NBVAL_CHECK_OUTPUT
G_lsun = Generator(64, nz=100, ngf=128, nc=3, variant="paper")
rows = layer_table(G_lsun, (100,))
run.table(rows, "figure1_generator")
print(f"total parameters: {count_parameters(G_lsun):,}")

# %% [markdown]
# ## Both variants side by side (64x64 colour, width 64)
# With 64 base channels at 64x64, the `torch` variant is exactly the PyTorch example's model
# (3,576,704 generator and 2,765,568 discriminator parameters). The `paper` variant's 5x5
# kernels hold 25/16 as many weights, and its per-unit projection batch-norm has
# 2 x 512 x 16 parameters.

# %%
# NBVAL_CHECK_OUTPUT
summary = []
for variant in ("paper", "torch"):
    G = Generator(64, 100, 64, 3, variant)
    D = Discriminator(64, 64, 3, variant)
    run.table(layer_table(G, (100,)), f"generator_{variant}")
    run.table(layer_table(D, (3, 64, 64)), f"discriminator_{variant}")
    summary.append({"variant": variant, "kernel": "5x5" if variant == "paper" else "4x4",
                    "z": G.z_dist, "G params": count_parameters(G),
                    "D params": count_parameters(D)})
run.table(summary, "parameter_counts")

# %% [markdown]
# ## The authors' released 32x32 SVHN model
# The same code at 32x32 with width 64 has exactly the layout of the authors' released SVHN
# generator and discriminator (chapter 5 loads those weights into these modules).

# %%
# NBVAL_CHECK_OUTPUT
G32, D32 = Generator(32, 100, 64, 3, "paper"), Discriminator(32, 64, 3, "paper")
run.table([{"parameter": n, "shape": tuple(p.shape)} for n, p in G32.named_parameters()],
          "svhn_generator_parameters")
run.table([{"parameter": n, "shape": tuple(p.shape)} for n, p in D32.named_parameters()],
          "svhn_discriminator_parameters")

# %% [markdown]
# ## Training hyperparameters (section 4)
# The defaults of `TrainConfig` are the paper's; each can be changed per run.

# %%
# NBVAL_CHECK_OUTPUT
paper_values = {"batch_size": "128", "lr": "0.0002 (not Adam's suggested 0.001)",
                "beta1": "0.5 (not 0.9)", "nz": "100", "variant": "5x5 kernels (authors' code)",
                "schedule": "(authors' code alternates; see chapter 2)"}
cfg = TrainConfig(steps=1)
run.table([{"option": f.name, "default": getattr(cfg, f.name), "paper": paper_values[f.name]}
           for f in dataclasses.fields(cfg) if f.name in paper_values], "hyperparameters")
print("init: weights N(0, 0.02); batch-norm gains N(1, 0.02), shifts 0; LeakyReLU slope 0.2")

# %% [markdown]
# ## What an untrained generator draws
# Before training, both generators draw structured noise. The 4x4 kernels with stride 2 of
# the `torch` variant overlap evenly; the 5x5 kernels of the `paper` variant overlap unevenly
# (3 taps on one output pixel, 2 on the next), one source of the checkerboard texture early
# samples show. Batch statistics are used in batch-norm, as the authors sampled.

# %%
from dcgan_lib.models import batch_stats

grids = {}
for variant in ("paper", "torch"):
    torch.manual_seed(seed)
    G = Generator(64, 100, 64, 3, variant)
    with torch.no_grad(), batch_stats(G):
        grids[f"untrained {variant} G"] = G(G.sample_z(16, torch.Generator().manual_seed(seed)))
fig = viz.grids_side_by_side(grids, nrow=4, size=3.6)
run.figure(fig, "untrained_samples", caption="the paper variant's checkerboard texture "
           "(uneven 5x5 overlap) against the torch variant's smoother noise")

# %% [markdown]
# ## Verdicts
# Both claims of this chapter are structural, checked on the modules themselves
# (`claims.figure1_layers_match`, `claims.architecture_guidelines`): a guideline counts only
# if every block of G and D follows it. Which guideline each check found is listed first.

# %%
from dcgan_lib import claims
from dcgan_lib.models import Discriminator

checks = claims.architecture_guidelines(G_lsun, Discriminator(64, 128, 3, "paper"))
run.table([{"guideline": k, "followed": v} for k, v in checks.items()], "guidelines")
verdicts = run.verdicts({"figure1_layers_match": claims.Measure(
                             claims.figure1_layers_match(G_lsun), 0.0, note="block outputs"),
                         "guidelines_met": claims.Measure(sum(checks.values()), 0.0,
                                                          note="checked on the modules")})

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

# %% [markdown]
# ### Exercise 01.1 (quick; under a second): figure 1 in the `torch` variant
#
# Figure 1's generator in the `torch` variant: 64x64 colour, 1024 maps at 4x4 (`ngf=128`),
# 4x4 kernels and z projected by a 4x4 transposed convolution. Predict from the tables above
# whether it has more or fewer parameters than the `paper` variant's, then set `answer` to its
# parameter count.

# %% tags=["student"]
answer = None  # an integer: the parameter count

# %% tags=["solution"]
answer = count_parameters(Generator(64, nz=100, ngf=128, nc=3, variant="torch"))

# %%
exercises.check("01.1", answer)

# %% [markdown]
# ### Exercise 01.2 (quick; under a second): padding for 5x5 up-sampling
#
# The `paper` variant doubles the resolution with 5x5 fractionally-strided (transposed)
# convolutions of stride 2. PyTorch gives their output size as (in - 1) x stride - 2 x
# padding + kernel + output_padding, with output_padding smaller than the stride. Which pair
# (padding, output_padding) takes a 4x4 map to 8x8 (and 8x8 to 16x16)? Work it out by hand.

# %% tags=["student"]
answer = None  # a pair (padding, output_padding)

# %% tags=["solution"]
answer = (2, 1)  # (4 - 1) * 2 - 2 * 2 + 5 + 1 = 8; (8 - 1) * 2 - 4 + 5 + 1 = 16

# %%
exercises.check("01.2", answer)

# %% [markdown]
# ### Exercise 01.3 (practice; under a second): a 128x128 generator
#
# Build, with `Generator`, a `paper`-variant generator of 128x128 colour images that starts,
# like figure 1, from 1024 feature maps at 4x4. How many up-sampling blocks does it have, and
# which width `ngf` gives 1024 maps at the bottom? Check your design with `layer_table`.

# %% tags=["student"]
answer = None  # a Generator

# %% tags=["solution"]
answer = Generator(128, nz=100, ngf=64, nc=3, variant="paper")
run.table(layer_table(answer, (100,)), "exercise_generator_128")

# %%
exercises.check("01.3", answer)
