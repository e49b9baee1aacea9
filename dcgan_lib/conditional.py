"""Conditional DCGAN and its fully connected baseline (paper appendix A.1, table 3, figure 9).

The appendix trains a *conditional* DCGAN on MNIST and a permutation-invariant (fully
connected) GAN baseline, and removes the scale and bias from every batch-norm. The paper gives
no architecture; the authors' released ``mnist/train_cond_dcgan.py`` does, and this module
follows it:

* the one-hot label ``y`` is concatenated to the input of **every** layer: to vectors as ``ny``
  extra units, to feature maps as ``ny`` constant maps;
* G: ``[z, y]`` -> fc 1024 -> ``[., y]`` -> fc 128x7x7 -> ``[., y]`` -> 5x5 fractionally strided
  conv to 64x14x14 -> ``[., y]`` -> 5x5 fractionally strided conv to 1x28x28;
* D mirrors it: ``[x, y]`` -> 5x5 stride-2 conv to 64x14x14 (no batch-norm) -> ``[., y]`` ->
  conv to 128x7x7 -> flatten, ``[., y]`` -> fc 1024 -> ``[., y]`` -> one logit;
* batch-norm without scale and bias (``bn_affine=False``) after every hidden layer except D's
  first, ReLU in G, LeakyReLU(0.2) in D, no biases, weights from N(0, 0.02), z uniform in
  [-1, 1] (nz = 100).

Their G ends in a sigmoid with data in [0, 1]; ``output="tanh"`` (default here) keeps the
book's convention of images in [-1, 1] (paper section 3); ``output="sigmoid"`` gives the
authors' layer, its [0, 1] output mapped to [-1, 1] so that the rest of the library is unchanged.

The baseline is not described anywhere; :class:`MLPCondGenerator` / :class:`MLPCondDiscriminator`
replace each convolution of the DCGAN by a fully connected layer of ``nh`` (1024) units, so both
models have the same depth, the same label concatenation and the same scale-free batch-norm.

There is no training loop here: a conditional GAN is the GAN of :mod:`dcgan_lib.train` with a
label, ``TrainConfig(labels=True, arch="dcgan" | "mlp", bn_affine=False, ...)``, so seeding,
both schedules, the authors' learning-rate decay (``decay_epochs``) and weight decay
(``weight_decay=2.5e-5``), checkpoints, exact resume and DDP are the same code for both.

Table 3's measurement: :func:`generate_labelled` streams labelled samples,
:func:`nn_predictions` fits the streaming 1-NN classifier of :mod:`dcgan_lib.knn` on them in
one pass and keeps its predictions at every N asked for (:func:`split_errors`,
:func:`per_class_errors` score them), and :func:`nn_error_evaluator` follows the same error
through training, epoch by epoch.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .knn import StreamingNN
from .models import Reshape, batch_stats, count_parameters, init_weights, sample_z
from .rng import seeded_generator

OUTPUTS = ("tanh", "sigmoid")
ARCHS = ("dcgan", "mlp")


def one_hot(y: torch.Tensor, ny: int) -> torch.Tensor:
    """Integer labels (B,) -> float one-hot (B, ny); float (B, ny) is passed through."""
    if y.is_floating_point():
        if y.dim() != 2 or y.shape[1] != ny:
            raise ValueError(f"float labels must be one-hot of shape (B, {ny}), got {tuple(y.shape)}")
        return y
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= ny):
        raise ValueError(f"labels must lie in 0..{ny - 1} (ny={ny}), got {int(y.min())}.."
                         f"{int(y.max())}; build the model with the dataset's number of classes")
    return F.one_hot(y.long(), ny).float()


def concat_label(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Append the one-hot ``y`` (B, ny) to ``x``: as units to a vector, as constant feature maps
    to a (B, C, H, W) map (the authors' ``conv_cond_concat``)."""
    if x.dim() == 2:
        return torch.cat([x, y], 1)
    return torch.cat([x, y[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])], 1)


class _Conditional(nn.Module):
    """``blocks`` applied in turn, each to its input with the label concatenated."""

    ny: int
    flatten_input = False

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = one_hot(y, self.ny).to(x.dtype)
        if self.flatten_input:
            x = x.reshape(x.shape[0], -1)
        for block in self.blocks:
            x = block(concat_label(x, y))
        return x


