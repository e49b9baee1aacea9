"""The book's exercises and their automatic checks (teaching with the book: issue 16).

Every chapter ends with 2-4 exercises, from quick ones (a number to predict, then measure) to
open-ended ones (find a direction in z that lengthens sleeves). Each has, in the chapter:

* a cell tagged ``student``: ``answer = None`` and what the answer should be (kept in both
  editions);
* a cell tagged ``solution``: the reference solution, which sets ``answer`` (the instructor
  edition only: ``python ci/student_edition.py`` removes it);
* a check cell: ``exercises.check("02.1", answer, run=run, ...)``, which prints one line,
  ``Exercise 02.1 right: ...``, ``Exercise 02.1 wrong: ...`` or ``Exercise 02.1 not done yet:
  ...`` (``answer is None``). A check never raises on a student's answer: an answer of the
  wrong kind, or a function of the student's that raises, is "wrong" with the reason.

The keyword arguments after the answer are what the check needs from the chapter (its run,
data, models); :func:`verdict` returns the :class:`Verdict` instead of printing it (the tests
use it). Checks run with torch's and numpy's random state saved and restored, so a check does
not change what the cells after it draw.

Sizes. :func:`sizes` gives the exercise sizes of a chapter for the run's profile (``smoke``:
seconds; ``cpu``: minutes on a laptop; ``full``: the paper's models; ``scale="tiny"``: tiny),
which the solution cells and the checks share. Answers the check cannot verify exactly (the
open-ended ones) are judged by a measured proxy, stated in the exercise and in the verdict:
e.g. a sleeve-length direction must brighten the sleeve bands (:func:`sleeve_length`) of
held-out samples more than random directions of the same length do.

:data:`EXERCISES` lists every exercise (id, chapter, title, level, what the answer is): the
tests hold every chapter to it, and the course guide (``site/course.md``) tabulates it with
the times ``ci/time_exercises.py`` measured.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

STATUSES = ("right", "wrong", "not done yet")
LINE = re.compile(r"^Exercise (\d\d\.\d) (right|wrong|not done yet): ", re.M)
LEVELS = ("quick", "practice", "open-ended")


@dataclass(frozen=True)
class Verdict:
    """What a check says: ``status`` (one of :data:`STATUSES`) and a one-line ``message``."""

    id: str
    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "right"

    def __str__(self) -> str:
        return f"Exercise {self.id} {self.status}: {self.message}"


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``id`` ("02.1": chapter 02, first exercise), ``title``, ``level``
    (quick, practice, open-ended), ``answer`` (what the student's answer is) and its check."""

    id: str
    title: str
    level: str
    answer: str
    check: Callable[..., str]

    @property
    def chapter(self) -> str:
        return self.id.split(".")[0]


EXERCISES: dict[str, Exercise] = {}
RESULTS: dict[str, Verdict] = {}   # the last verdict of each exercise checked in this process


class Wrong(Exception):
    """Raised by a check: the answer is wrong, for the reason in the message (one line)."""


def exercise(id: str, title: str, level: str, answer: str):
    """Register a check under ``id``. The check takes the answer and the chapter's context
    as keyword arguments and returns the message of a right answer, or raises :class:`Wrong`."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")

    def register(fn):
        if id in EXERCISES:
            raise ValueError(f"exercise {id} registered twice")
        EXERCISES[id] = Exercise(id, title, level, answer, fn)
        return fn
    return register


def for_chapter(chapter: str) -> list[Exercise]:
    """The exercises of a chapter ("02" or "02_training"), in order."""
    num = chapter[:2]
    return [e for e in EXERCISES.values() if e.chapter == num]


# --------------------------------------------------------------------------------- sizes
# Per chapter and profile: what the solution cells run and what the checks expect. "tiny"
# values replace the profile's at scale="tiny" (CI's full profile on fixture data).
SIZES: dict[str, dict[str, dict]] = {
    "02": dict(smoke=dict(steps=10), cpu=dict(steps=200), full=dict(steps=200),
               tiny=dict(steps=4)),
    "03": dict(smoke=dict(noise=0.02, min_closer=0.5), cpu=dict(noise=0.02, min_closer=0.5),
               full=dict(noise=0.02, min_closer=0.5), tiny=dict()),
    "04": dict(smoke=dict(ae_images=512, ae_epochs=5, kind="shift", t=8, min_recall=0.5,
                          max_fpr=0.01),
               cpu=dict(ae_images=20000, ae_epochs=2, kind="shift", t=8, min_recall=0.9,
                        max_fpr=0.001),
               full=dict(ae_images=50000, ae_epochs=2, kind="shift", t=8, min_recall=0.9,
                         max_fpr=0.001),
               tiny=dict(ae_images=32, min_recall=0.0, max_fpr=1.0)),
    "05": dict(smoke=dict(k=5), cpu=dict(k=10), full=dict(k=10), tiny=dict(k=1)),
    "06": dict(smoke=dict(pairs=20000), cpu=dict(pairs=20000), full=dict(pairs=20000),
               tiny=dict()),
    "07": dict(smoke=dict(top=0.98), cpu=dict(top=0.98), full=dict(top=0.98), tiny=dict()),
    "08": dict(smoke=dict(keep=0.9), cpu=dict(keep=0.9), full=dict(keep=0.9), tiny=dict()),
    # by_class: judge T-shirts only, and by the classifier too (cpu: the Fashion-MNIST
    # classifier; smoke's is an untrained stand-in and full has none)
    "09": dict(smoke=dict(exemplars=8, check_samples=256, random_dirs=8, min_up=0.6,
                          sigmas=2.0, by_class=False, min_long=0.0),
               cpu=dict(exemplars=8, check_samples=1000, random_dirs=8, min_up=0.75,
                        sigmas=3.0, by_class=True, min_long=0.6),
               full=dict(exemplars=8, check_samples=1000, random_dirs=8, min_up=0.75,
                         sigmas=3.0, by_class=False, min_long=0.0),
               tiny=dict(exemplars=2, check_samples=16, random_dirs=4, min_up=0.0,
                         sigmas=0.0)),
    "10": dict(smoke=dict(per_class=10, samples=20), cpu=dict(per_class=100, samples=200),
               full=dict(per_class=100, samples=1000), tiny=dict(per_class=2, samples=4)),
}
CHAPTERS_WITHOUT_SIZES = ("01",)


def sizes(chapter: str, run) -> dict:
    """The exercise sizes of ``chapter`` ("02" or "02_training") for ``run``'s profile (and
    scale): a dict the chapter's solution cells read and its checks use."""
    num = chapter[:2]
    if num in CHAPTERS_WITHOUT_SIZES:
        return {}
    table = SIZES[num]
    out = dict(table[run.profile])
    if getattr(run, "scale", "") == "tiny":
        out.update(table.get("tiny", {}))
    return out


