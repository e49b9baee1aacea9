#!/usr/bin/env python
"""Time the book's exercises on this machine: run chapters with papermill and report, for
each exercise, how long its solution and its check took, beside the rest of the chapter.

    python ci/time_exercises.py --profile cpu --only 01 06 07
    python ci/time_exercises.py --profile cpu --only 02 -p epochs 1      # a shorter chapter run
    python ci/time_exercises.py --profile smoke                          # every chapter

Each chapter is executed into ``<results>/<profile>/timing/<chapter>.ipynb``; papermill records
every cell's wall-clock duration in the cell's metadata, from which an exercise's time is its
``solution`` cell plus its check cell (the code cell after it). ``-p NAME VALUE`` passes a
papermill parameter to every chapter run (e.g. ``epochs 1`` to shorten chapter 02's own training:
the exercises' sizes come from ``dcgan_lib.exercises.sizes``, not from the chapter's). The table
is printed and saved as ``<results>/<profile>/timing/exercise_times.json``; the course guide
(``site/course.md``) quotes these numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dcgan_lib import exercises  # noqa: E402


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        t = o.get("text", "")
        out.append("".join(t) if isinstance(t, list) else t)
    return "\n".join(out)


def _duration(cell) -> float:
    return float(cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)


def exercise_times(nb: dict) -> tuple[list[dict], float]:
    """Per exercise of an executed notebook: id, verdict, seconds of the solution and of the
    check; and the seconds of all other cells (the chapter itself)."""
    cells = nb["cells"]
    rows, used = [], set()
    for i, c in enumerate(cells):
        if "solution" not in c.get("metadata", {}).get("tags", []):
            continue
        j = next(k for k in range(i + 1, len(cells)) if cells[k]["cell_type"] == "code")
        got = exercises.parse(_text(cells[j]))
        ex_id, status = next(iter(got.items())) if got else ("?", "no verdict")
        rows.append({"exercise": ex_id, "verdict": status, "solution s": _duration(c),
                     "check s": _duration(cells[j]),
                     "total s": _duration(c) + _duration(cells[j])})
        used |= {i, j}
    rest = sum(_duration(c) for k, c in enumerate(cells) if k not in used)
    return rows, rest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="cpu", choices=("smoke", "cpu", "full"))
    ap.add_argument("--only", nargs="*", help="chapters by number or name (default: all)")
    ap.add_argument("--results", type=Path, default=REPO / "results",
                    help="results root (the chapters' results_dir)")
    ap.add_argument("-p", "--param", nargs=2, action="append", default=[],
                    metavar=("NAME", "VALUE"), help="a papermill parameter for every chapter")
    ap.add_argument("--timeout", type=int, default=7200, help="seconds per chapter")
    args = ap.parse_args(argv)
    nbs = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        nbs = [p for p in nbs if p.stem in args.only or p.stem[:2] in args.only]
    out_dir = args.results / args.profile / "timing"
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "exercise_times.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    env = {**os.environ, "DCGAN_PROFILE": args.profile, "MPLBACKEND": "Agg"}
    for nb in nbs:
        dst = out_dir / nb.name
        cmd = [sys.executable, "-m", "papermill", "-k", "python3", "--log-level", "ERROR",
               str(nb), str(dst), "-p", "profile", args.profile,
               "-p", "results_dir", str(args.results)]
        for name, value in args.param:
            cmd += ["-p", name, value]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=args.timeout)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"{nb.stem}: FAILED after {wall:.0f} s\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows, rest = exercise_times(json.loads(dst.read_text()))
        summary[nb.stem] = {"profile": args.profile, "params": dict(args.param),
                            "threads": os.environ.get("OMP_NUM_THREADS", "default"),
                            "chapter s": rest, "wall s": wall, "exercises": rows}
        print(f"{nb.stem} ({args.profile}{', ' + str(dict(args.param)) if args.param else ''}): "
              f"chapter {rest:.0f} s, notebook wall {wall:.0f} s")
        for r in rows:
            print(f"  {r['exercise']}  {r['verdict']:<12}  solution {r['solution s']:7.1f} s  "
                  f"check {r['check s']:7.1f} s  total {r['total s']:7.1f} s")
        summary_path.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"saved {summary_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
