"""The live training plot keeps its drawing to a small share of the time and shows the last step."""
import ipywidgets as W
import matplotlib.pyplot as plt
import pytest
import torch

import coursekit as ck


class Clock:
    """A stand-in for time.perf_counter that moves only when told to."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def slow_figure(clock, seconds, drawn):
    def figure():
        clock.now += seconds  # drawing takes `seconds`
        drawn.append(clock.now)
        return plt.figure()
    return figure


def test_redraws_take_at_most_max_share_of_the_time_and_finish_draws_the_last(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(ck.plot.time, "perf_counter", clock)
    frames = []
    live = ck.plot.LivePlot({"loss": ["a"]}, target=W.Image(format="png"), max_share=0.05)
    monkeypatch.setattr(live, "figure", slow_figure(clock, 1.0, frames))
    for step in range(100):              # a log step every 0.5 s of training, 50 s in all
        clock.now += 0.5
        live.update(step, {"a": float(step)})
    # a draw costs 1 s, so the next waits 19 s: 3 draws (3 s) in 53 s
    assert frames == [1.5, 21.5, 41.5]  # when each draw ended
    live.finish()
    assert len(frames) == 4 and live.history["step"][-1] == 99
    live.finish()                        # nothing new: no redraw
    assert len(frames) == 4


def test_max_share_none_draws_every_update_and_bad_values_are_refused(monkeypatch):
    target = W.Image(format="png")
    frames = []
    target.observe(lambda change: frames.append(change["new"]), names="value")
    live = ck.plot.LivePlot({"loss": ["a"]}, with_images=True, target=target, max_share=None)
    for step in range(3):
        live.update(step, {"a": 1.0}, images=torch.zeros(1, 3, 8, 8))
    assert len(frames) == 3
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="max_share"):
            ck.plot.LivePlot({"loss": ["a"]}, max_share=bad)


def test_latent_explorer_redraws_its_picture_when_a_slider_moves():
    torch.manual_seed(0)
    explorer = ck.widgets.latent_explorer(ck.nets.MLPGenerator().eval(), steps=4)
    sliders, picture = explorer.children[0].children, explorer.children[1]
    first = bytes(picture.value)
    assert first[:4] == b"\x89PNG"
    sliders[1].value = 7                 # seed B
    assert bytes(picture.value)[:4] == b"\x89PNG" and bytes(picture.value) != first
