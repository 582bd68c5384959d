"""Data sets as one uint8 tensor: MNIST, Oxford Flowers-102 and -17, and your own image folders.

Every loader returns an `ImageSet` whose `images` is one (N, C, H, W) uint8 tensor. Decoding
happens once; the result is cached in `runtime.cache_dir("tensors")`. `ImageSet.batches()`
moves the tensor to the device once and serves shuffled float batches in [-1, 1] from there.

Downloads go through torchvision (MNIST, Flowers-102) or the official archive (Flowers-17).
Offline, point `COURSEKIT_DATA` (or `root=`) at a folder that already holds the files.
"""
from __future__ import annotations

import gzip
import hashlib
import re
import tarfile
import warnings
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from tqdm.auto import tqdm

from . import runtime
from .batches import DeviceBatches
from .checks import DataError
from .images import IMAGE_SUFFIXES, load_image, open_rgb, square_uint8, to_rgb

FLOWERS17_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz"
FLOWERS17_CLASSES = ["daffodil", "snowdrop", "lily of the valley", "bluebell", "crocus", "iris",
                     "tigerlily", "tulip", "fritillary", "sunflower", "daisy", "colts' foot",
                     "dandelion", "cowslip", "buttercup", "windflower", "pansy"]  # 80 images each
_JJ = "https://raw.githubusercontent.com/jcjohnson/neural-style/07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs"
_JM = "https://raw.githubusercontent.com/jarmalmichal/Neural-Style-Transfer"
STYLE_IMAGES = {  # name -> where to download it when the data folder does not have style/<name>
    "starry_night.jpg": f"{_JJ}/starry_night.jpg",
    "the_scream.jpg": f"{_JJ}/the_scream.jpg",
    "shipwreck_of_the_minotaur.jpg": f"{_JJ}/shipwreck.jpg",
    "great_wave_off_kanagawa.jpg": f"{_JM}/a87ddb4b3b3fcf6f97fdeebd56fd4b7b8c692cdb/images/style/wave.jpg",
    "kandinsky_composition_vii.jpg": f"{_JM}/29e2b0fcc501af1adfc63ea696dca7a6eef95091/images/style/composition.jpg",
    "chelsea.png": "https://raw.githubusercontent.com/scikit-image/scikit-image/main/skimage/data/chelsea.png",
    "grace_hopper.jpg": "https://raw.githubusercontent.com/matplotlib/matplotlib/main/lib/matplotlib/"
                        "mpl-data/sample_data/grace_hopper.jpg",
}
MNIST_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass
class ImageSet:
    """A small image data set held as one tensor.

    images: (N, C, H, W) uint8 in [0, 255];  labels: (N,) int64;  classes: label -> name.
    skipped: files that could not be read (folders only), with the reason.
    """
    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return f"ImageSet({self.name!r}: {n} images, {c}x{h}x{w} uint8, {len(self.classes)} classes)"

    def subset(self, n: int, seed: int = 0) -> "ImageSet":
        """A random subset of `n` images (all of them if n >= len), same order every time."""
        if n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        return ImageSet(self.images[idx], self.labels[idx], self.classes, f"{self.name} ({n})")

    def batches(self, batch_size: int = 128, device: str | torch.device = "cpu", *,
                shuffle: bool = True, seed: int = 0, with_labels: bool = False) -> DeviceBatches:
        """A device-resident batch iterator over this set (see `DeviceBatches`)."""
        labels = self.labels if with_labels else None
        return DeviceBatches(self.images, labels, batch_size, device, shuffle=shuffle, seed=seed)


# ---------------------------------------------------------------- cache of decoded tensors
def _fingerprint(*paths: Path) -> str:
    """A short hash of file names, sizes and modification times: changes when the source does."""
    h = hashlib.sha1()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:10]


