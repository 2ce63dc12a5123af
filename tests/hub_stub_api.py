"""stub_api: an HfApi stand-in (autospec: HfApi's exact signatures) acting on a FolderHub.

Return values are huggingface_hub's own types, built from the same JSON the Hub (and tests/hub_server.py) sends;
errors are huggingface_hub's own exceptions, made by its `hf_raise_for_status` from the response the Hub would give.
"""
from __future__ import annotations

import inspect
import logging
import shutil
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Optional
from unittest import mock

import httpx2
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
from huggingface_hub.errors import (HfHubHTTPError, LocalEntryNotFoundError, LocalTokenNotFoundError,
                                    RepositoryNotFoundError)
from huggingface_hub.hf_api import (CommitInfo, DatasetInfo, GitCommitInfo, ModelInfo, RepoFile, RepoFolder, RepoUrl,
                                    SpaceInfo)
from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects, hf_raise_for_status, parse_datetime
from huggingface_hub.utils._validators import validate_repo_id
from huggingface_hub._space_api import SpaceVariable

from hub_stub_store import FolderHub, HubError, _front_matter

_HF_LOG = logging.getLogger("huggingface_hub.hf_api")
_INFO = {"model": ModelInfo, "dataset": DatasetInfo, "space": SpaceInfo}
_WRITES = {"create_repo", "create_commit", "upload_file", "upload_folder", "add_space_variable"}
_NO_NETWORK_DOWNLOAD = ("An error happened while trying to locate the file on the Hub and we cannot find the "
                        "requested files in the local cache. Please check your connection and try again or make sure "
                        "your Internet connection is on.")


def _prefix(repo_type: Optional[str]) -> str:
    return constants.REPO_TYPES_URL_PREFIXES.get(repo_type or "model", "")


def _raise(status: int, url: str, code: Optional[str] = None, message: Optional[str] = None,
           method: str = "GET") -> None:
    """Raise what huggingface_hub raises when the Hub answers `status` (with X-Error-Code `code`) to `url`."""
    headers = {k: v for k, v in (("X-Error-Code", code), ("X-Error-Message", message)) if v}
    hf_raise_for_status(httpx2.Response(status, headers=headers, json={"error": message or ""},
                                        request=httpx2.Request(method, url)))
    raise AssertionError(f"hf_raise_for_status did not raise for {status}")  # pragma: no cover


