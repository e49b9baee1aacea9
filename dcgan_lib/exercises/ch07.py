"""The exercises of chapter 07, what the discriminator's features respond to
(paper section 6.2, figure 5).

Their checks, each beside its exercise's title and answer: guided backpropagation by hand, the
feature that looks at the object most. Students call them through
:func:`dcgan_lib.exercises.check` (``exercises.check("07.1", answer, ...)``); :data:`SIZES` is
what the solution cells run and the checks expect, per profile."""
from __future__ import annotations

import torch

from .base import Wrong, close, exercise, integer, sizes_for, vector

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(top=0.98), cpu=dict(top=0.98), full=dict(top=0.98), tiny=dict())


@exercise("07.1", "Guided backpropagation by hand", "quick",
          "four numbers: the gradient guided backpropagation passes to the ReLU's input")
def _ex07_1(answer):
    from ..guided import guided
    v = vector(answer, 4, "four numbers (a list or tensor)")
    x = torch.tensor([-1.0, 2.0, 3.0, -0.5], requires_grad=True)
    g = torch.tensor([1.0, -1.0, 2.0, 3.0])
    act = torch.nn.Sequential(torch.nn.ReLU())
    with guided(act):
        (act(x) * g).sum().backward()
    ref = x.grad.double()
    if close(v, ref):
        return (f"{[round(u, 3) for u in ref.tolist()]}: a gradient passes only where the input "
                "was positive (forward rule) and the gradient itself is positive (deconvnet rule)")
    plain = g * (x.detach() > 0)
    if close(v, plain):
        raise Wrong("that is the plain gradient; guided backpropagation also stops the negative "
                    "gradients")
    if close(v, g.clamp(min=0)):
        raise Wrong("that is the deconvnet rule (negative gradients stopped, input ignored); "
                    "guided backpropagation also stops where the input was negative")
    raise Wrong(f"{v.tolist()}: apply both rules to x = {x.tolist()}, incoming gradient "
                f"{g.tolist()}")


@exercise("07.2", "The feature that looks at the object most", "open-ended",
          "an integer: a channel of the last conv layer")
def _ex07_2(answer, run, study, k):
    from .. import guided as gd
    c = integer(answer, "an integer (a channel index)")
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
    if score[c] >= sizes_for(SIZES, run)["top"] * best:
        return (f"channel {c}: {what} {score[c]:.3f}, the highest of the {n_ch} channels "
                f"(the first 6, shown in the figure: at most {shown:.3f})")
    raise Wrong(f"channel {c}: {what} {score[c]:.3f}; {better} of the {n_ch} channels are higher "
                f"(the best reaches {best:.3f})")


EXERCISES = (_ex07_1, _ex07_2)
