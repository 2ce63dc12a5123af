"""The one place `push` and `space` get their HfApi, and Hub errors as one line each (HarnessError, exit 2).

huggingface_hub is imported inside the functions: importing this module costs nothing and touches no network.
Tests replace `get_api` (monkeypatch `harness.publish.api.get_api`) with the folder-backed stand-in.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator, Optional

from ..errors import HarnessError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

REPO_TYPES = ("model", "dataset", "space")
LOGIN_HINT = "run `hf auth login` or set HF_TOKEN"


TIMEOUT_ENV = "HARNESS_HUB_TIMEOUT"  # seconds to wait for a Hub answer (default READ_TIMEOUT_S)
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 10.0, 60.0


def bound_hub_calls() -> None:
    """Every request huggingface_hub makes from now on in this process gets timeouts (connect 10 s; read, write and
    pool 60 s or $HARNESS_HUB_TIMEOUT): its default waits for ever, so an endpoint that accepts the connection and
    never answers would hang the command. Installed through huggingface_hub's public client factory, with the
    event hooks of its own default client kept; again only when the timeout changed."""
    import os

    import httpx2
    import huggingface_hub

    try:
        read = float(os.environ.get(TIMEOUT_ENV) or READ_TIMEOUT_S)
    except ValueError:
        raise HarnessError(f"{TIMEOUT_ENV}: expected a number of seconds, got {os.environ[TIMEOUT_ENV]!r}") from None
    if getattr(bound_hub_calls, "installed", None) == read:
        return
    timeout = httpx2.Timeout(read, connect=min(CONNECT_TIMEOUT_S, read))
    hooks = huggingface_hub.get_session().event_hooks  # the default client's (headers, user agent)
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(event_hooks=hooks, follow_redirects=True, timeout=timeout))
    bound_hub_calls.installed = read  # type: ignore[attr-defined]


def get_api() -> "HfApi":
    """An HfApi with the usual token (the saved login, or HF_TOKEN) and endpoint (HF_ENDPOINT), every call bounded
    in time (bound_hub_calls)."""
    from huggingface_hub import HfApi

    bound_hub_calls()
    return HfApi()


def endpoint() -> str:
    """The Hub endpoint huggingface_hub talks to (HF_ENDPOINT, read at its import)."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__


def describe(e: BaseException, what: str) -> Optional[str]:
    """The one line for a Hub/network exception raised while doing `what`, or None when it is not one."""
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, LocalTokenNotFoundError, OfflineModeIsEnabled,
        RepositoryNotFoundError, RevisionNotFoundError)

    if isinstance(e, LocalTokenNotFoundError):
        return f"{what}: not logged in: {LOGIN_HINT}"
    if isinstance(e, OfflineModeIsEnabled):
        return f"{what}: cannot reach the Hub at {endpoint()} (offline mode: HF_HUB_OFFLINE is set)"
    if isinstance(e, (httpx2.TransportError, ConnectionError, TimeoutError)):
        return f"{what}: cannot reach the Hub at {endpoint()} ({type(e).__name__}: {_first_line(e)})"
    if isinstance(e, LocalEntryNotFoundError):  # a download found neither the Hub nor a cached copy
        return f"{what}: cannot reach the Hub at {endpoint()} and no copy is in the local cache"
    if isinstance(e, GatedRepoError):
        return f"{what}: access to {e.repo_id or 'the repo'} needs approval on the Hub (gated repo)"
    if isinstance(e, RepositoryNotFoundError):
        name = f"{e.repo_type or 'repo'} {e.repo_id}" if e.repo_id else "the repo"
        return f"{what}: {name} was not found on the Hub (or is not visible with this token: {LOGIN_HINT})"
    if isinstance(e, RevisionNotFoundError):
        return f"{what}: revision not found ({_first_line(e)})"
    if isinstance(e, HfHubHTTPError):
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status == 401:
            return f"{what}: the Hub refused the token (401: invalid or expired): {LOGIN_HINT}"
        if status == 403:
            return f"{what}: no write access (403): the token cannot write there; use a token with write access"
        return f"{what}: the Hub answered {status}: {_first_line(e)}"
    return None


@contextlib.contextmanager
def hub_errors(what: str) -> Iterator[None]:
    """Turn huggingface_hub / network exceptions raised inside into HarnessError with one line starting with
    `what` (e.g. "push: results repo org/name"). Other exceptions pass through unchanged."""
    try:
        yield
    except HarnessError:
        raise
    except Exception as e:  # noqa: BLE001 - mapped below; anything unknown is re-raised as is
        line = describe(e, what)
        if line is None:
            raise
        raise HarnessError(line) from None


def check_repo_type(api: "HfApi", repo_id: str, repo_type: str, *, sdk: Optional[str] = None) -> bool:
    """Whether `repo_id` exists as a `repo_type` repo. A repo of that name that exists with another type (or, for a
    Space with `sdk` given, another SDK) raises HarnessError with one line. Call inside `hub_errors`."""
    if repo_type not in REPO_TYPES:
        raise ValueError(f"repo_type {repo_type!r}")
    if api.repo_exists(repo_id, repo_type=repo_type):
        if sdk is not None and repo_type == "space":
            found = getattr(api.repo_info(repo_id, repo_type="space"), "sdk", None)
            if found != sdk:
                raise HarnessError(f"{repo_id} is a {found or 'non-' + sdk} Space on the Hub, expected a {sdk} "
                                   "Space: choose another name")
        return True
    for other in REPO_TYPES:
        if other != repo_type and api.repo_exists(repo_id, repo_type=other):
            raise HarnessError(f"{repo_id} exists on the Hub as a {other} repo, expected a {repo_type} repo: "
                               "choose another name")
    return False
