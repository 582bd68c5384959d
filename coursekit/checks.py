"""Input checks that turn a confusing traceback into one sentence saying what was expected."""
from __future__ import annotations

import torch


class DataError(RuntimeError):
    """Data is missing, truncated or unreadable. The message says which file and what to do."""


def check_images(x: torch.Tensor, name: str = "images", *, channels: int | None = None,
                 size: int | tuple[int, int] | None = None, dtype: torch.dtype | None = None) -> None:
    """Raise ValueError unless `x` is a batch of images shaped (N, C, H, W).

    `channels`, `size` (an int for square H = W, or (H, W)) and `dtype` are checked when given.
    """
    expected = _describe(channels, size)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor shaped {expected}, got {type(x).__name__}")
    if x.dim() != 4:
        hint = " (a single image? add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}{hint}")
    n, c, h, w = x.shape
    if channels is not None and c != channels:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)} ({c} channels)")
    if size is not None:
        want = (size, size) if isinstance(size, int) else tuple(size)
        if (h, w) != want:
            raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype}, got {x.dtype}")


def _describe(channels: int | None, size: int | tuple[int, int] | None) -> str:
    c = str(channels) if channels is not None else "C"
    if size is None:
        h, w = "H", "W"
    else:
        h, w = (size, size) if isinstance(size, int) else size
    return f"(N, {c}, {h}, {w})"
