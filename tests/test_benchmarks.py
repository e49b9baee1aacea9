"""benchmarks/run.py: the quick mode runs end to end on tiny sizes and prints every row; its
measuring tools (benchmarks/common.py: FLOP counter, peak memory, interleaved timing) give
known answers; the candidate steps of the CPU study compute what the textbook step computes.
No timings are asserted (the machine is shared)."""
import contextlib
import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the ``benchmarks`` package sits at the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks import common, loader, textbook  # noqa: E402
TINY = ["--quick", "--device", "cpu", "--batch-size", "4", "--width", "4", "--repeats", "1",
        "--warmup", "0", "--mm-size", "64", "--n-sample", "8", "--n-dedup", "32",
        "--n-loader", "40"]


@pytest.fixture(scope="module")
def bench():
    from benchmarks import run
    return run


def test_runs_as_a_script():
    """``python benchmarks/run.py`` finds its sibling modules from any working directory."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--help"],
                         capture_output=True, text=True, cwd="/", timeout=300)
    assert out.returncode == 0, out.stderr
    assert "--variants" in out.stdout and "--loader" in out.stdout


STUDY = ["--variants", "--only-variants", "freeze D during", "BCEWithLogits", "--profile"]


@pytest.fixture(scope="module")
def quick(bench):
    """One in-process run of the quick mode on tiny sizes, with a few study candidates."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        res = bench.main(TINY + STUDY)
    return res, buf.getvalue()


def _first_cells(out: str) -> list[str]:
    return [line.split("  ")[0].strip() for line in out.splitlines()]


def test_quick_mode_prints_every_row(quick):
    res, out = quick
    for heading in ("## machine", "## matrix multiply", "## training images/s",
                    "## sampling, features, de-duplication"):
        assert heading in out
    cells = _first_cells(out)
    for item in ("CPU", "cores", "torch threads", "GPU"):
        assert item in cells
    assert "torch.mm float32 64x64" in cells
    for name in ("32x32 grey", "32x32 colour", "64x64 colour"):
        assert name in cells
        assert f"sampling {name} (metrics.generate)" in cells
        assert f"D features {name} (features.discriminator_features)" in cells
    assert "dedup autoencoder codes + hash table (paper 4.1.1) [cpu]" in cells
    assert "dedup exact SHA-1 of bytes (baseline) [cpu]" in cells
    header = next(line for line in out.splitlines() if line.startswith("training "))
    for col in ("plain img/s", "ours img/s", "ours/plain", "GFLOP/img ours", "% of mm",
                "MiB ours"):
        assert col in header

    train = {r["training"]: r for r in res["training"]}
    for r in train.values():
        assert r["batch"] == 4 and r["width"] == 4
        assert r["plain img/s"] > 0 and r["ours img/s"] > 0 and r["ours/plain"] > 0
        # our step never does more arithmetic than the textbook one
        assert 0 < r["GFLOP/img ours"] <= r["GFLOP/img plain"] * (1 + 1e-9)
    g, c, big = (train[n]["GFLOP/img plain"] for n in ("32x32 grey", "32x32 colour",
                                                         "64x64 colour"))
    assert g < c < big  # colour adds to the first/last layer; 64x64 adds a layer and 4x area
    assert all(r["img/s"] > 0 for r in res["other"])


def test_loader_rows(quick):
    """LSUN-format LMDB and image folder, 0/1/2 workers, every image delivered (checked inside
    each pass)."""
    res, out = quick
    assert "## data loading at LSUN scale (40 synthetic 256x192 JPEG images" in out
    rows = {(r["loader"], r["workers"]): r for r in res["loader"]}
    sources = ["image folder (torchvision ImageFolder)"]
    if importlib.util.find_spec("lmdb") is not None:
        sources.insert(0, "LSUN LMDB (data.LMDBImages)")
    assert list(rows) == [(s, w) for s in sources for w in (0, 1, 2)]
    for (s, w), r in rows.items():
        assert r["images"] == 40 and r["img/s"] > 0 and r["MiB on disk"] > 0
        assert r["vs 0 workers"] == 1.0 if w == 0 else r["vs 0 workers"] > 0


def test_synthetic_photos_look_like_photographs():
    from PIL import Image
    jpegs = list(loader.synthetic_photos(3))
    assert len(set(jpegs)) == 3
    assert all(4_000 < len(b) < 40_000 for b in jpegs)  # LSUN: about 14 kB an image
    assert Image.open(io.BytesIO(jpegs[0])).size == (256, 192)


def test_study_rows_and_same_numbers(quick):
    res, out = quick
    assert "## study: candidate changes to the textbook step (32x32 grey" in out
    rows = {r["candidate"]: r for r in res["variants"]}
    assert set(rows) == {"textbook", "BCEWithLogits (no sigmoid)", "freeze D during G update",
                         "library Trainer.train_step"}
    for r in rows.values():
        assert r["img/s"] > 0 and r["speed-up vs textbook"] > 0
    # freezing D in the G update skips exactly D's weight gradients: fewer FLOPs, same numbers
    assert rows["freeze D during G update"]["GFLOP/img"] < rows["textbook"]["GFLOP/img"]
    assert rows["freeze D during G update"]["G rel. diff"] < 1e-6
    assert rows["BCEWithLogits (no sigmoid)"]["GFLOP/img"] == pytest.approx(
        rows["textbook"]["GFLOP/img"])
    assert rows["BCEWithLogits (no sigmoid)"]["G rel. diff"] < 1e-3  # rounding only


