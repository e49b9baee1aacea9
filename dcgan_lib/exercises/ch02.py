"""The exercises of chapter 02, adversarial training (paper section 4).

Their checks, each beside its exercise's title and answer: beta1 = 0.9, the generator's loss on
logits, beating the recipe after one epoch. Students call them through
:func:`dcgan_lib.exercises.check` (``exercises.check("02.1", answer, ...)``); :data:`SIZES` is
what the solution cells run and the checks expect, per profile."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .base import Wrong, call, choice, close, exercise, function, mapping, sizes_for

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(steps=10), cpu=dict(steps=200), full=dict(steps=200),
             tiny=dict(steps=4))


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
    n = sizes_for(SIZES, run)["steps"]
    a = mapping(answer, ("prediction", "run"))
    pred = choice(a["prediction"], ("higher", "lower", "same"), "prediction")
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
    function(answer, "lambda logits: ...")
    logits = torch.tensor([-8.0, -3.0, -0.5, 0.0, 1.5, 4.0], dtype=torch.float64)
    x = logits.clone().requires_grad_(True)
    out = call(answer, x)
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
    if close(val, ref) and grad is not None and close(grad, ref_grad):
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
        if close(val, value):
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


EXERCISES = (_ex02_1, _ex02_2, _ex02_3)
