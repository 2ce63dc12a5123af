"""The leaderboard is a pure function of the result files: seeds, benchmarks, partial rows, bad files."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness import results
from harness.record import SCHEMA_VERSION, ResultRecord
from leaderboard.report import write_tables
from leaderboard.table import aggregate, leaderboard, load_results, to_markdown


def record(model: str, task: str, bench: str, seed: int, main: float, chash: str = "abc", unk: float = 0.0,
           created: str = "2026-01-01T00:00:00+00:00", direction: str = "higher") -> dict:
    """A complete schema-2 result record (checked by ResultRecord when written)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "job": {"model": model, "revision": "main", "task": task, "method": "finetune", "seed": seed,
                "config_hash": chash},
        "config": {},
        "task_info": {"benchmark": bench, "language": "en", "kind": "single_cls", "license": "x", "caveats": [],
                      "main_score": ["accuracy"], "direction": direction},
        "model_info": {"family": "bert", "untrained": model.startswith("rand"), "parameters": 1_000_000},
        "data": {"source": {}, "fingerprint": "f", "sizes": {"test": 10}},
        "metrics": {"accuracy": main, "main": main},
        "training": {"steps": 1, "epochs": 1.0},
        "tokenizer_stats": {"unk_rate": unk, "truncation_rate": 0.0},
        "timing": {"train_runtime_s": 1.0, "cpu_latency_ms_p50": 5.0, "train_samples_per_s": 10.0,
                   "eval_samples_per_s": 100.0},
        "checkpoint": None, "created_at": created,
    }


def put(root: Path, rec: dict) -> None:
    j = rec["job"]
    key = results.job_key(j["model"], j["revision"], j["task"], j["method"], j["config_hash"])
    ResultRecord.model_validate(rec).write(results.result_path(root, key, j["seed"]))


@pytest.fixture
def grid(tmp_path) -> Path:
    for seed, (a, b) in zip((1, 2, 3), ((0.80, 0.60), (0.82, 0.62), (0.84, 0.64))):
        put(tmp_path, record("m1", "sst2", "GLUE", seed, a))
        put(tmp_path, record("m1", "rte", "GLUE", seed, b))
    put(tmp_path, record("m2", "sst2", "GLUE", 1, 0.90))          # rte missing: partial GLUE
    put(tmp_path, record("m2", "tnews", "CLUE", 1, 0.50, unk=0.6))
    put(tmp_path, record("m1", "tnews", "CLUE", 1, 0.40))
    return tmp_path


def test_mean_std_n_over_seeds(grid):
    agg = aggregate(load_results(grid).runs).set_index(["model", "task"])
    assert agg.loc[("m1", "sst2"), "mean"] == pytest.approx(0.82)
    assert agg.loc[("m1", "sst2"), "std"] == pytest.approx(0.02)  # sample std
    assert agg.loc[("m1", "sst2"), "n"] == 3 and agg.loc[("m2", "sst2"), "std"] == 0.0


def test_benchmark_average_only_over_complete_rows_and_rank(grid):
    t = leaderboard(load_results(grid).runs).set_index("model")
    assert t.loc["m1", "GLUE_avg"] == pytest.approx(72.0) and t.loc["m1", "GLUE_tasks"] == "2/2"
    assert pd.isna(t.loc["m2", "GLUE_avg"]) and t.loc["m2", "GLUE_tasks"] == "1/2"
    assert t.loc["m1", "GLUE_rank"] == 1 and pd.isna(t.loc["m2", "GLUE_rank"])
    assert t.loc["m2", "CLUE_rank"] == 1 and t.loc["m1", "CLUE_rank"] == 2
    assert pd.isna(t.loc["m2", "rte"])  # missing stays missing


def test_markdown_marks_partial_missing_and_unk(grid):
    md = to_markdown(leaderboard(load_results(grid).runs))
    assert "partial (1/2)" in md and "—" in md and "82.0 ± 2.0 (n=3)" in md
    assert "50.0 (n=1) ⚠UNK" in md and "± 0.0 (n=1)" not in md  # one run: no spread shown


def test_config_with_most_seeds_wins(grid):
    put(grid, record("m1", "sst2", "GLUE", 1, 0.10, chash="other", created="2027-01-01T00:00:00+00:00"))
    agg = aggregate(load_results(grid).runs).set_index(["model", "task"])
    assert agg.loc[("m1", "sst2"), "mean"] == pytest.approx(0.82)


