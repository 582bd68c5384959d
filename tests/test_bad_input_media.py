"""Issue 21's bullets on style transfer, downloads, image folders and the style app, each as the
bad input a student gave and what it now gets (tests/test_api_catalogue.py walks the rest)."""
import http.server
import re
import shutil
import threading
import time

import ipywidgets as W
import pytest
import torch

import coursekit as ck
from coursekit import DataError, style
from test_style_app import upload


# ---------------------------------------------------------------- style transfer
@pytest.fixture(scope="module")
def extractor():
    return style.VGGFeatures()


def test_a_nan_content_image_is_refused_before_any_step(extractor, flower_photos):
    """Before: an all-NaN image and NaN losses, no error."""
    content = ck.images.load_image(flower_photos[0], max_side=64)
    content[0, 0, 5, 5] = float("nan")
    calls = []
    with pytest.raises(ValueError, match="content contains NaN"):
        style.transfer(content, "starry_night.jpg", size=64, steps=2, extractor=extractor, device="cpu",
                       progress=False, callback=lambda *args: calls.append(args))
    assert calls == []  # refused before the first step
    with pytest.raises(ValueError, match="style contains NaN"):
        style.transfer("chelsea.png", content, size=64, steps=2, extractor=extractor, device="cpu", progress=False)


@pytest.mark.parametrize("side", [1, 16, 31])
def test_an_image_under_32_px_is_refused_not_upscaled(extractor, side):
    """Before: a 1x1 image was silently upscaled to `size` (one flat colour to transfer)."""
    tiny = torch.rand(1, 3, side, side)
    with pytest.raises(ValueError, match=rf"content of {side}×{side} px has a shorter side under 32 px.*"
                                         r"at least 32×32 px"):
        style.transfer(tiny, "starry_night.jpg", size=64, steps=1, extractor=extractor, device="cpu", progress=False)
    if side < 16:  # VGG19's own floor: 4 poolings before relu5_1
        with pytest.raises(ValueError, match=rf"images must be at least 16x16 pixels, got {side}x{side}"):
            extractor(tiny)
    else:
        assert extractor(tiny)["relu5_1"].shape[-2:] == (side // 16, side // 16)


def test_the_smallest_image_accepted_is_32_px(extractor, flower_photos):
    content, painting = (ck.images.load_image(p, max_side=48)[..., :32, :32] for p in flower_photos[:2])
    image, history = style.transfer(content, painting, size=32, steps=2, extractor=extractor, device="cpu",
                                    progress=False)
    assert image.shape == (1, 3, 32, 32) and torch.isfinite(image).all() and len(history["style"]) == 2


# ---------------------------------------------------------------- downloads
@pytest.fixture
def trickle():
    """A local server that announces 1,000 bytes and sends one byte per second."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return
                if stop.wait(1.0):
                    return

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    stop.set()
    server.shutdown()
    server.server_close()


def test_a_server_sending_one_byte_a_second_hits_the_deadline_and_leaves_no_part_file(trickle, tmp_path, monkeypatch):
    """Before: the timeout was per read, so the download never ended, and a .part file stayed behind."""
    monkeypatch.setattr(ck.download, "TIMEOUT_S", 5.0)  # a byte every second never trips the per-read timeout
    url = f"{trickle}/painting.jpg"
    start = time.perf_counter()
    with pytest.raises(DataError, match=rf"the download of {re.escape(url)} did not finish within 2 s: "
                                        r"\d+ of 1,000 bytes arrived"):
        ck.download.download_file(url, tmp_path / "painting.jpg", deadline_s=2.0)
    assert time.perf_counter() - start < 8
    assert list(tmp_path.iterdir()) == []  # neither the file nor painting.jpg.part


def test_the_default_deadline_covers_images_fetched_by_url(trickle, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(ck.download, "TIMEOUT_S", 5.0)
    monkeypatch.setattr(ck.download, "DEADLINE_S", 2.0)
    with pytest.raises(DataError, match="did not finish within 2 s"):
        ck.images.load_image(f"{trickle}/starry_night.jpg")
    assert list((tmp_path / "downloads").iterdir()) == []


# ---------------------------------------------------------------- image folders
def test_links_to_nothing_and_folders_named_like_images_are_named(flower_photos, tmp_path):
    """Before: symlink loops, dangling links and a folder named x.jpg were dropped without a word.
    Now each is named in the warning (and in .skipped); the readable photos load."""
    for photo in flower_photos[:2]:
        shutil.copy(photo, tmp_path)
    (tmp_path / "loop_a.jpg").symlink_to(tmp_path / "loop_b.jpg")
    (tmp_path / "loop_b.jpg").symlink_to(tmp_path / "loop_a.jpg")
    (tmp_path / "gone.png").symlink_to(tmp_path / "deleted.png")
    (tmp_path / "x.jpg").mkdir()
    with pytest.warns(UserWarning, match="skipped 4 of 6 files") as record:
        s = ck.data.load_image_folder(tmp_path, size=16)
    assert len(s) == 2
    message = str(record[0].message)
    for name in ("loop_a.jpg", "loop_b.jpg", "gone.png"):
        assert re.search(rf"{name}: a symbolic link to nothing", message), message
    assert re.search(r"x.jpg: a folder, not an image file", message), message
    assert len(s.skipped) == 4


def test_a_folder_with_only_such_entries_is_an_error_listing_them(tmp_path):
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (tmp_path / "x.jpg").mkdir()
    with pytest.raises(DataError, match=r"holds no image files.*skipped 2 entries named like images:"
                                        r"\n  .*gone.jpg: a symbolic link to nothing.*\n  .*x.jpg: a folder"):
        ck.data.load_image_folder(tmp_path)


# ---------------------------------------------------------------- the style app
def test_the_style_app_given_a_text_file_renamed_jpg(extractor, flower_photos):
    """Before: "Could not run: notes.jpg: not a readable image (cannot identify image file <_io.BytesIO
    object at 0x7f958c1d83b0>)", the previous run's preview and a full "step 150" bar stayed on
    screen, and the upload buttons never showed which file was loaded."""
    app = ck.widgets.style_transfer_app(extractor=extractor)
    app.size.value, app.steps.value = 64, 10
    assert app.loaded["content"].value == "chelsea.png (course image)"
    assert app.loaded["style"].value == "starry_night.jpg (course image)"
    upload(app.uploads["content"], "my_flower.jpg", flower_photos[0].read_bytes())
    assert app.loaded["content"].value.startswith("my_flower.jpg (")
    app.run.click()  # a good run first: its picture and a full progress bar are on screen
    assert "done" in app.status.value and app.preview.value and app.progress.value == 10

    upload(app.uploads["style"], "notes.jpg", b"my notes for the lesson, not a picture\n")
    assert app.loaded["style"].value.startswith("notes.jpg (")
    app.run.click()
    status = app.status.value
    assert "Could not run" in status and "notes.jpg: not a readable image" in status, status
    assert "object at 0x" not in status and "BytesIO" not in status and "&lt;" not in status, status
    assert app.preview.value == b""  # nothing left that looks like a result
    assert app.progress.value == 0 and app.progress.description == "step 0"
    assert not app.run.disabled
    # the label sits beside its button
    first_row = app.children[0].children
    assert first_row.index(app.loaded["style"]) == first_row.index(app.uploads["style"]) + 1
    assert isinstance(app.loaded["style"], W.Label)
