"""What every chapter of the book does first and under every figure and table.

A chapter's ``parameters`` cell holds plain assignments (``profile``, ``seed``, ``data_root``,
``results_dir``); the next cell calls :func:`setup`, which

* lets ``$DCGAN_PROFILE`` override the profile (the test suite runs the committed notebooks
  with ``DCGAN_PROFILE=smoke`` under nbval),
* seeds torch, numpy and random,
* prints the profile, seed and git revision, and
* returns a :class:`Run` that saves figures, tables and metrics under
  ``results/<profile>/<chapter>/`` with that caption beneath each, so no smoke output is ever
  mistaken for a result.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

PROFILES = ("smoke", "cpu", "full")
REPO = Path(__file__).resolve().parent.parent


def git_revision(repo: Path = REPO) -> str:
    """Short commit hash, with ``+dirty`` when tracked files have uncommitted changes."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, text=True, capture_output=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass
class Run:
    chapter: str
    profile: str
    seed: int
    data_root: str | None
    out: Path
    revision: str
    metrics: dict = field(default_factory=dict)

    @property
    def caption(self) -> str:
        return f"[profile={self.profile} · seed={self.seed} · rev={self.revision}]"

    def pick(self, smoke: Any, cpu: Any, full: Any) -> Any:
        """The value for the active profile."""
        return {"smoke": smoke, "cpu": cpu, "full": full}[self.profile]

    def figure(self, fig, name: str, title: str | None = None) -> None:
        """Caption ``fig`` with profile/seed/revision, save it as PNG, show it, print caption.

        Returns nothing, so a cell ending in it shows the figure once; the file is
        ``self.out / f"{name}.png"``."""
        import matplotlib.pyplot as plt
        if title:
            fig.suptitle(title)
        fig.text(0.5, -0.01, self.caption, ha="center", va="top", fontsize=7, color="0.35")
        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.show()
        print(f"Figure {name}: {self.caption}")

    def table(self, rows: list[dict], name: str, floatfmt: str = ".4g") -> None:
        """Print ``rows`` as an aligned text table with the caption; save CSV beside it
        (``self.out / f"{name}.csv"``)."""
        text = format_table(rows, floatfmt)
        print(text)
        print(f"Table {name}: {self.caption}")
        import csv
        with open(self.out / f"{name}.csv", "w", newline="") as f:
            if rows:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)

    def log_metrics(self, **values: Any) -> None:
        """Add to ``metrics.json`` (the runner's summary reads it)."""
        self.metrics.update(values)
        meta = {"chapter": self.chapter, "profile": self.profile, "seed": self.seed,
                "revision": self.revision}
        (self.out / "metrics.json").write_text(json.dumps({**meta, **self.metrics}, indent=1,
                                                          default=float))


def format_table(rows: list[dict], floatfmt: str = ".4g") -> str:
    if not rows:
        return "(empty table)"
    cols = list(rows[0])
    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)
    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(str(c).ljust(w) for c, w in zip(cols, widths)).rstrip()
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.rjust(w) if _num(v) else v.ljust(w) for v, w in zip(row, widths)).rstrip()
            for row in cells]
    return "\n".join([line, sep, *body])


def _num(s: str) -> bool:
    try:
        float(s.rstrip("%"))
        return True
    except ValueError:
        return False


def setup(chapter: str, profile: str, seed: int = 0, data_root: str | None = "",
          results_dir: str = "results") -> Run:
    """Start a chapter: resolve the profile, seed everything, print the header, make ``out``."""
    profile = os.environ.get("DCGAN_PROFILE", profile)
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r} "
                         "(set by the parameters cell, papermill -p profile, or $DCGAN_PROFILE)")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    results = Path(results_dir)
    if not results.is_absolute():
        results = (REPO if (REPO / "book").is_dir() else Path.cwd()) / results
    out = results / profile / chapter
    out.mkdir(parents=True, exist_ok=True)
    run = Run(chapter, profile, seed, data_root or None, out, git_revision())
    banner = f"Chapter {chapter} · profile={profile} · seed={seed} · rev={run.revision}"
    print(banner)
    print(f"torch {torch.__version__} · {torch.get_num_threads()} threads · "
          f"cuda={'yes' if torch.cuda.is_available() else 'no'} · outputs in {out}")
    if profile == "smoke":
        print("SMOKE PROFILE: tiny synthetic data and schedules; nothing here is a result.")
    return run
