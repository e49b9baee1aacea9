"""Every command in the ```bash blocks of README.md, docs/*.md and site/course.md runs here
(issue 23), so an example that stops working fails CI.

Each command is matched by exactly one entry of :data:`CASES`, which says how it is run: as
written, or a cheaper variant of the same command (``--plan`` for a long book run, ``--steps 1``
and a small batch for a training, fixture data in the real on-disk formats for the paper's data
sets), or not at all, with the reason. A command with no entry fails
:func:`test_every_documented_command_has_exactly_one_case` (add one), and so does an entry that
matches no command (stale). Commands in prose or in Python blocks are not collected.

How a documented command becomes a runnable one, for all of them: ``.venv/bin/X`` is this
test's own environment's ``X``; a simple ``dcgan ...`` or ``python ci/run_book.py ...``
command runs in this process through the same ``main`` (torch is imported once, which keeps the
suite fast), anything else through ``bash -c`` with ``python`` this test's Python and ``dcgan``
its ``dcgan_lib.cli`` (small scripts first on ``PATH``); ``$DATA`` (and
``DIR``, ``~/data``, ``/data/lsun``) is a data root of tiny fixture data sets in their real
formats (tests/fixtures_full.py; torchvision's MD5 tables are patched for them, as in
tests/test_full_tiny.py); ``$R`` is ``results/full``; commands run in a fresh working folder
(those under ``ci/`` in the repository, writing their results to a temporary folder), with
one thread and every HTTP(S) download sent to a closed port, so nothing is fetched.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests"))


# ---------------------------------------------------------------- collecting the commands
def doc_files(repo: Path = REPO) -> list[Path]:
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md")), repo / "site/course.md"]


@dataclass(frozen=True)
class DocCommand:
    where: str      # "README.md:42"
    text: str       # the command as bash runs it (a loop keeps its lines)
    key: str        # one line, whitespace collapsed: what CASES' patterns match


SHELL_FENCES = {"bash", "sh", "shell", "console"}


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` at the start or after a space)."""
    return re.sub(r"(^|\s)#.*$", "", line).rstrip()


def commands_in(markdown: str, name: str) -> list[DocCommand]:
    """The commands of the shell code blocks of ``markdown``: continuation lines joined, comments
    dropped, ``a && b`` split into two, a ``for ...; do ... done`` loop one command."""
    out, fence, loop, loop_start = [], None, [], 0
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        raw, lineno = lines[i], i + 1
        i += 1
        stripped = raw.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else (stripped[3:].strip().lower() or "text")
            continue
        if fence not in SHELL_FENCES:
            continue
        line = strip_comment(raw)
        while line.endswith("\\") and i < len(lines):
            line = line[:-1].rstrip() + " " + strip_comment(lines[i]).strip()
            i += 1
        if not line.strip():
            continue
        if loop or re.match(r"\s*(for|while)\s", line):
            loop_start = loop_start if loop else lineno
            loop.append(line.rstrip())
            if line.strip() == "done":
                text = "\n".join(loop)
                out.append(DocCommand(f"{name}:{loop_start}", text, " ".join(text.split())))
                loop = []
            continue
        for part in line.split(" && "):
            out.append(DocCommand(f"{name}:{lineno}", part.strip(), " ".join(part.split())))
    return out


def doc_commands(repo: Path = REPO) -> list[DocCommand]:
    return [c for path in doc_files(repo) if path.exists()
            for c in commands_in(path.read_text(), path.relative_to(repo).as_posix())]


# ---------------------------------------------------------------- how each one is run
def sub(*pairs: tuple[str, str], add: str = "", prefix: str = "") -> Callable[[str], list[str]]:
    """A variant: each ``(old, new)`` replaced (``old`` must be in the command, so a changed
    example fails here instead of running unchanged), ``add`` appended, ``prefix`` put first."""
    def variant(text: str) -> list[str]:
        for old, new in pairs:
            assert old in text, f"the variant expects {old!r} in {text!r}: update its CASES entry"
            text = text.replace(old, new)
        return [prefix + text + (" " + add if add else "")]
    return variant


AS_WRITTEN = sub()


