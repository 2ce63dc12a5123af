"""serve(root): the Hub's read routes over a FolderHub, on 127.0.0.1, for real huggingface_hub code in a subprocess.

Routes (what huggingface_hub 2.4 requests; <t> = model|dataset|space, <pfx> = ""|"datasets/"|"spaces/"):
    GET  /api/<t>s/<org>/<name>[/revision/<rev>]          repo_info / model_info ... (?blobs=True: file metadata)
    GET  /api/<t>s/<org>/<name>/tree/<rev>[/<path>]       list_repo_tree / list_repo_files (?recursive, ?expand,
                                                          pages of `page_size` with a Link rel="next" header)
    POST /api/<t>s/<org>/<name>/paths-info/<rev>          get_paths_info (form: paths=..., expand=...)
    GET  /api/<t>s/<org>/<name>/commits/<rev>             list_repo_commits
    GET  /api/spaces/<org>/<name>/variables               get_space_variables
    GET  /api/whoami-v2                                   whoami (any Bearer token is user "tester")
    HEAD/GET /<pfx><org>/<name>/resolve/<rev>/<path>      hf_hub_download, file_exists, snapshot_download: 200 with
                                                          X-Repo-Commit, ETag (the git blob sha1; LFS files also
                                                          X-Linked-Etag = sha256, X-Linked-Size), Content-Length, Range
Errors: 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound (what huggingface_hub maps to its
exceptions); a private repo without an Authorization header: 401 RepoNotFound. No xet headers: plain HTTP downloads.
"""
from __future__ import annotations

import contextlib
import json
import logging
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from hub_stub_store import FolderHub, HubError

log = logging.getLogger("hub_stub.server")
_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


