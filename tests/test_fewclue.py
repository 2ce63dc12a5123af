"""FewCLUE protocol end to end on the real fewclue_tnews folds, with a tiny model whose char vocab is built from
the data: train on train_k, select on dev_k, score on test_public, for k = 0..4; both methods; mean ± std over
folds in the leaderboard."""
from __future__ import annotations

import gzip
import json

import pytest

from harness.cli import main


@pytest.fixture(scope="module")
def fewclue_run(tmp_path_factory):
    from conftest import DATA_DIR
    from tiny import build_char_model

    if not (DATA_DIR / "fewclue_tnews").is_dir():
        pytest.skip(f"real data folder {DATA_DIR}/fewclue_tnews not found (set HARNESS_DATA_DIR)")
    root = tmp_path_factory.mktemp("fewclue")
    with gzip.open(DATA_DIR / "fewclue_tnews" / "train_few_all.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    words = json.loads((DATA_DIR / "fewclue_tnews" / "label_words.json").read_text(encoding="utf-8"))
    model = build_char_model("bert", root / "tiny-zh-bert", texts + list(words.values()))
    (root / "models.yaml").write_text(f"models:\n  - {{name: tiny-zh-bert, id: {model}, family: bert}}\n")
    out = root / "out"
    rc = main(["run", "--models", str(root / "models.yaml"), "--tasks", "fewclue_tnews", "--data-dir", str(DATA_DIR),
               "--output-dir", str(out), "--methods", "finetune,prompt", "--max-steps", "2",
               "--max-eval-samples", "30", "--keep-checkpoints", "none", "--quiet"])
    assert rc == 0
    return out


def _records(out):
    return [json.loads(p.read_text()) | {"_path": str(p)} for p in (out / "results").rglob("seed*.json")]


def test_every_fold_and_method_has_a_result(fewclue_run):
    recs = _records(fewclue_run)
    got = sorted((r["job"]["method"], r["job"]["fold"]) for r in recs)
    assert got == sorted((m, str(k)) for m in ("finetune", "prompt") for k in range(5))
    for r in recs:
        k = r["job"]["fold"]
        assert f"/{r['job']['method']}/" in r["_path"] and f"/fold-{k}/" in r["_path"]
        assert r["data"]["source"]["splits"] == {"train": f"train_{k}", "validation": f"dev_{k}",
                                                 "test": "test_public"}
        assert r["data"]["sizes"]["train"] == 240
    for method in ("finetune", "prompt"):  # one configuration across the folds, so they average together
        assert len({r["job"]["config_hash"] for r in recs if r["job"]["method"] == method}) == 1
    prompt = [r for r in recs if r["job"]["method"] == "prompt"]
    assert all(r["tokenizer_stats"]["masks"] == 2 for r in prompt)  # two-character label words, scored jointly
    assert prompt[0]["config"]["task"]["prompt"]["label_words"]["news_game"] == ["电竞"]  # from label_words.json


def test_leaderboard_reports_mean_and_std_over_folds(fewclue_run):
    import statistics

    from leaderboard.table import aggregate, load_results, to_markdown, leaderboard

    runs = load_results(fewclue_run).runs
    agg = aggregate(runs)
    for method in ("finetune", "prompt"):
        row = agg[agg.method == method].iloc[0]
        per_fold = runs[runs.method == method].sort_values("fold")["main"].tolist()
        assert row["folds"] == 5 and row["n"] == 5
        assert row["mean"] == pytest.approx(statistics.mean(per_fold))
        assert row["std"] == pytest.approx(statistics.stdev(per_fold))
    assert "(n=5, 5 folds)" in to_markdown(leaderboard(runs))


@pytest.mark.parametrize("task, size, masks", [("fewclue_bustm", 32, 1), ("fewclue_csldcp", 536, 2)])
def test_more_fewclue_tasks_plan_every_fold_and_method(task, size, masks, tmp_path):
    """fewclue_bustm and fewclue_csldcp are YAML alone: planning resolves their prompts (label words in a char vocab
    built from the data) and loads train_k / dev_k / test_public for every fold, for both methods."""
    from conftest import DATA_DIR
    from tiny import build_char_model

    from harness import models
    from harness.data import job_data
    from harness.plan import RunOptions, plan
    from harness.adapters import make_adapter
    from harness.models import load_models_file
    from harness.catalog import discover

    if not (DATA_DIR / task).is_dir():
        pytest.skip(f"real data folder {DATA_DIR}/{task} not found (set HARNESS_DATA_DIR)")
    entry = discover()[task]
    with gzip.open(DATA_DIR / task / "train_few_all.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [" ".join(v for k, v in json.loads(line).items() if k != "label") for line in f]
    words = list(entry.spec.text_to_text.label_words.values())
    words += [w for ws in (entry.spec.prompt.label_words or {}).values() for w in ([ws] if isinstance(ws, str) else ws)]
    model = build_char_model("bert", tmp_path / "zh", texts + words)
    (tmp_path / "models.yaml").write_text(f"models:\n  - {{name: zh, id: {model}, family: bert}}\n")
    specs = load_models_file(tmp_path / "models.yaml")
    opts = RunOptions(output_dir=tmp_path / "o", data_dir=DATA_DIR, methods=("finetune", "prompt"))
    jobs, skipped = plan(specs, [entry], opts)
    assert skipped == []
    assert sorted((j.method, j.fold) for j in jobs) == sorted((m, str(k)) for m in ("finetune", "prompt")
                                                              for k in range(5))
    test_rows = json.loads((DATA_DIR / task / "meta.json").read_text(encoding="utf-8"))["row_counts"]["test_public"]
    for job in jobs:
        data = job_data(job, opts.data_dir)
        assert {r: len(v) for r, v in data.splits.items()} == {"train": size, "validation": size, "test": test_rows}
        assert data.source["splits"] == {"train": f"train_{job.fold}", "validation": f"dev_{job.fold}",
                                         "test": "test_public"}
        assert {ex["label"] for ex in data.splits["train"]} <= set(entry.spec.label_names)
    prompt = next(j for j in jobs if j.method == "prompt")
    assert list(prompt.spec.prompt.label_words) == entry.spec.label_names  # every label has its word
    adapter = make_adapter("encoder", prompt.spec, models.tokenizer_for(prompt.model), prompt.cfg, "mlm")
    assert adapter.n_masks == masks
