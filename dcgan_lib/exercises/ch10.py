"""The exercises of chapter 10, the conditional DCGAN (appendix A.1, table 3, figure 9).

Their checks, each beside its exercise's title and answer: table 3's baseline as a TrainConfig,
1-NN with a hundred real images per class, the class the DCGAN draws worst. Students call them
through :func:`dcgan_lib.exercises.check` (``exercises.check("10.1", answer, ...)``);
:data:`SIZES` is what the solution cells run and the checks expect, per profile."""
from __future__ import annotations

import math

import numpy as np
import torch

from .base import Wrong, exercise, integer, number, sizes_for

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(per_class=10, samples=20), cpu=dict(per_class=100, samples=200),
             full=dict(per_class=100, samples=1000), tiny=dict(per_class=2, samples=4))


_TABLE3_BASELINE = dict(labels=True, arch="mlp", dataset="mnist", image_size=28, bn_affine=False,
                        schedule="alternating", epochs=200, decay_epochs=100, weight_decay=2.5e-5,
                        lr=2e-4, beta1=0.5, batch_size=128, nz=100, nfc=1024)
_TABLE3_HINTS = {
    "labels": "the models of table 3 are conditional (labels=True)",
    "arch": "the baseline is the fully connected GAN (arch='mlp'); 'dcgan' is the DCGAN",
    "dataset": "table 3 is MNIST", "image_size": "MNIST digits are 28x28",
    "bn_affine": "appendix A.1: batch-norm without scale and bias (bn_affine=False)",
    "schedule": "the authors' code alternates G and D updates (schedule='alternating')",
    "epochs": "the authors' code trains 200 epochs in all",
    "decay_epochs": "the learning rate falls linearly to 0 over the last 100 epochs",
    "weight_decay": "the authors' MNIST code adds L2 weight decay 2.5e-5",
}


@exercise("10.1", "Table 3's baseline, as a TrainConfig", "quick",
          "a TrainConfig of the fully connected baseline with the authors' MNIST schedule")
def _ex10_1(answer):
    from ..train import ConfigError, TrainConfig
    if not isinstance(answer, TrainConfig):
        raise Wrong(f"the answer should be a dcgan_lib.train.TrainConfig, got "
                    f"{type(answer).__name__}")
    for k, v in _TABLE3_BASELINE.items():
        if getattr(answer, k) != v:
            raise Wrong(f"{k}={getattr(answer, k)!r}: "
                        + _TABLE3_HINTS.get(k, f"the authors' code uses {v!r}"))
    try:
        answer.validate()
    except ConfigError as e:
        raise Wrong(f"the config does not validate: {e}") from None
    return ("labels, arch='mlp', MNIST 28x28, batch-norm without scale and bias, alternating "
            "updates, 100 + 100 epochs with linear decay, weight decay 2.5e-5")


def _per_class_subset(x, y, per_class: int):
    """The first ``per_class`` images of each class (all of a smaller class), in their order."""
    ny = int(y.max()) + 1
    idx = torch.cat([(y == c).nonzero().flatten()[:per_class] for c in range(ny)]).sort().values
    return x[idx], y[idx], per_class


@exercise("10.2", "1-NN with a hundred real images per class", "quick",
          "a number: the test error in percent")
def _ex10_2(answer, run, x_train, y_train, x_test, y_test):
    from ..knn import chunks, nn_errors
    a = number(answer, "a number (a test error in percent)")
    xs, ys, k = _per_class_subset(x_train, y_train, sizes_for(SIZES, run)["per_class"])
    ref = 100 * nn_errors(chunks(xs, ys), {"test": (x_test, y_test)}, log=None)[0]["test"]
    if abs(a - ref) <= 0.01:
        full = 100 * nn_errors(chunks(x_train, y_train), {"test": (x_test, y_test)},
                               log=None)[0]["test"]
        return (f"{ref:.2f}% with {k} images per class ({len(xs):,}), {full:.2f}% with all "
                f"{len(x_train):,}: more samples, fewer errors, as table 3 shows for generated "
                "ones")
    if abs(100 * a - ref) <= 0.01:
        raise Wrong("that is a fraction; give the error in percent")
    raise Wrong(f"{a:.2f}%; the check measures {ref:.2f}% for the first {k} training images of "
                "each class")


@exercise("10.3", "Which class does the DCGAN draw worst?", "open-ended",
          "an integer: the class whose samples a 1-NN classifier on real images gets wrong "
          "most often")
def _ex10_3(answer, run, G, x_train, y_train):
    from ..conditional import generate_labelled
    from ..knn import StreamingNN
    c = integer(answer, "an integer (a class)")
    ny = int(y_train.max()) + 1
    if not 0 <= c < ny:
        raise Wrong(f"there is no class {c}; classes are 0..{ny - 1}")
    n = sizes_for(SIZES, run)["samples"] * ny
    xs, ys = zip(*generate_labelled(G, n, seed=run.seed + 31))
    x, y = torch.cat(xs).cpu(), torch.cat(ys).cpu()
    knn = StreamingNN(x)
    for i in range(0, len(x_train), 4096):
        knn.partial_fit(x_train[i:i + 4096], y_train[i:i + 4096])
    wrong = (knn.predict() != y).float()
    err = [float(wrong[y == k].mean()) for k in range(ny)]
    worst = int(np.argmax(err))
    per = len(x) // ny   # a class's error has sampling noise: two binomial spreads of the worst
    tol = 2 * math.sqrt(max(err) * (1 - max(err)) / per) + 0.005
    if err[c] >= max(err) - tol:
        return (f"class {c}: {100 * err[c]:.1f}% of its samples are nearest to a real image of "
                f"another class (best class {100 * min(err):.1f}%, mean {100 * np.mean(err):.1f}%)")
    raise Wrong(f"class {c}: {100 * err[c]:.1f}% of its samples land nearest another class; "
                f"{sum(e > err[c] for e in err)} classes do worse (the worst "
                f"{100 * err[worst]:.1f}%)")


EXERCISES = (_ex10_1, _ex10_2, _ex10_3)
