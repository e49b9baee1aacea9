#!/usr/bin/env python
"""Run the book headless with papermill in one profile and print a summary table.

    python ci/run_book.py --profile smoke            # every chapter, a few minutes on CPU
    python ci/run_book.py --profile cpu --only 02_training --publish
    python ci/run_book.py --profile full --plan      # the chapter graph, data, time estimate
    python ci/run_book.py --profile full --data-root ~/data     # the paper, on a GPU runner
    python ci/run_book.py --profile full --tiny --data-root FIXTURES --results /tmp/r

The steps and their order come from the chapter graph (``dcgan_lib.graph``): a chapter run
once per data set is one step per value (``03_datasets-lsun``, ...), a producer runs before
its consumers, and each consumed artefact (a checkpoint, a box file) is passed to the chapter
as a papermill parameter holding its absolute path under results/<profile>/. When a producer
fails, or an artefact is absent, its consumers are skipped with a message naming it.
``--tiny`` runs every chapter's code path of the profile with tiny sizes (``scale="tiny"``),
as CI does for ``full`` on fixture data (tests/test_full_tiny.py).

Executed notebooks go to results/<profile>/<step>.ipynb; each chapter writes its figures,
tables and metrics.json to results/<profile>/<chapter>/[<dataset>/]. ``--publish`` copies the
outputs of a successful run into book/<chapter>.ipynb (after checking that its cells are the
same as book/<chapter>.py's), which is how the committed outputs are made: never by hand.
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
sys.path.insert(0, str(REPO))

from dcgan_lib import graph  # noqa: E402


class OnlyError(ValueError):
    """``--only`` names no chapter or step of the profile."""


def usage_error(message: str) -> int:
    """A mistake in the command line: one line on stderr, exit status 2."""
    print(f"run_book.py: error: {message}", file=sys.stderr)
    return 2


def select(profile: str, only: list[str] | None, extra: dict) -> list[graph.Step]:
    """The graph's steps of ``profile`` that ``--only`` names (a chapter's name or number
    selects all its steps, a step's name that one); a ``--param`` naming a step's fixed
    parameter (e.g. dataset=imagenet32) keeps one step of that chapter, with the new value."""
    steps = graph.steps(profile)
    if only:
        wanted = set(only)
        names = {n for st in steps for n in (st.name, st.chapter, st.chapter[:2])}
        missing = wanted - names
        if missing:
            raise OnlyError(f"--only: no chapter or step named {sorted(missing)} in the "
                            f"{profile} profile (steps: {', '.join(s.name for s in steps)})")
        steps = [st for st in steps if wanted & {st.name, st.chapter, st.chapter[:2]}]
    out, seen = [], set()
    for st in steps:
        fixed = set(st.params) & set(extra)
        if fixed:
            if st.chapter in seen:
                continue
            seen.add(st.chapter)
            params = {**st.params, **{k: extra[k] for k in fixed}}
            same = [s for s in graph.steps(profile) if s.chapter == st.chapter
                    and s.params == params]   # the graph's step for that value, if any
            st = same[0] if same else graph.Step(
                f"{st.chapter}-{extra[sorted(fixed)[0]]}", st.chapter, params, st.data,
                note="not in the chapter graph: its artefacts are not tracked")
        out.append(st)
    return out


def same_cells(a, b) -> bool:
    src = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    return src(a) == src(b)


def publish(executed: Path, chapter: Path, repo: Path = REPO) -> None:
    """Copy the outputs of ``executed`` into the paired notebook ``chapter``, stamped with the
    commit that ran them (``metadata["dcgan"]``). Refuses (SystemExit) when the outputs are not
    exactly those of a commit: a ``+dirty`` or missing stamp, or uncommitted or later committed
    changes to the chapter or the library (:func:`dcgan_lib.provenance.publish_problems`)."""
    import jupytext
    import nbformat

    from dcgan_lib import provenance

    nb = nbformat.read(executed, as_version=4)
    # papermill carries the input notebook's metadata over: the stamp of the previous
    # publication is not this run's, whose revision its outputs carry
    nb.metadata.pop("dcgan", None)
    full_rev, reasons = provenance.publish_problems(repo, nb, chapter.with_suffix(".py"))
    if reasons:
        raise SystemExit(f"not publishing {executed} into {chapter}:\n  - "
                         + "\n  - ".join(reasons))
    params = nb.metadata.get("papermill", {}).get("parameters", {})
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
    nb.metadata["dcgan"] = {"revision": full_rev, "dirty": False,
                            "profile": params.get("profile", ""), "seed": params.get("seed"),
                            "checked": "chapter and dcgan_lib/ committed and unchanged since "
                                       "this revision (ci/run_book.py --publish)"}
    nbformat.write(nb, chapter)
    print(f"published outputs of {executed} into {chapter} (rev {full_rev[:7]})")


def failure_line(err: Exception) -> str:
    """One line for a chapter that stopped: the error's type and message (a papermill
    execution error's are the chapter's own, with the cell's execution count); the traceback
    stays in the executed notebook under results/<profile>/."""
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename is None:
        ename, evalue = type(err).__name__, str(err)
    first = (str(evalue).strip().splitlines() or [""])[0]
    where = f" (cell [{err.exec_count}])" if getattr(err, "exec_count", None) else ""
    return (f"{ename}: {first[:300]}" if first else ename) + where


def run_steps(steps: list[graph.Step], profile: str, results: Path, base: dict,
              execute, log=print) -> list[dict]:
    """Run ``steps`` in order with ``execute(step, params)`` (raises on failure): each gets
    ``base`` parameters, its fixed ones and the paths of the artefacts it consumes. A step
    whose required artefact's producer failed or was skipped in this run, or which is absent
    on disk, is skipped with a message naming the artefact; an optional artefact is passed
    only when present. Returns one ``{"step", "status", "seconds"}`` per step."""
    rows, bad = [], {}    # bad: artefact -> why it is not there
    for st in steps:
        params = {**base, **st.params}
        why = []
        for param, name in st.consumes.items():
            path = graph.artefact_path(name, profile, results)
            if name in bad:
                why.append(f"needs {name} ({path}), which {bad[name]}")
            elif not path.exists():
                step = graph.producer_step(name, profile)
                why.append(f"needs {name} ({path}), which is absent: run "
                           f"`python ci/run_book.py --profile {profile} --only {step}` first")
            else:
                params[param] = str(path)
        for param, name in st.optional.items():
            path = graph.artefact_path(name, profile, results)
            if path.exists():
                params[param] = str(path)
        t0 = time.perf_counter()
        if why:
            status = "SKIPPED: " + "; ".join(why)
            log(f"== {st.name} ({profile}) {status}")
        else:
            log(f"== {st.name} ({profile})")
            status = "ok"
            try:
                execute(st, params)
            except Exception as err:  # papermill raises PapermillExecutionError with the cell
                status = "FAILED: " + failure_line(err)
                log(f"{st.name} {status}; its traceback is in the executed notebook "
                    f"{results / profile / (st.name + '.ipynb')}", file=sys.stderr)
            if status == "ok":
                lacking = [n for n in st.produces
                           if not graph.artefact_path(n, profile, results).exists()]
                if lacking:
                    status = f"FAILED: did not write {', '.join(lacking)} " \
                             f"({graph.artefact_path(lacking[0], profile, results)})"
        for name in st.produces:
            if status != "ok":
                bad[name] = f"{st.name} did not produce ({status.split(':')[0]})"
        rows.append({"step": st, "status": status, "seconds": time.perf_counter() - t0})
    return rows


def plan(profile: str, steps: list[graph.Step], results: Path, data_root: str,
         svhn_weights: str, device: str | None = None) -> str:
    """The graph of ``steps`` as text: per step the data it reads and whether it is there
    (``dcgan_lib.fetch.check``), the artefacts it consumes and produces and whether they
    exist, and the estimated time of its training passes on ``device`` (default: cuda when
    available, else cpu)."""
    import torch
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    mm = graph.measure_mm_gflops(device)
    lines = [f"Plan: profile {profile}; data root {data_root or '(default)'}; results "
             f"{results / profile}", f"device {device} ({name}): matrix multiply measured at "
             f"{mm:,.0f} GFLOP/s ({'bf16' if device != 'cpu' else 'float32'})", ""]
    status, missing, total = {}, [], 0.0
    for st in steps:
        lines.append(f"{st.name}" + (f"  ({st.note})" if st.note else ""))
        for d in st.data:
            if d not in status:
                status[d] = graph.data_status(d, data_root or None, svhn_weights)
                if not status[d][0]:
                    missing.append(status[d][1])
            lines.append(f"    data      {d}: {'present' if status[d][0] else 'MISSING'}")
        for param, a in list(st.consumes.items()) + list(st.optional.items()):
            path = graph.artefact_path(a, profile, results)
            opt = " (optional; absent: the chapter's stand-in)" if param in st.optional else ""
            lines.append(f"    consumes  {a} -> {param} = {path} "
                         f"[{'present' if path.exists() else 'absent'}]{opt}")
        for a in st.produces:
            path = graph.artefact_path(a, profile, results)
            lines.append(f"    produces  {a}: {graph.ARTEFACTS[a].what[profile]} -> {path} "
                         f"[{'present' if path.exists() else 'absent'}]")
        secs = graph.estimate_seconds(st, mm, min_step_s=graph.GPU_MIN_STEP_S
                                      if device != "cpu" else 0.0)
        total += secs
        lines.append("    estimate  " + (f"{graph.format_duration(secs)} of training passes"
                                          if st.work else "not estimated (no training "
                                          "passes listed in the graph)"))
    lines += ["", f"Estimated time of the training passes on this {device}: "
              f"{graph.format_duration(total)} (an ESTIMATE from docs/benchmarks.md's measured images/s, "
              "scaled by this device's matrix-multiply rate and the models' widths"
              + (f", at most one step of 128 per {graph.GPU_MIN_STEP_S * 1000:.0f} ms (assumed)"
                 if device != "cpu" else "")
              + "; evaluations, probes and sampling not counted; see dcgan_lib.graph)"]
    if missing:
        lines += ["", "Missing data (get it with `dcgan data NAME --root DIR`):"] + \
            [f"  {m}" for m in missing]
    else:
        lines += ["", "All data present."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", choices=("smoke", "cpu", "full"), default="smoke")
    ap.add_argument("--only", nargs="+", action="extend",
                    help="chapters or steps to run (e.g. 02_training, 02, 03_datasets-lsun); "
                    "several after one --only or over repeated --only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default="", help="data folder (default $DCGAN_DATA or "
                    "~/.cache/dcgan_lib/data)")
    ap.add_argument("--results", default=str(REPO / "results"))
    ap.add_argument("--svhn-weights", default="", help="folder of the authors' SVHN DCGAN "
                    "(default: <data root>/newmu-svhn-dcgan when there, else "
                    "$DCGAN_SVHN_WEIGHTS or ../shared/reference/newmu-svhn-dcgan)")
    ap.add_argument("--timeout", type=int, default=None,
                    help="seconds allowed for one cell (default: none)")
    ap.add_argument("--publish", action="store_true",
                    help="copy outputs of successful runs into book/*.ipynb")
    ap.add_argument("--kernel", default="python3")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="a chapter parameter (e.g. epochs=2, lr=1e-3, seeds=0,1,2, "
                         "dataset=imagenet32, epochs=None: the profile's), converted to the "
                         "type of the chapter's parameter; an unknown name or a value of the "
                         "wrong type is refused before anything runs; a step's own parameter "
                         "keeps one step of its chapter")
    ap.add_argument("--tiny", action="store_true",
                    help="every chapter's code path with tiny sizes (scale=tiny): a test")
    ap.add_argument("--plan", action="store_true",
                    help="print the chapter graph, the data each step reads and whether it is "
                         "there, and the estimated time on this device; run nothing")
    args = ap.parse_args(argv)
    extra = {}
    for kv in args.param:
        k, sep, v = kv.partition("=")
        if not sep or not k.strip():
            return usage_error(f"--param {kv!r}: write NAME=VALUE, e.g. --param epochs=2")
        extra[k.strip()] = v
    results = Path(args.results).resolve()
    try:
        steps = select(args.profile, args.only, extra)
        # each value converted to the type of the chapters' parameter of that name; an unknown
        # parameter or a value of the wrong type stops here, before --plan or any run
        typed = graph.typed_parameters([st.chapter for st in steps], extra)
    except (graph.ParameterError, OnlyError) as err:
        return usage_error(str(err))
    svhn = str(graph.svhn_weights_folder(args.data_root or None, args.svhn_weights))
    if args.plan:
        print(plan(args.profile, steps, results, args.data_root, args.svhn_weights))
        return 0
    if args.publish and args.tiny:
        raise SystemExit("--publish with --tiny: tiny runs are tests, never published")

    import papermill as pm

    os.environ.pop("DCGAN_PROFILE", None)  # the profile comes from --profile here
    out_dir = results / args.profile
    out_dir.mkdir(parents=True, exist_ok=True)
    base = dict(profile=args.profile, seed=args.seed, data_root=args.data_root,
                results_dir=str(results))
    if args.tiny:
        base["scale"] = "tiny"

    def execute(st: graph.Step, params: dict) -> None:
        nb = BOOK / f"{st.chapter}.ipynb"
        declared = graph.chapter_parameters(st.chapter)
        # the --param values, typed for this chapter, under its fixed parameters and artefacts
        params = {**typed[st.chapter], **params}
        if "svhn_weights" in declared:
            params.setdefault("svhn_weights", svhn)
        unknown = sorted(set(extra) - set(declared))
        if unknown:
            print(f"   ({st.chapter} has no parameter {', '.join(unknown)}: not passed)")
        pm.execute_notebook(str(nb), str(out_dir / f"{st.name}.ipynb"), kernel_name=args.kernel,
                            cwd=str(REPO),
                            parameters={k: v for k, v in params.items() if k in declared},
                            execution_timeout=args.timeout, progress_bar=False)

    rows = run_steps(steps, args.profile, results, base, execute,
                     log=lambda *a, **k: print(*a, **k, flush=True))
    published = set()
    table = []
    for r in rows:
        st = r["step"]
        mpath = out_dir / st.out / "metrics.json"
        metrics = json.loads(mpath.read_text()) if mpath.exists() and r["status"] == "ok" else {}
        keep = {k: v for k, v in metrics.items()
                if k not in ("chapter", "profile", "seed", "revision", "checkpoint", "scale")}
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in list(keep.items())[:6])
        table.append((st.name, r["status"], f"{r['seconds']:.0f}s", shown))
        if r["status"] == "ok" and args.publish and st.chapter not in published:
            if not st.publish:
                print(f"{st.name}: not published (a stage of its chapter; the chapter's last "
                      "step publishes it)")
                continue
            published.add(st.chapter)
            publish(out_dir / f"{st.name}.ipynb", BOOK / f"{st.chapter}.ipynb")
    w = [max(len(r[i]) for r in table + [("step", "status", "time", "")]) for i in range(3)]
    w[1] = min(w[1], 60)
    print(f"\nSummary: profile={args.profile}{' (tiny scale)' if args.tiny else ''} "
          f"seed={args.seed} results={out_dir}")
    print(f"{'step':<{w[0]}}  {'status':<{w[1]}}  {'time':>{w[2]}}  metrics")
    for r in table:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:>{w[2]}}  {r[3]}")
    return 1 if any(r["status"] != "ok" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
