"""The Hub stand-ins (tests/hub_stub.py) behave like the Hub for huggingface_hub 2.4: HfApi's signatures, git's ids,
huggingface_hub's exceptions, and real huggingface_hub reads (one subprocess) against serve()."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationCopy, CommitOperationDelete
from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError,
                                    LocalTokenNotFoundError, RepositoryNotFoundError, RevisionNotFoundError)
from huggingface_hub.hf_api import CommitInfo, DatasetInfo, RepoFile, RepoFolder, SpaceInfo
from huggingface_hub.utils.sha import git_hash

from hub_stub import FolderHub, hub_subprocess, serve, stub_api

WEIGHTS = bytes(range(256)) * 4  # binary, and *.safetensors: an LFS file


def _pointer(data: bytes) -> bytes:
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n"
            f"size {len(data)}\n").encode()


@pytest.fixture
def hub(tmp_path) -> FolderHub:
    return FolderHub(tmp_path / "hub")


def test_signatures_are_hfapis_and_unimplemented_methods_fail_loudly(hub):
    api = stub_api(hub)
    with pytest.raises(TypeError):
        api.create_repo("org/x", repo_typ="dataset")  # misspelt keyword
    with pytest.raises(TypeError):
        api.upload_file(b"x", "a.txt", "org/x")  # keyword-only in HfApi
    with pytest.raises(TypeError):
        api.list_repo_tree()  # repo_id is required
    with pytest.raises(AssertionError, match="HfApi.delete_repo is not implemented"):
        api.delete_repo("org/x")
    with pytest.raises(Exception, match="Repo id must"):
        api.repo_info("org/x/y")  # huggingface_hub's own repo id validation


def test_commits_tree_ids_lfs_and_noop_like_the_hub(hub, tmp_path, caplog):
    api = stub_api(hub)
    url = api.create_repo("org/m", repo_type="model")
    assert url.repo_id == "org/m" and url.repo_type == "model"
    info = api.create_commit("org/m", [CommitOperationAdd("cfg/config.json", b'{"a": 1}\n'),
                                       CommitOperationAdd("model.safetensors", WEIGHTS),
                                       CommitOperationAdd("spm.model", b"text, but *.model is LFS"),
                                       CommitOperationAdd("README.md", b"---\nlibrary_name: transformers\n---\nhi\n")],
                             commit_message="add model")
    assert isinstance(info, CommitInfo) and len(info.oid) == 40 and info.oid == hub.resolve("org/m", "model")
    tree = {e.path: e for e in api.list_repo_tree("org/m", recursive=True)}
    assert set(tree) == {".gitattributes", "README.md", "cfg", "cfg/config.json", "model.safetensors", "spm.model"}
    assert tree["spm.model"].lfs is not None and tree["README.md"].lfs is None
    assert isinstance(tree["cfg"], RepoFolder) and isinstance(tree["cfg/config.json"], RepoFile)
    assert tree["cfg/config.json"].blob_id == git_hash(b'{"a": 1}\n') and tree["cfg/config.json"].lfs is None
    lfs = tree["model.safetensors"]
    assert lfs.lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest() and lfs.size == lfs.lfs.size == len(WEIGHTS)
    assert lfs.blob_id == git_hash(_pointer(WEIGHTS)) and lfs.lfs.pointer_size == len(_pointer(WEIGHTS))
    if shutil.which("git"):  # folder ids are git tree ids
        work = tmp_path / "git"
        (work / "cfg").mkdir(parents=True)
        (work / "cfg" / "config.json").write_bytes(b'{"a": 1}\n')
        subprocess.run(["git", "init", "-q", str(work)], check=True)
        subprocess.run(["git", "-C", str(work), "add", "cfg"], check=True)
        tree_id = subprocess.run(["git", "-C", str(work), "write-tree", "--prefix=cfg"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        assert tree["cfg"].tree_id == tree_id
    assert [e.path for e in api.list_repo_tree("org/m", "cfg")] == ["cfg/config.json"]
    meta = api.model_info("org/m", files_metadata=True)
    assert meta.sha == info.oid and meta.card_data.library_name == "transformers"
    assert {s.rfilename: s.blob_id for s in meta.siblings}["model.safetensors"] == lfs.blob_id

    # nothing changes: no new commit, the head is returned (huggingface_hub skips empty commits)
    same = api.upload_file(path_or_fileobj=b'{"a": 1}\n', path_in_repo="cfg/config.json", repo_id="org/m")
    assert same.oid == info.oid and len(api.list_repo_commits("org/m")) == 2
    assert "No files have been modified since last commit" in caplog.text
    moved = api.create_commit("org/m", [CommitOperationCopy("cfg/config.json", "config.json"),
                                        CommitOperationDelete("cfg/")], commit_message="move")
    assert api.list_repo_files("org/m") == [".gitattributes", "README.md", "config.json", "model.safetensors",
                                            "spm.model"]
    assert [c.title for c in api.list_repo_commits("org/m")] == ["move", "add model", "initial commit"]
    assert api.file_exists("org/m", "cfg/config.json", revision=info.oid[:7])
    assert not api.file_exists("org/m", "cfg/config.json", revision=moved.oid)
    with pytest.raises(EntryNotFoundError):
        api.create_commit("org/m", [CommitOperationDelete("nope.txt")], commit_message="x")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files("org/m", revision="nobranch")
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(path_or_fileobj=b"---\na: [\n---\n", path_in_repo="README.md", repo_id="org/m")

    # upload_folder: ignores .git, deletes what delete_patterns names, downloads give the content back
    folder = tmp_path / "up"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("x")
    (folder / "new.txt").write_text("new")
    api.upload_folder(repo_id="org/m", folder_path=folder, delete_patterns=["*.json"])
    assert api.list_repo_files("org/m") == [".gitattributes", "README.md", "model.safetensors", "new.txt", "spm.model"]
    path = api.hf_hub_download("org/m", "model.safetensors", revision=info.oid, cache_dir=tmp_path / "cache")
    assert open(path, "rb").read() == WEIGHTS
    snap = api.snapshot_download("org/m", allow_patterns=["*.txt"], local_dir=tmp_path / "snap")
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == ["new.txt"] and snap == str(tmp_path / "snap")


def test_repo_types_privacy_and_space_settings(hub):
    api = stub_api(hub)
    api.create_repo("org/same", repo_type="dataset", private=True)
    assert not api.repo_exists("org/same") and api.repo_exists("org/same", repo_type="dataset")
    api.create_repo("org/same", repo_type="model")
    api.upload_file(path_or_fileobj=b"d", path_in_repo="d.txt", repo_id="org/same", repo_type="dataset")
    assert "d.txt" not in api.list_repo_files("org/same")
    info = api.repo_info("org/same", repo_type="dataset")
    assert isinstance(info, DatasetInfo) and info.private and "d.txt" in [s.rfilename for s in info.siblings]
    assert not stub_api(hub, token=False).repo_exists("org/same", repo_type="dataset")  # private: not seen
    once = CommitOperationAdd("once.txt", b"1")
    api.create_commit("org/same", [once], commit_message="once", repo_type="dataset")
    with pytest.raises(ValueError, match="cannot be reused"):  # as HfApi.create_commit
        api.create_commit("org/same", [once], commit_message="again", repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as e:
        api.create_repo("org/same", repo_type="dataset")
    assert e.value.response.status_code == 409
    assert api.create_repo("org/same", repo_type="dataset", exist_ok=True).repo_type == "dataset"

    with pytest.raises(ValueError, match="space_sdk"):
        api.create_repo("org/app", repo_type="space")
    api.create_repo("org/app", repo_type="space", space_sdk="gradio")
    variables = api.add_space_variable("org/app", "RESULTS", "hf://datasets/org/same")
    assert variables["RESULTS"].value == "hf://datasets/org/same"
    assert api.get_space_variables("org/app")["RESULTS"].value == "hf://datasets/org/same"
    space = api.repo_info("org/app", repo_type="space")
    assert isinstance(space, SpaceInfo) and space.sdk == "gradio"
    assert json.loads((hub.repo_dir("org/app", "space") / "repo.json").read_text())["space_sdk"] == "gradio"


def test_failures_raise_what_huggingface_hub_raises(hub):
    stub_api(hub).create_repo("org/r", repo_type="dataset")
    add = dict(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="org/r", repo_type="dataset")

    no_token = stub_api(hub, token=False)
    with pytest.raises(LocalTokenNotFoundError):
        no_token.whoami()
    with pytest.raises(HfHubHTTPError) as e:
        no_token.create_repo("org/new")
    assert e.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as e:
        no_token.upload_file(**add)
    assert e.value.response.status_code == 401
    assert no_token.repo_info("org/r", repo_type="dataset").sha == hub.resolve("org/r", "dataset")  # public read
    with pytest.raises(LocalTokenNotFoundError):
        no_token.repo_info("org/r", repo_type="dataset", token=True)

    read_only = stub_api(hub, writable=False)
    assert read_only.whoami()["auth"]["accessToken"]["role"] == "read"
    for call in (lambda: read_only.upload_file(**add), lambda: read_only.create_repo("org/new"),
                 lambda: read_only.add_space_variable("org/r", "K", "V")):
        with pytest.raises(HfHubHTTPError) as e:
            call()
        assert e.value.response.status_code == 403
    assert read_only.create_repo("org/r", repo_type="dataset", exist_ok=True).repo_id == "org/r"
    assert not hub.exists("org/new") and hub.files("org/r", "dataset").keys() == {".gitattributes"}

    offline = stub_api(hub, online=False)
    for call in (offline.whoami, lambda: offline.repo_info("org/r", repo_type="dataset"),
                 lambda: offline.upload_file(**add), lambda: offline.create_repo("org/new")):
        with pytest.raises(httpx2.ConnectError):
            call()
    with pytest.raises(LocalEntryNotFoundError):
        offline.hf_hub_download("org/r", ".gitattributes", repo_type="dataset")
    with pytest.raises(LocalTokenNotFoundError):
        stub_api(hub, online=False, token=False).whoami()
    with pytest.raises(RepositoryNotFoundError):
        stub_api(hub).upload_file(**dict(add, repo_id="org/missing"))


READS = r'''
import json, os
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
api, out = HfApi(), {"offline": os.environ.get("HF_HUB_OFFLINE"), "endpoint": os.environ["HF_ENDPOINT"]}
def files(d):
    return sorted(os.path.relpath(os.path.join(r, f), d).replace(os.sep, "/") for r, _, fs in os.walk(d) for f in fs)
out["sha"] = api.repo_info("org/res", repo_type="dataset").sha
out["files"] = api.list_repo_files("org/res", repo_type="dataset")
out["blobs"] = {f.path: [f.blob_id, f.lfs.sha256 if f.lfs else None]
                for f in api.list_repo_tree("org/res", repo_type="dataset", recursive=True) if hasattr(f, "blob_id")}
out["last"] = {f.path: f.last_commit.title
               for f in api.list_repo_tree("org/res", "results", repo_type="dataset", expand=True)}
out["paths"] = [[type(f).__name__, f.path] for f in api.get_paths_info(
    "org/res", ["results", "leaderboard.csv", "nope"], repo_type="dataset")]
out["exists"] = [api.file_exists("org/res", p, repo_type="dataset") for p in ("leaderboard.csv", "nope.csv")]
out["csv"] = open(hf_hub_download("org/res", "leaderboard.csv", repo_type="dataset")).read()
path = hf_hub_download("org/m", "model.safetensors", revision=OLD_MODEL)
out["weights"], out["weights_blob"] = open(path, "rb").read().hex(), os.path.basename(os.path.realpath(path))
cache = lambda name: os.path.join(os.environ["HF_HOME"], name)  # fresh caches: only what each call fetched
out["main"] = files(snapshot_download("org/res", repo_type="dataset", allow_patterns=["results/**", "*.json"],
                                      cache_dir=cache("c1")))
out["old"] = files(snapshot_download("org/res", repo_type="dataset", revision=OLD, allow_patterns=["results/**"],
                                     cache_dir=cache("c2")))
out["space_sdk"] = api.repo_info("org/app", repo_type="space").sdk
out["app"] = open(hf_hub_download("org/app", "app.py", repo_type="space")).read()
errors = {}
for name, call in [("repo", lambda: api.repo_info("org/nope", repo_type="dataset")),
                   ("type", lambda: api.repo_info("org/res", repo_type="model")),
                   ("file", lambda: hf_hub_download("org/res", "nope.csv", repo_type="dataset")),
                   ("rev", lambda: api.list_repo_files("org/res", repo_type="dataset", revision="nobranch")),
                   ("private", lambda: api.repo_info("org/m", token=False))]:
    try:
        call()
        errors[name] = None
    except Exception as e:
        errors[name] = [c.__name__ for c in type(e).__mro__]
out["errors"] = errors
print(json.dumps(out))
'''


def test_real_huggingface_hub_reads_from_the_server(hub):
    api = stub_api(hub)
    api.create_repo("org/res", repo_type="dataset")
    old = api.create_commit("org/res", [CommitOperationAdd("results/a/seed1.json", b'{"s": 1}'),
                                        CommitOperationAdd("leaderboard.csv", b"model,score\na,1\n")],
                            commit_message="first", repo_type="dataset").oid
    api.create_commit("org/res", [CommitOperationAdd("results/b/seed1.json", b'{"s": 2}'),
                                  CommitOperationAdd("results/b/seed1.predictions.jsonl.gz", b"\x1f\x8b gz"),
                                  CommitOperationAdd("checkpoints.json", b"{}")],
                      commit_message="second", repo_type="dataset")
    api.create_repo("org/m", private=True)
    old_model = api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="model.safetensors", repo_id="org/m").oid
    api.upload_file(path_or_fileobj=b"changed", path_in_repo="model.safetensors", repo_id="org/m")
    api.create_repo("org/app", repo_type="space", space_sdk="gradio")
    api.upload_file(path_or_fileobj=b"print('hi')\n", path_in_repo="app.py", repo_id="org/app", repo_type="space")

    with serve(hub.root, page_size=3) as endpoint:  # 3 entries a page: huggingface_hub follows the Link headers
        code = f"OLD, OLD_MODEL = {old!r}, {old_model!r}\n" + READS
        proc = hub_subprocess(code, endpoint)
        assert proc.returncode == 0, proc.stderr[-3000:] + "\n".join(endpoint.requests)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["offline"] is None and out["endpoint"] == endpoint
    assert out["sha"] == hub.resolve("org/res", "dataset")
    assert out["files"] == api.list_repo_files("org/res", repo_type="dataset")
    assert out["blobs"] == {f.path: [f.blob_id, f.lfs.sha256 if f.lfs else None] for f in
                            api.list_repo_tree("org/res", repo_type="dataset", recursive=True)
                            if isinstance(f, RepoFile)}
    assert out["blobs"]["results/b/seed1.predictions.jsonl.gz"][1] is not None  # *.gz is LFS on the Hub
    assert out["exists"] == [True, False]
    assert out["last"] == {"results/a": "first", "results/b": "second"}
    assert out["paths"] == [["RepoFolder", "results"], ["RepoFile", "leaderboard.csv"]]
    assert out["paths"] == [[type(f).__name__, f.path] for f in api.get_paths_info(
        "org/res", ["results", "leaderboard.csv", "nope"], repo_type="dataset")]
    assert out["csv"] == "model,score\na,1\n" and bytes.fromhex(out["weights"]) == WEIGHTS
    assert out["weights_blob"] == hashlib.sha256(WEIGHTS).hexdigest()  # the cache names LFS blobs by sha256
    assert out["main"] == ["checkpoints.json", "results/a/seed1.json", "results/b/seed1.json",
                           "results/b/seed1.predictions.jsonl.gz"]
    assert out["old"] == ["results/a/seed1.json"]
    assert out["space_sdk"] == "gradio" and out["app"] == "print('hi')\n"
    errors = out["errors"]
    assert "RepositoryNotFoundError" in errors["repo"] and "RepositoryNotFoundError" in errors["type"]
    assert "EntryNotFoundError" in errors["file"] and "RevisionNotFoundError" in errors["rev"]
    assert "RepositoryNotFoundError" in errors["private"]
