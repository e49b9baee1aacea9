"""The book's chapter graph: which chapter run produces which artefact (a checkpoint, a box
file) and which consumes it, per profile, and the data each reads.

The paper's pipeline under ``full``: section 4's three trainings (chapter 03: LSUN bedrooms
64x64, faces 64x64 with CelebA standing in, ImageNet-1k 32x32) feed the chapters that use them
the way the paper does: CIFAR-10 features from the ImageNet-trained discriminator (section 5.1,
table 1), an SVHN DCGAN trained in chapter 02 for table 2 (section 5.2; the authors' released
model beside it), the bedroom model for the latent walk (6.1), guided backpropagation (6.2)
and window forgetting (6.3.1, with the window boxes a person drew on its samples), the face
model for vector arithmetic (6.3.2), MNIST for the appendix.

In ``smoke`` and ``cpu`` chapter 03 is one step (``dataset=""``) that trains stand-ins of all
three set-ups in one notebook run and writes the three models; nothing in those profiles
consumes them. :func:`producer_step` names the step of a profile that writes an artefact.

Everything here is a plain table (:data:`ARTEFACTS`, :func:`steps`). Artefact paths are
relative to ``results/<profile>/`` (``book.results_root``), never to a notebook's folder;
``ci/run_book.py`` runs the steps in order, passes each consumed artefact's absolute path as
the papermill parameter named in :attr:`Step.consumes`, and skips a step whose producer
failed. A chapter run on its own finds the same paths through :func:`artefact_path`.

:func:`estimate_seconds` gives the time of a step's training passes on a device from the
measured images/s of docs/benchmarks.md (an estimate: see its docstring).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .book import PROFILES, Run, results_root

PERSON = "you (surgery.BoxDrawer, docs/gpu-runner.md)"   # producer of hand-drawn artefacts


@dataclass(frozen=True)
class Artefact:
    name: str
    path: str                      # relative to results/<profile>/
    producer: str                  # the full pipeline's step that writes it, or PERSON
    what: dict                     # profile -> what it is


ARTEFACTS = {a.name: a for a in (
    Artefact("ch02_model", "02_training/run/best.pt", "02_training", {
        "smoke": "tiny DCGAN on synthetic shapes", "cpu": "Fashion-MNIST DCGAN, 32x32 grey",
        "full": "SVHN DCGAN, 32x32 (table 2, section 5.2)"}),
    Artefact("lsun_model", "03_datasets/lsun/run/best.pt", "03_datasets-lsun", {
        "smoke": "tiny DCGAN on synthetic shapes (LSUN set-up)",
        "cpu": "64x64 Fashion-MNIST, all classes (LSUN set-up), seed 0",
        "full": "LSUN bedrooms 64x64 (section 4.1)"}),
    Artefact("celeba_model", "03_datasets/celeba/run/best.pt", "03_datasets-celeba", {
        "smoke": "tiny DCGAN on synthetic discs (faces set-up)",
        "cpu": "64x64 Fashion-MNIST upper-body garments (faces set-up), seed 0",
        "full": "faces 64x64, CelebA (section 4.2)"}),
    Artefact("imagenet32_model", "03_datasets/imagenet32/run/best.pt", "03_datasets-imagenet32", {
        "smoke": "tiny DCGAN on synthetic shapes (ImageNet set-up)",
        "cpu": "32x32 Fashion-MNIST, all classes (ImageNet set-up), seed 0",
        "full": "ImageNet-1k 32x32 (section 4.3)"}),
    Artefact("ch10_models", "10_conditional/models.json", "10_conditional", {
        "smoke": "-", "cpu": "chapter 10's trained conditional models (DCGAN, fully connected "
        "GAN, DCGAN with batch-norm scale and bias; 2 seeds each) on MNIST, listed with their "
        "run folders", "full": "-"}),
    Artefact("window_boxes", "03_datasets/lsun/run/windows.json", PERSON, {
        "smoke": "-", "cpu": "-",
        "full": "window boxes drawn on the bedroom model's samples (section 6.3.1)"}),
)}


@dataclass
class Work:
    """A pass over images for the time estimate: ``images`` through a DCGAN's training step
    of ``width`` at ``size`` px (``width`` 0: decoding only, no training); ``streamed``:
    decoded from disk (not preloaded), so the loader can be the bottleneck."""
    images: int
    size: int
    width: int = 64
    streamed: bool = False
    reference_img_s: float | None = None   # measured on the benchmark machine for this workload


@dataclass
class Step:
    """One notebook run: ``chapter`` with the fixed papermill ``params``."""
    name: str                                          # e.g. "03_datasets-lsun"
    chapter: str                                       # the notebook, e.g. "03_datasets"
    params: dict = field(default_factory=dict)         # fixed parameters (e.g. dataset)
    data: tuple[str, ...] = ()                         # `dcgan data` names, and svhn-weights
    consumes: dict = field(default_factory=dict)       # parameter -> artefact, required
    optional: dict = field(default_factory=dict)       # parameter -> artefact, if present
    produces: tuple[str, ...] = ()                     # artefact names
    work: tuple[Work, ...] = ()                        # training passes (time estimate)
    note: str = ""
    publish: bool = True        # --publish copies this step's notebook into the book (a
                                # chapter run in stages publishes its last, complete one)

    @property
    def out(self) -> str:
        """The step's output folder under results/<profile>/ (its metrics.json)."""
        sub = self.params.get("dataset")
        return f"{self.chapter}/{sub}" if sub else self.chapter