def stub_api(hub: FolderHub, *, token: bool = True, writable: bool = True, online: bool = True,
             user: str = "tester") -> Any:
    """A `create_autospec(HfApi, instance=True)` whose Hub methods act on `hub` (see tests/hub_stub.py).
    token=False: no token (whoami raises LocalTokenNotFoundError, writes get the Hub's 401); writable=False: writes
    get the Hub's 403; online=False: calls raise httpx2.ConnectError (downloads LocalEntryNotFoundError)."""
    api = mock.create_autospec(HfApi, instance=True)
    ep = constants.ENDPOINT
    api.endpoint, api.token = ep, ("hf_stub_token" if token else None)

    def has_token(a: dict) -> bool:
        t = a.get("token")
        return bool(t) if isinstance(t, str) else (token and t is not False)

    def api_url(a: dict, tail: str = "") -> str:
        return f"{ep}/api/{a.get('repo_type') or 'model'}s/{a['repo_id']}{tail}"

    def call(url: str, a: dict, fn: Callable[[], Any], method: str = "GET") -> Any:
        """Run a store operation; HubError becomes the exception huggingface_hub raises for that answer."""
        try:
            if a.get("repo_id") and hub.exists(a["repo_id"], a.get("repo_type")) and not has_token(a) and \
                    hub.meta(a["repo_id"], a.get("repo_type"))["private"]:
                raise HubError(401, "RepoNotFound", "Invalid username or password.")
            return fn()
        except HubError as e:
            _raise(e.status, url, e.code, e.message, method)

    def writing(a: dict, url: str) -> None:
        if not has_token(a):
            _raise(401, url, None, "Invalid username or password.", "POST")
        if not writable:
            _raise(403, url, None, "You don't have the rights to write to this repo", "POST")

    def commit_info(a: dict, sha: str, message: str) -> CommitInfo:
        return CommitInfo(commit_url=f"{ep}/{_prefix(a.get('repo_type'))}{a['repo_id']}/commit/{sha}",
                          commit_message=message, commit_description=a.get("commit_description") or "", oid=sha,
                          _endpoint=ep)

    # ---- implementations (each gets the bound arguments of the HfApi method as a dict) ----------------------------
    def whoami(a: dict) -> dict:
        if a["token"] is False:
            raise ValueError("Cannot use `token=False` with `whoami` method as it requires authentication.")
        if not has_token(a):
            raise LocalTokenNotFoundError(
                "Token is required to call the /whoami-v2 endpoint, but no token found. You must provide a token or "
                "be logged in to Hugging Face with `hf auth login` or `huggingface_hub.login`. See "
                "https://huggingface.co/settings/tokens.")
        role = "write" if writable else "read"
        return {"type": "user", "name": user, "fullname": user.title(), "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "stub", "role": role}}}

    def create_repo(a: dict) -> RepoUrl:
        rtype = a["repo_type"] or "model"
        if rtype == "space" and a["space_sdk"] not in constants.SPACES_SDK_TYPES:
            raise ValueError("No space_sdk provided. `create_repo` expects space_sdk to be one of "
                             f"{constants.SPACES_SDK_TYPES} when repo_type is 'space'`")
        url = RepoUrl(f"{ep}/{_prefix(rtype)}{a['repo_id']}", endpoint=ep)
        private = a["private"] if a["visibility"] is None else a["visibility"] == "private"
        try:
            writing(a, f"{ep}/api/repos/create")
        except Exception as err:
            status = getattr(getattr(err, "response", None), "status_code", None)
            if a["exist_ok"] and status in (401, 402, 403):  # as huggingface_hub: fine if the repo can be read
                try:
                    repo_info(dict(a, revision=None, files_metadata=False))
                except HfHubHTTPError:
                    raise err from None
                return url
            raise
        if hub.exists(a["repo_id"], rtype) and a["exist_ok"]:
            return url
        call(f"{ep}/api/repos/create", {}, lambda: hub.create_repo(a["repo_id"], rtype, bool(private), False,
                                                                    a["space_sdk"]), "POST")
        return url

    def repo_info(a: dict) -> Any:
        rtype = a.get("repo_type") or "model"
        rev = a.get("revision")
        url = api_url(a) + (f"/revision/{rev}" if rev else "")
        return _INFO[rtype](**call(url, a, lambda: hub.info(a["repo_id"], rtype, rev, a.get("files_metadata"))))

    def repo_exists(a: dict) -> bool:
        try:  # as HfApi.repo_exists: repo_info, a RepositoryNotFoundError (missing, or private without token) is False
            repo_info(dict(a, revision=None, files_metadata=False))
            return True
        except RepositoryNotFoundError:
            return False

    def file_exists(a: dict) -> bool:
        try:
            return a["filename"] in call(api_url(a), a, lambda: hub.files(a["repo_id"], a["repo_type"],
                                                                          a["revision"]))
        except Exception as e:  # as HfApi.file_exists: a missing repo or revision is False
            if type(e).__name__ in ("RepositoryNotFoundError", "RevisionNotFoundError"):
                return False
            raise

    def _commit(a: dict, operations: list, message: str) -> Any:
        url = api_url(a, f"/preupload/{a.get('revision') or 'main'}")
        writing(a, url)
        for op in operations:
            if isinstance(op, CommitOperationAdd) and op.path_in_repo == "README.md":
                with op.as_file() as f:
                    text = f.read().decode()
                if text.startswith("---") and _front_matter(text) is None:
                    raise ValueError("Invalid metadata in README.md.\n- Invalid YAML in the metadata block")
        for op in operations:
            if getattr(op, "_is_committed", False):  # as HfApi.create_commit
                raise ValueError(f"CommitOperationAdd {op} has already being committed and cannot be reused. Please "
                                 "create a new CommitOperationAdd object if you want to create a new commit.")

        def run() -> str:
            head = hub.resolve(a["repo_id"], a.get("repo_type"), a.get("revision") or "main")
            sha = hub.commit(a["repo_id"], a.get("repo_type"), operations, message, a.get("revision") or "main",
                             a.get("commit_description") or "", a.get("parent_commit"))
            if sha == head:  # huggingface_hub's own words, on its own logger
                _HF_LOG.warning("No files have been modified since last commit. Skipping to prevent empty commit.")
            return sha
        sha = call(url, a, run, "POST")
        for op in operations:
            if isinstance(op, CommitOperationAdd):
                op._is_committed = True
        info = commit_info(a, sha, message)
        if a.get("run_as_future"):
            fut: Future = Future()
            fut.set_result(info)
            return fut
        return info

    def create_commit(a: dict) -> Any:
        return _commit(a, list(a["operations"]), a["commit_message"])

    def upload_file(a: dict) -> Any:
        op = CommitOperationAdd(path_in_repo=a["path_in_repo"], path_or_fileobj=a["path_or_fileobj"])
        return _commit(a, [op], a["commit_message"] or f"Upload {a['path_in_repo']} with huggingface_hub")

    def upload_folder(a: dict) -> Any:
        folder = Path(a["folder_path"]).expanduser().resolve()
        if not folder.is_dir():
            raise ValueError(f"Provided path: '{folder}' is not a directory")
        prefix = f"{a['path_in_repo'].strip('/')}/" if a["path_in_repo"] else ""
        ignore = ([a["ignore_patterns"]] if isinstance(a["ignore_patterns"], str) else list(a["ignore_patterns"] or []))
        local = {p.relative_to(folder).as_posix(): p for p in sorted(folder.glob("**/*")) if p.is_file()}
        adds = [CommitOperationAdd(path_in_repo=prefix + r, path_or_fileobj=local[r]) for r in filter_repo_objects(
            local, allow_patterns=a["allow_patterns"], ignore_patterns=ignore + DEFAULT_IGNORE_PATTERNS)]
        deletes = []
        if a["delete_patterns"] is not None:
            remote = [p for p in call(api_url(a), a, lambda: hub.files(a["repo_id"], a["repo_type"], a["revision"]))
                      if p.startswith(prefix)]
            added = {op.path_in_repo for op in adds}
            deletes = [CommitOperationDelete(path_in_repo=prefix + r, is_folder=False) for r in filter_repo_objects(
                [p[len(prefix):] for p in remote], allow_patterns=a["delete_patterns"])
                if r != ".gitattributes" and prefix + r not in added]
        return _commit(a, deletes + adds, a["commit_message"] or "Upload folder using huggingface_hub")

    def list_repo_tree(a: dict) -> Any:
        rev = a["revision"] or "main"
        url = api_url(a, f"/tree/{rev}/{a['path_in_repo'] or ''}")

        def gen() -> Any:  # a generator, like HfApi.list_repo_tree: errors come when it is iterated
            for e in call(url, a, lambda: hub.tree(a["repo_id"], a["repo_type"], rev, a["path_in_repo"] or "",
                                                     a["recursive"], a["expand"])):
                yield RepoFile(**e) if e["type"] == "file" else RepoFolder(**e)
        return gen()

    def get_paths_info(a: dict) -> list:
        rev = a["revision"] or "main"
        entries = {e["path"]: e for e in call(api_url(a, f"/paths-info/{rev}"), a, lambda: hub.tree(
            a["repo_id"], a["repo_type"], rev, "", True, a["expand"]))}
        paths = [a["paths"]] if isinstance(a["paths"], str) else a["paths"]
        return [RepoFile(**e) if e["type"] == "file" else RepoFolder(**e)
                for e in (entries.get(p.strip("/")) for p in paths) if e]

    def list_repo_files(a: dict) -> list[str]:
        return [f.path for f in list_repo_tree(dict(a, path_in_repo=None, recursive=True, expand=False))
                if isinstance(f, RepoFile)]

    def list_repo_commits(a: dict) -> list[GitCommitInfo]:
        items = call(api_url(a, f"/commits/{a['revision'] or 'main'}"), a,
                     lambda: hub.commits(a["repo_id"], a["repo_type"], a["revision"]))
        return [GitCommitInfo(commit_id=c["id"], authors=c["authors"], created_at=parse_datetime(c["date"]),
                              title=c["title"], message=c["message"], formatted_title=None, formatted_message=None)
                for c in items]

    def add_space_variable(a: dict) -> dict[str, SpaceVariable]:
        url = f"{ep}/api/spaces/{a['repo_id']}/variables"
        writing(a, url)
        got = call(url, dict(a, repo_type="space"),
                   lambda: hub.set_variable(a["repo_id"], a["key"], a["value"], a["description"]), "POST")
        return {k: SpaceVariable(k, v) for k, v in got.items()}

    def get_space_variables(a: dict) -> dict[str, SpaceVariable]:
        url = f"{ep}/api/spaces/{a['repo_id']}/variables"
        if not has_token(a):
            _raise(401, url, None, "Invalid username or password.")
        got = call(url, dict(a, repo_type="space"), lambda: hub.meta(a["repo_id"], "space")["variables"])
        return {k: SpaceVariable(k, v) for k, v in got.items()}

    def _snapshot(a: dict, names: list[str], sha: str) -> Path:
        rtype = a.get("repo_type") or "model"
        if a.get("local_dir") is not None:
            base = Path(a["local_dir"])
        else:
            cache = Path(a.get("cache_dir") or hub.root / ".download-cache")
            base = cache / f"{rtype}s--{a['repo_id'].replace('/', '--')}" / "snapshots" / sha
        files = hub.files(a["repo_id"], rtype, sha)
        for n in names:
            (base / n).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files[n], base / n)
        base.mkdir(parents=True, exist_ok=True)
        return base

    def hf_hub_download(a: dict) -> str:
        name = f"{a['subfolder']}/{a['filename']}" if a["subfolder"] else a["filename"]
        rev = a["revision"] or "main"
        url = f"{ep}/{_prefix(a['repo_type'])}{a['repo_id']}/resolve/{rev}/{name}"

        def find() -> str:
            sha = hub.resolve(a["repo_id"], a["repo_type"], rev)
            if name not in hub.files(a["repo_id"], a["repo_type"], sha):
                raise HubError(404, "EntryNotFound", "Entry not found", commit=sha)
            return sha
        sha = call(url, a, find, "HEAD")
        return str(_snapshot(a, [name], sha) / name)

    def snapshot_download(a: dict) -> str:
        rev = a["revision"] or "main"
        sha = repo_info(dict(a, files_metadata=False, revision=rev)).sha
        names = list(filter_repo_objects(list(hub.files(a["repo_id"], a["repo_type"], sha)),
                                         allow_patterns=a["allow_patterns"], ignore_patterns=a["ignore_patterns"]))
        return str(_snapshot(a, names, sha).resolve() if a["local_dir"] is not None else _snapshot(a, names, sha))

    impls: dict[str, Callable[[dict], Any]] = {
        "whoami": whoami, "create_repo": create_repo, "repo_info": repo_info, "repo_exists": repo_exists,
        "file_exists": file_exists, "create_commit": create_commit, "upload_file": upload_file,
        "upload_folder": upload_folder, "list_repo_tree": list_repo_tree, "list_repo_files": list_repo_files,
        "list_repo_commits": list_repo_commits, "get_paths_info": get_paths_info,
        "add_space_variable": add_space_variable,
        "get_space_variables": get_space_variables, "hf_hub_download": hf_hub_download,
        "snapshot_download": snapshot_download,
        "model_info": lambda a: repo_info(dict(a, repo_type="model")),
        "dataset_info": lambda a: repo_info(dict(a, repo_type="dataset")),
        "space_info": lambda a: repo_info(dict(a, repo_type="space")),
    }
    for name, member in inspect.getmembers(HfApi, callable):
        if name.startswith("_") or not hasattr(api, name):
            continue
        getattr(api, name).side_effect = _wire(name, impls.get(name), online, token)
    return api


