"""The exercises of chapter 01, the DCGAN architecture (paper section 3, figure 1).

Their checks, each beside its exercise's title and answer: a parameter count, the padding of a
5x5 fractionally-strided convolution, a 128x128 generator. Students call them through
:func:`dcgan_lib.exercises.check` (``exercises.check("01.1", answer, ...)``)."""
from __future__ import annotations

import torch

from .base import Wrong, call, exercise, integer, vector

SIZES: dict = {}   # none: these checks are the same in every profile


@exercise("01.1", "Parameters of figure 1's generator in the torch variant", "quick",
          "an integer: the parameter count")
def _ex01_1(answer):
    from ..models import Discriminator, Generator, count_parameters
    n = integer(answer, "an integer (a parameter count)")
    G = Generator(64, 100, 128, 3, "torch")
    ref = count_parameters(G)
    bn = sum(p.numel() for m in G.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
             for p in m.parameters())
    if n == ref:
        return (f"{ref:,} parameters: 4x4 kernels from 1024 maps at 4x4 down to 3 at 64x64 "
                f"({bn:,} of them batch-norm gains and shifts)")
    known = {count_parameters(Generator(64, 100, 128, 3, "paper")):
             "that is the paper variant's count (5x5 kernels, per-unit projection "
             "batch-norm); the question is about the torch variant",
             ref - bn: "you left out batch-norm's gains and shifts",
             count_parameters(Generator(64, 100, 64, 3, "torch")):
             "that is the width-64 PyTorch example; figure 1 starts from 1024 maps (ngf=128)",
             count_parameters(Discriminator(64, 128, 3, "torch")):
             "that is the discriminator's count, not the generator's"}
    if n in known:
        raise Wrong(known[n])
    raise Wrong(f"{n:,} is off by {n - ref:+,} ({100 * (n - ref) / ref:+.1f}%); count every "
                "block's weights (layer_table) and its batch-norm")


@exercise("01.2", "Padding of a 5x5 fractionally-strided convolution", "quick",
          "a pair (padding, output_padding)")
def _ex01_2(answer):
    from ..models import Generator
    v = vector(answer, 2, "a pair (padding, output_padding)")
    p, op = (int(x) for x in v)
    if (p, op) != tuple(v.tolist()):
        raise Wrong(f"padding and output_padding are whole numbers, got {tuple(v.tolist())}")
    layer = next(m for m in Generator(64, 100, 8, 3, "paper").modules()
                 if isinstance(m, torch.nn.ConvTranspose2d))
    k, s = layer.kernel_size[0], layer.stride[0]
    if p < 0 or op < 0:
        raise Wrong("padding and output_padding cannot be negative")
    if op >= s:
        raise Wrong(f"output_padding must be smaller than the stride ({s}); PyTorch refuses "
                    f"{op}")
    out = (4 - 1) * s - 2 * p + k + op
    if out != 8:
        hint = " (that is the 4x4 kernel's padding, the torch variant's)" if (p, op) == (1, 0) \
            else ""
        raise Wrong(f"({p}, {op}) takes 4x4 to {out}x{out}, not 8x8{hint}: out = (in - 1) * "
                    f"{s} - 2 * padding + {k} + output_padding")
    ref = (layer.padding[0], layer.output_padding[0])
    assert (p, op) == ref, "the only solution is the library's"
    return (f"({p}, {op}): (4 - 1) * 2 - 2 * {p} + 5 + {op} = 8, and 8 -> 16 the same way; "
            "dcgan_lib.models._up uses exactly these")


@exercise("01.3", "A 128x128 generator that starts from 1024 maps", "practice",
          "a generator module (dcgan_lib.models.Generator)")
def _ex01_3(answer):
    from ..models import Generator, count_parameters, layer_table
    if not isinstance(answer, torch.nn.Module):
        raise Wrong(f"the answer should be a generator module, got {type(answer).__name__}")
    nz = getattr(answer, "nz", 100)
    was = answer.training
    answer.eval()
    with torch.no_grad():
        x = call(answer, torch.zeros(2, nz))
    answer.train(was)
    if tuple(x.shape[1:]) != (3, 128, 128):
        raise Wrong(f"it draws images of shape {tuple(x.shape[1:])}, not (3, 128, 128)")
    if not isinstance(answer, Generator):
        raise Wrong("build it with dcgan_lib.models.Generator, so the guidelines hold")
    if answer.variant != "paper":
        raise Wrong(f"that is the {answer.variant} variant; the question asks for the paper "
                    "variant (5x5 kernels)")
    first = layer_table(answer, (nz,))[0]["output"]
    if tuple(first[1:]) != (4, 4) or first[0] != 1024:
        raise Wrong(f"it starts from {first[0]} maps at {first[1]}x{first[2]}, not 1024 at "
                    "4x4: the width doubles towards z, once per up-sampling block")
    return (f"Generator(128, {nz}, {answer.ngf}, 3): 1024 maps at 4x4, five fractionally-"
            f"strided convolutions to 128x128, {count_parameters(answer):,} parameters")


EXERCISES = (_ex01_1, _ex01_2, _ex01_3)
