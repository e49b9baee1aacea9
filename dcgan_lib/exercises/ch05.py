"""The exercises of chapter 05, the discriminator as a feature extractor
(paper section 5, tables 1-2).

Their checks, each beside its exercise's title and answer: the feature vector's length, section
5's pooling, ten labels per class. Students call them through :func:`dcgan_lib.exercises.check`
(``exercises.check("05.1", answer, ...)``); :data:`SIZES` is what the solution cells run and the
checks expect, per profile."""
from __future__ import annotations

import torch

from .base import Wrong, call, close, exercise, function, integer, mapping, number, sizes_for

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(k=5), cpu=dict(k=10), full=dict(k=10), tiny=dict(k=1))


@exercise("05.1", "How long is the feature vector?", "quick",
          "an integer: the feature dimensions of a width-32 discriminator on 32x32 grey images")
def _ex05_1(answer):
    from .. import features
    from ..models import Discriminator
    n = integer(answer, "an integer (a number of dimensions)")
    D = Discriminator(32, 32, 1)
    dims = features.feature_dims(D)
    ref = sum(dims)
    if n == ref:
        return (f"{ref:,} = ({' + '.join(str(d // 16) for d in dims)}) maps x 4 x 4: every "
                "conv block max-pooled to 4x4")
    sizes_ = [tuple(a.shape[1:]) for a in _block_outputs(D)]
    unpooled = sum(c * h * w for c, h, w in sizes_)
    known = {sum(features.feature_dims(Discriminator(32, 64, 1))):
             "that is the width-64 discriminator (chapter 02's); this one has ndf=32",
             unpooled: "that is without pooling: each block is max-pooled to a 4x4 grid first",
             dims[-1]: "that is the last block alone; section 5 concatenates every block"}
    if n in known:
        raise Wrong(known[n])
    raise Wrong(f"{n:,} is not it: pool each conv block's maps to 4x4, flatten, concatenate")


def _block_outputs(D):
    from ..models import activations
    from .. import features
    layers = features.conv_block_indices(D)
    D.eval()
    with torch.no_grad(), activations(D, layers) as acts:
        D(torch.zeros(2, D.nc, D.image_size, D.image_size))
    return [acts[i] for i in layers]


@exercise("05.2", "Section 5's pooling, as a function", "quick",
          "a function of a feature map (N, C, H, W) returning (N, C * 16)")
def _ex05_2(answer):
    import torch.nn.functional as F
    function(answer, "lambda maps: ...")
    g = torch.Generator().manual_seed(5)
    for h in (16, 8, 4):
        maps = torch.randn(3, 5, h, h, generator=g)
        ref = F.adaptive_max_pool2d(maps, 4).flatten(1)
        out = call(answer, maps.clone())
        if not isinstance(out, torch.Tensor):
            raise Wrong(f"it returns {type(out).__name__}, not a tensor")
        if tuple(out.shape) != tuple(ref.shape):
            raise Wrong(f"on maps of {tuple(maps.shape)} it returns {tuple(out.shape)}, not "
                        f"{tuple(ref.shape)}: pool each map to a 4x4 grid, then flatten")
        if not close(out, ref):
            if close(out, F.adaptive_avg_pool2d(maps, 4).flatten(1)):
                raise Wrong("that is average pooling; section 5 max-pools")
            raise Wrong(f"on {h}x{h} maps it differs from max-pooling each map to 4x4")
    return "max-pooled to a 4x4 grid and flattened, for 16x16, 8x8 and 4x4 maps alike"


@exercise("05.3", "With ten labels per class", "practice",
          '{"raw pixels": test error %, "our D": test error %} with k labels per class')
def _ex05_3(answer, run, splits, D, bn_images, probe, batch_size, chapter_errors):
    from .. import features
    k = sizes_for(SIZES, run)["k"]
    a = mapping(answer, ("raw pixels", "our D"))
    mine = {name: number(a[name], f"a test error in percent ({name})") for name in a}
    if all(v <= 1 for v in mine.values()) and any(v > 0 for v in mine.values()):
        raise Wrong("those look like fractions; give the test errors in percent")
    x_pool, y_pool, x_val, y_val, x_test, y_test = splits
    ref = {}
    fx = [features.pixel_features(v) for v in (x_pool, x_val, x_test)]
    ref["raw pixels"] = features.svm_probe(fx[0], y_pool, fx[1], y_val, fx[2], y_test, k=k,
                                           verbose=False, **probe).test_mean
    fx, _ = features.extract_features(D, (x_pool, x_val, x_test), bn_images=bn_images,
                                      batch_size=batch_size, verbose=False)
    ref["our D"] = features.svm_probe(fx[0], y_pool, fx[1], y_val, fx[2], y_test, k=k,
                                      verbose=False, **probe).test_mean
    for name in ref:
        if abs(mine[name] - ref[name]) > 0.01:
            hint = (" (that is the chapter's number with more labels)"
                    if abs(mine[name] - chapter_errors.get(name, -1)) < 0.01 else "")
            raise Wrong(f"{name}: {mine[name]:.2f}% but the check measures {ref[name]:.2f}% with "
                        f"k={k} and the chapter's probe settings (**probe){hint}")
    gap = ref["raw pixels"] - ref["our D"]
    before = chapter_errors["raw pixels"] - chapter_errors["our D"]
    return (f"with {k} labels per class: raw pixels {ref['raw pixels']:.2f}%, our D "
            f"{ref['our D']:.2f}%, D ahead by {gap:+.2f} points (with the chapter's labels "
            f"{before:+.2f})")


EXERCISES = (_ex05_1, _ex05_2, _ex05_3)
