"""Doc check: README.md and every docs/*.md.

Every command in a bash block (and every inline `python bench/...`) is parsed by the real parser it belongs to
(`python -m harness`: harness/cli.py; `python app.py`: app.py), and every file it names exists (paths under outputs/,
../ or / are the reader's, ORG/... a placeholder); README's tour runs with tiny settings, its Hub steps and
docs/deploy.md's against the Hub stand-in. Links resolve, the CLI reference is what docs/cli_reference.py writes now,
and every flag has a help text.
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from harness.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = [README] + sorted((REPO / "docs").glob("*.md"))
GENERATED = {"cli.md"}  # docs/cli_reference.py writes it: a reference, no example commands
FILE = re.compile(r"\.(ya?ml|py|json|txt)$")  # a named file of these kinds must exist
READERS = ("outputs/", "../", "/", "hf://")  # paths that are the reader's, not the repository's
SEPARATORS = {"&&", "||", ";", "|"}
REDIRECTS = {">", ">>", "<", "&"}


def shell_words(line: str) -> list[list[str]]:
    """The simple commands of one shell line: split at && || ; |, redirections and comments dropped, leading
    VAR=value assignments dropped."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    out, cur, redirected = [], [], False
    for tok in lex:
        if tok in SEPARATORS:
            out, cur, redirected = out + [cur], [], False
        elif tok in REDIRECTS or redirected:
            redirected = True
        elif cur or not re.match(r"[A-Za-z_][A-Za-z0-9_]*=", tok):
            cur.append(tok)
    return [c for c in out + [cur] if c]


def is_python(prog: str) -> bool:
    return Path(prog).name in ("python", "python3")


def commands(text: str) -> list[str]:
    """The python and pip commands in bash blocks (backslash continuations joined, `a && b` split, VAR=value
    prefixes, comments and redirections dropped; normalised with shlex.join) and inline `python bench/...`."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for argv in shell_words(line):
                if is_python(argv[0]) or Path(argv[0]).name in ("pip", "pip3"):
                    out.append(shlex.join(argv))
    out += re.findall(r"`(python bench/[^`]+)`", text)  # inline: scripts (inline harness runs are fragments)
    return out


def named_files(argv: list[str]) -> list[str]:
    """Paths in argv (or in --flag=value) that name a .yaml/.yml/.py/.json/.txt file of the repository."""
    values = [a.split("=", 1)[1] if a.startswith("--") and "=" in a else a for a in argv]
    return [v for v in values if FILE.search(v) and not v.startswith(READERS)]


def check_command(cmd: str, where: str) -> None:
    """Parse `cmd` with the parser it belongs to; fail when it does not parse or names a missing file."""
    argv = shlex.split(cmd)
    missing = [f for f in named_files(argv[1:]) if not (REPO / f).is_file()]
    assert not missing, f"{where}: {cmd}: no such file {missing}"
    if not is_python(argv[0]):
        return  # pip: its -r files were checked above
    args = argv[1:]
    try:
        if args[:2] == ["-m", "harness"]:
            build_parser().parse_args(args[2:])
        elif args[:1] == ["-m"]:
            assert args[1] in ("venv", "pip", "pytest") or importlib.util.find_spec(args[1]), f"{where}: {cmd}"
        elif args[0] == "app.py":
            from app import build_parser as app_parser

            app_parser().parse_args(args[1:])
        else:
            assert (REPO / args[0]).is_file(), f"{where}: {cmd}: no such script"
    except SystemExit as e:  # argparse: an unknown flag or a bad value
        pytest.fail(f"{where}: {cmd}: does not parse (exit {e.code})")


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_doc_commands_parse(doc):
    cmds = commands(doc.read_text(encoding="utf-8"))
    assert cmds or doc.name in GENERATED, f"{doc.name} shows no command"
    for cmd in cmds:
        check_command(cmd, doc.name)


def test_the_check_catches_a_missing_file_and_a_bad_flag():
    """The doc check itself: a named file that does not exist and an unknown flag both fail."""
    text = "```bash\nOMP_NUM_THREADS=1 python -m harness run --models nope.yaml --tasks demo > x.txt && echo hi\n```\n"
    assert commands(text) == ["python -m harness run --models nope.yaml --tasks demo"]
    with pytest.raises(AssertionError, match="no such file"):
        check_command(commands(text)[0], "t")
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        check_command("python -m harness run --tasks demo --no-such-flag", "t")
    check_command("python -m harness predict --checkpoint outputs/x/*/seed42 --input docs/samples/reviews.txt", "t")


# --- links, README's shape, the generated CLI reference, help texts ---
def headings(path: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings (outside code blocks)."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def links(path: Path) -> list[str]:
    """Relative link targets of a Markdown file (code blocks and inline code left out)."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_doc_links_resolve(doc):
    """Every relative link points to a file of the repository, and an #anchor to a heading there."""
    for target in links(doc):
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        assert dest.exists(), f"{doc.name}: link to {target}: no such file"
        if anchor and dest.suffix == ".md":
            assert anchor in headings(dest), f"{doc.name}: link to {target}: no such heading"


