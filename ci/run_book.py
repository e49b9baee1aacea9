#!/usr/bin/env python
"""Run the book headless with papermill in one profile and print a summary table.

    python ci/run_book.py --profile smoke            # every chapter, a few minutes on CPU
    python ci/run_book.py --profile cpu --only 02_training --publish

Executed notebooks go to results/<profile>/<chapter>.ipynb; each chapter writes its figures,
tables and metrics.json to results/<profile>/<chapter>/. ``--publish`` copies the outputs of a
successful run into book/<chapter>.ipynb (after checking that its cells are the same as
book/<chapter>.py's), which is how the committed outputs are made: never by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"
# chapters run once per value of one parameter; outputs of the first value are published
PER_RUN = {"03_datasets": ("dataset", {"smoke": ["lsun"], "cpu": ["lsun", "imagenet32"],
                                       "full": ["lsun", "celeba", "imagenet32"]})}


def chapters(only: list[str] | None) -> list[Path]:
    nbs = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = set(only)
        nbs = [p for p in nbs if p.stem in wanted or p.stem.split("_")[0] in wanted]
        missing = wanted - {p.stem for p in nbs} - {p.stem.split("_")[0] for p in nbs}
        if missing:
            raise SystemExit(f"--only: no chapter named {sorted(missing)} in {BOOK}")
    return nbs


def same_cells(a, b) -> bool:
    src = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    return src(a) == src(b)


def publish(executed: Path, chapter: Path) -> None:
    """Copy the outputs of ``executed`` into the paired notebook ``chapter``."""
    import jupytext
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    paired = jupytext.read(chapter.with_suffix(".py"))
    if not same_cells(nb, paired):
        raise SystemExit(f"{executed} and {chapter.with_suffix('.py')} differ in their cells; "
                         "re-run after `jupytext --update --to ipynb` of the chapter")
    for c in nb.cells:
        c.metadata.pop("papermill", None)
        c.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    old = nbformat.read(chapter, as_version=4)
    nb.metadata["jupytext"] = old.metadata.get("jupytext", {})
    nb.metadata["kernelspec"] = old.metadata.get("kernelspec", nb.metadata.get("kernelspec"))
    nbformat.write(nb, chapter)
    print(f"published outputs of {executed} into {chapter}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", choices=("smoke", "cpu", "full"), default="smoke")
    ap.add_argument("--only", nargs="*", help="chapters to run (e.g. 02_training or 02)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default="", help="data folder (default $DCGAN_DATA or "
                    "~/.cache/dcgan_lib/data)")
    ap.add_argument("--results", default=str(REPO / "results"))
    ap.add_argument("--timeout", type=int, default=None,
                    help="seconds allowed for one cell (default: none)")
    ap.add_argument("--publish", action="store_true",
                    help="copy outputs of successful runs into book/*.ipynb")
    ap.add_argument("--kernel", default="python3")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="extra chapter parameter (e.g. dataset=imagenet32); replaces the "
                         "per-dataset loop of 03_datasets")
    args = ap.parse_args(argv)
    extra = {}
    for kv in args.param:
        if "=" not in kv:
            raise SystemExit(f"--param {kv!r}: write KEY=VALUE")
        k, v = kv.split("=", 1)
        extra[k] = v

    import papermill as pm

    os.environ.pop("DCGAN_PROFILE", None)  # the profile comes from --profile here
    out_dir = Path(args.results) / args.profile
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, failed = [], 0
    jobs = []
    for nb in chapters(args.only):
        key, values = PER_RUN.get(nb.stem, (None, {}))
        vals = values.get(args.profile, [None]) if key and key not in extra else [None]
        jobs += [(nb, key, v, i == 0) for i, v in enumerate(vals)]
    for nb, key, value, first in jobs:
        name = nb.stem if value is None else f"{nb.stem}-{value}"
        out = out_dir / f"{name}.ipynb"
        params = dict(profile=args.profile, seed=args.seed, data_root=args.data_root,
                      results_dir=args.results, **extra)
        if value is not None:
            params[key] = value
        t0 = time.perf_counter()
        status = "ok"
        print(f"== {name} ({args.profile}) -> {out}", flush=True)
        try:
            pm.execute_notebook(
                str(nb), str(out), kernel_name=args.kernel, cwd=str(REPO),
                parameters=params, execution_timeout=args.timeout, progress_bar=False)
        except Exception as err:  # papermill raises PapermillExecutionError with the cell
            status = f"FAILED: {type(err).__name__}"
            failed += 1
            print(str(err)[-3000:], file=sys.stderr)
        secs = time.perf_counter() - t0
        sub = params.get(key or "", "") if key or extra else ""
        mpath = out_dir / nb.stem / str(sub or "") / "metrics.json"
        metrics = json.loads(mpath.read_text()) if mpath.exists() and status == "ok" else {}
        keep = {k: v for k, v in metrics.items()
                if k not in ("chapter", "profile", "seed", "revision", "checkpoint")}
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in list(keep.items())[:6])
        rows.append((name, status, f"{secs:.0f}s", shown))
        if status == "ok" and args.publish and first:
            publish(out, nb)
    w = [max(len(r[i]) for r in rows + [("chapter", "status", "time", "")]) for i in range(3)]
    print(f"\nSummary: profile={args.profile} seed={args.seed} results={out_dir}")
    print(f"{'chapter':<{w[0]}}  {'status':<{w[1]}}  {'time':>{w[2]}}  metrics")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:>{w[2]}}  {r[3]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
