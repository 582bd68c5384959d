"""MNIST: read the IDX files (plain or .gz) with clear errors, and stage them for torchvision.

The IDX format is a big-endian header (magic, then one int32 per dimension) followed by the
raw uint8 values. Reading it here, instead of through torchvision, lets the shared data keep
its files gzipped and read-only, and names the file and the missing bytes when one is cut short.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
import torchvision

from .. import runtime
from ..checks import DataError
from ..download import missing, torchvision_download
from ..images import readable_file
from .imageset import ImageSet, cached, fingerprint

MNIST_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _read_bytes(path: Path) -> bytes:
    """The bytes of a file, gunzipped if it ends in .gz; DataError naming the file if that fails."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            return f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}). Delete it and download it again.") from err


def read_idx(path: Path, raw: bytes | None = None) -> np.ndarray:
    """Read an IDX file (the MNIST format, optionally .gz) -> uint8 array; clear error if corrupt.

    raw: the file's bytes (gunzipped) if already read; `path` then only names it in errors.
    """
    if raw is None:
        raw = _read_bytes(readable_file(path, "path"))
    elif not isinstance(raw, (bytes, bytearray)):
        raise TypeError(f"raw must be the file's bytes or None, got {type(raw).__name__}")
    if len(raw) < 8 or raw[0:2] != b"\0\0" or raw[2] != 0x08:
        raise DataError(f"{path} is not an MNIST IDX file of uint8 (bad header). Delete it and download it again.")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{path} is truncated or corrupt: shape {dims} needs {expected:,} bytes, "
                        f"the file has {len(raw):,}. Delete it and download it again.")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find_mnist_files(root: Path, train: bool) -> tuple[Path, Path] | None:
    """Look in torchvision's layout (root/MNIST/raw) and the shared one (root/mnist/raw)."""
    for folder in (root / "MNIST" / "raw", root / "mnist" / "raw"):
        found = []
        for stem in MNIST_FILES[train]:
            candidates = [folder / stem, folder / f"{stem}.gz"]
            found.append(next((c for c in candidates if c.exists()), None))
        if all(found):
            return found[0], found[1]
    return None


def load_mnist(train: bool = True, root: str | Path | None = None, download: bool = True) -> ImageSet:
    """MNIST digits -> ImageSet with images (N, 1, 28, 28) uint8 and labels 0..9.

    Reads root/MNIST/raw (torchvision's layout) or root/mnist/raw; if neither has the files
    and `download` is true, torchvision.datasets.MNIST downloads them into root/MNIST/raw
    (checking their MD5s).
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be True (60,000 training digits) or False (10,000 test digits), got {train!r}")
    root = runtime.data_root(root)
    files = _find_mnist_files(root, train)
    if files is None:
        if not download:
            raise DataError(f"MNIST not found under {root} (looked in MNIST/raw and mnist/raw). "
                            "Call with download=True, or set COURSEKIT_DATA to a folder that has it.")
        torchvision_download(lambda: torchvision.datasets.MNIST(root, train=train, download=True),
                             "MNIST", root, root / "MNIST" / "raw")
        files = _find_mnist_files(root, train) or missing("MNIST", root, f"{root / 'MNIST' / 'raw'}")
    split = "train" if train else "test"

    def build() -> ImageSet:
        images, labels = read_idx(files[0]), read_idx(files[1])
        if len(images) != len(labels):
            raise DataError(f"{files[0]} has {len(images)} images but {files[1]} has {len(labels)} labels")
        return ImageSet(torch.from_numpy(images.copy()).unsqueeze(1),
                        torch.from_numpy(labels.astype(np.int64)),
                        [str(d) for d in range(10)], f"MNIST {split}")

    return cached(f"mnist-{split}-{fingerprint(*files)}", build)


def stage_mnist_for_torchvision(root: str | Path | None = None) -> Path:
    """A folder that `torchvision.datasets.MNIST(folder, download=False)` can read.

    torchvision wants the four files uncompressed in folder/MNIST/raw. If the data root holds
    them gzipped (as ../shared/data does, read-only), they are unpacked once into the cache.
    """
    root = runtime.data_root(root)
    if all((root / "MNIST" / "raw" / stem).exists() for pair in MNIST_FILES.values() for stem in pair):
        return root
    staged = runtime.cache_dir("staged")
    for train in (True, False):
        files = _find_mnist_files(root, train) or missing("MNIST", root)
        for src, stem in zip(files, MNIST_FILES[train]):
            dst = staged / "MNIST" / "raw" / stem
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                raw = _read_bytes(src)
                read_idx(src, raw)  # validate before staging
                tmp = dst.with_name(dst.name + ".tmp")
                tmp.write_bytes(raw)
                tmp.replace(dst)
    return staged