# ------------------------------------------------------------------------ checking
def _recording(run, v: Verdict) -> None:
    """Add the verdict to ``<run.out>/exercises.json`` (what a teacher collects)."""
    out = getattr(run, "out", None)
    if out is None:
        return
    path = Path(out) / "exercises.json"
    try:
        got = json.loads(path.read_text()) if path.exists() else {}
        got[v.id] = {"status": v.status, "message": v.message}
        path.write_text(json.dumps(got, indent=1) + "\n")
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def _random_state_kept():
    state = np.random.get_state()
    import random
    py = random.getstate()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            np.random.set_state(state)
            random.setstate(py)


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def verdict(id: str, answer: Any, **context: Any) -> Verdict:
    """The :class:`Verdict` of ``answer`` to exercise ``id``, given the chapter's ``context``
    (the check's keyword arguments: a missing or unknown one is a :class:`TypeError`, a bug of
    the chapter, not of the answer)."""
    if id not in EXERCISES:
        raise KeyError(f"no exercise {id!r}; exercises: {', '.join(EXERCISES)}")
    ex = EXERCISES[id]
    inspect.signature(ex.check).bind(answer, **context)   # TypeError: the chapter's mistake
    if answer is None:
        return Verdict(id, "not done yet", f"set answer in the cell above ({ex.answer})")
    try:
        with _random_state_kept():
            msg = ex.check(answer, **context)
        return Verdict(id, "right", _one_line(msg))
    except Wrong as e:
        return Verdict(id, "wrong", _one_line(e))
    except Exception as e:   # the student's function raised, or an answer of a strange kind
        return Verdict(id, "wrong", _one_line(f"checking your answer raised "
                                              f"{type(e).__name__}: {e}"))


def check(id: str, answer: Any, **context: Any) -> None:
    """Print the one-line verdict of ``answer`` to exercise ``id`` (see :func:`verdict`),
    keep it in :data:`RESULTS` and, when ``run`` is given, in ``<run.out>/exercises.json``.
    Returns nothing, so a cell ending in it shows the line once."""
    v = verdict(id, answer, **context)
    RESULTS[id] = v
    _recording(context.get("run"), v)
    print(v, flush=True)


def parse(text: str) -> dict[str, str]:
    """``{id: status}`` of every verdict line in ``text`` (an executed notebook's output)."""
    return {m.group(1): m.group(2) for m in LINE.finditer(text)}


# ------------------------------------------------------------------- answer helpers
def _number(answer, what: str = "a number") -> float:
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.number, torch.Tensor)):
        raise Wrong(f"the answer should be {what}, got {type(answer).__name__}")
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            raise Wrong(f"the answer should be {what}, got a tensor of shape "
                        f"{tuple(answer.shape)}")
        answer = answer.item()
    x = float(answer)
    if not math.isfinite(x):
        raise Wrong(f"the answer should be {what}, got {x}")
    return x


def _integer(answer, what: str = "an integer") -> int:
    x = _number(answer, what)
    if x != int(x):
        raise Wrong(f"the answer should be {what}, got {x}")
    return int(x)


def _vector(answer, n: int | None = None, what: str = "a list or tensor of numbers"):
    try:
        t = torch.as_tensor(answer, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"the answer should be {what}, got {type(answer).__name__}") from None
    if n is not None and len(t) != n:
        raise Wrong(f"the answer should hold {n} numbers, got {len(t)}")
    return t


def _dict(answer, keys: tuple[str, ...]) -> dict:
    if not isinstance(answer, dict):
        raise Wrong(f"the answer should be a dict with keys {', '.join(keys)}, got "
                    f"{type(answer).__name__}")
    missing = [k for k in keys if k not in answer]
    if missing:
        raise Wrong(f"the answer dict lacks {', '.join(missing)}")
    return answer


def _choice(value, options: tuple[str, ...], what: str) -> str:
    v = str(value).strip().lower().replace("about the same", "same")
    if v not in options:
        raise Wrong(f"{what} should be one of {', '.join(options)}, got {value!r}")
    return v


def _close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    return bool(torch.allclose(torch.as_tensor(a, dtype=torch.float64),
                               torch.as_tensor(b, dtype=torch.float64), rtol=rtol, atol=atol))


