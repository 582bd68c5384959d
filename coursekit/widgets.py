"""Interactive toys for trained models (ipywidgets): move through latent space and watch.

Widgets need a live notebook (JupyterLab or Colab). Executed headless they are created and
rendered once with their initial values, so a notebook still runs top to bottom.
"""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from .callbacks import sample
from .plot import show_images


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
