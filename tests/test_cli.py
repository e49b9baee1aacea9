import subprocess
import sys

import pytest

from dcgan_lib import cli


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in ("--dataset", "--data-root", "--image-size", "--epochs", "--steps",
                 "--batch-size", "--variant", "--out", "--seed", "--resume", "--schedule",
                 "--threads", "--no-channels-last"):
        assert flag in out
    assert "paper: the authors' code" in out


def test_train_then_resume_then_sample(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", "synthetic", "--image-size", "16", "--ngf", "4", "--ndf", "4",
            "--nz", "8", "--batch-size", "16", "--steps", "3", "--out", str(out),
            "--no-progress", "--channels", "1"]
    assert cli.main(args) == 0
    assert cli.main(args) == 2          # refuses to overwrite
    assert "--resume" in capsys.readouterr().err
    args[args.index("3")] = "5"
    assert cli.main(args + ["--resume"]) == 0
    assert "5 steps" in capsys.readouterr().out
    png = tmp_path / "s.png"
    assert cli.main(["sample", "--checkpoint", str(out / "ckpt-00000005.pt"), "--num", "9",
                     "--out", str(png)]) == 0
    from PIL import Image
    assert Image.open(png).size == (3 * 17 + 1, 3 * 17 + 1)


def test_errors_are_clear(tmp_path, capsys):
    assert cli.main(["sample", "--checkpoint", str(tmp_path / "no.pt"), "--num", "4",
                     "--out", str(tmp_path / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "imagefolder", "--data-root", str(tmp_path / "d"),
                     "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no data found at" in err and str(tmp_path / "d") in err
    with pytest.raises(SystemExit):
        cli.main(["train", "--dataset", "cifar100", "--steps", "1"])
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_entry_point():
    r = subprocess.run([sys.executable, "-m", "dcgan_lib.cli", "sample", "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "--checkpoint" in r.stdout


def test_threads_option_reaches_the_trainer(tmp_path):
    import json

    import torch
    old = torch.get_num_threads()
    try:
        assert cli.main(["train", "--dataset", "synthetic", "--image-size", "16", "--ngf", "4",
                         "--ndf", "4", "--nz", "8", "--batch-size", "16", "--steps", "1",
                         "--out", str(tmp_path / "r"), "--no-progress", "--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
        assert json.loads((tmp_path / "r" / "config.json").read_text())["threads"] == 1
    finally:
        torch.set_num_threads(old)
