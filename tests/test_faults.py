"""Fault injection (issue 13): every way a user's run can go wrong does what the README's
"When things go wrong" section says, with a one-line error and nothing lost.

Sections: checkpoints that carry code; the run folder (lock, resume, logs, disk full, signals,
changed settings); options checked before work starts; data a user actually has.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dcgan_lib import checkpoint, cli, data
from dcgan_lib import train as train_mod
from dcgan_lib.checkpoint import (CheckpointError, DiskFullError, NothingToResumeError,
                                  RunLock, RunLockedError, UnsafeCheckpointError)
from dcgan_lib.train import (ConfigError, TrainConfig, Trainer, list_checkpoints,
                             load_checkpoint, read_jsonl, train)

REPO = Path(__file__).resolve().parent.parent
TINY = ["--dataset", "synthetic", "--image-size", "16", "--channels", "1", "--ngf", "4",
        "--ndf", "4", "--nz", "8", "--batch-size", "16", "--no-progress",
        "--checkpoint-every", "2", "--sample-every", "100", "--num-samples", "4"]


def tiny(out, **kw):
    base = dict(dataset="synthetic", image_size=16, channels=1, nz=8, ngf=4, ndf=4,
                batch_size=16, steps=6, out=str(out), sample_every=100, checkpoint_every=2,
                keep_last=2, progress=False, num_samples=4)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def ds():
    return data.get_dataset("synthetic", image_size=16, channels=1, synthetic_size=64)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


# ---------------------------------------------------------------- checkpoints that carry code
class Payload:
    """Pickles to a call of ``os.system``: loading it unsafely would create ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "PAYLOAD-RAN"
    path = tmp_path / "evil.pt"
    torch.save({"G": Payload(marker), "config": {}, "step": 1}, path)
    return path, marker


def test_malicious_checkpoint_is_refused_and_never_runs(evil, tmp_path, capsys):
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError, match=r"refused .*evil\.pt.*could run code") as e:
        load_checkpoint(path)
    assert "system" in str(e.value)          # names what it would have called
    rc = cli.main(["sample", "--checkpoint", str(path), "--out", str(tmp_path / "s.png")])
    assert rc == 2
    err = one_line_error(capsys)
    assert str(path) in err and "could run code" in err
    from dcgan_lib.train import load_models
    with pytest.raises(UnsafeCheckpointError):
        load_models(path)
    assert not marker.exists()


def test_malicious_checkpoint_in_a_run_is_skipped_on_resume(tmp_path, ds):
    out = tmp_path / "run"
    train(tiny(out, steps=4), ds)
    marker = tmp_path / "PAYLOAD-RAN"
    newest = list_checkpoints(out)[-1]
    torch.save({"G": Payload(marker), "config": {}}, newest)
    with pytest.warns(UserWarning, match=newest.name):
        tr = Trainer(tiny(out, steps=6), ds, resume=True)
    assert tr.step == 2 and not marker.exists()


def test_cached_classifier_is_loaded_safely(tmp_path, monkeypatch):
    from dcgan_lib import metrics
    marker = tmp_path / "PAYLOAD-RAN"
    cache = tmp_path / "cache"
    cache.mkdir()
    torch.save({"state": Payload(marker)}, cache / "synthetic-16px-c1-e1-s0-nNone.pt")
    with pytest.raises(UnsafeCheckpointError):
        metrics.feature_classifier("synthetic", image_size=16, channels=1, cache_dir=cache)
    assert not marker.exists()


def test_no_unsafe_load_anywhere_in_the_project():
    hits = [f"{p.relative_to(REPO)}" for d in ("dcgan_lib", "book", "ci", "benchmarks")
            for p in (REPO / d).rglob("*.py") if "weights_only=False" in p.read_text()]
    assert hits == []


