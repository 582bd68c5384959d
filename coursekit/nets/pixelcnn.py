"""Lesson 4: PixelCNN, an exact-likelihood model: masked convolutions, the plain stack, the gated one.

Digits are binarized (`coursekit.nets.bernoulli`); every PixelCNN has `loss(x) -> {"loss": exact
NLL}` for `coursekit.train.train_likelihood` (x: the [-1, 1] batch) and `nll(x_bin) -> (B,)` nats
per image. The gated net has two stacks: the *vertical* stack sees the rows above a pixel, the
*horizontal* stack the pixels left of it in its own row; "horizontal" always means that stack.

Every forward checks its input's shape and dtype (no host sync: forwards run every training step;
NaN in gives NaN out, as torch's layers); `nll` also checks that x_bin is binary (one host sync).
A PixelCNN is convolutional, so it models binary images of any size (H, W >= 1).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_choice, check_count, check_images, check_widths
from .bernoulli import _check_binary, _draw_binary, _nll


# ---------------------------------------------------------------- masked convolution
def causal_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """The (k, k) mask of a PixelCNN convolution: 1 where the kernel may look.

    Rows above the centre, and the centre row left of the centre, are visible. Mask "A" (the
    first layer) also hides the centre (a pixel must not see itself); mask "B" (later layers)
    shows it (there the centre holds features of earlier pixels only).
    """
    kernel_size = _check_odd(kernel_size, "kernel_size")
    check_choice(mask_type, "mask_type", ("A", "B"))
    mask = torch.ones(kernel_size, kernel_size)
    c = kernel_size // 2
    mask[c, c + (mask_type == "B"):] = 0   # right of the centre (and the centre itself for A)
    mask[c + 1:] = 0                        # every row below
    return mask


class MaskedConv2d(nn.Conv2d):
    """A Conv2d whose kernel is multiplied by a causal mask ("A" or "B") on every call.

    (B, C_in, H, W) -> (B, C_out, H, W) ("same" padding, odd kernel). Output (i, j) depends only
    on inputs before (i, j) in raster order, plus (i, j) itself for mask B. One channel group:
    for colour images PixelCNN also masks R -> G -> B within a pixel; binary digits need not.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str = "B", **kwargs):
        in_channels, out_channels = check_count(in_channels, "in_channels"), check_count(out_channels, "out_channels")
        kernel_size = _check_odd(kernel_size, "kernel_size")
        mask = causal_mask(kernel_size, mask_type)
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, **kwargs)
        self.mask_type = mask_type
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, in_channels, H, W) float -> (B, out_channels, H, W)."""
        check_images(x, "x", channels=self.in_channels, floating=True)
        return self._conv_forward(x, self.weight * self.mask, self.bias)


# ---------------------------------------------------------------- PixelCNN
class _Autoregressive(nn.Module):
    """What every PixelCNN shares: forward(x_bin) -> logits of p(x_ij = 1 | pixels before ij)."""

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: the [-1, 1] batch (B, 1, H, W), binarized here. "loss" = exact -log p(x) in nats per image.

        Called every training step: shape and dtype are checked, values are not (that needs a host
        sync); NaN pixels give a NaN loss, which the engine's divergence check stops at."""
        x_bin = _draw_binary(check_images(x, "x", channels=1, floating=True))
        return {"loss": _nll(self(x_bin), x_bin).mean()}

    def nll(self, x_bin: torch.Tensor) -> torch.Tensor:
        """Exact -log p(x) (B,) in nats of binary images x_bin (B, 1, H, W), 0.0 / 1.0 (checked):
        the chain rule, Σ_ij -log p(x_ij | x_<ij)."""
        _check_binary(x_bin, size=None)
        return _nll(self(x_bin), x_bin)

    def sample(self, n: int, generator: torch.Generator | None = None,
               size: tuple[int, int] = (28, 28)) -> torch.Tensor:
        """n images (n, 1, H, W) float {0, 1} on the CPU: `sample_pixel_by_pixel(self, ...)`."""
        return sample_pixel_by_pixel(self, n, generator, size)