def _call(fn, *args):
    """The student's function applied to ``args``; :class:`Wrong` when it raises."""
    try:
        return fn(*args)
    except Exception as e:
        raise Wrong(f"your function raised {type(e).__name__}: {e}") from None


# =================================================================== 01 architecture
@exercise("01.1", "Parameters of figure 1's generator in the torch variant", "quick",
          "an integer: the parameter count")
def _ex01_1(answer):
    from ..models import Discriminator, Generator, count_parameters
    n = _integer(answer, "an integer (a parameter count)")
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
    v = _vector(answer, 2, "a pair (padding, output_padding)")
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
        x = _call(answer, torch.zeros(2, nz))
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


# ======================================================================= 02 training
def _run_folder(obj) -> Path:
    out = getattr(obj, "out", obj)
    if not isinstance(out, (str, Path)):
        raise Wrong(f"'run' should be the Trainer (or its run folder), got {type(obj).__name__}")
    out = Path(out)
    if not (out / "config.json").is_file():
        raise Wrong(f"{out.name}: no config.json there; train with Trainer(...).fit() first")
    return out


# fields a comparison run must share with the chapter's (everything that changes the run,
# but the hyperparameter under study and the length)
_SAME = ("dataset", "image_size", "channels", "limit", "variant", "nz", "ngf", "ndf", "z_dist",
         "batch_size", "lr", "beta1", "beta2", "weight_decay", "schedule", "seed", "labels")


def _changed(conf: dict, cfg, allowed: tuple[str, ...]) -> list[str]:
    return [f"{k} ({conf.get(k)!r}, the chapter's {getattr(cfg, k)!r})" for k in _SAME
            if k not in allowed and conf.get(k) != getattr(cfg, k)]


@exercise("02.1", "beta1 = 0.9: D(x) in the first steps", "quick",
          '{"prediction": "higher" | "lower" | "same", "run": <the Trainer of your beta1 = 0.9 '
          'run>}')
def _ex02_1(answer, run, cfg, log):
    from ..train import read_jsonl
    n = sizes("02", run)["steps"]
    a = _dict(answer, ("prediction", "run"))
    pred = _choice(a["prediction"], ("higher", "lower", "same"), "prediction")
    folder = _run_folder(a["run"])
    conf = json.loads((folder / "config.json").read_text())
    if conf.get("beta1") != 0.9:
        raise Wrong(f"your run used beta1={conf.get('beta1')}; set beta1=0.9")
    changed = _changed(conf, cfg, ("beta1",))
    if changed:
        raise Wrong("your run also changed " + ", ".join(changed) + ": change beta1 only, so "
                    "any difference is beta1's")
    mine = [r["d_x"] for r in read_jsonl(folder / "log.jsonl") if "d_x" in r]
    base = [r["d_x"] for r in log if "d_x" in r]
    if len(mine) < n:
        raise Wrong(f"your run logged {len(mine)} steps; train at least {n}")
    if len(base) < n:
        raise Wrong(f"the chapter's run logged only {len(base)} steps, fewer than {n}")
    m, b = float(np.mean(mine[:n])), float(np.mean(base[:n]))
    outcome = "higher" if m - b > 0.02 else "lower" if m - b < -0.02 else "same"
    said = "as you predicted" if pred == outcome else f"you predicted {pred}"
    return (f"with beta1 0.9 D(x) averaged {m:.3f} over the first {n} steps, {b:.3f} with the "
            f"paper's 0.5: {outcome} ({said})")


@exercise("02.2", "The generator's loss on logits", "quick",
          "a function of D's logits on generated images, e.g. lambda logits: ...")
def _ex02_2(answer):
    import torch.nn.functional as F
    if not callable(answer):
        raise Wrong(f"the answer should be a function (lambda logits: ...), got "
                    f"{type(answer).__name__}")
    logits = torch.tensor([-8.0, -3.0, -0.5, 0.0, 1.5, 4.0], dtype=torch.float64)
    x = logits.clone().requires_grad_(True)
    out = _call(answer, x)
    if not isinstance(out, torch.Tensor):
        raise Wrong(f"it returns {type(out).__name__}, not a tensor: use torch operations")
    if out.numel() != 1:
        raise Wrong(f"it returns {out.numel()} numbers; average the loss over the batch")
    if not out.requires_grad:
        raise Wrong("its result has no gradient: compute it from the logits with torch "
                    "operations (no .item(), no numpy)")
    out.backward()
    grad = x.grad
    ref = F.softplus(-logits).mean()                    # -log sigmoid(l): -log D(G(z))
    ref_grad = -torch.sigmoid(-logits) / len(logits)
    val = out.detach().double()
    if _close(val, ref) and grad is not None and _close(grad, ref_grad):
        sat_grad = torch.sigmoid(logits[0]).item()
        return (f"non-saturating: where D is sure a sample is fake (logit -8) it still pushes "
                f"G with gradient {-ref_grad[0].item() * len(logits):.3f} per sample, the "
                f"saturating log(1 - D(G(z))) with {sat_grad:.4f}")
    wrongs = [(-F.softplus(logits).mean(), "that is the saturating loss log(1 - D(G(z))): "
               "where D rejects the samples its gradient vanishes; G minimises -log D(G(z))"),
              (-ref, "wrong sign: G minimises -log D(G(z)) (it wants D to say real)"),
              (F.softplus(logits).mean(), "that is D's loss on generated images (target 0); G's "
               "target is 1 (real)"),
              (F.softplus(-logits).sum(), "that is the sum; average over the batch")]
    for value, why in wrongs:
        if _close(val, value):
            raise Wrong(why)
    if torch.isnan(val):
        raise Wrong("it gives NaN: the input is logits, not probabilities (D(G(z)) = "
                    "sigmoid(logits))")
    raise Wrong(f"on logits {logits.tolist()} it gives {val.item():.4f}, expected "
                f"{ref.item():.4f} (the mean of -log sigmoid(logits))")