class Endpoint(str):
    """The endpoint URL (a str), with `.requests`: the request lines served so far (for failure messages)."""

    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    hub: FolderHub
    page_size: int
    requests: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        self.requests.append(format % args)
        log.debug(format, *args)

    # ---- answers -----------------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: Optional[dict[str, str]] = None,
              head: bool = False, ctype: str = "application/json") -> None:
        self.send_response(status)
        for k, v in {"Content-Type": ctype, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, data: Any, headers: Optional[dict[str, str]] = None) -> None:
        self._send(200, json.dumps(data).encode(), headers)

    def _error(self, e: HubError, head: bool = False) -> None:
        headers = {"X-Error-Message": e.message}
        if e.code:
            headers["X-Error-Code"] = e.code
        if e.commit:
            headers["X-Repo-Commit"] = e.commit
        self._send(e.status, json.dumps({"error": e.message}).encode(), headers, head)

    def _paged(self, items: list, query: dict[str, list[str]]) -> None:
        start = int(query.get("cursor", ["0"])[0])
        size = min(self.page_size, 50) if query.get("expand", ["False"])[0].lower() == "true" else self.page_size
        headers = {}
        if start + size < len(items):
            q = {k: v[0] for k, v in query.items()}
            q["cursor"] = str(start + size)
            url = f"http://{self.headers['Host']}{urlsplit(self.path).path}?{urlencode(q)}"
            headers["Link"] = f'<{url}>; rel="next"'
        self._json(items[start:start + size], headers)

    # ---- routing -----------------------------------------------------------------------------------------------
    def _check_access(self, repo_id: str, repo_type: str) -> None:
        if self.hub.meta(repo_id, repo_type)["private"] and not self.headers.get("Authorization"):
            raise HubError(401, "RepoNotFound", "Invalid username or password.")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        seg = [unquote(s) for s in parts.path.strip("/").split("/")]
        query = parse_qs(parts.query)
        head = method == "HEAD"
        try:
            if seg[:2] == ["api", "whoami-v2"]:
                if not self.headers.get("Authorization"):
                    raise HubError(401, None, "Invalid credentials in Authorization header")
                return self._json({"type": "user", "name": self.hub.user, "orgs": []})
            if seg[0] == "api" and len(seg) >= 4 and seg[1] in _TYPES:
                return self._api(method, _TYPES[seg[1]], f"{seg[2]}/{seg[3]}", seg[4:], query)
            rtype = "model"
            if seg[0] in ("datasets", "spaces"):
                rtype, seg = _TYPES[seg[0]], seg[1:]
            if len(seg) >= 5 and seg[2] == "resolve" and method in ("GET", "HEAD"):
                return self._resolve(rtype, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]), head)
            raise HubError(404, None, f"Sorry, we can't find the page you are looking for: {parts.path}")
        except HubError as e:
            self._error(e, head)
        except Exception as e:  # noqa: BLE001 - a bug in the stand-in: answer 500 and keep the traceback in the log
            self.requests.append(traceback.format_exc())
            self._error(HubError(500, None, f"stand-in error: {type(e).__name__}: {e}"), head)

    def _api(self, method: str, rtype: str, repo_id: str, rest: list[str], query: dict[str, list[str]]) -> None:
        self._check_access(repo_id, rtype)
        hub = self.hub
        flag = query.get("blobs", ["False"])[0].lower() == "true"
        if not rest and method == "GET":
            return self._json(hub.info(repo_id, rtype, None, flag))
        if rest[:1] == ["revision"] and len(rest) == 2 and method == "GET":
            return self._json(hub.info(repo_id, rtype, rest[1], flag))
        if rest[:1] == ["tree"] and len(rest) >= 2 and method == "GET":
            recursive = query.get("recursive", ["False"])[0].lower() == "true"
            expand = query.get("expand", ["False"])[0].lower() == "true"
            return self._paged(hub.tree(repo_id, rtype, rest[1], "/".join(rest[2:]), recursive, expand), query)
        if rest[:1] == ["commits"] and len(rest) == 2 and method == "GET":
            items = [{"id": c["id"], "title": c["title"], "message": c["message"], "date": c["date"],
                      "authors": [{"user": u} for u in c["authors"]]} for c in hub.commits(repo_id, rtype, rest[1])]
            return self._paged(items, query)
        if rest[:1] == ["paths-info"] and len(rest) == 2 and method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = parse_qs(body)
            expand = form.get("expand", ["False"])[0].lower() == "true"
            entries = {e["path"]: e for e in hub.tree(repo_id, rtype, rest[1], "", recursive=True, expand=expand)}
            return self._json([entries[p.strip("/")] for p in form.get("paths", []) if p.strip("/") in entries])
        if rest == ["variables"] and rtype == "space" and method == "GET":
            return self._json(hub.meta(repo_id, "space")["variables"])
        raise HubError(404, None, f"no route for {method} {self.path}")

    def _resolve(self, rtype: str, repo_id: str, rev: str, path: str, head: bool) -> None:
        self._check_access(repo_id, rtype)
        sha = self.hub.resolve(repo_id, rtype, rev)
        files = self.hub.files(repo_id, rtype, sha)
        if path not in files:
            raise HubError(404, "EntryNotFound", "Entry not found", commit=sha)
        entry = self.hub.entry(repo_id, rtype, sha, path, files[path])
        data = files[path].read_bytes()
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes", "ETag": f'"{entry["oid"]}"'}
        if "lfs" in entry:
            headers.update({"X-Linked-Etag": f'"{entry["lfs"]["oid"]}"',
                            "X-Linked-Size": str(entry["size"])})
        status, rng = 200, self.headers.get("Range")
        if rng and rng.startswith("bytes=") and not head:
            lo, _, hi = rng[6:].partition("-")
            start, end = int(lo or 0), int(hi) if hi else len(data) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        self._send(status, data, headers, head, ctype="application/octet-stream")

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's names
        self._route("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._route("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")


@contextlib.contextmanager
def serve(root: str | Path, page_size: int = 1000) -> Iterator[Endpoint]:
    """Serve the FolderHub at `root` on 127.0.0.1 (a free port) in a daemon thread; yields the endpoint URL
    (an `Endpoint` str with `.requests`). `page_size`: entries per /tree or /commits page (the Hub's is 1000)."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"hub": FolderHub(root), "page_size": page_size, "requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hub-stub-server", daemon=True)
    thread.start()
    url = Endpoint(f"http://127.0.0.1:{server.server_address[1]}")
    url.requests = requests
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
