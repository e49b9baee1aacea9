"""Fault injection, issue 23 items 5-7: signals while a run stops, temporary files a killed write
left, disk full anywhere a run writes, the length a resume continues to, malformed log lines,
unreadable checkpoints and ``--keep-last``, image folders of a type that is not read.

Reuses the fixtures of ``test_faults.py`` (the tiny run, ``_fail_writes``, the one-line check).
"""
from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcgan_lib import checkpoint, cli
from dcgan_lib.checkpoint import DiskFullError, read_jsonl, remove_stale_temp
from dcgan_lib.train import Trainer, list_checkpoints, load_checkpoint
from test_faults import TINY, _fail_writes, ds, one_line_error, tiny  # noqa: F401 (ds: fixture)

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def steps_logged(out: Path) -> list[int]:
    return [r["step"] for r in read_jsonl(out / "log.jsonl")]


def temp_files(out: Path) -> list[str]:
    return sorted(p.name for d in (out, out / "samples") if d.is_dir() for p in d.iterdir()
                  if ".tmp" in p.name)


# ---------------------------------------------------------------- signals
# a CLI run in a subprocess whose trainer signals itself at chosen points: the first signal
# during step 4, more of them while the stop checkpoint of step 4 is being written
SIGNALLING = """
import os, signal, sys
from dcgan_lib import cli, run_folder as F, train as T
first, later = (getattr(signal, s) for s in sys.argv[1:3])
real_save, real_step = F.save_atomic, T.Trainer.train_step
def save(obj, path):
    if obj["step"] == 4 and path.name.startswith("ckpt-"):   # the stop checkpoint
        for s in (later, first, later):
            os.kill(os.getpid(), s)
    return real_save(obj, path)
def step(self, *a):
    if self.step == 3:
        os.kill(os.getpid(), first)
    return real_step(self, *a)
F.save_atomic, T.Trainer.train_step = save, step
sys.exit(cli.main(sys.argv[3:]))
"""


@pytest.mark.parametrize("first, later", [("SIGINT", "SIGINT"), ("SIGTERM", "SIGINT")])
def test_more_signals_while_stopping_neither_cut_nor_lose_the_stop_checkpoint(tmp_path, first,
                                                                              later):
    out = tmp_path / "run"
    p = subprocess.run([sys.executable, "-c", SIGNALLING, first, later, "train", *TINY,
                        "--checkpoint-every", "1000", "--steps", "50", "--out", str(out)],
                       capture_output=True, text=True, cwd=REPO, env=ENV, timeout=300)
    assert p.returncode == 128 + getattr(signal, first), p.stderr
    assert "Traceback" not in p.stderr and "interrupted before" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert lines[-1].startswith(f"dcgan train: stopped by {first} at step 4 (4 steps ran this "
                                "time, from step 0); checkpoint")
    assert "ckpt-00000004.pt written" in lines[-1] and "--resume" in lines[-1]
    # the repeated signals were deferred, said so once, and cut nothing
    assert sum("again: already stopping" in ln for ln in lines) == 1
    assert load_checkpoint(out / "ckpt-00000004.pt")["step"] == 4 == steps_logged(out)[-1]
    assert temp_files(out) == []
    # positive control: the run goes on from that checkpoint
    assert cli.main(["train", *TINY, "--steps", "6", "--out", str(out), "--resume"]) == 0
    assert steps_logged(out) == list(range(1, 7))


def test_ctrl_c_twice_from_outside_checkpoints_the_last_step(tmp_path):
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "dcgan_lib.cli", "train", *TINY,
                          "--checkpoint-every", "1000", "--steps", "100000", "--out", str(out)],
                         stderr=subprocess.PIPE, text=True, cwd=REPO, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "log.jsonl").exists() and len((out / "log.jsonl").read_text().splitlines()) >= 5:
            break
        time.sleep(0.1)
    for _ in range(3):           # an impatient user
        p.send_signal(signal.SIGINT)
        time.sleep(0.02)
    for _ in range(20):          # and more, while it saves, reports and exits
        if p.poll() is not None:
            break
        p.send_signal(signal.SIGTERM if _ % 2 else signal.SIGINT)
        time.sleep(0.05)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "interrupted before" not in err
    last = err.strip().splitlines()[-1]
    steps = steps_logged(out)
    assert f"stopped by SIGINT at step {steps[-1]} ({len(steps)} steps ran this time" in last
    ck = list_checkpoints(out)
    assert [c.name for c in ck] == [f"ckpt-{steps[-1]:08d}.pt"]
    assert load_checkpoint(ck[-1])["step"] == steps[-1] == len(steps) >= 5


