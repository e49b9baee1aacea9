"""The book's exercises and their automatic checks (teaching with the book: issue 16).

Every chapter ends with 2-4 exercises, from quick ones (a number to predict, then measure) to
open-ended ones (find a direction in z that lengthens sleeves). Each has, in the chapter:

* a cell tagged ``student``: ``answer = None`` and what the answer should be (kept in both
  editions);
* a cell tagged ``solution``: the reference solution, which sets ``answer`` (the instructor
  edition only: ``python ci/student_edition.py`` removes it);
* a check cell: ``exercises.check("02.1", answer, run=run, ...)``, which prints one line,
  ``Exercise 02.1 right: ...``, ``Exercise 02.1 wrong: ...`` or ``Exercise 02.1 not done yet:
  ...`` (``answer is None``). A check never raises on a student's answer: an answer of the
  wrong kind, or a function of the student's that raises, is "wrong" with the reason.

The keyword arguments after the answer are what the check needs from the chapter (its run,
data, models); :func:`verdict` returns the :class:`Verdict` instead of printing it (the tests
use it). Checks run with torch's and numpy's random state saved and restored, so a check does
not change what the cells after it draw.

Sizes. :func:`sizes` gives the exercise sizes of a chapter for the run's profile (``smoke``:
seconds; ``cpu``: minutes on a laptop; ``full``: the paper's models; ``scale="tiny"``: tiny),
which the solution cells and the checks share. Answers the check cannot verify exactly (the
open-ended ones) are judged by a measured proxy, stated in the exercise and in the verdict:
e.g. a sleeve-length direction must brighten the sleeve bands (:func:`sleeve_length`) of
held-out samples more than random directions of the same length do.

:data:`EXERCISES` lists every exercise (id, chapter, title, level, what the answer is): the
tests hold every chapter to it, and the course guide (``site/course.md``) tabulates it with
the times ``ci/time_exercises.py`` measured.

Where things are. Each chapter's exercises are in their own module, ``ch01.py`` ...
``ch10.py`` (a teacher changing chapter 06's exercise edits ``ch06.py``): the chapter's
``SIZES``, then each check beside its exercise's title, level and answer, and its
``EXERCISES``. ``base.py`` holds what the checks are made of (:class:`Exercise`,
:class:`Wrong`, the answer readers); this module, what runs them: the registry
(:data:`EXERCISES`, :data:`CHAPTERS`), :func:`check`, :func:`verdict` and :func:`parse`.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10
from .base import LEVELS, Exercise, Wrong, sizes_for
from .ch09 import LONG_SLEEVED, T_SHIRT, TOPS, sleeve_length

__all__ = ["check", "verdict", "parse", "sizes", "for_chapter", "EXERCISES", "CHAPTERS", "RESULTS",
           "LEVELS", "STATUSES", "Verdict", "Exercise", "Wrong", "sleeve_length", "TOPS",
           "LONG_SLEEVED", "T_SHIRT"]

STATUSES = ("right", "wrong", "not done yet")
LINE = re.compile(r"^Exercise (\d\d\.\d) (right|wrong|not done yet): ", re.M)


@dataclass(frozen=True)
class Verdict:
    """What a check says: ``status`` (one of :data:`STATUSES`) and a one-line ``message``."""

    id: str
    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "right"

    def __str__(self) -> str:
        return f"Exercise {self.id} {self.status}: {self.message}"


CHAPTERS = {"01": ch01, "02": ch02, "03": ch03, "04": ch04, "05": ch05, "06": ch06, "07": ch07,
            "08": ch08, "09": ch09, "10": ch10}


def _registry() -> dict[str, Exercise]:
    """Every exercise by id, chapter by chapter, in order."""
    out: dict[str, Exercise] = {}
    for num, module in CHAPTERS.items():
        for ex in module.EXERCISES:
            if ex.chapter != num or ex.id in out:
                raise ValueError(f"exercise {ex.id} in {module.__name__}: another chapter's id, "
                                 "or a second exercise of that id")
            out[ex.id] = ex
    return out


EXERCISES = _registry()
RESULTS: dict[str, Verdict] = {}   # the last verdict of each exercise checked in this process


def for_chapter(chapter: str) -> list[Exercise]:
    """The exercises of a chapter ("02" or "02_training"), in order."""
    num = chapter[:2]
    return [e for e in EXERCISES.values() if e.chapter == num]


def sizes(chapter: str, run) -> dict:
    """The exercise sizes of ``chapter`` ("02" or "02_training") for ``run``'s profile (and
    scale): a dict the chapter's solution cells read and its checks use (the chapter module's
    ``SIZES``)."""
    return sizes_for(CHAPTERS[chapter[:2]].SIZES, run)


# ------------------------------------------------------------------------ checking
def _recording(run, v: Verdict) -> None:
    """Add the verdict to ``<run.out>/exercises.json`` (what a teacher collects)."""
    out = getattr(run, "out", None)
    if out is None:
        return
    path = Path(out) / "exercises.json"
    try:
        got = json.loads(path.read_text()) if path.exists() else {}
        got[v.id] = {"status": v.status, "message": v.message}
        path.write_text(json.dumps(got, indent=1) + "\n")
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def _random_state_kept():
    state = np.random.get_state()
    import random
    py = random.getstate()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            np.random.set_state(state)
            random.setstate(py)


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def verdict(id: str, answer: Any, **context: Any) -> Verdict:
    """The :class:`Verdict` of ``answer`` to exercise ``id``, given the chapter's ``context``
    (the check's keyword arguments: a missing or unknown one is a :class:`TypeError`, a bug of
    the chapter, not of the answer)."""
    if id not in EXERCISES:
        raise KeyError(f"no exercise {id!r}; exercises: {', '.join(EXERCISES)}")
    ex = EXERCISES[id]
    inspect.signature(ex.check).bind(answer, **context)   # TypeError: the chapter's mistake
    if answer is None:
        return Verdict(id, "not done yet", f"set answer in the cell above ({ex.answer})")
    try:
        with _random_state_kept():
            msg = ex.check(answer, **context)
        return Verdict(id, "right", _one_line(msg))
    except Wrong as e:
        return Verdict(id, "wrong", _one_line(e))
    except Exception as e:   # the student's function raised, or an answer of a strange kind
        return Verdict(id, "wrong", _one_line(f"checking your answer raised "
                                              f"{type(e).__name__}: {e}"))


def check(id: str, answer: Any, **context: Any) -> None:
    """Print the one-line verdict of ``answer`` to exercise ``id`` (see :func:`verdict`),
    keep it in :data:`RESULTS` and, when ``run`` is given, in ``<run.out>/exercises.json``.
    Returns nothing, so a cell ending in it shows the line once."""
    v = verdict(id, answer, **context)
    RESULTS[id] = v
    _recording(context.get("run"), v)
    print(v, flush=True)


def parse(text: str) -> dict[str, str]:
    """``{id: status}`` of every verdict line in ``text`` (an executed notebook's output)."""
    return {m.group(1): m.group(2) for m in LINE.finditer(text)}
