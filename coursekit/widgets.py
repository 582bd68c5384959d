"""Interactive toys for trained models (ipywidgets): move through latent space and watch.

Widgets need a live notebook (JupyterLab or Colab). Executed headless they are created and
rendered once with their initial values, so a notebook still runs top to bottom.
"""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from . import style as st
from .images import decode_bytes
from .nets import sample
from .plot import LivePlot, show_images


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between noise vectors z_a, z_b (D,) at fractions t (T,) -> (T, D).

    Gaussian noise lives near a sphere of radius sqrt(D); a straight line between two points
    cuts through the low-probability inside, the great circle stays where G was trained.
    """
    a, b = z_a / z_a.norm(), z_b / z_b.norm()
    omega = torch.arccos((a * b).sum().clamp(-1, 1))
    t = t.view(-1, 1)
    if omega.abs() < 1e-6:
        return (1 - t) * z_a + t * z_b
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)


def interpolation_strip(G: torch.nn.Module, seed_a: int, seed_b: int, t: torch.Tensor | int = 10) -> torch.Tensor:
    """G's images along the path from seed_a's z to seed_b's z: (T, C, H, W) in [-1, 1].

    t: the fractions to visit (T,), or a number of evenly spaced steps from 0 to 1.
    """
    t = torch.linspace(0, 1, t) if isinstance(t, int) else t
    z_a, z_b = (torch.randn(G.z_dim, generator=torch.Generator().manual_seed(s)) for s in (seed_a, seed_b))
    return sample(G, slerp(z_a, z_b, t).to(next(G.parameters()).device))


def latent_explorer(G: torch.nn.Module, steps: int = 10) -> W.Widget:
    """Two seed sliders pick two noise vectors; a third slides between them. Images update live."""
    seed_a = W.IntSlider(0, 0, 999, description="seed A")
    seed_b = W.IntSlider(1, 0, 999, description="seed B")
    t = W.FloatSlider(0.5, min=0, max=1, step=0.05, description="A → B")
    out = W.Output()

    def redraw(*_):
        strip = interpolation_strip(G, seed_a.value, seed_b.value, steps)
        pick = interpolation_strip(G, seed_a.value, seed_b.value, torch.tensor([t.value]))
        with out:
            out.clear_output(wait=True)
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 2.2), gridspec_kw={"width_ratios": [1, 6]})
            show_images(pick, nrow=1, ax=ax1, title=f"t = {t.value:.2f}")
            show_images(strip, nrow=steps, ax=ax2, title="the whole path A → B")
            plt.show()

    for w in (seed_a, seed_b, t):
        w.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([seed_a, seed_b, t]), out])


def style_transfer_app(content="chelsea.png", style="starry_night.jpg", extractor=None) -> W.Widget:
    """Upload your own content and style images, set the weights and size, press Run.

    Without uploads the given course images are used. The result is previewed live.
    """
    uploads = {"content": W.FileUpload(accept="image/*", description="content image"),
               "style": W.FileUpload(accept="image/*", description="style image")}
    sliders = {"style_weight": W.FloatLogSlider(1e2, base=10, min=0, max=4, description="style weight"),
               "content_weight": W.FloatLogSlider(10, base=10, min=-1, max=3, description="content weight"),
               "tv_weight": W.FloatLogSlider(0.1, base=10, min=-3, max=1, description="TV weight")}
    size = W.IntSlider(128, min=64, max=512, step=32, description="size (px)")
    steps = W.IntSlider(150, min=10, max=600, step=10, description="steps")
    run, out = W.Button(description="Run", button_style="success", icon="play"), W.Output()

    def picked(name: str, default):
        files = uploads[name].value  # ipywidgets 8: a tuple of {"name", "content", ...}
        return decode_bytes(bytes(files[-1]["content"]), files[-1]["name"]) if files else default

    def on_run(_):
        with out:
            out.clear_output(wait=True)
            live = LivePlot({"losses": ["style", "content", "tv"]}, with_images=True)
            preview = lambda step, image, h: live.update(step, {k: h[k][-1] for k in ("style", "content", "tv")},  # noqa: E731
                                                         images=image * 2 - 1)
            st.transfer(picked("content", content), picked("style", style), size=size.value, steps=steps.value,
                        extractor=extractor, callback=preview, **{k: w.value for k, w in sliders.items()})

    run.on_click(on_run)
    return W.VBox([W.HBox(list(uploads.values())), W.HBox(list(sliders.values())), W.HBox([size, steps, run]), out])
