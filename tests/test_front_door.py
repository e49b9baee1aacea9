"""The README is a front door (issue 26): short, and every relative link in it and in the
detailed pages of docs/ resolves to a file of the repository (and a heading, for an anchor)."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's (and MyST's) anchor of a markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def broken_links(path: Path) -> list[str]:
    """Relative links of the markdown file ``path`` whose file, or heading anchor, is missing."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links in code blocks are not links
    bad = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):                 # http(s), mailto: not ours to check
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            bad.append(f"{path.name}: {target} (no such file)")
            continue
        if anchor and dest.suffix == ".md":
            heads = {slug(h) for h in re.findall(r"^#+ (.+)$", dest.read_text(), flags=re.M)}
            if anchor not in heads:
                bad.append(f"{path.name}: {target} (no heading #{anchor})")
    return bad


def test_readme_is_a_short_front_door_linking_every_detailed_page():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    n = readme.count("\n")
    assert 150 <= n <= 250, f"README.md has {n} lines: a front door is about 150-250"
    for page in sorted((REPO / "docs").glob("*.md")):       # every detailed page is linked
        assert f"(docs/{page.name})" in readme, page.name
    for section in ("## Two commands", "## Read", "## Teach", "## Reproduce",
                    "## The paper's claims"):
        assert f"\n{section}\n" in readme, section
    assert not re.search(r"^## (machine|matrix multiply)", readme, flags=re.M)  # no pasted reports


def test_every_relative_link_of_readme_and_docs_resolves():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]  # site/: tests/test_site
    problems = [p for page in pages for p in broken_links(page)]
    assert not problems, "\n".join(problems)


def test_link_check_catches_a_missing_file_and_a_missing_heading(tmp_path):  # positive control
    (tmp_path / "a.md").write_text("# Title\n\n## Data sets\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#data-sets) [no](gone.md) [bad](a.md#nothing) [web](https://x.y)\n"
                    "```\n[in code](nowhere.md)\n```\n")
    assert broken_links(page) == ["b.md: gone.md (no such file)",
                                  "b.md: a.md#nothing (no heading #nothing)"]
    assert slug("The paper's claims") == "the-papers-claims"
    assert slug("More than one GPU or machine") == "more-than-one-gpu-or-machine"
