"""Property-based fuzzing of the ``dcgan`` command line (issue 23, item 8), with Hypothesis.

Three strategies, each against the same invariant (:func:`check`):

1. option values for ``dcgan train`` (numbers negative, zero, huge, inf, nan, text, empty;
   ``--out`` empty, a file, a folder under a file, an existing run), ``dcgan sample`` and
   ``dcgan data --check-only``;
2. checkpoint mutations for ``dcgan sample --checkpoint`` and ``dcgan train --resume``: keys
   removed, values of another type, tensors reshaped / transposed / of another dtype, config
   fields set to bad values, random bytes, truncated and empty files, a pickled ``__reduce__``
   payload (which must never run);
3. image folders for ``dcgan train --dataset imagefolder``: images of random PIL modes, sizes
   and formats, truncated and empty files, symlinks (valid and dangling), text with an image
   extension.

The invariant: the command exits 0, or exits non-zero with one line on stderr (argparse's own
errors: usage, then one ``dcgan ...: error:`` line, exit 2) and no traceback; and nothing on
disk that was good before is lost or changed (every file of a good run folder, checkpoint and
image folder hashed before and after), except the run's own outputs when it succeeded.

Run profiles: by default few examples, derandomized (the same ones on every run, about a minute
on 2 cores); ``DCGAN_FUZZ=nightly`` runs many more, randomized::

    DCGAN_FUZZ=nightly .venv/bin/python -m pytest tests/test_fuzz.py

A failure prints the smallest example Hypothesis found; add it to the named cases at the end
of this file (and fix the library) so that it stays fixed.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import math
import os
import shutil
import tempfile
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from dcgan_lib import cli
from dcgan_lib.train import MAX_STEPS

# ---------------------------------------------------------------- profiles
PROFILE = os.environ.get("DCGAN_FUZZ", "default")
if PROFILE not in ("default", "nightly"):
    raise ValueError(f"DCGAN_FUZZ must be default or nightly, got {PROFILE!r}")
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.function_scoped_fixture,
                                                      HealthCheck.filter_too_much,
                                                      HealthCheck.data_too_large])
settings.register_profile("dcgan-fuzz-default", derandomize=True, database=None, **_COMMON)
settings.register_profile("dcgan-fuzz-nightly", **_COMMON)
NIGHTLY = 20  # the nightly profile runs this many times each test's default examples


def fuzz(examples: int) -> settings:
    """The settings of one fuzz test: ``examples`` by default, :data:`NIGHTLY` times as many
    with ``DCGAN_FUZZ=nightly``."""
    return settings(settings.get_profile(f"dcgan-fuzz-{PROFILE}"),
                    max_examples=examples * (NIGHTLY if PROFILE == "nightly" else 1))


TINY = ["--dataset", "synthetic", "--image-size", "16", "--channels", "1", "--ngf", "4",
        "--ndf", "4", "--nz", "8", "--batch-size", "16", "--no-progress",
        "--checkpoint-every", "2", "--sample-every", "100", "--num-samples", "4",
        "--quality", "none"]


# ---------------------------------------------------------------- running and checking
@dataclass
class Result:
    rc: int
    out: str
    err: str
    warned: list = field(default_factory=list)


@contextlib.contextmanager
def _inside(folder: Path):
    """cwd ``folder`` (a relative --out lands there) and torch's thread count restored."""
    cwd, threads = os.getcwd(), torch.get_num_threads()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(cwd)
        torch.set_num_threads(threads)


