"""What every chapter of the book does first and under every figure and table.

A chapter's ``parameters`` cell holds plain assignments (``profile``, ``seed``, ``data_root``,
``results_dir``, ``scale`` and the chapter's hyperparameters, ``None`` meaning "the profile's");
the next cell calls :func:`setup`, which

* resolves the profile: an explicit one (``papermill -p profile full``) wins; an empty one
  means ``$DCGAN_PROFILE``, else ``cpu`` (the test suite runs the committed notebooks, whose
  cell says ``profile = ""``, with ``DCGAN_PROFILE=smoke`` under nbval),
* takes ``scale = "tiny"``: the profile's code path with tiny sizes (:meth:`Run.settings`), how
  CI runs the ``full`` profile on fixture data; its outputs say so like smoke's,
* seeds torch, numpy and random,
* prints the profile, seed and git revision, and
* returns a :class:`Run` that saves figures, tables and metrics under
  ``results/<profile>/<chapter>/`` with that caption beneath each, so no smoke output is ever
  mistaken for a result.

Book machinery, no paper section of its own: it makes every figure and table of the
chapters (sections 4-6 and the appendix) say which profile, seed and revision produced it.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

PROFILES = ("smoke", "cpu", "full")
REPO = Path(__file__).resolve().parent.parent


def git_revision(repo: Path = REPO) -> str:
    """Short commit hash, with ``+dirty`` when the chapters or the library have uncommitted
    changes."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, text=True,
                             capture_output=True, check=True).stdout.strip()
        # what a chapter's outputs depend on: the chapters' code and the library (not the
        # executed notebooks, the README or the tests)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                "book", "dcgan_lib", ":(exclude)book/*.ipynb"],
                               cwd=repo, text=True, capture_output=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _path_labels(data_root: str | Path | None = None) -> list[tuple[str, str]]:
    """(absolute prefix, label) pairs for :func:`rel`, longest prefix first."""
    labels = [(str(REPO), "."), (str(Path.home()), "~")]
    env = os.environ.get("DCGAN_DATA")
    if env:
        labels.append((str(Path(env).expanduser().resolve()), "$DCGAN_DATA"))
    if data_root:
        labels.append((str(Path(data_root).expanduser().resolve()), "<data root>"))
    return sorted(labels, key=lambda pl: -len(pl[0]))


def rel(path: str | Path, data_root: str | Path | None = None) -> str:
    """``path`` as outputs print it, with no machine path in it: relative to the repository
    (``results/cpu/02_training``), else ``<data root>/...`` (when ``data_root`` is given),
    ``$DCGAN_DATA/...`` or ``~/...`` (the home folder, e.g. ``~/.cache/dcgan_lib/...``);
    any other path as given."""
    p = Path(path).expanduser()
    p = p.resolve() if p.is_absolute() else p
    for prefix, label in _path_labels(data_root):
        try:
            tail = p.relative_to(prefix)
        except ValueError:
            continue
        if label == ".":
            return tail.as_posix() or "."
        return label if str(tail) == "." else f"{label}/{tail.as_posix()}"
    return str(path)


def shorten_paths(text: str, data_root: str | Path | None = None) -> str:
    """``text`` with every absolute path under the repository, the data root or the home
    folder rewritten as :func:`rel` writes it (for messages that embed paths)."""
    import re
    for prefix, label in _path_labels(data_root):
        lead = "" if label == "." else label
        pat = re.escape(prefix) + (r"/" if label == "." else r"(?=/|\b|$)")
        text = re.sub(pat, lambda _m, lead=lead: lead, text)
    return text


def _formatwarning(message, category, filename, lineno, line=None):
    """``warnings.formatwarning`` with the file written by :func:`rel` (a warning in a chapter
    names ``dcgan_lib/metrics.py`` or ``~/...``, not the machine's folders)."""
    import linecache
    if line is None:
        line = linecache.getline(filename, lineno)
    return _PREVIOUS_FORMATWARNING(message, category, rel(filename), lineno, line)


def _install_warning_format() -> None:
    global _PREVIOUS_FORMATWARNING
    import warnings
    current = warnings.formatwarning
    _PREVIOUS_FORMATWARNING = getattr(current, "dcgan_wraps", current)   # once, even on reload
    _formatwarning.dcgan_wraps = _PREVIOUS_FORMATWARNING
    warnings.formatwarning = _formatwarning


_install_warning_format()


