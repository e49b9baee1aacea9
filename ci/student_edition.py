#!/usr/bin/env python
"""Write the student edition of the book: the chapters without their exercises' solutions.

    python ci/student_edition.py --out student/              # every chapter
    python ci/student_edition.py --out student/ --only 02 09 # some

Cells are chosen by their tags, never by their text: a code cell tagged ``solution`` (in a
chapter's .py, ``# %% tags=["solution"]``) is left out. Its exercise's starter cell, tagged
``student`` (``answer = None  # ...``), is in both editions just before it, so in the student
edition the starter stands in its place and the exercise's check prints "not done yet" until
the student sets ``answer``. Everything else is kept as it is.

The chapters are read from ``book/NN_*.py`` (the paired ``.ipynb`` holds the same cells) and
written as ``<out>/NN_*.ipynb`` with every output and execution count cleared and without
jupytext's pairing (they open as plain notebooks); they run top to bottom like the book's,
from the repository's checkout (``dcgan_lib`` installed, ``results_dir`` as in the book):
``papermill student/02_training.ipynb out.ipynb -p profile smoke``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"

SOLUTION, STUDENT = "solution", "student"


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def student_notebook(chapter: Path):
    """The student edition of one chapter (a ``book/NN_*.py``) as an nbformat notebook."""
    import jupytext
    nb = jupytext.read(chapter)
    solutions = [c for c in nb.cells if SOLUTION in tags(c)]
    starters = [c for c in nb.cells if STUDENT in tags(c)]
    if len(solutions) != len(starters):
        raise SystemExit(f"{chapter.name}: {len(solutions)} cells tagged {SOLUTION!r} but "
                         f"{len(starters)} tagged {STUDENT!r}: each exercise needs both")
    for i, c in enumerate(nb.cells):
        if SOLUTION in tags(c):
            before = [d for d in nb.cells[:i] if SOLUTION in tags(d) or STUDENT in tags(d)]
            if not before or STUDENT not in tags(before[-1]):
                raise SystemExit(f"{chapter.name}: a {SOLUTION!r} cell (cell {i}) without its "
                                 f"{STUDENT!r} starter cell before it")
    nb.cells = [c for c in nb.cells if SOLUTION not in tags(c)]
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
        c.metadata.pop("execution", None)
        c.metadata.pop("papermill", None)
    nb.metadata.pop("jupytext", None)
    nb.metadata.pop("papermill", None)
    nb.metadata["dcgan_edition"] = "student"
    return nb


def chapters(only: list[str] | None) -> list[Path]:
    pys = sorted(BOOK.glob("[0-9][0-9]_*.py"))
    if only:
        pys = [p for p in pys if p.stem in only or p.stem[:2] in only]
        if not pys:
            raise SystemExit(f"--only {' '.join(only)}: no such chapter")
    return pys


def write(out: Path, only: list[str] | None = None) -> list[Path]:
    """Write the student edition of the chosen chapters to ``out``; returns the paths."""
    import nbformat
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for py in chapters(only):
        nb = student_notebook(py)
        path = out / f"{py.stem}.ipynb"
        nbformat.write(nb, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "student",
                    help="folder for the student notebooks (default: student/)")
    ap.add_argument("--only", nargs="*", help="chapters by number or name (default: all)")
    args = ap.parse_args(argv)
    written = write(args.out, args.only)
    for p in written:
        print(p)
    print(f"student edition: {len(written)} chapters in {args.out} (solutions removed, outputs "
          "cleared)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
