"""The exercises of chapter 04, de-duplication by semantic hashing (paper section 4.1.1).

Their checks, each beside its exercise's title and answer: an autoencoder without noise and
dropout, catching shifted copies. Students call them through :func:`dcgan_lib.exercises.check`
(``exercises.check("04.1", answer, ...)``); :data:`SIZES` is what the solution cells run and the
checks expect, per profile."""
from __future__ import annotations

import torch

from .base import Wrong, exercise, integer, sizes_for

# "tiny" values replace the profile's at scale="tiny" (CI's full profile on fixture data)
SIZES = dict(smoke=dict(ae_images=512, ae_epochs=5, kind="shift", t=8, min_recall=0.5,
                        max_fpr=0.01),
             cpu=dict(ae_images=20000, ae_epochs=2, kind="shift", t=8, min_recall=0.9,
                      max_fpr=0.001),
             full=dict(ae_images=50000, ae_epochs=2, kind="shift", t=8, min_recall=0.9,
                       max_fpr=0.001),
             tiny=dict(ae_images=32, min_recall=0.0, max_fpr=1.0))


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
    s = sizes_for(SIZES, run)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Wrong("the answer should be a pair (key_fn, t)")
    key_fn, t = answer
    if not callable(key_fn):
        raise Wrong(f"the first item should be a key function, got {type(key_fn).__name__}")
    t = integer(t, "an integer t >= 0")
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


EXERCISES = (_ex04_1, _ex04_2)
