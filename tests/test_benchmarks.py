"""Every benchmark runs end to end (tiny sizes) and ends with a well-formed RESULT line."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script, args, keys", [
    ("data_pipeline.py", ["--batches", "20"], ["tutorial_img_s", "coursekit_img_s", "speedup"]),
    ("gan_loop.py", ["--steps", "20", "--repeats", "1"],
     ["tutorial_img_s", "coursekit_img_s", "bound_img_s", "speedup", "of_bound"]),
    ("dcgan_loop.py", ["--steps", "2", "--repeats", "1", "--size", "32", "--width", "8", "--batch", "16"],
     ["tutorial_img_s", "coursekit_img_s", "bound_img_s", "speedup", "of_bound"]),
    ("gan_quality.py", ["--seconds", "2", "--samples", "500", "--precision-steps", "20", "--precision-seeds", "2"],
     ["seconds", "tutorial_steps", "coursekit_steps", "tutorial_fd", "coursekit_fd", "floor_fd", "fp32_fd", "auto_fd"]),
    ("toy_gans.py", ["--runs", "4", "--steps", "20", "--sequential", "1"],
     ["runs_per_min", "sequential_runs_per_min", "speedup", "modes_covered_baseline", "modes_covered_fixed"]),
    ("style_transfer.py", ["--steps", "3", "--repeats", "1", "--sizes", "64"],
     ["tutorial_steps_s", "coursekit_steps_s", "bound_steps_s", "speedup", "of_bound", "of_bound_ceiling", "of_bound_gram",
      "style_loss_drop"]),
    ("likelihood_models.py", ["--budget", "tiny"],
     ["vae_nll_nats", "pixelcnn_nll_nats", "pixelcnn_sample_s_per_img", "vae_img_s", "pixelcnn_img_s"]),
    ("pixelcnn_speed.py", ["--channels", "4", "--steps", "1", "--repeats", "1"],   # the cropped model is checked inside
     ["channels", "plain_img_s", "bf16_x", "bf16_cl_x", "bf16_cl_compile_x", "crop_x", "bf16_cl_crop_x"]),
    ("lesson5_style.py", ["--budget", "quick", "--out", "{tmp}", "--threads", "1"],
     ["size", "main_style_ratio", "main_seconds", "lbfgs_ratio", "adam_ratio", "wall_seconds"]),
])
def test_benchmark_ends_with_a_result_line(script, args, keys, data_root, tmp_path):
    """{tmp} in the arguments: a temporary folder (a script that writes results never writes the committed ones here)."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"}, cwd=BENCHMARKS)
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT "), last
    values = dict(pair.split("=") for pair in last.split()[1:])
    assert [k for k in keys if k not in values] == []
    assert all(re.fullmatch(r"-?[\d.]+", v) for v in values.values()), values


def test_lesson3_runs_as_two_parts_and_merges(data_root, tmp_path):
    """lesson3_experiments.py: two --only parts into empty folders (as two processes on a 2-core CPU), then --merge
    joins them into one results file with every section the notebook reads, each part's record and both figures."""
    script = [sys.executable, str(BENCHMARKS / "lesson3_experiments.py"), "--budget", "tiny"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    parts = {"a": ["collapse", "sweeps", "progressive"], "b": ["mnist", "gradient"]}
    for name, sections in parts.items():
        done = subprocess.run([*script, "--only", *sections, "--out", str(tmp_path / name)], capture_output=True,
                              text=True, timeout=300, env=env, cwd=BENCHMARKS)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1].startswith("RESULT ")
    twice = subprocess.run([*script, "--merge", str(tmp_path / "a"), str(tmp_path / "a"), "--out", str(tmp_path / "m")],
                           capture_output=True, text=True, timeout=300, env=env, cwd=BENCHMARKS)
    assert twice.returncode != 0 and "more than one part" in twice.stderr
    done = subprocess.run([*script, "--merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")],
                          capture_output=True, text=True, timeout=300, env=env, cwd=BENCHMARKS)
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT ") and "ring_plain_modes=" in last and "grad_saturating=" in last, last
    merged = json.loads((tmp_path / "m" / "lesson3_results.json").read_text())
    assert merged["budget"] == "tiny"
    assert {"collapse", "sweeps", "mnist", "gradient", "progressive"} <= set(merged)
    assert [p["sections"] for p in merged["parts"]] == list(parts.values())
    assert merged["wall_seconds"] == pytest.approx(sum(p["wall_seconds"] for p in merged["parts"]), abs=0.2)
    assert sorted(f.name for f in (tmp_path / "m").glob("*.png")) == ["lesson3_collapse.png", "lesson3_progressive.png"]
