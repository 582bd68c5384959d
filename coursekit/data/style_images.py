"""The course's style and content images, by name, from the data folder or downloaded once.

`STYLE_IMAGES` maps each name to an address pinned to a commit or release tag, so the bytes
never change under the course; `download.CHECKSUMS` holds their digests where published.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import runtime
from ..checks import DataError, check_count, check_folder
from ..images import load_image

_JJ = "https://raw.githubusercontent.com/jcjohnson/neural-style/07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs"
_JM = "https://raw.githubusercontent.com/jarmalmichal/Neural-Style-Transfer"
STYLE_IMAGES = {  # name -> where to download it when the data folder does not have style/<name>
    "starry_night.jpg": f"{_JJ}/starry_night.jpg",
    "the_scream.jpg": f"{_JJ}/the_scream.jpg",
    "shipwreck_of_the_minotaur.jpg": f"{_JJ}/shipwreck.jpg",
    "great_wave_off_kanagawa.jpg": f"{_JM}/a87ddb4b3b3fcf6f97fdeebd56fd4b7b8c692cdb/images/style/wave.jpg",
    "kandinsky_composition_vii.jpg": f"{_JM}/29e2b0fcc501af1adfc63ea696dca7a6eef95091/images/style/composition.jpg",
    "chelsea.png": "https://raw.githubusercontent.com/scikit-image/scikit-image/v0.26.0/skimage/data/chelsea.png",
    "grace_hopper.jpg": "https://raw.githubusercontent.com/matplotlib/matplotlib/v3.11.2/lib/matplotlib/"
                        "mpl-data/sample_data/grace_hopper.jpg",
}


def style_image(name: str, max_side: int | None = None, root: str | Path | None = None) -> torch.Tensor:
    """A course image by name (see STYLE_IMAGES) -> (1, 3, H, W) float in [0, 1].

    Read from <data root>/style/<name> when there, else downloaded once into the cache. An
    explicit `root` must be an existing folder (a misspelt one is an error, not a download).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a course image name (str), one of {sorted(STYLE_IMAGES)}, got {name!r}")
    if max_side is not None:
        max_side = check_count(max_side, "max_side")
    if root is not None:
        try:
            check_folder(root, "root")
        except OSError as err:
            raise DataError(f"{err}. Pass the data folder that holds style/{name}, or leave root out.") from err
    local = runtime.data_root(root) / "style" / name
    if local.exists():
        return load_image(local, max_side)
    if name not in STYLE_IMAGES:
        raise DataError(f"unknown course image {name!r}: choose one of {sorted(STYLE_IMAGES)}, "
                        "or load your own with coursekit.images.load_image(path_or_url)")
    return load_image(STYLE_IMAGES[name], max_side)