def invoke(argv: list[str], cwd: Path) -> Result:
    """``dcgan ARGV`` in this process: exit code, stdout, stderr, warnings. An exception that
    escapes ``cli.main`` is written to stderr as the traceback the program would print."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as warned, _inside(cwd), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        try:
            rc = cli.main([str(a) for a in argv])
        except SystemExit as stop:  # argparse
            rc = stop.code if isinstance(stop.code, int) else 1
        except BaseException:  # noqa: BLE001 -- exactly what the invariant forbids
            traceback.print_exc(file=err)
            rc = 1
    return Result(rc, out.getvalue(), err.getvalue(), [str(w.message) for w in warned])


def snapshot(*roots: Path) -> dict[str, str]:
    """``{path: sha256}`` of every file under ``roots`` (a symlink: its target), but the run
    lock ``.lock`` (an empty file a run leaves in a folder it did not create)."""
    found = {}
    for root in roots:
        if not (root.exists() or root.is_symlink()):
            continue
        for p in sorted([root, *root.rglob("*")] if root.is_dir() else [root]):
            if p.name == ".lock":
                continue
            if p.is_symlink():
                found[str(p)] = "-> " + os.readlink(p)
            elif p.is_file():
                found[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif p.is_dir():
                found[str(p)] = "dir"
    return found


def check(cmd: str, res: Result, before: dict, after: dict, mine: Path | None = None,
          replaces: bool = False) -> None:
    """The invariant. ``before`` / ``after``: :func:`snapshot` of everything the command may
    not lose. ``mine``: the command's own output (its --out); on success it may add files
    under it, and with ``replaces`` (--resume, --overwrite, sample's --out) change or remove
    those it held. On failure nothing changes at all."""
    if currently_in_test_context():  # --hypothesis-show-statistics: how many ran, refused
        event(f"dcgan {cmd}: exit {res.rc}")
    for text in (res.out, res.err):
        assert "Traceback" not in text, f"dcgan {cmd} printed a traceback:\n{text}"
    if res.rc == 0:
        for p in set(before) | set(after):
            inside = mine is not None and (p == str(mine) or p.startswith(str(mine) + os.sep))
            if before.get(p) != after.get(p):
                assert inside and (p not in before or replaces), (
                    f"dcgan {cmd} succeeded but {'lost' if p not in after else 'added' if p not in before else 'changed'} "
                    f"{p}, outside its own output")
        return
    lines = res.err.strip().splitlines()
    assert res.rc in (1, 2), f"dcgan {cmd}: exit {res.rc}:\n{res.err}"
    assert lines, f"dcgan {cmd}: exit {res.rc} with nothing on stderr"
    if res.rc == 2 and lines[0].startswith("usage:"):  # argparse's own error
        assert lines[-1].startswith("dcgan ") and ": error: " in lines[-1], res.err
    else:
        assert len(lines) == 1, f"dcgan {cmd}: exit {res.rc} with {len(lines)} lines:\n{res.err}"
        assert lines[0].startswith(f"dcgan {cmd}: "), res.err
    assert after == before, (f"dcgan {cmd} failed (exit {res.rc}: {lines[-1]}) and changed "
                             f"{sorted(set(before) ^ set(after)) or [p for p in before if before[p] != after[p]]}")


def test_the_checker_catches_a_traceback_a_changed_file_and_a_second_line(tmp_path):
    """Positive control: :func:`check` fails on each fault it is there to find."""
    good = tmp_path / "ckpt.pt"
    good.write_bytes(b"good")
    before = snapshot(tmp_path)
    tb = Result(1, "", "Traceback (most recent call last):\n  File ...\nRuntimeError: x\n")
    with pytest.raises(AssertionError, match="traceback"):
        check("train", tb, before, before)
    with pytest.raises(AssertionError, match="traceback"):
        check("train", Result(0, "Traceback (most recent call last):", ""), before, before)
    good.write_bytes(b"changed")
    with pytest.raises(AssertionError, match="changed"):   # a refusal that touched a file
        check("sample", Result(2, "", "dcgan sample: error: no\n"), before, snapshot(tmp_path))
    with pytest.raises(AssertionError, match="outside its own output"):  # a success, too
        check("train", Result(0, "done", ""), before, snapshot(tmp_path), mine=tmp_path / "r")
    good.unlink()
    with pytest.raises(AssertionError, match="lost"):
        check("train", Result(0, "done", ""), before, snapshot(tmp_path), mine=tmp_path / "r")
    good.write_bytes(b"good")
    with pytest.raises(AssertionError, match="2 lines"):
        check("train", Result(2, "", "dcgan train: error: a\nmore\n"), before, before)
    with pytest.raises(AssertionError, match="nothing on stderr"):
        check("train", Result(1, "", ""), before, before)
    # and it passes what it should: a clean refusal, a success writing its own output
    check("train", Result(2, "", "dcgan train: error: lr (--lr) must be ...\n"), before, before)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "ckpt-00000002.pt").write_bytes(b"new")
    check("train", Result(0, "done", ""), before, snapshot(tmp_path), mine=tmp_path / "r")
    # and a real argparse error (usage, then one error line)
    before = snapshot(tmp_path)
    res = invoke(["train", "--lr", "x"], tmp_path)
    assert res.rc == 2 and "usage:" in res.err
    check("train", res, before, snapshot(tmp_path))


# ---------------------------------------------------------------- shared, made once
@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A 4-step run (checkpoints at steps 2 and 4), a file, and a folder of good images."""
    from PIL import Image
    root = tmp_path_factory.mktemp("good")
    res = invoke(["train", *TINY, "--steps", "4", "--out", root / "run"], root)
    assert res.rc == 0, res.err
    (root / "notes.txt").write_text("a file of the user's")
    images = root / "images"
    images.mkdir()
    for i in range(8):
        Image.new("L", (20, 20), 30 * i).save(images / f"{i}.png")
    return Good(root, torch.load(root / "run" / "ckpt-00000004.pt", weights_only=True))


class Good(tuple):
    """``(root, checkpoint dict)`` of :func:`good`, with a short repr in Hypothesis' reports."""

    def __new__(cls, root, ck):
        return super().__new__(cls, (root, ck))

    def __repr__(self) -> str:
        return f"Good({self[0]})"


# ---------------------------------------------------------------- 1. option values
JUNK = ["", " ", "abc", "nan", "-nan", "inf", "-inf", "+inf", "infinity", "1e400", "-1e400",
        "0x10", "1_000", "\u0663", "1.5", "-0", "0", "-1", "True", "None", "1e-400", "2**8",
        "--steps", "'1'"]


def _numbers(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Text for a numeric option: mostly values that must be refused, some valid ones."""
    return st.one_of(
        st.sampled_from(JUNK),
        st.integers(-2**70, 0).map(str),
        st.integers(2**40, 2**80).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(max_size=6),
        valid.map(str),
    )


# each option: the values of it that are valid and cheap (a run of a few steps)
OPTIONS = {
    "--lr": st.floats(1e-6, 1.0), "--beta1": st.floats(0, 0.99), "--beta2": st.floats(0, 0.999),
    "--weight-decay": st.floats(0, 1.0),
    "--epochs": st.sampled_from([0.03, 0.1, 0.25, 1e9]),
    "--steps": st.integers(1, 4), "--batch-size": st.integers(2, 32),
    "--image-size": st.sampled_from([16, 24, 32, 8]), "--num-samples": st.integers(2, 16),
    "--threads": st.integers(1, 2), "--num-workers": st.integers(0, 64),
    "--seed": st.integers(0, 2**63 + 5), "--keep-last": st.integers(1, 2**64),
    "--checkpoint-every": st.integers(1, 10**30), "--sample-every": st.integers(1, 10**30),
    "--nz": st.integers(1, 16), "--ngf": st.integers(1, 8), "--ndf": st.integers(1, 8),
    "--limit": st.integers(1, 64), "--channels": st.sampled_from([1, 3, 2]),
    "--device": st.sampled_from(["cpu", "auto", "cuda", "cuda:7", "meta", "mps", "xla",
                                 "cpu:0", "gpu", "", "vulkan", "ipu"]),
    "--quality": st.sampled_from(["none", "fd", "auto", "FD"]),
    "--variant": st.sampled_from(["paper", "torch", "nosuch"]),
    "--dataset": st.sampled_from(["synthetic", "imagefolder", "Synthetic"]),
}
OUTS = ["fresh", "", "file", "under-file", "run", "images", ".", "fresh/deep/er"]


@st.composite
def train_args(draw):
    chosen = draw(st.lists(st.sampled_from(sorted(OPTIONS)), min_size=1, max_size=3,
                           unique=True))
    args = {}
    for flag in chosen:
        text = draw(_numbers(OPTIONS[flag]) if flag not in ("--device", "--quality", "--variant",
                                                            "--dataset")
                    else st.one_of(OPTIONS[flag], st.sampled_from(JUNK)))
        args[flag] = str(text)
    return args, draw(st.sampled_from(OUTS)), draw(st.sampled_from(["", "--resume",
                                                                     "--overwrite"]))


def _cheap(args: dict) -> bool:
    """Whether the run these options ask for, when valid, takes a few steps at most."""
    def num(flag, default):
        try:
            v = float(args.get(flag, default))
        except ValueError:
            return math.nan
        return v
    steps, epochs = num("--steps", 2), num("--epochs", math.nan)
    if "--epochs" in args and "--steps" not in args:
        return not (0 < epochs <= MAX_STEPS) or epochs <= 0.25
    return not (1 <= steps <= MAX_STEPS) or steps <= 4


@fuzz(80)
@given(train_args())
def test_train_options(good, case):
    root, _ = good
    args, out_kind, mode = case
    if "--epochs" in args and "--steps" not in args:  # one of the two, or a refusal
        base = [*TINY]
    else:
        base = [*TINY, "--steps", "2"]
    assume(_cheap(args))
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmp = Path(tmp)
        shutil.copytree(root / "run", tmp / "run")
        shutil.copytree(root / "images", tmp / "images")
        shutil.copy(root / "notes.txt", tmp / "notes.txt")
        out = {"fresh": tmp / "fresh", "": "", "file": tmp / "notes.txt",
               "under-file": tmp / "notes.txt" / "r", "run": tmp / "run",
               "images": tmp / "images", ".": ".", "fresh/deep/er": tmp / "fresh" / "deep" / "er",
               }[out_kind]
        argv = ["train", *base]
        for flag, value in args.items():
            argv += [flag, value] if not value.startswith("-") else [f"{flag}={value}"]
        argv += ["--out", out] + ([mode] if mode else [])
        if args.get("--dataset") == "imagefolder":
            argv += ["--data-root", tmp / "images"]
        before = snapshot(tmp)
        res = invoke(argv, tmp)
        mine = (tmp / out) if out_kind != "fresh/deep/er" else tmp / "fresh"
        check("train", res, before, snapshot(tmp), mine=mine, replaces=bool(mode))
        if res.rc == 0:
            assert "done:" in res.out


SAMPLE_OPTS = {"--num": st.integers(1, 9), "--seed": st.integers(0, 2**63 + 3),
               "--nrow": st.integers(1, 5), "--label": st.integers(0, 2)}


@fuzz(15)
@given(st.dictionaries(st.sampled_from(sorted(SAMPLE_OPTS)), st.just(None), max_size=3),
       st.data(), st.sampled_from(["s.png", "s.jpg", "s.webp", "s.txt", "", "notes.txt",
                                   "missing/s.png", "run", "s", "s.PNG", ".png"]))
def test_sample_options(good, chosen, data, out_name):
    root, _ = good
    args = {flag: data.draw(_numbers(SAMPLE_OPTS[flag]), label=flag) for flag in chosen}
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmp = Path(tmp)
        shutil.copy(root / "notes.txt", tmp / "notes.txt")
        (tmp / "run").mkdir()
        argv = ["sample", "--checkpoint", root / "run" / "ckpt-00000004.pt",
                "--out", tmp / out_name if out_name else ""]
        for flag, value in args.items():
            argv += [f"{flag}={value}"]
        before = snapshot(tmp, root / "run")
        res = invoke(argv, tmp)
        check("sample", res, before, snapshot(tmp, root / "run"),
              mine=tmp / out_name if out_name else None, replaces=True)


@fuzz(10)
@given(st.lists(st.sampled_from(["mnist", "fashion-mnist", "cifar10", "all", "nosuch", "svhn"]),
                min_size=0, max_size=2),
       st.lists(st.sampled_from(["--sizes", "--workers", "--root", "--source"]), max_size=2,
                unique=True), st.data())
def test_data_check_only_options(good, names, flags, data):
    root, _ = good
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmp = Path(tmp)
        shutil.copy(root / "notes.txt", tmp / "notes.txt")
        argv = ["data", *names, "--check-only"]
        for flag in flags:
            if flag == "--root":
                argv += [f"--root={data.draw(st.sampled_from(['notes.txt', 'empty', '']))}"]
            elif flag == "--source":
                argv += [f"--source={data.draw(st.sampled_from(['notes.txt', 'x.tgz', '']))}"]
            else:
                argv += [f"{flag}={data.draw(_numbers(st.integers(8, 64)))}"]
        if "--root" not in flags:
            argv += ["--root", tmp / "data"]
        before = snapshot(tmp)
        res = invoke(argv, tmp)
        if res.rc == 1 and not res.err.strip():  # a data set missing: a report, on stdout
            assert "Traceback" not in res.out and "data root" in res.out
            return
        check("data", res, before, snapshot(tmp), mine=tmp / "data")


# ---------------------------------------------------------------- 2. checkpoint mutations
class Payload:
    """Pickles to a call of ``os.system``: loading it unsafely would create ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


ODD = [None, "x", "", 3, -1, 0, 2**70, 1.5, math.nan, math.inf, True, [], {}, [1, 2], (4,),
       {"a": 1}]


def _odd_tensor(t: torch.Tensor, how: str) -> torch.Tensor:
    if how == "flat":
        return t.reshape(-1)
    if how == "transposed":
        return t.transpose(0, -1).contiguous() if t.dim() >= 2 else t.reshape(1, -1)
    if how == "scalar":
        return torch.tensor(1.0)
    if how == "empty":
        return t.new_zeros((0,))
    if how == "nan":
        return torch.full_like(t, math.nan) if t.is_floating_point() else t
    return t.to({"float64": torch.float64, "float16": torch.float16, "int32": torch.int32,
                 "bool": torch.bool, "complex64": torch.complex64, "uint8": torch.uint8,
                 "bfloat16": torch.bfloat16}[how])


TENSOR_HOW = ["flat", "transposed", "scalar", "empty", "nan", "float64", "float16", "int32",
              "bool", "complex64", "uint8", "bfloat16"]


@st.composite
def mutation(draw, ck: dict):
    """One change to a checkpoint dict (applied in place); returns its description."""
    where = draw(st.sampled_from(["top", "config", "G", "D", "optG", "rng", "fixed_z"]))
    if where == "top":
        key = draw(st.sampled_from(sorted(ck)))
        if draw(st.booleans()):
            return lambda c: c.pop(key, None), f"del {key}"
        value = draw(st.sampled_from(ODD))
        return lambda c: c.__setitem__(key, copy.deepcopy(value)), f"{key} = {value!r}"
    if where == "config":
        key = draw(st.sampled_from(sorted(ck["config"])))
        if draw(st.booleans()):
            return lambda c: c["config"].pop(key, None), f"del config {key}"
        value = draw(st.sampled_from(ODD + ["paper", "torch", "synthetic", 8, 16, 32, 64, 24,
                                            -3, 0.5]))
        return (lambda c: c["config"].__setitem__(key, copy.deepcopy(value)),
                f"config {key} = {value!r}")
    if where == "rng":
        part = draw(st.sampled_from(["torch", "python"]))
        value = draw(st.sampled_from(ODD + ["short", "wide"]))

        def rng(c):
            if not isinstance(c.get("rng"), dict):
                return
            if value == "short":
                c["rng"]["torch"] = torch.zeros(7, dtype=torch.uint8)
            elif value == "wide":
                c["rng"]["python"] = (3, tuple(range(10)), None)
            else:
                c["rng"][part] = copy.deepcopy(value)
        return rng, f"rng {part} {value!r}"
    how = draw(st.sampled_from(TENSOR_HOW + ["del", "rename"]))
    if where == "fixed_z":
        return (lambda c: c.__setitem__("fixed_z", _odd_tensor(c["fixed_z"], how))
                if how not in ("del", "rename") else c.pop("fixed_z")), f"fixed_z {how}"
    if where == "optG":
        i = draw(st.integers(0, 20))
        part = draw(st.sampled_from(["exp_avg", "exp_avg_sq", "step", "lr", "eps", "params"]))

        def opt(c):
            o = c["optG"]
            if part in ("lr", "eps"):
                o["param_groups"][0][part] = "x" if how == "rename" else -1.0
            elif part == "params":
                o["param_groups"][0]["params"] = o["param_groups"][0]["params"][::-1][:i]
            else:
                st_ = o["state"].get(i % max(1, len(o["state"])))
                if st_ is not None and part in st_:
                    if how == "del":
                        del st_[part]
                    elif how == "rename":
                        st_["other"] = st_.pop(part)
                    else:
                        st_[part] = _odd_tensor(st_[part], how)
        return opt, f"optG {part} {i} {how}"
    i = draw(st.integers(0, 30))

    def net(c):
        sd = c[where]
        key = list(sd)[i % len(sd)]
        if how == "del":
            del sd[key]
        elif how == "rename":
            sd[key + ".x"] = sd.pop(key)
        else:
            sd[key] = _odd_tensor(sd[key], how)
    return net, f"{where} tensor {i} {how}"


RAW = ["random", "truncated", "empty", "payload", "zip junk", "pickle text", "json", "dir"]


@st.composite
def checkpoint_file(draw, ck: dict):
    """``(write(path, good_bytes, marker), description)``: a mutated checkpoint, or raw bytes."""
    if draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(RAW))
        n = draw(st.integers(0, 5000))
        blob = draw(st.binary(min_size=0, max_size=64))

        def raw(path: Path, good: bytes, marker: Path):
            if kind == "random":
                path.write_bytes(blob * (1 + n // 64))
            elif kind == "truncated":
                path.write_bytes(good[: n % max(1, len(good))])
            elif kind == "empty":
                path.write_bytes(b"")
            elif kind == "payload":
                where = draw_where
                c = copy.deepcopy(ck)
                if where == "G":
                    c["G"] = Payload(marker)
                elif where == "config":
                    c["config"]["nz"] = Payload(marker)
                else:
                    c = Payload(marker)
                torch.save(c, path)
            elif kind == "zip junk":
                import zipfile
                with zipfile.ZipFile(path, "w") as z:
                    z.writestr("archive/data.pkl", blob)
            elif kind == "pickle text":
                path.write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
            elif kind == "json":
                path.write_text('{"config": {}, "G": {}, "D": {}, "nc": 1}')
            elif kind == "dir":
                path.mkdir()
        draw_where = draw(st.sampled_from(["G", "config", "top"]))
        return raw, f"raw {kind}"
    changes = draw(st.lists(mutation(ck), min_size=1, max_size=3))

    def mutated(path: Path, good: bytes, marker: Path):
        c = copy.deepcopy(ck)
        for change, _ in changes:
            try:
                change(c)
            except (KeyError, TypeError, AttributeError, IndexError, ZeroDivisionError):
                pass  # an earlier change removed what this one changes
        torch.save(c, path)
    return mutated, "; ".join(d for _, d in changes)


@fuzz(40)
@given(st.data())
def test_sample_on_a_mutated_checkpoint(good, data):
    root, ck = good
    write, what = data.draw(checkpoint_file(ck), label="checkpoint")
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmp = Path(tmp)
        marker, bad = tmp / "PAYLOAD-RAN", tmp / "bad.pt"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write(bad, (root / "run" / "ckpt-00000004.pt").read_bytes(), marker)
        png = tmp / "s.png"
        before = snapshot(tmp, root / "run")
        res = invoke(["sample", "--checkpoint", bad, "--num", "4", "--out", png], tmp)
        assert not marker.exists(), f"the payload ran ({what})"
        check("sample", res, before, snapshot(tmp, root / "run"), mine=png)


@fuzz(20)
@given(st.data())
def test_resume_from_a_mutated_newest_checkpoint(good, data):
    root, ck = good
    write, what = data.draw(checkpoint_file(ck), label="checkpoint")
    only = data.draw(st.booleans(), label="the only checkpoint")
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmp = Path(tmp)
        run, marker = tmp / "run", tmp / "PAYLOAD-RAN"
        shutil.copytree(root / "run", run)
        if only:  # no good checkpoint to fall back on
            for p in run.glob("*.pt"):
                p.unlink()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write(run / "ckpt-00000006.pt", (root / "run" / "ckpt-00000004.pt").read_bytes(),
                  marker)
        before = snapshot(tmp)
        res = invoke(["train", "--out", run, "--steps", "7", "--resume", "--no-progress"], tmp)
        assert not marker.exists(), f"the payload ran ({what})"
        check("train", res, before, snapshot(tmp), mine=run, replaces=True)
        if res.rc == 0 and "ckpt-00000006.pt" not in " ".join(res.warned):
            assert "from ckpt-00000006.pt" in res.err  # it was good enough to resume from
        if res.rc == 0:  # the run went on and its newest checkpoint can be sampled
            newest = sorted(run.glob("ckpt-*.pt"))[-1]
            res = invoke(["sample", "--checkpoint", newest, "--num", "4", "--out",
                          tmp / "s.png"], tmp)
            assert res.rc == 0, res.err


# ---------------------------------------------------------------- 3. image folders
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F", "YCbCr"]
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".gif", "TIFF": ".tif",
           "WEBP": ".webp", "PPM": ".ppm"}
FAULTS = ["none"] * 6 + ["truncated", "zero bytes", "dangling symlink", "valid symlink",
                         "text", "folder named .png"]


@st.composite
def image_spec(draw):
    mode = draw(st.sampled_from(MODES))
    size = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    return mode, size, fmt, draw(st.sampled_from(FAULTS)), draw(st.integers(0, 255))


def _write_image(folder: Path, i: int, spec) -> None:
    import numpy as np
    from PIL import Image
    mode, size, fmt, fault, seed = spec
    rng = np.random.default_rng(seed)
    path = folder / f"{i:02}{FORMATS[fmt]}"
    if fault == "text":
        path.write_text("not an image")
        return
    if fault == "folder named .png":
        path.mkdir()
        return
    if fault == "dangling symlink":
        path.symlink_to(folder / "nowhere.png")
        return
    im = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8), "RGB")
    im = im.convert(mode) if mode not in ("I;16",) else im.convert("I").convert("I;16")
    try:
        im.save(path, fmt)
    except (OSError, ValueError, KeyError, TypeError):  # PIL writes no such image: a PNG
        path.unlink(missing_ok=True)
        path = path.with_suffix(".png")
        im.convert("RGB").save(path, "PNG")
    if fault == "truncated":
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    elif fault == "zero bytes":
        path.write_bytes(b"")
    elif fault == "valid symlink":
        (folder.parent / f"target{i}{path.suffix}").write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(folder.parent / f"target{i}{path.suffix}")


