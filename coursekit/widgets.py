"""Interactive toys for trained models (ipywidgets): move through latent space and watch.

Widgets need a live notebook (JupyterLab or Colab). Executed headless they are created and
rendered once with their initial values, so a notebook still runs top to bottom.
"""
from __future__ import annotations

import contextlib
import html
import io
from pathlib import Path

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from PIL import Image

from . import runtime, style as st
from .checks import DataError, check_choice, check_count, check_images, check_seed, check_tensor
from .data import STYLE_IMAGES
from .images import decode_bytes
from .nets import sample
from .plot import LivePlot, figure_png, show_images


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between noise vectors z_a, z_b (D,) at fractions t (T,) -> (T, D).

    Gaussian noise lives near a sphere of radius sqrt(D); a straight line between two points
    cuts through the low-probability inside, the great circle stays where G was trained.
    """
    for z, name in ((z_a, "z_a"), (z_b, "z_b")):
        check_tensor(z, name, dims=1, floating=True)
        if not bool(z.any()):
            raise ValueError(f"{name} is all zeros: it has no direction to interpolate along")
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must have the same shape, got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
    check_tensor(t, "t", dims=1, floating=True)
    a, b = z_a / z_a.norm(), z_b / z_b.norm()
    omega = torch.arccos((a * b).sum().clamp(-1, 1))
    t = t.view(-1, 1)
    if omega.abs() < 1e-6:
        return (1 - t) * z_a + t * z_b
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)


def interpolation_strip(G: torch.nn.Module, seed_a: int, seed_b: int, t: torch.Tensor | int = 10) -> torch.Tensor:
    """G's images along the path from seed_a's z to seed_b's z: (T, C, H, W) in [-1, 1].

    t: the fractions to visit (T,), or a number (>= 2) of evenly spaced steps from 0 to 1.
    """
    if not isinstance(G, torch.nn.Module) or not isinstance(getattr(G, "z_dim", None), int):
        raise TypeError(f"G must be a generator (a torch.nn.Module with a z_dim), got {type(G).__name__}")
    seed_a, seed_b = check_seed(seed_a, "seed_a"), check_seed(seed_b, "seed_b")
    t = t if isinstance(t, torch.Tensor) else torch.linspace(0, 1, check_count(t, "t", minimum=2))
    z_a, z_b = (torch.randn(G.z_dim, generator=torch.Generator().manual_seed(s)) for s in (seed_a, seed_b))
    return sample(G, slerp(z_a, z_b, t).to(next(G.parameters()).device))


def latent_explorer(G: torch.nn.Module, steps: int = 10) -> W.Widget:
    """Two seed sliders pick two noise vectors; a third slides between them. Images update live.

    The picture is a PNG in an Image widget (`.children[1]`), redrawn on every slider move: unlike
    an Output widget capturing plt.show(), it updates alike in JupyterLab, Colab and ipywidgets 7 or 8.
    steps: how many images the strip shows (>= 2).
    """
    steps = check_count(steps, "steps", minimum=2)
    seed_a = W.IntSlider(0, 0, 999, description="seed A")
    seed_b = W.IntSlider(1, 0, 999, description="seed B")
    t = W.FloatSlider(0.5, min=0, max=1, step=0.05, description="A → B")
    picture = W.Image(format="png")

    def redraw(*_):
        strip = interpolation_strip(G, seed_a.value, seed_b.value, steps)
        pick = interpolation_strip(G, seed_a.value, seed_b.value, torch.tensor([t.value]))
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 2.2), gridspec_kw={"width_ratios": [1, 6]})
        show_images(pick, nrow=1, ax=ax1, title=f"t = {t.value:.2f}")
        show_images(strip, nrow=steps, ax=ax2, title="the whole path A → B")
        picture.value = figure_png(fig)

    for w in (seed_a, seed_b, t):
        w.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([seed_a, seed_b, t]), picture])


class StyleTransferApp(W.VBox):
    """The style-transfer app (see `style_transfer_app`). Its parts are attributes, so a test or
    a curious student can drive it: `uploads["content"]`, `loaded["content"]` (a Label beside
    the button: which image is in use), `sliders`, `size`, `steps`, `run` (a Button:
    `run.click()`), `status` (HTML: progress, results, errors), `progress`, `preview` (an Image
    widget: the live plot, then content | result | style), and `result`: the last finished
    image, (1, 3, H, W) in [0, 1], e.g. for torchvision's save_image. A run that fails clears
    the preview and the progress bar, so nothing on screen looks as if it ran.
    """

    def __init__(self, content="chelsea.png", style="starry_night.jpg", extractor=None):
        for value, name in ((content, "content"), (style, "style")):
            _check_default(value, name)
        if extractor is not None and not isinstance(extractor, torch.nn.Module):
            raise TypeError(f"extractor must be a torch.nn.Module (e.g. style.VGGFeatures()) or None, got {type(extractor).__name__}")
        wide = {"style": {"description_width": "initial"}}  # labels in full, never cut off
        self.defaults, self.extractor, self.result = {"content": content, "style": style}, extractor, None
        self.uploads = {name: W.FileUpload(accept="image/*", description=f"{name} image", layout=W.Layout(width="auto"))
                        for name in ("content", "style")}
        self.loaded = {name: W.Label(self._loaded_text(name)) for name in self.uploads}
        for name, button in self.uploads.items():
            button.observe(lambda _change, name=name: self._show_loaded(name), names="value")
        self.sliders = {"style_weight": W.FloatLogSlider(1e2, base=10, min=0, max=4, description="style weight", **wide),
                        "content_weight": W.FloatLogSlider(10, base=10, min=-1, max=3, description="content weight", **wide),
                        "tv_weight": W.FloatLogSlider(0.1, base=10, min=-3, max=1, description="TV weight", **wide)}
        self.size = W.IntSlider(128, min=64, max=512, step=32, description="size (px)", **wide)
        self.steps = W.IntSlider(150, min=10, max=600, step=10, description="steps", **wide)
        self.run = W.Button(description="Run", button_style="success", icon="play")
        self.progress = W.IntProgress(0, min=0, max=1, description="step 0", **wide)
        self.status = W.HTML("Without uploads the course images are used. Press <b>Run</b>.")
        self.preview = W.Image(format="png")
        self.run.on_click(self._on_run)
        super().__init__([W.HBox([w for name in self.uploads for w in (self.uploads[name], self.loaded[name])]),
                          W.HBox(list(self.sliders.values())),
                          W.HBox([self.size, self.steps, self.run]), W.HBox([self.progress, self.status]), self.preview])

    def _loaded_text(self, name: str) -> str:
        files = uploaded_files(self.uploads[name])
        if not files:
            return f"{self.defaults[name]} (course image)"
        filename, data = files[-1]
        return f"{filename} ({len(data) / 1024:,.0f} kB)"

    def _show_loaded(self, name: str) -> None:
        self.loaded[name].value = self._loaded_text(name)

    def picked(self, name: str):
        """The uploaded image (the last one if several) decoded, or the default course image.

        name: "content" or "style".
        """
        check_choice(name, "name", ("content", "style"))
        files = uploaded_files(self.uploads[name])
        if not files:
            return self.defaults[name]
        filename, data = files[-1]
        if not data:
            raise DataError(f"{filename}: the uploaded file is empty (0 bytes). Upload the image again.")
        return decode_bytes(data, filename)

    def _on_run(self, _=None) -> None:
        self.run.disabled = True
        notes = io.StringIO()  # lines the library prints (resizing, the offline fallback), shown with the result
        try:
            with contextlib.redirect_stdout(notes):
                done = self._transfer()
            self._say(done, notes)
        except (DataError, ValueError) as err:
            self._failed()
            self._say(f"<b style='color:#b00020'>Could not run:</b> {html.escape(str(err))}", notes)
        except Exception as err:  # noqa: BLE001  a callback's traceback would land in the log, unseen: show it here
            self._failed()
            self._say(f"<b style='color:#b00020'>{type(err).__name__}:</b> {html.escape(str(err))}", notes)
        finally:
            self.run.disabled = False

    def _failed(self) -> None:
        """Clear what an earlier run left on screen: its picture and its full progress bar."""
        self.preview.value = b""
        self.progress.value, self.progress.description = 0, "step 0"

    def _transfer(self) -> str:
        content, painting = self.picked("content"), self.picked("style")
        self.status.value, self.progress.max, self.progress.value = "starting…", self.steps.value, 0
        live = LivePlot({"losses": ["style", "content", "tv"]}, with_images=True, target=self.preview, images_title="image",
                        max_share=None)  # the app's preview every 10 steps is what the student waits for

        def preview(step, image, h):
            self.progress.value, self.progress.description = step, f"step {step}"
            self.status.value = f"step {step} of {self.steps.value}: style loss {h['style'][-1]:.3g}"
            live.update(step, {k: h[k][-1] for k in ("style", "content", "tv")}, images=image * 2 - 1)

        image, history = st.transfer(content, painting, size=self.size.value, steps=self.steps.value,
                                     extractor=self.extractor, callback=preview, progress=False,
                                     **{k: w.value for k, w in self.sliders.items()})
        self.result = image
        self.preview.value = row_png([st.prepare(content, self.size.value), image, st.prepare(painting, self.size.value)])
        return (f"<b>done</b>: content | result | style. {len(history['step'])} steps in {history['seconds'][-1]:.1f} s, "
                f"style loss {history['style'][0]:.3g} → {history['style'][-1]:.3g}")

    def _say(self, message: str, notes: io.StringIO) -> None:
        lines = [html.escape(line) for line in dict.fromkeys(notes.getvalue().splitlines()) if line.strip()]
        self.status.value = message + "".join(f"<br><small>{line}</small>" for line in lines)


def _check_default(value, name: str) -> None:
    """A default image the app can use: a course image name, a path or URL, or a tensor (checked when it runs)."""
    if isinstance(value, torch.Tensor):
        return
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a course image name such as 'chelsea.png', a path, a URL or an image "
                        f"tensor, got {type(value).__name__}")
    if "/" in value or Path(value).exists():
        return  # a path or URL: read when the app runs
    if value not in STYLE_IMAGES and not (runtime.data_root() / "style" / value).exists():
        raise DataError(f"{name}: unknown course image {value!r}; choose one of {sorted(STYLE_IMAGES)}, "
                        "or pass a path, a URL or an image tensor")


def uploaded_files(upload: W.FileUpload) -> list[tuple[str, bytes]]:
    """The files in a FileUpload as (name, contents), oldest first, in ipywidgets 7 and 8 alike.

    ipywidgets 8 (JupyterLab) keeps a tuple of {"name", "content", ...}; ipywidgets 7.7 (Colab)
    a dict {name: {"metadata": {...}, "content": bytes}}.
    """
    if not isinstance(upload, W.FileUpload):
        raise TypeError(f"upload must be an ipywidgets FileUpload, got {type(upload).__name__}")
    value = upload.value
    if isinstance(value, dict):
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value]


def style_transfer_app(content="chelsea.png", style="starry_night.jpg", extractor=None) -> StyleTransferApp:
    """Upload your own content and style images, set the weights and the size, press Run.

    Without uploads the given course images are used. The preview (losses and the image so far)
    updates every 10 steps; at the end it shows content | result | style, and `app.result`
    holds the image. A file that is not a readable image gets its reason in the app.
    """
    return StyleTransferApp(content, style, extractor)


ROW_GAP = 4  # white pixels between the images of `row_png`


def row_png(images: list[torch.Tensor]) -> bytes:
    """Images (1, 3, H_i, W_i) in [0, 1] side by side, top-aligned on white, as PNG file contents."""
    if not isinstance(images, (list, tuple)) or not images:
        raise ValueError(f"images must be a non-empty list of images (1, 3, H, W), got {images!r}"[:200])
    for i, x in enumerate(images):
        check_images(x, f"images[{i}]", channels=3, finite=True)
        if x.shape[0] != 1 or not x.is_floating_point():
            raise ValueError(f"images[{i}] must be one float image (1, 3, H, W) in [0, 1], got {x.dtype} {tuple(x.shape)}")
    height = max(x.shape[-2] for x in images)
    parts = []
    for x in images:
        parts += [F.pad(x[0].clamp(0, 1), (0, 0, 0, height - x.shape[-2]), value=1.0), torch.ones(3, height, ROW_GAP)]
    pixels = (torch.cat(parts[:-1], dim=2) * 255).round().to(torch.uint8).permute(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels.numpy()).save(buffer, format="png")
    return buffer.getvalue()