def save_figure(fig, path: Path, dpi: int = 110) -> None:
    """``fig`` as a PNG at ``path``, written atomically: out of disk space it is one
    :class:`~dcgan_lib.checkpoint.DiskFullError` naming the file, the bytes it needed and the
    bytes free, and the figure already there (if any) is kept whole."""
    import io

    from .checkpoint import DiskFullError, write_bytes_atomic
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    try:
        write_bytes_atomic(path, buf.getvalue())
    except DiskFullError as err:
        err.kept = f"the figure already at {path} (if any) is kept"
        err.advice = "Free some space, then run the chapter again"
        raise


@dataclass
class Run:
    """One chapter's run, made by :func:`setup`: where its outputs go and how they are
    captioned.

    ``chapter``: the chapter's name, e.g. ``"02_training"``; ``profile``: ``smoke``, ``cpu`` or
    ``full``; ``seed``: the seed of torch, numpy and random; ``data_root``: where the data
    sets are (None: the library's default); ``out``: the folder its figures (PNG), tables
    (CSV) and ``metrics.json`` go to, ``results/<profile>/<chapter>/``; ``revision``: the
    git revision (:func:`git_revision`); ``metrics``: what :meth:`log_metrics` has recorded;
    ``scale``: ``""`` or ``"tiny"``; ``results``: the results root above ``out``.
    """

    chapter: str
    profile: str
    seed: int
    data_root: str | None
    out: Path
    revision: str
    metrics: dict = field(default_factory=dict)
    scale: str = ""                # "" or "tiny" (see setup)
    results: Path | None = None    # the results root: out is results/<profile>/<chapter>[/...]
    started: float = field(default_factory=lambda: time.perf_counter())

    @property
    def caption(self) -> str:
        """``[profile=... · seed=... · rev=...]`` (with the scale when tiny): the line under
        every figure and table."""
        scale = f" · scale={self.scale}" if self.scale else ""
        return f"[profile={self.profile}{scale} · seed={self.seed} · rev={self.revision}]"

    def pick(self, smoke: Any, cpu: Any, full: Any) -> Any:
        """The one of ``smoke``, ``cpu``, ``full`` that belongs to the active profile."""
        return {"smoke": smoke, "cpu": cpu, "full": full}[self.profile]

    def settings(self, smoke: dict, cpu: dict, full: dict, tiny: dict | None = None,
                 **chosen: Any) -> dict:
        """The chapter's settings: the active profile's dict; at ``scale="tiny"`` the values
        of ``tiny`` replace those of the same name; then every keyword argument that is not
        ``None`` (the reader's parameters, e.g. ``epochs=epochs``) replaces the setting of
        its name. Prints which settings the parameters changed; an unknown name is an error."""
        out = dict({"smoke": smoke, "cpu": cpu, "full": full}[self.profile])
        for source, values in (("tiny", tiny if self.scale == "tiny" else None),
                               ("parameter", chosen)):
            for key, value in (values or {}).items():
                if key not in out:
                    raise ValueError(f"{source} {key}={value!r}: not a setting of chapter "
                                     f"{self.chapter} (its settings: {', '.join(out)})")
                if value is not None:
                    out[key] = value
        changed = {k: v for k, v in chosen.items() if v is not None}
        if changed:
            print("set by parameters: " + ", ".join(f"{k}={v!r}" for k, v in changed.items()))
        return out

    def figure(self, fig, name: str, title: str | None = None, caption: str = "") -> None:
        """Caption the matplotlib figure ``fig`` with profile, seed and revision
        (:attr:`caption`, under it; ``title`` above it), save it as ``self.out /
        f"{name}.png"`` (110 dpi), show it and print the caption line: ``caption`` (what to
        look at) and the stamp.

        Returns nothing, so a cell ending in it shows the figure once."""
        import matplotlib.pyplot as plt
        place_title_and_stamp(fig, title, self.caption)
        path = self.out / f"{name}.png"
        save_figure(fig, path)
        plt.show()
        print(f"Figure {name}: {caption + ' ' if caption else ''}{self.caption}")

    def elapsed(self) -> float:
        """Seconds since :func:`setup` made this run (the chapter's wall-clock time so far)."""
        return time.perf_counter() - self.started

    def table(self, rows: list[dict], name: str, floatfmt: str = ".4g") -> None:
        """Print ``rows`` (dicts with the same keys, the columns) as an aligned text table
        (:func:`format_table`, floats as ``floatfmt``) followed by the caption, and save them,
        unrounded, as ``self.out / f"{name}.csv"``."""
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
        """Record ``values`` (name=number or text) in :attr:`metrics` and rewrite
        ``self.out / "metrics.json"`` with them and the run's chapter, profile, seed, revision
        (and scale); ``ci/run_book.py``'s summary reads it."""
        self.metrics.update(values)
        meta = {"chapter": self.chapter, "profile": self.profile, "seed": self.seed,
                "revision": self.revision, **({"scale": self.scale} if self.scale else {})}
        (self.out / "metrics.json").write_text(json.dumps({**meta, **self.metrics}, indent=1,
                                                          default=float))


    def verdicts(self, measured: dict[str, Any],
                 scope: str | dict[str, str] | None = None) -> list[dict]:
        """End the chapter with its verdict table: every claim of this chapter in
        :data:`dcgan_lib.claims.CLAIMS`, decided by its rule from ``measured`` (metric name ->
        a number, ``(value, spread)`` or a :class:`dcgan_lib.claims.Measure`; a claim whose
        metric is missing is ``not run here``). Prints the table (claim | paper | this run |
        baseline | verdict, then each rule's reason) with the caption, saves it as
        ``verdicts.csv`` and ``verdicts.json`` in ``self.out``, adds the measurements to
        ``metrics.json`` and, inside a notebook, attaches the JSON to the output's metadata
        (key :data:`VERDICTS_KEY`), where ``ci/claims_table.py`` reads it for the README.
        ``scope`` says what the verdicts stand on (:data:`dcgan_lib.claims.SCOPES`, e.g.
        ``"paper data: MNIST"``), for all rows or per claim id. Returns the rows."""
        from . import claims
        if not claims.for_chapter(self.chapter):
            raise ValueError(f"chapter {self.chapter} has no claims in dcgan_lib.claims.CLAIMS")
        rows = claims.decide(self.chapter, measured, scope)
        payload = {"format": VERDICTS_FORMAT, "chapter": self.chapter, "profile": self.profile,
                   "scale": self.scale, "seed": self.seed, "revision": self.revision,
                   "rows": rows}
        text = verdicts_text(payload)
        (self.out / "verdicts.json").write_text(json.dumps(payload, indent=1) + "\n")
        import csv
        with open(self.out / "verdicts.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id"])
            w.writeheader()
            w.writerows(rows)
        logged = {}
        for name, value in measured.items():
            m = claims.Measure.of(value)
            logged[name] = m.value
            if m.spread is not None:
                logged[f"{name} 95% spread"] = m.spread
        self.log_metrics(**logged)
        shell = None
        try:
            from IPython import get_ipython
            shell = get_ipython()
        except ImportError:
            pass
        if shell is not None and getattr(shell, "kernel", None) is not None:
            from IPython.display import publish_display_data
            print(end="", flush=True)            # earlier prints of the cell stay above it
            out = verdicts_output(payload)
            publish_display_data(out["data"], out["metadata"])
        else:
            print(text)
        return rows


