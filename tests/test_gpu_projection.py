"""The committed T4 projection (benchmarks/gpu_projection.py --save): every lesson, its phases, the
assumptions it rests on, and the README's projection table quoting it."""
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROJECTION = REPO / "notebooks" / "results" / "gpu_projection.json"


@pytest.fixture(scope="module")
def projection() -> dict:
    assert PROJECTION.is_file(), "run python benchmarks/gpu_projection.py --save"
    return json.loads(PROJECTION.read_text())


def test_the_projection_states_its_assumptions(projection):
    assert "projection" in projection["what"] and "not a measurement" in projection["what"]
    assert {"fp16_tensor_tflops", "fp32_tflops", "bandwidth_gb_s", "memory_gb", "source"} <= set(projection["t4"])
    assert {"fp16_tensor_fraction", "fp32_fraction", "bandwidth_fraction", "launch_us", "why"} <= set(projection["assumed"])
    assert projection["goal"] == {"minutes": 15.0, "gb": 12.0}
    assert {"measured_on", "date", "torch", "wall_seconds"} <= set(projection)


def test_every_lesson_that_trains_is_projected_phase_by_phase(projection):
    assert sorted(projection["lessons"]) == ["1", "2", "3", "4", "5", "6"]
    for number, lesson in projection["lessons"].items():
        assert (REPO / "notebooks" / lesson["notebook"]).is_file()
        assert lesson["t4_minutes"] > 0 and lesson["t4_peak_gb"] > 0 and isinstance(lesson["within_goal"], bool)
        kinds = {p["kind"] for p in lesson["phases"]}
        assert "training" in kinds, number
        assert sum(p["t4_seconds"] for p in lesson["phases"]) / 60 == pytest.approx(lesson["t4_minutes"], abs=0.01)
        for phase in lesson["phases"]:
            counts = phase.get("per_step") or phase["per_call"]
            assert {"gflops_16bit", "gflops_fp32", "gbytes", "launches", "t4_seconds"} <= set(counts), phase["phase"]


def test_the_readme_quotes_the_projection_as_a_projection(projection):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Projected on a Colab T4"):]
    section = section[:section.index("\n## ")]
    assert "not a measurement" in section and "gpu_projection.json" in section
    for number, lesson in projection["lessons"].items():
        assert f"| {number} " in section and f"{lesson['t4_minutes']:.1f} min" in section and f"{lesson['t4_peak_gb']:.1f} GB" in section