def _cached(key: str, build) -> ImageSet:
    """Load the ImageSet cached under `key`, or build it with `build()` and cache it."""
    path = runtime.cache_dir("tensors") / f"{key}.pt"
    if path.exists():
        try:
            d = torch.load(path, weights_only=True)
            return ImageSet(d["images"], d["labels"], d["classes"], d["name"], d["skipped"])
        except Exception as err:  # a half-written or stale cache file: rebuild it
            warnings.warn(f"ignoring unreadable cache file {path} ({err}); decoding again")
    s = build()
    tmp = path.with_suffix(".tmp")
    torch.save({"images": s.images, "labels": s.labels, "classes": s.classes,
                "name": s.name, "skipped": s.skipped}, tmp)
    tmp.replace(path)  # atomic: an interrupted save never leaves a broken cache file
    return s


# ---------------------------------------------------------------- MNIST
def _read_bytes(path: Path) -> bytes:
    """The bytes of a file, gunzipped if it ends in .gz; DataError naming the file if that fails."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            return f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path} is truncated or corrupt ({err}). Delete it and download it again.") from err


def read_idx(path: Path, raw: bytes | None = None) -> np.ndarray:
    """Read an IDX file (the MNIST format, optionally .gz) -> uint8 array; clear error if corrupt."""
    raw = _read_bytes(path) if raw is None else raw
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
    and `download` is true, torchvision.datasets.MNIST downloads them into root/MNIST/raw.
    """
    root = runtime.data_root(root)
    files = _find_mnist_files(root, train)
    if files is None:
        if not download:
            raise DataError(f"MNIST not found under {root} (looked in MNIST/raw and mnist/raw). "
                            "Call with download=True, or set COURSEKIT_DATA to a folder that has it.")
        _download(lambda: torchvision.datasets.MNIST(root, train=train, download=True), "MNIST", root)
        files = _find_mnist_files(root, train)
    split = "train" if train else "test"

    def build() -> ImageSet:
        images, labels = read_idx(files[0]), read_idx(files[1])
        if len(images) != len(labels):
            raise DataError(f"{files[0]} has {len(images)} images but {files[1]} has {len(labels)} labels")
        return ImageSet(torch.from_numpy(images.copy()).unsqueeze(1),
                        torch.from_numpy(labels.astype(np.int64)),
                        [str(d) for d in range(10)], f"MNIST {split}")

    return _cached(f"mnist-{split}-{_fingerprint(*files)}", build)


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
        files = _find_mnist_files(root, train) or _missing("MNIST", root)
        for src, stem in zip(files, MNIST_FILES[train]):
            dst = staged / "MNIST" / "raw" / stem
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                raw = _read_bytes(src)
                read_idx(src, raw)  # validate before staging
                dst.with_suffix(".tmp").write_bytes(raw)
                dst.with_suffix(".tmp").replace(dst)
    return staged


# ---------------------------------------------------------------- Oxford flowers
def load_flowers102(split: str = "train", size: int = 64, root: str | Path | None = None,
                    download: bool = True) -> ImageSet:
    """Oxford Flowers-102 through torchvision -> (N, 3, size, size) uint8, labels 0..101.

    `split` is "train", "val", "test", or several joined with "+", e.g. "train+val".
    """
    root = runtime.data_root(root)
    to_square = lambda img: square_uint8(img, size)  # noqa: E731  PIL RGB -> (3, size, size) uint8
    datasets = [_download(lambda s=s: torchvision.datasets.Flowers102(root, split=s, transform=to_square,
                                                                       download=download), "Flowers-102", root, download)
                for s in split.split("+")]
    folder = root / "flowers-102"

    def build() -> ImageSet:
        images, labels = [], []
        for ds in datasets:
            for i in tqdm(range(len(ds)), desc="decoding flowers", leave=False):
                try:
                    x, y = ds[i]
                except OSError as err:  # a missing or truncated JPEG: name it
                    raise DataError(f"Flowers-102 image {i} of split {split!r}: {err}") from err
                images.append(x)
                labels.append(y)
        return ImageSet(torch.stack(images), torch.tensor(labels), [str(i) for i in range(102)],
                        f"Flowers-102 {split} {size}px")

    key = f"flowers102-{split}-{size}-{_fingerprint(folder / 'setid.mat', folder / 'jpg')}"
    return _cached(key, build)


