"""The paper authors' released SVHN DCGAN (section 5.2, table 2), in dcgan_lib's own modules.

Radford, Metz & Chintala released the generator and discriminator behind their SVHN result in
``Newmu/dcgan_code`` (MIT licence), folder ``models/svhn_unsup_all_conv_dcgan_100z_gaussian_lr_
0.0005_64mb/``, epoch 200, as one ``.npy`` file per parameter. :func:`load_svhn_dcgan` builds the
library's ``paper`` variant (32x32, nz 100, ngf = ndf = 64, 3 channels) and copies them in,
honouring three facts of the authors' Theano code (``lib/ops.py``):

* their convolutions are cuDNN ``conv`` mode, a true convolution, so every kernel is flipped in
  both spatial axes for PyTorch's cross-correlation; their generator's "deconv" is the gradient
  of such a convolution with respect to its input, which is ``ConvTranspose2d`` (weight layout
  ``(in, out, kh, kw)``) with the flipped kernel;
* batch-norm uses the statistics of the current batch with epsilon 1e-8 and has no running
  averages: sample with :func:`dcgan_lib.models.batch_stats` (as the authors sampled) and, before
  using the discriminator as a feature extractor, re-estimate population statistics with
  :func:`dcgan_lib.features.reestimate_bn` (as their probe ``svhn_semisup_analysis.py`` did);
  the modules' running averages are left at PyTorch's defaults (mean 0, variance 1) and mean
  nothing until then;
* this run drew z from a standard Gaussian (``Z_DIST = "normal"``, the generator's ``z_dist``),
  not the uniform z of the paper's section 3.

The weights are data a user downloads (:func:`download_svhn_dcgan`, SHA-256 checked); the
project never commits them. They are found at ``path``, else ``$DCGAN_SVHN_WEIGHTS``, else
``<repo>/../shared/reference/newmu-svhn-dcgan``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.request import urlopen

import numpy as np
import torch
from torch import nn

from .models import Discriminator, Generator

ENV = "DCGAN_SVHN_WEIGHTS"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO.parent / "shared" / "reference" / "newmu-svhn-dcgan"
COMMIT = "ee12b2d15a3856794b8dae77d1eb263c67c36e47"
FOLDER = "models/svhn_unsup_all_conv_dcgan_100z_gaussian_lr_0.0005_64mb"
BASE_URL = f"https://raw.githubusercontent.com/Newmu/dcgan_code/{COMMIT}/{FOLDER}/"
BN_EPS = 1e-8
IMAGE_SIZE, NZ, NGF, NDF, NC = 32, 100, 64, 64, 3
Z_DIST = "normal"   # the run's z ~ N(0, 1)^100 ("100z_gaussian" in the folder name)

# (file, shape, target parameter in our module) in the authors' order; see the module docstring.
GEN_FILES = [
    ("200_gen_params.jl_01.npy", (100, 4096), "blocks.0.0.weight"),   # z @ W, no bias
    ("200_gen_params.jl_02.npy", (4096,), "blocks.0.1.weight"),       # BN gain, per unit
    ("200_gen_params.jl_03.npy", (4096,), "blocks.0.1.bias"),         # BN bias, per unit
    ("200_gen_params.jl_04.npy", (256, 128, 5, 5), "blocks.1.0.weight"),
    ("200_gen_params.jl_05.npy", (128,), "blocks.1.1.weight"),
    ("200_gen_params.jl_06.npy", (128,), "blocks.1.1.bias"),
    ("200_gen_params.jl_07.npy", (128, 64, 5, 5), "blocks.2.0.weight"),
    ("200_gen_params.jl_08.npy", (64,), "blocks.2.1.weight"),
    ("200_gen_params.jl_09.npy", (64,), "blocks.2.1.bias"),
    ("200_gen_params.jl_10.npy", (64, 3, 5, 5), "blocks.3.0.weight"),  # then tanh
]
DISC_FILES = [
    ("200_discrim_params.jl_01.npy", (64, 3, 5, 5), "blocks.0.0.weight"),  # no BN
    ("200_discrim_params.jl_02.npy", (128, 64, 5, 5), "blocks.1.0.weight"),
    ("200_discrim_params.jl_03.npy", (128,), "blocks.1.1.weight"),
    ("200_discrim_params.jl_04.npy", (128,), "blocks.1.1.bias"),
    ("200_discrim_params.jl_05.npy", (256, 128, 5, 5), "blocks.2.0.weight"),
    ("200_discrim_params.jl_06.npy", (256,), "blocks.2.1.weight"),
    ("200_discrim_params.jl_07.npy", (256,), "blocks.2.1.bias"),
    ("200_discrim_params.jl_08.npy", (4096, 1), "blocks.3.1.weight"),  # flatten @ W -> sigmoid
]
# SHA-256 of the files at COMMIT (computed from the unchanged copies in ../shared).
SHA256 = {
    "200_discrim_params.jl_01.npy": "fe9ef3d815b106df988ec6f384a79ae68df27a214c11ada52b94548f4666b15f",
    "200_discrim_params.jl_02.npy": "f62c228d2e9ec48b7a07d191317a5c166129a8e94363c3c546f59509cc29e521",
    "200_discrim_params.jl_03.npy": "b7ea7698a743162669e127a318b36aea2a870673fac7437790c8c1f31b61ba55",
    "200_discrim_params.jl_04.npy": "2c7fce37952dd6d97bc2562dc6a1ae3f49ec7a542b3e857b903c011762b1a3a1",
    "200_discrim_params.jl_05.npy": "fa49601f77caf68f96feaf5b00fbc6911dfaa519b8d977228250d94a85a38def",
    "200_discrim_params.jl_06.npy": "8bd21e1b7680fbae4250857acbc20c55e8811a6376f54a3a7d7d11a7103ad87e",
    "200_discrim_params.jl_07.npy": "54301f539d66a982c7ab3af63ba27c74d80d0754c54689a6999b771e80dc2458",
    "200_discrim_params.jl_08.npy": "f7879fd5d2b11bd8357d49cf2d19e1af1186697b9b3fe22e18cba002de8e1cc8",
    "200_gen_params.jl_01.npy": "cacd8360e5136c0ceb8e3c017def718a7594981e6a3f34465fa6c2b2973742dd",
    "200_gen_params.jl_02.npy": "6500206f4111fa55268a5e085dfc488c5d2d6fe08e0e02d27f2da8a8df8c7258",
    "200_gen_params.jl_03.npy": "c60cb9debdd10d9342902e738ce24efcaf4e0fa7e2ae627a21ef3c14bd273d1c",
    "200_gen_params.jl_04.npy": "b85a72eb6a59ca992aaf307c6e0121d8a7e4c275ff4a2245bbdda4f4f2b0e73b",
    "200_gen_params.jl_05.npy": "e596406e94bffafc81b9e82f800e534946c649a797b7a3bcebd52a3162c51b66",
    "200_gen_params.jl_06.npy": "57d01373b2486dff0842f3b7d773b1669a5a37f747607489c33bdfbffca0dac9",
    "200_gen_params.jl_07.npy": "d7d990c947cab6d69d5fe58815a2745555d483904dbc3a6b2a4f9cf46e6cc036",
    "200_gen_params.jl_08.npy": "ae4305183f00587b90c93dd029286134fd0641c15dacf27c399b604785234e5a",
    "200_gen_params.jl_09.npy": "9dfe6f3d935db266740e80d0cd6d6a60f6295dbe26758bcebc3bdadf2ed42809",
    "200_gen_params.jl_10.npy": "589c30bc64267424d1eee606de0ca7a00a1435b4b0e590523dd8989399971fdf",
}
FILES = [f for f, _, _ in GEN_FILES + DISC_FILES]
HOW_TO_GET = (f"download the 18 .npy files of {FOLDER}/ from {BASE_URL} (or call "
              "dcgan_lib.reference.download_svhn_dcgan(folder)), then pass that folder as path "
              f"or set ${ENV} to it")


def default_path() -> Path:
    """``$DCGAN_SVHN_WEIGHTS`` if set, else ``<repo>/../shared/reference/newmu-svhn-dcgan``."""
    env = os.environ.get(ENV)
    return Path(env) if env else DEFAULT_PATH


def find_weights(path: str | Path | None = None) -> Path:
    """The folder holding all 18 files, or a ``FileNotFoundError`` saying how to get them."""
    folder = Path(path) if path else default_path()
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        what = "folder does not exist" if not folder.is_dir() else \
            f"{len(missing)} of {len(FILES)} files missing, e.g. {missing[0]}"
        raise FileNotFoundError(f"authors' SVHN DCGAN weights not found in {folder} ({what}). "
                                f"To get them: {HOW_TO_GET}.")
    return folder


def available(path: str | Path | None = None) -> bool:
    """True when :func:`find_weights` would succeed."""
    try:
        find_weights(path)
        return True
    except FileNotFoundError:
        return False


def load_arrays(path: str | Path | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The authors' parameters as float32 arrays (generator list, discriminator list), in their
    order and layout, after checking every shape."""
    folder = find_weights(path)
    out = []
    for files in (GEN_FILES, DISC_FILES):
        arrays = []
        for name, shape, _ in files:
            a = np.load(folder / name, allow_pickle=False)
            if a.shape != shape:
                raise ValueError(f"{folder / name} has shape {a.shape}, expected {shape}; the "
                                 f"file is not the authors' (re-download it: {HOW_TO_GET})")
            arrays.append(a.astype(np.float32))
        out.append(arrays)
    return out[0], out[1]


