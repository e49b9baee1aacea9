"""The run folder of the book's trainer (chapter 2; paper section 4's long runs).

A run's folder (``cfg.out``) holds its step checkpoints ``ckpt-XXXXXXXX.pt``, ``best.pt``,
``log.jsonl``, ``epochs.jsonl``, ``config.json`` and ``samples/``. :class:`RunFolder` is what
:class:`dcgan_lib.train.Trainer` knows of it, apart from its training loop (as PyTorch Lightning
keeps its checkpoint connector apart from its fit loop):

* the lock (:class:`dcgan_lib.checkpoint.RunLock`) that keeps a second run out, and on a failed
  start the removal of the folders the start created;
* a fresh start, refused over an earlier run unless ``overwrite``;
* temporary files a killed write left, removed once the lock is held;
* the good (readable) checkpoints, each file read at most once, and the newest of them kept
  when a run cannot go on;
* saving checkpoints atomically, keeping the last ``keep_last`` readable step checkpoints;
* the checkpoint a resume starts from (the newest readable one, never step 0 on its own), and
  the logs cut back to its step;
* ``config.json``: the config and its history (the length every start and resume asked for,
  every setting a resume changed).

It reads checkpoints with the loader it is given (the trainer's
:func:`dcgan_lib.train.load_checkpoint`), so that this module does not import the trainer's.
"""
from __future__ import annotations

import json
import sys
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from . import checkpoint as ckpt_mod
from .checkpoint import (CheckpointError, DiskFullError, NothingToResumeError, RunLock,
                         read_jsonl, save_atomic, write_bytes_atomic, write_jsonl)

__all__ = ["RunFolder", "list_checkpoints"]

RUN_FILES = ("best.pt", "log.jsonl", "epochs.jsonl", "config.json")  # besides the ckpt-*.pt


def list_checkpoints(out: str | Path) -> list[Path]:
    """Step checkpoints ``ckpt-XXXXXXXX.pt`` in ``out``, oldest first."""
    return sorted(Path(out).glob("ckpt-*.pt"))


