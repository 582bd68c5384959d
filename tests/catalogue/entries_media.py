"""Catalogue entries for style transfer, VGG features, images, downloads, data sets, plots, widgets
and quizzes. See tests/catalogue/__init__.py for what an Entry is and the rule it is held to."""
from __future__ import annotations

import shutil
import tarfile

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from PIL import Image

import coursekit as ck
from catalogue import Entry
from coursekit import style


# ---------------------------------------------------------------- good values (real photos, real features)
def photo(f, i: int = 0) -> torch.Tensor:
    """One real flower photo (1, 3, 32, 32) uint8: the smallest image style transfer takes."""
    return f.flowers_u8[i:i + 1]


def vgg(f) -> style.VGGFeatures:
    return f.once("vgg", lambda: style.VGGFeatures(pretrained=False))


def features(f) -> torch.Tensor:
    """VGG19's relu1_1 features (1, 64, 32, 32) of a real photo, in (B, C, H, W) memory order."""
    return f.once("features", lambda: vgg(f)(photo(f).float() / 255)["relu1_1"].detach().contiguous())


def photo_paths(f) -> list:
    return sorted((ck.runtime.data_root() / "flowers-102" / "jpg").glob("image_*.jpg"))[:3]


def pil_photo(f) -> Image.Image:
    return f.once("pil", lambda: ck.images.open_rgb(photo_paths(f)[0]))


def photo_folder(f):
    def build():
        folder = f.folder("photos")
        for p in photo_paths(f):
            shutil.copy(p, folder)
        return folder
    return f.once("photo_folder", build)


def flowers17_root(f):
    """A data root holding a 17flowers.tgz in the official layout, of three real photos."""
    def build():
        root = f.folder("flowers17")
        (root / "flowers-17").mkdir()
        with tarfile.open(root / "flowers-17" / "17flowers.tgz", "w:gz") as tar:
            for photo_path, n in zip(photo_paths(f), (1, 81, 161)):
                tar.add(photo_path, arcname=f"jpg/image_{n:04d}.jpg")
        return root
    return f.once("flowers17_root", build)


def digit_set(f) -> ck.data.ImageSet:
    return ck.data.ImageSet(f.digits_u8, f.digit_labels, [str(d) for d in range(10)], "16 digits")


def choice_question() -> ck.quiz.Question:
    return ck.quiz.Question("Which is a colour?", "1. Colours", [ck.quiz.Choice("red", True), ck.quiz.Choice("loud")])


def tv(image: torch.Tensor) -> torch.Tensor:
    x = image.double()
    return (x[..., 1:, :] - x[..., :-1, :]).square().mean() + (x[..., :, 1:] - x[..., :, :-1]).square().mean()


_LIVE = {}  # the LivePlot an update case was bound to, for its check


def live_plot(f):
    _LIVE["plot"] = ck.plot.LivePlot({"loss": ["a"]}, with_images=True)
    return _LIVE["plot"]


def check_transfer(result, args) -> None:
    image, history = result
    assert image.shape == (1, 3, 32, 32) and 0 <= image.min() and image.max() <= 1, tuple(image.shape)
    assert history["step"] == [1] and history["style"][0] > 0


WEIGHTS = {"style_weight": "nonnegative", "content_weight": "nonnegative", "tv_weight": "nonnegative"}
CONFIG_KINDS = {**WEIGHTS, "optimizer": "choice", "init": "choice", "precision": "choice"}
LESSON_AS_TEXT = "lesson numbers are taken as text too, as the notebooks write them ('05'): '3' is lesson 3"
ONE_IMAGE = "one image (3, H, W) is taken as a batch of one, as the docstring says"

