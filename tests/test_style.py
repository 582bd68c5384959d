"""Style transfer: the Gram matrix, the losses, the extractor, the offline fallback, bad input."""
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
