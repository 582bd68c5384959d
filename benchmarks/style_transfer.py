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
           .. conv3_1) at the same size and precision as coursekit: no losses, no optimiser. Run
           in both memory layouts, (B, C, H, W) and channels-last; the faster one is the bound.
bound_gram: the bound plus the five Gram matrices (forward and backward) that any method on
           these layers must compute: what is left above it is losses, optimiser and bookkeeping.
ceiling:   the bound's share of the arithmetic of a step (convolutions / (convolutions + Grams)),
           counted in FLOPs: the of_bound no method on these layers can pass at the bound's speed.

A step is one forward + backward pass, counted as evaluated on both sides (the tutorial's L-BFGS
runs up to 20 per `optimizer.step`; coursekit's line search may finish a few past `--steps`). Build and target computation are inside the timed call on both
sides. Runs are interleaved and repeated; rates are medians, and each ratio is the median of the
ratios within a repeat (neighbouring runs), so that a shared machine's slow drifts cancel. The RESULT line ends the output:
speedup = coursekit / tutorial, of_bound = coursekit / bound, of_bound_ceiling = the ceiling above,
of_bound_gram = coursekit / bound_gram, all at the first size;
style_loss_drop = first / last style loss of coursekit's run at that size.

    python benchmarks/style_transfer.py [--steps 100] [--repeats 5] [--sizes 256 128] [--precision auto]
    python benchmarks/style_transfer.py --threads 1 --clock cpu   # on a machine shared with other jobs
    python benchmarks/style_transfer.py --save-image result.png   # also the lesson's intro picture
    python benchmarks/style_transfer.py --sizes 256 --profile 20   # also where each side's time goes, per operator
"""
from __future__ import annotations

import argparse
import functools
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


FORMATS = {torch.contiguous_format: "nchw", torch.channels_last: "nhwc"}


def arithmetic(net: style.VGGFeatures, image: torch.Tensor) -> dict[str, float]:
    """FLOPs of one step (forward + backward to the pixels): the convolutions vs the Gram matrices.

    A convolution costs 2*C_in*C_out*k*k*H*W forward and as much again for the gradient of its
    input (the weights are frozen: no weight gradient); a Gram matrix 2*C*C*H*W forward and as
    much again backward. Pooling, ReLU and the losses are memory-bound and left out.
    """
    counts = {"network": 0.0, "grams": 0.0}

    def count_conv(module, inputs, output):
        counts["network"] += 2 * 2 * module.in_channels * output.numel() * module.kernel_size[0] * module.kernel_size[1]

    hooks = [m.register_forward_hook(count_conv) for m in net.body if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        feats = net(image)
    for hook in hooks:
        hook.remove()
    for name in STYLE_LAYERS:
        _, c, h, w = feats[name].shape
        counts["grams"] += 2 * 2 * c * c * h * w
    return counts


def rate(fn, clock=time.perf_counter) -> tuple[float, object]:
    """Run fn() -> (steps, extra); return (steps per second of `clock`, extra)."""
    start = clock()
    steps, extra = fn()
    return steps / (clock() - start), extra


def where_the_time_goes(run, top: int = 7) -> str:
    """The operators that take the most time per step (torch.profiler, self time), for `--profile`.

    run() does the steps and returns how many it did. What this showed on a 2-core Xeon with AMX
    (256 px, bf16): the Gram matrices' matrix products, the additions where a style layer's gradient
    from its Gram meets the one from the layer above (memory-bound, one per style layer), and in
    coursekit L-BFGS's own vector work and the fp32 content loss.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        steps = run()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) / steps / 1000
    return f"{total:.1f} ms of operator time per step; most: " + ", ".join(
        f"{e.key.replace('aten::', '')} {e.self_cpu_time_total / steps / 1000:.1f}" for e in events[:top])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 128], help="longer side in px; the first one is the RESULT")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="coursekit's (and the bound's) precision")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                        help="cpu: this process's CPU seconds, steadier on a shared machine (use with --threads 1)")
    parser.add_argument("--profile", type=int, default=0, metavar="STEPS",
                        help="also profile this many steps of the bound, the bound with Grams and coursekit: where the time goes")
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
            return len(history["step"]), history  # L-BFGS may finish its last line search past n

        def bare_passes(n, memory_format, grams):
            """n forward + backward passes of the truncated network alone (grams=False) or with
            the five Gram matrices as the only loss (grams=True), in one memory format."""
            image = content.clone().requires_grad_(True)
            for _ in range(n):
                x = ((image if dtype is None else image.to(dtype)) - net.mean) / net.std
                x, loss = x.contiguous(memory_format=memory_format), 0
                for name, layer in zip(net.names, net.body):
                    x = layer(x)
                    if grams and name in STYLE_LAYERS:
                        loss = loss + style.gram(x).sum()
                (loss if grams else x.float().sum()).backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return n, None

        runs = {"tutorial": tutorial, "coursekit": coursekit}
        for fmt, label in FORMATS.items():  # the bound is the faster format: coursekit's own choice is not assumed
            runs[f"bound_{label}"] = functools.partial(bare_passes, memory_format=fmt, grams=False)
            runs[f"bound_gram_{label}"] = functools.partial(bare_passes, memory_format=fmt, grams=True)
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
        for kind in ("bound", "bound_gram"):  # per repeat, the faster memory format
            rates[kind] = [max(pair) for pair in zip(*(rates[f"{kind}_{label}"] for label in FORMATS.values()))]
        med = {k: statistics.median(v) for k, v in rates.items()}
        # ratios of runs next to each other, then their median: slow drifts of a shared machine cancel
        for ratio, (top, bottom) in {"speedup": ("coursekit", "tutorial"), "of_bound": ("coursekit", "bound"),
                                     "of_bound_gram": ("coursekit", "bound_gram")}.items():
            med[ratio] = statistics.median(t / b for t, b in zip(rates[top], rates[bottom]))
        flops = arithmetic(net, content if dtype is None else content.to(dtype))
        med["of_bound_ceiling"] = flops["network"] / (flops["network"] + flops["grams"])
        print(f"{size} px arithmetic per step: network {flops['network'] / 1e9:.2f} GFLOP, Gram matrices "
              f"{flops['grams'] / 1e9:.2f} GFLOP (+{flops['grams'] / flops['network']:.0%}): at the bound's speed no method "
              f"on these layers can exceed of_bound={med['of_bound_ceiling']:.2f}")
        rows[size] = (med, drop)
        if args.profile:
            for name in ("bound", "bound_gram", "coursekit"):
                fn = runs[f"{name}_nhwc"] if name.startswith("bound") else runs[name]
                print(f"{size} px, {name}: " + where_the_time_goes(lambda: fn(args.profile)[0]))
        print(f"{size} px ({tuple(content.shape[-2:])}): tutorial {med['tutorial']:.2f} | coursekit {med['coursekit']:.2f} | "
              f"bound {med['bound']:.2f} | bound with Grams {med['bound_gram']:.2f} steps/s -> speedup "
              f"{med['speedup']:.2f}, of bound {med['of_bound']:.2f} (with Grams {med['of_bound_gram']:.2f}); "
              f"style loss {drop:.1f}x lower in {args.steps} L-BFGS steps")

    if args.save_image:
        image, history = style.transfer("chelsea.png", "starry_night.jpg", size=256, steps=300, device=device, progress=False)
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
                  f" speedup_{size}={m['speedup']:.2f} of_bound_{size}={m['of_bound']:.2f}")
    print(f"RESULT size={first} tutorial_steps_s={med['tutorial']:.2f} coursekit_steps_s={med['coursekit']:.2f} "
          f"bound_steps_s={med['bound']:.2f} speedup={med['speedup']:.2f} of_bound={med['of_bound']:.2f} "
          f"of_bound_ceiling={med['of_bound_ceiling']:.2f} of_bound_gram={med['of_bound_gram']:.2f} "
          f"style_loss_drop={drop:.1f}{extra}")


if __name__ == "__main__":
    main()
