"""Decode single image files robustly: any mode to RGB, EXIF rotation, resize and crop.

Used by `coursekit.data` for folders and data sets, and by style transfer for content and
style images (from a path or a URL). URLs are downloaded once into the cache by
`coursekit.download`, which keeps a file only after it decoded here.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.transforms.v2 import functional as TF

from . import runtime
from .checks import DataError, check_count, check_file
from .download import download_file

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB. Transparent pixels become white; EXIF orientation is applied."""
    _check_pil(img)
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I"):  # 16/32-bit grayscale: scale down to 8 bits
        img = img.point(lambda v: v / 256).convert("L")
    return img.convert("RGB")


def open_rgb(path: str | os.PathLike | io.BytesIO, name: str | None = None) -> Image.Image:
    """Open an image file (a path, or file contents in a BytesIO) as RGB, or raise DataError naming it.

    The message names the file (`name`, else the path) and says why, never with Python's
    description of a file object in it (an upload is decoded from memory).
    """
    if not isinstance(path, io.IOBase):
        path = readable_file(path, "path")
    name = name or str(path)
    try:
        with Image.open(path) as img:
            img.load()  # decode now, so a truncated file fails here, not later
            return to_rgb(img)
    except Image.DecompressionBombError as err:  # a header claiming e.g. 20000 x 20000 px
        raise DataError(f"{name}: too large to open safely ({_reason(err)}). Resize it first, or raise "
                        "PIL.Image.MAX_IMAGE_PIXELS if you trust the file.") from err
    except UnidentifiedImageError as err:  # Pillow's text names the BytesIO object: say it in words instead
        raise DataError(f"{name}: not a readable image (Pillow recognises no image format in it: a text file, "
                        "a web page or another file renamed? Pass a JPEG, PNG, BMP, GIF, TIFF or WebP file)") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{name}: not a readable image ({_reason(err)})") from err


def _reason(err: Exception) -> str:
    """An exception's text without Python's description of a file object (`<_io.BytesIO object at 0x...>`)."""
    return re.sub(r"<[\w.]+ object at 0x[0-9a-fA-F]+>", "the file", str(err)) or type(err).__name__


def readable_file(path, name: str = "path") -> Path:
    """`checks.check_file`, raising DataError (with its message) for a missing, dangling or unreadable file."""
    try:
        return check_file(path, name)
    except OSError as err:
        raise DataError(str(err)) from err


def _check_pil(img) -> None:
    if not isinstance(img, Image.Image):
        raise TypeError(f"img must be a PIL image (e.g. PIL.Image.open(path)), got {type(img).__name__}")


def decode_bytes(data: bytes, name: str = "uploaded file") -> torch.Tensor:
    """Image file contents (e.g. from an upload widget) -> (1, 3, H, W) float in [0, 1]."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be the file's contents as bytes, got {type(data).__name__}")
    if not len(data):
        raise DataError(f"{name}: the file is empty (0 bytes)")
    return TF.pil_to_tensor(open_rgb(io.BytesIO(data), name)).unsqueeze(0).float() / 255


def square_uint8(img: Image.Image, size: int) -> torch.Tensor:
    """Resize the short side to `size` and center-crop: PIL image -> (3, size, size) uint8."""
    size = check_count(size, "size")
    _check_pil(img)
    x = TF.pil_to_tensor(img)
    x = TF.resize(x, size, antialias=True)
    return TF.center_crop(x, [size, size])


def fit_uint8(img: Image.Image, max_side: int) -> torch.Tensor:
    """Resize so the longer side is `max_side` keeping aspect: -> (3, H, W) uint8."""
    max_side = check_count(max_side, "max_side")
    _check_pil(img)
    x = TF.pil_to_tensor(img)
    h, w = x.shape[-2:]
    scale = max_side / max(h, w)
    return TF.resize(x, [max(1, round(h * scale)), max(1, round(w * scale))], antialias=True)


def fetch(url: str) -> Path:
    """Download the image at `url` once into the cache and return the local path.

    The file is kept only if it decodes as an image; otherwise (an HTML page, a cut
    connection, no answer within `coursekit.download.TIMEOUT_S`, a download still unfinished
    after `coursekit.download.DEADLINE_S`) DataError names the URL.
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// or https:// address, got {url!r}")
    name = hashlib.sha1(url.encode()).hexdigest()[:12] + "_" + Path(url.split("?")[0]).name
    return download_file(url, runtime.cache_dir("downloads") / name, check=open_rgb, what="an image")


def load_image(source: str | os.PathLike, max_side: int | None = None) -> torch.Tensor:
    """Load one image from a path or http(s) URL -> (1, 3, H, W) float in [0, 1].

    With `max_side`, the longer side is resized to it, keeping the aspect ratio. A missing file,
    a folder, a dangling link or a file that is no image raises DataError naming it.
    """
    if max_side is not None:
        max_side = check_count(max_side, "max_side")
    if isinstance(source, bool) or not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or an http(s) URL, got {type(source).__name__}")
    source = str(source)
    if source.startswith(("http://", "https://")):
        path = fetch(source)
        try:
            img = open_rgb(path)
        except DataError:  # a broken file cached by an older coursekit: download it once more
            path.unlink()
            img = open_rgb(fetch(source))
    else:
        img = open_rgb(readable_file(source, "source"))
    x = fit_uint8(img, max_side) if max_side is not None else TF.pil_to_tensor(img)
    return x.unsqueeze(0).float() / 255