def test_interrupt_while_setting_up_says_nothing_ran(tmp_path, monkeypatch, capsys):
    from dcgan_lib import train as train_mod

    def interrupted(*a, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(train_mod.data_mod, "get_dataset", interrupted)
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(tmp_path / "r")]) == 130
    err = one_line_error(capsys)
    assert "before the first step" in err and "no step ran" in err
    assert not (tmp_path / "r").exists()


# a CLI run killed (SIGKILL: nothing can defer it) half-way through writing checkpoint 4
KILLED_MID_WRITE = """
import os, signal, sys
from dcgan_lib import checkpoint, cli
real = os.write
def write(fd, data):
    if "ckpt-00000004" in os.readlink(f"/proc/self/fd/{fd}"):
        real(fd, bytes(data[: len(data) // 2]))
        os.kill(os.getpid(), signal.SIGKILL)
    return real(fd, data)
checkpoint.os.write = write
sys.exit(cli.main(sys.argv[1:]))
"""


def test_temporary_file_of_a_killed_checkpoint_write_is_removed_on_resume(tmp_path):
    out = tmp_path / "run"
    p = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, "train", *TINY, "--steps", "8",
                        "--out", str(out)], capture_output=True, text=True, cwd=REPO, env=ENV,
                       timeout=300)
    assert p.returncode == -signal.SIGKILL
    left = temp_files(out)
    assert len(left) == 1 and re.fullmatch(r"\.ckpt-00000004\.pt\.tmp\d+", left[0]), left
    assert (out / left[0]).stat().st_size > 1000          # checkpoint-sized, half written
    # files of other names, even near misses, are never touched
    others = [".ckpt-00000004.pt.tmp", ".ckpt-00000004.pt.tmp12.bak", "notes.tmp5",
              ".mine.json.tmp7", "samples/step-00000002.png.tmp3"]
    (out / "samples").mkdir(exist_ok=True)
    for name in others:
        (out / name).write_text("keep me")
    # a command that fails (another width) changes nothing, stale files included
    assert cli.main(["train", *TINY, "--ngf", "8", "--steps", "8", "--out", str(out),
                     "--resume"]) == 2
    assert left[0] in temp_files(out)
    assert cli.main(["train", *TINY, "--steps", "8", "--out", str(out), "--resume"]) == 0
    assert left[0] not in temp_files(out)
    assert all((out / name).read_text() == "keep me" for name in others)
    assert steps_logged(out) == list(range(1, 9))


def test_remove_stale_temp_takes_only_its_own_pattern(tmp_path):
    ours = [".ckpt-00000400.pt.tmp123", ".best.pt.tmp9", ".config.json.tmp1",
            ".log.jsonl.tmp22", ".epochs.jsonl.tmp3", "samples/.step-00000500.png.tmp4"]
    theirs = [".ckpt-00000400.pt.tmp", "ckpt-00000400.pt.tmp1", ".ckpt-x.pt.tmp1",
              ".other.json.tmp1", ".best.pt.tmp1x", "samples/.best.pt.tmp1x"]
    (tmp_path / "samples").mkdir()
    for name in ours + theirs:
        (tmp_path / name).write_bytes(b"x" * 10)
    removed = remove_stale_temp(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p, _ in removed) == sorted(ours)
    assert all(n == 10 for _, n in removed)
    assert all((tmp_path / name).exists() for name in theirs)
    assert not any((tmp_path / name).exists() for name in ours)


# ---------------------------------------------------------------- disk full anywhere
@pytest.mark.parametrize("target", ["samples/.step-00000004.png", ".config.json",
                                    "epochs.jsonl", "log.jsonl"])
def test_disk_full_anywhere_is_one_line_with_the_file_sizes_and_the_checkpoint_kept(
        tmp_path, monkeypatch, capsys, target):
    out = tmp_path / "run"
    run = [*TINY, "--sample-every", "2", "--limit", "64", "--out", str(out)]  # 4 steps an epoch
    assert cli.main(["train", *run, "--steps", "2"]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}
    _fail_writes(monkeypatch, lambda p: target in p)
    rc = cli.main(["train", *run, "--steps", "6", "--resume"])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]                  # after the line saying where it resumed
    name = target.split("/")[-1].lstrip(".")
    assert last.startswith("dcgan train: error: no space left on the device writing ")
    assert name in last and "needs" in last and " free" in last
    assert "the last good checkpoint" in last and "ckpt-00000002.pt is kept" in last
    monkeypatch.undo()
    assert temp_files(out) == []
    if target.startswith("samples/"):          # no partial PNG either
        assert not (out / "samples" / "step-00000004.png").exists()
    assert all(p.read_bytes() == b for p, b in before.items()
               if p.name not in ("log.jsonl", "config.json"))   # those two may have grown
    # positive control: with space again, the same --resume finishes
    assert cli.main(["train", *run, "--steps", "6", "--resume"]) == 0
    assert steps_logged(out) == list(range(1, 7))
    assert (out / "samples" / "step-00000004.png").stat().st_size > 0