def load_flowers17(size: int = 64, root: str | Path | None = None, download: bool = True) -> ImageSet:
    """Oxford Flowers-17 (1,360 images, 17 classes of 80) from its official 17flowers.tgz.

    The archive is read in place (no extraction), so a read-only data folder works.
    """
    root = runtime.data_root(root)
    archive = root / "flowers-17" / "17flowers.tgz"
    if not archive.exists():
        if not download:
            _missing("Flowers-17", root, f"{archive} (from {FLOWERS17_URL})")
        _download(lambda: torchvision.datasets.utils.download_url(FLOWERS17_URL, archive.parent), "Flowers-17", root)

    def build() -> ImageSet:
        images, labels = [], []
        pattern = re.compile(r"(?:^|/)jpg/image_(\d{4})\.jpg$")
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tqdm(tar, desc="decoding flowers-17", leave=False):
                    match = pattern.search(member.name)
                    if match and member.isfile():
                        img = Image.open(BytesIO(tar.extractfile(member).read()))
                        images.append(square_uint8(to_rgb(img), size))
                        labels.append((int(match.group(1)) - 1) // 80)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise DataError(f"{archive} is truncated or corrupt ({err}). Delete it and download it again.") from err
        if not images:
            raise DataError(f"{archive} holds no jpg/image_NNNN.jpg files: is it the Flowers-17 archive?")
        return ImageSet(torch.stack(images), torch.tensor(labels), FLOWERS17_CLASSES, f"Flowers-17 {size}px")

    return _cached(f"flowers17-{size}-{_fingerprint(archive)}", build)


# ---------------------------------------------------------------- your own images
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
        x = square_uint8(img.convert("L") if grayscale else img, size)
        images.append(x)
        labels.append(classes.index(str(f.parent.relative_to(folder))))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} of {len(files)} files in {folder}:\n  " + "\n  ".join(skipped))
    if not images:
        raise DataError(f"none of the {len(files)} image files in {folder} could be read")
    return ImageSet(torch.stack(images), torch.tensor(labels), classes, folder.name, skipped)


# ---------------------------------------------------------------- style and content images
def style_image(name: str, max_side: int | None = None, root: str | Path | None = None) -> torch.Tensor:
    """A course image by name (see STYLE_IMAGES) -> (1, 3, H, W) float in [0, 1].

    Read from <data root>/style/<name> when there, else downloaded once into the cache.
    """
    local = runtime.data_root(root) / "style" / name
    if local.exists():
        return load_image(local, max_side)
    if name not in STYLE_IMAGES:
        raise DataError(f"unknown course image {name!r}: choose one of {sorted(STYLE_IMAGES)}, "
                        "or load your own with coursekit.images.load_image(path_or_url)")
    return load_image(STYLE_IMAGES[name], max_side)


# ---------------------------------------------------------------- helpers
def _missing(what: str, root: Path, detail: str = ""):
    where = detail or str(root)
    raise DataError(f"{what} not found: expected {where}. Call the loader with download=True "
                    f"(needs internet), or set COURSEKIT_DATA to a folder that already has it.")


def _download(make, what: str, root: Path, download: bool = True):
    """Run a torchvision download/open call, turning its failures into one clear DataError."""
    try:
        return make()
    except (RuntimeError, OSError, ValueError) as err:  # URLError is an OSError
        if not download:
            raise DataError(f"{what} not found or incomplete under {root} ({err}). Call the loader with "
                            "download=True (needs internet), or set COURSEKIT_DATA to a folder that has it.") from err
        raise DataError(f"could not get {what} into {root} ({type(err).__name__}: {err}). "
                        "Check your internet connection and retry; offline, set COURSEKIT_DATA to a "
                        "folder that already holds the data set (see data/README.md).") from err
