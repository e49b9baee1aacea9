#!/usr/bin/env python
"""Write the README's claims table, docs/claims.md (every number and the amendments) and
docs/results.md from the verdict tables of the committed notebooks.

    python ci/claims_table.py           # rewrite the README's section and the two pages
    python ci/claims_table.py --check   # exit 1 when one differs from the notebooks, or
                                        # a published claim breaks its pre-registration
    python ci/claims_table.py --register  # add newly published claims to the registry

Every chapter ends with ``run.verdicts(...)`` (``dcgan_lib.book.Run.verdicts``), whose output
carries its table as JSON in the output's metadata; this script reads those from
``book/NN_*.ipynb`` and lists every claim of ``dcgan_lib.claims.CLAIMS`` (a claim whose
chapter has no verdict table yet is "not run here"). ``tests/test_claims.py`` fails when the
README and the notebooks disagree.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dcgan_lib import claims  # noqa: E402


RESULTS = "docs/results.md"
CLAIMS_PAGE = "docs/claims.md"


def expected_results(repo: Path = REPO) -> str:
    return claims.results_page(repo / "book")


def expected_claims_page(repo: Path = REPO) -> str:
    return claims.claims_page(repo / "book")


def expected_readme(repo: Path = REPO) -> str:
    readme = (repo / "README.md").read_text()
    table = claims.readme_table(repo / "book", compact=True, details=CLAIMS_PAGE)
    return claims.replace_readme_section(readme, table)


def awaiting_republication() -> set[str]:
    """The chapters ci/check_book.py excuses as awaiting re-publication."""
    sys.path.insert(0, str(REPO / "ci"))
    from check_book import AWAITING_REPUBLICATION
    return set(AWAITING_REPUBLICATION)


def registry_problems(repo: Path = REPO, excused: set[str] | None = None) -> list[str]:
    """dcgan_lib.claims.check_registry on the committed registry and notebooks, plus any
    committed verdict row whose fingerprint is not the claim's current one (its notebook was
    run under another protocol: re-publish it), unless its chapter is listed as awaiting
    re-publication (``excused``; default ci/check_book.py's list), where the tables show the
    claim as not run here, with the earlier reading."""
    import json
    excused = awaiting_republication() if excused is None else excused
    registry = json.loads((repo / claims.REGISTRY_PATH).read_text())
    found = claims.committed_verdicts(repo / "book")
    problems = claims.check_registry(registry, set(found))
    current = {c.id: c.fingerprint for c in claims.CLAIMS}
    for cid, (row, _payload, stem) in found.items():
        if stem in excused:
            continue
        ran = claims.run_fingerprint(row, registry)
        if ran and ran != current[cid]:
            problems.append(f"{cid}: book/{stem}.ipynb was run under protocol "
                            f"{ran}, the claim's is now {current[cid]}: "
                            "re-publish the chapter")
    return problems


def register(repo: Path = REPO, date: str | None = None) -> list[str]:
    """Add every published claim missing from the registry (its current protocol, its reading
    in the committed notebook); existing entries are never changed. Returns the ids added."""
    import datetime
    import json
    path = repo / claims.REGISTRY_PATH
    registry = json.loads(path.read_text())
    date = date or datetime.date.today().isoformat()
    known = {c.id: c for c in claims.CLAIMS}
    added = []
    for cid, (row, payload, _stem) in claims.committed_verdicts(repo / "book").items():
        if cid not in registry["claims"] and row["verdict"] != "not run here":
            registry["claims"][cid] = claims.registry_entry(
                known[cid], row, str(payload["revision"])[:12], date)
            added.append(cid)
    if added:
        path.write_text(json.dumps(registry, indent=1, ensure_ascii=False) + "\n")
    return added


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="only compare, exit 1 on a difference or a pre-registration problem")
    ap.add_argument("--register", action="store_true",
                    help="add newly published claims to " + claims.REGISTRY_PATH)
    args = ap.parse_args(argv)
    if args.register:
        added = register()
        print(f"{claims.REGISTRY_PATH}: registered {', '.join(added) if added else 'nothing new'}")
    problems = registry_problems()
    for p in problems:
        print(f"pre-registration: {p}")
    new = expected_readme()
    old = (REPO / "README.md").read_text()
    pages = {RESULTS: expected_results(), CLAIMS_PAGE: expected_claims_page()}
    old_pages = {rel: (REPO / rel).read_text() if (REPO / rel).exists() else "" for rel in pages}
    if args.check:
        for rel, text in pages.items():
            if text != old_pages[rel]:
                print(f"{rel} differs from the committed notebooks: run python ci/claims_table.py")
                return 1
        if new != old:
            print("README.md's claims table differs from the committed notebooks: run "
                  "python ci/claims_table.py")
            return 1
        if problems:
            return 1
        print("README.md's claims table matches the committed notebooks")
        return 0
    for rel, text in pages.items():
        if text != old_pages[rel]:
            (REPO / rel).write_text(text)
            print(f"{rel}: rewritten")
    if new != old:
        (REPO / "README.md").write_text(new)
        print("README.md: claims table rewritten")
    else:
        print("README.md: claims table already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