def test_readme_is_one_screen_with_the_screenshot_the_two_commands_and_links_to_every_doc():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150, "README.md is over 150 lines: move the detail into docs/"
    assert "](docs/img/app.png)" in text
    png = REPO / "docs" / "img" / "app.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 400_000  # docs/screenshot.py
    linked = {t.partition("#")[0] for t in links(README)}
    assert {f"docs/{d.name}" for d in DOCS if d != README} <= linked, "README: link every docs/*.md"
    two = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    main_cmd, test_cmd = re.findall(r"```bash\n(.*?)\n```", two, re.S)
    assert main_cmd.startswith("python3 -m venv .venv && ") and "-m harness run" in main_cmd
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmd in ci, "README's test command and .ci/run's must be the same line"


def load_script(name: str):
    """A docs/ script as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"docs_{name}", REPO / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_what_the_parsers_give_now():
    """docs/cli.md is generated from the parsers (docs/cli_reference.py), so it cannot drift."""
    ref = load_script("cli_reference")
    committed = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == ref.render(), "docs/cli.md is stale: run python docs/cli_reference.py"
    harness, app = ref.parsers()
    for name, _, _ in ref.subcommands(harness):
        assert f"\n## python -m harness {name}\n" in committed, name


def flags(parser: argparse.ArgumentParser, prog: str):
    """(command, flag name, help) of every flag of a parser and its subcommands (-h/--help left out)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prog} {name}", "(the subcommand)", helps.get(name)
                yield from flags(sub, f"{prog} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield prog, "/".join(action.option_strings) or action.dest, action.help


def test_every_cli_flag_has_a_help_text():
    from app import build_parser as app_parser

    missing = [f"{prog} {name}" for parser, name_ in ((build_parser(), "harness"), (app_parser(), "app.py"))
               for prog, name, text in flags(parser, name_) if not (text or "").strip()]
    assert not missing, f"flags without a help text: {missing}"


# --- README's five-minute tour, run with tiny settings (its Hub steps against the Hub stand-in) ---
TINY = {"run": ["--only-models", "minilm-l6-h384", "--max-train-samples", "16", "--max-eval-samples", "16",
                "--max-steps", "1", "--quiet"],
        "export": ["--latency-runs", "0", "--max-eval-samples", "16"], "predict": ["--quiet"]}


def test_readme_tour_runs_offline_with_tiny_settings(tmp_path, monkeypatch, capsys):
    """Each command of README's tour runs as written (outputs/ under tmp_path; tiny sizes added to run and
    export), `*` matching the one checkpoint; push and space against the folder Hub stand-in; app.py parses."""
    from app import build_parser as app_parser
    from harness.cli import main
    from hub_stub import FolderHub, stub_api

    store = FolderHub(tmp_path / "hub")
    monkeypatch.setattr("harness.publish.api.get_api", lambda: stub_api(store))
    monkeypatch.chdir(REPO)
    tour = README.read_text(encoding="utf-8").split("## Five-minute tour", 1)[1].split("\n## ", 1)[0]
    ran = []
    for cmd in commands(tour):
        argv = [str(tmp_path / a) if a.startswith("outputs/") else a for a in shlex.split(cmd)[1:]]
        argv = [glob.glob(a)[0] if "*" in a and len(glob.glob(a)) == 1 else a for a in argv]
        assert not any("*" in a for a in argv), f"{cmd}: the pattern matches no single checkpoint"
        if argv[0] == "app.py":
            app_parser().parse_args(argv[1:])
        else:
            assert argv[:2] == ["-m", "harness"], cmd
            assert main(argv[2:] + TINY.get(argv[2], [])) == 0, cmd
        ran.append(argv[0] if argv[0] == "app.py" else argv[2])
    assert ran == ["run", "leaderboard", "app.py", "predict", "export", "push", "space"], ran
    out = capsys.readouterr().out
    assert '"prediction"' in out and "onnx_int8" in out
    assert "minilm-l6-h384 [prompt]" in (tmp_path / "outputs" / "demo" / "leaderboard.md").read_text(encoding="utf-8")
    assert "leaderboard.csv" in store.files("ORG/demo-results", "dataset")
    assert store.meta("ORG/demo-leaderboard", "space")["variables"]["RESULTS"]["value"].startswith(
        "hf://datasets/ORG/demo-results")


def test_methods_doc_names_every_method_and_the_lora_defaults():
    """docs/methods.md: a section per registered method; its option table's defaults are TrainConfig's and its
    family defaults are harness/families.yaml's."""
    from harness.methods import method_names
    from harness.families import FAMILIES
    from harness.trainconfig import TrainConfig

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
    assert {tuple(f.lora.target_modules) for n, f in FAMILIES.items() if n != "t5"} == {("query", "value")}
    assert FAMILIES["t5"].lora.target_modules == ["q", "v"]


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
    # demo.yaml's hub_id and license: the packaged MiniLM's Hub original and its licence
    assert (card.data.base_model, card.data.license) == ("sentence-transformers/all-MiniLM-L6-v2", "apache-2.0")
    assert all(r.metric_type != "main" for r in card.data.eval_results)
    assert "## Intended use and limitations" in text and "⚠UNK" in text and "/tmp/" not in text
    runs = [line for line in text.splitlines() if line.startswith("python -m harness ")]
    assert runs, "the card shows no command"
    for cmd in runs:
        build_parser().parse_args(shlex.split(cmd)[3:])
