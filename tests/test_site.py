"""The book's rendered site (ci/build_site.py), built once into a temporary folder and read
twice: as files (every chapter with its figures and tables, no stderr, no machine paths of the
build) and in headless Chromium served from 127.0.0.1 (pages load with no console error, every
image is decoded, the navigation from the front page reaches every chapter)."""

import html
import json
import re
import sys
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from headless import Watched, chromium, require, serve

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "ci"))
import build_site  # noqa: E402

CHAPTERS = build_site.chapters()
SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _notebook(nb_path: Path) -> dict:
    return json.loads(nb_path.read_text(encoding="utf-8"))


def _outputs(nb: dict):
    for cell in nb["cells"]:
        yield from cell.get("outputs", [])


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from scratch (nothing executed): its html folder."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        try:
            __import__(module)
        except ImportError:
            require(False, f"{module} is not installed: pip install -e '.[site]' (or bash ci/setup.sh)")
    return build_site.build(tmp_path_factory.mktemp("site_build"))


@pytest.fixture(scope="module")
def base_url(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _page_url(base: str, nb_path: Path) -> str:
    return urljoin(base, f"chapters/{nb_path.stem}.html")


# -- the files ---------------------------------------------------------------------------------

def test_there_are_chapters():
    assert len(CHAPTERS) >= 10, CHAPTERS


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_has_its_title_figures_and_tables(site, nb_path):
    page = (site / "chapters" / f"{nb_path.stem}.html").read_text(encoding="utf-8")
    nb = _notebook(nb_path)
    title = build_site.chapter_title(nb_path)
    h1 = re.search(r"<h1>(.*?)<a class=\"headerlink\"[^>]*>#</a></h1>", page)
    shown = html.unescape(re.sub(r"<[^>]+>", "", h1.group(1))).strip() if h1 else None
    assert shown and shown.translate(SMART_QUOTES) == title.translate(SMART_QUOTES)
    figures = sum("image/png" in o.get("data", {}) for o in _outputs(nb))
    assert page.count("<img ") == figures
    md_tables = sum(len(re.findall(r"^\s*\|?\s*:?-{3,}", _text(c["source"]), flags=re.M))
                    for c in nb["cells"] if c["cell_type"] == "markdown")
    assert page.count("<table") == md_tables
    # Printed tables and numbers (stdout) are on the page too: check each output's last line.
    for out in _outputs(nb):
        if out["output_type"] == "stream" and out["name"] == "stdout":
            lines = [ln.strip() for ln in _text(out["text"]).splitlines() if ln.strip()]
            if lines:
                assert html.escape(lines[-1], quote=False) in page, lines[-1]


def test_stderr_is_not_rendered(site):
    seen = 0
    for nb_path in CHAPTERS:
        page = (site / "chapters" / f"{nb_path.stem}.html").read_text(encoding="utf-8")
        for out in _outputs(_notebook(nb_path)):
            if out["output_type"] == "stream" and out["name"] == "stderr":
                seen += 1
                first = next(ln for ln in _text(out["text"]).splitlines() if ln.strip())
                assert html.escape(first.strip(), quote=False) not in page, first
    for page in site.rglob("*.html"):
        assert "without encryption" not in page.read_text(encoding="utf-8"), page.name


def test_pages_name_no_machine_path_beyond_the_notebooks(site):
    """Absolute paths on a page are only those printed in the chapter's committed outputs."""
    path_re = re.compile(r"(?<![\w.:/~-])/(?:[\w.-]+/)+[\w.-]*")
    build_dir = str(site.parent)
    for page_path in site.rglob("*.html"):
        page = page_path.read_text(encoding="utf-8")
        assert build_dir not in page and str(REPO / "site") not in page, page_path.name
        nb_path = REPO / "book" / f"{page_path.stem}.ipynb"
        doc_path = REPO / "docs" / f"{page_path.stem}.md"   # a docs page: its own source's paths
        allowed = nb_path.read_text(encoding="utf-8") if page_path.parent.name == "chapters" \
            else doc_path.read_text(encoding="utf-8") if page_path.parent.name == "docs" \
            and doc_path.exists() else ""
        strays = {p for p in path_re.findall(re.sub(r"<[^>]+>", " ", page)) if p not in allowed}
        assert not strays, f"{page_path.relative_to(site)}: {sorted(strays)[:5]}"


PLACEHOLDERS = re.compile(r"not generated yet|PLACEHOLDER|to be generated|TODO", re.I)


def test_front_page_leads_with_the_claims_linked_to_their_verdicts(site):
    from dcgan_lib import claims
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.index(f"<strong>{claims.CLAIMS[0].id}</strong>") < index.index('id="chapters"')
    for c in claims.CLAIMS:                     # every claim, linking to its verdict section
        row = index[index.index(f"<strong>{c.id}</strong>"):]
        row = row[:row.index("</tr>")]
        assert f'href="chapters/{c.chapter}.html#verdicts"' in row, c.id
    for chapter in {c.chapter for c in claims.CLAIMS}:      # and the anchor is there
        page = (site / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        assert 'id="verdicts"' in page, chapter
    for kind in claims.SCOPES:
        assert f"{kind}: " in html.unescape(index).translate(SMART_QUOTES), kind
    detail = (site / "docs" / "claims.html").read_text(encoding="utf-8")
    results = (site / "docs" / "results.html").read_text(encoding="utf-8")
    for c in claims.CLAIMS:
        assert c.id in detail and c.id in results, c.id
    assert 'href="../chapters/02_training.html"' in results
    assert 'href="../chapters/02_training.html#verdicts"' in detail


def test_no_page_shows_a_placeholder(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > len(CHAPTERS) + 3
    for page in pages:
        text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
        assert not PLACEHOLDERS.search(text), (page.relative_to(site), PLACEHOLDERS.search(text))


def test_placeholder_check_catches_a_placeholder():   # the check above can fail
    assert PLACEHOLDERS.search("The claims table is not generated yet.")


def test_front_page_has_chapter_table_and_course_guide(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    for nb_path in CHAPTERS:
        assert f'href="chapters/{nb_path.stem}.html"' in index, nb_path.stem
    assert 'href="course.html"' in index
    course = (site / "course.html").read_text(encoding="utf-8")
    assert "Schedule" in course and "Learning objectives" in course      # site/course.md
    for nb_path in CHAPTERS:                                               # links every chapter
        assert f'href="chapters/{nb_path.stem}.html' in course, nb_path.stem


def test_stage_generates_the_claims_pages_and_takes_the_docs(tmp_path):
    site_dir, docs_dir = tmp_path / "site", tmp_path / "docs"
    site_dir.mkdir()
    docs_dir.mkdir()
    (site_dir / "index.md").write_text("# x\n")
    (docs_dir / "data.md").write_text("# Data\n")
    (docs_dir / "cli.md").write_text("See [ch. 2](../book/02_training.ipynb), [the guide]"
                                     "(../site/course.md), [home](../README.md#two-commands)"
                                     " and [data](data.md).\n")
    src = tmp_path / "src"
    build_site.stage(src, site=site_dir, docs=docs_dir)
    assert (src / "claims.md").read_text() == build_site.claims_page()
    assert "| claim | verdict | scope | chapter, run |" in (src / "claims.md").read_text()
    assert "| baseline |" in (src / "docs" / "claims.md").read_text()
    assert (src / "docs" / "data.md").read_text() == "# Data\n"
    assert (src / "docs" / "cli.md").read_text() == (  # links pointed at the site's pages
        "See [ch. 2](../chapters/02_training.ipynb), [the guide](../course.md), "
        "[home](../index.md) and [data](data.md).\n")
    assert "../chapters/" in (src / "docs" / "results.md").read_text()
    assert sorted(p.name for p in (src / "chapters").iterdir()) == [p.name for p in CHAPTERS]


# -- in the browser ----------------------------------------------------------------------------

def test_every_chapter_loads_cleanly_with_every_image(browser, base_url):
    watched = Watched(browser, viewport={"width": 1280, "height": 900})
    report = {}
    try:
        for nb_path in CHAPTERS:
            page = watched.page
            page.goto(_page_url(base_url, nb_path), wait_until="load")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)",
                                   timeout=15_000)
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])")
            broken = [src for src, width in images if not width]
            problems = watched.take_problems()
            if broken or problems or not images:
                report[nb_path.stem] = {"broken images": broken, "problems": problems,
                                        "images": len(images)}
    finally:
        watched.close()
    assert not report, report


