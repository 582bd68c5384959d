"""Style-transfer optimisation speed: coursekit vs the tutorial way, at 128 and 256 px, one process.

tutorial: the PyTorch tutorial's construction: loss modules spliced into an nn.Sequential rebuilt
          from VGG19, style targets recomputed by running the growing model from the input for
          each loss layer, the whole VGG19 run to its end every step, fp32.
coursekit: `ck.style.transfer`: VGG19 cut after relu5_1, targets computed once in one pass,
          bf16 autocast where the processor runs it natively.
Both: the same VGG19 weights (pretrained, or the seeded random fallback offline), chelsea.png
with starry_night.jpg, L-BFGS with one function evaluation per step, the same step count,
build and target computation included in the time. Ends with a RESULT line; style_loss_drop =
initial / final style loss of coursekit's 128 px run.

    python benchmarks/style_transfer.py [--steps 100] [--save-image result.png]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.v2 import functional as TF

import coursekit as ck
from coursekit import style


# ---------------------------------------------------------------- the tutorial way
def gram_matrix(x):
    a, b, c, d = x.size()
    features = x.view(a * b, c * d)
    return torch.mm(features, features.t()).div(a * b * c * d)


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, x):
        self.loss = F.mse_loss(gram_matrix(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self):
        super().__init__()
        self.mean = torch.tensor(style.IMAGENET_MEAN).view(-1, 1, 1)
        self.std = torch.tensor(style.IMAGENET_STD).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


def tutorial_model(cnn, style_img, content_img, content_layers=("conv_4",),
                   style_layers=("conv_1", "conv_2", "conv_3", "conv_4", "conv_5")):
    model, content_losses, style_losses, i = nn.Sequential(Normalization()), [], [], 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name, layer = f"relu_{i}", nn.ReLU(inplace=False)
        else:
            name = f"pool_{i}"
        model.add_module(name, layer)
        if name in content_layers:
            loss = ContentLoss(model(content_img).detach())
            model.add_module(f"content_loss_{i}", loss)
            content_losses.append(loss)
        if name in style_layers:
            loss = StyleLoss(model(style_img).detach())
            model.add_module(f"style_loss_{i}", loss)
            style_losses.append(loss)
    return model, style_losses, content_losses  # not trimmed: the whole VGG19 runs every step


def run_tutorial(cnn, content_img, style_img, steps, style_weight=1e6, content_weight=1):
    model, style_losses, content_losses = tutorial_model(cnn, style_img, content_img)
    model.eval().requires_grad_(False)
    img = content_img.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([img], max_iter=1, history_size=50)

    def closure():
        with torch.no_grad():
            img.clamp_(0, 1)
        opt.zero_grad()
        model(img)
        s = sum(sl.loss for sl in style_losses)
        c = sum(cl.loss for cl in content_losses)
        loss = style_weight * s + content_weight * c
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return img.detach()


# ---------------------------------------------------------------- the measurement
def steps_per_second(fn, steps) -> float:
    start = time.perf_counter()
    fn(steps)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--save-image", default=None, help="also save a 256 px Adam result (content | result | style)")
    args = parser.parse_args()
    device = ck.runtime.pick_device()
    extractor = style.VGGFeatures(pooling="max").to(device)  # the tutorial's pooling, for a like-for-like time
    cnn, pretrained = style.load_vgg19(True)
    print(f"VGG19 weights: {'ImageNet (pretrained)' if pretrained else 'seeded random fallback'}")

    results, drop = {}, None
    for size in (128, 256):
        content = style.prepare("chelsea.png", size).to(device)
        # the tutorial's model needs both images at one size (its content loss also sees the style image)
        style_img = TF.resize(style.prepare("starry_night.jpg", size), list(content.shape[-2:]), antialias=True).to(device)
        tutorial = lambda n: run_tutorial(cnn.to(device), content, style_img, n)  # noqa: E731
        histories = []
        coursekit = lambda n: histories.append(style.transfer(content, style_img, size=size, steps=n, optimizer="lbfgs",  # noqa: E731
                                                              extractor=extractor, device=device, progress=False)[1])
        tutorial(3), coursekit(3)  # warm-up: kernel selection
        results[size] = (steps_per_second(tutorial, args.steps), steps_per_second(coursekit, args.steps))
        if size == 128:
            drop = histories[-1]["style"][0] / histories[-1]["style"][-1]
        print(f"{size} px: tutorial {results[size][0]:.2f} steps/s | coursekit {results[size][1]:.2f} steps/s | "
              f"speedup {results[size][1] / results[size][0]:.2f}")
    print(f"coursekit 128 px, {args.steps} L-BFGS steps: style loss {drop:.1f}x lower")

    if args.save_image:
        image, history = style.transfer("chelsea.png", "starry_night.jpg", size=256, steps=300, device=device)
        from torchvision.utils import save_image
        row = [style.prepare("chelsea.png", 256), image, style.prepare("starry_night.jpg", 256)]
        h = min(x.shape[-2] for x in row)
        save_image(torch.cat([x[..., :h, :] for x in row], dim=3), args.save_image)
        print(f"saved {args.save_image}: Adam 300 steps at 256 px, style loss "
              f"{history['style'][0]:.3f} -> {history['style'][-1]:.4f} in {history['seconds'][-1]:.0f} s")

    (t128, c128), (t256, c256) = results[128], results[256]
    print(f"RESULT tutorial_steps_s={t256:.2f} coursekit_steps_s={c256:.2f} speedup={c256 / t256:.2f} "
          f"tutorial_steps_s_128={t128:.2f} coursekit_steps_s_128={c128:.2f} speedup_128={c128 / t128:.2f} "
          f"style_loss_drop={drop:.1f}")


if __name__ == "__main__":
    main()
