"""Where a committed notebook's outputs came from, checked against the repository.

A chapter's outputs carry the revision that ran it (``rev=<commit>`` in the header
:func:`dcgan_lib.book.setup` prints and under every figure and table; ``ci/run_book.py
--publish`` also writes it to the notebook's metadata, ``metadata["dcgan"]["revision"]``). Three
things make such outputs untrustworthy, and :func:`check_notebook` reports each:

* **stale**: the chapter's source at the stamped commit (``git show <rev>:book/NN_x.py``) has
  other cells than the chapter has now, so the outputs are not those of the code beside them;
* **dirty**: the stamp says ``+dirty`` (the run started from a tree with uncommitted changes,
  so no commit holds the code that ran), or there is no stamp at all;
* **machine paths**: an output prints a path of the machine that ran it (``/work/...``,
  ``/root/...``, ``/home/...``, ``/tmp/...``, the checkout or the home folder), which means
  nothing to a reader; outputs print paths relative to the repository or the data root
  (:func:`dcgan_lib.book.rel`).

``ci/check_book.py`` runs the checks over ``book/``; ``ci/run_book.py --publish`` refuses to
publish a run that :func:`publish_problems` objects to.
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

STAMP = re.compile(r"\brev=([0-9a-f]{7,40}|unknown)(\+dirty)?")
MACHINE_PATH = re.compile(r"(?<![\w.:/~$<>-])/(?:work|root|home|tmp|Users|private|mnt|var/folders)/")
# what a chapter's outputs depend on besides the chapter itself (relative to the repository)
SOURCES = ("dcgan_lib", "book/data")


@dataclass(frozen=True)
class Problem:
    chapter: str          # the notebook's stem, e.g. "02_training"
    kind: str             # "stale" | "dirty" | "machine paths"
    detail: str

    def __str__(self) -> str:
        return f"{self.chapter}: {self.kind}: {self.detail}"


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, text=True, capture_output=True, check=check)


def read_notebook(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def output_texts(nb: dict):
    """(cell index, text) of every text an output shows: streams, text/* and JSON data,
    errors' tracebacks."""
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []) or []:
            parts = []
            if "text" in out:
                parts.append(_join(out["text"]))
            for mime, value in (out.get("data") or {}).items():
                if mime.startswith("text/"):
                    parts.append(_join(value))
                elif mime.endswith("json"):
                    parts.append(json.dumps(value))
            if out.get("output_type") == "error":
                parts += [out.get("evalue", ""), "\n".join(out.get("traceback", []))]
            text = "\n".join(p for p in parts if p)
            if text:
                yield i, text


def _join(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def notebook_stamps(nb: dict) -> list[tuple[str, bool]]:
    """Every distinct ``(revision, dirty)`` the notebook's outputs and metadata carry, the
    metadata's (written by ``--publish``) first."""
    stamps = []
    meta = (nb.get("metadata") or {}).get("dcgan") or {}
    if meta.get("revision"):
        stamps.append((meta["revision"], bool(meta.get("dirty", False))))
    for _, text in output_texts(nb):
        for m in STAMP.finditer(text):
            s = (m.group(1), bool(m.group(2)))
            if not any(_same_rev(s[0], t[0]) and s[1] == t[1] for t in stamps):
                stamps.append(s)
    return stamps


def _same_rev(a: str, b: str) -> bool:
    n = min(len(a), len(b))
    return n >= 7 and a[:n] == b[:n]


def machine_paths(nb: dict, extra: tuple[str, ...] = ()) -> list[str]:
    """Short excerpts of outputs that print a machine path (:data:`MACHINE_PATH`, or any of
    ``extra``: the checkout folder, the home folder)."""
    hits = []
    literal = [e.rstrip("/") + "/" for e in extra if e and len(e.rstrip("/")) > 1]
    for i, text in output_texts(nb):
        spans = [m.span() for m in MACHINE_PATH.finditer(text)]
        for e in literal:
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(e), text)]
        for a, b in sorted(spans):
            line_start = text.rfind("\n", 0, a) + 1
            line_end = text.find("\n", b)
            line = text[line_start:line_end if line_end >= 0 else None].strip()
            excerpt = f"cell {i}: {line[:120]}"
            if excerpt not in hits:
                hits.append(excerpt)
    return hits


def cells_of_py(text: str) -> list[tuple[str, str]]:
    """(cell type, stripped source) of a percent-format chapter's text."""
    import jupytext
    nb = jupytext.reads(text, fmt="py:percent")
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def source_at(repo: Path, rev: str, relpath: str) -> str | None:
    """The text of ``relpath`` at commit ``rev``, or None when the commit or the file is
    unknown there."""
    r = git(repo, "show", f"{rev}:{relpath}", check=False)
    return r.stdout if r.returncode == 0 else None


def check_notebook(repo: Path, notebook: Path, extra_paths: tuple[str, ...] | None = None
                   ) -> list[Problem]:
    """The provenance problems of one committed chapter notebook (``book/NN_x.ipynb``), against
    the chapter source beside it (``book/NN_x.py`` in the working tree)."""
    repo, notebook = Path(repo), Path(notebook)
    name = notebook.stem
    nb = read_notebook(notebook)
    problems = []
    if extra_paths is None:
        extra_paths = (str(repo.resolve()), str(Path.home()))
    for hit in machine_paths(nb, extra_paths):
        problems.append(Problem(name, "machine paths", hit))
    has_outputs = any(True for _ in output_texts(nb))
    stamps = notebook_stamps(nb)
    if not stamps:
        if has_outputs:
            problems.append(Problem(name, "dirty", "no revision stamp in the outputs"))
        return problems
    revs = {s[0] for s in stamps}
    if len({r[:7] for r in revs}) > 1:
        problems.append(Problem(name, "stale", f"outputs of several revisions: {sorted(revs)}"))
    for rev, dirty in stamps:
        if dirty:
            problems.append(Problem(name, "dirty", f"rev={rev}+dirty: the run started from "
                                    "uncommitted changes, no commit holds the code that ran"))
    rev = stamps[0][0]
    if rev == "unknown":
        problems.append(Problem(name, "dirty", "rev=unknown: not run from a git checkout"))
        return problems
    py = notebook.with_suffix(".py")
    relpy = py.resolve().relative_to(repo.resolve()).as_posix()
    then = source_at(repo, rev, relpy)
    if then is None:
        known = git(repo, "cat-file", "-e", f"{rev}^{{commit}}", check=False).returncode == 0
        problems.append(Problem(name, "stale", f"{relpy} does not exist at rev {rev}" if known
                                else f"rev {rev} is not a commit of this repository"))
    elif cells_of_py(then) != cells_of_py(py.read_text()):
        problems.append(Problem(name, "stale", f"{relpy} at rev {rev} has other cells than now "
                                "(outputs are of an older chapter)"))
    return problems


def check_book(repo: Path, chapters: list[str] | None = None) -> dict[str, list[Problem]]:
    """:func:`check_notebook` for every ``book/NN_*.ipynb`` (or the ``chapters`` named by stem),
    as {stem: problems}."""
    book = Path(repo) / "book"
    out = {}
    for nb in sorted(book.glob("[0-9][0-9]_*.ipynb")):
        if chapters is None or nb.stem in chapters:
            out[nb.stem] = check_notebook(repo, nb)
    return out


def uncommitted(repo: Path, paths) -> list[str]:
    """``git status --porcelain`` lines (untracked files included) under ``paths``."""
    r = git(repo, "status", "--porcelain", "--untracked-files=all", "--", *paths)
    return [line for line in r.stdout.splitlines() if line.strip()]


def publish_problems(repo: Path, executed: dict, chapter_py: Path) -> tuple[str | None, list[str]]:
    """Why the executed notebook ``executed`` (a dict) must not be published as ``chapter_py``'s
    outputs: ``(full revision or None, reasons)``. It may be published only when its outputs
    carry one revision, without ``+dirty``, print no machine path, and the chapter and the
    library (:data:`SOURCES`) are committed and unchanged since that revision."""
    repo = Path(repo)
    rel = Path(chapter_py).resolve().relative_to(repo.resolve()).as_posix()
    paths = [rel, *SOURCES]
    reasons = []
    paths_printed = machine_paths(executed, (str(repo.resolve()), str(Path.home())))
    if paths_printed:
        reasons.append("its outputs print machine paths (print dcgan_lib.book.rel(path) "
                       "instead): " + "; ".join(paths_printed[:5]))
    stamps = notebook_stamps(executed)
    if not stamps:
        return None, ["its outputs carry no rev= stamp"]
    if len({s[0][:7] for s in stamps}) > 1:
        reasons.append(f"its outputs carry several revisions {sorted({s[0] for s in stamps})}")
    rev, dirty = stamps[0]
    if dirty or any(d for _, d in stamps):
        reasons.append(f"the run started from a tree with uncommitted changes (rev={rev}+dirty): "
                       "commit them and run again")
    if rev == "unknown":
        return None, reasons + ["rev=unknown: not run from a git checkout"]
    full = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if full.returncode != 0:
        return None, reasons + [f"rev {rev} is not a commit of this repository"]
    full_rev = full.stdout.strip()
    dirty_now = uncommitted(repo, paths)
    if dirty_now:
        reasons.append("uncommitted changes to the chapter or the library: "
                       + "; ".join(dirty_now[:8]) + (" ..." if len(dirty_now) > 8 else ""))
    changed = git(repo, "diff", "--name-only", full_rev, "HEAD", "--", *paths).stdout.split()
    if changed:
        reasons.append(f"committed since the run's rev {rev}: {', '.join(changed[:8])}")
    return full_rev, reasons