def test_corrupt_checkpoint_is_unreadable_not_unsafe(tmp_path):
    path = tmp_path / "ck.pt"
    checkpoint.save_atomic({"G": {}, "config": {}}, path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="cannot be read") as e:
        load_checkpoint(path)
    assert not isinstance(e.value, UnsafeCheckpointError)


# ---------------------------------------------------------------- the run folder
def test_second_run_on_a_folder_is_refused_with_its_holder(tmp_path, ds):
    first = Trainer(tiny(tmp_path / "run"), ds)
    with pytest.raises(RunLockedError, match=rf"in use by another run \(pid {os.getpid()} on "
                                             rf"host {os.uname().nodename}"):
        Trainer(tiny(tmp_path / "run"), ds, overwrite=True)
    first.fit()                                  # releases the lock at the end
    Trainer(tiny(tmp_path / "run", steps=8), ds, resume=True).fit()


def test_cli_refuses_a_folder_another_process_holds(tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from dcgan_lib.checkpoint import RunLock; "
         "lock = RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        rc = cli.main(["train", *TINY, "--steps", "2", "--out", str(out)])
        assert rc == 1
        err = one_line_error(capsys)
        assert f"pid {holder.pid}" in err and "pick another --out" in err
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale and taken over at once
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(out)]) == 0
    assert "took over the lock" in capsys.readouterr().err


def test_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "import sys, time; from dcgan_lib.checkpoint "
                          "import RunLock; lock = RunLock(sys.argv[1]).acquire(); print('held', "
                          "flush=True); time.sleep(60)", str(tmp_path)],
                         stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert p.stdout.readline().strip() == "held"
    with pytest.raises(RunLockedError):
        RunLock(tmp_path).acquire()
    p.send_signal(signal.SIGKILL)
    p.wait()
    lock = RunLock(tmp_path).acquire()
    assert lock.took_over["pid"] == p.pid
    lock.release()


def test_resume_with_no_readable_checkpoint_stops_and_keeps_everything(tmp_path, ds, capsys):
    out = tmp_path / "run"
    train(tiny(out, steps=4), ds)
    for ck in list_checkpoints(out):
        ck.write_bytes(b"corrupt")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.warns(UserWarning):
        rc = cli.main(["train", *TINY, "--steps", "8", "--out", str(out), "--resume",
                       "--keep-last", "1"])
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no readable checkpoint" in err and "ckpt-00000004.pt (unreadable)" in err
    assert "log.jsonl (4 steps)" in err and "--overwrite" in err
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before                       # nothing deleted, nothing appended


def test_resume_of_a_missing_folder_or_a_folder_without_checkpoints(tmp_path, ds, capsys):
    missing = tmp_path / "nothing-here"
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(missing), "--resume"]) == 1
    assert "does not exist" in one_line_error(capsys) and not missing.exists()
    logged = tmp_path / "logged"
    logged.mkdir()
    (logged / "log.jsonl").write_text('{"step": 1}\n{"step": 2}\n')
    with pytest.raises(NothingToResumeError, match=r"log.jsonl \(2 steps\)"):
        Trainer(tiny(logged), ds, resume=True)
    with pytest.raises(FileExistsError, match="already holds a run"):
        Trainer(tiny(logged), ds)                # a fresh run would duplicate its steps
    assert read_jsonl(logged / "log.jsonl") == [{"step": 1}, {"step": 2}]


def test_partial_last_log_line_is_dropped_with_a_warning(tmp_path, ds):
    out = tmp_path / "run"
    Trainer(tiny(out, steps=8), ds).fit(until_step=5)   # checkpoints at 2, 4 (and 5)
    with open(out / "log.jsonl", "a") as f:
        f.write('{"step": 6, "loss_d": 0.6')           # killed mid-write
    with pytest.warns(UserWarning, match=r"log.jsonl, line 6: dropped a partial record"):
        tr = Trainer(tiny(out, steps=8), ds, resume=True)
    tr.fit()
    assert [r["step"] for r in read_jsonl(out / "log.jsonl")] == list(range(1, 9))
    # --overwrite on a folder with a partial line works too, and reads nothing of it
    with open(out / "log.jsonl", "a") as f:
        f.write('{"step": 9, "lo')
    Trainer(tiny(out, steps=2), ds, overwrite=True).fit()
    assert [r["step"] for r in read_jsonl(out / "log.jsonl")] == [1, 2]


