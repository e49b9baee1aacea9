#!/usr/bin/env python
"""Write the README's claims table from the verdict tables of the committed notebooks.

    python ci/claims_table.py           # rewrite the section of README.md between the markers
    python ci/claims_table.py --check   # exit 1 when README.md differs from the notebooks

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


def expected_readme(repo: Path = REPO) -> str:
    readme = (repo / "README.md").read_text()
    return claims.replace_readme_section(readme, claims.readme_table(repo / "book"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare, exit 1 on a difference")
    args = ap.parse_args(argv)
    new = expected_readme()
    old = (REPO / "README.md").read_text()
    if args.check:
        if new != old:
            print("README.md's claims table differs from the committed notebooks: run "
                  "python ci/claims_table.py")
            return 1
        print("README.md's claims table matches the committed notebooks")
        return 0
    if new != old:
        (REPO / "README.md").write_text(new)
        print("README.md: claims table rewritten")
    else:
        print("README.md: claims table already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
