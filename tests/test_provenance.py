"""Provenance of the committed outputs: stale and dirty stamps, machine paths, publishing only
committed code (dcgan_lib.provenance, ci/check_book.py, ci/run_book.py's publish)."""
import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from dcgan_lib import book, provenance

REPO = Path(__file__).resolve().parent.parent

CHAPTER = """# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1 · A chapter

# %%
print("{body}")
"""


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"ci_{name}", REPO / "ci" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo, message="c"):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "--short", "HEAD")


def notebook(py: Path, outputs: list[str], meta: dict | None = None) -> dict:
    """The chapter's cells (as jupytext reads them) with ``outputs`` as stream text of the
    code cell."""
    import jupytext
    import nbformat
    nb = jupytext.read(py)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in outputs]
    if meta:
        nb.metadata["dcgan"] = meta
    return json.loads(nbformat.writes(nb))


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    (r / "book").mkdir(parents=True)
    (r / "dcgan_lib").mkdir()
    (r / "dcgan_lib" / "lib.py").write_text("X = 1\n")
    (r / "book" / "01_x.py").write_text(CHAPTER.format(body="one"))
    git(r, "init", "-q")
    return r


def write_nb(path: Path, nb: dict):
    path.write_text(json.dumps(nb))


def kinds(problems):
    return sorted({p.kind for p in problems})


def test_fresh_stale_dirty_and_unstamped_notebooks(repo):
    rev_a = commit(repo)
    py, ipynb = repo / "book/01_x.py", repo / "book/01_x.ipynb"
    write_nb(ipynb, notebook(py, [f"Chapter 01_x · profile=cpu · seed=0 · rev={rev_a}\n",
                                  "outputs in results/cpu/01_x\n"]))
    assert provenance.check_notebook(repo, ipynb) == []
    # the chapter changes and is committed: the outputs stamped rev_a are now stale
    py.write_text(CHAPTER.format(body="two"))
    commit(repo)
    problems = provenance.check_notebook(repo, ipynb)
    assert kinds(problems) == ["stale"] and rev_a in problems[0].detail
    # only the jupytext header changes: not stale (cells are compared, not bytes)
    write_nb(ipynb, notebook(py, [f"rev={git(repo, 'rev-parse', 'HEAD')[:9]}\n"]))
    py.write_text(py.read_text().replace("#   kernelspec:", "#   text_representation: {}\n#   kernelspec:"))
    assert provenance.check_notebook(repo, ipynb) == []
    # a +dirty stamp, an unknown commit, no stamp at all
    write_nb(ipynb, notebook(py, [f"[profile=cpu · seed=0 · rev={rev_a}+dirty]\n"]))
    assert kinds(provenance.check_notebook(repo, ipynb)) == ["dirty", "stale"]
    write_nb(ipynb, notebook(py, ["rev=1234567\n"]))
    assert "not a commit" in provenance.check_notebook(repo, ipynb)[0].detail
    write_nb(ipynb, notebook(py, ["no stamp here\n"]))
    assert kinds(provenance.check_notebook(repo, ipynb)) == ["dirty"]
    # two revisions in one notebook's outputs
    head = git(repo, "rev-parse", "--short", "HEAD")
    write_nb(ipynb, notebook(py, [f"rev={head}\n", f"rev={rev_a}\n"]))
    assert "several revisions" in provenance.check_notebook(repo, ipynb)[0].detail


def test_machine_paths_are_found_and_relative_ones_pass(repo):
    rev = commit(repo)
    py, ipynb = repo / "book/01_x.py", repo / "book/01_x.ipynb"
    bad = ["outputs in /work/main/results/cpu/01_x\n",
           "cached at /root/.cache/dcgan_lib/classifiers/f.pt\n",
           "written to /tmp/abc/x.png\n", "/home/someone/data\n",
           f"checkpoint {repo}/results/best.pt\n"]
    write_nb(ipynb, notebook(py, [f"rev={rev}\n", *bad]))
    hits = [p.detail for p in provenance.check_notebook(repo, ipynb) if p.kind == "machine paths"]
    assert len(hits) == len(bad), hits
    good = ["outputs in results/cpu/01_x\n", "cached ~/.cache/dcgan_lib/classifiers/f.pt\n",
            "see https://example.org/home/tmp/x and <data root>/bedroom_train_lmdb\n",
            "$DCGAN_DATA/celeba/img\n"]
    write_nb(ipynb, notebook(py, [f"rev={rev}\n", *good]))
    assert provenance.check_notebook(repo, ipynb) == []


def test_rel_and_shorten_paths_print_no_machine_path(monkeypatch, tmp_path):
    monkeypatch.delenv("DCGAN_DATA", raising=False)
    assert book.rel(book.REPO / "results" / "cpu" / "02_training") == "results/cpu/02_training"
    home = Path.home()
    assert book.rel(home / ".cache" / "dcgan_lib" / "classifiers" / "a.pt") == \
        "~/.cache/dcgan_lib/classifiers/a.pt"
    assert book.rel("results/x") == "results/x"                    # relative: as given
    monkeypatch.setenv("DCGAN_DATA", str(tmp_path / "data"))
    assert book.rel(tmp_path / "data" / "lsun") == "$DCGAN_DATA/lsun"
    assert book.rel(tmp_path / "other", data_root=tmp_path / "other") == "<data root>"
    text = (f"Unzip in {tmp_path}/data/ so that {tmp_path}/data/x exists; "
            f"{book.REPO}/results/cpu; {home}/.cache/x")
    short = book.shorten_paths(text)
    assert short == "Unzip in $DCGAN_DATA/ so that $DCGAN_DATA/x exists; results/cpu; ~/.cache/x"
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream", "text": short}]}]}
    assert provenance.machine_paths(nb, (str(book.REPO), str(home))) == []