def _to_torch(a: np.ndarray, target: nn.Module) -> torch.Tensor:
    """Authors' layout -> ours: flip conv kernels (true convolution), transpose matrices."""
    if isinstance(target, (nn.Conv2d, nn.ConvTranspose2d)):
        a = a[:, :, ::-1, ::-1]
    elif isinstance(target, nn.Linear):
        a = a.T
    return torch.from_numpy(np.ascontiguousarray(a))


def _fill(model: nn.Module, files: list, arrays: list[np.ndarray]) -> None:
    modules = dict(model.named_modules())
    params = dict(model.named_parameters())
    targets = [t for _, _, t in files]
    if sorted(targets) != sorted(params):  # every parameter comes from exactly one file
        raise RuntimeError(f"{type(model).__name__} layout does not match the authors' files: "
                           f"ours {sorted(params)}, theirs {sorted(targets)}")
    with torch.no_grad():
        for (name, _, target), a in zip(files, arrays):
            t = _to_torch(a, modules[target.rsplit(".", 1)[0]])
            if t.shape != params[target].shape:
                raise RuntimeError(f"{name} -> {target}: shape {tuple(t.shape)} does not fit "
                                   f"{tuple(params[target].shape)}")
            params[target].copy_(t)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eps = BN_EPS


def load_svhn_dcgan(path: str | Path | None = None) -> tuple[Generator, Discriminator]:
    """The authors' SVHN generator and discriminator as dcgan_lib modules (section 5.2).

    ``G`` maps z ~ N(0, 1)^100 (``G.sample_z``) to 3x32x32 images in [-1, 1]; sample it inside
    ``models.batch_stats(G)``. ``D`` returns the logit of the authors' sigmoid output; its
    batch-norm needs :func:`dcgan_lib.features.reestimate_bn` (or ``batch_stats``) before use.
    Both are returned in eval mode on the CPU.
    """
    g_arrays, d_arrays = load_arrays(path)
    G = Generator(IMAGE_SIZE, NZ, NGF, NC, variant="paper", z_dist=Z_DIST)
    D = Discriminator(IMAGE_SIZE, NDF, NC, variant="paper")
    _fill(G, GEN_FILES, g_arrays)
    _fill(D, DISC_FILES, d_arrays)
    return G.eval(), D.eval()