def small(text: str) -> str:
    """A training line made cheap: one update (``--steps 1``) of a batch of 8, two loader
    workers, the fixture data root for ``/data/lsun``."""
    text, n = re.subn(r"--epochs \d+", "--steps 1", text)
    assert n == 1, f"expected --epochs in {text!r}: update its CASES entry"
    text = re.sub(r"--batch-size \d+", "--batch-size 8", text)
    if "--batch-size" not in text:
        text += " --batch-size 8"
    return re.sub(r"--num-workers \d+", "--num-workers 2", text.replace("/data/lsun", "$DATA"))


def torchrun(text: str) -> list[str]:
    """A ``torchrun ... -m dcgan_lib.cli train ...`` line: torchrun's own parser must accept its
    launch options (parsed, not launched), and the training options run in one process
    (:func:`small`); a template ending in ``...`` is only parsed."""
    launch, rest = text.split(" -m dcgan_lib.cli ", 1)
    assert launch.startswith("torchrun "), text
    parse = ("python -c 'import sys; from torch.distributed.run import get_args_parser; "
             "a = get_args_parser().parse_args(sys.argv[1:]); "
             "assert a.module and a.training_script == \"dcgan_lib.cli\", a; "
             "print(\"torchrun accepts\", a.nnodes, a.nproc_per_node)' "
             f"{launch[len('torchrun '):]} -m dcgan_lib.cli {rest}")
    if rest.strip().endswith("..."):     # a template: "..." are the options above
        return [parse]
    return [parse, small("dcgan " + rest)]


@dataclass
class Case:
    name: str
    pattern: str                       # regex, matched in full against DocCommand.key
    reason: str                        # why it runs the way it does
    run: Callable[[str], list[str]] | None = AS_WRITTEN   # None: not run (reason says why)
    cwd: str = "work"                  # "work": the shared working folder; "repo"; "own"
    rc: int = 0
    expect: tuple[str, ...] = ()       # in stdout + stderr
    requires: str | None = None        # a case that must have run first (same working folder)
    check: Callable[[Path], None] | None = None   # more assertions on the working folder