class RunFolder:
    """The run folder ``cfg.out`` of one run of ``cfg`` (a :class:`dcgan_lib.train.TrainConfig`).

    ``load(path, map_location="cpu") -> dict`` loads a checkpoint that a resume accepts and
    raises :class:`CheckpointError` for any other. Only the ``main`` process (rank 0 under
    torchrun) takes the lock, writes, removes and prints; the others only read.
    """

    def __init__(self, cfg, load: Callable[..., dict], main: bool = True):
        self.cfg, self.load, self.main = cfg, load, main
        self.out = Path(cfg.out)
        self.lock = RunLock(self.out)
        self.history: list[dict] = [{"step": 0, "event": "start", **self.length()}]
        self._readable_seen: dict[str, tuple] = {}  # name -> (size, mtime, readable)
        self._made: list[Path] = []  # the folders a failed start removes again

    def say(self, msg: str) -> None:
        """A line on stderr, from the main process."""
        if self.main:
            print(msg, file=sys.stderr, flush=True)

    # -- the lock ------------------------------------------------------------------
    def open(self, resume: bool = False) -> None:
        """Take the folder for a run (created if missing), before anything reads or writes
        it; a resume needs the folder to exist."""
        if resume and not self.out.is_dir():
            raise NothingToResumeError(f"cannot resume: {self.out} does not exist; start a new "
                                       "run without --resume, or give the folder of the run "
                                       "with --out")
        # --out and the parents it creates, deepest first
        self._made = [p for p in (self.out, *self.out.parents) if not p.exists()]
        self.hold()
        if self.main and self.lock.took_over:
            self.say(f"took over the lock of {self.out} left by a run that is no longer "
                     f"running (pid {self.lock.took_over.get('pid')})")

    def hold(self) -> None:
        """Hold the lock (again, for a later :meth:`Trainer.fit`), in the main process."""
        if self.main:
            self.lock.acquire()

    def abandon(self, err: BaseException) -> None:
        """A start failed with ``err``: say which checkpoint is kept when the disk is full,
        release the lock, and remove the folders :meth:`open` created (each only while
        empty)."""
        if isinstance(err, DiskFullError) and err.kept is None and self.main:
            err.kept = self.kept()
        self.close()
        if self._made and self.main:
            (self.out / ".lock").unlink(missing_ok=True)
            for p in self._made:
                try:
                    p.rmdir()
                except OSError:
                    break

    def close(self) -> None:
        """Release the lock."""
        self.lock.release()

    # -- the run's files -------------------------------------------------------------
    def files(self) -> list[Path]:
        """The files of a run in the folder: step checkpoints, then :data:`RUN_FILES`."""
        return [*list_checkpoints(self.out),
                *(p for n in RUN_FILES if (p := self.out / n).exists())]

    def start_fresh(self, overwrite: bool = False) -> None:
        """Start a new run: refuse a folder that holds one, unless ``overwrite``, which removes
        it (its files and sample grids)."""
        old = self.files()
        if not old:
            return
        if not overwrite:
            raise FileExistsError(
                f"{self.out} already holds a run ({', '.join(p.name for p in old[:4])}); pass "
                "--resume (resume=True) to continue it, --overwrite (overwrite=True) to replace "
                "it, or pick another --out")
        if self.main:  # everything else is checked: now the old run may go
            for p in [*old, *(self.out / "samples").glob("step-*.png")]:
                p.unlink(missing_ok=True)

    def remove_stale_temp(self) -> None:
        """Remove the ``.<name>.tmp<pid>`` files of this run folder that a process killed
        while writing left behind (:func:`dcgan_lib.checkpoint.remove_stale_temp`); with the
        lock held, no live process is writing them."""
        if not self.main:
            return
        removed = ckpt_mod.remove_stale_temp(self.out)
        if removed:
            names = ", ".join(f"{p.name} ({ckpt_mod.megabytes(n)})" for p, n in removed[:3])
            more = f" and {len(removed) - 3} more" if len(removed) > 3 else ""
            self.say(f"removed {len(removed)} temporary file(s) left in {self.out} by a write "
                     f"that was cut short: {names}{more}")

    # -- checkpoints -----------------------------------------------------------------
    def readable(self, path: Path) -> bool:
        """Whether ``path`` loads as a checkpoint a resume accepts, remembered per file (name,
        size, modification time) so that each checkpoint is read at most once."""
        try:
            st = path.stat()
        except OSError:
            return False
        seen = self._readable_seen.get(path.name)
        if seen and seen[:2] == (st.st_size, st.st_mtime_ns):
            return seen[2]
        try:
            self.load(path)
            ok = True
        except (CheckpointError, OSError):
            ok = False
        self._readable_seen[path.name] = (st.st_size, st.st_mtime_ns, ok)
        return ok

    def good_checkpoints(self) -> list[Path]:
        """The step checkpoints that load, oldest first (unreadable ones are left out)."""
        return [p for p in list_checkpoints(self.out) if self.readable(p)]

    def kept(self) -> str:
        """What a run that cannot go on leaves: its newest readable checkpoint."""
        good = self.good_checkpoints()
        return (f"the last good checkpoint {good[-1]} is kept" if good else
                "no checkpoint of this run was written yet")

    def checkpoint_path(self, step: int, name: str | None = None) -> Path:
        """``ckpt-<step>.pt`` (or ``name``) in the folder."""
        return self.out / (name or f"ckpt-{step:08d}.pt")

    def save(self, state: dict, name: str | None = None) -> Path:
        """Write ``state`` (a trainer's, with its ``step``) as a checkpoint (``ckpt-<step>.pt``,
        or ``name``) atomically; keep the last ``keep_last`` readable step checkpoints (an
        unreadable one takes no slot and is left as it is)."""
        path = self.checkpoint_path(state["step"], name)
        save_atomic(state, path)
        if name is None:
            st = path.stat()
            self._readable_seen[path.name] = (st.st_size, st.st_mtime_ns, True)
            for old in self.good_checkpoints()[:-self.cfg.keep_last]:
                old.unlink()
                self._readable_seen.pop(old.name, None)
        return path

    def find_resume(self, map_location="cpu") -> tuple[Path, dict, list[str]]:
        """``(path, checkpoint, skipped)``: the newest readable checkpoint, loaded, and the
        names of the newer ones skipped as unreadable (each with a warning);
        :class:`NothingToResumeError`, naming what the folder holds, when there is none."""
        skipped = []
        for path in reversed(list_checkpoints(self.out)):
            try:
                return path, self.load(path, map_location=map_location), skipped
            except CheckpointError as err:
                warnings.warn(f"skipping unreadable checkpoint: {err}", stacklevel=3)
                skipped.append(path.name)
        found = [f"{p.name} (unreadable)" for p in list_checkpoints(self.out)]
        if (self.out / "log.jsonl").exists():
            found.append(f"log.jsonl ({len(read_jsonl(self.out / 'log.jsonl'))} steps)")
        raise NothingToResumeError(
            f"cannot resume {self.out}: no readable checkpoint (found: "
            f"{', '.join(found) or 'no run files'}); restore a checkpoint into the folder, or "
            "start again from step 0 with --overwrite instead of --resume")

    def truncate_logs(self, step: int) -> None:
        """Drop log records written after ``step``, the checkpoint's a run resumes from (no
        step twice)."""
        if not self.main:
            return
        for name in ("log.jsonl", "epochs.jsonl"):
            path = self.out / name
            if path.exists():
                write_jsonl(path, [r for r in read_jsonl(path) if r.get("step", 0) <= step])

    # -- config.json -----------------------------------------------------------------
    def length(self) -> dict:
        """The length this run is asked for, as recorded in each history event."""
        return {"steps": self.cfg.steps, "epochs": self.cfg.epochs}

    def resumed(self, saved: list[dict] | None, step: int, changed: dict) -> None:
        """The history of a run resumed at ``step``: the checkpoint's (``saved``) and this
        resume, with the settings changed since (``{name: [before, now]}``)."""
        self.history = [*(saved or [{"step": 0, "event": "start"}]),
                        {"step": step, "event": "resume", **self.length(), "changed": changed}]

    def write_config(self) -> None:
        """``config.json``: the config and its history, written atomically."""
        if self.main:
            rec = {**asdict(self.cfg), "history": self.history}
            write_bytes_atomic(self.out / "config.json", json.dumps(rec, indent=1).encode())