@exercise("02.3", "Beat the recipe after one epoch", "open-ended",
          "a Trainer trained for one epoch with your lr, beta1, beta2")
def _ex02_3(answer, run, cfg, epochs, evaluator):
    from ..train import Trainer
    if not isinstance(answer, Trainer):
        raise Wrong(f"the answer should be the Trainer of your run, got {type(answer).__name__}")
    changed = _changed(vars(answer.cfg), cfg, ("lr", "beta1", "beta2"))
    if changed:
        raise Wrong("change only lr, beta1 and beta2; you also changed " + ", ".join(changed))
    mine = {k: getattr(answer.cfg, k) for k in ("lr", "beta1", "beta2")}
    if all(mine[k] == getattr(cfg, k) for k in mine):
        raise Wrong("that is the recipe itself: change lr, beta1 or beta2")
    if answer.step == 0:
        raise Wrong("your trainer has not trained: call fit()")
    if answer.step > answer.steps_per_epoch:
        raise Wrong(f"it trained {answer.step} steps; the budget is one epoch "
                    f"({answer.steps_per_epoch} steps)")
    fd = float(evaluator(answer.G)["fd"])
    ref = float(epochs[0]["fd"])
    what = ", ".join(f"{k} {v:g}" for k, v in mine.items())
    if fd < ref:
        return (f"{what}: Fréchet distance {fd:.4g} after {answer.step} steps, below the "
                f"recipe's {ref:.4g} after one epoch")
    raise Wrong(f"{what}: Fréchet distance {fd:.2f} after {answer.step} steps, not below the "
                f"recipe's {ref:.4g} after one epoch")


# ======================================================================= 03 datasets
@exercise("03.1", "Fool the memorisation check", "practice",
          "a tensor (N, C, H, W) of images in [-1, 1] that the check flags as copies, none a "
          "byte copy")
def _ex03_1(answer, run, train_images, held_out):
    from ..memorization import copy_statistics, nearest_neighbours
    need = sizes("03", run)["min_closer"]
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"the answer should be a tensor of images, got {type(answer).__name__}")
    if answer.ndim != 4 or tuple(answer.shape[1:]) != tuple(held_out.shape[1:]):
        raise Wrong(f"images should be (N, {', '.join(map(str, held_out.shape[1:]))}), got "
                    f"{tuple(answer.shape)}")
    n = len(answer)
    if n < 8:
        raise Wrong(f"{n} images are too few to judge; give at least 8")
    if answer.min() < -1.001 or answer.max() > 1.001:
        raise Wrong(f"pixels outside [-1, 1] ({answer.min():.2f} ... {answer.max():.2f}): no "
                    "generator draws those")
    d, _ = nearest_neighbours(answer.float(), train_images)
    r, _ = nearest_neighbours(held_out[:max(n, 100)].float(), train_images)
    exact = int((d[:, 0] == 0).sum())
    if exact:
        raise Wrong(f"{exact} of your {n} images are byte copies of training images (distance "
                    "0): the exact-copy test catches those; make near copies")
    st = copy_statistics(d[:, 0], r[:, 0])
    msg = (f"closer_than_q = {st['closer_than_q']:.2f} (median distance to the nearest training "
           f"image {st['generated_median']:.2f}, held-out images {st['held_out_median']:.2f})")
    if st["closer_than_q"] >= need:
        return msg + ": flagged as copies, though none is a byte copy"
    raise Wrong(msg + f": the check would not flag them (needs at least {need}); make them "
                "closer to training images than the nearest 1% of held-out images are")


@exercise("03.2", "Which epoch covers the held-out images best?", "quick",
          "an integer: the epoch with the lowest distance score at the largest sample count")
def _ex03_2(answer, run, epochs):
    e = _integer(answer, "an integer (an epoch, 1 = the first)")
    keys = sorted((k for k in epochs[0] if k.startswith("nnd_")),
                  key=lambda k: int(k[4:].replace("k", "000")))
    key = keys[-1]
    best = min(epochs, key=lambda r: r[key])
    by_fd = min(epochs, key=lambda r: r["fd"])
    nums = [r["epoch"] for r in epochs]
    if e not in nums:
        raise Wrong(f"there is no epoch {e}; the run has epochs {nums[0]}..{nums[-1]}")
    if e == best["epoch"]:
        agree = "the same epoch" if by_fd["epoch"] == e else f"epoch {by_fd['epoch']}"
        return (f"epoch {e}: {key} = {best[key]:.3f}; the Fréchet distance picks {agree}")
    if e == by_fd["epoch"]:
        raise Wrong(f"epoch {e} is the one the Fréchet distance picks; the distance score "
                    f"({key}) is lowest at another")
    mine = next(r for r in epochs if r["epoch"] == e)
    raise Wrong(f"epoch {e} has {key} = {mine[key]:.3f}; another epoch is lower "
                f"({best[key]:.3f})")


# =================================================================== 04 deduplication
@exercise("04.1", "An autoencoder without noise and dropout", "practice",
          "a DedupAutoencoder with noise_std=0 and dropout=0, trained")
