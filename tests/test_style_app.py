"""The style-transfer app driven as a student drives it (upload, Run), and lesson 5's Colab pictures."""
import base64
import io
import json
import re
from pathlib import Path

import ipywidgets as W
import numpy as np
import pytest
import torch
from PIL import Image

import coursekit as ck
from coursekit import style

REPO = Path(__file__).resolve().parents[1]


def upload(widget: W.FileUpload, name: str, data: bytes) -> None:
    """Put a file into a FileUpload the way the browser does (the frontend's JSON state).

    ipywidgets 8 (JupyterLab) syncs `value`; ipywidgets 7.7 (Colab) syncs `data`, `metadata`
    and a counter, from which it builds `value`. The Colab rehearsal runs this under 7.7.
    """
    if W.__version__.startswith("7."):
        widget.set_state({"metadata": [{"name": name, "type": "image/jpeg", "size": len(data),
                                        "lastModified": 1_700_000_000_000}],
                          "data": [memoryview(data)], "_counter": widget._counter + 1})
    else:
        widget.set_state({"value": [{"name": name, "type": "image/jpeg", "size": len(data), "content": memoryview(data),
                                     "last_modified": 1_700_000_000_000}]})


def decode_png(data: bytes) -> torch.Tensor:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the preview is not a PNG image"
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


@pytest.fixture(scope="module")
def extractor():
    return style.VGGFeatures()


@pytest.fixture
def app(extractor):
    app = ck.widgets.style_transfer_app(extractor=extractor)
    app.size.value, app.steps.value = 64, 10  # the smallest the sliders allow: a few seconds
    return app


def test_run_with_an_uploaded_photo_shows_the_final_image(app, flower_photos):
    upload(app.uploads["content"], "my_flower.jpg", flower_photos[0].read_bytes())
    frames = []
    app.preview.observe(lambda change: frames.append(change["new"]), names="value")
    app.run.click()
    assert "done" in app.status.value and "Could not run" not in app.status.value, app.status.value
    assert app.progress.value == 10 and not app.run.disabled
    assert len(frames) >= 2  # the live plot at step 10, then the final row
    result = app.result
    assert result.shape[:2] == (1, 3) and max(result.shape[-2:]) == 64
    # the preview now shows content | result | style, and its middle picture is exactly the result
    row = decode_png(app.preview.value)
    content = style.prepare(ck.images.decode_bytes(flower_photos[0].read_bytes()), 64)
    h, w = result.shape[-2:]
    left = content.shape[-1] + ck.widgets.ROW_GAP
    shown = row[:, :h, left:left + w]
    assert torch.equal(shown, (result[0] * 255).round().to(torch.uint8))
    assert torch.equal(row[:, :h, :content.shape[-1]], (content[0] * 255).round().to(torch.uint8))


def test_the_live_preview_draws_into_the_app_not_a_display_handle(app):
    frames = []
    app.preview.observe(lambda change: frames.append(change["new"]), names="value")
    app.steps.value = 20
    app.run.click()
    plots = frames[:-1]  # every 10 steps a plot (losses | image so far), then the final row
    assert len(plots) == 2 and plots[0] != plots[1] and frames[-1] not in plots
    assert all(decode_png(f).shape[0] == 3 for f in frames)


@pytest.mark.parametrize("name, make, expected", [
    ("notes.txt", lambda photo: b"these are my notes, not a picture\n", "notes.txt: not a readable image"),
    ("empty.jpg", lambda photo: b"", "empty.jpg: the uploaded file is empty"),
    ("cut.jpg", lambda photo: photo[: len(photo) // 2], "cut.jpg: not a readable image"),
])
def test_a_bad_upload_shows_the_reason_in_the_app(app, flower_photos, name, make, expected):
    upload(app.uploads["style"], name, make(flower_photos[1].read_bytes()))
    app.run.click()
    assert "Could not run" in app.status.value and expected in app.status.value, app.status.value
    assert app.result is None and not app.run.disabled  # nothing ran; the student can upload again


def test_other_errors_are_shown_too(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")
    monkeypatch.setattr(style, "transfer", broken)
    app.run.click()
    assert "RuntimeError" in app.status.value and "out of memory" in app.status.value


def test_labels_are_not_cut_off(app):
    for slider in [*app.sliders.values(), app.size, app.steps, app.progress]:
        assert slider.style.description_width == "initial", slider.description
    for button in app.uploads.values():  # "content image" in full: the button grows with its text
        assert button.layout.width == "auto", button.description


def test_live_plot_with_a_target_draws_into_an_image_widget_headless():
    target = W.Image(format="png")
    live = ck.plot.LivePlot({"loss": ["a"]}, with_images=True, target=target, max_share=None)
    live.update(1, {"a": 1.0}, images=torch.zeros(1, 3, 8, 8))
    first = target.value
    live.update(2, {"a": 0.5}, images=torch.zeros(1, 3, 8, 8))
    assert first[:4] == b"\x89PNG" and target.value != first


# ---------------------------------------------------------------- pictures travel inside the notebook
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)|<img[^>]*\bsrc\s*=\s*[\"']([^\"']+)", re.I)


def test_every_notebook_picture_is_a_cell_attachment():
    """Colab opens a notebook without the repository beside it, and JupyterLab may be offline: a
    relative or web address shows only alt text there. An attachment shows everywhere."""
    found = 0
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for link in (a or b for a, b in IMAGE_LINK.findall("".join(cell["source"]))):
                found += 1
                assert link.startswith("attachment:"), f"{nb.name}: picture {link} is not a cell attachment"
                name = link[len("attachment:"):]
                data = cell.get("attachments", {}).get(name, {}).get("image/png", "")
                assert base64.b64decode(data)[:4] == b"\x89PNG", f"{nb.name}: attachment {name} is missing"
    assert found >= 1  # lesson 5 opens with a picture
