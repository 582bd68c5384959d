"""What the student looks at: image grids, loss curves and a live training plot.

In a notebook, figures appear at the end of the cell; `LivePlot` redraws one figure in place
while training runs (or into an ipywidgets Image inside an app). Run as a script (or in CI),
nothing pops up and nothing is printed.
"""
from __future__ import annotations

import io
import time
from collections import defaultdict

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

from .checks import check_count, check_finite, check_images, check_number, check_positive


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """(N, 1 or 3, H, W) uint8 in [0, 255] or float in [-1, 1] -> one (3, H', W') float grid in [0, 1].

    Float values beyond [-1, 1] (a noisy image, diffusion's x_t) are clipped for display; a float
    batch that looks like 0-255 pixels (no negative value, some above 2) is refused, as is NaN.
    """
    x = display_range(images, "images")
    nrow, padding = check_count(nrow, "nrow"), check_count(padding, "padding", minimum=0)
    return make_grid(x, nrow=nrow, padding=padding, pad_value=1.0)


def display_range(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Images to draw -> float (N, C, H, W) in [0, 1] on the CPU (see `image_grid` for what is accepted)."""
    check_images(images, name, channels=(1, 3))
    x = images.detach().cpu()
    if x.dtype == torch.uint8:
        return x.float() / 255
    if not x.is_floating_point():
        raise ValueError(f"{name} must be uint8 in [0, 255] or float in [-1, 1], got dtype {x.dtype}")
    x = check_finite(x.float(), name)
    low, high = x.min().item(), x.max().item()
    if low >= 0 and high > 2:
        raise ValueError(f"{name} must be float in [-1, 1] (or uint8 in [0, 255]), got values in [{low:.3g}, "
                         f"{high:.3g}]: 0-255 pixels as floats? pass x.to(torch.uint8) or x / 127.5 - 1")
    return (x.clamp(-1, 1) + 1) / 2


def show_images(images: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None, size: float = 4.0):
    """Draw a grid of images (see `image_grid` for the accepted ranges); returns the axes.

    size: the figure's width in inches (when `ax` is None).
    """
    size = check_positive(size, "size")
    grid = image_grid(images, nrow)
    if ax is None:
        aspect = grid.shape[1] / grid.shape[2]
        _, ax = plt.subplots(figsize=(size, size * aspect))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_history(history: dict[str, list], keys: list[str] | None = None, ax=None, title: str | None = None,
                 step_key: str = "step"):
    """Plot logged series against `history[step_key]` (the shape `train_gan` returns); returns the axes."""
    if not isinstance(history, dict):
        raise TypeError(f"history must be a dict of lists (series name -> values), got {type(history).__name__}")
    unknown = [k for k in (keys or []) if k not in history]
    if unknown:
        raise ValueError(f"keys {unknown} are not in history, which has {sorted(history)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    keys = keys or [k for k in history if k != step_key]
    steps = history.get(step_key)
    for k in keys:
        ys = history[k]
        ax.plot(steps[: len(ys)] if steps else range(len(ys)), ys, label=k)
    ax.set_xlabel(step_key)
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, nbval), where figures can be displayed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ in {"ZMQInteractiveShell", "Shell"}  # Shell: Colab


def figure_png(fig, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG file contents (for an ipywidgets Image); the figure is closed."""
    dpi = check_count(dpi, "dpi")
    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig must be a matplotlib figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


class LivePlot:
    """One figure redrawn in place during training: a panel of curves per group, plus samples.

        live = LivePlot({"loss": ["loss_d", "loss_g"], "D output": ["d_real", "d_fake"]})
        live.update(step, {"loss_d": 0.7, "loss_g": 1.2, ...}, images=samples)  # each log step

    Keeps every value it was given in `history` (key -> list), `history["step"]` alongside.
    Outside a notebook it only records. With `target` (an ipywidgets Image) it draws into that
    widget instead, wherever it runs: the way to update a plot from inside a widget callback,
    where an in-place display update would not arrive.

    Drawing is not free (about 1 s for three panels and 64 samples on a busy 2-core CPU), and each
    redraw sends a ~100 kB picture to the browser. So in a notebook the plot redraws only while
    drawing takes at most `max_share` of the time (after a draw that took d seconds, the next waits
    d * (1 / max_share - 1)); `finish()` draws the last values. `max_share=None` draws every time.
    """

    def __init__(self, panels: dict[str, list[str]], with_images: bool = False, every: int = 1, target=None,
                 images_title: str = "samples", max_share: float | None = 0.05):
        max_share = check_number(max_share, "max_share", low=0, high=1, low_open=True, optional=True)  # of the time spent drawing
        every = check_count(every, "every")
        if not isinstance(panels, dict) or not all(isinstance(keys, (list, tuple)) for keys in panels.values()):
            raise TypeError(f"panels must be a dict: panel title -> list of series names, got {panels!r}")
        self.panels, self.with_images, self.every = panels, with_images, every
        self.target, self.images_title, self.max_share = target, images_title, max_share
        self.history: dict[str, list] = defaultdict(list)
        self.images = None
        self.enabled = target is not None or in_notebook()
        self._handle = None
        self._calls = 0
        self._next_draw = 0.0   # time.perf_counter() before which a redraw waits
        self._drawn_calls = 0   # self._calls at the last draw

    def update(self, step: int, values: dict[str, float], images: torch.Tensor | None = None) -> None:
        """Record `values` at `step` (and the latest `images`, (N, 1 or 3, H, W) as `image_grid` takes them)."""
        step = check_count(step, "step", minimum=0)
        if not isinstance(values, dict):
            raise TypeError(f"values must be a dict: series name -> number, got {type(values).__name__}")
        if images is not None:
            display_range(images, "images")  # refused now, not at the next draw
        self.history["step"].append(step)
        for k, v in values.items():
            self.history[k].append(float(v))
        if images is not None:
            self.images = images.detach().cpu()
        self._calls += 1
        if self.enabled and self._calls % self.every == 0 and time.perf_counter() >= self._next_draw:
            self.draw()

    def finish(self) -> None:
        """Draw the latest values if the last update was not drawn (call it when training ends)."""
        if self.enabled and self._calls > self._drawn_calls:
            self.draw()

    def figure(self):
        """Build the figure from the recorded history (also usable after training)."""
        n = len(self.panels) + (1 if self.with_images else 0)
        fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
        for ax, (title, keys) in zip(axes[0], self.panels.items()):
            plot_history(self.history, [k for k in keys if k in self.history], ax=ax, title=title)
        if self.with_images and self.images is not None:
            show_images(self.images, nrow=8, ax=axes[0, -1], title=f"{self.images_title} at step {self.history['step'][-1]}")
        fig.tight_layout()
        return fig

    def draw(self) -> None:
        from IPython.display import display

        start = time.perf_counter()
        fig = self.figure()
        if self.target is not None:
            self.target.value = figure_png(fig)
        elif self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)  # the displayed PNG stays; the figure object is freed
        self._drawn_calls = self._calls
        if self.max_share is not None:
            cost = time.perf_counter() - start
            self._next_draw = time.perf_counter() + cost * (1 / self.max_share - 1)