def test_disk_full_outside_the_run_folder_is_one_line_exit_1(tmp_path, monkeypatch, capsys):
    from dcgan_lib import train as train_mod
    where = tmp_path / "cache" / "features.pt"

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(where))
    monkeypatch.setattr(train_mod.data_mod, "get_dataset", full)
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(tmp_path / "r")]) == 1
    err = one_line_error(capsys)
    assert "no space left" in err and str(where) in err and "free" in err
    # positive control: another OSError stays a user's mistake, exit 2
    monkeypatch.setattr(train_mod.data_mod, "get_dataset",
                        lambda *a, **kw: (_ for _ in ()).throw(PermissionError(
                            errno.EACCES, "Permission denied", str(where))))
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(tmp_path / "r")]) == 2
    assert "Permission denied" in one_line_error(capsys)


def test_disk_full_while_saving_a_figure_keeps_the_old_one(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dcgan_lib.book import save_figure
    path = tmp_path / "fig.png"
    fig = plt.figure(figsize=(2, 2))
    save_figure(fig, path)                       # positive control: it writes a PNG
    old = path.read_bytes()
    assert old[:4] == b"\x89PNG"
    fig.gca().plot([0, 1], [1, 0])
    _fail_writes(monkeypatch, lambda p: "fig.png" in p)
    with pytest.raises(DiskFullError) as e:
        save_figure(fig, path)
    msg = str(e.value)
    assert str(path) in msg and "needs" in msg and "free" in msg and len(msg.splitlines()) == 1
    assert "run the chapter again" in msg
    monkeypatch.undo()
    plt.close(fig)
    assert path.read_bytes() == old and temp_files(tmp_path) == []


def test_resume_continues_to_the_length_the_interrupted_resume_asked_for(tmp_path,
                                                                         monkeypatch, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(out)]) == 0
    _fail_writes(monkeypatch, lambda p: "ckpt-00000004" in p)   # before any new checkpoint
    assert cli.main(["train", *TINY, "--steps", "6", "--out", str(out), "--resume"]) == 1
    monkeypatch.undo()
    capsys.readouterr()
    saved = json.loads((out / "config.json").read_text())
    assert saved["history"][-1] == {"step": 2, "event": "resume", "steps": 6, "epochs": None,
                                    "changed": {"steps": [2, 6]}}
    assert load_checkpoint(out / "ckpt-00000002.pt")["config"]["steps"] == 2
    # the plain --resume the message suggests: to step 6, not the checkpoint's 2
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert "done: 6 steps" in capsys.readouterr().out
    assert steps_logged(out) == list(range(1, 7))
    # positive control: a length given on the command line still wins
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress",
                     "--steps", "8"]) == 0
    assert steps_logged(out) == list(range(1, 9))


def test_requested_length_takes_config_json_only_when_it_continues_the_checkpoint():
    ck = {"steps": 31, "epochs": None,
          "history": [{"step": 0, "event": "start", "steps": 31, "epochs": None}]}
    newer = {"steps": 40, "history": [*ck["history"], {"step": 31, "event": "resume",
                                                       "steps": 40, "epochs": None}]}
    assert cli.requested_length(ck, newer) == {"steps": 40, "epochs": None}
    assert cli.requested_length(ck, {"steps": 31, "history": ck["history"]})["steps"] == 31
    other_run = {"steps": 99, "history": [{"step": 0, "event": "start", "steps": 99},
                                          {"step": 5, "event": "resume", "steps": 99}]}
    other_run["history"][0]["step"] = 1
    assert cli.requested_length(ck, other_run)["steps"] == 31
    assert cli.requested_length(ck, None)["steps"] == 31
    # a run from before lengths were recorded: config.json's own length
    old = {"steps": 40, "history": [{"step": 0, "event": "start"},
                                    {"step": 31, "event": "resume"}]}
    assert cli.requested_length({"steps": 31, "history": old["history"][:1]}, old)["steps"] == 40


