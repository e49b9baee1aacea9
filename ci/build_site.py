#!/usr/bin/env python
"""Build the book's site: site/_build/html from the committed, executed book/*.ipynb.

    .venv/bin/python ci/build_site.py        # then open site/_build/html/index.html

Nothing is executed (site/conf.py sets nb_execution_mode = "off"). The chapters, the
pages of site/ and the detailed pages of docs/ (under docs/) are staged into <build>/src,
with generated pages: chapters_table.md (one row per chapter, from the notebook's first
heading) and claims.md (the claims table with scope, verdicts and amendments, from the
committed notebooks' verdict tables, each claim linking to its chapter's verdict section),
which index.md includes, and docs/results.md (the results page, its links pointed at the
site's chapter pages). Copies keep their times, so a second build only redoes what changed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "site"
BOOK = REPO / "book"
BUILD = SITE / "_build"

DOCS = REPO / "docs"
sys.path.insert(0, str(REPO))
from dcgan_lib import claims  # noqa: E402


def chapters(book: Path = BOOK) -> list[Path]:
    return sorted(book.glob("[0-9][0-9]_*.ipynb"))


def chapter_title(nb_path: Path) -> str:
    """The text of the notebook's first level-1 heading (its page title on the site)."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        m = re.search(r"^# (.+)$", "".join(cell["source"]), flags=re.M)
        if m:
            return m.group(1).strip()
    return nb_path.stem


def chapters_table(nbs: list[Path]) -> str:
    """A markdown table of the chapters: 'N · Title (paper part)' split into its columns."""
    rows = ["| # | chapter | in the paper |", "|---|---|---|"]
    for nb in nbs:
        title = chapter_title(nb)
        m = re.match(r"(\d+)\s*·\s*(.*?)(?:\s*\(([^()]*)\))?$", title)
        number, name, part = (m.group(1), m.group(2), m.group(3) or "") if m else ("", title, "")
        part = re.sub(r"^paper\s+", "", part)
        name = name.replace("|", "\\|")
        rows.append(f"| {number} | [{name}](chapters/{nb.name}) | {part} |")
    return "\n".join(rows) + "\n"


def _sync(src_dir: Path, sources: dict[str, Path], texts: dict[str, str]) -> None:
    """Make src_dir hold exactly `sources` (copied, times kept) and `texts` (written)."""
    src_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(sources) | set(texts)
    for path in sorted(src_dir.rglob("*"), reverse=True):
        rel = path.relative_to(src_dir).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel, src in sources.items():
        dst = src_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        st = src.stat()
        if not dst.exists() or (dst.stat().st_mtime_ns, dst.stat().st_size) != (st.st_mtime_ns, st.st_size):
            shutil.copy2(src, dst)
    for rel, text in texts.items():
        dst = src_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.write_text(text, encoding="utf-8")


def claims_page(book: Path = BOOK, prefix: str = "chapters/") -> str:
    """The front page's claims table generated from the committed notebooks (claim, verdict,
    scope, chapter), each claim's chapter link going to that chapter's verdict section, the
    amendments linked on docs/claims.html (every number, baseline and earlier reading)."""
    table = claims.readme_table(book, link_prefix=prefix, anchor="#verdicts", compact=True,
                                details="docs/claims.md")
    return table.replace(claims.README_START, "").replace(claims.README_END, "").strip() + "\n"


def site_links(text: str) -> str:
    """A docs page's relative links as they resolve on the site: the chapters' notebooks are
    pages under chapters/, the course guide and the README's place is the front page."""
    text = re.sub(r"\]\(\.\./book/(\d\d_[\w-]+)\.(?:ipynb|py)", r"](../chapters/\1.ipynb", text)
    text = text.replace("](../site/course.md", "](../course.md")
    return re.sub(r"\]\(\.\./README\.md(#[\w-]+)?\)", "](../index.md)", text)


def stage(src_dir: Path, site: Path = SITE, book: Path = BOOK, docs: Path = DOCS) -> list[Path]:
    """Lay out the Sphinx sources in src_dir; return the chapters staged."""
    nbs = chapters(book)
    if not nbs:
        raise SystemExit("build_site: no chapters book/NN_*.ipynb found")
    sources = {p.name: p for p in site.glob("*.md")}
    sources.update({f"chapters/{p.name}": p for p in nbs})
    generated = {"results.md": claims.results_page(book, link_prefix="../chapters/"),
                 "claims.md": claims.claims_page(book, link_prefix="../chapters/",
                                                 anchor="#verdicts")}
    texts = {"chapters_table.md": chapters_table(nbs), "claims.md": claims_page(book),
             **{f"docs/{name}": text for name, text in generated.items()}}
    for p in docs.glob("*.md"):  # the reference pages, their links pointed at the site's pages
        if p.name not in generated:
            texts[f"docs/{p.name}"] = site_links(p.read_text(encoding="utf-8"))
    _sync(src_dir, sources, texts)
    return nbs


def build(build_dir: Path = BUILD, quiet: bool = True) -> Path:
    """Stage and build; return the folder of the HTML site (build_dir/html)."""
    build_dir = Path(build_dir).resolve()
    nbs = stage(build_dir / "src")
    rel = lambda p: os.path.relpath(p, REPO)  # noqa: E731  (Sphinx's messages name no machine path)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-j", "auto", "-c", rel(SITE),
           "-d", rel(build_dir / "doctrees"), rel(build_dir / "src"), rel(build_dir / "html")]
    if quiet:
        cmd.insert(3, "-q")
    proc = subprocess.run(cmd, cwd=REPO)
    if proc.returncode:
        raise SystemExit(f"build_site: sphinx-build failed ({proc.returncode})")
    assert len(nbs) == len(list((build_dir / "html" / "chapters").glob("*.html")))
    return build_dir / "html"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clean", action="store_true", help="remove the build folder first (full rebuild)")
    ap.add_argument("--build-dir", type=Path, default=BUILD,
                    help="where to stage and build (default site/_build; the site is BUILD_DIR/html)")
    ap.add_argument("-v", "--verbose", action="store_true", help="Sphinx's progress messages too")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.clean and args.build_dir.exists():
        shutil.rmtree(args.build_dir)
    html = build(args.build_dir, quiet=not args.verbose)
    print(f"build_site: {os.path.relpath(html / 'index.html')} "
          f"({len(chapters())} chapters, {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
