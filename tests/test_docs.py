"""Doc check: every harness command in docs/ parses with the real CLI parser, every script it names exists."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from harness.cli import build_parser

DOCS = sorted((Path(__file__).resolve().parents[1] / "docs").glob("*.md"))
REPO = Path(__file__).resolve().parents[1]


def commands(text: str) -> list[str]:
    """`python ...` commands in bash blocks (backslash continuations joined) and in inline code."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("python "):
                out.append(line)
    out += re.findall(r"`(python bench/[^`]+)`", text)  # inline: scripts (inline harness runs are fragments)
    return out


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_doc_commands_parse(doc):
    cmds = commands(doc.read_text(encoding="utf-8"))
    assert cmds, f"{doc.name} shows no command"
    for cmd in cmds:
        argv = shlex.split(cmd)[1:]
        if argv[:2] == ["-m", "harness"]:
            build_parser().parse_args(argv[2:])  # SystemExit on an unknown flag or a bad value
        elif argv[0] == "app.py":
            from app import build_parser as app_parser

            app_parser().parse_args(argv[1:])
        else:
            assert (REPO / argv[0]).is_file(), f"{doc.name}: {cmd}: no such script"


def test_methods_doc_names_every_method_and_the_lora_defaults():
    """docs/methods.md: a section per registered method; its option table's defaults are TrainConfig's and its
    family defaults are harness/families.yaml's."""
    from harness.methods import method_names
    from harness.models import FAMILIES
    from harness.specs import TrainConfig

    text = (REPO / "docs" / "methods.md").read_text(encoding="utf-8")
    for name in method_names():
        assert f"\n## {name}\n" in text, name
    rows = dict(re.findall(r"^\| `(lora_\w+)` \| ([^|]+) \|", text, re.M))
    assert set(rows) == {f for f in TrainConfig.model_fields if f.startswith("lora_")}
    for field, shown in rows.items():
        default = TrainConfig.model_fields[field].default
        assert shown.strip() == "the family's" if default is None else float(shown) == default, field
    flat = " ".join(text.split())
    assert "BERT, ERNIE and ALBERT `[query, value]`" in flat and "T5 `[q, v]`" in flat
    assert {tuple(f["lora"]["target_modules"]) for n, f in FAMILIES.items() if n != "t5"} == {("query", "value")}
    assert FAMILIES["t5"]["lora"]["target_modules"] == ["q", "v"]


# --- docs/deploy.md (issue 16): its Hub commands run against the Hub stand-in, its sample card parses ---
def test_deploy_doc_push_and_space_commands_run_against_the_hub_stand_in(tmp_path, monkeypatch, capsys):
    """Each `python -m harness push|space` command of docs/deploy.md runs (outputs/… = a copy of the tests' v1
    results) against the folder Hub stand-in; then the repos and the Space's RESULTS are what the doc says."""
    import shutil

    from harness.cli import main
    from hub_stub import FolderHub, stub_api

    store = FolderHub(tmp_path / "hub")
    api = stub_api(store)
    monkeypatch.setattr("harness.publish.api.get_api", lambda: api)
    out = tmp_path / "out"
    shutil.copytree(REPO / "tests" / "fixtures" / "v1" / "output", out)
    ran = []
    for cmd in commands((REPO / "docs" / "deploy.md").read_text(encoding="utf-8")):
        argv = shlex.split(cmd)[1:]
        if argv[:2] == ["-m", "harness"] and argv[2] in ("push", "space"):
            argv = [str(out) if a.startswith("outputs/") else a for a in argv[2:]]
            assert main(argv) == 0, cmd
            ran.append(argv[0])
    assert ran.count("push") >= 2 and ran.count("space") >= 2, ran
    assert store.exists("ORG/clue-results", "dataset")
    assert "leaderboard.csv" in store.files("ORG/clue-results", "dataset")
    assert store.meta("ORG/clue-leaderboard", "space")["variables"]["RESULTS"]["value"].startswith(
        "hf://datasets/ORG/clue-results")
    assert "https://huggingface.co/spaces/ORG/clue-leaderboard" in capsys.readouterr().out


def test_deploy_sample_card_is_a_model_card_with_scores():
    """docs/samples/model_card.md (rendered by docs/sample_card.py) parses with huggingface_hub's parser: a valid
    model-index with the scores, the pipeline tag and the method tag; its reproduce command parses."""
    from huggingface_hub import ModelCard

    text = (REPO / "docs" / "samples" / "model_card.md").read_text(encoding="utf-8")
    card = ModelCard(text)
    assert card.data.eval_results, "no eval results in the model-index"
    assert all(isinstance(r.metric_value, float) for r in card.data.eval_results)
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-classification"
    assert "finetune" in card.data.tags
    runs = [line for line in text.splitlines() if line.startswith("python -m harness ")]
    assert runs, "the card shows no command"
    for cmd in runs:
        build_parser().parse_args(shlex.split(cmd)[3:])
