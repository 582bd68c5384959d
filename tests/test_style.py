"""Style transfer: the Gram matrix, the losses, the extractor, the offline fallback, bad input."""
import functools

import pytest
import torch
import torchvision

import coursekit as ck
from coursekit import style


def test_gram_against_a_hand_computed_case():
    f = torch.tensor([[[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]])  # (1, C=2, H=2, W=2)
    # channel 0 flattened: [1, 2, 0, 1], channel 1: [0, 1, 1, 0]
    # dot products: <c0,c0> = 6, <c0,c1> = 2, <c1,c1> = 2; normalised by C*H*W = 8
    expected = torch.tensor([[[6.0, 2.0], [2.0, 2.0]]]) / 8
    assert torch.allclose(style.gram(f), expected)


def test_gram_normalisation_makes_it_size_independent():
    torch.manual_seed(0)
    tile = torch.rand(1, 4, 8, 8)
    big = tile.repeat(1, 1, 3, 3)  # the same texture on a 3x larger canvas
    assert torch.allclose(style.gram(tile), style.gram(big), atol=1e-6)
    assert style.gram(torch.rand(2, 5, 3, 7)).shape == (2, 5, 5)


def test_gram_ignores_layout():
    torch.manual_seed(0)
    f = torch.rand(1, 6, 10, 10)
    shuffled = f.flatten(2)[..., torch.randperm(100)].view(1, 6, 10, 10)
    assert torch.allclose(style.gram(f), style.gram(shuffled), atol=1e-6)


def test_tv_loss_of_a_constant_image_is_zero_and_of_noise_is_not():
    assert style.tv_loss(torch.full((1, 3, 16, 16), 0.3)).item() == 0.0
    assert style.tv_loss(torch.rand(1, 3, 16, 16)).item() > 0.05


def test_content_and_style_losses_are_zero_at_the_target():
    torch.manual_seed(0)
    feats = {"a": torch.rand(1, 4, 6, 6), "b": torch.rand(1, 8, 3, 3)}
    grams = {k: style.gram(v) for k, v in feats.items()}
    assert style.style_loss(feats, grams).item() == 0.0
    assert style.content_loss(feats["a"], feats["a"]).item() == 0.0
    assert style.style_loss({k: 2 * v for k, v in feats.items()}, grams).item() == pytest.approx(2 * 9.0)  # (4-1)^2 per layer


def test_layer_names_follow_vgg19():
    names = style.vgg19_layer_names()
    assert len(names) == 37 and names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert [names.index(n) for n in style.STYLE_LAYERS] == [1, 6, 11, 20, 29]
    assert names.index("relu4_2") == 22


@pytest.fixture(scope="module")
def extractor():
    return style.VGGFeatures(pooling="avg")


def test_extractor_returns_exactly_the_requested_layers_with_their_shapes(extractor):
    out = extractor(torch.rand(2, 3, 64, 96))
    assert set(out) == set(style.STYLE_LAYERS + style.CONTENT_LAYERS)
    expected = {"relu1_1": (64, 64, 96), "relu2_1": (128, 32, 48), "relu3_1": (256, 16, 24),
                "relu4_1": (512, 8, 12), "relu4_2": (512, 8, 12), "relu5_1": (512, 4, 6)}
    assert {k: tuple(v.shape[1:]) for k, v in out.items()} == expected
    assert len(extractor.body) == 30  # cut after relu5_1: nothing deeper is computed
    assert not any(p.requires_grad for p in extractor.parameters())


def test_extractor_pooling_choice():
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in style.VGGFeatures(["relu2_1"], pooling="avg").body)
    assert any(isinstance(m, torch.nn.MaxPool2d) for m in style.VGGFeatures(["relu2_1"], pooling="max").body)
    with pytest.raises(ValueError, match="unknown VGG19 layers"):
        style.VGGFeatures(["relu9_9"])


def test_missing_weights_take_the_fallback_with_one_clear_line(monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
    monkeypatch.setattr(torchvision.models.VGG19_Weights.DEFAULT, "get_state_dict", offline)
    style.load_vgg19.cache_clear()
    try:
        features, pretrained = style.load_vgg19(True)
    finally:
        style.load_vgg19.cache_clear()
    out = capsys.readouterr().out
    assert not pretrained and out.count("\n") == 1
    assert out.startswith("Pretrained VGG19 weights unavailable") and "random weights" in out
    again, _ = style.load_vgg19(False)  # the fallback is seeded: the same weights every time
    assert all(torch.equal(a, b) for a, b in zip(features.state_dict().values(), again.state_dict().values()))


def test_transfer_lowers_the_style_loss(extractor):
    image, history = style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=40, extractor=extractor,
                                    device="cpu")
    assert image.shape == (1, 3, 43, 64) and 0 <= image.min() and image.max() <= 1
    assert history["style"][-1] < history["style"][0] / 3
    assert len(history["total"]) == 40


