"""coursekit.data on the real shared samples: shapes, values, caching, device batches."""
import io
import tarfile
from pathlib import Path

import pytest
import torch
from PIL import Image

import coursekit as ck


def test_mnist_train_and_test(data_root):
    train, test = ck.data.load_mnist(train=True), ck.data.load_mnist(train=False)
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 1, 28, 28)
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]  # the famous first digits
    assert train.labels.dtype == torch.int64 and set(train.labels.unique().tolist()) == set(range(10))
    assert abs(train.images.float().mean().item() / 255 - 0.1307) < 1e-3


def test_mnist_matches_torchvision_reading_the_staged_files(data_root):
    import torchvision
    staged = ck.data.stage_mnist_for_torchvision()
    tv = torchvision.datasets.MNIST(staged, train=False, download=False)
    ours = ck.data.load_mnist(train=False)
    assert torch.equal(tv.data, ours.images[:, 0]) and torch.equal(tv.targets, ours.labels)


def test_flowers102_train_val(data_root):
    s = ck.data.load_flowers102("train+val", size=32)
    assert s.images.shape == (2040, 3, 32, 32) and s.images.dtype == torch.uint8
    assert s.labels.min() == 0 and s.labels.max() == 101
    assert s.images.float().std() > 20  # real photos, not a blank tensor


def test_decoded_tensors_are_cached(data_root, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    first = ck.data.load_flowers102("val", size=16)
    cached = list((tmp_path / "tensors").glob("flowers102-val-16-*.pt"))
    assert len(cached) == 1
    second = ck.data.load_flowers102("val", size=16)
    assert torch.equal(first.images, second.images)
    cached[0].write_bytes(b"half a file")  # a broken cache file is rebuilt, with a warning
    with pytest.warns(UserWarning, match="unreadable cache file"):
        third = ck.data.load_flowers102("val", size=16)
    assert torch.equal(first.images, third.images)


def make_flowers17_tgz(path: Path, photos: list[Path], numbers: list[int]) -> Path:
    """A 17flowers.tgz in the official layout (jpg/image_NNNN.jpg, jpg/files.txt) of real photos."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        names = []
        for photo, n in zip(photos, numbers):
            name = f"jpg/image_{n:04d}.jpg"
            tar.add(photo, arcname=name)
            names.append(name.split("/")[1])
        listing = ("\n".join(names) + "\n").encode()
        info = tarfile.TarInfo("jpg/files.txt")
        info.size = len(listing)
        tar.addfile(info, io.BytesIO(listing))
    return path


def test_flowers17_from_its_official_archive_layout(flower_photos, tmp_path):
    numbers = [1 + 80 * k for k in range(17)] + [80, 1360]  # first of each class, last of two
    make_flowers17_tgz(tmp_path / "flowers-17" / "17flowers.tgz", flower_photos[:19], numbers)
    s = ck.data.load_flowers17(size=24, root=tmp_path, download=False)
    assert s.images.shape == (19, 3, 24, 24)
    assert s.labels.tolist() == list(range(17)) + [0, 16]
    assert s.classes[0] == "daffodil" and s.classes[16] == "pansy"


def test_image_folder_modes_and_classes(flower_photos, tmp_path):
    photo = Image.open(flower_photos[0])
    (tmp_path / "roses").mkdir()
    (tmp_path / "tulips").mkdir()
    photo.convert("L").save(tmp_path / "roses" / "gray.png")
    photo.convert("RGBA").save(tmp_path / "roses" / "rgba.png")
    photo.convert("CMYK").save(tmp_path / "tulips" / "cmyk.jpg")
    photo.save(tmp_path / "tulips" / "rgb.JPG")
    s = ck.data.load_image_folder(tmp_path, size=40)
    assert s.images.shape == (4, 3, 40, 40) and s.classes == ["roses", "tulips"]
    assert s.labels.tolist() == [0, 0, 1, 1] and s.skipped == []
    gray = ck.data.load_image_folder(tmp_path, size=40, grayscale=True)
    assert gray.images.shape == (4, 1, 40, 40)


def test_exif_rotation_is_applied(flower_photos, tmp_path):
    photo = Image.open(flower_photos[0]).convert("RGB").resize((60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    photo.save(tmp_path / "rotated.jpg", exif=exif)
    x = ck.images.load_image(tmp_path / "rotated.jpg")
    assert x.shape == (1, 3, 60, 40)  # displayed upright: taller than wide


def test_load_image_resizes_keeping_aspect(data_root):
    x = ck.images.load_image(data_root / "style" / "starry_night.jpg", max_side=128)
    assert x.shape == (1, 3, 80, 128) and 0 <= x.min() and x.max() <= 1


def test_device_batches_cover_each_image_once_per_epoch():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    batches = ck.batches.DeviceBatches(images, batch_size=5, seed=1)
    epoch = torch.cat([b for b in batches])
    assert len(batches) == 2 and epoch.shape == (10, 1, 2, 2)
    seen = ((epoch[:, 0, 0, 0] + 1) * 127.5).round().long().sort().values
    assert seen.tolist() == list(range(10)) and epoch.min() == -1


def test_device_batches_resume_exactly():
    images = torch.randint(0, 256, (50, 1, 4, 4), dtype=torch.uint8)
    labels = torch.arange(50)
    straight = ck.batches.DeviceBatches(images, labels, batch_size=8, seed=7)
    expected = [straight.next_batch()[1] for _ in range(20)]
    first = ck.batches.DeviceBatches(images, labels, batch_size=8, seed=7)
    got = [first.next_batch()[1] for _ in range(9)]
    resumed = ck.batches.DeviceBatches(images, labels, batch_size=8, seed=0)
    resumed.load_state_dict(first.state_dict())
    got += [resumed.next_batch()[1] for _ in range(11)]
    assert all(torch.equal(a, b) for a, b in zip(expected, got))
    assert resumed.epoch == 3


def test_subset_is_stable(data_root):
    mnist = ck.data.load_mnist(train=False)
    assert torch.equal(mnist.subset(100).labels, mnist.subset(100).labels)
    assert len(mnist.subset(100)) == 100


@pytest.mark.parametrize("n", [-3, 0])
def test_subset_of_no_images_is_refused(n):
    s = ck.data.ImageSet(torch.zeros(5, 1, 2, 2, dtype=torch.uint8), torch.arange(5), list("abcde"), "tiny")
    with pytest.raises(ValueError, match=f"n must be a whole number >= 1.*got {n}"):
        s.subset(n)
    assert len(s.subset(5)) == len(s.subset(99)) == 5


def test_plot_grid_ranges_and_live_plot_is_quiet_headless(capsys):
    u8 = torch.full((4, 1, 8, 8), 255, dtype=torch.uint8)
    fl = torch.full((4, 3, 8, 8), -1.0)
    assert ck.plot.image_grid(u8)[:, 2:10, 2:10].min() == 1.0
    assert ck.plot.image_grid(fl)[:, 2:10, 2:10].max() == 0.0
    live = ck.plot.LivePlot({"loss": ["a", "b"]}, with_images=True)
    for step in range(3):
        live.update(step, {"a": step, "b": -step}, images=fl)
    assert live.history["step"] == [0, 1, 2] and live.history["b"] == [0.0, -1.0, -2.0]
    assert capsys.readouterr().out == ""
    fig = live.figure()  # the figure can still be drawn after training
    assert len(fig.axes) == 2
