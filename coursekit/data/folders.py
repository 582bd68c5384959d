"""Your own images: every picture under a folder -> one ImageSet, subfolders as classes.

Entries named like images that cannot be read are skipped, each named with its reason in one
warning and in `ImageSet.skipped`; the rest load. That covers files (not an image, truncated,
larger than Pillow's safety limit, not readable) and what only looks like a file: a link to
nothing (dangling, or a loop) and a folder named `x.jpg`. When nothing usable is left, a
DataError lists them all instead.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..checks import DataError, check_count, check_folder
from ..images import IMAGE_SUFFIXES, open_rgb, square_uint8
from .imageset import ImageSet


def load_image_folder(folder: str | Path, size: int = 64, grayscale: bool = False) -> ImageSet:
    """Every image under `folder` -> (N, 3 or 1, size, size) uint8, resized and center-cropped.

    Subfolder names become classes (like torchvision's ImageFolder). Entries named like images
    that cannot be read (see the module's docstring) are skipped and listed in a warning and in
    `.skipped`; the rest load. DataError if no image can be read, listing what was skipped.
    """
    size = check_count(size, "size")
    if not isinstance(grayscale, bool):
        raise TypeError(f"grayscale must be True or False, got {grayscale!r}")
    try:
        folder = check_folder(folder, "folder")
    except OSError as err:
        raise DataError(str(err)) from err
    named = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    files = [p for p in named if p.is_file()]
    skipped = [f"{p}: {_not_a_file(p)}" for p in named if not p.is_file()]
    if not files:
        listed = "".join(f"\n  {s}" for s in skipped)
        raise DataError(f"{folder} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})"
                        + (f"; skipped {len(skipped)} entries named like images:{listed}" if skipped else ""))
    classes = sorted({str(f.parent.relative_to(folder)) for f in files})
    images, labels = [], []
    for f in tqdm(files, desc=f"reading {folder.name}", leave=False):
        try:
            img = open_rgb(f)
        except DataError as err:
            skipped.append(str(err))
            continue
        images.append(square_uint8(img.convert("L") if grayscale else img, size))
        labels.append(classes.index(str(f.parent.relative_to(folder))))
    if not images:
        raise DataError(f"none of the {len(named)} entries named like images in {folder} could be read:\n  "
                        + "\n  ".join(skipped))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} of {len(named)} files in {folder}:\n  " + "\n  ".join(skipped))
    return ImageSet(torch.stack(images), torch.tensor(labels), classes, folder.name, skipped)


def _not_a_file(path: Path) -> str:
    """Why an entry named like an image is not a file to read."""
    if path.is_symlink() and not path.exists():
        return "a symbolic link to nothing (a dangling link, or a link loop)"
    if path.is_dir():
        return "a folder, not an image file (its images, if any, are read as a class)"
    return "not a regular file (a device, pipe or socket)"
