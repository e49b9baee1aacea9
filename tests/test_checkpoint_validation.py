"""Issue 23, items 3 and 4: one checked checkpoint loader for every consumer (``dcgan sample``,
``--resume``, the chapters' ``load_models``), ``dcgan sample`` on conditional checkpoints,
and every option bounded and checked before any work. Each case: exit code, one line on
stderr naming the file or option, no traceback, nothing on disk changed; with a good input
beside it that works."""
from __future__ import annotations

import copy
import warnings

import pytest
import torch

from dcgan_lib import cli
from dcgan_lib import train as train_mod
from dcgan_lib.checkpoint import CheckpointError, RunFolderError
from dcgan_lib.train import TrainConfig, list_checkpoints, load_checkpoint, load_models

TINY = ["--dataset", "synthetic", "--image-size", "16", "--channels", "1", "--ngf", "4",
        "--ndf", "4", "--nz", "8", "--batch-size", "16", "--no-progress",
        "--checkpoint-every", "2", "--sample-every", "100", "--num-samples", "4"]


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 4-step unconditional run and a 4-step conditional one (--labels), made once."""
    root = tmp_path_factory.mktemp("runs")
    assert cli.main(["train", *TINY, "--steps", "4", "--out", str(root / "run")]) == 0
    assert cli.main(["train", *TINY, "--steps", "4", "--labels", "--quality", "none",
                     "--nfc", "16", "--out", str(root / "cond")]) == 0
    return root


def _mutants():
    def cfg(k, v):
        return lambda c: c["config"].__setitem__(k, v)
    return {
        "config a string": (lambda c: c.__setitem__("config", str(c["config"])), "config is a str"),
        "no nc": (lambda c: c.pop("nc"), "no nc"),
        "wider tensors": (cfg("ngf", 8), "has shape"),
        "image size 48": (cfg("image_size", 48), "image_size"),
        "variant nosuch": (cfg("variant", "nosuch"), "variant"),
        "nz -3": (cfg("nz", -3), "nz"),
        "nz a string": (cfg("nz", "8"), "nz"),
        "lr inf": (cfg("lr", float("inf")), "lr"),
        "no G": (lambda c: c.pop("G"), "no G"),
        "D tensor missing": (lambda c: c["D"].pop(next(iter(c["D"]))), "missing"),
        "not a dict": (lambda c: (c.clear(), c.__setitem__("x", 1)), "no config"),
    }


MUTANTS = _mutants()


@pytest.fixture
def mutant(runs, tmp_path, request):
    ck = torch.load(runs / "run" / "ckpt-00000004.pt", weights_only=True)
    change, words = MUTANTS[request.param]
    c = copy.deepcopy(ck)
    change(c)
    path = tmp_path / "bad.pt"
    torch.save(c, path)
    return path, words


@pytest.mark.parametrize("mutant", list(MUTANTS), indirect=True)
def test_malformed_checkpoint_is_one_line_in_sample_and_load_models(mutant, runs, tmp_path,
                                                                    capsys):
    path, words = mutant
    before = path.read_bytes()
    png = tmp_path / "s.png"
    rc = cli.main(["sample", "--checkpoint", str(path), "--num", "4", "--out", str(png)])
    assert rc == 2
    err = one_line(capsys)
    assert str(path) in err and words in err, err
    assert not png.exists() and path.read_bytes() == before
    with pytest.raises(CheckpointError, match=words):
        load_models(path)                      # the chapters' loader: the same check
    assert issubclass(CheckpointError, RunFolderError)
    # positive control: the checkpoint it was made from
    good = runs / "run" / "ckpt-00000004.pt"
    assert cli.main(["sample", "--checkpoint", str(good), "--num", "4", "--out", str(png)]) == 0
    assert png.stat().st_size > 0


def test_resume_needs_the_optimisers_and_step(runs):
    good = runs / "run" / "ckpt-00000004.pt"
    assert load_checkpoint(good, resume=True)["step"] == 4
    ck = torch.load(good, weights_only=True)
    for key in ("optG", "optD", "step", "fixed_z", "rng"):
        c = {k: v for k, v in ck.items() if k != key}
        torch.save(c, runs / "partial.pt")
        load_checkpoint(runs / "partial.pt")          # enough to sample from
        with pytest.raises(CheckpointError, match=rf"no {key} inside \(needed to resume\)"):
            load_checkpoint(runs / "partial.pt", resume=True)
    c = copy.deepcopy(ck)
    k0 = next(iter(c["optG"]["state"]))
    c["optG"]["state"][k0]["exp_avg"] = torch.zeros(3)
    torch.save(c, runs / "partial.pt")
    with pytest.raises(CheckpointError, match="optG's exp_avg"):
        load_checkpoint(runs / "partial.pt", resume=True)
    (runs / "partial.pt").unlink()


@pytest.mark.parametrize("mutant", ["config a string", "no nc", "wider tensors",
                                    "image size 48", "variant nosuch", "nz -3"], indirect=True)
def test_resume_skips_an_invalid_newest_checkpoint_like_an_unreadable_one(mutant, runs,
                                                                          tmp_path, capsys):
    import shutil
    path, words = mutant
    out = tmp_path / "run"
    shutil.copytree(runs / "run", out)
    bad = out / "ckpt-00000006.pt"
    shutil.copy(path, bad)
    with pytest.warns(UserWarning, match=rf"ckpt-00000006.pt.*{words}"):
        rc = cli.main(["train", "--out", str(out), "--steps", "8", "--resume", "--no-progress"])
    assert rc == 0
    assert "resuming" in capsys.readouterr().err and load_checkpoint(
        out / "ckpt-00000008.pt", resume=True)["step"] == 8


def test_resume_with_only_invalid_checkpoints_stops_and_keeps_everything(runs, tmp_path,
                                                                         capsys):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(runs / "run", out)
    for p in list_checkpoints(out):
        c = torch.load(p, weights_only=True)
        del c["optG"]
        torch.save(c, p)
    before = snapshot(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = cli.main(["train", "--out", str(out), "--steps", "8", "--resume", "--no-progress"])
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no readable checkpoint" in err and "Traceback" not in err
    assert snapshot(out) == before


# ---------------------------------------------------------------- conditional checkpoints
def test_sample_draws_a_class_grid_from_a_conditional_checkpoint(runs, tmp_path, capsys):
    from PIL import Image
    ck = runs / "cond" / "ckpt-00000004.pt"
    png = tmp_path / "grid.png"
    assert cli.main(["sample", "--checkpoint", str(ck), "--num", "6", "--out", str(png)]) == 0
    assert "3 per class, one row per class" in capsys.readouterr().out
    assert Image.open(png).size == (3 * 17 + 1, 2 * 17 + 1)   # 2 classes (rows) x 3
    one = tmp_path / "one.png"
    assert cli.main(["sample", "--checkpoint", str(ck), "--num", "4", "--label", "1",
                     "--out", str(one)]) == 0
    assert "of class 1" in capsys.readouterr().out
    assert Image.open(one).size == (2 * 17 + 1, 2 * 17 + 1)


@pytest.mark.parametrize("label, words", [("2", "from 0 to 1"), ("-1", "0 or more")])
def test_sample_label_out_of_range_is_one_line(runs, tmp_path, capsys, label, words):
    png = tmp_path / "s.png"
    rc = cli.main(["sample", "--checkpoint", str(runs / "cond" / "ckpt-00000004.pt"),
                   "--label", label, "--out", str(png)])
    assert rc == 2
    err = one_line(capsys)
    assert "--label" in err and words in err and not png.exists()


def test_label_on_an_unconditional_checkpoint_is_one_line(runs, tmp_path, capsys):
    rc = cli.main(["sample", "--checkpoint", str(runs / "run" / "ckpt-00000004.pt"),
                   "--label", "0", "--out", str(tmp_path / "s.png")])
    assert rc == 2 and "unconditional" in one_line(capsys)


# ---------------------------------------------------------------- options bounded up front
BAD = [
    (["--lr", "inf"], "--lr", "inf"), (["--lr", "nan"], "--lr", "nan"),
    (["--beta2", "nan"], "--beta2", "nan"),
    (["--epochs", "inf"], "--epochs", "inf"), (["--epochs", "1e9"], "--epochs", "1000000000"),
    (["--steps", "1000000000"], "--steps", "1000000000"),
    (["--threads", "10000"], "--threads", "10000"),
    (["--num-workers", "10000"], "--num-workers", "10000"),
    (["--num-samples", "1"], "--num-samples", "1"),
    (["--seed", str(2**64)], "--seed", str(2**64)),
    (["--out", ""], "--out", "''"),
]


@pytest.mark.parametrize("extra, flag, value", BAD)
def test_bad_option_is_one_line_before_any_work(tmp_path, monkeypatch, capsys, extra, flag,
                                                 value):
    monkeypatch.chdir(tmp_path)
    args = ["train", *TINY, "--out", str(tmp_path / "r")]
    if "--epochs" not in extra and "--steps" not in extra:
        args += ["--steps", "1"]
    assert cli.main(args + extra) == 2
    err = one_line(capsys)
    assert err.startswith("dcgan train: error:") and flag in err and value in err, err
    assert "must" in err
    assert list(tmp_path.iterdir()) == []           # nothing written, not even in the cwd


def test_the_bounds_of_this_machine_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"{train_mod.PER_CORE * train_mod.CORES} here" in out


def test_good_bounded_options_work(tmp_path, capsys):
    assert cli.main(["train", *TINY, "--steps", "2", "--threads", "1", "--num-samples", "2",
                     "--seed", str(2**63 - 1), "--lr", "1e-3", "--out",
                     str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "ckpt-00000002.pt").is_file()
    torch.set_num_threads(1)


def test_out_naming_a_file_is_refused_and_the_file_kept(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    assert cli.main(["train", *TINY, "--steps", "1", "--out", str(f)]) == 2
    assert "--out" in one_line(capsys) and f.read_text() == "mine"


def test_an_epoch_count_too_long_for_the_data_is_refused(tmp_path, capsys):
    # 1e7 epochs pass the option's bound but are 32 steps each here: 3.2e8 steps
    assert cli.main(["train", *TINY, "--epochs", "1e7", "--out", str(tmp_path / "r")]) == 2
    err = one_line(capsys)
    assert "--epochs" in err and "320,000,000 steps" in err and not (tmp_path / "r").exists()


def test_the_sample_grid_counts_in_the_memory_estimate(tmp_path, capsys):
    from dcgan_lib.models import estimate_train_memory
    small = estimate_train_memory(16, 1, 8, 4, 4, 16, samples=4)
    assert estimate_train_memory(16, 1, 8, 4, 4, 16, samples=300_000) > 100 * small
    assert cli.main(["train", *TINY, "--steps", "1", "--num-samples", "1000000000",
                     "--out", str(tmp_path / "r")]) == 2
    err = one_line(capsys)
    assert "GiB" in err and "a sample grid of 1000000000" in err and "--num-samples" in err
    assert not (tmp_path / "r").exists()


def test_a_long_run_prints_its_length_and_a_timed_estimate(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train_mod, "LONG_RUN", 3)
    assert cli.main(["train", *TINY, "--steps", "4", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "4 steps to run" in err and "a step timed on this machine" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]   # timed elsewhere
    # a short run says nothing of its length
    assert cli.main(["train", *TINY, "--steps", "2", "--out", str(tmp_path / "s")]) == 0
    assert "steps to run" not in capsys.readouterr().err


# ---------------------------------------------------------------- dcgan sample's options
@pytest.mark.parametrize("extra, words", [
    (["--num", "50000000"], "GiB"),
    (["--seed", str(2**64)], "--seed"), (["--seed", "-1"], "--seed"),
    (["--out", ""], "is a folder"), (["--out", "/proc"], "is a folder"),
    (["--out", "/proc/s.png"], "cannot write"),
])
def test_bad_sample_option_is_one_line_and_changes_nothing(runs, tmp_path, monkeypatch,
                                                           capsys, extra, words):
    monkeypatch.chdir(tmp_path)
    ck = runs / "run" / "ckpt-00000004.pt"
    before = ck.read_bytes()
    args = ["sample", "--checkpoint", str(ck)]
    if "--out" not in extra:
        args += ["--out", str(tmp_path / "s.png")]
    assert cli.main(args + extra) == 2
    err = one_line(capsys)
    assert words in err and err.startswith("dcgan sample: error:"), err
    assert list(tmp_path.iterdir()) == [] and ck.read_bytes() == before


def test_sample_out_an_existing_folder_is_refused_and_kept(runs, tmp_path, capsys):
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"x")
    assert cli.main(["sample", "--checkpoint", str(runs / "run" / "ckpt-00000004.pt"),
                     "--out", str(folder)]) == 2
    assert "is a folder" in one_line(capsys) and snapshot(folder) == {
        folder.joinpath("a.png").relative_to(folder): b"x"}


@pytest.mark.skipif(hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders")
def test_sample_out_in_a_read_only_folder_is_one_line(runs, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert cli.main(["sample", "--checkpoint", str(runs / "run" / "ckpt-00000004.pt"),
                         "--out", str(ro / "s.png")]) == 2
        assert "cannot write" in one_line(capsys) and list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_sample_replaces_an_old_image_whole(runs, tmp_path, capsys):
    png = tmp_path / "s.png"
    png.write_bytes(b"old")
    ck = str(runs / "run" / "ckpt-00000004.pt")
    assert cli.main(["sample", "--checkpoint", ck, "--num", "4", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["s.png"]   # no probe or temporary left