def _bn(n: int, affine: bool, dim: int) -> nn.Module:
    return (nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d)(n, affine=affine)


def _out(output: str) -> nn.Module:
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    return nn.Tanh() if output == "tanh" else _SigmoidToSymmetric()


class _SigmoidToSymmetric(nn.Module):
    """The authors' sigmoid output, its [0, 1] mapped to [-1, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) * 2 - 1


class DirectConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (same parameters, same state-dict keys) whose CPU forward uses
    ATen's direct kernel (``aten.slow_conv_transpose2d``: one matrix product and a col2im)
    instead of oneDNN's. For the conditional G's last layer (74 maps to 1 map, 28x28) oneDNN
    runs at about 4% of the machine's sgemm rate and the direct kernel about 6 times faster,
    which makes sampling about 40% faster (benchmarks/sample_nn.py, one thread); the results
    agree to float rounding (about 1e-6). Other devices, and options the direct kernel does not
    take, use the parent's forward. Layer tables name it as the layer it computes."""

    layer_name = "ConvTranspose2d"

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if (x.device.type != "cpu" or output_size is not None or self.groups != 1
                or self.padding_mode != "zeros" or x.dim() != 4):
            return super().forward(x, output_size)
        return torch.ops.aten.slow_conv_transpose2d(
            x, self.weight, list(self.kernel_size), self.bias, list(self.stride),
            list(self.padding), list(self.output_padding), list(self.dilation))


def _register_direct_flops() -> None:
    """Let ``torch.utils.flop_counter.FlopCounterMode`` count the direct kernel as the
    transposed convolution it is (it knows only oneDNN's and cuDNN's entry points)."""
    from torch.utils import flop_counter as fcm
    op = torch.ops.aten.slow_conv_transpose2d
    if op in fcm.flop_registry or op.default in fcm.flop_registry:
        return

    @fcm.register_flop_formula(op)
    def _flops(x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
        # weight (in, out, kh, kw) as for any transposed convolution
        return fcm.conv_flop_count(x_shape, w_shape, out_shape, transposed=True)


_register_direct_flops()


def _check_size(image_size: int) -> int:
    if image_size < 8 or image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 (two stride-2 layers), at least 8; "
                         f"got {image_size} (MNIST and Fashion-MNIST: 28)")
    return image_size // 4


class CondGenerator(_Conditional):
    """Conditional DCGAN generator G(z, y) of the appendix (authors' MNIST code).

    ``nfc`` units in the first fc layer (1024), ``ngf * 2`` maps at ``image_size / 4`` (128x7x7),
    ``ngf`` maps at ``image_size / 2``, ``nc`` at ``image_size``. ``bn_affine=False``:
    batch-norm without scale and bias, as the appendix found better.
    """

    def __init__(self, nz: int = 100, ny: int = 10, ngf: int = 64, nfc: int = 1024, nc: int = 1,
                 image_size: int = 28, bn_affine: bool = False, output: str = "tanh"):
        super().__init__()
        s = _check_size(image_size)
        self.nz, self.ny, self.nc, self.image_size = nz, ny, nc, image_size
        self.z_dist = "uniform"
        c = ngf * 2
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Linear(nz + ny, nfc, bias=False), _bn(nfc, bn_affine, 1), nn.ReLU(True)),
            nn.Sequential(nn.Linear(nfc + ny, c * s * s, bias=False), _bn(c * s * s, bn_affine, 1),
                          nn.ReLU(True), Reshape(c, s, s)),
            nn.Sequential(nn.ConvTranspose2d(c + ny, ngf, 5, 2, 2, output_padding=1, bias=False),
                          _bn(ngf, bn_affine, 2), nn.ReLU(True)),
            nn.Sequential(DirectConvTranspose2d(ngf + ny, nc, 5, 2, 2, output_padding=1,
                                                bias=False), _out(output)),
        ])
        init_weights(self)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return sample_z(n, self.nz, self.z_dist, generator, next(self.parameters()).device)


