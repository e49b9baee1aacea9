import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from dcgan_lib import book

REPO = Path(__file__).resolve().parent.parent


def test_setup_prints_header_and_the_environment_fills_an_empty_profile(tmp_path, monkeypatch,
                                                                         capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "smoke")
    run = book.setup("99_test", "", 3, "", str(tmp_path))
    assert run.profile == "smoke" and run.out == tmp_path / "smoke" / "99_test"
    out = capsys.readouterr().out
    assert "profile=smoke" in out and "seed=3" in out and "SMOKE PROFILE" in out
    assert run.pick(1, 2, 3) == 1
    assert book.setup("99_test", "full", 0, "", str(tmp_path)).profile == "full"  # -p wins
    monkeypatch.delenv("DCGAN_PROFILE")
    assert book.setup("99_test", "", 0, "", str(tmp_path)).profile == "cpu"
    monkeypatch.setenv("DCGAN_PROFILE", "gpu")
    with pytest.raises(ValueError, match=r"'gpu' \(from \$DCGAN_PROFILE\)"):
        book.setup("99_test", "", 0, "", str(tmp_path))


def test_relative_results_are_under_the_repository_not_the_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv("DCGAN_PROFILE", raising=False)
    monkeypatch.chdir(tmp_path)
    run = book.setup("99_test", "smoke", 0, "", "results-test-tmp")
    try:
        assert run.out == REPO / "results-test-tmp" / "smoke" / "99_test"
        assert run.results == REPO / "results-test-tmp"
    finally:
        import shutil
        shutil.rmtree(REPO / "results-test-tmp")


def test_settings_tiny_scale_and_parameters_replace_the_profiles_values(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.delenv("DCGAN_PROFILE", raising=False)
    run = book.setup("99_test", "full", 0, "", str(tmp_path), scale="tiny")
    out = capsys.readouterr().out
    assert "scale=tiny" in out and "TINY SCALE" in out and "scale=tiny" in run.caption
    profiles = dict(smoke=dict(epochs=1, ngf=8, n=1), cpu=dict(epochs=5, ngf=64, n=2),
                    full=dict(epochs=25, ngf=128, n=3))
    S = run.settings(**profiles, tiny=dict(epochs=2, ngf=4), ngf=None, n=7)
    assert S == {"epochs": 2, "ngf": 4, "n": 7}
    assert "set by parameters: n=7" in capsys.readouterr().out
    run.scale = ""
    assert run.settings(**profiles, tiny=dict(epochs=2), epochs=None) == profiles["full"]
    with pytest.raises(ValueError, match="parameter lr=0.1: not a setting of chapter 99_test"):
        run.settings(**profiles, lr=0.1)
    with pytest.raises(ValueError, match="scale must be one of"):
        book.setup("99_test", "cpu", 0, "", str(tmp_path), scale="huge")
    run.scale = "tiny"
    run.log_metrics(x=1)
    assert json.loads((run.out / "metrics.json").read_text())["scale"] == "tiny"


def test_bad_profile_names_the_option(tmp_path, monkeypatch):
    monkeypatch.delenv("DCGAN_PROFILE", raising=False)
    with pytest.raises(ValueError, match="profile must be one of"):
        book.setup("x", "gpu", 0, "", str(tmp_path))


def test_figures_tables_and_metrics_carry_the_caption(tmp_path, monkeypatch, capsys):
    import matplotlib.pyplot as plt
    monkeypatch.delenv("DCGAN_PROFILE", raising=False)
    run = book.setup("99_test", "cpu", 0, "", str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert run.figure(fig, "line") is None
    assert (run.out / "line.png").exists()
    run.table([{"model": "a", "error": 0.25}, {"model": "bb", "error": 0.125}], "errors")
    out = capsys.readouterr().out
    assert out.count("profile=cpu · seed=0 · rev=") == 3  # header, figure, table
    assert (run.out / "errors.csv").read_text().splitlines()[0] == "model,error"
    run.log_metrics(error=0.25)
    m = json.loads((run.out / "metrics.json").read_text())
    assert m["error"] == 0.25 and m["profile"] == "cpu" and m["chapter"] == "99_test"


def test_format_table_aligns_columns():
    text = book.format_table([{"a": 1.5, "name": "x"}, {"a": 10.25, "name": "long"}])
    lines = text.splitlines()
    assert lines[1].startswith("-----") and lines[0].index("name") == lines[3].index("long")
    assert lines[2].index("1.5") + 3 == lines[3].index("10.25") + 5   # numbers right-aligned


def test_every_chapter_pair_holds_the_same_cells():
    import jupytext
    pys = sorted((REPO / "book").glob("[0-9][0-9]_*.py"))
    nbs = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))
    assert pys, "no chapters found"
    assert [p.stem for p in pys] == [p.stem for p in nbs]
    src = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    for py in pys:
        assert src(jupytext.read(py)) == src(jupytext.read(py.with_suffix(".ipynb"))), py.name


def test_chapters_follow_the_conventions():
    import jupytext
    for py in sorted((REPO / "book").glob("[0-9][0-9]_*.py")):
        nb = jupytext.read(py)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, f"{py.name}: one cell tagged parameters"
        assert "profile" in params[0].source and "seed" in params[0].source
        assert f'book.setup("{py.stem}"' in nb.cells[nb.cells.index(params[0]) + 1].source
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "\ndef " not in "\n" + code and "\nclass " not in "\n" + code, py.name