@torch.inference_mode()
def sample_pixel_by_pixel(model: nn.Module, n: int, generator: torch.Generator | None = None,
                          size: tuple[int, int] = (28, 28)) -> torch.Tensor:
    """The plain sampler of any PixelCNN (model: x_bin (B, 1, H, W) -> logits (B, 1, H, W)).

    n images (n, 1, H, W) float {0, 1} on the CPU, pixel by pixel in raster order, the batch at
    once: one forward pass per pixel, H·W passes. Rows below the current one cannot matter
    (causality), so each pass sees only rows 0..i. All uniforms are drawn up front from
    `generator`, so another sampler with the same draws must give the same images.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a PixelCNN (an nn.Module), got {type(model).__name__}")
    n, (H, W) = _check_sampling(n, generator, size)
    device = next(model.parameters()).device
    x = torch.zeros(n, 1, H, W, device=device)
    u = torch.rand(n, H, W, generator=generator).to(device)
    for i in range(H):
        for j in range(W):
            p = torch.sigmoid(model(x[:, :, : i + 1]).float()[:, 0, i, j])
            x[:, 0, i, j] = (u[:, i, j] < p).float()
    return x.cpu()


class PixelCNN(_Autoregressive):
    """The plain PixelCNN: one stack of masked convolutions (van den Oord et al. 2016).

    x_bin (B, 1, H, W) in {0, 1} -> logits (B, 1, H, W). A 7×7 mask-A convolution, `layers`
    residual blocks of 3×3 mask-B convolutions, then two 1×1 convolutions. Its receptive field
    has a *blind spot*: pixels above-right of (i, j) that no stack of such masks reaches.
    """

    def __init__(self, channels: int = 64, layers: int = 7):
        super().__init__()
        channels, layers = check_count(channels, "channels"), check_count(layers, "layers", minimum=0)
        self.input = MaskedConv2d(1, channels, 7, "A")
        self.blocks = nn.ModuleList(MaskedConv2d(channels, channels, 3, "B") for _ in range(layers))
        self.output = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x_bin (B, 1, H, W) -> logits (B, 1, H, W)."""
        h = self.input(check_images(x, "x", channels=1, floating=True))
        for block in self.blocks:
            h = h + block(F.relu(h))
        return self.output(h)


class StackConv(nn.Conv2d):
    """The two convolutions of the gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation").

    "vertical":   a k×k kernel that sees the rows above (and, unless `first`, its own row: in later
                  layers that row holds features of the rows above only). Input and output (B, C, H, W).
    "horizontal": a 1×k kernel that sees the pixels left of it in its row (and itself unless `first`).
    Together they cover every pixel before (i, j): no blind spot. `dilation` widens the kernel.
    """

    def __init__(self, in_channels: int, out_channels: int, kind: str, kernel_size: int = 3,
                 first: bool = False, dilation: int = 1):
        in_channels, out_channels = check_count(in_channels, "in_channels"), check_count(out_channels, "out_channels")
        kernel_size, dilation = _check_odd(kernel_size, "kernel_size"), check_count(dilation, "dilation")
        check_choice(kind, "kind", ("vertical", "horizontal"))
        c, pad = kernel_size // 2, dilation * (kernel_size // 2)
        if kind == "vertical":
            mask = torch.ones(kernel_size, kernel_size)
            mask[c + (0 if first else 1):] = 0
            super().__init__(in_channels, out_channels, kernel_size, padding=pad, dilation=dilation)
        elif kind == "horizontal":
            mask = torch.ones(1, kernel_size)
            mask[0, c + (0 if first else 1):] = 0
            super().__init__(in_channels, out_channels, (1, kernel_size), padding=(0, pad), dilation=dilation)
        self.kind = kind
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, in_channels, H, W) float -> (B, out_channels, H, W)."""
        check_images(x, "x", channels=self.in_channels, floating=True)
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class GatedLayer(nn.Module):
    """One gated layer: v, h (B, C, H, W) -> v', h'. Gate: tanh(a) · σ(b) on the two halves of 2C channels.

    The vertical features flow into the horizontal stack (a 1×1 convolution), never back:
    otherwise the vertical stack would see the current row.
    """

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        channels = check_count(channels, "channels")
        self.channels = channels
        self.vertical = StackConv(channels, 2 * channels, "vertical", dilation=dilation)
        self.horizontal = StackConv(channels, 2 * channels, "horizontal", dilation=dilation)
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)

    @staticmethod
    def gate(features: torch.Tensor) -> torch.Tensor:
        a, b = features.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward_vertical(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """v (B, C, H, W) -> (v', the 2C vertical features (B, 2C, H, W) the horizontal stack receives)."""
        check_images(v, "v", channels=self.channels, floating=True)
        v_feat = self.vertical(v)
        return self.gate(v_feat), self.v_to_h(v_feat)

    def forward_horizontal(self, h: torch.Tensor, from_v: torch.Tensor) -> torch.Tensor:
        """h (B, C, H, W), the vertical features (B, 2C, H, W) for the same rows -> h' (B, C, H, W) (residual)."""
        check_images(h, "h", channels=self.channels, floating=True)
        check_images(from_v, "from_v", channels=2 * self.channels, floating=True)
        _check_same_pixels(("h", h), ("from_v", from_v))
        return h + self.h_out(self.gate(self.horizontal(h) + from_v))

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """v, h (B, C, H, W) -> v', h' (B, C, H, W)."""
        check_images(v, "v", channels=self.channels, floating=True)
        check_images(h, "h", channels=self.channels, floating=True)
        _check_same_pixels(("v", v), ("h", h))
        v_new, from_v = self.forward_vertical(v)
        return v_new, self.forward_horizontal(h, from_v)


class GatedPixelCNN(_Autoregressive):
    """Gated PixelCNN with a vertical and a horizontal stack: no blind spot.

    x_bin (B, 1, H, W) in {0, 1} -> logits (B, 1, H, W). `dilations` gives one gated layer each
    (the default is the UvA tutorial's 1, 2, 1, 4, 1, 2, 1, whose receptive field spans a digit).
    Sampling caches the conditioning: the vertical stack depends only on the rows above, so it
    runs once per row; each pixel then only needs the horizontal stack on its own row.
    """

    def __init__(self, channels: int = 64, dilations: tuple[int, ...] = (1, 2, 1, 4, 1, 2, 1)):
        super().__init__()
        channels = check_count(channels, "channels")
        dilations = check_widths(dilations, "dilations")      # one gated layer per dilation
        self.v_in = StackConv(1, channels, "vertical", kernel_size=3, first=True)
        self.h_in = StackConv(1, channels, "horizontal", kernel_size=3, first=True)
        self.layers = nn.ModuleList(GatedLayer(channels, d) for d in dilations)
        self.output = nn.Sequential(nn.ELU(), nn.Conv2d(channels, channels, 1), nn.ELU(), nn.Conv2d(channels, 1, 1))

    def vertical_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, 1, H, W) -> for each layer, the vertical features (B, 2C, H, W) it passes to the horizontal stack."""
        v, out = self.v_in(check_images(x, "x", channels=1, floating=True)), []
        for layer in self.layers:
            v, from_v = layer.forward_vertical(v)
            out.append(from_v)
        return out

    def row_logits(self, x: torch.Tensor, from_v: list[torch.Tensor]) -> torch.Tensor:
        """x (B, 1, R, W), the vertical features for the same rows -> the horizontal stack -> logits (B, 1, R, W)."""
        if not isinstance(from_v, (list, tuple)) or len(from_v) != len(self.layers):
            raise ValueError(f"from_v must be a list of {len(self.layers)} tensors, one per gated layer "
                             "(what vertical_features(x) returns)")
        check_images(x, "x", channels=1, floating=True)
        for fv in from_v:
            _check_same_pixels(("x", x), ("from_v", fv))
        h = self.h_in(x)
        for layer, fv in zip(self.layers, from_v):
            h = layer.forward_horizontal(h, fv)
        return self.output(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x_bin (B, 1, H, W) -> logits (B, 1, H, W)."""
        return self.row_logits(x, self.vertical_features(x))

    @torch.inference_mode()
    def sample(self, n: int, generator: torch.Generator | None = None,
               size: tuple[int, int] = (28, 28)) -> torch.Tensor:
        """n images (n, 1, H, W) float {0, 1} on the CPU; the same draws as `sample_pixel_by_pixel`,
        but H passes of the vertical stack (rows 0..i) and H·W passes of the horizontal one on one
        row (columns 0..j)."""
        n, (H, W) = _check_sampling(n, generator, size)
        device = next(self.parameters()).device
        x = torch.zeros(n, 1, H, W, device=device)
        u = torch.rand(n, H, W, generator=generator).to(device)
        for i in range(H):
            from_v = [f[:, :, i: i + 1] for f in self.vertical_features(x[:, :, : i + 1])]  # row i's conditioning
            for j in range(W):  # columns right of j cannot matter either: crop them
                logits = self.row_logits(x[:, :, i: i + 1, : j + 1], [f[..., : j + 1] for f in from_v])
                x[:, 0, i, j] = (u[:, i, j] < torch.sigmoid(logits.float()[:, 0, 0, j])).float()
        return x.cpu()