def test_profile_rows(quick):
    res, out = quick
    assert "## profile of one Trainer.train_step (32x32 grey, batch 4, width 4)" in out
    rows = {r["part of the step"]: r for r in res["profile"]}
    for part in ("convolution forward", "convolution backward", "batch-norm forward",
                 "optimizer (Adam step, zero_grad)", "whole step"):
        assert rows[part]["ms"] > 0
    parts = [r["ms"] for k, r in rows.items() if k != "whole step"]
    assert sum(parts) == pytest.approx(rows["whole step"]["ms"])  # the rest closes the sum
    assert rows["convolution forward"]["GFLOP/s"] > 0


def test_count_flops_known_answers():
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert common.count_flops(lambda: torch.mm(a, b)) == 2 * 8 * 16 * 4
    conv = torch.nn.Conv2d(3, 5, 5, 2, 2, bias=False)
    x = torch.randn(2, 3, 8, 8)
    macs = 2 * 4 * 4 * 5 * 3 * 25  # images x output pixels x out ch x in ch x kernel
    assert common.count_flops(lambda: conv(x)) == 2 * macs
    x.requires_grad_(True)
    assert common.count_flops(lambda: conv(x).sum().backward()) == 3 * 2 * macs  # fwd + dX + dW


def test_textbook_loop_follows_the_example():
    """D ends in a sigmoid (BCELoss on probabilities), both networks learn, the logged
    probabilities are in (0, 1)."""
    from dcgan_lib.models import Discriminator, Generator
    G, D = Generator(32, 8, 4, 1), Discriminator(32, 4, 1)
    loop = textbook.PlainLoop(G, D, 8, "uniform", 2e-4, (0.5, 0.999), torch.device("cpu"))
    assert isinstance(loop.netD[-1], torch.nn.Sigmoid)
    before = [p.clone() for p in (*loop.netG.parameters(), *loop.netD.parameters())]
    rec = loop(torch.rand(4, 1, 32, 32) * 2 - 1)
    after = list((*loop.netG.parameters(), *loop.netD.parameters()))
    assert all(not torch.equal(p, q) for p, q in zip(before, after))
    for k in ("d_x", "d_g_z1", "d_g_z2"):
        assert 0 < rec[k] < 1
    assert G.blocks[0][0].weight.data_ptr() != loop.netG.blocks[0][0].weight.data_ptr()


def test_interleaved_rotates_and_times():
    calls = []
    fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    t = common.interleaved(fns, repeats=3, warmup=1, device=torch.device("cpu"))
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert all(len(v) == 3 and min(v) >= 0 for v in t.values())
    assert common.paired_ratio([2.0, 4.0, 6.0], [1.0, 1.0, 3.0]) == 2.0


def test_peak_memory_sees_a_large_allocation():
    with common.peak_memory(torch.device("cpu")) as m:
        x = torch.ones(16 * 2**20)  # 64 MiB, touched
        del x
    if m["how"].startswith("peak RSS"):
        assert 56 < m["mib"] < 200
    else:  # ru_maxrss fallback is only a lower bound
        assert m["mib"] >= 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_a_clear_error(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--device", "cuda"])
    assert "--device cuda" in capsys.readouterr().err


def test_bad_sizes_are_clear_errors(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--batch-size", "1"])
    assert "--batch-size" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--batch-size", "8", "--n-images", "4"])
    assert "--n-images" in capsys.readouterr().err


def test_sample_nn_benchmark_runs_at_tiny_n(capsys):
    """benchmarks/sample_nn.py (issue 24, item 3): the sampling + streaming 1-NN pipeline's
    samples/s and its share of the sgemm rate, both parts' FLOPs counted."""
    from benchmarks import sample_nn
    res = sample_nn.main(["--n", "48", "--n-part", "16", "--batch", "16", "--queries", "50",
                          "--threads", "1", "--mm-size", "64", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "## sgemm rate" in out and "## sampling + streaming 1-NN, CondGenerator 28x28" in out
    g, d = res["flops"]
    assert abs(g / 1e6 - 35.6) < 0.2          # the appendix's G: about 36 MFLOP a sample
    assert d == 2 * 50 * 28 * 28              # distances: 2 x queries x pixels
    parts = [r["part"] for r in res["rows"]]
    assert parts[0].startswith("sampling alone") and parts[1].startswith("distances alone")
    pipe = res["rows"][-1]
    assert pipe["part"] == "pipeline (sampling + distances)" and pipe["samples"] == 48
    assert pipe["samples/s"] > 0 and res["share"][1] == pipe["% of sgemm"] / 100 > 0
    assert abs(pipe["MFLOP/sample"] - (g + d) / 1e6) < 1e-9
    assert "1 thread(s): " in out and "% of the sgemm rate (goal 60%: " in out
    assert "10,000,000 samples would take" in out
