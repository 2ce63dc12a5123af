"""`python -m harness space` (harness/publish/space.py) against the Hub stand-in, and space/requirements.txt: installed
into a fresh venv, it serves the app (built on the bundled sample) without Ray, optuna or datasets.

Bad input (no token, no write access, network down, a Space with another SDK...) is in tests/test_bad_input.py.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app_fixtures import tiny_results  # noqa: F401 - fixture (a results folder with tiny checkpoints)
from harness.cli import main
from hub_stub import FolderHub, stub_api

REPO = Path(__file__).resolve().parents[1]
SPACE, RESULTS = "org/board", "hf://datasets/org/results"
ARGS = ["space", "--space", SPACE, "--results", RESULTS]


@pytest.fixture
def hub(tmp_path, monkeypatch) -> FolderHub:
    store = FolderHub(tmp_path / "hub")
    api = stub_api(store)
    monkeypatch.setattr("harness.publish.api.get_api", lambda: api)
    return store


def local_files() -> set[str]:
    """What the Space should hold from this checkout: app.py and every file of leaderboard/, webapp/ and harness/ except
    caches (and the README and requirements written by the command)."""
    out = {"app.py", "README.md", "requirements.txt", ".gitattributes"}
    for pkg in ("leaderboard", "webapp", "harness"):
        out |= {p.relative_to(REPO).as_posix() for p in (REPO / pkg).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
                and not p.name.endswith((".pyc", ".tmp"))}
    return out


def test_space_uploads_the_app_and_sets_results(hub, capsys):
    from huggingface_hub import SpaceCard
    import gradio

    assert main(ARGS) == 0
    printed = capsys.readouterr().out
    assert "https://huggingface.co/spaces/org/board" in printed
    meta = hub.meta(SPACE, "space")
    assert meta["space_sdk"] == "gradio" and meta["private"] is False
    assert meta["variables"]["RESULTS"]["value"] == RESULTS
    assert [c["title"] for c in meta["commits"]][1:] == [meta["commits"][-1]["title"]], "one commit"
    files = hub.files(SPACE, "space")
    assert set(files) == local_files()
    assert not [p for p in files if "__pycache__" in p or p.endswith(".pyc") or p.startswith("tests/")]
    assert files["app.py"].read_bytes() == (REPO / "app.py").read_bytes()
    assert files["requirements.txt"].read_bytes() == (REPO / "space" / "requirements.txt").read_bytes()
    sample = REPO / "webapp" / "sample"
    if sample.is_dir():  # the bundled sample travels with the app (the Space's first visit before RESULTS works)
        assert any(p.startswith("webapp/sample/results/") for p in files)
    card = SpaceCard.load(files["README.md"])
    assert card.data.sdk == "gradio" and card.data.app_file == "app.py"
    assert card.data.sdk_version == gradio.__version__
    assert card.data.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert card.data.to_dict()["pinned"] is False and card.data.title == "board"
    assert RESULTS in card.text


def test_space_rerun_makes_no_commit_and_updates_only_what_changed(hub, capsys, monkeypatch):
    from huggingface_hub import CommitOperationAdd

    assert main(ARGS) == 0
    head = hub.resolve(SPACE, "space")
    assert main(ARGS) == 0
    assert hub.resolve(SPACE, "space") == head, "a rerun with nothing changed made a commit"
    assert "files unchanged" in capsys.readouterr().out.splitlines()[-1]
    # someone edits the Space: a stale module and a changed app.py; their own file outside the mirrored folders stays
    hub.commit(SPACE, "space", [CommitOperationAdd("harness/old_module.py", b"x = 1\n"),
                                CommitOperationAdd("app.py", b"print('edited')\n"),
                                CommitOperationAdd("notes.txt", b"mine\n")], "edit", None)
    assert main(["space", "--space", SPACE, "--results", RESULTS + "@v2"]) == 0
    out = capsys.readouterr().out
    assert "3 of" in out, out  # app.py, README.md (it names RESULTS) and the stale module's delete
    files = hub.files(SPACE, "space")
    assert set(files) == local_files() | {"notes.txt"}
    assert files["app.py"].read_bytes() == (REPO / "app.py").read_bytes()
    assert hub.meta(SPACE, "space")["variables"]["RESULTS"]["value"] == RESULTS + "@v2"


def test_space_private(hub):
    assert main(ARGS + ["--private"]) == 0
    assert hub.meta(SPACE, "space")["private"] is True


# --- space/requirements.txt in a fresh venv -------------------------------------------------------------------------
FORBIDDEN = ("ray", "optuna", "datasets", "evaluate", "pytest", "onnx", "onnxscript")  # training, export and test tools
NOT_IMPORTED = FORBIDDEN + ("accelerate",)  # installed (peft requires it), not imported until a model loads
VENV_CHECK = f"""
import importlib.util, sys
forbidden = {FORBIDDEN!r}
installed = [m for m in forbidden if importlib.util.find_spec(m) is not None]
assert not installed, f"installed in the Space's venv: {{installed}}"
import app
demo = app.build_app(sys.argv[1] or None)  # None: what the Space shows with no results (the bundled sample)
handlers = {{f.api_name: f.fn for f in demo.fns.values() if f.api_name}}
assert {{"leaderboard", "predict"}} <= set(handlers), sorted(handlers)
imported = [m for m in {NOT_IMPORTED!r} if m in sys.modules]
assert not imported, f"imported by building the app: {{imported}}"
print("space venv ok:", demo.results_root)
# the playground on a results folder with checkpoints: torch, transformers and tokenizers work in this venv
from leaderboard.data import load_app_data
data = load_app_data(sys.argv[2])
label = sorted(data.checkpoints["demo_sentiment"])[0]
tiny = app.build_app(sys.argv[2])
predict = {{f.api_name: f.fn for f in tiny.fns.values() if f.api_name}}["predict"]
text, probs, *_ = predict("demo_sentiment", label, "a good film", "", "", "", "", "")
assert probs and not str(text).startswith("⚠"), (text, probs)
imported = [m for m in forbidden if m in sys.modules]
assert not imported, f"imported by a prediction: {{imported}}"
print("prediction ok:", label, probs)
"""


def requirements(req: Path, options: bool = False) -> list[str]:
    """The requirement lines of a requirements file (comments, blank lines and pip options left out), or with
    ``options`` its option lines ('--extra-index-url …')."""
    lines = [line.strip() for line in req.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return [line for line in lines if line.startswith("-") == options]


def _pip(pip: Path, *args: str) -> None:
    done = subprocess.run([str(pip), *args[:1], "-q", *args[1:]], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"pip {' '.join(args)}: {done.stderr[-3000:]}"


def _wheelhouse(pip: Path, req: Path) -> Path:
    """space/requirements.txt's wheels (sdists built), downloaded once per version of the file into a cache folder
    (HARNESS_TEST_CACHE, default ~/.cache/harness-tests) so a rerun installs without the network."""
    digest = hashlib.sha256("\n".join(requirements(req)).encode()).hexdigest()[:16]  # comments do not count
    cache = Path(os.environ.get("HARNESS_TEST_CACHE", Path.home() / ".cache" / "harness-tests"))
    house = cache / f"space-wheels-{digest}"
    if not (house / ".complete").is_file():
        house.mkdir(parents=True, exist_ok=True)
        plain = house / "requirements.txt"  # without the CPU index line: the tests download from PyPI's mirror only
        plain.write_text("\n".join(requirements(req)) + "\n", encoding="utf-8")
        _pip(pip, "wheel", "-r", str(plain), "-w", str(house))
        (house / ".complete").write_text("ok\n")
    return house


def test_space_requirements_install_into_a_fresh_venv_and_serve_the_app(hub, tmp_path, tiny_results):
    """The Space as deployed (its files from the stand-in) runs in a fresh venv holding only space/requirements.txt:
    the app builds on the bundled sample and the playground predicts with a tiny checkpoint; no training-only
    package is installed or imported. In the same venv, the "Use" code of published model cards (a text and a token
    classifier) runs as a Hub user copies it, fetching the model over HTTP from the stand-in."""
    req = REPO / "space" / "requirements.txt"
    names = [re.split(r"[=<>~!\[; ]", line)[0].lower() for line in requirements(req)]
    assert "torch" in names and not set(names) & set(FORBIDDEN), names
    assert requirements(req, options=True) == ["--extra-index-url https://download.pytorch.org/whl/cpu"]  # CPU torch
    assert main(ARGS) == 0
    space_dir = hub.files(SPACE, "space")["app.py"].parent
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip, python = venv / "bin" / "pip", venv / "bin" / "python"
    house = _wheelhouse(pip, req)
    # --no-compile: no .pyc for all of torch & co (most of the install's CPU time); the app compiles what it imports
    _pip(pip, "install", "--no-compile", "--no-index", "--find-links", str(house), "-r",
         str(space_dir / "requirements.txt"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "RESULTS") and not k.startswith("HARNESS_RESULTS")}
    with tempfile.TemporaryDirectory() as home:  # the Space's environment: no results configured, no HF cache
        env.update(HOME=home, HF_HOME=home, HF_HUB_OFFLINE="1")
        done = subprocess.run([str(python), "-c", VENV_CHECK, "", str(tiny_results)], cwd=space_dir, env=env,
                              capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "space venv ok" in done.stdout and "prediction ok" in done.stdout, done.stdout
    assert f"space venv ok: {space_dir / 'webapp' / 'sample'}\n" in done.stdout, done.stdout
    # a published model card's plain-transformers "Use" code, as a Hub user copies it, in this venv (transformers,
    # torch, huggingface_hub; no harness on the path): the model fetched over HTTP from the stand-in
    from harness.publish.plan import make_plan
    from harness.publish.push import push
    from hub_server import serve

    push(tiny_results, "org/results", license="apache-2.0")
    repos = [c.repo_id for c in make_plan(tiny_results, "org/results", "best", None).checkpoints]
    snippets = {}
    for repo in repos:
        card = hub.files(repo, "model")["README.md"].read_text(encoding="utf-8")
        code = re.search(r"With plain transformers:\n\n```python\n(.*?)```", card, re.S)
        if code and ("token-classification" in code.group(1) or "text-classification" in code.group(1)):
            snippets.setdefault("token" if "token-" in code.group(1) else "text", code.group(1))
    assert set(snippets) == {"text", "token"}, repos
    with serve(hub.root) as url, tempfile.TemporaryDirectory() as home:
        env.update(HOME=home, HF_HOME=home, HF_HUB_OFFLINE="0", HF_ENDPOINT=url, HF_HUB_DISABLE_TELEMETRY="1")
        for what, code in snippets.items():
            done = subprocess.run([str(python), "-c", code], cwd=home, env=env, capture_output=True, text=True,
                                  timeout=300)
            assert done.returncode == 0 and done.stdout.strip().startswith("["), (what, done.stderr[-3000:])
