"""Data sets as one uint8 tensor: MNIST, Oxford Flowers-102 and -17, and your own image folders.

Every loader returns an `ImageSet` whose `images` is one (N, C, H, W) uint8 tensor. Decoding
happens once; the result is cached in `runtime.cache_dir("tensors")`. `ImageSet.batches()`
moves the tensor to the device once and serves shuffled float batches in [-1, 1] from there.

Downloads go through torchvision (MNIST, Flowers-102) or `coursekit.download.download_file` (Flowers-17,
course images): all with a timeout, checksums where known, and nothing kept when they fail.
Offline, point `COURSEKIT_DATA` (or `root=`) at a folder that already holds the files.

Modules, one job each (lowest first):
    imageset      ImageSet, the container every loader returns; the cache of decoded tensors
    mnist         MNIST's IDX files: read_idx, load_mnist, stage_mnist_for_torchvision
    flowers       Oxford Flowers-102 (torchvision) and Flowers-17 (its official .tgz)
    folders       load_image_folder: your own images, subfolders as classes
    style_images  the course's style/content images by name: STYLE_IMAGES, style_image
"""
from .imageset import ImageSet  # noqa: F401
from .mnist import MNIST_FILES, load_mnist, read_idx, stage_mnist_for_torchvision  # noqa: F401
from .flowers import FLOWERS17_CLASSES, FLOWERS17_URL, load_flowers17, load_flowers102  # noqa: F401
from .folders import load_image_folder  # noqa: F401
from .style_images import STYLE_IMAGES, style_image  # noqa: F401