def test_overwrite_keeps_the_old_run_when_the_new_one_cannot_start(tmp_path, ds):
    out = tmp_path / "run"
    train(tiny(out, steps=2), ds)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ConfigError, match="fewer than batch_size"):
        Trainer(tiny(out, steps=2, batch_size=128), ds, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == before


def _fail_writes(monkeypatch, when, partial=False):
    """Make ``os.write`` in dcgan_lib.checkpoint fail with ENOSPC once ``when(path)`` holds,
    optionally after writing half of the bytes (a torn line)."""
    real = os.write

    def write(fd, data):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if when(path):
            if partial:
                real(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)
    monkeypatch.setattr(checkpoint.os, "write", write)


def test_disk_full_while_writing_a_checkpoint(tmp_path, ds, monkeypatch):
    out = tmp_path / "run"
    tr = Trainer(tiny(out, steps=8), ds)
    tr.fit(until_step=2)
    tr = Trainer(tiny(out, steps=8), ds, resume=True)
    _fail_writes(monkeypatch, lambda p: "ckpt-00000004" in p)
    with pytest.raises(DiskFullError) as e:
        tr.fit()
    msg = str(e.value)
    assert "ckpt-00000004.pt" in msg and "needs" in msg and "free" in msg
    assert "the last good checkpoint" in msg and "ckpt-00000002.pt is kept" in msg
    assert len(msg.splitlines()) == 1
    monkeypatch.undo()
    assert [p.name for p in out.iterdir() if ".tmp" in p.name] == []
    assert load_checkpoint(out / "ckpt-00000002.pt")["step"] == 2
    # and the run goes on from there once there is space again
    tr = Trainer(tiny(out, steps=8), ds, resume=True)
    assert tr.step == 2
    tr.fit()
    assert [r["step"] for r in read_jsonl(out / "log.jsonl")] == list(range(1, 9))


def test_disk_full_while_writing_the_log(tmp_path, ds, monkeypatch, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    _fail_writes(monkeypatch, lambda p: p.endswith("log.jsonl"), partial=True)
    rc = cli.main(["train", *TINY, "--steps", "6", "--out", str(out), "--resume"])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    err = err.splitlines()[-1]                  # after the line saying where it resumed
    assert "no space left" in err and "log.jsonl" in err and "ckpt-00000002.pt is kept" in err
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="partial record"):
        assert cli.main(["train", *TINY, "--steps", "6", "--out", str(out), "--resume"]) == 0
    assert [r["step"] for r in read_jsonl(out / "log.jsonl")] == list(range(1, 7))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finishes_the_step_writes_a_checkpoint_and_says_how_to_resume(tmp_path, sig,
                                                                            code):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "dcgan_lib.cli", "train", *TINY,
                          "--checkpoint-every", "1000", "--steps", "100000", "--out", str(out)],
                         stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "log.jsonl").exists() and len((out / "log.jsonl").read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == code
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert f"stopped by {signal.Signals(sig).name}" in last and "--resume" in last
    steps = [r["step"] for r in read_jsonl(out / "log.jsonl")]
    ck = load_checkpoint(list_checkpoints(out)[-1])
    assert ck["step"] == steps[-1] == len(steps)  # the step in flight was finished and saved
    assert cli.main(["train", *TINY, "--steps", str(len(steps) + 2), "--out", str(out),
                     "--resume"]) == 0
    assert [r["step"] for r in read_jsonl(out / "log.jsonl")] == list(range(1, len(steps) + 3))


def test_changed_lr_on_resume_is_applied_and_recorded(tmp_path, ds):
    out = tmp_path / "run"
    train(tiny(out, steps=4), ds)
    tr = Trainer(tiny(out, steps=6, lr=1e-3, beta1=0.9), ds, resume=True)
    for opt in (tr.optG, tr.optD):
        assert opt.param_groups[0]["lr"] == 1e-3 and opt.param_groups[0]["betas"][0] == 0.9
    tr.fit()
    saved = json.loads((out / "config.json").read_text())
    assert saved["lr"] == 1e-3 and saved["beta1"] == 0.9
    change = saved["history"][-1]
    assert change["step"] == 4 and change["event"] == "resume"
    assert change["changed"]["lr"] == [2e-4, 1e-3] and change["changed"]["beta1"] == [0.5, 0.9]
    assert load_checkpoint(list_checkpoints(out)[-1])["history"] == saved["history"]


def test_cli_resume_keeps_the_runs_own_settings_unless_given(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--steps", "2", "--lr", "0.001", "--out", str(out)]) == 0
    assert cli.main(["train", "--out", str(out), "--steps", "4", "--resume",
                     "--no-progress"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["lr"] == 0.001 and saved["ngf"] == 4 and saved["steps"] == 4
    assert saved["history"][-1]["changed"] == {"steps": [2, 4]}


def test_images_per_s_after_a_mid_epoch_resume_counts_only_its_own_steps(tmp_path, ds,
                                                                         monkeypatch):
    out = tmp_path / "run"
    Trainer(tiny(out, steps=8), ds).fit(until_step=6)   # 4 steps an epoch: epoch 2 half done
    clock = iter(range(1000))
    monkeypatch.setattr(train_mod.time, "perf_counter", lambda: float(next(clock)))
    Trainer(tiny(out, steps=8), ds, resume=True).fit()
    last = read_jsonl(out / "epochs.jsonl")[-1]
    assert last["epoch"] == 2
    assert last["images_per_s"] == 2 * 16 / last["seconds"]   # 2 steps of 16 images ran here


# ---------------------------------------------------------------- options checked up front
BAD_TRAIN = [
    (["--epochs", "-1"], "--epochs", "-1"), (["--steps", "0"], "--steps", "0"),
    (["--keep-last", "-1"], "--keep-last", "-1"),
    (["--checkpoint-every", "0"], "--checkpoint-every", "0"),
    (["--sample-every", "0"], "--sample-every", "0"), (["--ngf", "0"], "--ngf", "0"),
    (["--ndf", "-3"], "--ndf", "-3"), (["--nz", "0"], "--nz", "0"),
    (["--image-size", "0"], "--image-size", "0"), (["--image-size", "24"], "--image-size", "24"),
    (["--batch-size", "1"], "--batch-size", "1"), (["--lr", "0"], "--lr", "0"),
    (["--beta1", "1"], "--beta1", "1"), (["--num-workers", "-1"], "--num-workers", "-1"),
    (["--threads", "0"], "--threads", "0"), (["--limit", "0"], "--limit", "0"),
    (["--num-samples", "0"], "--num-samples", "0"),
    (["--quality", "fd"], "--quality", "synthetic"),
]


@pytest.mark.parametrize("extra, flag, value", BAD_TRAIN)
def test_bad_train_option_is_one_line_naming_option_value_and_range(tmp_path, capsys, extra,
                                                                    flag, value):
    args = ["train", *TINY, "--out", str(tmp_path / "r")]
    if "--epochs" not in extra:
        args += ["--steps", "1"] if "--steps" not in extra else []
    rc = cli.main(args + extra)
    assert rc == 2
    err = one_line_error(capsys)
    assert err.startswith("dcgan train: error:") and flag in err and value in err
    assert any(w in err for w in ("must be", "needs")), err
    assert not (tmp_path / "r").exists()


def test_device_that_is_not_there_is_refused(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert cli.main(["train", *TINY, "--steps", "1", "--device", "cuda",
                     "--out", str(tmp_path / "r")]) == 2
    assert "--device" in one_line_error(capsys)


def test_a_run_that_cannot_fit_in_memory_is_refused_before_it_starts(tmp_path, capsys):
    rc = cli.main(["train", "--dataset", "synthetic", "--image-size", "1024", "--steps", "1",
                   "--no-progress", "--out", str(tmp_path / "r")])
    assert rc == 2
    err = one_line_error(capsys)
    assert "GiB" in err and "available on this machine" in err and "--batch-size" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("out, words", [("missing/s.png", "does not exist"),
                                        ("s.unknown", "unknown image type")])
def test_bad_sample_output_is_one_line(tmp_path, capsys, out, words):
    run = tmp_path / "run"
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    rc = cli.main(["sample", "--checkpoint", str(run / "ckpt-00000002.pt"),
                   "--out", str(tmp_path / out)])
    assert rc == 2 and words in one_line_error(capsys)
    assert cli.main(["sample", "--checkpoint", str(run / "ckpt-00000002.pt"), "--num", "0",
                     "--out", str(tmp_path / "s.png")]) == 2
    assert "--num" in one_line_error(capsys)


# ---------------------------------------------------------------- data a user actually has
# (16-bit PNGs, flat image folders, truncated images)
def _imagefolder_args(root, out):
    return ["train", "--dataset", "imagefolder", "--data-root", str(root), "--image-size", "16",
            "--channels", "1", "--ngf", "4", "--ndf", "4", "--nz", "8", "--batch-size", "8",
            "--steps", "2", "--no-progress", "--sample-every", "100", "--num-samples", "4",
            "--out", str(out)]


def test_a_flat_folder_of_16bit_pngs_trains_on_real_grey_levels(tmp_path, capsys):
    import numpy as np
    from PIL import Image
    root = tmp_path / "scans"  # no class sub-folders, 16-bit grey like a scanner's output
    root.mkdir()
    ramp = np.linspace(0, 65535, 16).round().astype(np.uint16)
    for i in range(16):
        Image.fromarray(np.roll(ramp, i)[None].repeat(16, 0)).save(root / f"scan{i:02}.png")
    x = data.preload(data.get_dataset("imagefolder", root, image_size=16, channels=1)).tensors[0]
    assert x.min() == -1 and x.max() == 1 and abs(float(x.mean())) < 0.1  # not all white
    assert cli.main(_imagefolder_args(root, tmp_path / "run")) == 0
    assert "done: 2 steps" in capsys.readouterr().out


def test_a_truncated_image_is_named_in_one_line(tmp_path, capsys):
    import numpy as np
    from PIL import Image
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (24, 24), np.uint8)).save(root / f"{i:02}.png")
    raw = (root / "05.png").read_bytes()
    (root / "05.png").write_bytes(raw[:len(raw) // 2])  # a download cut short
    assert cli.main(_imagefolder_args(root, tmp_path / "run")) == 2
    err = one_line_error(capsys)
    assert str(root / "05.png") in err and "Remove or replace" in err


def test_images_beside_class_folders_are_refused_in_one_line(tmp_path, capsys):
    from PIL import Image
    root = tmp_path / "mixed"
    (root / "cats").mkdir(parents=True)
    for i in range(8):
        Image.new("L", (16, 16), i).save(root / "cats" / f"{i}.png")
    Image.new("L", (16, 16)).save(root / "stray.png")
    assert cli.main(_imagefolder_args(root, tmp_path / "run")) == 2
    err = one_line_error(capsys)
    assert str(root) in err and "stray.png" in err and "sub-folders" in err


def test_a_folder_without_images_says_what_to_point_at(tmp_path, capsys):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "readme.txt").write_text("the images are elsewhere")
    assert cli.main(_imagefolder_args(root, tmp_path / "run")) == 2
    err = one_line_error(capsys)
    assert str(root) in err and "folder of images" in err