def test_library_messages_use_relative_paths(monkeypatch, tmp_path, capsys):
    """The instructions chapter 03 prints and the classifier cache line (both printed machine
    paths in the committed book)."""
    from dcgan_lib import prepare
    monkeypatch.delenv("DCGAN_DATA", raising=False)
    root = Path.home() / ".cache" / "dcgan_lib" / "data"
    text = prepare.lsun_instructions(root) + prepare.imagenet_instructions(root / "imagenet", 32)
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream", "text": text}]}]}
    assert provenance.machine_paths(nb, (str(book.REPO), str(Path.home()))) == [], text
    assert "~/.cache/dcgan_lib/data/bedroom_train_lmdb" in text


def test_publish_problems_and_run_book_publish(repo):
    rev = commit(repo)
    py = repo / "book/01_x.py"
    executed = notebook(py, [f"Chapter 01_x · rev={rev}\n", "outputs in results/cpu/01_x\n"])
    full, reasons = provenance.publish_problems(repo, executed, py)
    assert reasons == [] and full == git(repo, "rev-parse", "HEAD")
    # uncommitted library change (an untracked module counts too): refused
    (repo / "dcgan_lib" / "new.py").write_text("Y = 2\n")
    assert "uncommitted" in provenance.publish_problems(repo, executed, py)[1][0]
    # committed after the run started: refused
    commit(repo)
    assert "committed since" in provenance.publish_problems(repo, executed, py)[1][0]
    rev2 = git(repo, "rev-parse", "--short", "HEAD")
    # a +dirty stamp, a machine path, no stamp: refused
    for outputs, word in (([f"rev={rev2}+dirty\n"], "uncommitted changes"),
                          ([f"rev={rev2}\n", "in /work/main/results\n"], "machine paths"),
                          (["nothing\n"], "no rev= stamp")):
        reasons = provenance.publish_problems(repo, notebook(py, outputs), py)[1]
        assert any(word in r for r in reasons), (word, reasons)
    # run_book.publish: refuses with the reasons, else copies outputs and stamps the commit
    import nbformat
    run_book = load_script("run_book")
    target = repo / "book/01_x.ipynb"
    write_nb(target, notebook(py, []))
    out = repo / "executed.ipynb"
    write_nb(out, notebook(py, [f"rev={rev2}+dirty\n"]))
    with pytest.raises(SystemExit, match="uncommitted changes"):
        run_book.publish(out, target, repo=repo)
    write_nb(out, notebook(py, [f"Chapter 01_x · rev={rev2}\n"]))
    git(repo, "add", "-A")                        # executed.ipynb and the target: not sources
    run_book.publish(out, target, repo=repo)
    published = nbformat.read(target, as_version=4)
    assert published.metadata["dcgan"]["revision"] == git(repo, "rev-parse", "HEAD")
    assert provenance.check_notebook(repo, target) == []
    # re-publishing: papermill copies the published notebook's metadata (its old stamp) into
    # the new run's notebook; the new run's own revision decides
    git(repo, "add", "-A")
    rev3 = commit(repo)
    again = notebook(py, [f"Chapter 01_x · rev={rev3}\n"])
    again["metadata"]["dcgan"] = nbformat.read(target, as_version=4).metadata["dcgan"]
    write_nb(out, again)
    git(repo, "add", "-A")
    run_book.publish(out, target, repo=repo)
    assert nbformat.read(target, as_version=4).metadata["dcgan"]["revision"] == \
        git(repo, "rev-parse", "HEAD")


def test_check_book_report_excuses_only_listed_chapters(repo):
    rev = commit(repo)
    py = repo / "book/01_x.py"
    write_nb(repo / "book/01_x.ipynb", notebook(py, [f"rev={rev}\n", "/root/x\n"]))
    check_book = load_script("check_book")
    failures, waiting, errors = check_book.report(repo, excused=set())
    assert [p.kind for p in failures] == ["machine paths"] and not errors
    failures, waiting, errors = check_book.report(repo, excused={"01_x"})
    assert not failures and list(waiting) == ["01_x"] and not errors
    write_nb(repo / "book/01_x.ipynb", notebook(py, [f"rev={rev}\n"]))
    failures, waiting, errors = check_book.report(repo, excused={"01_x", "02_gone"})
    assert not failures and len(errors) == 2
    assert "passes every check" in errors[0] and "no book/02_gone.ipynb" in errors[1]


def test_committed_book_is_fresh_and_prints_no_machine_path():
    """Every committed notebook's outputs come from its current chapter source at a clean
    commit and print no machine path, except the chapters ci/check_book.py lists as awaiting
    re-publication (that list must shrink to empty)."""
    check_book = load_script("check_book")
    failures, waiting, errors = check_book.report()
    assert not failures, "\n".join(map(str, failures))
    assert not errors, "\n".join(errors)
    if waiting:
        pytest.skip("awaiting re-publication (ci/check_book.py AWAITING_REPUBLICATION): "
                    + "; ".join(f"{ch} ({', '.join(sorted({p.kind for p in ps}))})"
                                for ch, ps in waiting.items()))