def _check_same_pixels(a: tuple[str, torch.Tensor], b: tuple[str, torch.Tensor]) -> None:
    """Two feature maps of the same images and pixels: equal batch size, H and W (sync-free)."""
    (name_a, x_a), (name_b, x_b) = a, b
    if not isinstance(x_b, torch.Tensor) or x_b.dim() != 4 or (x_a.shape[0], *x_a.shape[2:]) != (x_b.shape[0], *x_b.shape[2:]):
        got = tuple(x_b.shape) if isinstance(x_b, torch.Tensor) else type(x_b).__name__
        raise ValueError(f"{name_a} and {name_b} must cover the same images and pixels (B, ·, H, W): "
                         f"{name_a} is {tuple(x_a.shape)}, {name_b} is {got}")


def _check_odd(kernel_size, name: str) -> int:
    kernel_size = check_count(kernel_size, name)
    if kernel_size % 2 == 0:
        raise ValueError(f"{name} must be odd (a kernel with a centre pixel), got {kernel_size}")
    return kernel_size


def _check_sampling(n, generator, size) -> tuple[int, tuple[int, int]]:
    """n a whole number >= 1, generator None or a torch.Generator, size (H, W) whole numbers >= 1."""
    n = check_count(n, "n")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if isinstance(size, (str, bytes)) or not hasattr(size, "__len__") or len(size) != 2:
        raise ValueError(f"size must be (H, W), two whole numbers >= 1, got {size!r}")
    return n, (check_count(size[0], "size"), check_count(size[1], "size"))


__all__ = ["causal_mask", "MaskedConv2d", "PixelCNN", "StackConv", "GatedLayer", "GatedPixelCNN", "sample_pixel_by_pixel"]
