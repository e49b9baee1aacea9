"""Typed notebook parameters (ci/run_book.py --param, dcgan_lib.graph.parameter_specs): every
value reaches the chapter as its parameter's type, and an unknown parameter or a value of the
wrong type is refused in one line naming the parameter, the chapter and the type (exit 2),
under --plan too, before anything runs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dcgan_lib import graph

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "ci"))
import run_book  # noqa: E402


def write_chapter(folder: Path, cell: str, name: str = "99_x") -> str:
    (folder / f"{name}.py").write_text(f'# %%\nx = 1\n# %% tags=["parameters"]\n{cell}\n'
                                       '# %%\ny = 2\n')
    return name


@pytest.mark.parametrize("chapter", graph.CHAPTERS)
def test_every_chapter_parameter_has_a_type(chapter):
    specs = graph.parameter_specs(chapter)
    assert set(specs) == set(graph.chapter_parameters(chapter))
    for p in specs.values():
        if p.default is None:    # None: the profile's value; the type comes from the table
            assert p.nullable and p.type == graph.PARAMETER_TYPES[p.name]
        else:
            assert not p.nullable and isinstance(p.default, {"int": int, "str": str}[p.type])
        if p.choices is not None:
            assert p.default in (*p.choices, None)


def test_a_parameter_without_a_type_is_an_error_naming_it(tmp_path):
    write_chapter(tmp_path, "profile = ''\nmystery = None  # no type anywhere\n")
    with pytest.raises(ValueError, match=r"parameter mystery has no known type.*PARAMETER_TYP"):
        graph.parameter_specs("99_x", tmp_path)
    write_chapter(tmp_path, "profile = ''\nepochs = None\n")   # positive control: in the table
    assert graph.parameter_specs("99_x", tmp_path)["epochs"].type == "int"


def test_annotations_win_over_the_default_and_the_table(tmp_path):
    write_chapter(tmp_path, "epochs: float | None = None  # annotated\n"
                            "from typing import Optional\n"
                            "name: Optional[str] = None\nseeds: list[int] = [0, 1]\n"
                            "lr = 2e-4\nsteps = 3\nwho = 'me'\n")
    specs = graph.parameter_specs("99_x", tmp_path)
    got = {n: (p.type, p.nullable, p.default) for n, p in specs.items()}
    assert got == {"epochs": ("float", True, None), "name": ("str", True, None),
                   "seeds": ("list[int]", False, [0, 1]), "lr": ("float", False, 2e-4),
                   "steps": ("int", False, 3), "who": ("str", False, "me")}
    assert graph.chapter_parameters("99_x", tmp_path) == {
        "epochs": None, "name": None, "seeds": [0, 1], "lr": 2e-4, "steps": 3, "who": "me"}


def test_values_are_converted_to_the_parameters_type():
    specs = graph.parameter_specs("02_training")
    assert specs["epochs"].convert("2") == 2 and type(specs["epochs"].convert("2")) is int
    assert specs["epochs"].convert("None") is None
    assert specs["lr"].convert("1e-3") == 0.001 and specs["lr"].convert("2") == 2.0
    assert specs["seeds"].convert("0,1,2") == [0, 1, 2]
    assert specs["seeds"].convert("[3, 4]") == [3, 4] and specs["seeds"].convert("7") == [7]
    assert specs["dataset"].convert("fashion-mnist") == "fashion-mnist"
    assert specs["dataset"].convert("None") is None
    ch03 = graph.parameter_specs("03_datasets")["dataset"]
    assert ch03.convert("celeba") == "celeba" and ch03.convert("") == ""
    ours = graph.parameter_specs("05_classification")["ours_checkpoint"]
    assert ours.convert("None") == "None"        # not None-able: a string stays a string


@pytest.mark.parametrize("chapter,name,text,expected", [
    ("02_training", "epochs", "abc", "an integer or None"),
    ("02_training", "epochs", "2.5", "an integer or None"),
    ("02_training", "lr", "fast", "a finite number or None"),
    ("02_training", "lr", "inf", "a finite number or None"),
    ("02_training", "seeds", "0,x", "a list of integers"),
    ("02_training", "dataset", "nosuch", "one of mnist, fashion-mnist"),
    ("03_datasets", "dataset", "nosuch", "one of '', lsun, celeba, imagenet32"),
    ("03_datasets", "dataset", "None", "one of '', lsun, celeba, imagenet32"),
])
def test_a_value_of_the_wrong_type_names_parameter_chapter_and_type(chapter, name, text,
                                                                    expected):
    with pytest.raises(graph.ParameterError) as err:
        graph.parameter_specs(chapter)[name].convert(text)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"--param {name}={text}: chapter {chapter}'s parameter {name} takes ")
    assert expected in msg


def test_chapter_03s_datasets_are_the_full_graphs_set_ups():
    """The values chapter 03's ``dataset`` may take are the set-ups the full graph runs it
    with, and those its own cell asserts (``SETUPS``)."""
    choices = graph.parameter_choices("03_datasets", "dataset")
    full = [s.params["dataset"] for s in graph.steps("full") if s.chapter == "03_datasets"]
    assert choices == ("", *full)
    source = (REPO / "book/03_datasets.py").read_text()
    for name in full:
        assert f'    "{name}": dict(' in source
    assert 'assert dataset in ("", *SETUPS)' in source


def test_typed_parameters_per_chapter_unknown_and_runner_parameters():
    typed = graph.typed_parameters(["02_training", "01_architecture", "03_datasets"],
                                   {"epochs": "3", "lr": "0.001"})
    assert typed == {"02_training": {"epochs": 3, "lr": 0.001}, "01_architecture": {},
                     "03_datasets": {"epochs": 3, "lr": 0.001}}
    with pytest.raises(graph.ParameterError, match=r"^--param nosuch=1: no parameter nosuch in "
                       r"01_architecture, 02_training \(parameters: batch_size, dataset"):
        graph.typed_parameters(["01_architecture", "02_training"], {"nosuch": "1"})
    with pytest.raises(graph.ParameterError, match="epochs=2: no parameter epochs in "
                       "01_architecture"):
        graph.typed_parameters(["01_architecture"], {"epochs": "2"})
    with pytest.raises(graph.ParameterError, match="seed is set by ci/run_book.py's own "
                       "option --seed"):
        graph.typed_parameters(["02_training"], {"seed": "1"})


def run_main(argv, capsys):
    try:
        code = run_book.main(argv)
    except SystemExit as stop:       # argparse's own errors
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv,expected", [
    (["--only", "02", "--param", "epochs=abc"],
     "--param epochs=abc: chapter 02_training's parameter epochs takes an integer or None"),
    (["--only", "02", "--param", "nosuch=1"], "--param nosuch=1: no parameter nosuch in "
                                              "02_training (parameters: "),
    (["--plan", "--only", "03", "--param", "dataset=nosuch"],
     "--param dataset=nosuch: chapter 03_datasets's parameter dataset takes one of '', lsun"),
    (["--plan", "--param", "lr=inf"], "parameter lr takes a finite number"),
    (["--plan", "--param", "epochs"], "--param 'epochs': write NAME=VALUE"),
    (["--plan", "--only", "11"], "--only: no chapter or step named ['11']"),
])
def test_the_runner_refuses_in_one_line_with_exit_2_before_running(argv, expected, capsys,
                                                                   monkeypatch):
    import papermill
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("ran"))
    monkeypatch.setattr(run_book, "plan", lambda *a, **k: pytest.fail("planned"))
    code, out, err = run_main(["--profile", "smoke", *argv], capsys)
    assert code == 2
    assert err == f"run_book.py: error: {err.split(': error: ', 1)[1]}"
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err + out


def test_plan_and_run_get_the_typed_values(tmp_path, capsys, monkeypatch):
    """Positive controls: --plan accepts good values (and a chapter 03 set-up by name), and a
    run hands the chapter ints, floats and lists, not strings."""
    import papermill
    planned = []
    monkeypatch.setattr(run_book, "plan", lambda profile, steps, *a, **k:
                        planned.append([s.name for s in steps]) or "the plan")
    code, out, err = run_main(["--profile", "full", "--plan", "--only", "03", "--param",
                               "dataset=celeba", "--param", "epochs=1"], capsys)
    assert (code, planned, out.strip(), err) == (0, [["03_datasets-celeba"]], "the plan", "")
    calls = {}
    monkeypatch.setattr(papermill, "execute_notebook",
                        lambda nb, out, parameters, **k: calls.setdefault(Path(nb).stem,
                                                                          parameters))
    code, out, err = run_main(["--profile", "smoke", "--only", "01", "02", "--results",
                               str(tmp_path), "--param", "epochs=2", "--param", "lr=1e-3",
                               "--param", "seeds=0,1", "--param", "dataset=None"], capsys)
    assert code == 1     # the stub wrote no checkpoint: 02 "did not write ch02_model"
    p = calls["02_training"]
    assert (p["epochs"], p["lr"], p["seeds"], p["dataset"]) == (2, 0.001, [0, 1], None)
    assert type(p["epochs"]) is int and (p["profile"], p["seed"]) == ("smoke", 0)
    assert "epochs" not in calls["01_architecture"]
    assert "01_architecture has no parameter dataset, epochs, lr, seeds: not passed" in out


def test_repeated_only_adds_steps_instead_of_replacing_them(capsys, monkeypatch):
    """`--only 06 --only 09` plans both (argparse's default kept only the last)."""
    planned = []
    monkeypatch.setattr(run_book, "plan", lambda profile, steps, *a, **k:
                        planned.append([s.name for s in steps]) or "the plan")
    for argv in (["--only", "06", "--only", "09"], ["--only", "06", "09"]):
        code, out, err = run_main(["--profile", "smoke", "--plan", *argv], capsys)
        assert (code, err) == (0, "")
    assert planned == [["06_latent_walk", "09_vector_arithmetic"]] * 2
    code, out, err = run_main(["--profile", "smoke", "--plan", "--only"], capsys)
    assert code == 2 and "--only" in err and "Traceback" not in err      # a bare --only