def _ex04_1(answer, run, held_u8, planted, paper_model):
    from .. import dedup
    if not isinstance(answer, dedup.DedupAutoencoder):
        raise Wrong(f"the answer should be a DedupAutoencoder, got {type(answer).__name__}")
    c, p = answer.config, paper_model.config
    if c["noise_std"] != 0 or c["dropout"] != 0:
        raise Wrong(f"it has noise_std={c['noise_std']}, dropout={c['dropout']}; set both to 0")
    other = [k for k in c if k not in ("noise_std", "dropout") and c[k] != p[k]]
    if other:
        raise Wrong("change only noise_std and dropout; you also changed "
                    + ", ".join(f"{k}={c[k]!r}" for k in other))
    x = held_u8[:1000]
    with torch.no_grad():
        answer.eval()
        err = float(((answer(answer.prepare(x)) - answer.prepare(x)) ** 2).mean())
        fresh = dedup.DedupAutoencoder(**c)
        fresh.mean.copy_(answer.mean)
        err0 = float(((fresh(fresh.prepare(x)) - fresh.prepare(x)) ** 2).mean())
    if not err < 0.8 * err0:
        raise Wrong(f"it reconstructs held-out images no better than an untrained one (MSE "
                    f"{err:.4f} vs {err0:.4f}): train it with dedup.train_autoencoder")
    use, use0 = (dedup.code_usage(m.codes(held_u8[:5000])) for m in (answer, paper_model))
    r = {row["method"]: row for row in dedup.sweep(planted, {"yours": (answer.keys, [0]),
                                                             "paper": (paper_model.keys, [0])})}
    return (f"without de-noising: {use['dead']} dead and {use['stuck']} stuck bits, "
            f"{use['distinct_codes']:,} distinct codes of {use['images']:,} (paper model: "
            f"{use0['dead']}, {use0['stuck']}, {use0['distinct_codes']:,}); planted pair recall "
            f"at t=0 {r['yours']['recall']:.3f} (paper model {r['paper']['recall']:.3f}), "
            f"false share {r['yours']['false_share']:.4f} ({r['paper']['false_share']:.4f})")


@exercise("04.2", "Catch the shifted copies", "open-ended",
          "a pair (key function, t): keys of a batch of images, and the bits allowed to differ")
def _ex04_2(answer, run, planted):
    from .. import dedup
    s = sizes("04", run)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Wrong("the answer should be a pair (key_fn, t)")
    key_fn, t = answer
    if not callable(key_fn):
        raise Wrong(f"the first item should be a key function, got {type(key_fn).__name__}")
    t = _integer(t, "an integer t >= 0")
    if not 0 <= t <= 64:
        raise Wrong(f"t should be between 0 and 64, got {t}")
    try:
        row = dedup.sweep(planted, {"yours": (key_fn, [t])})[0]
    except Wrong:
        raise
    except Exception as e:
        raise Wrong(f"hashing with your key function at t={t} failed ({type(e).__name__}: "
                    f"{e}); for t > 0 keys must be bit codes, an (N, bytes) uint8 array") \
            from None
    kind = s["kind"]
    rec, fpr = row[f"recall_{kind}"], row["pair_fpr"]
    msg = (f"t={t}: recall of the {kind} copies {rec:.3f}, pair FPR {fpr:.2g} (all copies: "
           f"recall {row['recall']:.3f}, precision {row['precision']:.3f})")
    if rec >= s["min_recall"] and fpr <= s["max_fpr"]:
        return msg
    need = [f"recall >= {s['min_recall']}"] if rec < s["min_recall"] else []
    need += [f"pair FPR <= {s['max_fpr']:g}"] if fpr > s["max_fpr"] else []
    raise Wrong(msg + "; needs " + " and ".join(need))


# =================================================================== 05 classification
@exercise("05.1", "How long is the feature vector?", "quick",
          "an integer: the feature dimensions of a width-32 discriminator on 32x32 grey images")
def _ex05_1(answer):
    from .. import features
    from ..models import Discriminator
    n = _integer(answer, "an integer (a number of dimensions)")
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
    if not callable(answer):
        raise Wrong(f"the answer should be a function (lambda maps: ...), got "
                    f"{type(answer).__name__}")
    g = torch.Generator().manual_seed(5)
    for h in (16, 8, 4):
        maps = torch.randn(3, 5, h, h, generator=g)
        ref = F.adaptive_max_pool2d(maps, 4).flatten(1)
        out = _call(answer, maps.clone())
        if not isinstance(out, torch.Tensor):
            raise Wrong(f"it returns {type(out).__name__}, not a tensor")
        if tuple(out.shape) != tuple(ref.shape):
            raise Wrong(f"on maps of {tuple(maps.shape)} it returns {tuple(out.shape)}, not "
                        f"{tuple(ref.shape)}: pool each map to a 4x4 grid, then flatten")
        if not _close(out, ref):
            if _close(out, F.adaptive_avg_pool2d(maps, 4).flatten(1)):
                raise Wrong("that is average pooling; section 5 max-pools")
            raise Wrong(f"on {h}x{h} maps it differs from max-pooling each map to 4x4")
    return "max-pooled to a 4x4 grid and flattened, for 16x16, 8x8 and 4x4 maps alike"


@exercise("05.3", "With ten labels per class", "practice",
          '{"raw pixels": test error %, "our D": test error %} with k labels per class')
def _ex05_3(answer, run, splits, D, bn_images, probe, batch_size, chapter_errors):
    from .. import features
    k = sizes("05", run)["k"]
    a = _dict(answer, ("raw pixels", "our D"))
    mine = {name: _number(a[name], f"a test error in percent ({name})") for name in a}
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


