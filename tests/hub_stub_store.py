"""FolderHub: a Hugging Face Hub kept in a folder, shared by the HfApi stand-in and the local read server.

Layout (tests/hub_stub.py documents the public API):
    ROOT/<type>s/<org>/<name>/repo.json      {"private", "space_sdk", "variables", "refs": {"main": sha},
                                              "commits": [{"id", "title", "message", "parents", "date", "authors"}]}
    ROOT/<type>s/<org>/<name>/commits/<sha>/  the files of that commit (a full copy per commit)

Like the Hub: a new repo has one commit ("initial commit") holding the default `.gitattributes`; repos of different
types with the same id are separate; a commit that changes nothing makes no commit (the head is returned).
LFS rule and git ids: tests/hub_stub_git.py.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from hub_stub_git import DATASET_GITATTRIBUTES, DEFAULT_GITATTRIBUTES, git_blob_sha1, is_lfs, lfs_pointer, tree_sha

REPO_TYPES = ("model", "dataset", "space")
_HEX40 = re.compile(r"[0-9a-f]{40}")


class HubError(Exception):
    """What the Hub answers with an HTTP error: status, X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound or
    None) and the message (X-Error-Message)."""

    def __init__(self, status: int, code: Optional[str], message: str, commit: Optional[str] = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.commit = status, code, message, commit


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FolderHub:
    """Hub repos in a folder (layout in the module docstring). Errors are HubError with the Hub's status/code."""

    def __init__(self, root: str | Path, user: str = "tester") -> None:
        self.root = Path(root)
        self.user = user

    # ---- repos -------------------------------------------------------------------------------------------------
    def repo_dir(self, repo_id: str, repo_type: Optional[str] = "model") -> Path:
        repo_type = repo_type or "model"
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type {repo_type!r}")
        return self.root / f"{repo_type}s" / repo_id

    def exists(self, repo_id: str, repo_type: Optional[str] = "model") -> bool:
        return (self.repo_dir(repo_id, repo_type) / "repo.json").is_file()

    def meta(self, repo_id: str, repo_type: Optional[str] = "model") -> dict[str, Any]:
        """repo.json; HubError 404 RepoNotFound when the repo does not exist."""
        path = self.repo_dir(repo_id, repo_type) / "repo.json"
        if not path.is_file():
            raise HubError(404, "RepoNotFound", "Repository not found")
        return json.loads(path.read_text())

    def _save(self, repo_id: str, repo_type: Optional[str], meta: dict[str, Any]) -> None:
        path = self.repo_dir(repo_id, repo_type) / "repo.json"
        path.write_text(json.dumps(meta, indent=1))

    def create_repo(self, repo_id: str, repo_type: Optional[str] = "model", private: bool = False,
                    exist_ok: bool = False, space_sdk: Optional[str] = None) -> bool:
        """Create the repo with its initial commit (.gitattributes); False when it existed (and exist_ok)."""
        if self.exists(repo_id, repo_type):
            if exist_ok:
                return False
            raise HubError(409, None, f"You already created this {repo_type or 'model'} repo")
        d = self.repo_dir(repo_id, repo_type)
        d.mkdir(parents=True, exist_ok=True)
        meta = {"private": bool(private), "space_sdk": space_sdk if repo_type == "space" else None,
                "variables": {}, "refs": {}, "commits": [], "created_at": _now()}
        self._save(repo_id, repo_type, meta)
        attrs = DATASET_GITATTRIBUTES if repo_type == "dataset" else DEFAULT_GITATTRIBUTES
        self._write_commit(repo_id, repo_type, "main", {".gitattributes": attrs.encode()}, "initial commit", "")
        return True

    def set_variable(self, repo_id: str, key: str, value: str, description: Optional[str] = None) -> dict:
        """Add or update a Space variable; returns all variables {key: {"value", "description", "updatedAt"}}."""
        meta = self.meta(repo_id, "space")
        meta["variables"][key] = {"value": value, "description": description, "updatedAt": _now()}
        self._save(repo_id, "space", meta)
        return meta["variables"]

    # ---- revisions and files -----------------------------------------------------------------------------------
    def resolve(self, repo_id: str, repo_type: Optional[str] = "model", revision: Optional[str] = None) -> str:
        """The commit sha of a branch name, a full or a short (>= 7 hex) commit sha; HubError 404 otherwise."""
        meta = self.meta(repo_id, repo_type)
        rev = revision or "main"
        if rev in meta["refs"]:
            return meta["refs"][rev]
        ids = [c["id"] for c in meta["commits"]]
        if _HEX40.fullmatch(rev) and rev in ids:
            return rev
        found = [i for i in ids if len(rev) >= 7 and re.fullmatch(r"[0-9a-f]+", rev) and i.startswith(rev)]
        if len(found) == 1:
            return found[0]
        raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")

    def files(self, repo_id: str, repo_type: Optional[str] = "model", revision: Optional[str] = None
              ) -> dict[str, Path]:
        """{path in repo: file on disk} at the revision, sorted by path."""
        base = self.repo_dir(repo_id, repo_type) / "commits" / self.resolve(repo_id, repo_type, revision)
        return {p.relative_to(base).as_posix(): p for p in sorted(base.rglob("*")) if p.is_file()}

    def commits(self, repo_id: str, repo_type: Optional[str] = "model", revision: Optional[str] = None
                ) -> list[dict[str, Any]]:
        """The history of the revision, newest first (each {"id","title","message","parents","date","authors"})."""
        by_id = {c["id"]: c for c in self.meta(repo_id, repo_type)["commits"]}
        out, sha = [], self.resolve(repo_id, repo_type, revision)
        while sha:
            out.append(by_id[sha])
            sha = (by_id[sha]["parents"] or [None])[0]
        return out

    def entry(self, repo_id: str, repo_type: Optional[str], sha: str, path: str, disk: Path) -> dict[str, Any]:
        """The Hub's JSON for one file (as in /tree and /paths-info): type, path, size, oid (+ lfs)."""
        data = disk.read_bytes()
        attrs = self.repo_dir(repo_id, repo_type) / "commits" / sha / ".gitattributes"
        out: dict[str, Any] = {"type": "file", "path": path, "size": len(data)}
        if is_lfs(path, data, attrs.read_text() if attrs.is_file() else ""):
            pointer = lfs_pointer(data)
            out["oid"] = git_blob_sha1(pointer)
            out["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": len(pointer)}
        else:
            out["oid"] = git_blob_sha1(data)
        return out

    def _objects(self, repo_id: str, repo_type: Optional[str], sha: str) -> tuple[dict[str, dict], dict[str, str]]:
        """({file path: entry JSON}, {folder path ("" = root): git tree sha}) at commit `sha`."""
        files = {p: self.entry(repo_id, repo_type, sha, p, d) for p, d in self.files(repo_id, repo_type, sha).items()}
        dirs: dict[str, dict[str, tuple[bool, str]]] = {"": {}}
        for p, e in files.items():
            parts = p.split("/")
            for i in range(1, len(parts)):
                dirs.setdefault("/".join(parts[:i]), {})
            dirs["/".join(parts[:-1])][parts[-1]] = (False, e["oid"])
        oids: dict[str, str] = {}
        for d in sorted(dirs, key=lambda d: d.count("/") + (1 if d else 0), reverse=True):  # deepest first
            oids[d] = tree_sha(dirs[d])
            if d:
                up, _, name = d.rpartition("/")
                dirs[up][name] = (True, oids[d])
        return files, oids

    def tree(self, repo_id: str, repo_type: Optional[str] = "model", revision: Optional[str] = None,
             path: str = "", recursive: bool = False, expand: bool = False) -> list[dict[str, Any]]:
        """The Hub's /tree JSON: folders ("directory", oid = git tree sha) and files under `path`, sorted (expand:
        with lastCommit, and securityFileStatus for files); HubError 404 EntryNotFound when `path` is no folder."""
        sha = self.resolve(repo_id, repo_type, revision)
        files, oids = self._objects(repo_id, repo_type, sha)
        path = path.strip("/")
        if path and path not in oids:
            raise HubError(404, "EntryNotFound", f"{path} does not exist on \"{revision or 'main'}\"", commit=sha)
        prefix = f"{path}/" if path else ""
        out = [{"type": "directory", "path": d, "oid": oids[d]} for d in oids if d.startswith(prefix) and d != path
               and (recursive or "/" not in d[len(prefix):])]
        out += [e for p, e in files.items() if p.startswith(prefix) and (recursive or "/" not in p[len(prefix):])]
        if expand:
            history = self.commits(repo_id, repo_type, sha)
            states = [(c, {**{p: e["oid"] for p, e in f.items()}, **o}) for c in history
                      for f, o in [self._objects(repo_id, repo_type, c["id"])]] + [({}, {})]
            for e in out:
                c = next(c for (c, now), (_, before) in zip(states, states[1:])
                         if now[e["path"]] != before.get(e["path"]))
                e["lastCommit"] = {"id": c["id"], "title": c["title"], "date": c["date"]}
                if e["type"] == "file":
                    e["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False, "virusNames": None},
                                               "pickleImportScan": None}
        return sorted(out, key=lambda e: e["path"])

    def info(self, repo_id: str, repo_type: Optional[str] = "model", revision: Optional[str] = None,
             blobs: bool = False) -> dict[str, Any]:
        """The Hub's repo info JSON (GET /api/<type>s/<id>[/revision/<rev>]): id, sha, private, siblings, cardData..."""
        meta = self.meta(repo_id, repo_type)
        sha = self.resolve(repo_id, repo_type, revision)
        files = self.files(repo_id, repo_type, sha)
        siblings = []
        for p, d in files.items():
            sib: dict[str, Any] = {"rfilename": p}
            if blobs:
                e = self.entry(repo_id, repo_type, sha, p, d)
                sib.update(size=e["size"], blobId=e["oid"])
                if "lfs" in e:
                    sib["lfs"] = {"sha256": e["lfs"]["oid"], "size": e["lfs"]["size"],
                                  "pointerSize": e["lfs"]["pointerSize"]}
            siblings.append(sib)
        commit = next(c for c in meta["commits"] if c["id"] == sha)
        out: dict[str, Any] = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id,
                               "author": repo_id.split("/")[0], "sha": sha, "private": meta["private"],
                               "gated": False, "disabled": False, "likes": 0, "tags": [], "siblings": siblings,
                               "createdAt": meta["created_at"], "lastModified": commit["date"]}
        card = _front_matter(files["README.md"].read_text(encoding="utf-8")) if "README.md" in files else None
        if card:
            out["cardData"] = card
            out["tags"] = list(card.get("tags") or [])
        if (repo_type or "model") == "model":
            out.update(modelId=repo_id, downloads=0, library_name=(card or {}).get("library_name"),
                       pipeline_tag=(card or {}).get("pipeline_tag"))
        elif repo_type == "dataset":
            out["downloads"] = 0
        else:
            out.update(sdk=meta["space_sdk"], subdomain=repo_id.replace("/", "-").lower())
        return out

    # ---- commits -----------------------------------------------------------------------------------------------
    def commit(self, repo_id: str, repo_type: Optional[str], operations: Iterable[Any], message: str,
               revision: Optional[str] = "main", description: str = "", parent_commit: Optional[str] = None) -> str:
        """Apply huggingface_hub CommitOperationAdd/Delete/Copy to the branch; the new commit sha, or the head sha
        when nothing changes (as huggingface_hub does: no empty commits)."""
        revision = revision or "main"
        meta = self.meta(repo_id, repo_type)
        if revision not in meta["refs"]:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        head = meta["refs"][revision]
        if parent_commit is not None and parent_commit != head:
            raise HubError(412, None, "A commit has happened since. Please refresh and try again.")
        old = {p: d.read_bytes() for p, d in self.files(repo_id, repo_type, head).items()}
        new = dict(old)
        for op in operations:
            kind = type(op).__name__
            if kind == "CommitOperationAdd":
                with op.as_file() as f:
                    new[op.path_in_repo] = f.read()
            elif kind == "CommitOperationDelete":
                target = op.path_in_repo
                folder = op.is_folder is True or (op.is_folder == "auto" and target.endswith("/"))
                hit = [p for p in new if p.startswith(target.rstrip("/") + "/")] if folder else \
                    [target] if target in new else []
                if not hit:
                    raise HubError(404, "EntryNotFound", f"A file with this name doesn't exist: {target}")
                for p in hit:
                    del new[p]
            elif kind == "CommitOperationCopy":
                src = self.files(op.src_repo_id or repo_id, op.src_repo_type or repo_type,
                                 op.src_revision or head)
                if op.src_path_in_repo not in src:
                    raise HubError(404, "EntryNotFound", f"{op.src_path_in_repo} does not exist")
                new[op.path_in_repo] = src[op.src_path_in_repo].read_bytes()
            else:
                raise TypeError(f"not a commit operation: {op!r}")
        if new == old:
            return head
        return self._write_commit(repo_id, repo_type, revision, new, message, description)

    def _write_commit(self, repo_id: str, repo_type: Optional[str], branch: str, files: dict[str, bytes],
                      title: str, description: str) -> str:
        meta = self.meta(repo_id, repo_type)
        parent = meta["refs"].get(branch)
        digest = hashlib.sha1(json.dumps([parent, title, description, repo_type, repo_id,
                                          sorted((p, git_blob_sha1(b)) for p, b in files.items())]).encode())
        sha = digest.hexdigest()
        base = self.repo_dir(repo_id, repo_type) / "commits" / sha
        tmp = base.with_name(sha + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for p, data in files.items():
            (tmp / p).parent.mkdir(parents=True, exist_ok=True)
            (tmp / p).write_bytes(data)
        tmp.mkdir(parents=True, exist_ok=True)
        if not base.exists():
            tmp.rename(base)
        shutil.rmtree(tmp, ignore_errors=True)
        meta["commits"].append({"id": sha, "title": title, "message": description, "parents": [parent] if parent
                                else [], "date": _now(), "authors": [self.user]})
        meta["refs"][branch] = sha
        self._save(repo_id, repo_type, meta)
        return sha


def _front_matter(text: str) -> Optional[dict]:
    """The YAML metadata block of a README.md (None when absent or not a mapping)."""
    m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not m:
        return None
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None