from .claims import VERDICTS_KEY  # noqa: E402  (the output metadata key of a verdict table)
VERDICTS_FORMAT = "dcgan-verdicts/1"


def verdicts_text(payload: dict) -> str:
    """The printed verdict table of a :meth:`Run.verdicts` payload, with its caption line, each
    verdict's reason, test and scope under it, and the claims' amendments (protocols changed
    after a reading), each with its earlier reading."""
    from . import claims
    rows = payload["rows"]
    table = format_table([{"claim": f"{r['id']}: {r['claim']}", "paper": r["paper"],
                           "this run": r["this run"], "baseline": r["baseline"],
                           "verdict": r["verdict"]} for r in rows])
    scale = f" · scale={payload['scale']}" if payload.get("scale") else ""
    caption = (f"[profile={payload['profile']}{scale} · seed={payload['seed']} · "
               f"rev={payload['revision']}]")
    why = []
    for r in rows:
        why.append(f"  {r['id']}: {r['why']} (rule: {r['rule']})")
        if r.get("test"):
            why.append(f"    test: {r['test']}")
        if r.get("scope"):
            why.append(f"    scope: {r['scope']}")
    amended = [a for r in rows for a in claims.amendments_of(r["id"])]
    notes = ["amended after a reading had been seen (exploratory, not confirmatory):"] + [
        f"  {a.claim} ({a.date}): {a.change}; before: {a.reading_before} -> {a.verdict_before}"
        for a in amended] if amended else []
    level = ("level: every interval is a 95% two-sided one; each rule then asks one-sided "
             "whether the claim's direction holds beyond it")
    return "\n".join([table, f"Verdicts {payload['chapter']} (rules: dcgan_lib/claims.py): "
                      f"{caption}", level, "why:", *why, *notes])


