"""Run folders that are never lost: atomic writes, safe loads, a lock, crash-proof logs.

The paper's runs (section 4: LSUN bedrooms, faces, ImageNet-1k) take hours to days, so a run
folder must survive whatever happens to the process that writes it:

* :func:`save_atomic` serialises to memory, writes a temporary file in the same folder and
  renames it over the target, so a checkpoint is either the old one or the new one, never half
  of each. Out of disk space it removes the temporary file and raises :class:`DiskFullError`
  naming the file, the bytes it needed and the bytes free.
* :func:`load` reads with ``torch.load(weights_only=True)``: tensors and plain Python data only.
  A file that carries anything else (a pickled ``__reduce__`` payload, for instance) is refused
  with :class:`UnsafeCheckpointError` before any of it runs.
* :class:`RunLock` keeps two runs out of one folder (an ``flock`` on ``<folder>/.lock``, which
  the kernel releases when its process dies, so a killed run's lock is taken over at once).
* :class:`JsonlWriter` appends one JSON record a line; :func:`read_jsonl` drops a partial line
  (a run killed or out of space while writing) or a malformed one (not a JSON object, a
  ``step`` that is not an integer) with a warning naming the file and line instead of failing.
* :func:`remove_stale_temp` removes the temporary files that a process killed in the middle of
  :func:`write_bytes_atomic` left behind (``.<name>.tmp<pid>``), and only those.

Every error a user can cause is a subclass of :class:`RunFolderError` with a one-line message
that names the file and says what to do.
"""
from __future__ import annotations

import errno
import fcntl
import io
import json
import os
import pickle
import pickletools
import re
import shutil
import socket
import time
import warnings
import zipfile
from pathlib import Path

import torch

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class RunFolderError(RuntimeError):
    """A problem with a run folder or a file in it that the user can act on."""


class CheckpointError(RunFolderError):
    """A checkpoint that cannot be read: truncated, corrupt, or not written by dcgan_lib."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint refused because loading it could run code (it is more than tensors and
    plain data)."""


class RunLockedError(RunFolderError):
    """Another live process holds the run folder's lock."""


class NothingToResumeError(RunFolderError):
    """``resume`` asked for, but the folder holds no readable checkpoint."""


class DiskFullError(RunFolderError):
    """No space left on the device while writing ``path``; ``kept`` names what survives and
    ``advice`` what to do (for a training run: free some space, then ``--resume``)."""

    def __init__(self, path: Path, needed: int, free: int, kept: str | None = None,
                 advice: str | None = None):
        super().__init__(path, needed, free, kept)
        self.path, self.needed, self.free, self.kept = Path(path), needed, free, kept
        self.advice = advice

    def __str__(self) -> str:
        kept = self.kept or "nothing was overwritten"
        advice = self.advice or "Free some space, then continue with --resume"
        return (f"no space left on the device writing {self.path}: it needs {megabytes(self.needed)}, "
                f"{megabytes(self.free)} free; {kept}. {advice}")


def megabytes(n: int) -> str:
    """``n`` bytes as a short human-readable size (kB below a megabyte)."""
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.1f} kB"


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0


def _write_all(fd: int, data: bytes | memoryview, path: Path) -> None:
    """``os.write`` until all of ``data`` is written; out of space -> :class:`DiskFullError`."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except OSError as err:
            if err.errno in NO_SPACE:
                raise DiskFullError(path, len(view), _free_bytes(path.parent)) from None
            raise
        view = view[n:]


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename:
    readers see the old file or the new one, never a mix. No temporary file is left behind
    (but by a process killed in the middle: :func:`remove_stale_temp`). Out of space at any
    stage (creating, writing, syncing, renaming) raises :class:`DiskFullError`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data, path)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except DiskFullError as err:
        err.needed = len(data)
        raise
    except OSError as err:
        if err.errno in NO_SPACE:
            raise DiskFullError(path, len(data), _free_bytes(path.parent)) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


# the temporary files of write_bytes_atomic in a run folder: ".<name>.tmp<pid>" for the files
# a run writes atomically (checkpoints, best.pt, config.json, the rewritten logs, sample grids)
_TEMP = re.compile(r"\.(ckpt-\d+\.pt|best\.pt|config\.json|log\.jsonl|epochs\.jsonl|"
                   r"step-\d+\.png)\.tmp\d+")


def remove_stale_temp(folder: str | Path) -> list[tuple[Path, int]]:
    """Remove the temporary files that :func:`write_bytes_atomic` leaves when its process is
    killed mid-write (``.ckpt-00000400.pt.tmp1234``, ...) from the run folder ``folder`` and its
    ``samples/``; only names of that pattern, nothing else. Call it with the folder's lock
    held (no live writer then). Returns ``(path, bytes)`` of each file removed."""
    removed = []
    for d in (Path(folder), Path(folder) / "samples"):
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if _TEMP.fullmatch(p.name) and p.is_file() and not p.is_symlink():
                size = p.stat().st_size
                p.unlink(missing_ok=True)
                removed.append((p, size))
    return removed


def save_atomic(obj: dict, path: str | Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes_atomic(path, buf.getbuffer())


def _pickle_globals(path: Path) -> list[str]:
    """The Python globals a checkpoint's pickle refers to (read, never executed)."""
    try:
        with zipfile.ZipFile(path) as z:
            raw = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    except (zipfile.BadZipFile, StopIteration, KeyError, OSError):
        raw = path.read_bytes()  # a plain (legacy) pickle
    found, strings = [], []
    try:
        for op, arg, _ in pickletools.genops(raw):
            if op.name in ("GLOBAL", "INST"):
                found.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(".".join(strings[-2:]))
            if isinstance(arg, str):
                strings.append(arg)
    except (ValueError, EOFError, pickle.UnpicklingError):
        pass
    return [g for g in dict.fromkeys(found) if not g.startswith(("torch.", "collections."))]


