"""The chapter graph (dcgan_lib.graph) and the runner that follows it (ci/run_book.py): order,
artefact paths under results/<profile>/, skipping consumers of a failed producer, the plan."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dcgan_lib import book, graph

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "ci"))
sys.path.insert(0, str(REPO / "tests"))
import run_book  # noqa: E402


@pytest.mark.parametrize("profile", book.PROFILES)
def test_every_producer_runs_before_its_consumers_and_every_parameter_exists(profile):
    steps = graph.steps(profile)
    assert sorted({s.chapter for s in steps}) == sorted(graph.CHAPTERS)
    assert len({s.name for s in steps}) == len(steps)
    produced = set()
    for st in steps:
        declared = graph.chapter_parameters(st.chapter)
        for param in [*st.params, *st.consumes, *st.optional]:
            assert param in declared, f"{st.name}: no parameter {param} in {st.chapter}"
        for name in st.consumes.values():
            assert name in produced, f"{st.name} consumes {name} before it is produced"
        for name in st.optional.values():
            assert name in produced or graph.ARTEFACTS[name].producer == graph.PERSON
        for name in st.produces:
            a = graph.ARTEFACTS[name]
            assert graph.producer_step(name, profile) == st.name, name
            assert a.path.startswith(st.out + "/"), name
            if profile == "full":
                assert a.producer == st.name, name
            produced.add(name)
        for d in st.data:
            assert d in (*graph.fetch_names(), graph.SVHN_WEIGHTS), d


def test_full_is_the_papers_pipeline():
    full = {s.name: s for s in graph.steps("full")}
    assert [s for s in full if s.startswith("03_")] == [
        "03_datasets-lsun", "03_datasets-celeba", "03_datasets-imagenet32"]
    assert full["05_classification-cifar10"].consumes == {"ours_checkpoint": "imagenet32_model"}
    assert full["05_classification-svhn"].consumes == {"ours_checkpoint": "ch02_model"}
    assert graph.SVHN_WEIGHTS in full["05_classification-svhn"].data
    assert full["02_training"].data == ("svhn",)     # 3 channels, as chapter 05 probes
    for ch in ("06_latent_walk", "07_guided_backprop", "08_forgetting"):
        assert full[ch].consumes == {"full_checkpoint": "lsun_model"}
    assert full["08_forgetting"].optional == {"full_boxes": "window_boxes"}
    assert full["09_vector_arithmetic"].consumes == {"full_checkpoint": "celeba_model"}
    assert full["10_conditional"].data == ("mnist",)


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_chapter_03_is_one_step_training_all_three_set_ups(profile):
    (st,) = [s for s in graph.steps(profile) if s.chapter == "03_datasets"]
    assert (st.name, st.params, st.out) == ("03_datasets", {"dataset": ""}, "03_datasets")
    assert st.produces == ("lsun_model", "celeba_model", "imagenet32_model")
    for name in st.produces:     # the files the full pipeline's three steps write, per set-up
        assert graph.ARTEFACTS[name].path.split("/")[:3] == \
            ["03_datasets", name.replace("_model", ""), "run"]
        assert graph.ARTEFACTS[name].what[profile] != "-"
        assert graph.producer_step(name, profile) == "03_datasets"
    assert not any(a in s.consumes.values() or a in s.optional.values()
                   for s in graph.steps(profile) for a in st.produces)   # nothing reads them here
    assert graph.chapter_parameters("03_datasets")["dataset"] == ""    # the default: all three
    assert graph.find_step(profile, "03_datasets", "").name == "03_datasets"
    assert graph.find_step(profile, "03_datasets", "celeba").data == st.data  # one set-up alone
    if profile == "cpu":
        assert st.data == ("fashion-mnist",) and len(st.work) == 3
        assert graph.estimate_seconds(st, graph.REFERENCE_MM_GFLOPS) > 0
    assert graph.producer_step("window_boxes", profile) == graph.PERSON
    with pytest.raises(ValueError, match="unknown artefact"):
        graph.producer_step("bedrooms", profile)


def test_artefact_paths_are_absolute_under_results_profile(tmp_path, monkeypatch):
    p = graph.artefact_path("lsun_model", "full", "results")
    assert p == REPO / "results/full/03_datasets/lsun/run/best.pt"
    assert graph.artefact_path("lsun_model", "full", tmp_path).parent.parent.parent.parent == \
        tmp_path / "full"
    monkeypatch.delenv("DCGAN_PROFILE", raising=False)
    run = book.setup("99_test", "full", 0, "", str(tmp_path))
    assert graph.artefact_path("celeba_model", run) == \
        tmp_path / "full/03_datasets/celeba/run/best.pt"
    with pytest.raises(ValueError, match="unknown artefact 'bedrooms'"):
        graph.artefact_path("bedrooms", "full")


def test_chapter_parameters_read_the_parameters_cell(tmp_path):
    (tmp_path / "99_x.py").write_text('# %%\nx = 1\n# %% tags=["parameters"]\nprofile = ""\n'
                                      'epochs = None  # None: the profile\'s\nks = (1, 2)\n'
                                      '# %%\ny = 2\n')
    assert graph.chapter_parameters("99_x", tmp_path) == {"profile": "", "epochs": None,
                                                         "ks": (1, 2)}


def test_estimate_scales_with_width_device_and_loader():
    st = graph.Step("s", "c", work=(graph.Work(35_500, 64, 64),))
    assert graph.estimate_seconds(st, graph.REFERENCE_MM_GFLOPS) == pytest.approx(1000)
    wide = graph.Step("s", "c", work=(graph.Work(35_500, 64, 128),))
    assert graph.estimate_seconds(wide, 2 * graph.REFERENCE_MM_GFLOPS) == pytest.approx(2000)
    fast = graph.Step("s", "c", work=(graph.Work(80_000, 64, 64, streamed=True),))
    assert graph.estimate_seconds(fast, 1e6, workers=8) == pytest.approx(10)   # loader-bound
    assert graph.estimate_seconds(st, 1e9, min_step_s=0.004) == pytest.approx(35_500 / 32_000)
    assert graph.format_duration(5400) == "1.5 h" and graph.format_duration(90) == "2 min"


def test_data_status_checks_with_fetch_and_the_svhn_weights(tmp_path, monkeypatch):
    import fixtures_full
    monkeypatch.delenv("DCGAN_SVHN_WEIGHTS", raising=False)
    fixtures_full.build_svhn(tmp_path, 8)
    fixtures_full.patch_torchvision_md5(tmp_path, monkeypatch)
    assert graph.data_status("svhn", tmp_path)[0]
    ok, line = graph.data_status("mnist", tmp_path)
    assert not ok and line.startswith("mnist: missing") and "dcgan data mnist" in line
    ok, line = graph.data_status(graph.SVHN_WEIGHTS, tmp_path, tmp_path / "nowhere")
    assert not ok and "nowhere" in line
    fixtures_full.build_svhn_weights(tmp_path / "newmu-svhn-dcgan")
    assert graph.svhn_weights_folder(tmp_path) == tmp_path / "newmu-svhn-dcgan"
    assert graph.data_status(graph.SVHN_WEIGHTS, tmp_path)[0]
    st = graph.Step("s", "c", data=("svhn", "mnist", graph.SVHN_WEIGHTS))
    assert [m.split(":")[0] for m in graph.missing_data(st, tmp_path)] == ["mnist"]


# ------------------------------------------------------------------ the runner
def test_select_only_and_a_fixed_parameter():
    names = [s.name for s in run_book.select("full", ["03"], {})]
    assert names == ["03_datasets-lsun", "03_datasets-celeba", "03_datasets-imagenet32"]
    one = run_book.select("full", ["03"], {"dataset": "celeba"})
    assert [(s.name, s.params) for s in one] == [("03_datasets-celeba", {"dataset": "celeba"})]
    assert one[0].produces == ("celeba_model",)
    (other,) = run_book.select("cpu", ["03"], {"dataset": "celeba"})   # not in cpu's graph
    assert other.name == "03_datasets-celeba" and other.produces == () and other.consumes == {}
    assert other.params == {"dataset": "celeba"} and other.out == "03_datasets/celeba"
    assert [(s.name, s.params) for s in run_book.select("cpu", ["03"], {})] == \
        [("03_datasets", {"dataset": ""})]
    assert [s.name for s in run_book.select("full", ["05_classification-svhn"], {})] == \
        ["05_classification-svhn"]
    with pytest.raises(run_book.OnlyError, match="no chapter or step named"):
        run_book.select("full", ["11"], {})


def _fake(results: Path, fail: set[str], skip_writing: set[str] = frozenset()):
    """An ``execute`` for run_steps that writes each produced artefact, or raises."""
    calls = {}

    def execute(st, params):
        calls[st.name] = params
        if st.name in fail:
            raise RuntimeError(f"{st.name} broke")
        for name in st.produces:
            if st.name not in skip_writing:
                path = graph.artefact_path(name, "full", results)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("weights")
    return execute, calls


def test_a_failed_producer_skips_its_consumers_naming_the_artefact(tmp_path):
    execute, calls = _fake(tmp_path, fail={"03_datasets-lsun"})
    rows = run_book.run_steps(graph.steps("full"), "full", tmp_path, {"profile": "full"},
                              execute, log=lambda *a, **k: None)
    status = {r["step"].name: r["status"] for r in rows}
    assert status["03_datasets-lsun"].startswith("FAILED: RuntimeError")
    for name in ("06_latent_walk", "07_guided_backprop", "08_forgetting"):
        assert status[name].startswith("SKIPPED: needs lsun_model") and name not in calls
        assert "03_datasets-lsun did not produce" in status[name]
    for name in ("02_training", "05_classification-svhn", "05_classification-cifar10",
                 "09_vector_arithmetic", "10_conditional"):
        assert status[name] == "ok", name
    assert calls["05_classification-cifar10"]["ours_checkpoint"] == \
        str(graph.artefact_path("imagenet32_model", "full", tmp_path))
    assert calls["05_classification-cifar10"]["dataset"] == "cifar10"
    assert calls["09_vector_arithmetic"]["full_checkpoint"] == \
        str(tmp_path / "full/03_datasets/celeba/run/best.pt")


def test_absent_artefacts_and_artefacts_not_written(tmp_path):
    only = run_book.select("full", ["08"], {})
    execute, calls = _fake(tmp_path, fail=set())
    (row,) = run_book.run_steps(only, "full", tmp_path, {}, execute, log=lambda *a, **k: None)
    assert row["status"].startswith("SKIPPED: needs lsun_model") and "is absent" in row["status"]
    assert "--only 03_datasets-lsun" in row["status"]
    rows = run_book.run_steps(run_book.select("full", ["03_datasets-lsun", "08"], {}), "full",
                              tmp_path, {}, execute, log=lambda *a, **k: None)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert "full_boxes" not in calls["08_forgetting"]          # optional, absent: not passed
    boxes = graph.artefact_path("window_boxes", "full", tmp_path)
    boxes.write_text("{}")
    run_book.run_steps(only, "full", tmp_path, {}, execute, log=lambda *a, **k: None)
    assert calls["08_forgetting"]["full_boxes"] == str(boxes)
    execute, _ = _fake(tmp_path / "other", fail=set(), skip_writing={"02_training"})
    (row,) = run_book.run_steps(run_book.select("full", ["02"], {}), "full", tmp_path / "other",
                                {}, execute, log=lambda *a, **k: None)
    assert row["status"].startswith("FAILED: did not write ch02_model")


def test_plan_lists_steps_data_artefacts_and_an_estimate(tmp_path, monkeypatch):
    import fixtures_full
    monkeypatch.delenv("DCGAN_SVHN_WEIGHTS", raising=False)
    fixtures_full.build_svhn(tmp_path / "data", 8)
    fixtures_full.patch_torchvision_md5(tmp_path / "data", monkeypatch)
    text = run_book.plan("full", graph.steps("full"), tmp_path / "results",
                         str(tmp_path / "data"), "", device="cpu")
    for st in graph.steps("full"):
        assert f"\n{st.name}" in text
    assert "data      svhn: present" in text and "data      lsun: MISSING" in text
    assert "consumes  lsun_model -> full_checkpoint = " in text and "[absent]" in text
    assert "Estimated time of the training passes on this cpu" in text and "ESTIMATE" in text
    assert "Missing data" in text and "lsun: missing" in text


# ------------------------------------------------------------------ the GPU check script
def test_gpu_check_script_parses_and_fails_clearly_without_cuda(tmp_path):
    import subprocess

    import torch
    script = REPO / "ci" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True, cwd=REPO)
    assert usage.returncode == 2 and "usage: bash ci/gpu_check.sh OUT_DIR" in usage.stderr
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the script would run")
    env = {"PATH": "/usr/bin:/bin", "PY": sys.executable, "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", str(script), str(tmp_path / "out")], capture_output=True,
                          text=True, cwd=REPO, env=env)
    assert proc.returncode == 3 and "no CUDA device" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_failed_chapter_is_reported_in_one_line_naming_the_error_and_cell(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    def execute(st, params):
        raise PapermillExecutionError(
            cell_index=4, exec_count=3, source="assert dataset in ...", ename="AssertionError",
            evalue="dataset must be '' (all three), lsun, celeba or imagenet32, got 'bedroom'",
            traceback=["Traceback (most recent call last):", "  File ...", "AssertionError"])

    lines = []
    (row,) = run_book.run_steps(run_book.select("cpu", ["03"], {}), "cpu", tmp_path, {},
                                execute, log=lambda *a, **k: lines.append(" ".join(map(str, a))))
    assert row["status"] == ("FAILED: AssertionError: dataset must be '' (all three), lsun, "
                             "celeba or imagenet32, got 'bedroom' (cell [3])")
    (msg,) = [line for line in lines if "FAILED" in line]
    assert "\n" not in msg and "Traceback" not in msg
    assert msg.endswith(str(tmp_path / "cpu" / "03_datasets.ipynb"))
    assert run_book.failure_line(RuntimeError("disk full\nmore")) == "RuntimeError: disk full"
    assert run_book.failure_line(KeyError()) == "KeyError"
    assert run_book.failure_line(ValueError("expected one of:")) == "ValueError: expected one of:"


def test_chapter_10_cpu_trains_in_one_step_and_reads_the_large_sample_column_in_another(tmp_path):
    cpu = {s.name: s for s in graph.steps("cpu")}
    first, second = cpu["10_conditional"], cpu["10_conditional-10m"]
    assert first.params == {"stage": "train"} and first.produces == ("ch10_models",)
    assert second.params == {"stage": "10m"} and second.consumes == {"models": "ch10_models"}
    assert first.data == second.data == ("mnist",)
    assert not first.publish and second.publish          # the complete notebook is published
    assert graph.producer_step("ch10_models", "cpu") == "10_conditional"
    assert [s.name for s in run_book.select("cpu", ["10"], {})] == [
        "10_conditional", "10_conditional-10m"]
    calls = {}

    def execute(st, params):
        calls[st.name] = params
        for name in st.produces:
            path = graph.artefact_path(name, "cpu", tmp_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
    rows = run_book.run_steps(run_book.select("cpu", ["10"], {}), "cpu", tmp_path, {}, execute,
                              log=lambda *a, **k: None)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert calls["10_conditional-10m"]["models"] == str(
        tmp_path / "cpu/10_conditional/models.json")
    assert calls["10_conditional-10m"]["stage"] == "10m"
