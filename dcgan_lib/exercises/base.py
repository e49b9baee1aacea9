"""What every chapter's exercise checks are made of (the book's exercises: issue 16).

:func:`exercise` makes a check function an :class:`Exercise` (id, title, level, what the
answer is); a check raises :class:`Wrong` with the reason when the answer is wrong. The answer
readers (:func:`number`, :func:`integer`, :func:`vector`, :func:`mapping`, :func:`choice`,
:func:`function`) turn a student's answer into what the check compares, or say in one line
what kind of answer was expected; :func:`close` compares numbers, :func:`call` runs the
student's function. :func:`sizes_for` reads a chapter's ``SIZES`` for a run's profile. The
chapters' checks are in ``ch01.py`` ... ``ch10.py``; :mod:`dcgan_lib.exercises` runs them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

LEVELS = ("quick", "practice", "open-ended")


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``id`` ("02.1": chapter 02, first exercise), ``title``, ``level``
    (quick, practice, open-ended), ``answer`` (what the student's answer is) and its check."""

    id: str
    title: str
    level: str
    answer: str
    check: Callable[..., str]

    @property
    def chapter(self) -> str:
        return self.id.split(".")[0]


class Wrong(Exception):
    """Raised by a check: the answer is wrong, for the reason in the message (one line)."""


def exercise(id: str, title: str, level: str, answer: str):
    """Make the function below an :class:`Exercise` with ``id``, ``title``, ``level`` and
    ``answer``. The check takes the answer and the chapter's context as keyword arguments and
    returns the message of a right answer, or raises :class:`Wrong`. A chapter's module lists
    its exercises in its ``EXERCISES``."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")

    def make(fn: Callable[..., str]) -> Exercise:
        return Exercise(id, title, level, answer, fn)
    return make


def sizes_for(table: dict[str, dict], run) -> dict:
    """The row of a chapter's ``SIZES`` table (``{profile: sizes}``, and ``"tiny"``: what
    replaces them at ``scale="tiny"``, CI's full profile on fixture data) for ``run``'s profile
    and scale; ``{}`` for a chapter without sizes."""
    if not table:
        return {}
    out = dict(table[run.profile])
    if getattr(run, "scale", "") == "tiny":
        out.update(table.get("tiny", {}))
    return out


# ------------------------------------------------------------------- answer helpers
def number(answer, what: str = "a number") -> float:
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.number, torch.Tensor)):
        raise Wrong(f"the answer should be {what}, got {type(answer).__name__}")
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            raise Wrong(f"the answer should be {what}, got a tensor of shape "
                        f"{tuple(answer.shape)}")
        answer = answer.item()
    x = float(answer)
    if not math.isfinite(x):
        raise Wrong(f"the answer should be {what}, got {x}")
    return x


def integer(answer, what: str = "an integer") -> int:
    x = number(answer, what)
    if x != int(x):
        raise Wrong(f"the answer should be {what}, got {x}")
    return int(x)


def vector(answer, n: int | None = None, what: str = "a list or tensor of numbers"):
    try:
        t = torch.as_tensor(answer, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"the answer should be {what}, got {type(answer).__name__}") from None
    if n is not None and len(t) != n:
        raise Wrong(f"the answer should hold {n} numbers, got {len(t)}")
    return t


def mapping(answer, keys: tuple[str, ...]) -> dict:
    if not isinstance(answer, dict):
        raise Wrong(f"the answer should be a dict with keys {', '.join(keys)}, got "
                    f"{type(answer).__name__}")
    missing = [k for k in keys if k not in answer]
    if missing:
        raise Wrong(f"the answer dict lacks {', '.join(missing)}")
    return answer


def choice(value, options: tuple[str, ...], what: str) -> str:
    v = str(value).strip().lower().replace("about the same", "same")
    if v not in options:
        raise Wrong(f"{what} should be one of {', '.join(options)}, got {value!r}")
    return v


def close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    return bool(torch.allclose(torch.as_tensor(a, dtype=torch.float64),
                               torch.as_tensor(b, dtype=torch.float64), rtol=rtol, atol=atol))


def function(answer, form: str):
    """The student's function; :class:`Wrong` when the answer is not one (``form`` shows what
    it should look like: "lambda logits: ...")."""
    if not callable(answer):
        raise Wrong(f"the answer should be a function ({form}), got {type(answer).__name__}")
    return answer


def call(fn, *args):
    """The student's function applied to ``args``; :class:`Wrong` when it raises."""
    try:
        return fn(*args)
    except Exception as e:
        raise Wrong(f"your function raised {type(e).__name__}: {e}") from None
