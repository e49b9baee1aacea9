"""Sampling, discriminator-feature and de-duplication throughput: images/s and peak memory of
``metrics.generate`` (drawing samples, paper section 4), ``features.discriminator_features``
(the classifier features of section 5.1) and the ``dedup`` key functions (the autoencoder
hashing of section 4.1.1, against exact and perceptual hashes).
"""
from __future__ import annotations

import torch

from benchmarks.common import TRAIN_CONFIGS, peak_memory, timed
from dcgan_lib import data as data_mod
from dcgan_lib.models import Discriminator, Generator


def bench_sampling(args, device: torch.device) -> list[dict]:
    """Images/s and peak MiB of drawing ``args.n_sample`` samples from an untrained generator
    (``metrics.generate``, batches of up to 500), per image size of :data:`TRAIN_CONFIGS`."""
    from dcgan_lib.metrics import generate
    rows = []
    for name, size, nc in TRAIN_CONFIGS:
        G = Generator(size, 100, args.width, nc).to(device)
        n = args.n_sample
        fn = lambda: generate(G, n, batch_size=min(500, n))  # noqa: E731
        sec = timed(fn, args.repeats, 1, device)
        with peak_memory(device) as m:
            fn()
        rows.append({"workload": f"sampling {name} (metrics.generate)", "images": n,
                     "img/s": n / sec, "peak MiB": m["mib"]})
    return rows


def bench_features(args, device: torch.device) -> list[dict]:
    """Images/s and peak MiB of ``features.discriminator_features`` (section 5.1's pooled
    D activations) over ``args.n_sample`` synthetic images, per image size."""
    try:
        from dcgan_lib.features import discriminator_features
    except ImportError as err:
        print(f"\nskipped discriminator features: dcgan_lib.features.discriminator_features "
              f"is not available ({err})")
        return []
    rows = []
    for name, size, nc in TRAIN_CONFIGS:
        D = Discriminator(size, args.width, nc).to(device)
        n = args.n_sample
        x = data_mod.SyntheticShapes(n, size, nc).images
        fn = lambda: discriminator_features(D, x, batch_size=256, verbose=False)  # noqa: E731
        sec = timed(fn, args.repeats, 1, device)
        with peak_memory(device) as m:
            fn()
        rows.append({"workload": f"D features {name} (features.discriminator_features)",
                     "images": n, "img/s": n / sec, "peak MiB": m["mib"]})
    return rows


def bench_dedup(args) -> list[dict]:
    """Images/s and peak MiB of hashing ``args.n_dedup`` 32x32 colour images into a hash table
    on the CPU (``dedup.hash_stream``): the autoencoder codes of section 4.1.1, and as
    baselines SHA-1 of the bytes and imagehash's perceptual hash (when installed)."""
    try:
        from dcgan_lib import dedup
    except ImportError as err:
        print(f"\nskipped de-duplication hashing: dcgan_lib.dedup is not available ({err})")
        return []
    cpu = torch.device("cpu")
    n = args.n_dedup
    x = data_mod.to_uint8(data_mod.SyntheticShapes(n, 32, 3).images)
    ae = dedup.DedupAutoencoder().eval()
    keyers = {"dedup autoencoder codes + hash table (paper 4.1.1)": ae.keys,
              "dedup exact SHA-1 of bytes (baseline)": dedup.exact_keys}
    try:
        import imagehash  # noqa: F401
        keyers["dedup perceptual hash, imagehash (baseline)"] = dedup.phash_keys
    except ImportError:
        print("\nskipped perceptual-hash baseline: imagehash is not installed")
    rows = []
    for label, key_fn in keyers.items():
        def fn(key_fn=key_fn):
            return dedup.hash_stream(dedup.uint8_batches(x, 1024), key_fn, verbose=False)
        sec = timed(fn, args.repeats, 1, cpu)
        with peak_memory(cpu) as m:
            fn()
        rows.append({"workload": label + " [cpu]", "images": n, "img/s": n / sec,
                     "peak MiB": m["mib"]})
    return rows