def test_bad_files_are_reported_not_fatal(grid):
    bad = grid / "results" / "m3" / "main" / "sst2" / "finetune" / "x"
    bad.mkdir(parents=True)
    (bad / "seed1.json").write_text("{not json")
    (bad / "seed2.json").write_text(json.dumps({**record("m3", "sst2", "GLUE", 2, 0.5), "schema_version": 99}))
    (bad / "seed1.failed.json").write_text(json.dumps({"schema_version": 1, "job": "m3/main/sst2/finetune/x",
                                                       "seed": 1, "error": "boom", "created_at": "x"}))
    (bad / "seed3.failed.json").write_text(json.dumps({"error": "no schema"}))
    stray = grid / "results" / "stray"
    stray.mkdir()
    (stray / "seed9.json").write_text("[]")  # names no cell: a problem, reported
    loaded = load_results(grid)
    assert len(loaded.problems) == 1 and "stray/seed9.json: not a result record (a JSON list" in loaded.problems[0]
    by_path = {f["path"].rsplit("/", 1)[-1]: f for f in loaded.failures}
    assert {k: by_path["seed1.failed.json"][k] for k in ("path", "error", "model", "task", "method", "seed",
                                                          "config_hash", "kind")} == {
        "path": "results/m3/main/sst2/finetune/x/seed1.failed.json", "error": "boom", "model": "m3", "task": "sst2",
        "method": "finetune", "seed": 1, "config_hash": "x", "kind": "code"}  # schema 1 "error": classified
    # files the board cannot read are failed runs of their cells: damaged, or unreadable when a newer harness wrote
    assert {name: (f["kind"], f["seed"]) for name, f in by_path.items() if name != "seed1.failed.json"} == {
        "seed1.json": ("damaged", 1), "seed2.json": ("unreadable", 2), "seed3.failed.json": ("damaged", 3)}
    assert "schema_version 99" in by_path["seed2.json"]["error"]
    assert by_path["seed3.failed.json"]["error"] == "damaged: not a result record (schema_version None, expected 4)"
    assert "m3" not in set(loaded.runs.model)


def test_tables_rebuilt_from_results_alone(grid):
    table = write_tables(grid).table
    again = pd.read_csv(grid / "leaderboard.csv")
    assert list(again.model) == list(table.model) and "\n| rank" in (grid / "leaderboard.md").read_text()


def test_empty_results_folder(tmp_path):
    rep = write_tables(tmp_path)
    table, loaded = rep.table, rep.loaded
    assert table.empty and "no results yet" in (tmp_path / "leaderboard.md").read_text()


def test_row_index_rereads_only_changed_files_and_never_goes_stale(grid, monkeypatch):
    """The index saves parsing; the table is the same as a build from the files alone, after any change."""
    from leaderboard import result_files

    first = load_results(grid).runs
    assert (grid / result_files.INDEX_NAME).is_file()
    parsed = []
    real = result_files.read_entry
    monkeypatch.setattr(result_files, "read_entry", lambda p, r, *rel: parsed.append(Path(p).name) or real(p, r, *rel))
    again = load_results(grid).runs
    assert parsed == [] and again.equals(first)  # nothing re-parsed
    put(grid, record("m2", "rte", "GLUE", 1, 0.70))                      # a new file
    put(grid, record("m1", "sst2", "GLUE", 1, 0.10, created="2026-02-01T00:00:00+00:00"))  # a changed file
    victim = next(grid.rglob("seed3.json"))
    victim.unlink()                                                      # a removed file
    now = load_results(grid).runs
    assert sorted(parsed) == ["seed1.json", "seed1.json"]
    assert str(victim.relative_to(grid)) not in set(now["path"])
    (grid / result_files.INDEX_NAME).unlink()
    fresh = load_results(grid).runs
    assert now.sort_values("path").reset_index(drop=True).equals(fresh.sort_values("path").reset_index(drop=True))


def test_read_only_results_folder_builds_without_an_index(grid, monkeypatch):
    from leaderboard import result_files

    def refuse(*a, **k):
        raise PermissionError("read-only")

    monkeypatch.setattr(result_files.tempfile, "mkstemp", refuse)
    runs = load_results(grid).runs
    assert len(runs) == 9 and not (grid / result_files.INDEX_NAME).exists()


