"""Bad input gets one clear message naming the file or the expected shape, and loses nothing."""
import gzip
import shutil
import urllib.error
import urllib.request

import pytest
import torch
import torchvision

import coursekit as ck
from coursekit import DataError


def test_missing_mnist_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="COURSEKIT_DATA") as err:
        ck.data.load_mnist(root=tmp_path, download=False)
    assert "download=True" in str(err.value) and str(tmp_path) in str(err.value)


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError, match="could not get MNIST.*internet connection.*COURSEKIT_DATA"):
        ck.data.load_mnist(root=tmp_path, download=True)


def test_truncated_mnist_gz_names_the_file(data_root, tmp_path):
    raw = tmp_path / "mnist" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(data_root / "mnist/raw/t10k-labels-idx1-ubyte.gz", raw)
    whole = (data_root / "mnist/raw/t10k-images-idx3-ubyte.gz").read_bytes()
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(whole[: len(whole) // 3])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz is truncated or corrupt"):
        ck.data.load_mnist(train=False, root=tmp_path, download=False)


def test_short_idx_file_names_the_file_and_sizes(data_root, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    labels = gzip.decompress((data_root / "mnist/raw/t10k-labels-idx1-ubyte.gz").read_bytes())
    images = gzip.decompress((data_root / "mnist/raw/t10k-images-idx3-ubyte.gz").read_bytes())
    (raw / "t10k-labels-idx1-ubyte").write_bytes(labels)
    (raw / "t10k-images-idx3-ubyte").write_bytes(images[:-784])  # one digit short
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte is truncated.*7,840,016 bytes"):
        ck.data.load_mnist(train=False, root=tmp_path, download=False)


def test_corrupt_flowers17_archive_names_it(flower_photos, tmp_path):
    from test_data import make_flowers17_tgz
    archive = make_flowers17_tgz(tmp_path / "flowers-17" / "17flowers.tgz", flower_photos[:30], range(1, 31))
    archive.write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(DataError, match="17flowers.tgz is truncated or corrupt"):
        ck.data.load_flowers17(size=16, root=tmp_path, download=False)


def test_missing_flowers17_says_where_to_get_it(tmp_path):
    with pytest.raises(DataError, match=r"Flowers-17 not found.*17flowers.tgz.*COURSEKIT_DATA"):
        ck.data.load_flowers17(root=tmp_path, download=False)


def test_missing_flowers102_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match=r"Flowers-102 not found or incomplete under .*download=True.*COURSEKIT_DATA"):
        ck.data.load_flowers102(root=tmp_path, download=False)


def test_missing_flowers102_image_is_named(data_root, tmp_path):
    folder = tmp_path / "flowers-102"
    (folder / "jpg").mkdir(parents=True)
    for name in ("imagelabels.mat", "setid.mat"):
        shutil.copy(data_root / "flowers-102" / name, folder)
    with pytest.raises(DataError, match=r"image_\d{5}\.jpg"):
        ck.data.load_flowers102("val", size=16, root=tmp_path, download=False)


def test_folder_with_unreadable_files_loads_the_rest(flower_photos, tmp_path):
    for photo in flower_photos[:3]:
        shutil.copy(photo, tmp_path)
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "cut.jpg").write_bytes(flower_photos[3].read_bytes()[:600])
    with pytest.warns(UserWarning, match="skipped 2 of 5 files") as record:
        s = ck.data.load_image_folder(tmp_path, size=16)
    assert len(s) == 3 and len(s.skipped) == 2
    assert "notes.png" in str(record[0].message) and "cut.jpg" in str(record[0].message)


def test_folder_with_no_images(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match="holds no image files"):
        ck.data.load_image_folder(tmp_path)


def test_non_image_file_and_missing_file(tmp_path):
    (tmp_path / "a.jpg").write_text("plain text")
    with pytest.raises(DataError, match="a.jpg: not a readable image"):
        ck.images.load_image(tmp_path / "a.jpg")
    with pytest.raises(DataError, match="no such file"):
        ck.images.load_image(tmp_path / "b.jpg")


def test_failed_url_download(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("offline")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="could not download https://example.org/cat.jpg"):
        ck.images.load_image("https://example.org/cat.jpg")


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(10, 28, 28, dtype=torch.uint8), r"shape \(N, C, H, W\), got \(10, 28, 28\).*unsqueeze"),
    (torch.zeros(10, 784, dtype=torch.uint8), r"shape \(N, C, H, W\), got \(10, 784\)"),
    (torch.zeros(10, 1, 28, 28), "dtype torch.uint8"),
])
def test_wrong_shapes_name_the_expected_shape(bad, message):
    with pytest.raises(ValueError, match=message):
        ck.batches.DeviceBatches(bad, batch_size=2)


def test_check_images_with_channels_and_size():
    with pytest.raises(ValueError, match=r"\(N, 3, 64, 64\), got \(2, 1, 64, 64\)"):
        ck.checks.check_images(torch.zeros(2, 1, 64, 64), channels=3, size=64)
    with pytest.raises(ValueError, match=r"\(N, C, 28, 28\)"):
        ck.checks.check_images(torch.zeros(2, 1, 28, 20), size=28)
    with pytest.raises(ValueError, match="batch_size must be in 1..4"):
        ck.batches.DeviceBatches(torch.zeros(4, 1, 2, 2, dtype=torch.uint8), batch_size=8)


def test_uploaded_bytes_decode_or_name_the_upload(flower_photos):
    x = ck.images.decode_bytes(flower_photos[0].read_bytes(), "my_flower.jpg")
    assert x.dim() == 4 and x.shape[:2] == (1, 3) and 0 <= x.min() and x.max() <= 1
    with pytest.raises(DataError, match="my_notes.jpg: not a readable image"):
        ck.images.decode_bytes(b"these are not pixels", "my_notes.jpg")