def test_bad_images_get_clear_errors(extractor, tmp_path):
    with pytest.raises(ValueError, match="shorter side under 32 px"):
        style.prepare(torch.rand(1, 3, 20, 300), size=300)
    gray = style.prepare(torch.rand(1, 1, 64, 64), size=64)
    assert gray.shape == (1, 3, 64, 64)
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ck.DataError, match="notes.jpg: not a readable image"):
        style.prepare(tmp_path / "notes.jpg", size=64)
    with pytest.raises(ck.DataError, match="unknown course image"):
        style.prepare("no_such_painting.jpg", size=64)


def test_huge_images_are_resized_with_a_message(capsys):
    x = style.prepare(torch.rand(1, 3, 1200, 1600), size=128)
    assert x.shape == (1, 3, 96, 128)
    assert "resizing a 1600×1200 px image to a longer side of 128 px" in capsys.readouterr().out


# ---------------------------------------------------------------- issue 14: nothing wrong passes silently
def test_uint8_images_are_scaled_not_clamped_to_white():
    torch.manual_seed(0)
    u8 = torch.randint(0, 256, (1, 3, 48, 64), dtype=torch.uint8)
    x = style.prepare(u8, size=64)
    assert torch.allclose(x, u8.float() / 255)
    assert x.mean() < 0.9  # an all-white clamp would give 1.0 everywhere
    assert torch.allclose(style.prepare(u8[0], size=64), x)  # (3, H, W) too


@pytest.mark.parametrize("image, hint", [
    (torch.rand(1, 3, 48, 64) * 255, "divide by 255"),
    (torch.rand(1, 3, 48, 64) * 2 - 1, "(x + 1) / 2"),
    (torch.randint(0, 256, (1, 3, 48, 64)), "dtype torch.int64"),
])
def test_images_in_another_range_are_refused_with_the_fix(image, hint):
    with pytest.raises(ValueError, match="image tensor") as err:
        style.prepare(image, size=64)
    assert hint in str(err.value)


def test_an_extractor_lacking_a_requested_layer_names_it():
    shallow = style.VGGFeatures(["relu1_1", "relu2_1"])
    with pytest.raises(ValueError, match=r"does not return the layer\(s\) \['relu3_1', 'relu4_1', 'relu5_1', 'relu4_2'\]"):
        style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=1, extractor=shallow, device="cpu")
    # asking only for the layers it has works, and so does pure texture (no content layer)
    _, history = style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=2, extractor=shallow, device="cpu",
                                style_layers=("relu1_1", "relu2_1"), content_layers=(), progress=False)
    assert history["content"] == [0.0, 0.0] and history["style"][0] > 0


@pytest.mark.parametrize("steps", [0, -5, 2.5, True])
def test_steps_must_be_a_positive_whole_number(steps):
    with pytest.raises(ValueError, match="steps must be a whole number >= 1"):
        style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=steps, device="cpu")


def test_other_arguments_are_checked_before_any_work():
    with pytest.raises(ValueError, match="optimizer must be"):
        style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=1, optimizer="sgd", device="cpu")
    with pytest.raises(ValueError, match="precision must be"):
        style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=1, precision="fp8", device="cpu")


# ---------------------------------------------------------------- speed without changing the result
def test_gram_backward_is_the_true_gradient():
    f = torch.randn(2, 5, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(style.gram, (f,))
    one = torch.randn(1, 5, 3, 4, dtype=torch.float64, requires_grad=True)  # the single-image path
    assert torch.autograd.gradcheck(style.gram, (one,))


def test_bf16_gram_is_close_to_fp32_and_returns_fp32():
    torch.manual_seed(0)
    f = torch.rand(1, 64, 32, 32)
    g16 = style.gram(f.bfloat16())
    assert g16.dtype == torch.float32
    assert ((g16 - style.gram(f)).norm() / style.gram(f).norm()) < 1e-2


def test_the_bf16_copy_of_the_extractor_is_made_once(extractor):
    for _ in range(2):
        _, history = style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=2, extractor=extractor,
                                    device="cpu", precision="bf16", progress=False)
    copies = style._low_precision_copies[extractor]
    assert list(copies) == [(torch.bfloat16, torch.device("cpu"))]
    assert next(copies[(torch.bfloat16, torch.device("cpu"))].parameters()).dtype == torch.bfloat16
    assert next(extractor.parameters()).dtype == torch.float32  # the student's extractor is untouched


def test_fp32_and_bf16_agree_on_the_losses(extractor):
    runs = {p: style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=10, extractor=extractor, device="cpu",
                              precision=p, progress=False)[1] for p in ("fp32", "bf16")}
    assert runs["fp32"]["style"][0] == pytest.approx(runs["bf16"]["style"][0], rel=0.05)
    assert runs["bf16"]["style"][-1] < runs["bf16"]["style"][0] / 2