class CondDiscriminator(_Conditional):
    """Conditional DCGAN discriminator D(x, y) -> one logit per image (G mirrored)."""

    def __init__(self, ny: int = 10, ndf: int = 64, nfc: int = 1024, nc: int = 1,
                 image_size: int = 28, bn_affine: bool = False):
        super().__init__()
        s = _check_size(image_size)
        self.ny, self.nc, self.image_size = ny, nc, image_size
        c = ndf * 2
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(nc + ny, ndf, 5, 2, 2, bias=False), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(ndf + ny, c, 5, 2, 2, bias=False), _bn(c, bn_affine, 2),
                          nn.LeakyReLU(0.2, True), nn.Flatten()),
            nn.Sequential(nn.Linear(c * s * s + ny, nfc, bias=False), _bn(nfc, bn_affine, 1),
                          nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Linear(nfc + ny, 1, bias=False), nn.Flatten(0)),
        ])
        init_weights(self)


class MLPCondGenerator(_Conditional):
    """Permutation-invariant conditional generator (the appendix's GAN baseline): the
    :class:`CondGenerator` with each layer fully connected, ``nh`` hidden units."""

    def __init__(self, nz: int = 100, ny: int = 10, nh: int = 1024, nc: int = 1,
                 image_size: int = 28, bn_affine: bool = False, output: str = "tanh"):
        super().__init__()
        self.nz, self.ny, self.nc, self.image_size = nz, ny, nc, image_size
        self.z_dist = "uniform"
        nx = nc * image_size * image_size
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Linear(nz + ny, nh, bias=False), _bn(nh, bn_affine, 1), nn.ReLU(True)),
            nn.Sequential(nn.Linear(nh + ny, nh, bias=False), _bn(nh, bn_affine, 1), nn.ReLU(True)),
            nn.Sequential(nn.Linear(nh + ny, nh, bias=False), _bn(nh, bn_affine, 1), nn.ReLU(True)),
            nn.Sequential(nn.Linear(nh + ny, nx, bias=False), _out(output),
                          Reshape(nc, image_size, image_size)),
        ])
        init_weights(self)

    sample_z = CondGenerator.sample_z


class MLPCondDiscriminator(_Conditional):
    """Permutation-invariant conditional discriminator: :class:`CondDiscriminator` with each
    layer fully connected (the image is flattened first)."""

    flatten_input = True

    def __init__(self, ny: int = 10, nh: int = 1024, nc: int = 1, image_size: int = 28,
                 bn_affine: bool = False):
        super().__init__()
        self.ny, self.nc, self.image_size = ny, nc, image_size
        nx = nc * image_size * image_size
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Linear(nx + ny, nh, bias=False), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Linear(nh + ny, nh, bias=False), _bn(nh, bn_affine, 1),
                          nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Linear(nh + ny, nh, bias=False), _bn(nh, bn_affine, 1),
                          nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Linear(nh + ny, 1, bias=False), nn.Flatten(0)),
        ])
        init_weights(self)


def cond_layer_table(model: _Conditional, input_shape: tuple[int, ...]) -> list[dict]:
    """One row per block: its layers, input width (with the label), output shape, parameters."""
    x = torch.zeros(2, *input_shape)
    y = torch.arange(2) % model.ny
    ins: dict[int, tuple] = {}
    outs: dict[int, tuple] = {}

    def hook(k, inp, out):
        ins[k], outs[k] = tuple(inp[0].shape[1:]), tuple(out.shape[1:])

    hooks = [b.register_forward_hook(lambda _m, i, o, k=k: hook(k, i, o))
             for k, b in enumerate(model.blocks)]
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x, y)
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    rows = []
    for k, block in enumerate(model.blocks):
        kinds = " + ".join(getattr(m, "layer_name", type(m).__name__) for m in block
                           if not isinstance(m, (Reshape, nn.Flatten)))
        rows.append({"block": k, "layers": kinds, "input (with y)": ins[k], "output": outs[k],
                     "params": count_parameters(block)})
    return rows