# ---------------------------------------------------------------- logs and checkpoints
def test_malformed_log_lines_are_dropped_on_resume_with_one_warning_each(tmp_path, ds, capsys):
    out = tmp_path / "run"
    run = [*TINY, "--limit", "64", "--out", str(out)]            # 4 steps an epoch
    assert cli.main(["train", *run, "--steps", "4"]) == 0
    lines = (out / "log.jsonl").read_text().splitlines()
    lines[1:1] = ["123"]
    lines[3:3] = ['{"step": "x", "loss_d": 0.5}']
    lines[4:4] = ['["not", "a", "record"]']
    (out / "log.jsonl").write_text("\n".join(lines) + "\n")
    with open(out / "epochs.jsonl", "a") as f:
        f.write('{"epoch": "one", "step": 1}\n')
    capsys.readouterr()
    with pytest.warns(UserWarning) as warned:
        assert cli.main(["train", *run, "--steps", "6", "--resume"]) == 0
    msgs = [str(w.message) for w in warned if "malformed" in str(w.message)]
    assert len(msgs) == 4, msgs
    assert any("log.jsonl, line 2" in m and "not a JSON object" in m for m in msgs)
    assert any("log.jsonl, line 4" in m and "step is 'x'" in m for m in msgs)
    assert any("log.jsonl, line 5" in m for m in msgs)
    assert any("epochs.jsonl, line 2" in m and "epoch is 'one'" in m for m in msgs)
    assert "Traceback" not in capsys.readouterr().err
    # the good lines are kept, the bad ones are gone from the file
    assert steps_logged(out) == list(range(1, 7))
    assert all(isinstance(json.loads(ln), dict) for ln in (out / "log.jsonl").read_text()
               .splitlines())
    assert [r["epoch"] for r in read_jsonl(out / "epochs.jsonl")] == [1]


def test_read_jsonl_keeps_records_and_drops_non_records(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1, "loss_d": 0.5}\n123\n{"step": true}\n{"note": "no step"}\n')
    with pytest.warns(UserWarning) as warned:
        got = read_jsonl(path)
    msgs = [str(w.message) for w in warned]
    assert len(msgs) == 2 and "line 2: dropped a malformed record" in msgs[0]
    assert "line 3" in msgs[1] and "its step is True, not an integer" in msgs[1]
    assert got == [{"step": 1, "loss_d": 0.5}, {"note": "no step"}]


def test_unreadable_checkpoints_take_no_keep_last_slot(tmp_path, ds, monkeypatch):
    out = tmp_path / "run"
    Trainer(tiny(out, steps=8, keep_last=2), ds).fit(until_step=4)    # ckpt 2 and 4
    junk = out / "ckpt-00000010.pt"
    junk.write_bytes(b"not a checkpoint")                               # newest by name
    # disk full: the message names the newest *readable* checkpoint, not the junk
    with pytest.warns(UserWarning, match="ckpt-00000010.pt"):
        tr = Trainer(tiny(out, steps=8, keep_last=2), ds, resume=True)
    _fail_writes(monkeypatch, lambda p: "ckpt-00000006" in p)
    with pytest.raises(DiskFullError, match=r"ckpt-00000004\.pt is kept"):
        tr.fit()
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="ckpt-00000010.pt"):
        tr = Trainer(tiny(out, steps=8, keep_last=2), ds, resume=True)
    assert tr.step == 4
    tr.fit()
    names = [p.name for p in list_checkpoints(out)]
    assert names == ["ckpt-00000006.pt", "ckpt-00000008.pt", "ckpt-00000010.pt"]
    assert [load_checkpoint(out / n)["step"] for n in names[:2]] == [6, 8]   # 2 good ones
    assert junk.read_bytes() == b"not a checkpoint"                      # left as it was


# ---------------------------------------------------------------- data a user actually has
def _folder_args(root, out):
    return ["train", "--dataset", "imagefolder", "--data-root", str(root), "--image-size", "16",
            "--channels", "1", "--ngf", "4", "--ndf", "4", "--nz", "8", "--batch-size", "8",
            "--steps", "2", "--no-progress", "--sample-every", "100", "--num-samples", "4",
            "--out", str(out)]


@pytest.mark.parametrize("nested", [False, True])
def test_a_folder_of_gifs_says_which_types_it_reads_and_found(tmp_path, capsys, nested):
    from PIL import Image
    root = tmp_path / "gifs"
    where = root / "cats" if nested else root
    where.mkdir(parents=True)
    for i in range(8):
        Image.new("L", (16, 16), i * 30).save(where / f"{i}.gif")
    assert cli.main(_folder_args(root, tmp_path / "run")) == 2
    err = one_line_error(capsys)
    assert str(root) in err and "found .gif (8)" in err and ".png" in err and ".jpg" in err
    assert not (tmp_path / "run").exists()
    # positive control: the same images as PNG train
    for i in range(8):
        Image.open(where / f"{i}.gif").save(where / f"{i}.png")
        (where / f"{i}.gif").unlink()
    assert cli.main(_folder_args(root, tmp_path / "run")) == 0