def test_navigation_from_the_front_page_reaches_every_chapter(browser, base_url):
    """Follow the links of the rendered pages (sidebar, chapter table) from index.html; then
    walk the 'next' buttons from the front page through every chapter in order."""
    watched = Watched(browser)
    page = watched.page
    origin = urlsplit(base_url).netloc
    wanted = {_page_url(base_url, p) for p in CHAPTERS}
    try:
        start = urljoin(base_url, "index.html")
        seen, queue, problems = {start}, [start], {}
        while queue:  # every page reachable from the front page (about 15)
            url = queue.pop(0)
            page.goto(url, wait_until="load")
            if p := watched.take_problems():
                problems[url] = p
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
            for href in hrefs:
                href = href.split("#")[0]
                if urlsplit(href).netloc == origin and href.endswith(".html") and href not in seen:
                    seen.add(href)
                    queue.append(href)
        assert wanted <= seen, sorted(wanted - seen)
        assert urljoin(base_url, "course.html") in seen
        assert not problems, problems

        page.goto(start, wait_until="load")
        walked = []
        for _ in range(len(CHAPTERS)):
            with page.expect_navigation(wait_until="load"):
                page.click("a.right-next")
            walked.append(page.url.split("#")[0])
        assert walked == [_page_url(base_url, p) for p in CHAPTERS]
        assert not watched.take_problems()
    finally:
        watched.close()