# ===================================================================== 06 latent walk
@exercise("06.1", "How long is the midpoint?", "quick",
          "a number: the midpoint's length over the endpoints' mean length, on straight lines "
          "between random z")
def _ex06_1(answer, run, G):
    from ..latent import seeded_z
    a = _number(answer, "a number (a ratio of norms)")
    n = sizes("06", run)["pairs"]
    z0, z1 = seeded_z(G, n, 1001), seeded_z(G, n, 1002)
    ref = float(((z0 + z1) / 2).norm(dim=1).div((z0.norm(dim=1) + z1.norm(dim=1)) / 2).mean())
    if abs(a - ref) <= 0.02:
        return (f"{ref:.3f}: two random z in {z0.shape[1]} dimensions are nearly orthogonal, so "
                f"the midpoint is about 1/sqrt(2) as long; the walk passes nearer the origin "
                "than any sample")
    if abs(a - 1) <= 0.02:
        raise Wrong("1 is the spherical walk's (it keeps the norm); a straight line is shorter "
                    "in the middle")
    if abs(a - 0.5) <= 0.02:
        raise Wrong("half would need z0 and z1 to point opposite ways; random z in high "
                    "dimensions are nearly orthogonal")
    raise Wrong(f"{a:.3f}; measure it: mean of |(z0 + z1) / 2| / ((|z0| + |z1|) / 2) over many "
                "pairs of G's z")


@exercise("06.2", "Spherical interpolation, as a function", "quick",
          "a function slerp(z0, z1, t) of two vectors (nz,) and a number t in [0, 1]")
def _ex06_2(answer):
    from ..latent import lerp, slerp
    if not callable(answer):
        raise Wrong(f"the answer should be a function (lambda z0, z1, t: ...), got "
                    f"{type(answer).__name__}")
    g = torch.Generator().manual_seed(6)
    z0 = torch.randn(100, generator=g, dtype=torch.float64)
    z1 = 1.3 * torch.randn(100, generator=g, dtype=torch.float64)
    omega = torch.arccos(torch.dot(z0 / z0.norm(), z1 / z1.norm()))
    classic = lambda t: (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) \
        / torch.sin(omega)  # noqa: E731
    ts = (0.0, 0.3, 0.5, 0.8, 1.0)
    outs = []
    for t in ts:
        out = _call(answer, z0.clone(), z1.clone(), t)
        out = torch.as_tensor(out, dtype=torch.float64).reshape(-1)
        if out.shape != z0.shape:
            raise Wrong(f"at t={t} it returns {tuple(out.shape)} values, not {tuple(z0.shape)}")
        outs.append(out)
    lib = [slerp(z0, z1, t).reshape(-1) for t in ts]
    cla = [classic(torch.tensor(t, dtype=torch.float64)) for t in ts]
    if all(_close(o, r) for o, r in zip(outs, lib)) or all(_close(o, r) for o, r in zip(outs, cla)):
        return ("along the great circle at constant angular speed; the midpoint keeps the "
                "endpoints' length (the straight line's is about 0.71 of it)")
    if not (_close(outs[0], z0) and _close(outs[-1], z1)):
        raise Wrong("at t=0 it should return z0 and at t=1 z1")
    if all(_close(o, lerp(z0, z1, t).reshape(-1)) for o, t in zip(outs, ts)):
        raise Wrong("that is linear interpolation: its midpoint is about 0.71 as long as the "
                    "endpoints")
    straight = [lerp(z0, z1, t).reshape(-1) for t in ts]
    if all(_close(o / o.norm(), s / s.norm()) for o, s in zip(outs, straight)):
        raise Wrong("that points along the straight line (a normalised lerp): not constant "
                    "angular speed; weight z0 and z1 by sin((1 - t) w) / sin w and sin(t w) / "
                    "sin w")
    raise Wrong("it leaves the great circle between z0 and z1: use w = arccos(u0 . u1) of the "
                "unit vectors and sin((1 - t) w) / sin w, sin(t w) / sin w as weights")


# ================================================================= 07 guided backprop
@exercise("07.1", "Guided backpropagation by hand", "quick",
          "four numbers: the gradient guided backpropagation passes to the ReLU's input")
def _ex07_1(answer):
    from ..guided import guided
    v = _vector(answer, 4, "four numbers (a list or tensor)")
    x = torch.tensor([-1.0, 2.0, 3.0, -0.5], requires_grad=True)
    g = torch.tensor([1.0, -1.0, 2.0, 3.0])
    act = torch.nn.Sequential(torch.nn.ReLU())
    with guided(act):
        (act(x) * g).sum().backward()
    ref = x.grad.double()
    if _close(v, ref):
        return (f"{[round(u, 3) for u in ref.tolist()]}: a gradient passes only where the input "
                "was positive (forward rule) and the gradient itself is positive (deconvnet rule)")
    plain = g * (x.detach() > 0)
    if _close(v, plain):
        raise Wrong("that is the plain gradient; guided backpropagation also stops the negative "
                    "gradients")
    if _close(v, g.clamp(min=0)):
        raise Wrong("that is the deconvnet rule (negative gradients stopped, input ignored); "
                    "guided backpropagation also stops where the input was negative")
    raise Wrong(f"{v.tolist()}: apply both rules to x = {x.tolist()}, incoming gradient "
                f"{g.tolist()}")


@exercise("07.2", "The feature that looks at the object most", "open-ended",
          "an integer: a channel of the last conv layer")
