"""Catalogue entries for the core: checks, storage, batches, engine, train, callbacks, toy, diffusion,
runtime and the GAN / U-Net networks. See tests/catalogue/__init__.py for the rule."""
from __future__ import annotations

import torch

from catalogue import Entry

ENTRIES: dict[str, Entry] = {
    # ------------------------------------------------------------ checks
    "coursekit.checks.check_count": Entry(lambda f: {"value": 3, "name": "steps"}, kinds={"value": "count"},
                                          names={"value": ("steps",)}),
    "coursekit.checks.check_images": Entry(lambda f: {"x": f.digits, "name": "images", "finite": True},
                                           names={"x": ("images",)},
                                           ok={"x": {"range_0_255": "shape only", "dtype_int32": "no dtype asked",
                                                     "extra_channel": "no channels asked", "one_pixel": "min_size 1"}}),
}