# ---------------------------------------------------------------- sampling
@torch.no_grad()
def generate_labelled(G: _Conditional, n: int, batch: int = 128, seed: int = 0,
                      device: torch.device | str | None = None
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``n`` samples of ``G`` as ``(images, labels)`` chunks of ``batch``.

    Labels cycle through the classes (sample ``i`` has label ``i % ny``), so every prefix that is
    a multiple of ``ny`` is exactly balanced (the authors drew labels at random). z is uniform,
    seeded by (``seed``, chunk). G runs with batch statistics, as the authors sampled
    (:func:`dcgan_lib.models.batch_stats`), so every batch mixes the classes: batch-norm over a
    batch of one class would subtract its label away. A short last chunk is cut from a full batch
    so that batch-norm never sees a tiny batch. Nothing is kept between chunks: 10M samples
    stream in constant memory.
    """
    if n < 0 or batch < 2:
        raise ValueError(f"need n >= 0 and batch >= 2 (batch-norm), got n={n}, batch={batch}")
    dev = next(G.parameters()).device if device is None else torch.device(device)
    with batch_stats(G):
        for k, start in enumerate(range(0, n, batch)):
            m = min(batch, n - start)
            y = (torch.arange(start, start + batch) % G.ny).to(dev)
            z = sample_z(batch, G.nz, G.z_dist, seeded_generator(seed, k, 3), dev)
            x = G(z, y).float()
            yield x[:m], y[:m]


@torch.no_grad()
def class_grid(G: _Conditional, per_class: int = 10, seed: int = 0) -> torch.Tensor:
    """``per_class`` samples of every class, row by row (row ``c`` = class ``c``), for figure 9.
    All classes go through G in one batch (batch statistics need mixed labels)."""
    dev = next(G.parameters()).device
    y = torch.arange(G.ny, device=dev).repeat_interleave(per_class)
    z = sample_z(len(y), G.nz, G.z_dist, seeded_generator(seed, 5), dev)
    with batch_stats(G):
        return G(z, y).float().cpu()


@torch.no_grad()
def sample_classes(G: _Conditional, per_class: int, seed: int = 0, label: int | None = None,
                   batch: int = 500) -> torch.Tensor:
    """``per_class`` samples of every class, row by row (row ``c`` = class ``c``), or of class
    ``label`` only: drawn by :func:`generate_labelled` in batches that mix all classes equally
    (batch-norm over one class would subtract its label away), so memory stays that of one
    batch; ``dcgan sample`` on a conditional checkpoint."""
    ny = G.ny
    if label is not None and not 0 <= label < ny:
        raise ValueError(f"label must lie in 0..{ny - 1}, got {label}")
    batch = ny * max(1, batch // ny)
    keep = []
    for x, y in generate_labelled(G, per_class * ny, batch, seed):
        keep.append(x if label is None else x[y == label])
    x = torch.cat(keep).cpu()
    if label is not None:
        return x
    return x.reshape(per_class, ny, *x.shape[1:]).transpose(0, 1).reshape(-1, *x.shape[1:])


def real_class_grid(x: torch.Tensor, y: torch.Tensor, per_class: int = 10, seed: int = 0,
                    ny: int | None = None) -> torch.Tensor:
    """``per_class`` random real images of every class, row by row (the left panel of figure 9)."""
    ny = ny or int(y.max()) + 1
    g = seeded_generator(seed, 6)
    rows = []
    for c in range(ny):
        idx = (y == c).nonzero().flatten()
        if len(idx) < per_class:
            raise ValueError(f"class {c} has {len(idx)} images, fewer than per_class={per_class}")
        rows.append(x[idx[torch.randperm(len(idx), generator=g)[:per_class]]])
    return torch.cat(rows)


# ---------------------------------------------------------------- table 3's measurements
def holdout_split(n: int, n_val: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The appendix's validation split: a seeded permutation of ``n`` training items, the
    first ``n_val`` held out for validation. Returns ``(train_idx, val_idx)`` (disjoint, their
    union all of ``range(n)``); the same ``seed`` gives the same split."""
    if not 0 <= n_val < n:
        raise ValueError(f"n_val must lie in 0..{n - 1} (n={n}), got {n_val}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_val:], perm[:n_val]


#: Table 3 of the paper (MNIST, 1-NN test error in percent at 50K and 10M samples; None: not
#: given), quoted for the rows this book measures.
PAPER_TABLE3 = {"real": (3.1, None), "mlp": (6.28, 5.65), "dcgan": (2.98, 1.48)}


def table3_scope(dataset: str) -> str:
    """What chapter 10's verdicts stand on (:data:`dcgan_lib.claims.SCOPES`) for ``dataset``."""
    if dataset == "mnist":
        return "paper data: MNIST"
    if dataset == "fashion-mnist":
        return "stand-in: Fashion-MNIST for MNIST"
    return f"stand-in: {dataset} for MNIST (a test of the code, not a result)"


def over_models(errors: dict, key: str, seeds, n: int, scale: float = 100.0):
    """Table 3's number for one row: the test error at ``n`` of each trained model
    ``errors[key, s][n]`` (a fraction; from the first pass ``"test"`` or the large-sample
    pass ``"test_big"``) for every seed, times ``scale``, as ``(Measure.from_samples(values),
    values)``; ``(None, [])`` when a seed lacks ``n``."""
    from .claims import Measure
    vals = []
    for s in seeds:
        e = errors[key, s].get(n)
        if e is None:
            return None, []
        vals.append(scale * (e["test"] if e.get("test") is not None else e["test_big"]))
    return Measure.from_samples(vals), vals


def write_models_manifest(path, runs: dict[str, dict]) -> dict:
    """Write the list of trained models a later step loads (chapter 10's ``ch10_models``
    artefact): ``runs`` is ``{name: {"out": run folder, "steps": steps trained}}``. Returns
    what was written."""
    import json
    from pathlib import Path
    for name, r in runs.items():
        ckpt = Path(r["out"]) / f"ckpt-{int(r['steps']):08d}.pt"
        if not ckpt.is_file():
            raise FileNotFoundError(f"{name}: no final checkpoint {ckpt}; the run did not finish")
    payload = {"format": "dcgan-ch10-models/1",
               "models": {k: {"out": str(v["out"]), "steps": int(v["steps"])}
                          for k, v in runs.items()}}
    Path(path).write_text(json.dumps(payload, indent=1) + "\n")
    return payload


def check_models_manifest(path, expected: dict[str, dict]) -> None:
    """Raise a one-line error unless the manifest at ``path`` (:func:`write_models_manifest`)
    lists every model of ``expected`` (``{name: {"out", "steps"}}``) with the same folder and
    step count and its final checkpoint is on disk: a step that only *loads* trained models
    (chapter 10's ``stage="10m"``) must never start training them."""
    import json
    from pathlib import Path
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no trained models: {p} is absent; run the training stage "
                                "first (python ci/run_book.py --profile <profile> --only "
                                "10_conditional)")
    have = json.loads(p.read_text()).get("models", {})
    for name, e in expected.items():
        got = have.get(name)
        if (got is None or Path(got["out"]) != Path(e["out"])
                or int(got["steps"]) != int(e["steps"])):
            raise ValueError(f"{p} does not list {name} as {e['out']} trained {e['steps']} steps "
                             f"(it has {got}); the training stage ran with other settings: "
                             "run it again with these")
        ckpt = Path(e["out"]) / f"ckpt-{int(e['steps']):08d}.pt"
        if not ckpt.is_file():
            raise FileNotFoundError(f"{name}: final checkpoint {ckpt} is absent")


def error_curve(preds: dict[int, torch.Tensor], y: torch.Tensor) -> list[tuple[int, float]]:
    """``[(N, error)]`` in increasing N from the predictions ``{N: (M,) labels}`` of
    :func:`nn_predictions` against the true labels ``y`` (M,) of its queries (a fraction)."""
    y = torch.as_tensor(y).cpu()
    return [(n, (preds[n].cpu() != y).float().mean().item()) for n in sorted(preds)]


@torch.no_grad()
def nn_predictions(stream: Iterable[tuple[torch.Tensor, torch.Tensor]], queries: torch.Tensor,
                   at: Sequence[int], block: int = 2048, device=None,
                   log: Callable[[str], None] | None = print) -> dict[int, torch.Tensor]:
    """Table 3's 1-NN classifier in one pass over a labelled ``stream`` of ``(images, labels)``
    chunks (:func:`generate_labelled`, or :func:`dcgan_lib.knn.chunks` of real images): for
    every N in ``at``, the label that the classifier fitted on the first N samples gives each
    of ``queries`` (M, ...), as ``{N: (M,) tensor}`` on the CPU.

    The same classifier as :func:`dcgan_lib.knn.nn_errors` (:class:`dcgan_lib.knn.
    StreamingNN`: only each query's nearest sample so far is kept, so N can reach 10M), but it
    returns the predictions, so that one pass can be scored on several query sets
    (:func:`split_errors`) and class by class (:func:`per_class_errors`). ``log`` gets one
    line per N with the speed. Raises if the stream ends before ``max(at)``.
    """
    marks = sorted({int(a) for a in at})
    if not marks or marks[0] <= 0:
        raise ValueError(f"`at` needs positive sample counts, got {list(at)}")
    knn = StreamingNN(queries, block, device if device is not None else queries.device)
    out: dict[int, torch.Tensor] = {}
    t0 = time.perf_counter()
    k = 0
    # the stream's chunks (the generator's batches, 128) are gathered into blocks of `block`
    # samples before the distances: a matrix product against all queries runs near the
    # machine's sgemm rate only with enough samples (benchmarks/sample_nn.py)
    px: list[torch.Tensor] = []
    py: list[torch.Tensor] = []
    pending = 0
    for x, y in stream:
        while len(x) and k < len(marks):
            take = min(len(x), marks[k] - knn.n_seen - pending)
            px.append(x[:take])
            py.append(y[:take])
            pending += take
            x, y = x[take:], y[take:]
            if pending >= block or knn.n_seen + pending == marks[k]:
                knn.partial_fit(torch.cat(px) if len(px) > 1 else px[0],
                                torch.cat(py) if len(py) > 1 else py[0])
                px, py, pending = [], [], 0
            if knn.n_seen == marks[k]:
                out[marks[k]] = knn.predict()
                if log is not None:
                    secs = time.perf_counter() - t0
                    log(f"1-NN fitted on {marks[k]:,} samples, {len(knn.q):,} queries: "
                        f"{secs:.1f} s ({marks[k] / max(secs, 1e-9):,.0f} samples/s)")
                k += 1
        if k == len(marks):
            break
    if k < len(marks):
        raise ValueError(f"the sample stream ended after {knn.n_seen:,} samples, before "
                         f"N={marks[k]:,}; generate at least max(at) samples")
    return out


def split_errors(pred: torch.Tensor, labels: dict[str, torch.Tensor]) -> dict[str, float]:
    """Error rates (fractions) of predictions ``pred`` for queries that are the query sets of
    ``labels`` ({name: (n,) labels}) concatenated in that order: ``{name: error}``."""
    sizes = [len(v) for v in labels.values()]
    if sum(sizes) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {sum(sizes)} labelled queries")
    parts = torch.split(pred.cpu(), sizes)
    return {k: (p != torch.as_tensor(v).cpu()).float().mean().item()
            for (k, v), p in zip(labels.items(), parts)}


def per_class_errors(pred: torch.Tensor, y: torch.Tensor, ny: int | None = None) -> list[float]:
    """Error rate (fraction) of ``pred`` among the queries of each true class ``y`` (NaN for a
    class with no query)."""
    y = torch.as_tensor(y).cpu()
    wrong = (pred.cpu() != y).float()
    ny = ny or int(y.max()) + 1
    return [wrong[y == c].mean().item() if (y == c).any() else float("nan") for c in range(ny)]


def nn_error_evaluator(x: torch.Tensor, y: torch.Tensor, n: int, batch: int = 128,
                       seed: int = 0, key: str = "nn_val_error"
                       ) -> Callable[[torch.nn.Module], dict]:
    """An ``evaluator`` for :func:`dcgan_lib.train.train` that follows table 3's metric
    through training: at every epoch end, the 1-NN error (a fraction) on the held-out images
    ``x`` with labels ``y`` of the classifier fitted on ``n`` samples of G (the same z every
    epoch). Its dict ``{key: error}`` goes into ``epochs.jsonl``; it has no ``fd``, so the
    trainer writes no ``best.pt`` and the run is the one it would be without it (sampling
    uses its own seeded noise and batch statistics, and leaves G's running averages alone)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    y = torch.as_tensor(y).cpu()

    def evaluate(G: torch.nn.Module) -> dict:
        dev = next(G.parameters()).device
        pred = nn_predictions(generate_labelled(G, n, batch, seed=seed), x, [n], device=dev,
                              log=None)[n]
        return {key: (pred != y).float().mean().item()}

    evaluate.description = (f"{key}: 1-NN error on {len(x):,} held-out images, fitted on "
                            f"{n:,} samples of G")
    return evaluate