@fuzz(40)
@given(st.lists(image_spec(), min_size=1, max_size=10), st.sampled_from(["1", "3"]),
       st.booleans(), st.booleans())
def test_train_on_an_image_folder(good, specs, channels, classes, preload):
    root, _ = good
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmp = Path(tmp)
        images = tmp / "images"
        folder = images / "a" if classes else images
        folder.mkdir(parents=True)
        for i, spec in enumerate(specs):
            _write_image(folder, i, spec)
        before = snapshot(images, *tmp.glob("target*"))
        res = invoke(["train", "--dataset", "imagefolder", "--data-root", images,
                      "--image-size", "16", "--channels", channels, "--ngf", "4", "--ndf", "4",
                      "--nz", "8", "--batch-size", "2", "--steps", "1", "--no-progress",
                      "--sample-every", "100", "--num-samples", "2", "--quality", "none",
                      "--threads", "1", *([] if preload else ["--no-preload"]),
                      "--out", tmp / "run"], tmp)
        check("train", res, before, snapshot(images, *tmp.glob("target*")))


# ---------------------------------------------------------------- named regression cases
@pytest.mark.parametrize("device", ["meta", "xla", "mps", "cuda:7", "ipu"])
def test_a_device_torch_knows_but_cannot_train_on_here_is_one_line(tmp_path, device):
    """Found by the fuzzer: ``--device meta`` (or xla, or mps on Linux) passed the check and
    ended in a traceback at the first step (or moving the models)."""
    if device.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that CUDA device")
    if device == "mps" and getattr(torch.backends, "mps", None) and \
            torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    before = snapshot(tmp_path)
    res = invoke(["train", *TINY, "--steps", "1", "--device", device, "--out", tmp_path / "r"],
                 tmp_path)
    assert res.rc == 2
    check("train", res, before, snapshot(tmp_path))
    assert "--device" in res.err and repr(device) in res.err and "use --device" in res.err