def test_relus_are_in_place_only_where_no_requested_output_is_overwritten():
    ext = style.VGGFeatures(["conv1_1", "relu1_2", "relu2_1"])
    relus = {name: m.inplace for name, m in zip(ext.names, ext.body) if isinstance(m, torch.nn.ReLU)}
    assert relus == {"relu1_1": False, "relu1_2": True, "relu2_1": True}
    x = torch.rand(1, 3, 32, 32)
    out = ext(x)
    assert out["conv1_1"].min() < 0  # the conv output was kept, not overwritten by its ReLU
    assert torch.allclose(out["relu1_2"], torch.relu(ext.body[:3]((x - ext.mean) / ext.std)), atol=1e-5)  # (B, C, H, W) order: same up to rounding


def test_offline_download_attempt_prints_one_line(monkeypatch, capsys, tmp_path):
    """torch.hub announces 'Downloading: ...' before it knows it cannot: that line must not show."""
    import urllib.error

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(torch.hub, "urlopen", no_network)
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))  # nothing cached
    style.load_vgg19.cache_clear()
    try:
        _, pretrained = style.load_vgg19(True)
    finally:
        style.load_vgg19.cache_clear()
    captured = capsys.readouterr()
    assert not pretrained and "Downloading" not in captured.out + captured.err
    assert captured.out.count("\n") == 1 and captured.out.startswith("Pretrained VGG19 weights unavailable")


# ---------------------------------------------------------------- channels-last features and L-BFGS with clamping
def test_extractor_returns_channels_last_features_and_the_same_numbers(extractor):
    x = torch.rand(1, 3, 48, 64)
    out = extractor(x)
    assert all(v.is_contiguous(memory_format=torch.channels_last) for v in out.values())
    plain = (x - extractor.mean) / extractor.std  # the same layers in (B, C, H, W) order
    for name, layer in zip(extractor.names, extractor.body):
        plain = layer(plain)
        if name == "relu2_1":
            break
    assert torch.allclose(out["relu2_1"], plain, atol=1e-4)


def test_gram_of_channels_last_features_matches_and_its_gradient_keeps_the_layout():
    torch.manual_seed(0)
    for batch in (1, 2):
        f = torch.randn(batch, 5, 3, 4, dtype=torch.float64)
        last = f.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        assert torch.allclose(style.gram(last), style.gram(f))
        assert torch.autograd.gradcheck(style.gram, (last,))
        style.gram(last).sum().backward()
        assert last.grad.is_contiguous(memory_format=torch.channels_last)


def test_content_loss_is_the_same_in_either_layout_and_with_a_precomputed_power():
    torch.manual_seed(0)
    f, t = torch.rand(1, 8, 5, 6), torch.rand(1, 8, 5, 6)
    expected = ((f - t) ** 2).mean() / (t ** 2).mean()
    cl = torch.channels_last
    assert style.content_loss(f, t).item() == pytest.approx(expected.item(), rel=1e-6)
    assert style.content_loss(f.contiguous(memory_format=cl), t.contiguous(memory_format=cl),
                              t.square().mean()).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("layers, size", [("course", 64), ("tutorial", 64), ("tutorial", 72), ("tutorial", 80)])
def test_lbfgs_lowers_the_style_loss_steadily(precision, layers, size):
    """With a line search, no clamp between its steps and a unit-length first step, L-BFGS falls steadily.

    Clamping the pixels after each L-BFGS step without a line search let the style loss jump
    10,000x above the level it had reached and end 1.7x to 300x lower, depending on size and threads.
    Starting the first line search at torch's 1/||g||_1 let the first trial of the second
    iteration overshoot 8-14x (tutorial layers: bf16 at 64 px on an AMX CPU, fp32 at 72 px,
    fp32 Grams with bf16 features at 80 and 96 px); from 1/||g||_2 the highest was 0.29x.
    """
    kw = {} if layers == "course" else dict(extractor=_tutorial_extractor(), style_layers=TUTORIAL_STYLE,
                                            content_layers=("conv2_2",))
    image, history = style.transfer("chelsea.png", "starry_night.jpg", size=size, steps=40, optimizer="lbfgs",
                                    precision=precision, device="cpu", progress=False, **kw)
    s = history["style"]
    assert 40 <= len(s) <= 45 and history["step"] == list(range(1, len(s) + 1))
    assert s[-1] < s[0] / 10
    assert max(s[5:]) < 10 * s[0]
    assert 0 <= image.min() and image.max() <= 1


TUTORIAL_STYLE = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")


@functools.cache
def _tutorial_extractor():
    return style.VGGFeatures(TUTORIAL_STYLE, pooling="max")


def test_the_callback_ends_with_the_result():
    shown = []
    image, history = style.transfer("chelsea.png", "starry_night.jpg", size=64, steps=12, optimizer="lbfgs",
                                    device="cpu", progress=False, callback=lambda step, img, h: shown.append((step, img)))
    assert shown[0][0] == 10 and shown[-1][0] == len(history["step"])
    assert torch.equal(shown[-1][1], image)
