"""Input checks that turn a confusing traceback into one sentence saying what was expected.

Every public function of coursekit checks its arguments with these before it computes, so a bad
value fails at once with a message that names the argument, says what was wrong and what to
pass instead (never a raw torch error deep inside, a NaN result, or a silently "repaired" input):

    steps = check_count(steps, "steps")                 # a whole number >= 1
    lr = check_positive(lr, "lr")                       # a finite number > 0
    p = check_number(p, "p_uncond", low=0, high=1)      # a finite number in [0, 1]
    check_choice(g_loss, "g_loss", ("non_saturating", "saturating"))
    check_images(x, "images", channels=1, size=28, finite=True)  # (N, 1, 28, 28), N >= 1, no NaN
    x = to_signed_unit(x, "images")                     # uint8 [0, 255] or float [-1, 1] -> float [-1, 1]

tests/test_api_catalogue.py throws one catalogue of bad values at every public function.
"""
from __future__ import annotations

import math
import numbers
import os
import warnings
from pathlib import Path

import torch


class DataError(RuntimeError):
    """Data is missing, truncated or unreadable. The message says which file and what to do."""


# ---------------------------------------------------------------- numbers
def check_count(value, name: str, *, minimum: int = 1) -> int:
    """`value` as an int >= minimum (a whole float such as 1e4 is taken as 10000);
    ValueError for bools, fractions such as 2.5, NaN, strings."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_number(value, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, optional: bool = False) -> float | None:
    """`value` as a finite float in [low, high] (an open end with low_open / high_open); None passes if `optional`.

    ValueError for bools, strings, NaN, infinities and values out of range.
    """
    if value is None and optional:
        return None
    wanted = _describe_range(low, high, low_open, high_open) + (" or None" if optional else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def check_positive(value, name: str, *, optional: bool = False) -> float | None:
    """`value` as a finite float > 0 (learning rates, scales, time limits); None passes if `optional`."""
    return check_number(value, name, low=0, low_open=True, optional=optional)


def check_seed(value, name: str = "seed") -> int:
    """A seed for torch.Generator.manual_seed: a whole number (negative ones are fine)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    return int(value)


def check_choice(value, name: str, choices) -> str:
    """`value` if it is one of `choices`, else a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def _describe_range(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return "a finite number"
    if high is None:
        return f"a finite number {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"a finite number {'<' if high_open else '<='} {high:g}"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


# ---------------------------------------------------------------- tensors
def check_tensor(x, name: str, *, dims: int | None = None, dtype: torch.dtype | None = None,
                 floating: bool = False, allow_empty: bool = False) -> torch.Tensor:
    """A tensor with `dims` dimensions (when given), of `dtype` or any float dtype (`floating`),
    not empty (unless `allow_empty`) and, for floats, without NaN or infinite values."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if dims is not None and x.dim() != dims:
        raise ValueError(f"{name} must have {dims} dimensions, got shape {tuple(x.shape)}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype}, got {x.dtype}")
    if floating and not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got dtype {x.dtype}")
    if not allow_empty and x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): nothing to work on")
    check_finite(x, name)
    return x


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ValueError if a float tensor holds NaN or infinite values (one host sync)."""
    if x.is_floating_point() and x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values (a diverged model, or a division by zero upstream?)")
    return x


def check_images(x, name: str = "images", *, channels: int | tuple[int, ...] | None = None,
                 size: int | tuple[int, int] | None = None, dtype: torch.dtype | None = None,
                 min_size: int = 1, allow_empty: bool = False, finite: bool = False,
                 floating: bool = False) -> torch.Tensor:
    """Raise unless `x` is a batch of images shaped (N, C, H, W) with N >= 1.

    `channels` (one number or the allowed ones), `size` (an int for square H = W, or (H, W)),
    `dtype` and `min_size` (smallest H and W) are checked when given; `floating`: any float dtype
    (what a network's layers take); `finite`: no NaN or infinite
    value (a host sync, so model forwards, called every training step, leave it off).
    """
    expected = _describe(channels, size)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor shaped {expected}, got {type(x).__name__}")
    if x.dim() != 4:
        hint = " (a single image? add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}{hint}")
    n, c, h, w = x.shape
    allowed = (channels,) if isinstance(channels, int) else channels
    if allowed is not None and c not in allowed:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)} ({c} channels)")
    if size is not None:
        want = (size, size) if isinstance(size, int) else tuple(size)
        if (h, w) != want:
            raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")
    if min(h, w) < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size} pixels, got {h}x{w}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype}, got {x.dtype}")
    if floating and not x.is_floating_point():
        raise ValueError(f"{name} must be float images (uint8 0-255 pixels: x / 127.5 - 1), got dtype {x.dtype}")
    if n == 0 and not allow_empty:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}): nothing to work on")
    return check_finite(x, name) if finite else x


def to_signed_unit(x: torch.Tensor, name: str = "images", *, value_range: tuple[float, float] | None = None,
                   tolerance: float = 0.01) -> torch.Tensor:
    """Images as float in [-1, 1], the course's convention: uint8 [0, 255] is scaled; float must lie in
    `value_range` (default (-1, 1)), which is mapped to [-1, 1].

    A float batch outside its range (beyond `tolerance` of its width) is refused, never clipped.
    Without an explicit `value_range`, a float batch with nothing clearly negative (its minimum
    within `tolerance` of 0) is scored as [-1, 1] with a warning, since [0, 1] images look like
    that too: pass value_range=(0, 1) if they are.
    """
    if x.dtype == torch.uint8:
        return x.float().div(127.5).sub(1)
    if not x.is_floating_point():
        raise ValueError(f"{name} must be uint8 in [0, 255] or float in [-1, 1], got dtype {x.dtype}")
    check_finite(x, name)
    if value_range is None:
        low, high = -1.0, 1.0
    else:
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(f"value_range must be (low, high), e.g. (0, 1), got {value_range!r}")
        low, high = (check_number(v, "value_range") for v in value_range)
        if not low < high:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    if x.numel() == 0:
        return x.float()
    seen_low, seen_high = x.min().item(), x.max().item()
    slack = tolerance * (high - low)
    if seen_low < low - slack or seen_high > high + slack:
        hint = (" (0-255 pixels? pass uint8, or x / 127.5 - 1)" if seen_high > 2 else
                " (images in another range? say which with value_range=(low, high))")
        raise ValueError(f"{name} must be float in [{low:g}, {high:g}], got values in "
                         f"[{seen_low:.3g}, {seen_high:.3g}]{hint}")
    if value_range is None and seen_low > -slack and seen_high > 0:
        warnings.warn(f"{name} has no value below {seen_low:.3g}: scored as [-1, 1] images (very bright ones); "
                      "if they are [0, 1] images, pass value_range=(0, 1)", stacklevel=3)
    x = x.float()
    return x if (low, high) == (-1.0, 1.0) else (x - low) * (2 / (high - low)) - 1


def check_z(z, z_dim: int, name: str = "z") -> torch.Tensor:
    """Noise vectors for a generator: a float tensor (B, z_dim), B >= 1 (no host sync)."""
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor shaped (B, {z_dim}), got {type(z).__name__}")
    if z.dim() != 2 or z.shape[1] != z_dim or len(z) == 0 or not z.is_floating_point():
        raise ValueError(f"{name} must be a float tensor shaped (B, {z_dim}) with B >= 1 (e.g. torch.randn(16, {z_dim})), "
                         f"got {z.dtype} {tuple(z.shape)}")
    return z


def check_widths(values, name: str) -> tuple[int, ...]:
    """A non-empty sequence of layer widths, each a whole number >= 1."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a tuple of whole numbers >= 1, got {values!r}")
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must name at least one width, got an empty tuple")
    return tuple(check_count(v, name) for v in values)