@pytest.mark.parametrize("extra", [["--image-size", str(2**40)], ["--ngf", str(2**62)],
                                   ["--nz", str(2**62)]])
def test_networks_too_large_to_build_are_one_line(tmp_path, extra):
    """Found by the fuzzer: ``--image-size 1099511627776`` (a power of two, so valid) ended in
    torch's "Storage size calculation overflowed" traceback from the memory estimate."""
    before = snapshot(tmp_path)
    res = invoke(["train", *TINY, "--steps", "1", *extra, "--out", tmp_path / "r"], tmp_path)
    assert res.rc == 2
    check("train", res, before, snapshot(tmp_path))
    assert extra[0] in res.err and not (tmp_path / "r").exists()


def test_a_checkpoint_whose_config_overflows_the_networks_is_one_line(good, tmp_path):
    """The same overflow from a checkpoint's config (image_size 2**40): refused by the
    checker of every loader, naming the file, in ``dcgan sample`` and ``--resume``."""
    root, ck = good
    c = copy.deepcopy(ck)
    c["config"]["image_size"] = 2**40
    bad = tmp_path / "bad.pt"
    torch.save(c, bad)
    before = snapshot(tmp_path)
    res = invoke(["sample", "--checkpoint", bad, "--out", tmp_path / "s.png"], tmp_path)
    assert res.rc == 2 and str(bad) in res.err and "builds no models" in res.err
    check("sample", res, before, snapshot(tmp_path))


