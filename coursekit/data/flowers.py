"""Oxford flowers: Flowers-102 through torchvision, Flowers-17 from its official archive.

Both are decoded once into (N, 3, size, size) uint8 tensors (resize the short side, center
crop) and cached. Flowers-17's 17flowers.tgz is read in place, never extracted, so a
read-only data folder works.
"""
from __future__ import annotations

import re
import tarfile
from functools import partial
from io import BytesIO
from pathlib import Path

import torch
import torchvision
from PIL import Image
from tqdm.auto import tqdm

from .. import runtime
from ..checks import DataError, check_count
from ..images import open_rgb, square_uint8
from ..download import download_file, missing, torchvision_download, writable_folder
from .imageset import ImageSet, cached, fingerprint

FLOWERS17_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz"
FLOWERS17_CLASSES = ["daffodil", "snowdrop", "lily of the valley", "bluebell", "crocus", "iris",
                     "tigerlily", "tulip", "fritillary", "sunflower", "daisy", "colts' foot",
                     "dandelion", "cowslip", "buttercup", "windflower", "pansy"]  # 80 images each


def load_flowers102(split: str = "train", size: int = 64, root: str | Path | None = None,
                    download: bool = True) -> ImageSet:
    """Oxford Flowers-102 through torchvision -> (N, 3, size, size) uint8, labels 0..101.

    `split` is "train", "val", "test", or several joined with "+", e.g. "train+val".
    """
    _check_split(split)
    size = check_count(size, "size")
    root = runtime.data_root(root)
    folder = root / "flowers-102"

    def open_split(s: str, get: bool) -> torchvision.datasets.Flowers102:  # items: (3, size, size) uint8, label
        return torchvision.datasets.Flowers102(root, split=s, transform=partial(square_uint8, size=size), download=get)

    def open_or_download(s: str) -> torchvision.datasets.Flowers102:
        if download:
            try:  # already there (torchvision checks the .mat files' MD5s): no write access needed
                return open_split(s, False)
            except RuntimeError:
                pass  # not there yet: download it below
        return torchvision_download(lambda: open_split(s, download), "Flowers-102", root, folder, download)

    datasets = [open_or_download(s) for s in split.split("+")]

    def build() -> ImageSet:
        images, labels = [], []
        for ds in datasets:
            for i in tqdm(range(len(ds)), desc="decoding flowers", leave=False):
                try:
                    x, y = ds[i]
                except (OSError, Image.DecompressionBombError) as err:  # a missing or truncated JPEG: name it
                    raise DataError(f"Flowers-102 image {i} of split {split!r}: {err}") from err
                images.append(x)
                labels.append(y)
        return ImageSet(torch.stack(images), torch.tensor(labels), [str(i) for i in range(102)],
                        f"Flowers-102 {split} {size}px")

    key = f"flowers102-{split}-{size}-{fingerprint(folder / 'setid.mat', folder / 'jpg')}"
    return cached(key, build)


FLOWERS102_SPLITS = ("train", "val", "test")


def _check_split(split) -> None:
    parts = split.split("+") if isinstance(split, str) else None
    if not parts or any(p not in FLOWERS102_SPLITS for p in parts) or len(set(parts)) != len(parts):
        raise ValueError(f"split must be 'train', 'val' or 'test', or several of them joined with '+' "
                         f"(e.g. 'train+val'), got {split!r}")


def _check_tgz(path: Path) -> None:
    """Raise DataError unless `path` opens as a gzipped tar archive."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.next()
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"not a .tgz archive ({err})") from err


def load_flowers17(size: int = 64, root: str | Path | None = None, download: bool = True) -> ImageSet:
    """Oxford Flowers-17 (1,360 images, 17 classes of 80) from its official 17flowers.tgz.

    The archive is read in place (no extraction), so a read-only data folder works.
    """
    size = check_count(size, "size")
    root = runtime.data_root(root)
    archive = root / "flowers-17" / "17flowers.tgz"
    if not archive.exists():
        if not download:
            missing("Flowers-17", root, f"{archive} (from {FLOWERS17_URL})")
        with writable_folder(archive.parent, "Flowers-17", f"{FLOWERS17_URL}"):
            download_file(FLOWERS17_URL, archive, check=_check_tgz, what="the Flowers-17 archive")

    def build() -> ImageSet:
        images, labels = [], []
        pattern = re.compile(r"(?:^|/)jpg/image_(\d{4})\.jpg$")
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tqdm(tar, desc="decoding flowers-17", leave=False):
                    match = pattern.search(member.name)
                    if match and member.isfile():
                        img = open_rgb(BytesIO(tar.extractfile(member).read()), f"{archive}: {member.name}")
                        images.append(square_uint8(img, size))
                        labels.append((int(match.group(1)) - 1) // 80)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise DataError(f"{archive} is truncated or corrupt ({err}). Delete it and download it again.") from err
        if not images:
            raise DataError(f"{archive} holds no jpg/image_NNNN.jpg files: is it the Flowers-17 archive?")
        return ImageSet(torch.stack(images), torch.tensor(labels), FLOWERS17_CLASSES, f"Flowers-17 {size}px")

    return cached(f"flowers17-{size}-{fingerprint(archive)}", build)
