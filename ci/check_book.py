#!/usr/bin/env python
"""Check the committed book's outputs: stale outputs, dirty or missing stamps, machine paths.

    python ci/check_book.py            # every chapter; exit 1 on a problem not excused below
    python ci/check_book.py --all      # also list the problems of the excused chapters

A chapter is *stale* when the commit its outputs are stamped with had another chapter source
than the one beside it now; *dirty* when its stamp says ``+dirty`` (or it has none); and it
prints *machine paths* when an output shows a path of the machine that ran it. The checks are
:mod:`dcgan_lib.provenance`'s; ``tests/test_provenance.py`` runs this script's
:func:`report` in the default test suite.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dcgan_lib import provenance  # noqa: E402

# Chapters whose committed outputs are known to fail these checks and are awaiting
# re-publication with `ci/run_book.py --profile cpu --only <chapter> --publish`. The only place
# that excuses a chapter: it must shrink to empty, and a chapter listed here that passes
# every check is an error (take it off the list).
# 10_conditional: rewritten for real MNIST, 2 trained models per row and the 10m stage (issues
# 24, 25); its cpu run (both steps, about 2 h) is pending.
# 06_latent_walk, 09_vector_arithmetic: issue 25's measured baselines (the look-up table
# walked between non-anchor points; random directions for figure 8, and its class-kept part as
# the claim fig8-kept); their cpu runs need chapter 02's cpu model (about an hour), pending.
AWAITING_REPUBLICATION: set[str] = set()


def report(repo: Path = REPO, excused: set[str] | None = None
           ) -> tuple[list[provenance.Problem], dict[str, list[provenance.Problem]], list[str]]:
    """``(failures, excused problems by chapter, errors)``: problems of chapters not excused;
    problems of excused chapters; and excused chapters that pass (must leave the list) or
    that do not exist."""
    excused = AWAITING_REPUBLICATION if excused is None else excused
    found = provenance.check_book(repo)
    failures = [p for ch, ps in found.items() if ch not in excused for p in ps]
    waiting = {ch: ps for ch, ps in found.items() if ch in excused}
    errors = [f"{ch} is listed in AWAITING_REPUBLICATION but passes every check: take it off"
              for ch, ps in waiting.items() if not ps]
    errors += [f"{ch} is listed in AWAITING_REPUBLICATION but there is no book/{ch}.ipynb"
               for ch in sorted(excused - set(found))]
    return failures, waiting, errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--all", action="store_true", help="list the excused chapters' problems too")
    args = ap.parse_args(argv)
    failures, waiting, errors = report()
    for p in failures:
        print(f"FAIL {p}")
    for e in errors:
        print(f"FAIL {e}")
    for ch, ps in waiting.items():
        kinds = sorted({p.kind for p in ps})
        print(f"awaiting re-publication: {ch} ({', '.join(kinds) or 'passes'})")
        if args.all:
            for p in ps:
                print(f"    {p}")
    ok = not failures and not errors
    print("check_book: " + ("ok" if ok else "FAILED")
          + (f" ({len(waiting)} chapters excused as awaiting re-publication)" if waiting else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