def _ex07_2(answer, run, study, k):
    from .. import guided as gd
    c = _integer(answer, "an integer (a channel index)")
    D, images, masks = study["D"], study["images"], study.get("masks")
    layer = gd.last_conv_layer(D)
    was = D.training
    with torch.no_grad():
        n_ch = gd.block_output(D.eval(), images[:2], layer).shape[1]
    D.train(was)
    if not 0 <= c < n_ch:
        raise Wrong(f"channel {c} does not exist; the last conv layer has channels 0..{n_ch - 1}")
    resp = gd.max_responses(D, images, layer, channels=range(n_ch), k=k)
    maps = torch.cat([gd.guided_backprop(D, images, resp[i:i + 512], layer)
                      for i in range(0, len(resp), 512)])
    if masks is not None:
        what = "ratio"
        values = gd.mass_inside(maps, masks[[r.image for r in resp]])["ratio"]
    else:
        what = "top_share"
        values = gd.top_share(maps)
    score = gd.per_channel(values, resp)
    best = max(score.values())
    better = sum(v > score[c] for v in score.values())
    shown = max(score[i] for i in range(min(6, n_ch)))
    if score[c] >= sizes("07", run)["top"] * best:
        return (f"channel {c}: {what} {score[c]:.3f}, the highest of the {n_ch} channels "
                f"(the first 6, shown in the figure: at most {shown:.3f})")
    raise Wrong(f"channel {c}: {what} {score[c]:.3f}; {better} of the {n_ch} channels are higher "
                f"(the best reaches {best:.3f})")


# ===================================================================== 08 forgetting
def _boxed_ratio(G, z, layer, channels, before, masks, idx) -> float:
    from ..surgery import generate_pair, region_change
    _, after = generate_pair(G, z, layer, channels, batch_size=len(z))
    return region_change(before[idx], after[idx], masks[idx])["ratio"]


def _n_maps(G, layer: int) -> int:
    from ..models import activations
    was = G.training
    with torch.no_grad(), activations(G, [layer]) as acts:
        G.eval()(G.sample_z(2))
    G.train(was)
    return acts[layer].shape[1]


@exercise("08.1", "Forget with fewer maps", "open-ended",
          "a list of channels, at most half as many as the regression dropped")