ENTRIES: dict[str, Entry] = {
    # ------------------------------------------------------------ style transfer
    "coursekit.style.gram": Entry(
        lambda f: {"features": features(f)},
        nan_through="called every optimisation step, so it checks shape and dtype without a host sync; NaN "
                    "features give a NaN Gram as torch.matmul does, and transfer refuses NaN images first"),
    "coursekit.style.content_loss": Entry(
        lambda f: {"features": features(f), "target": features(f).flip(-1), "target_power": None},
        nan_through="called every optimisation step (no host sync); NaN in gives NaN out as F.mse_loss, "
                    "and transfer refuses NaN images first"),
    "coursekit.style.style_loss": Entry(
        lambda f: {"features": {"relu1_1": features(f)}, "target_grams": {"relu1_1": style.gram(features(f).flip(-1))}}),
    "coursekit.style.tv_loss": Entry(
        lambda f: {"image": photo(f).float() / 255},
        ok={"image": {"range_0_255": "TV is defined at any pixel scale (255² times the [0, 1] value)",
                      "extra_channel": "TV is a mean over every channel, whatever their number"}},
        check=lambda result, args: torch.testing.assert_close(result.double(), tv(args["image"])),
        nan_through="called every optimisation step (no host sync): NaN pixels give a NaN loss, as torch's "
                    "own losses; transfer refuses NaN images first"),
    "coursekit.style.prepare": Entry(
        lambda f: {"image": photo(f), "size": 32},
        ok={"image": {"no_batch_axis": ONE_IMAGE}},
        check=lambda result, args: torch.testing.assert_close(result, args["image"].float().unsqueeze(0) / 255)),
    "coursekit.style.transfer": Entry(
        lambda f: {"content": photo(f), "style": photo(f, 1), "size": 32, "steps": 1, "extractor": vgg(f),
                   "device": "cpu", "progress": False, "lr": 0.02, "style_weight": 100.0, "content_weight": 10.0,
                   "tv_weight": 0.1, "seed": 0, "optimizer": "adam", "init": "content", "precision": "fp32"},
        kinds={**CONFIG_KINDS, "device": "choice"},
        ok={"content": {"no_batch_axis": ONE_IMAGE}, "style": {"no_batch_axis": ONE_IMAGE},
            "device": {"none": "None picks the best device there is (here the CPU)"}},
        check=check_transfer),
    "coursekit.style.TransferConfig": Entry(
        lambda f: {"size": 64, "steps": 10, "lr": 0.02, "style_weight": 100.0, "content_weight": 10.0,
                   "tv_weight": 0.1, "seed": 0, "optimizer": "adam", "init": "noise", "precision": "auto"},
        kinds=CONFIG_KINDS),
    "coursekit.style.network_dtype": Entry(
        lambda f: {"device": torch.device("cpu"), "precision": "fp32"}, kinds={"device": "choice", "precision": "choice"}),
    "coursekit.style.in_precision": Entry(
        lambda f: {"extractor": vgg(f), "dtype": None, "device": "cpu"}, kinds={"device": "choice"}),
    # ------------------------------------------------------------ VGG19 features
    "coursekit.nets.vgg.VGGFeatures": Entry(
        lambda f: {"layers": ("relu1_1", "relu2_1"), "pooling": "max", "pretrained": False}, kinds={"pooling": "choice"}),
    "coursekit.nets.vgg.VGGFeatures.forward": Entry(
        lambda f: {"images": photo(f).float() / 255}, bind=vgg),
    # ------------------------------------------------------------ single images
    "coursekit.images.to_rgb": Entry(lambda f: {"img": pil_photo(f)}),
    "coursekit.images.open_rgb": Entry(lambda f: {"path": photo_paths(f)[0], "name": None}, kinds={"path": "file_in"}),
    "coursekit.images.readable_file": Entry(lambda f: {"path": photo_paths(f)[0], "name": "path"},
                                            kinds={"path": "file_in"}),
    "coursekit.images.decode_bytes": Entry(lambda f: {"data": photo_paths(f)[0].read_bytes(), "name": "my.jpg"}),
    "coursekit.images.square_uint8": Entry(lambda f: {"img": pil_photo(f), "size": 16}),
    "coursekit.images.fit_uint8": Entry(lambda f: {"img": pil_photo(f), "max_side": 16}),
    "coursekit.images.fetch": Entry(lambda f: {"url": "https://example.org/a.jpg"}, kinds={"url": "choice"}),
    "coursekit.images.load_image": Entry(lambda f: {"source": photo_paths(f)[0], "max_side": 16},
                                         kinds={"source": "file_in"}),
    # ------------------------------------------------------------ downloads (a file:// address: no network)
    "coursekit.download.download_file": Entry(
        lambda f: {"url": photo_paths(f)[0].resolve().as_uri(), "dest": f.folder("download") / "a.jpg",
                   "check": ck.images.open_rgb, "what": "an image", "deadline_s": 30.0},
        kinds={"dest": "file_out", "deadline_s": "positive"}),
    "coursekit.download.missing": Entry(lambda f: {"what": "MNIST", "root": f.tmp, "detail": ""}),
    "coursekit.download.socket_timeout": Entry(lambda f: {"seconds": 5.0}, kinds={"seconds": "positive"}),
    "coursekit.download.writable_folder": Entry(
        lambda f: {"folder": f.folder("writable") / "new", "what": "a data set", "by_hand": "its files"},
        kinds={"folder": "folder_out"}),
    "coursekit.download.torchvision_download": Entry(
        lambda f: {"make": lambda: "made", "what": "a data set", "root": f.tmp, "folder": f.folder("tv") / "new",
                   "download": True},
        kinds={"folder": "folder_out"}),
    # ------------------------------------------------------------ data sets
    "coursekit.data.flowers.load_flowers102": Entry(
        lambda f: {"split": "train", "size": 32, "root": ck.runtime.data_root(), "download": False},
        kinds={"split": "choice", "root": "folder_in"}),
    "coursekit.data.flowers.load_flowers17": Entry(
        lambda f: {"size": 16, "root": flowers17_root(f), "download": False}, kinds={"root": "folder_in"}),
    "coursekit.data.folders.load_image_folder": Entry(
        lambda f: {"folder": photo_folder(f), "size": 16}, kinds={"folder": "folder_in"}),
    "coursekit.data.imageset.ImageSet": Entry(
        lambda f: {"images": f.digits_u8, "labels": f.digit_labels, "classes": [str(d) for d in range(10)],
                   "name": "16 digits"},
        ok={"images": {"one_pixel": "a container keeps uint8 images of any size as given (1×1 px included)"}},
        check=lambda result, args: torch.testing.assert_close(result.images, args["images"])),
    "coursekit.data.imageset.ImageSet.subset": Entry(lambda f: {"n": 4, "seed": 0}, bind=digit_set),
    "coursekit.data.imageset.ImageSet.batches": Entry(lambda f: {"batch_size": 4, "device": "cpu", "seed": 0},
                                                      bind=digit_set, kinds={"device": "choice"}),
    "coursekit.data.imageset.cached": Entry(lambda f: {"key": "catalogue-digits", "build": lambda: digit_set(f)}),
    "coursekit.data.mnist.load_mnist": Entry(
        lambda f: {"train": False, "root": ck.runtime.data_root(), "download": False}, kinds={"root": "folder_in"}),
    "coursekit.data.mnist.read_idx": Entry(
        lambda f: {"path": ck.runtime.data_root() / "mnist" / "raw" / "t10k-labels-idx1-ubyte.gz", "raw": None},
        kinds={"path": "file_in"}),
    "coursekit.data.mnist.stage_mnist_for_torchvision": Entry(lambda f: {"root": ck.runtime.data_root()},
                                                              kinds={"root": "folder_in"}),
    "coursekit.data.style_images.style_image": Entry(
        lambda f: {"name": "chelsea.png", "max_side": 64, "root": ck.runtime.data_root()},
        kinds={"name": "choice", "root": "folder_in"}),
    # ------------------------------------------------------------ plots (headless: MPLBACKEND=Agg)
    "coursekit.plot.image_grid": Entry(
        lambda f: {"images": f.digits_u8, "nrow": 4, "padding": 2}, kinds={"padding": "count0"},
        ok={"images": {"one_pixel": "a grid of 1×1 images is drawable: one pixel each"}},
        check=lambda result, args: (result.shape == (3, 4 * 3 + 2, 4 * 3 + 2)) or _fail(result.shape)),
    "coursekit.plot.display_range": Entry(
        lambda f: {"images": f.digits, "name": "images"},
        ok={"images": {"one_pixel": "1×1 images are drawable: one pixel each"}},
        check=lambda result, args: torch.testing.assert_close(result, (args["images"] + 1) / 2)),
    "coursekit.plot.show_images": Entry(
        lambda f: {"images": f.digits, "nrow": 8, "title": "digits", "ax": None, "size": 4.0},
        kinds={"size": "positive"},
        ok={"images": {"one_pixel": "a grid of 1×1 images is drawable: one pixel each"}},
        check=lambda result, args: plt.close(result.figure)),
    "coursekit.plot.plot_history": Entry(lambda f: {"history": {"step": [1, 2], "loss": [1.0, 0.5]}, "keys": ["loss"]}),
    "coursekit.plot.figure_png": Entry(lambda f: {"fig": plt.figure(figsize=(1, 1)), "dpi": 20}),
    "coursekit.plot.LivePlot": Entry(lambda f: {"panels": {"loss": ["a"]}, "every": 1, "max_share": 0.05},
                                     kinds={"max_share": "probability"}),
    "coursekit.plot.LivePlot.update": Entry(
        lambda f: {"step": 1, "values": {"a": 1.0}, "images": f.digits}, bind=live_plot, kinds={"step": "count0"},
        ok={"images": {"one_pixel": "1×1 samples are recorded and drawable (one pixel each)"}},
        check=lambda result, args: torch.testing.assert_close(_LIVE["plot"].images, args["images"])),
    # ------------------------------------------------------------ widgets (ipywidgets 7.7 and 8)
    "coursekit.widgets.slerp": Entry(
        lambda f: {"z_a": torch.randn(8, generator=torch.Generator().manual_seed(0)),
                   "z_b": torch.randn(8, generator=torch.Generator().manual_seed(1)), "t": torch.linspace(0, 1, 5)}),
    "coursekit.widgets.interpolation_strip": Entry(
        lambda f: {"G": f.once("G", lambda: f.fresh_mlp_gan()[0]), "seed_a": 0, "seed_b": 1, "t": 4}),
    "coursekit.widgets.latent_explorer": Entry(lambda f: {"G": f.once("G", lambda: f.fresh_mlp_gan()[0]), "steps": 4}),
    "coursekit.widgets.StyleTransferApp": Entry(
        lambda f: {"content": "chelsea.png", "style": "starry_night.jpg", "extractor": vgg(f)},
        kinds={"content": "choice", "style": "choice"}),
    "coursekit.widgets.StyleTransferApp.picked": Entry(
        lambda f: {"name": "style"}, bind=lambda f: ck.widgets.StyleTransferApp(extractor=vgg(f)),
        kinds={"name": "choice"}),
    "coursekit.widgets.style_transfer_app": Entry(
        lambda f: {"content": "chelsea.png", "style": "starry_night.jpg", "extractor": vgg(f)},
        kinds={"content": "choice", "style": "choice"}),
    "coursekit.widgets.uploaded_files": Entry(lambda f: {"upload": W.FileUpload()}),
    "coursekit.widgets.row_png": Entry(lambda f: {"images": [photo(f).float() / 255, photo(f, 1).float() / 255]}),
    # ------------------------------------------------------------ quizzes
    "coursekit.quiz.Choice": Entry(lambda f: {"text": "red", "correct": True, "why": "it is"}),
    "coursekit.quiz.Question": Entry(
        lambda f: {"text": "How many?", "section": "1. Counting", "answer": 14.0, "tolerance": 0.5},
        kinds={"tolerance": "nonnegative"}),
    "coursekit.quiz.Question.check": Entry(lambda f: {"response": 0}, bind=lambda f: choice_question(),
                                           kinds={"response": "count0"}),
    "coursekit.quiz.quiz_file": Entry(
        lambda f: {"lesson": 5}, ok={"lesson": {"string": LESSON_AS_TEXT}},
        check=lambda result, args: (result.name == f"{int(args['lesson']):02d}.json") or _fail(result)),
    "coursekit.quiz.Quiz": Entry(
        lambda f: {"lesson": 5, "part": "pre"}, kinds={"part": "choice"}, ok={"lesson": {"string": LESSON_AS_TEXT}},
        check=lambda result, args: (result.lesson == f"{int(args['lesson']):02d}" and len(result.questions) == 5)
        or _fail(result.lesson)),
    "coursekit.quiz.Form": Entry(lambda f: {"question": choice_question(), "number": 1}),
    "coursekit.quiz.Form.check": Entry(lambda f: {"_button": None},
                                       bind=lambda f: ck.quiz.Form(choice_question(), 1)),
    "coursekit.quiz.show": Entry(lambda f: {"lesson": 5, "part": "post"}, kinds={"part": "choice"},
                                 ok={"lesson": {"string": LESSON_AS_TEXT + " (the quiz is displayed)"}}),
}


def _fail(what) -> None:
    raise AssertionError(f"unexpected result: {what!r}")