def _set(*keys, value):
    def change(c):
        for k in keys[:-1]:
            c = c[k]
        c[keys[-1]] = value(c[keys[-1]]) if callable(value) else value
    return change


RESUME_MUTANTS = {  # found by the fuzzer: each passed the checks, then broke the resumed run
    "fixed_z int32": (_set("fixed_z", value=lambda t: t.int()), "fixed_z"),
    "torch rng state of 7 bytes": (_set("rng", "torch", value=torch.zeros(7, dtype=torch.uint8)),
                                   "rng"),
    "python rng state too short": (_set("rng", "python", value=(3, tuple(range(10)), None)),
                                   "python random state"),
    "step 2**70": (_set("step", value=2**70), "step"),
    "optG eps a string": (lambda c: c["optG"]["param_groups"][0].__setitem__("eps", "x"),
                          "optG's eps"),
    "optG state step a string": (lambda c: c["optG"]["state"][0].__setitem__("step", "x"),
                                 "optG's step"),
    "python rng state empty": (_set("rng", "python", value=[]), "python random state"),
    "optG state without exp_avg": (lambda c: c["optG"]["state"][0].pop("exp_avg"),
                                   "optG's exp_avg"),
}


@pytest.mark.parametrize("name", list(RESUME_MUTANTS))
def test_resume_skips_a_checkpoint_that_would_break_the_run(good, tmp_path, name):
    """Found by the fuzzer: these newest checkpoints passed the checks of ``--resume`` and
    ended in a traceback (``torch.set_rng_state``, Adam's step, a float64 / int ``fixed_z`` in
    the sample grid) or a message naming no file. Now they are skipped by name, like an
    unreadable one, and the run goes on from the one before (a float64 or half ``fixed_z`` is
    read as float32)."""
    root, ck = good
    change, words = RESUME_MUTANTS[name]
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    c = copy.deepcopy(ck)
    change(c)
    torch.save(c, run / "ckpt-00000006.pt")
    with pytest.raises(Exception, match=words):
        from dcgan_lib.train import load_checkpoint
        load_checkpoint(run / "ckpt-00000006.pt", resume=True)
    before = snapshot(tmp_path)
    res = invoke(["train", "--out", run, "--steps", "6", "--resume", "--no-progress"], tmp_path)
    check("train", res, before, snapshot(tmp_path), mine=run, replaces=True)
    assert res.rc == 0 and "from ckpt-00000004.pt" in res.err
    assert any("ckpt-00000006.pt" in w and words in w for w in res.warned), res.warned