def _entry_or_crash(read_entry, path: Path, root: Path):
    try:
        return read_entry(path, root)
    except Exception as e:  # noqa: BLE001 - a record that validates yet breaks the row: both paths must agree
        return ("crash", type(e).__name__, str(e))


def _variants(base: dict):
    """base with each value (to two list items deep) replaced by odd ones, removed, or given an unknown key."""
    odd = [True, None, 3.0, "1", [1], {"a": 1}, 10**30, float("nan")]

    def paths(obj, at=()):
        yield at
        items = obj.items() if isinstance(obj, dict) else enumerate(obj[:2]) if isinstance(obj, list) else ()
        for k, v in items:
            yield from paths(v, at + (k,))

    def edit(at, fn):
        rec = json.loads(json.dumps(base))
        parent = rec
        for k in at[:-1]:
            parent = parent[k]
        fn(parent, at[-1])
        return rec

    for at in list(paths(base))[1:]:
        for value in odd:
            yield edit(at, lambda parent, k: parent.__setitem__(k, value))
        yield edit(at, lambda parent, k: parent.pop(k) if isinstance(parent, dict) else parent.clear())
        yield edit(at, lambda parent, k: isinstance(parent[k], dict) and parent[k].__setitem__("zz_unknown", 1))


def test_the_boards_lean_read_answers_as_the_full_read_for_every_file(tmp_path, monkeypatch):
    """read_entry builds only the free-form parts the row reads (harness.record.read_lean); for every file, valid,
    damaged, older or newer, its entry (or error, or crash) is the one a full ResultRecord.read gives."""
    from harness import record as record_module
    from leaderboard import result_files

    v1 = Path(__file__).parent / "fixtures" / "v1" / "output" / "results" / "minilm-l6-h384" / "py-0.1.0" / \
        "demo_sentiment" / "finetune" / "c04919808340"
    ok = json.loads(ResultRecord.read(v1 / "seed42.json").to_json())  # a real record, current schema
    ok["config"]["model"] = {"init": "random"}
    ok["search"] = {"role": "chosen", "space": {"lr": [1, 2]}, "chosen": {"lr": 1.0}, "n_trials": 2,
                    "trials": [{"status": "ok", "validation": 0.5}, {"status": "ok", "validation": 0.6}]}
    ok["execution"]["race"] = {"round": 1, "min_seeds": 1, "max_seeds": 3, "position": 1}
    failed = json.loads(ResultRecord.read(v1 / "seed43.failed.json").to_json())
    failed["task_info"] = ok["task_info"]
    blobs = [json.dumps(r).encode() for base in (ok, failed) for r in [base, *_variants(base)]]
    text = json.dumps(ok)
    blobs += [b"", b"{", b"{}", b"[]", b"3", json.dumps({**ok, "schema_version": 3.0}).encode(),
              (v1 / "seed42.json").read_bytes(), json.dumps({**ok, "schema_version": 99}).encode(),
              b"\xef\xbb\xbf" + text.encode(), text.encode() + b" x", text[:-1].encode() + b', "created_at": "2"}',
              text.replace('"minilm', '"\\ud800minilm').encode(), text.replace('"minilm', '"\x01minilm').encode(),
              text.encode().replace(b'"minilm', b'"\xffminilm'), text.replace("0.", "1" * 5000 + ".", 1).encode()]
    root = tmp_path
    path = root / "results" / "m" / "main" / "t" / "finetune" / "abc" / "seed1.json"
    path.parent.mkdir(parents=True)
    full = lambda p, keep=(): ResultRecord.read(p)  # noqa: E731
    kinds, differ = {}, []
    for blob in blobs:
        path.write_bytes(blob)
        lean = _entry_or_crash(result_files.read_entry, path, root)
        with monkeypatch.context() as m:
            m.setattr(result_files, "read_lean", full)
            whole = _entry_or_crash(result_files.read_entry, path, root)
        kinds[lean[0]] = kinds.get(lean[0], 0) + 1
        if repr(lean) != repr(whole):
            differ.append((blob[:200], lean, whole))
    assert not differ, differ[:3]
    assert kinds["row"] > 100 and kinds["failure"] > 1000 and kinds["crash"] > 0, kinds  # every outcome exercised
    assert record_module._lean_record.cache_info().hits > 1000  # and the lean read did read them