def sha256(path: str | Path) -> str:
    """SHA-256 of the file at ``path``, as hex (read in 1 MiB pieces)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_svhn_dcgan(dest: str | Path, base_url: str = BASE_URL, timeout: float = 60.0) -> Path:
    """Fetch the 18 ``.npy`` files from the authors' repository (pinned commit) into ``dest``.

    Each file is written to a temporary name, checked against its SHA-256 and only then renamed;
    a file already in ``dest`` with the right hash is kept. A wrong hash raises ``ValueError``
    naming the file and both hashes, and leaves nothing behind. Returns ``dest``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        target = dest / name
        if target.is_file() and sha256(target) == SHA256[name]:
            continue
        url = base_url.rstrip("/") + "/" + name
        tmp = dest / f".{name}.part"
        try:
            try:
                with urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as f:
                    while chunk := resp.read(1 << 20):
                        f.write(chunk)
            except OSError as err:
                raise OSError(f"cannot download {url} ({err}); check the network, or fetch the "
                              f"files by hand: {HOW_TO_GET}") from err
            got = sha256(tmp)
            if got != SHA256[name]:
                raise ValueError(f"{url}: SHA-256 {got} does not match the expected "
                                 f"{SHA256[name]} for {name}; the download is corrupt or not "
                                 f"the authors' file (commit {COMMIT}). Nothing was saved.")
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
    return dest
