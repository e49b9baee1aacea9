import gzip
import struct
from pathlib import Path

import numpy as np
import pytest


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    """Write ``array`` (uint8) in the IDX format of (Fashion-)MNIST."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                      *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


@pytest.fixture
def idx_folder(tmp_path):
    """A Debian-style folder of Fashion-MNIST .gz files with 40 train and 20 test images."""
    src = tmp_path / "debian-fashion-mnist"
    src.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 20)):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(src / f"{split}-images-idx3-ubyte.gz", imgs, True)
        write_idx(src / f"{split}-labels-idx1-ubyte.gz", labels, True)
    return src