def verdicts_output(payload: dict) -> dict:
    """The notebook output (nbformat ``display_data``) a verdict table is published as: the
    text for readers, the payload under ``metadata[VERDICTS_KEY]`` for machines."""
    return {"output_type": "display_data", "data": {"text/plain": verdicts_text(payload)},
            "metadata": {VERDICTS_KEY: payload}}


def place_title_and_stamp(fig, title: str | None, stamp: str) -> None:
    """Put ``title`` (as the suptitle; or the figure's own suptitle) above everything the
    figure draws and ``stamp`` below it, so neither overlaps a label, a title or an axes.

    With constrained layout the layout engine makes room for the title. Otherwise the figure
    is drawn once, its layout frozen, and the title placed above the bounding box of all its
    artists; in every case the stamp goes under that box (outside the axes: the figure is
    saved with ``bbox_inches="tight"``)."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    constrained = isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    sup = fig.suptitle(title) if title else getattr(fig, "_suptitle", None)
    fig.draw_without_rendering()             # run the layout engine once, then freeze it
    if fig.get_layout_engine() is not None:
        fig.set_layout_engine("none")
    renderer = fig._get_renderer()
    h_in = fig.get_figheight()
    pad = 4 / 72                             # 4 points, in inches
    if sup is not None and not constrained:
        sup.set_visible(False)
        box = fig.get_tightbbox(renderer)    # inches
        sup.set_visible(True)
        sup.set_y((box.y1 + pad) / h_in)
        sup.set_verticalalignment("bottom")
    box = fig.get_tightbbox(renderer)
    fig.text((box.x0 + box.x1) / 2 / fig.get_figwidth(), (box.y0 - pad) / h_in, stamp,
             ha="center", va="top", fontsize=7, color="0.35")


def format_table(rows: list[dict], floatfmt: str = ".4g") -> str:
    """``rows`` (dicts; the first one's keys are the columns) as an aligned plain-text table:
    a header, a rule, one line a row; floats formatted by ``floatfmt``, numbers
    right-aligned, text left-aligned."""
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


SCALES = ("", "tiny")


def resolve_profile(profile: str = "") -> str:
    """The profile a chapter runs: ``profile`` when given (an explicit ``-p profile`` wins),
    else ``$DCGAN_PROFILE``, else ``cpu``; a one-line error names the source of a bad one."""
    source = "the parameters cell or papermill -p profile"
    if not profile:
        profile, source = os.environ.get("DCGAN_PROFILE", ""), "$DCGAN_PROFILE"
    profile = profile or "cpu"
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r} (from {source}); "
                         "set one of those")
    return profile


def results_root(results_dir: str | Path = "results") -> Path:
    """``results_dir`` as an absolute path: a relative one is taken from the repository root
    (from the working directory outside a checkout), never from the notebook's folder."""
    results = Path(results_dir)
    if not results.is_absolute():
        results = (REPO if (REPO / "book").is_dir() else Path.cwd()) / results
    return results


def setup(chapter: str, profile: str = "", seed: int = 0, data_root: str | None = "",
          results_dir: str = "results", scale: str = "") -> Run:
    """Start a chapter: resolve the profile (:func:`resolve_profile`), check ``scale``
    (``""`` or ``"tiny"``), seed torch, numpy and random with ``seed``, make
    ``<results_dir>/<profile>/<chapter>/``, print the header (profile, seed, revision, torch,
    threads, CUDA) and return the chapter's :class:`Run`. ``data_root`` ``""`` or None: the
    library's default data folder."""
    profile = resolve_profile(profile)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES} ('' is the profile's own sizes), "
                         f"got {scale!r}; set scale in the parameters cell or papermill -p scale")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    results = results_root(results_dir)
    out = results / profile / chapter
    out.mkdir(parents=True, exist_ok=True)
    run = Run(chapter, profile, seed, data_root or None, out, git_revision(), scale=scale,
              results=results)
    banner = f"Chapter {chapter} · profile={profile}{' · scale=' + scale if scale else ''} · " \
             f"seed={seed} · rev={run.revision}"
    print(banner)
    print(f"torch {torch.__version__} · {torch.get_num_threads()} threads · "
          f"cuda={'yes' if torch.cuda.is_available() else 'no'} · outputs in {rel(out)}")
    if profile == "smoke":
        print("SMOKE PROFILE: tiny synthetic data and schedules; nothing here is a result.")
    if scale == "tiny":
        print(f"TINY SCALE: the {profile} profile's code path with tiny sizes (a test of the "
              "pipeline); nothing here is a result.")
    return run