def load(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``torch.load(weights_only=True)``: tensors and plain data only.

    Raises :class:`FileNotFoundError` (no such file), :class:`UnsafeCheckpointError` (the file
    holds other Python objects; nothing of it is run) or :class:`CheckpointError` (unreadable).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first (dcgan train ...)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        what = ", ".join(_pickle_globals(path)[:3]) or str(err).splitlines()[0][:80]
        raise UnsafeCheckpointError(
            f"refused {path}: it holds Python objects beyond tensors and plain data ({what}), "
            "which could run code when loaded; load only checkpoints written by dcgan_lib, "
            "from a source you trust") from None
    except (RuntimeError, EOFError, KeyError, ValueError, OSError, IndexError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:120]
        raise CheckpointError(f"checkpoint {path} cannot be read ({first}); it is truncated or "
                              "not a checkpoint: use an earlier ckpt-*.pt of the same run") from None


# ---------------------------------------------------------------- the lock
class RunLock:
    """An exclusive lock on a run folder: ``<folder>/.lock``, held with ``flock``.

    The kernel drops an ``flock`` when its process ends, however it ends, so a lock left by a
    killed run is stale by construction and the next run takes it over (``took_over`` then
    holds what the dead run wrote in the file: pid, host, start time). The file itself stays
    (removing it would let two runs lock two different files).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
        self.fd: int | None = None
        self.took_over: dict | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> "RunLock":
        if self.fd is not None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started "
                   f"{holder.get('started', '?')}") if holder else "another process"
            raise RunLockedError(f"{self.folder} is in use by another run ({who}); wait for it "
                                 "to finish, stop it, or pick another --out") from None
        self.took_over = _read_holder(fd) or None
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        except OSError:
            pass
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------- logs
class JsonlWriter:
    """Append JSON records to ``path``, one a line, each with a single unbuffered write."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as err:
            if err.errno in NO_SPACE:  # no room for a new file's entry
                raise DiskFullError(self.path, 0, _free_bytes(self.path.parent)) from None
            raise

    def write(self, record: dict) -> None:
        _write_all(self.fd, (json.dumps(record) + "\n").encode(), self.path)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _malformed(record) -> str | None:
    """Why a parsed log line is not a record a run wrote, or None when it is one."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    for key in ("step", "epoch"):
        value = record.get(key)
        if key in record and (isinstance(value, bool) or not isinstance(value, int)):
            return f"its {key} is {value!r}, not an integer"
    return None


def read_jsonl(path: str | Path) -> list[dict]:
    """The records of a JSON-lines file. A line that is not JSON (a run killed, or out of
    space, while writing it), or not a record (not a JSON object, or a ``step`` / ``epoch``
    that is not an integer: edited by hand, another program's file) is dropped with a warning
    naming the file and the line."""
    path = Path(path)
    records = []
    for i, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            warnings.warn(f"{path}, line {i}: dropped a partial record ({line[:40]!r}), "
                          "left by a run that stopped while writing it", stacklevel=2)
            continue
        why = _malformed(record)
        if why:
            warnings.warn(f"{path}, line {i}: dropped a malformed record ({line[:40]!r}): "
                          f"{why}", stacklevel=2)
            continue
        records.append(record)
    return records


def write_jsonl(path: str | Path, records: list[dict]) -> None:
    """Replace ``path`` with ``records``, atomically."""
    write_bytes_atomic(path, "".join(json.dumps(r) + "\n" for r in records).encode())