def test_a_refused_run_leaves_no_parent_folders_of_its_out(tmp_path):
    """Found by the fuzzer: ``--out fresh/deep/er`` refused after the lock was taken (here: a
    batch too large for memory) removed ``er`` but left ``fresh/deep`` behind."""
    before = snapshot(tmp_path)
    res = invoke(["train", *TINY, "--steps", "1", "--batch-size", str(2**40),
                  "--out", tmp_path / "fresh" / "deep" / "er"], tmp_path)
    assert res.rc == 2 and "--batch-size" in res.err
    check("train", res, before, snapshot(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_resume_from_a_checkpoint_whose_config_lost_its_channels_is_one_line(good, tmp_path):
    """Found by the fuzzer: a newest checkpoint with no ``channels`` in its config (1-channel
    models) resumed on the dataset's default of 3 channels and ended in load_state_dict's
    traceback. Now one line naming the file and ``--channels``; the run folder is kept."""
    root, ck = good
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    c = copy.deepcopy(ck)
    del c["config"]["channels"]
    torch.save(c, run / "ckpt-00000006.pt")
    before = snapshot(tmp_path)
    res = invoke(["train", "--out", run, "--steps", "7", "--resume", "--no-progress"], tmp_path)
    assert res.rc == 2 and "ckpt-00000006.pt" in res.err and "--channels 1" in res.err
    check("train", res, before, snapshot(tmp_path))
    res = invoke(["train", "--out", run, "--steps", "7", "--resume", "--channels", "1",
                  "--no-progress"], tmp_path)           # and as it says, it goes on
    check("train", res, before, snapshot(tmp_path), mine=run, replaces=True)
    assert res.rc == 0


@pytest.mark.parametrize("argv", [["sample", "--checkpoint", "x.pt", "--out", "s.png",
                                   "--label=--"],
                                  ["train", "--steps=--", "--out", "r"]])
def test_a_double_dash_given_as_a_value_is_one_line(tmp_path, argv):
    """Found by the fuzzer: argparse reads ``--label=--`` as an empty list, which ended in a
    TypeError traceback in ``dcgan sample``'s range check."""
    before = snapshot(tmp_path)
    res = invoke(argv, tmp_path)
    assert res.rc == 2 and argv[-1 if argv[0] == "sample" else 1].split("=")[0] in res.err
    check(argv[0], res, before, snapshot(tmp_path))