def check_device(device, name: str = "device") -> torch.device:
    """A torch.device from "cpu", "cuda", "cuda:0", "mps" or a torch.device."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise ValueError(f"{name} must be a device name such as 'cpu' or 'cuda', or a torch.device, got {device!r}")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"{name} must be a device name such as 'cpu', 'cuda' or 'mps', got {device!r}") from None


def check_labels(labels, name: str, *, n: int, classes: int) -> torch.Tensor:
    """Integer class labels (n,) in 0..classes-1."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(labels).__name__}")
    if labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise ValueError(f"{name} must hold whole class indices (e.g. torch.long), got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per image, got {tuple(labels.shape)}")
    if n and not (0 <= int(labels.min()) and int(labels.max()) < classes):
        raise ValueError(f"{name} must be class indices in 0..{classes - 1}, got values in "
                         f"{int(labels.min())}..{int(labels.max())}")
    return labels


def _describe(channels, size) -> str:
    if channels is None:
        c = "C"
    elif isinstance(channels, int):
        c = str(channels)
    else:
        c = " or ".join(str(k) for k in channels)
    if size is None:
        h, w = "H", "W"
    else:
        h, w = (size, size) if isinstance(size, int) else size
    return f"(N, {c}, {h}, {w})"


# ---------------------------------------------------------------- files and folders
def check_file(path, name: str = "path") -> Path:
    """An existing, readable regular file (symlinks followed); FileNotFoundError / IsADirectoryError otherwise."""
    path = _as_path(path, name)
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(f"{name}: {path} is a symbolic link to nothing (a dangling link, or a link loop)")
    if not path.exists():
        raise FileNotFoundError(f"{name}: {path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{name}: {path} is a folder, not a file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{name}: {path} cannot be read (permission denied)")
    return path


def check_folder(path, name: str = "folder", *, writable: bool = False) -> Path:
    """An existing folder (readable, and writable if asked); clear errors otherwise."""
    path = _as_path(path, name)
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(f"{name}: {path} is a symbolic link to nothing (a dangling link, or a link loop)")
    if not path.exists():
        raise FileNotFoundError(f"{name}: the folder {path} does not exist")
    if not path.is_dir():
        raise NotADirectoryError(f"{name}: {path} is a file, not a folder")
    if writable and not os.access(path, os.W_OK):
        raise PermissionError(f"{name}: the folder {path} is read-only; pass a writable folder")
    return path


def _as_path(path, name: str) -> Path:
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or pathlib.Path), got {type(path).__name__}")
    if str(path) == "":
        raise ValueError(f"{name} is an empty path")
    return Path(path).expanduser()