def _ex08_1(answer, run, G, z, layer, drop, before, masks, boxed):
    chans = _vector(answer, None, "a list of channel indices")
    chans = [int(c) for c in chans.tolist()]
    if len(set(chans)) != len(chans):
        raise Wrong("a channel appears twice")
    budget = max(1, len(drop) // 2)
    if not chans:
        raise Wrong("the list is empty")
    if len(chans) > budget:
        raise Wrong(f"{len(chans)} maps; use at most {budget} (half of the {len(drop)} the "
                    "regression dropped)")
    full = _boxed_ratio(G, z, layer, drop, before, masks, boxed)
    n_maps = _n_maps(G, layer)
    if min(chans) < 0 or max(chans) >= n_maps:
        raise Wrong(f"channels run from 0 to {n_maps - 1} in this layer")
    mine = _boxed_ratio(G, z, layer, chans, before, masks, boxed)
    need = sizes("08", run)["keep"] * full
    msg = (f"{len(chans)} maps give an inside/outside change ratio of {mine:.2f}, the "
           f"{len(drop)} of the regression {full:.2f}")
    if mine >= need:
        return msg
    raise Wrong(msg + f"; needs at least {need:.2f}")


@exercise("08.2", "Drop the maps the regression likes least", "quick",
          '{"prediction": "more" | "less" | "same" (inside the boxes, than random maps), '
          '"ratio": the measured inside/outside ratio}')
def _ex08_2(answer, run, G, z, layer, clf, drop, control, before, masks, boxed):
    a = _dict(answer, ("prediction", "ratio"))
    pred = _choice(a["prediction"], ("more", "less", "same"), "prediction")
    r = _number(a["ratio"], "a number (the inside/outside ratio)")
    w = np.asarray(clf.coef_).reshape(-1)
    neg = [int(c) for c in np.argsort(w, kind="stable")[:len(drop)]]
    ref = _boxed_ratio(G, z, layer, neg, before, masks, boxed)
    ctrl = _boxed_ratio(G, z, layer, control, before, masks, boxed)
    if abs(r - ref) > 1e-3 * max(1.0, abs(ref)):
        raise Wrong(f"your ratio {r:.4f} is not what dropping the {len(drop)} maps with the most "
                    f"negative weights gives on the boxed samples ({ref:.4f})")
    outcome = "more" if ref > 1.1 * ctrl else "less" if ref < ctrl / 1.1 else "same"
    said = "as you predicted" if pred == outcome else f"you predicted {pred}"
    how = {"more": "more of the change inside the boxes than", "less": "less of the change "
           "inside the boxes than", "same": "about as much of the change inside the boxes as"}
    return (f"ratio {ref:.2f} against {ctrl:.2f} for as many random maps: {how[outcome]} random "
            f"maps ({said})")


# ============================================================== 09 vector arithmetic
def sleeve_length(images: torch.Tensor) -> np.ndarray:
    """Exercise 09.1's measure of sleeve length: the mean intensity, in [0, 1], of two bands
    beside the torso in the lower part of each image (rows 40-87% of the height, columns
    3-19% and 81-97% of the width), where long sleeves hang and short ones leave background.
    (N, C, H, W) in [-1, 1] -> (N,)."""
    x = images.float().mean(1) * 0.5 + 0.5
    h, w = x.shape[-2:]
    r0, r1 = round(0.40 * h), round(0.87 * h)
    left = x[:, r0:r1, round(0.03 * w):round(0.19 * w)]
    right = x[:, r0:r1, round(0.81 * w):round(0.97 * w)]
    return torch.cat([left.flatten(1), right.flatten(1)], 1).mean(1).numpy()


TOPS = (0, 2, 4, 6)          # Fashion-MNIST's T-shirt/top, pullover, coat, shirt
LONG_SLEEVED = (2, 4, 6)     # pullover, coat, shirt
T_SHIRT = 0


@exercise("09.1", "A direction that lengthens sleeves", "open-ended",
          "a direction d in z, a tensor of shape (nz,)")
def _ex09_1(answer, run, G, classifier, context):
    from ..latent import decode, seeded_z
    s = sizes("09", run)
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"the answer should be a tensor of shape ({G.nz},), got "
                    f"{type(answer).__name__}")
    d = answer.detach().float().reshape(-1)
    if d.numel() != G.nz:
        raise Wrong(f"z has {G.nz} dimensions, your direction {d.numel()}")
    if s["by_class"] and classifier is None:
        raise TypeError("exercise 09.1 needs the classifier in this profile")
    z = seeded_z(G, s["check_samples"], run.seed + 99_991)     # held out: no cell draws these
    typical = float(z.norm(dim=1).median())
    if not 0 < d.norm() <= typical:
        raise Wrong(f"|d| = {d.norm():.2f}; use a direction no longer than a typical z "
                    f"({typical:.2f}), else it changes everything")
    x0 = decode(G, z, context=context)
    start = np.ones(len(z), bool)
    if s["by_class"]:
        with torch.no_grad():
            start = classifier(x0).argmax(1).numpy() == T_SHIRT
    if start.sum() < 4:
        raise Wrong("too few held-out samples to judge")
    z, x0 = z[start], x0[start]
    base = sleeve_length(x0)
    x1 = decode(G, z + d, context=context)
    delta = sleeve_length(x1) - base
    g = torch.Generator().manual_seed(run.seed + 7)
    rand = []
    for _ in range(s["random_dirs"]):
        r = torch.randn(G.nz, generator=g)
        rand.append(float((sleeve_length(decode(G, z + r * d.norm() / r.norm(),
                                                context=context)) - base).mean()))
    mu, sd = float(np.mean(rand)), float(np.std(rand))
    up = float((delta > 0).mean())
    what = "T-shirts" if s["by_class"] else "samples"
    msg = (f"sleeve bands {delta.mean():+.3g} brighter on {100 * up:.0f}% of {len(z)} held-out "
           f"{what} (random directions of the same length: {mu:+.3g} +- {sd:.3g})")
    if s["by_class"]:
        with torch.no_grad():
            after = classifier(x1).argmax(1).numpy()
        long_ = float(np.isin(after, LONG_SLEEVED).mean())
        top = float(np.isin(after, TOPS).mean())
        msg += (f", {100 * long_:.0f}% then long-sleeved tops (pullover, coat, shirt), "
                f"{100 * top:.0f}% tops")
    if delta.mean() < mu - s["sigmas"] * sd:
        raise Wrong(msg + ": your direction shortens sleeves; turn it round (-d)")
    if delta.mean() <= mu + s["sigmas"] * sd:
        raise Wrong(msg + f": not more than a random direction does (needs {s['sigmas']:g} "
                    "spreads above it)")
    if up < s["min_up"]:
        raise Wrong(msg + f": too few samples move the intended way (needs {s['min_up']:.0%})")
    if s["by_class"] and long_ < s["min_long"]:
        raise Wrong(msg + f": too few become long-sleeved tops (needs {s['min_long']:.0%}); "
                    "what else fills the sides of an image?")
    return msg


@exercise("09.2", "Beyond the figure's range: alpha = 2", "quick",
          "a number: the share of samples whose class at alpha = 2 is their class at alpha = 0")
def _ex09_2(answer, run, G, d, z, context, classifier):
    from ..latent import decode
    if classifier is None:
        raise Wrong("this exercise needs the chapter's classifier (the cpu and smoke profiles)")
    a = _number(answer, "a number (a share, 0 to 1)")
    if a > 1:
        raise Wrong("a share is between 0 and 1 (not a percentage)")
    with torch.no_grad():
        cls = {alpha: classifier(decode(G, z + alpha * d, context=context)).argmax(1)
               for alpha in (0.0, 1.0, 2.0)}
    shares = {alpha: float((cls[alpha] == cls[0.0]).float().mean()) for alpha in (1.0, 2.0)}
    ref, tol = shares[2.0], 1 / len(z) + 1e-9
    if abs(a - ref) <= tol:
        trend = ("more than" if ref > shares[1.0] else "fewer than" if ref < shares[1.0]
                 else "as many as")
        return (f"{ref:.3f} of {len(z)} samples keep their class at alpha = 2, {trend} at "
                f"alpha = 1 ({shares[1.0]:.3f})")
    if abs(a - shares[1.0]) <= tol and abs(shares[1.0] - ref) > tol:
        raise Wrong("that is the share at alpha = 1; move the samples by 2 d")
    raise Wrong(f"{a:.3f}; the check measures {ref:.3f} (classify z and z + 2 d decoded with "
                "the chapter's context)")


# =================================================================== 10 conditional
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
    a = _number(answer, "a number (a test error in percent)")
    xs, ys, k = _per_class_subset(x_train, y_train, sizes("10", run)["per_class"])
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
    c = _integer(answer, "an integer (a class)")
    ny = int(y_train.max()) + 1
    if not 0 <= c < ny:
        raise Wrong(f"there is no class {c}; classes are 0..{ny - 1}")
    n = sizes("10", run)["samples"] * ny
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
