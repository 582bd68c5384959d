"""Your own images: every picture under a folder -> one ImageSet, subfolders as classes.

Files that cannot be read (not an image, truncated, larger than Pillow's safety limit) are
skipped, named in one warning and kept in `ImageSet.skipped`; the rest load.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..checks import DataError
from ..images import IMAGE_SUFFIXES, open_rgb, square_uint8
from .imageset import ImageSet


def load_image_folder(folder: str | Path, size: int = 64, grayscale: bool = False) -> ImageSet:
    """Every image under `folder` -> (N, 3 or 1, size, size) uint8, resized and center-cropped.

    Subfolder names become classes (like torchvision's ImageFolder). Files that cannot be read
    are skipped and listed in a warning and in `.skipped`; the rest load.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    classes = sorted({str(f.parent.relative_to(folder)) for f in files})
    images, labels, skipped = [], [], []
    for f in tqdm(files, desc=f"reading {folder.name}", leave=False):
        try:
            img = open_rgb(f)
        except DataError as err:
            skipped.append(str(err))
            continue
        images.append(square_uint8(img.convert("L") if grayscale else img, size))
        labels.append(classes.index(str(f.parent.relative_to(folder))))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} of {len(files)} files in {folder}:\n  " + "\n  ".join(skipped))
    if not images:
        raise DataError(f"none of the {len(files)} image files in {folder} could be read")
    return ImageSet(torch.stack(images), torch.tensor(labels), classes, folder.name, skipped)
