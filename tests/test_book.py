import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from dcgan_lib import book

REPO = Path(__file__).resolve().parent.parent


def test_setup_prints_header_and_env_overrides_profile(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "smoke")
    run = book.setup("99_test", "cpu", 3, "", str(tmp_path))
    assert run.profile == "smoke" and run.out == tmp_path / "smoke" / "99_test"
    out = capsys.readouterr().out
    assert "profile=smoke" in out and "seed=3" in out and "SMOKE PROFILE" in out
    assert run.pick(1, 2, 3) == 1


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
