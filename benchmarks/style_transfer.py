"""Style-transfer speed, like for like: the PyTorch tutorial's code as published vs `ck.style.transfer`.

tutorial:  "Neural Transfer Using PyTorch" (pytorch.org/tutorials/advanced/neural_style_tutorial):
           loss modules spliced into an nn.Sequential rebuilt from VGG19's features, the model
           trimmed after the last loss layer, its default layers (style conv_1..conv_5, content
           conv_4), L-BFGS with its default settings, fp32. Only its progress prints are left out.
coursekit: `ck.style.transfer(..., optimizer="lbfgs")` on the same layers (conv1_1, conv1_2,
           conv2_1, conv2_2, conv3_1; content conv2_2) with the same VGG19 weights and max
           pooling, in its automatic precision (bf16 where the processor runs it natively;
           `--precision fp32` stands in for a processor without it).
bound:     a bare forward + backward pass of the same truncated network (normalisation, conv1_1
           .. conv3_1) at the same size and precision as coursekit: no losses, no optimiser.
bound_gram: the bound plus the five Gram matrices (forward and backward) that any method on
           these layers must compute: what is left above it is losses, optimiser and bookkeeping.

A step is one forward + backward pass (the tutorial's L-BFGS runs up to 20 per `optimizer.step`,
all counted; coursekit runs one). Build and target computation are inside the timed call on both
sides. Runs are interleaved and repeated; medians are reported. The RESULT line ends the output:
speedup = coursekit / tutorial, of_bound = coursekit / bound, of_bound_gram = coursekit /
bound_gram, all at the first size;
style_loss_drop = first / last style loss of coursekit's run at that size.

    python benchmarks/style_transfer.py [--steps 100] [--repeats 3] [--sizes 256 128] [--precision auto]
    python benchmarks/style_transfer.py --threads 1 --clock cpu   # on a machine shared with other jobs
    python benchmarks/style_transfer.py --save-image result.png   # also the lesson's intro picture
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torchvision.transforms.v2 import functional as TF

import coursekit as ck
from coursekit import style

# ---------------------------------------------------------------- the tutorial, as published
content_layers_default = ["conv_4"]
style_layers_default = ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]
cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])


class ContentLoss(nn.Module):
    def __init__(self, target):
        super(ContentLoss, self).__init__()
        self.target = target.detach()

    def forward(self, input):
        self.loss = F.mse_loss(input, self.target)
        return input


def gram_matrix(input):
    a, b, c, d = input.size()
    features = input.view(a * b, c * d)
    G = torch.mm(features, features.t())
    return G.div(a * b * c * d)


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super(StyleLoss, self).__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, input):
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super(Normalization, self).__init__()
        self.mean = mean.clone().detach().view(-1, 1, 1)  # published: torch.tensor(mean), which warns
        self.std = std.clone().detach().view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


def get_style_model_and_losses(cnn, normalization_mean, normalization_std, style_img, content_img,
                               content_layers=content_layers_default, style_layers=style_layers_default):
    normalization = Normalization(normalization_mean, normalization_std)
    content_losses = []
    style_losses = []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = "conv_{}".format(i)
        elif isinstance(layer, nn.ReLU):
            name = "relu_{}".format(i)
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = "pool_{}".format(i)
        elif isinstance(layer, nn.BatchNorm2d):
            name = "bn_{}".format(i)
        else:
            raise RuntimeError("Unrecognized layer: {}".format(layer.__class__.__name__))
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module("content_loss_{}".format(i), content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module("style_loss_{}".format(i), style_loss)
            style_losses.append(style_loss)
    # now we trim off the layers after the last content and style losses
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
            break
    model = model[:(i + 1)]
    return model, style_losses, content_losses


def get_input_optimizer(input_img):
    optimizer = optim.LBFGS([input_img])
    return optimizer


def run_style_transfer(cnn, normalization_mean, normalization_std, content_img, style_img, input_img,
                       num_steps=300, style_weight=1000000, content_weight=1):
    model, style_losses, content_losses = get_style_model_and_losses(cnn, normalization_mean, normalization_std,
                                                                     style_img, content_img)
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = get_input_optimizer(input_img)
    run = [0]
    while run[0] <= num_steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight
            content_score *= content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            return style_score + content_score
        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return input_img, run[0]  # published: returns input_img; the step count is for the rate


# ---------------------------------------------------------------- the same work in coursekit's names
STYLE_LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")  # the tutorial's conv_1 .. conv_5
CONTENT_LAYERS = ("conv2_2",)                                              # the tutorial's conv_4


def rate(fn, clock=time.perf_counter) -> tuple[float, object]:
    """Run fn() -> (steps, extra); return (steps per second of `clock`, extra)."""
    start = clock()
    steps, extra = fn()
    return steps / (clock() - start), extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 128], help="longer side in px; the first one is the RESULT")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="coursekit's (and the bound's) precision")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                        help="cpu: this process's CPU seconds, steadier on a shared machine (use with --threads 1)")
    parser.add_argument("--save-image", default=None, help="also save a 256 px Adam result (content | result | style)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    device = ck.runtime.pick_device()
    print(ck.runtime.machine_summary(device))
    print(f"timing: {args.clock} clock, {torch.get_num_threads()} threads, {args.steps} steps x {args.repeats} interleaved repeats")
    dtype = style.network_dtype(device, args.precision)
    print(f"coursekit precision: {args.precision} -> {dtype or 'fp32'}; tutorial: fp32 as published")

    cnn, pretrained = style.load_vgg19(True)
    cnn = cnn.to(device)
    print(f"VGG19 weights: {'ImageNet (pretrained)' if pretrained else 'seeded random fallback'}, the same on every side")
    extractor = style.VGGFeatures(STYLE_LAYERS + CONTENT_LAYERS, pooling="max").to(device)  # the tutorial's pooling
    net = style.in_precision(extractor, dtype, device)
    bound_net = nn.Sequential(*net.body)  # the same truncated network, one output

    rows = {}
    for size in args.sizes:
        content = style.prepare("chelsea.png", size).to(device)
        # the tutorial needs both images at one size (its content loss also sees the style image)
        painting = TF.resize(style.prepare("starry_night.jpg", size), list(content.shape[-2:]), antialias=True).to(device)
        mean, std = cnn_normalization_mean.to(device), cnn_normalization_std.to(device)

        def tutorial(n):
            return run_style_transfer(cnn, mean, std, content, painting, content.clone(), num_steps=n)[::-1]

        def coursekit(n):
            _, history = style.transfer(content, painting, size=size, steps=n, optimizer="lbfgs", extractor=extractor,
                                        style_layers=STYLE_LAYERS, content_layers=CONTENT_LAYERS, device=device,
                                        precision=args.precision, progress=False)
            return n, history

        def bound(n):
            image = content.clone().requires_grad_(True)
            for _ in range(n):
                x = image if dtype is None else image.to(dtype)
                bound_net((x - net.mean) / net.std).float().sum().backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return n, None

        def bound_gram(n):
            image = content.clone().requires_grad_(True)
            for _ in range(n):
                feats = net(image if dtype is None else image.to(dtype))
                sum(style.gram(feats[k]).sum() for k in STYLE_LAYERS).backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return n, None

        runs = {"tutorial": tutorial, "coursekit": coursekit, "bound": bound, "bound_gram": bound_gram}
        for fn in runs.values():
            fn(3)  # warm-up: kernel selection, allocator
        rates, drop = {k: [] for k in runs}, None
        for r in range(args.repeats):
            for name, fn in runs.items():
                steps_s, extra = rate(lambda: fn(args.steps), clock)
                rates[name].append(steps_s)
                if name == "coursekit" and drop is None:
                    drop = extra["style"][0] / extra["style"][-1]
            print(f"{size} px, repeat {r + 1}: " + " | ".join(f"{k} {v[-1]:.2f} steps/s" for k, v in rates.items()))
        med = {k: statistics.median(v) for k, v in rates.items()}
        rows[size] = (med, drop)
        print(f"{size} px ({tuple(content.shape[-2:])}): tutorial {med['tutorial']:.2f} | coursekit {med['coursekit']:.2f} | "
              f"bound {med['bound']:.2f} | bound with Grams {med['bound_gram']:.2f} steps/s -> speedup "
              f"{med['coursekit'] / med['tutorial']:.2f}, of bound {med['coursekit'] / med['bound']:.2f} "
              f"(with Grams {med['coursekit'] / med['bound_gram']:.2f}); style loss {drop:.1f}x lower in {args.steps} L-BFGS steps")

    if args.save_image:
        image, history = style.transfer("chelsea.png", "starry_night.jpg", size=256, steps=300, device=device)
        from torchvision.utils import save_image
        row = [style.prepare("chelsea.png", 256), image, style.prepare("starry_night.jpg", 256)]
        h = min(x.shape[-2] for x in row)
        save_image(torch.cat([x[..., :h, :] for x in row], dim=3), args.save_image)
        print(f"saved {args.save_image}: Adam 300 steps at 256 px, style loss "
              f"{history['style'][0]:.3f} -> {history['style'][-1]:.4f} in {history['seconds'][-1]:.0f} s")

    first = args.sizes[0]
    (med, drop), extra = rows[first], ""
    for size in args.sizes[1:]:
        m = rows[size][0]
        extra += (f" tutorial_steps_s_{size}={m['tutorial']:.2f} coursekit_steps_s_{size}={m['coursekit']:.2f}"
                  f" speedup_{size}={m['coursekit'] / m['tutorial']:.2f} of_bound_{size}={m['coursekit'] / m['bound']:.2f}")
    print(f"RESULT size={first} tutorial_steps_s={med['tutorial']:.2f} coursekit_steps_s={med['coursekit']:.2f} "
          f"bound_steps_s={med['bound']:.2f} speedup={med['coursekit'] / med['tutorial']:.2f} "
          f"of_bound={med['coursekit'] / med['bound']:.2f} of_bound_gram={med['coursekit'] / med['bound_gram']:.2f} "
          f"style_loss_drop={drop:.1f}{extra}")


if __name__ == "__main__":
    main()