def _executed_parameter(work: Path, name: str) -> None:
    import nbformat
    nb = nbformat.read(work / "results/smoke/02_training.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert f"\n{name} = 2\n" in cell.source, cell.source     # an int, not '2'


def _png(path: str) -> Callable[[Path], None]:
    def check(work: Path) -> None:
        assert (work / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return check


def _best_copied(work: Path) -> None:
    for d in ("lsun", "celeba", "imagenet32"):
        run = work / "results/full/03_datasets" / d / "run"
        last = sorted(run.glob("ckpt-*.pt"))[-1]
        assert (run / "best.pt").read_bytes() == last.read_bytes(), d


def _student_edition(folder: Path) -> None:
    import nbformat
    nbs = sorted(folder.rglob("[0-9][0-9]_*.ipynb"))
    assert len(nbs) == len(list((REPO / "book").glob("[0-9][0-9]_*.ipynb"))), nbs
    for path in nbs:
        tags = [t for c in nbformat.read(path, as_version=4).cells
                for t in c.metadata.get("tags", [])]
        assert "solution" not in tags and "student" in tags, path.name


RUN_BOOK = r"(\.venv/bin/)?python ci/run_book\.py"
PLAN = "a real run of these chapters takes an hour or more (the paper's pipeline: a GPU); " \
       "--plan checks the options, the chapter graph and the data"
TORCHRUN = "several processes (GPUs): torchrun's parser checks the launch options and the " \
           "training options run in one process on fixture data, one update of a batch of 8; " \
           "tests/test_distributed.py runs two processes"
SMALL_TRAIN = "the same options on tiny fixture data: one update of a small batch " \
              "(--steps 1) and two loader workers instead of an epoch-long run"
CASES = [
    # ---- set-up and the test run
    Case("setup", r"bash ci/setup\.sh", run=sub(("bash ", "bash -n ")), cwd="repo",
         reason="it installs the environment this test runs in (pip and apt, minutes; CI runs "
                "it first on a fresh clone): here only bash's syntax check of the script"),
    Case("test.sh", r"bash ci/test\.sh", run=sub(("bash ", "bash -n ")), cwd="repo",
         reason="this is the test run itself (no recursion): bash's syntax check only"),
    Case("activate", r"source \.venv/bin/activate", run=None,
         reason="changes the calling shell only; these tests run `dcgan` as this Python's "
                "`python -m dcgan_lib.cli` (the same entry point)"),
    # ---- the book runner
    Case("book-smoke", rf"{RUN_BOOK} --profile smoke", run=sub(add="--plan"), cwd="repo",
         expect=("Plan: profile smoke", "10_conditional"),
         reason="ci/test.sh's notebook half runs every chapter in smoke under nbval, and the "
                "--param case below runs the runner end to end: --plan here"),
    Case("book-cpu", rf"{RUN_BOOK} --profile cpu( --only 02( --publish)?)?",
         run=sub(add="--plan"), cwd="repo", expect=("Plan: profile cpu", "02_training"),
         reason=PLAN + " (--publish also needs a clean commit and rewrites book/)"),
    Case("book-param", rf"{RUN_BOOK} --profile cpu --only 02 --param epochs=2",
         run=sub(("--profile cpu", "--profile smoke"), add="--results $WORK/results"),
         cwd="repo", expect=("02_training  ok",), check=lambda w: _executed_parameter(w, "epochs"),
         reason="runs the chapter for real with the typed parameter, in the smoke profile (the "
                "cpu one takes about 20 minutes)"),
    Case("book-full-plan", rf"{RUN_BOOK} --profile full --plan --data-root (DIR|\$DATA)",
         run=lambda text: [text.replace("DIR", "$DATA")], cwd="repo", expect=("Plan: profile full", "03_datasets-lsun"),
         reason="as written, on the fixture data root"),
    Case("book-full", rf"{RUN_BOOK} --profile full --data-root \$DATA"
                      r"( --only 01 02 04 05 06 07 08 09 10)?",
         run=sub(add="--plan"), cwd="repo", expect=("Plan: profile full",),
         reason=PLAN + "; tests/test_full_tiny.py runs this path at tiny scale"),
    Case("jupyter", r"\.venv/bin/jupyter lab book/", run=sub(add="--help"), cwd="repo",
         expect=("JupyterLab",),
         reason="starts a server that runs until stopped; tests/test_jupyterlab_settings.py "
                "opens a chapter in a real JupyterLab"),
    Case("site", r"\.venv/bin/python ci/build_site\.py", run=sub(add="--help"), cwd="repo",
         expect=("--build-dir",),
         reason="tests/test_site.py builds the site and opens every page in Chromium"),
    Case("student-edition", r"\.venv/bin/python ci/student_edition\.py --out student/",
         run=sub(("--out student/", "--out $WORK/student/")), cwd="repo",
         check=lambda w: _student_edition(w / "student"),
         reason="as written, into the test's working folder instead of the repository's"),
    Case("sample-nn-help", r"\.venv/bin/python benchmarks/sample_nn\.py --help", cwd="repo",
         expect=("sgemm",), reason="as written (tests/test_benchmarks.py runs it on tiny sizes)"),
    # ---- dcgan train / sample
    Case("train-fmnist", r"dcgan train --dataset fashion-mnist --image-size 32 --epochs 5 "
                         r"--out runs/fmnist", run=sub(add="--batch-size 16"),
         expect=("done: 20 steps",), check=lambda w: (w / "runs/fmnist/best.pt").stat(),
         reason="as written on a 64-image Fashion-MNIST fixture, batch 16 (4 steps an epoch)"),
    Case("train-resume", r"dcgan train --out runs/fmnist --epochs 10 --resume",
         requires="train-fmnist", expect=("done: 40 steps",),
         reason="as written, continuing the run above (its batch of 16 is kept)"),
    Case("sample", r"dcgan sample --checkpoint runs/fmnist/best.pt --num 64 --out samples\.png",
         requires="train-fmnist", expect=("wrote 64 samples",), check=_png("samples.png"),
         reason="as written, on the run above's best.pt"),
    Case("train-lsun", r"dcgan train --dataset lsun --data-root /data/lsun --image-size 64 "
                       r"--ngf 128 --ndf 128 --epochs 5 --no-preload --num-workers 8 "
                       r"--out runs/bedrooms",
         run=lambda text: [small(text)], expect=("done: 1 steps",),
         reason=SMALL_TRAIN + " (a 16-image LSUN LMDB fixture)"),
    Case("train-labels", r"dcgan train --labels --dataset mnist --image-size 28 --epochs 2 "
                         r"--out runs/cond", run=sub(add="--batch-size 16"),
         expect=("done: 8 steps",),
         reason="as written on a 64-image MNIST fixture, batch 16"),
    Case("train-help", r"dcgan train --help", expect=("--epochs", "--resume"),
         reason="as written"),
    # ---- dcgan data (downloads go to a closed port: every set must already be there)
    Case("data-fetch", r"dcgan data (cifar10 svhn --root ~/data|mnist fashion-mnist cifar10 "
                       r"svhn --root \$DATA|celeba --root \$DATA|lsun --root \$DATA|"
                       r"imagenet32 --root \$DATA)",
         run=lambda text: [text.replace("~/data", "$DATA")], expect=("data root",),
         reason="as written on the fixture data root: each set is found and checked, nothing "
                "is downloaded (tests/test_fetch.py covers downloads and conversion)"),
    Case("data-check", r"dcgan data all --root \$DATA --check-only", expect=("imagenet32",),
         reason="as written on the fixture data root"),
    Case("svhn-weights", r"""python -c "from dcgan_lib import reference; """
                         r"""reference.download_svhn_dcgan\('\$DATA/newmu-svhn-dcgan'\)\"""",
         run=sub(prefix="DATA=$WORK/weights-root; "),
         reason="as written on a data root that already holds the authors' weights "
                "(../shared/reference, linked): every SHA-256 is checked, nothing downloaded"),
    # ---- several GPUs
    Case("torchrun-readme", r"torchrun --nproc_per_node=4 -m dcgan_lib\.cli train "
                            r"--dataset lsun --data-root /data/lsun .*--out runs/bedrooms",
         run=torchrun, expect=("torchrun accepts 1:1 4", "done: 1 steps"), cwd="own",
         reason=TORCHRUN + " (in a folder of its own: train-lsun's run is in runs/bedrooms)"),
    Case("torchrun-template", r"torchrun --nnodes=2 --node_rank=\$RANK --master_addr=\$HOST "
                              r"--master_port=29500 --nproc_per_node=8 -m dcgan_lib\.cli "
                              r"train \.\.\.",
         run=lambda text: ["RANK=0; HOST=127.0.0.1; " + c for c in torchrun(text)],
         expect=("torchrun accepts 2 8",),
         reason="a template for two machines (`...`: the options of the line above): "
                "torchrun's parser checks its launch options"),
    Case("torchrun-docs", r"torchrun --nproc_per_node=8 -m dcgan_lib\.cli train --dataset "
                          r"(lsun|celeba|imagenet) --data-root \$DATA .*--out "
                          r"\$R/03_datasets/(lsun|celeba|imagenet32)/run",
         run=torchrun, expect=("torchrun accepts 1:1 8", "done: 1 steps"),
         reason=TORCHRUN + "; each of the three data sets on its fixture"),
    Case("R", r"R=results/full", run=None,
         reason="sets $R for the lines below; these tests set R=results/full the same way"),
    Case("copy-best", r"for d in lsun celeba imagenet32; do cp .* done",
         requires="torchrun-docs", check=_best_copied,
         reason="as written, on the checkpoints of the three trainings above"),
]
CASES_BY_NAME = {c.name: c for c in CASES}


def matches(case: Case, commands: list[DocCommand]) -> list[DocCommand]:
    return [c for c in commands if re.fullmatch(case.pattern, c.key)]


def coverage_problems(commands: list[DocCommand], cases: list[Case]) -> list[str]:
    """What is wrong with ``cases`` for ``commands``: a command no case matches (or several
    do), a case that matches no command (stale), a case not run without a reason."""
    problems = []
    for c in commands:
        hits = [k.name for k in cases if re.fullmatch(k.pattern, c.key)]
        if not hits:
            problems.append(f"{c.where}: `{c.key}` is run by no entry of CASES in "
                            "tests/test_doc_commands.py: add one (as written, a cheap variant, "
                            "or not run with the reason)")
        elif len(hits) > 1:
            problems.append(f"{c.where}: `{c.key}` is matched by several CASES entries {hits}: "
                            "make their patterns exclusive")
    for k in cases:
        if not matches(k, commands):
            problems.append(f"CASES entry {k.name!r} matches no command of README.md, docs/*.md "
                            "or site/course.md (stale): remove or update it")
        if not k.reason.strip():
            problems.append(f"CASES entry {k.name!r} gives no reason")
    return problems


def test_commands_are_collected_from_shell_blocks_only():
    md = ("Run `dcgan train --help` (prose: not collected).\n\n```bash\n"
          "a --x 1 \\\n   --y 2   # a comment\n# only a comment\n\nb && c\n"
          "for d in x y; do\n  echo $d\ndone\n```\n\n```python\nimport os\n```\n"
          "```\nplain output\n```\n")
    got = [(c.where, c.key) for c in commands_in(md, "X.md")]
    assert got == [("X.md:4", "a --x 1 --y 2"), ("X.md:8", "b"), ("X.md:8", "c"),
                   ("X.md:9", "for d in x y; do echo $d done")]
    assert commands_in(md, "X.md")[-1].text == "for d in x y; do\n  echo $d\ndone"


def test_a_new_or_a_stale_example_fails_with_a_message():
    cmds = [DocCommand("R.md:1", "dcgan new --thing", "dcgan new --thing"),
            DocCommand("R.md:2", "dcgan old", "dcgan old")]
    cases = [Case("old", r"dcgan old", reason="as written"),
             Case("gone", r"dcgan gone", reason="as written"),
             Case("silent", r"dcgan old|x", run=None, reason=" ")]
    problems = coverage_problems(cmds, cases)
    assert len(problems) == 4, problems
    assert "R.md:1: `dcgan new --thing` is run by no entry of CASES" in problems[0]
    assert "matched by several CASES entries ['old', 'silent']" in problems[1]
    assert "'gone' matches no command" in problems[2] and "(stale)" in problems[2]
    assert problems[3] == "CASES entry 'silent' gives no reason"
    assert coverage_problems(cmds[1:], cases[:1]) == []       # positive control


def test_every_documented_command_has_exactly_one_case():
    commands = doc_commands()
    assert len(commands) >= 20, commands          # README, docs/gpu-runner.md, ...
    problems = coverage_problems(commands, CASES)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- running them
SHIM = """import os, sys
sys.path.insert(0, {tests!r})
if os.environ.get("FIXTURE_DATA"):      # torchvision's MD5 tables, for the fixture files
    import fixtures_full
    fixtures_full.patch_torchvision_md5(os.environ["FIXTURE_DATA"])
from dcgan_lib.cli import main
sys.exit(main())
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The working folder, the fixture data root, the PATH shims and the environment, and the
    record of the cases run so far (for ``requires``)."""
    import fixtures_full
    base = tmp_path_factory.mktemp("doc-commands")
    work, data, shims = base / "work", base / "data", base / "bin"
    for d in (work, data, shims):
        d.mkdir()
    fixtures_full.build_mnist(data, 64)
    fixtures_full.build_mnist(data, 64, "FashionMNIST")
    fixtures_full.build_cifar10(data, 64)
    fixtures_full.build_svhn(data, 64)
    fixtures_full.build_celeba(data, 64)
    fixtures_full.build_lsun(data, 16)
    fixtures_full.build_imagenet(data, 64, prepared=True)
    fixtures_full.build_svhn_weights(data / "newmu-svhn-dcgan")
    (shims / "dcgan.py").write_text(SHIM.format(tests=str(REPO / "tests")))
    for name, target in (("python", f'"{sys.executable}"'),
                         ("dcgan", f'"{sys.executable}" "{shims / "dcgan.py"}"')):
        (shims / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (shims / name).chmod(0o755)
    closed = "http://127.0.0.1:9"     # downloads fail at once instead of fetching
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "DATA": str(data), "DCGAN_DATA": str(data), "FIXTURE_DATA": str(data),
           "R": "results/full", "WORK": str(work), "XDG_CACHE_HOME": str(base / "cache"),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "http_proxy": closed,
           "https_proxy": closed, "HTTP_PROXY": closed, "HTTPS_PROXY": closed}
    for var in ("DCGAN_PROFILE", "DCGAN_SVHN_WEIGHTS", "no_proxy", "NO_PROXY"):
        env.pop(var, None)
    with pytest.MonkeyPatch.context() as mp:   # for the commands run in this process
        fixtures_full.patch_torchvision_md5(data, mp)
        yield {"work": work, "data": data, "env": env, "done": set()}


def entry_point(argv: list[str]):
    """The function a simple ``dcgan ...`` or ``python ci/run_book.py ...`` command runs (the
    console script's and the script's own ``main``), or None for anything else."""
    if argv[0] == "dcgan":
        from dcgan_lib import cli
        return cli.main, argv[1:]
    if Path(argv[0]).name == "python" and argv[1:2] == ["ci/run_book.py"]:
        sys.path.insert(0, str(REPO / "ci"))
        import run_book
        return run_book.main, argv[2:]
    return None


def execute(cmd: str, cwd: Path, world: dict) -> tuple[int, str]:
    """Run ``cmd`` in ``cwd`` with the world's environment: ``(exit status, stdout + stderr)``.
    A simple ``dcgan`` or ``ci/run_book.py`` command (no shell syntax beyond variables) runs
    in this process through the same ``main`` (no second import of torch: the suite stays
    fast); anything else through ``bash -c``."""
    import contextlib
    import io
    simple = not re.search(r"[;|&<>`\n]|\$\(", cmd)
    if simple:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in world["env"].items():
                if os.environ.get(k) != v:
                    mp.setenv(k, v)
            for k in set(os.environ) - set(world["env"]):
                mp.delenv(k)
            argv = [os.path.expanduser(os.path.expandvars(t)) for t in shlex.split(cmd)]
            found = entry_point(argv)
            if found:
                main, args = found
                mp.chdir(cwd)
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                    try:
                        code = main(args)
                    except SystemExit as stop:      # argparse: --help, a usage error
                        code = stop.code if isinstance(stop.code, int) else \
                            (print(stop.code, file=sys.stderr) or 1)
                return code, buf.getvalue()
    proc = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=world["env"], capture_output=True,
                          text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def run_case(case: Case, world: dict) -> None:
    if case.name in world["done"]:
        return
    if case.requires:
        run_case(CASES_BY_NAME[case.requires], world)
    work = world["work"]
    if case.name == "svhn-weights":
        from dcgan_lib import reference
        src = reference.default_path()
        if not reference.available(src):
            pytest.skip(f"the authors' SVHN weights are not at {src} (DCGAN_SVHN_WEIGHTS)")
        dest = work / "weights-root" / "newmu-svhn-dcgan"
        dest.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            if not (dest / f.name).exists():
                (dest / f.name).symlink_to(f.resolve())
    seen = set()
    for doc in matches(case, doc_commands()):
        if doc.key in seen:
            continue
        seen.add(doc.key)
        outs = []
        for cmd in case.run(doc.text):
            cmd = cmd.replace(".venv/bin/", f"{BIN}/")     # this test's own environment
            cwd = {"repo": REPO, "work": work, "own": work / case.name}[case.cwd]
            cwd.mkdir(exist_ok=True)
            code, out = execute(cmd, cwd, world)
            said = f"{doc.where}: `{doc.key}` run as `{cmd}` (cwd {case.cwd}):\n{out[-3000:]}"
            assert code == case.rc, said
            assert "Traceback" not in out, said
            outs.append(out)
        for text in case.expect:
            assert text in "".join(outs), f"{text!r} not in the output of {doc.where}: " \
                f"`{doc.key}`:\n" + "".join(outs)[-3000:]
    if case.check:
        case.check(work)
    world["done"].add(case.name)


@pytest.mark.parametrize("case", [c for c in CASES if c.run is not None],
                         ids=lambda c: c.name)
def test_documented_command_runs(case, world):
    run_case(case, world)
