"""Bad input gets one clear message naming the file or the expected shape, and loses nothing."""
import errno
import gzip
import hashlib
import http.server
import re
import shutil
import socket
import struct
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

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
    with pytest.raises(DataError, match="b.jpg does not exist"):
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


# ---------------------------------------------------------------- images and downloads (issue 14)
def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (what a decompression bomb looks like)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_skipped_and_named(flower_photos, tmp_path):
    for photo in flower_photos[:2]:
        shutil.copy(photo, tmp_path)
    bomb = tmp_path / "huge.png"
    bomb.write_bytes(png_header_claiming(20000, 20000))
    with pytest.warns(UserWarning, match="skipped 1 of 3 files") as record:
        s = ck.data.load_image_folder(tmp_path, size=16)
    assert len(s) == 2 and "huge.png: too large to open safely" in s.skipped[0]
    assert "huge.png" in str(record[0].message)
    with pytest.raises(DataError, match="huge.png: too large to open safely.*MAX_IMAGE_PIXELS"):
        ck.images.load_image(bomb)
    with pytest.raises(DataError, match="huge.png: too large"):
        ck.images.open_rgb(bomb)


@pytest.fixture
def web():
    """A local web server on 127.0.0.1: set pages[path] = (content type, body[, announced size])."""
    pages = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            content_type, body, *announced = pages[self.path]  # announced: a Content-Length that lies
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(announced[0] if announced else len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield pages, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_html_instead_of_an_image_is_not_cached_and_names_the_url(web, flower_photos, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    pages, base = web
    url = f"{base}/flower.jpg"
    pages["/flower.jpg"] = ("text/html", b"<html><body>Please log in</body></html>")
    with pytest.raises(DataError, match=f"{re.escape(url)} did not send an image: .* of text/html"):
        ck.images.load_image(url)
    assert list((tmp_path / "downloads").iterdir()) == []  # neither the page nor a .part file
    pages["/flower.jpg"] = ("image/jpeg", flower_photos[0].read_bytes())  # the server is fixed
    x = ck.images.load_image(url)
    assert x.shape[:2] == (1, 3) and x.std() > 0.05
    cached = list((tmp_path / "downloads").iterdir())
    assert len(cached) == 1
    cached[0].write_bytes(b"<html>an older coursekit cached this page</html>")
    assert torch.equal(ck.images.load_image(url), x)  # downloaded again, not stuck on the bad copy


def test_cut_download_is_truncated_and_not_kept(web, flower_photos, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    pages, base = web
    body = flower_photos[0].read_bytes()
    pages["/cut.jpg"] = ("image/jpeg", body[:1000], len(body))
    with pytest.raises(DataError, match=f"download of {re.escape(base)}/cut.jpg is truncated: the server "
                                        f"announced {len(body):,} bytes, 1,000 arrived"):
        ck.images.load_image(f"{base}/cut.jpg")
    assert list((tmp_path / "downloads").iterdir()) == []


def test_silent_server_times_out_naming_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(ck.download, "TIMEOUT_S", 1.0)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/starry_night.jpg"
        start = time.perf_counter()
        with pytest.raises(DataError, match=f"no answer from {re.escape(url)} within 1 s"):
            ck.images.load_image(url)
        assert time.perf_counter() - start < 10
    assert list((tmp_path / "downloads").iterdir()) == []


def test_wrong_checksum_is_refused_and_the_right_one_accepted(web, flower_photos, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    pages, base = web
    body = flower_photos[0].read_bytes()
    pages["/a.jpg"] = ("image/jpeg", body)
    monkeypatch.setitem(ck.download.CHECKSUMS, f"{base}/a.jpg", "sha256:" + "0" * 64)
    with pytest.raises(DataError, match=f"{re.escape(base)}/a.jpg sent .* whose sha256 is .*not the expected 0000"):
        ck.images.load_image(f"{base}/a.jpg")
    assert list((tmp_path / "downloads").iterdir()) == []
    monkeypatch.setitem(ck.download.CHECKSUMS, f"{base}/a.jpg", "sha256:" + hashlib.sha256(body).hexdigest())
    assert ck.images.load_image(f"{base}/a.jpg").shape[:2] == (1, 3)


def test_torchvision_downloads_get_the_timeout_and_restore_it(tmp_path, monkeypatch):
    seen = []

    def offline(*args, **kwargs):
        seen.append(socket.getdefaulttimeout())
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    monkeypatch.setattr(ck.download, "TIMEOUT_S", 7.0)
    before = socket.getdefaulttimeout()
    with pytest.raises(DataError, match="could not get MNIST"):
        ck.data.load_mnist(root=tmp_path, download=True)
    assert seen == [7.0] and socket.getdefaulttimeout() == before


def test_unwritable_cache_is_one_clear_error(tmp_path, monkeypatch):
    # Tests run as root, where chmod does not stop writes: a folder under a regular file cannot be made.
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "a_file" / "cache"))
    with pytest.raises(DataError, match="cache folder .* is not writable.*COURSEKIT_CACHE"):
        ck.data.load_mnist(train=False)
    with pytest.raises(DataError, match="cache folder .* is not writable.*COURSEKIT_CACHE"):
        ck.data.style_image("chelsea.png", root=tmp_path)  # not in this data folder: would be downloaded


def denied(*args, **kwargs):
    """What creating a file in a read-only folder raises for a user who is not root."""
    raise PermissionError(errno.EACCES, "Permission denied", str(kwargs.get("dir")))


def test_missing_flowers17_in_a_read_only_folder_says_so(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(DataError, match=r"cannot be downloaded there: the folder is not writable.*"
                                        r"COURSEKIT_DATA.*17flowers.tgz by hand") as err:
        ck.data.load_flowers17(root=tmp_path / "a_file" / "data", download=True)
    assert "internet" not in str(err.value)
    # A read-only folder as a non-root user sees it (root ignores chmod, so the refusal is simulated).
    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(DataError, match=r"Flowers-17 is not in .*flowers-17 and cannot be downloaded there: "
                                        r"the folder is not writable \(Permission denied\)") as err:
        ck.data.load_flowers17(root=tmp_path, download=True)
    assert "internet" not in str(err.value) and not (tmp_path / "flowers-17").exists()


def test_mnist_into_a_read_only_folder_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(DataError, match="MNIST is not in .*not writable.*COURSEKIT_DATA") as err:
        ck.data.load_mnist(root=tmp_path, download=True)
    assert "internet" not in str(err.value) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("load", [
    lambda root: ck.data.load_mnist(root=root, download=True),
    lambda root: ck.data.load_flowers102("val", size=16, root=root, download=True),
    lambda root: ck.data.load_flowers17(size=16, root=root, download=True),
], ids=["mnist", "flowers102", "flowers17"])
def test_failed_download_leaves_no_empty_folders(load, tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(urllib.request, "urlopen", offline)  # what torchvision and coursekit call
    (tmp_path / "kept").mkdir()
    with pytest.raises(DataError, match="could not"):
        load(tmp_path / "new" / "data")  # a data folder that does not exist yet
    with pytest.raises(DataError, match="could not"):
        load(tmp_path)  # an existing data folder: only what the call created goes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_flowers17_download_is_checked_before_it_is_kept(web, flower_photos, tmp_path, monkeypatch):
    from test_data import make_flowers17_tgz
    pages, base = web
    monkeypatch.setattr(ck.data.flowers, "FLOWERS17_URL", f"{base}/17flowers.tgz")
    pages["/17flowers.tgz"] = ("text/html", b"<html>moved</html>")
    with pytest.raises(DataError, match=f"{re.escape(base)}/17flowers.tgz did not send the Flowers-17 archive"):
        ck.data.load_flowers17(size=16, root=tmp_path / "data")
    assert not (tmp_path / "data").exists()
    archive = make_flowers17_tgz(tmp_path / "served.tgz", flower_photos[:3], [1, 81, 161])
    pages["/17flowers.tgz"] = ("application/x-gzip", archive.read_bytes())
    s = ck.data.load_flowers17(size=16, root=tmp_path / "data")
    assert s.labels.tolist() == [0, 1, 2] and (tmp_path / "data" / "flowers-17" / "17flowers.tgz").exists()


def test_published_checksums_match_the_copies_we_have(data_root):
    import matplotlib.cbook
    digests = ck.download.CHECKSUMS
    assert all(re.fullmatch(r"(sha256:[0-9a-f]{64}|md5:[0-9a-f]{32})", d) for d in digests.values())
    chelsea = digests[ck.data.STYLE_IMAGES["chelsea.png"]]  # the shared copy is the original bytes
    assert chelsea == "sha256:" + ck.download.file_digest(data_root / "style" / "chelsea.png")
    hopper = digests[ck.data.STYLE_IMAGES["grace_hopper.jpg"]]  # matplotlib ships the original
    assert hopper == "sha256:" + ck.download.file_digest(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
