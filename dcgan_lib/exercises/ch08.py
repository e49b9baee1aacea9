"""The exercises of chapter 08, forgetting to draw an object (paper section 6.3.1, figure 6).

Their checks, each beside its exercise's title and answer: forgetting with fewer maps, dropping
the maps the regression likes least. Students call them through
:func:`dcgan_lib.exercises.check` (``exercises.check("08.1", answer, ...)``); :data:`SIZES` is
what the solution cells run and the checks expect, per profile."""
from __future__ import annotations

import numpy as np
import torch

from .base import Wrong, choice, exercise, mapping, number, sizes_for, vector

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(keep=0.9), cpu=dict(keep=0.9), full=dict(keep=0.9), tiny=dict())


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
    chans = vector(answer, None, "a list of channel indices")
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
    need = sizes_for(SIZES, run)["keep"] * full
    msg = (f"{len(chans)} maps give an inside/outside change ratio of {mine:.2f}, the "
           f"{len(drop)} of the regression {full:.2f}")
    if mine >= need:
        return msg
    raise Wrong(msg + f"; needs at least {need:.2f}")


@exercise("08.2", "Drop the maps the regression likes least", "quick",
          '{"prediction": "more" | "less" | "same" (inside the boxes, than random maps), '
          '"ratio": the measured inside/outside ratio}')
def _ex08_2(answer, run, G, z, layer, clf, drop, control, before, masks, boxed):
    a = mapping(answer, ("prediction", "ratio"))
    pred = choice(a["prediction"], ("more", "less", "same"), "prediction")
    r = number(a["ratio"], "a number (the inside/outside ratio)")
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


EXERCISES = (_ex08_1, _ex08_2)