def _wire(name: str, impl: Optional[Callable[[dict], Any]], online: bool, token: bool) -> Callable[..., Any]:
    """The side effect of HfApi.<name>: bind the call to the real signature, then run `impl` (or fail loudly)."""
    sig = inspect.signature(getattr(HfApi, name))

    def side_effect(*args: Any, **kwargs: Any) -> Any:
        if impl is None:
            raise AssertionError(f"HfApi.{name} is not implemented by the stand-in")
        bound = sig.bind(None, *args, **kwargs)
        bound.apply_defaults()
        a = dict(bound.arguments)
        a.pop("self", None)
        for unsupported in ("create_pr", "dry_run"):
            if a.get(unsupported):
                raise AssertionError(f"HfApi.{name}({unsupported}=True) is not implemented by the stand-in")
        if a.get("repo_id") is not None:
            validate_repo_id(a["repo_id"])
        if a.get("repo_type") not in (None, "model", "dataset", "space"):
            raise ValueError(f"Invalid repo type: {a['repo_type']}")
        if a.get("token") is True and not token and name != "whoami":
            raise LocalTokenNotFoundError(
                "Token is required (`token=True`), but no token found. You need to provide a token or be logged in to "
                "Hugging Face with `hf auth login` or `huggingface_hub.login`. See "
                "https://huggingface.co/settings/tokens.")
        if not online:
            if name == "whoami":
                impl(dict(a, token=a.get("token")))  # token checks come before the network, as in HfApi.whoami
            if name in ("hf_hub_download", "snapshot_download"):
                raise LocalEntryNotFoundError(_NO_NETWORK_DOWNLOAD)
            raise httpx2.ConnectError("[Errno 111] Connection refused")
        return impl(a)
    return side_effect