SVHN_WEIGHTS = "svhn-weights"   # the authors' released SVHN DCGAN (dcgan_lib.reference)


def steps(profile: str) -> list[Step]:
    """The steps of ``profile`` in the order they run (every producer before its consumers)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if profile == "smoke":   # synthetic data and stand-in models: nothing flows between chapters
        out = [Step(c, c) for c in CHAPTERS]
        out[2] = Step("03_datasets", "03_datasets", {"dataset": ""}, produces=CH03_MODELS,
                      note="the three set-ups of section 4 in one run")
        out[1].produces = ("ch02_model",)
        return out
    if profile == "cpu":
        fm, both = ("fashion-mnist",), ("fashion-mnist", SVHN_WEIGHTS)
        ours = {"ours_checkpoint": "ch02_model"}
        return [
            Step("01_architecture", "01_architecture"),
            Step("02_training", "02_training", data=fm, produces=("ch02_model",)),
            # section 4's three set-ups on Fashion-MNIST stand-ins, in one run (book/03_datasets.py
            # settings): LSUN 3 seeds and faces 2 seeds at 64x64, ImageNet 2 seeds at 32x32,
            # width 32, 2 epochs each
            Step("03_datasets", "03_datasets", {"dataset": ""}, fm, produces=CH03_MODELS,
                 work=(Work(3 * 2 * 30_000, 64, 32), Work(2 * 2 * 30_000, 64, 32),
                       Work(2 * 2 * 60_000, 32, 32)),
                 note="the three set-ups of section 4 in one run"),
            Step("04_deduplication", "04_deduplication", data=fm),
            Step("05_classification", "05_classification", data=both, consumes=ours),
            Step("06_latent_walk", "06_latent_walk", data=both, consumes=ours),
            Step("07_guided_backprop", "07_guided_backprop", data=both, consumes=ours),
            Step("08_forgetting", "08_forgetting", data=(SVHN_WEIGHTS,)),
            Step("09_vector_arithmetic", "09_vector_arithmetic", data=both, consumes=ours),
            # chapter 10 on real MNIST in two steps (issue 24): train the six models (three
            # variants, 2 seeds, 4 epochs each: about an hour on 2 cores) and read table 3 up
            # to 50K samples; then load them and stream the large-sample column (10M in the
            # paper, book/10_conditional.py's big_at here: about another hour). The second
            # step re-runs the whole notebook (the training only loads), so its notebook is
            # the one published.
            Step("10_conditional", "10_conditional", {"stage": "train"}, ("mnist",),
                 produces=("ch10_models",), publish=False,
                 # step times measured on the 2-core machine at 2 threads in quiet moments
                 # (2026-12-05, matrix multiply 91 GFLOP/s): 0.34 s (DCGAN) + 0.34 s (with
                 # batch-norm scale and bias) + 0.056 s (fully connected) per 128 images, 174
                 # images/s for the three, i.e. 325 at the benchmark machine's 170 GFLOP/s (the
                 # full step's 81 is an older, loaded reading); 2 seeds x 4 epochs x 50,000
                 work=(Work(2 * 4 * 50_000, 28, 64, reference_img_s=325.0),),
                 note="train 3 models x 2 seeds, table 3 up to 50K samples; not published"),
            Step("10_conditional-10m", "10_conditional", {"stage": "10m"}, ("mnist",),
                 consumes={"models": "ch10_models"},
                 note="loads the trained models; the large-sample column and every verdict"),
        ]
    bedroom = {"full_checkpoint": "lsun_model"}
    return [
        Step("01_architecture", "01_architecture"),
        Step("02_training", "02_training", data=("svhn",), produces=("ch02_model",),
             work=(Work(73_257 * 25, 32, 64),),
             note="section 4's recipe on SVHN: the model of table 2"),
        Step("03_datasets-lsun", "03_datasets", {"dataset": "lsun"}, ("lsun", "imagenet32"),
             produces=("lsun_model",), work=(Work(3_033_042 * 5, 64, 128, True),)),
        Step("03_datasets-celeba", "03_datasets", {"dataset": "celeba"},
             ("celeba", "imagenet32"), produces=("celeba_model",),
             work=(Work(162_770 * 25, 64, 128, True),)),
        Step("03_datasets-imagenet32", "03_datasets", {"dataset": "imagenet32"},
             ("imagenet32",), produces=("imagenet32_model",),
             work=(Work(1_281_167 * 25, 32, 128),)),
        Step("04_deduplication", "04_deduplication", data=("lsun",),
             work=(Work(3_033_042, 64, 0, True),),
             note="the hashing pass streams all of LSUN (decoding bound)"),
        Step("05_classification-svhn", "05_classification", {"dataset": "svhn"},
             ("svhn", SVHN_WEIGHTS), consumes={"ours_checkpoint": "ch02_model"},
             work=(Work(64 * 100 * 1000, 32, 64),),
             note="table 2; the 64-trial CNN search; the SVM fits run on the CPU"),
        Step("05_classification-cifar10", "05_classification", {"dataset": "cifar10"},
             ("cifar10", SVHN_WEIGHTS), consumes={"ours_checkpoint": "imagenet32_model"},
             work=(Work(64 * 100 * 4000, 32, 64),), note="table 1"),
        Step("06_latent_walk", "06_latent_walk", data=("lsun",), consumes=bedroom),
        Step("07_guided_backprop", "07_guided_backprop", data=("lsun",), consumes=bedroom),
        Step("08_forgetting", "08_forgetting", consumes=bedroom,
             optional={"full_boxes": "window_boxes"},
             note="without window_boxes: the automatic stand-in boxes, labelled as such"),
        Step("09_vector_arithmetic", "09_vector_arithmetic",
             consumes={"full_checkpoint": "celeba_model"}),
        Step("10_conditional", "10_conditional", data=("mnist",),
             # chapter 10's cpu step times on the benchmark machine: 0.747 s (DCGAN) + about
             # 0.70 s (DCGAN with batch-norm scale and bias, from its measured ratio) + 0.127 s
             # (fully connected) per step of 128 images: 81 images/s for the three
             work=(Work(3 * 200 * 50_000, 28, 64, reference_img_s=81.0),),
             note="three models (DCGAN, fully connected GAN, DCGAN with batch-norm scale and "
                  "bias), 3 seeds, 200 epochs each"),
    ]


CHAPTERS = ("01_architecture", "02_training", "03_datasets", "04_deduplication",
            "05_classification", "06_latent_walk", "07_guided_backprop", "08_forgetting",
            "09_vector_arithmetic", "10_conditional")


# chapter 03's models: in smoke and cpu one step (dataset="") writes all three, in full one step
# per data set
CH03_MODELS = ("lsun_model", "celeba_model", "imagenet32_model")


def producer_step(name: str, profile: str) -> str:
    """The name of the step of ``profile`` that writes artefact ``name`` (what to pass to
    ``ci/run_book.py --only``); :attr:`Artefact.producer` (the full pipeline's step, or
    :data:`PERSON`) when no step of ``profile`` writes it."""
    if name not in ARTEFACTS:
        raise ValueError(f"unknown artefact {name!r}; choose one of {', '.join(ARTEFACTS)}")
    return next((s.name for s in steps(profile) if name in s.produces),
                ARTEFACTS[name].producer)


def fetch_names() -> tuple[str, ...]:
    """The data set names of ``dcgan data`` (:data:`dcgan_lib.fetch.NAMES`)."""
    from .fetch import NAMES
    return NAMES


def svhn_weights_folder(data_root: str | Path | None = None, explicit: str | Path = "") -> Path:
    """Where the authors' SVHN weights are read from: ``explicit``; else
    ``<data_root>/newmu-svhn-dcgan`` when the files are there; else
    :func:`dcgan_lib.reference.default_path` (``$DCGAN_SVHN_WEIGHTS`` or ../shared)."""
    from . import data, reference
    if explicit:
        return Path(explicit)
    beside = Path(data_root or data.default_data_root()) / "newmu-svhn-dcgan"
    return beside if reference.available(beside) else reference.default_path()


def data_status(name: str, data_root: str | Path | None = None,
                svhn_weights: str | Path = "") -> tuple[bool, str]:
    """``(ready, one line)`` for data set ``name`` (a ``dcgan data`` name, checked by
    :func:`dcgan_lib.fetch.check`, which only reads) or :data:`SVHN_WEIGHTS`."""
    from . import data, fetch, reference
    if name == SVHN_WEIGHTS:
        folder = svhn_weights_folder(data_root, svhn_weights)
        try:
            reference.find_weights(folder)
            return True, f"{name}: present in {folder}"
        except FileNotFoundError as err:
            return False, f"{name}: missing: {err}"
    rep = fetch.check(name, Path(data_root or data.default_data_root()))
    return rep.ready, rep.line()


def _parameters_cell(chapter: str, book: str | Path | None = None) -> list:
    """The statements of the ``parameters`` cell of ``book/<chapter>.py`` (an ``ast`` list)."""
    import ast

    from .book import REPO
    path = Path(book or REPO / "book") / f"{chapter}.py"
    lines = path.read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("# %%") and "parameters" in ln)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# %%")),
               len(lines))
    return ast.parse("\n".join(lines[start + 1:end])).body


def chapter_parameters(chapter: str, book: str | Path | None = None) -> dict:
    """``{name: default}`` of the ``parameters`` cell of ``book/<chapter>.py`` (the names a
    papermill run may set); an annotated one (``epochs: int | None = None``) counts too."""
    import ast
    out = {}
    for node in _parameters_cell(chapter, book):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            out[node.target.id] = ast.literal_eval(node.value)
    return out


# The type of each chapter parameter whose default is None ("the profile's value"), by name:
# the committed chapters' parameters cells carry no annotations (adding them would change the
# published chapters' sources), so the types are declared here. A parameter with another
# default has its default's type; an annotated one (``epochs: int | None = None``) its
# annotation. tests/test_run_book_params.py checks that every chapter parameter has a type.
PARAMETER_TYPES = {
    "dataset": "str", "image_size": "int", "ngf": "int", "epochs": "int", "batch_size": "int",
    "lr": "float", "limit": "int", "fd_n": "int", "seeds": "list[int]", "recipe_epochs": "int",
    "study_epochs": "int", "n_query": "int", "num_workers": "int", "n_seeds": "int",
    "n_train": "int", "n_sources": "int", "real_limit": "int", "k_labels": "int", "n_val": "int",
    "test_draws": "int", "cnn_trials": "int", "points": "int", "steps": "int", "memorise": "int",
    "n_images": "int", "n_features": "int", "k": "int", "box_samples": "int",
    "new_samples": "int", "pool": "int", "reps": "int", "turn_samples": "int", "random_dirs": "int",
    "decay_epochs": "int", "at": "list[int]", "big_at": "list[int]", "eval_n": "int",
    "control_draws": "int",
}
# ci/run_book.py sets these from its own options: never through --param
RUNNER_PARAMETERS = {"profile": "--profile", "seed": "--seed", "data_root": "--data-root",
                     "results_dir": "--results", "scale": "--tiny"}
_TYPE_WORDS = {"int": "an integer", "float": "a finite number", "str": "a string",
               "bool": "true or false", "list[int]": "a list of integers (e.g. 0,1,2)"}


def parameter_choices(chapter: str, name: str) -> tuple | None:
    """The values a chapter's parameter may take, where the chapter accepts only a known set
    (None: any value of its type): chapter 03's ``dataset`` is one of section 4's set-ups
    (its cell asserts the same), the other chapters' a name of
    :data:`dcgan_lib.data.NAMES` (``data.get_dataset``'s)."""
    if name != "dataset":
        return None
    if chapter == "03_datasets":
        return ("", "lsun", "celeba", "imagenet32")
    from .data import NAMES
    return ("", *NAMES) if chapter_parameters(chapter).get(name) == "" else NAMES


class ParameterError(ValueError):
    """A ``--param`` value a chapter cannot take (one line naming it, the chapter, the type)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a chapter's ``parameters`` cell: its default, its type (``int``,
    ``float``, ``str``, ``bool`` or ``list[int]``), whether ``None`` (the profile's value) is
    accepted, and the values it may take when the chapter accepts only a known set."""
    chapter: str
    name: str
    default: object
    type: str
    nullable: bool
    choices: tuple | None = None

    def describe(self) -> str:
        if self.choices is not None:
            what = "one of " + ", ".join(repr(c) if c == "" else str(c) for c in self.choices)
        else:
            what = _TYPE_WORDS[self.type]
        return what + (" or None (the profile's value)" if self.nullable else "")

    def convert(self, text: str):
        """``text`` (from ``--param NAME=TEXT``) as a value of this parameter; raises
        :class:`ParameterError` naming the parameter, the chapter and the type."""
        import math
        if self.nullable and text == "None":
            return None
        try:
            if self.type == "int":
                value = int(text)
            elif self.type == "float":
                value = float(text)
                if not math.isfinite(value):
                    raise ValueError(text)
            elif self.type == "bool":
                value = {"true": True, "1": True, "false": False, "0": False}[text.lower()]
            elif self.type == "list[int]":
                inner = text.strip()
                if inner[:1] + inner[-1:] in ("[]", "()"):
                    inner = inner[1:-1]
                value = [int(v) for v in inner.split(",") if v.strip()]
            else:
                value = text
        except (ValueError, KeyError):
            value = ParameterError
        if value is ParameterError or (self.choices is not None and value not in self.choices):
            raise ParameterError(f"--param {self.name}={text}: chapter {self.chapter}'s "
                                 f"parameter {self.name} takes {self.describe()}")
        return value


def _annotation(node) -> tuple[str, bool]:
    """``(type, nullable)`` of an annotation such as ``int | None`` or ``Optional[int]``."""
    import ast
    text = ast.unparse(node).replace(" ", "")
    nullable = False
    if text.startswith(("Optional[", "typing.Optional[")):
        text, nullable = text[text.index("[") + 1:-1], True
    parts = [p for p in text.split("|") if p]
    if "None" in parts:
        nullable = True
        parts.remove("None")
    typ = "|".join(parts).replace("List[", "list[")
    return typ, nullable


def parameter_specs(chapter: str, book: str | Path | None = None) -> dict[str, Parameter]:
    """``{name: Parameter}`` of the ``parameters`` cell of ``book/<chapter>.py``: the type from
    the parameter's annotation, else from its default (``None`` allowed besides), else from
    :data:`PARAMETER_TYPES` for a default of ``None``; raises ValueError for a parameter whose
    type none of these gives."""
    import ast
    out = {}
    for node in _parameters_cell(chapter, book):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            name, default = node.target.id, ast.literal_eval(node.value)
            typ, nullable = _annotation(node.annotation)
            nullable = nullable or default is None
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name, default = node.targets[0].id, ast.literal_eval(node.value)
            if default is None:
                typ, nullable = PARAMETER_TYPES.get(name), True
            else:
                typ = ("list[int]" if isinstance(default, (list, tuple))
                       and all(type(v) is int for v in default) else type(default).__name__)
                nullable = False
        else:
            continue
        if typ not in _TYPE_WORDS:
            raise ValueError(f"book/{chapter}.py: parameter {name} has no known type "
                             f"({typ or 'default None'}): annotate it (e.g. `{name}: int | None "
                             "= None`) or add it to dcgan_lib.graph.PARAMETER_TYPES")
        out[name] = Parameter(chapter, name, default, typ, nullable,
                              parameter_choices(chapter, name) if book is None else None)
    return out


def typed_parameters(chapters, given: dict[str, str]) -> dict[str, dict]:
    """``{chapter: {name: value}}``: the ``--param NAME=TEXT`` pairs ``given`` converted to the
    type of each of ``chapters``' parameter of that name (a chapter without it does not get
    it). Raises :class:`ParameterError` (one line) for a parameter that none of ``chapters``
    has, one that ci/run_book.py sets from its own option, or a value of the wrong type."""
    chapters = list(dict.fromkeys(chapters))
    specs = {ch: parameter_specs(ch) for ch in chapters}
    out = {ch: {} for ch in chapters}
    for name, text in given.items():
        if name in RUNNER_PARAMETERS:
            raise ParameterError(f"--param {name}={text}: {name} is set by ci/run_book.py's own "
                                 f"option {RUNNER_PARAMETERS[name]}: use that instead")
        having = [ch for ch in chapters if name in specs[ch]]
        if not having:
            known = sorted({p for ch in chapters for p in specs[ch]} - set(RUNNER_PARAMETERS))
            raise ParameterError(f"--param {name}={text}: no parameter {name} in "
                                 f"{', '.join(chapters) or 'the chapters run'} (parameters: "
                                 f"{', '.join(known)})")
        for ch in having:
            out[ch][name] = specs[ch][name].convert(text)
    return out


def find_step(profile: str, chapter: str, dataset: str | None = None) -> Step:
    """The step of ``profile`` that runs ``chapter`` (with ``dataset``, for a chapter run
    once per data set; else its first step)."""
    found = [s for s in steps(profile) if s.chapter == chapter]
    for s in found:
        if dataset is None or s.params.get("dataset") == dataset:
            return s
    if found and dataset:
        return Step(f"{chapter}-{dataset}", chapter, {"dataset": dataset}, found[0].data)
    raise ValueError(f"no step of chapter {chapter!r} in the {profile} profile")


def missing_data(step: Step, data_root: str | Path | None = None,
                 svhn_weights: str | Path = "") -> list[str]:
    """One line (what is wrong, what to do) per data set of ``step`` that is not ready."""
    return [line for ok, line in (data_status(d, data_root, svhn_weights) for d in step.data)
            if not ok]


def artefact_path(name: str, profile: str | Run,
                  results_dir: str | Path | None = "results") -> Path:
    """Absolute path of artefact ``name`` of ``profile`` under ``results_dir`` (relative: from
    the repository root; None: ``results``), or of a chapter's :class:`Run` under its own
    results root."""
    if name not in ARTEFACTS:
        raise ValueError(f"unknown artefact {name!r}; choose one of {', '.join(ARTEFACTS)}")
    if isinstance(profile, Run):
        results_dir, profile = profile.results or results_dir, profile.profile
    return results_root(results_dir or "results") / profile / ARTEFACTS[name].path


# ------------------------------------------------------------------ time estimate
# Measured on the benchmark's 2-core CPU (docs/benchmarks.md) (benchmarks/run.py, batch 128, width 64): training
# images/s of Trainer.train_step per image size, the float32 matrix-multiply rate, and the
# LSUN LMDB loader's images/s per worker (decode, resize, crop).
REFERENCE_TRAIN_IMG_S = {28: 225.0, 32: 225.0, 64: 35.5}
REFERENCE_MM_GFLOPS = 170.0
LOADER_IMG_S_PER_WORKER = 1_000.0
# ASSUMED, not measured (no GPU figures yet): a GPU step of 128 images takes at least 4 ms
# (kernel launches of two forward and backward passes and two Adam updates), so small models
# do not get the matrix-multiply rate; replace it by measured images/s (ci/gpu_check.sh).
GPU_MIN_STEP_S = 0.004
BATCH = 128


def estimate_seconds(step: Step, mm_gflops: float, workers: int = 8,
                     min_step_s: float = 0.0) -> float:
    """Seconds of ``step``'s training passes on a device whose matrix multiply runs at
    ``mm_gflops`` (measured), an ESTIMATE: the benchmark's measured training images/s at width
    64 (:data:`REFERENCE_TRAIN_IMG_S`, or the work's own ``reference_img_s``), scaled by the
    device's matrix-multiply rate over the benchmark machine's and by (64 / width)^2 (a DCGAN's
    convolution FLOPs grow with the square of its width), and for streamed data capped by
    ``workers`` loader processes at the benchmark's measured decoding rate, and by one step of
    128 images per ``min_step_s`` (:data:`GPU_MIN_STEP_S` on a GPU, an assumption).
    Evaluations, probes and sampling are not counted."""
    total = 0.0
    for w in step.work:
        rate = float("inf")
        if w.width:
            ref = w.reference_img_s or REFERENCE_TRAIN_IMG_S[w.size] * (64 / w.width) ** 2
            rate = ref * mm_gflops / REFERENCE_MM_GFLOPS
            if min_step_s:
                rate = min(rate, BATCH / min_step_s)
        if w.streamed:
            rate = min(rate, LOADER_IMG_S_PER_WORKER * max(1, workers))
        total += w.images / rate
    return total


def measure_mm_gflops(device: str = "cpu", size: int | None = None, repeats: int = 3) -> float:
    """The matrix-multiply rate of ``device`` in GFLOP/s (float32 on a CPU; bf16 on CUDA,
    which the trainer's autocast uses), the best of ``repeats``."""
    import time

    import torch
    size = size or (2048 if device == "cpu" else 8192)
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(repeats + 1):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * size ** 3 / best / 1e9


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
