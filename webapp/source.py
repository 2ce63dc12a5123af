"""Where the app's results come from: one setting, ``--results PATH|hf://datasets/ORG/NAME[@rev]`` or env ``RESULTS``.

Precedence: the flag, then $RESULTS, then the deprecated $HARNESS_RESULTS_REPO (+ $HARNESS_RESULTS_REPO_TYPE) and
$HARNESS_RESULTS_DIR (a deprecation warning logged once), then the bundled sample (webapp.sample). From a Hub
dataset repo only the records, predictions, job logs, leaderboard tables and the checkpoint mapping are downloaded
(`HUB_PATTERNS`), at one commit; a pushed checkpoint is downloaded from its model repo when first used. Hub access
goes through harness.publish.api (get_api, describe), so tests put the stand-in in there.
"""
from __future__ import annotations

import argparse
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from harness.errors import HarnessError

log = logging.getLogger(__name__)

RESULTS_ENV = "RESULTS"
OLD_REPO_ENV = "HARNESS_RESULTS_REPO"
OLD_REPO_TYPE_ENV = "HARNESS_RESULTS_REPO_TYPE"  # dataset (default) | model | space
OLD_DIR_ENV = "HARNESS_RESULTS_DIR"
EXPECTED = "a results folder or hf://datasets/ORG/NAME[@revision]"
HUB_PATTERNS = ["results/**/seed*.json", "results/**/seed*.predictions.jsonl.gz", "results/**/seed*.log",
                "results/**/latency.seed*.json",
                "leaderboard.csv", "leaderboard.md", "checkpoints.json"]
_warned: set[str] = set()


@dataclass(frozen=True)
class ResultsSource:
    """A typed results source: a local folder, a Hub repo at a revision (None = main), or the bundled sample."""

    kind: str  # "local" | "hub" | "sample"
    path: Optional[Path] = None
    repo_id: str = ""
    revision: Optional[str] = None
    repo_type: str = "dataset"

    def label(self, commit: Optional[str] = None) -> str:
        """How the page names it: a folder, 'hf://datasets/ORG/NAME @ abc1234', or 'bundled sample'."""
        if self.kind == "hub":
            at = f"@{self.revision}" if self.revision else ""
            return f"hf://{self.repo_type}s/{self.repo_id}{at}" + (f" @ {commit[:7]}" if commit else "")
        return "bundled sample" if self.kind == "sample" else str(self.path)


SAMPLE = ResultsSource("sample")


def parse_results(text: str, where: str = "--results") -> ResultsSource:
    """A --results / RESULTS value -> ResultsSource; HarnessError with one line naming ``where`` for a bad form."""
    from harness.publish.commands import HF_RESULTS, repo_id

    value = str(text).strip()
    if not value:
        raise HarnessError(f"{where}: empty value; expected {EXPECTED}")
    low = value.lower()
    if low.startswith("hf:") or low.startswith(("http://", "https://")):
        m = HF_RESULTS.match(value)
        if m is None:
            hint = ""
            if "huggingface.co/datasets/" in low:
                hint = f" (did you mean 'hf://datasets/{value.split('/datasets/', 1)[1].strip('/')}'?)"
            elif low.startswith("hf://") and not low.startswith("hf://datasets/"):
                hint = " (results are a Hub dataset repo: hf://datasets/...)"
            raise HarnessError(f"{where}: expected {EXPECTED}, got '{value}'{hint}")
        try:
            repo_id(m["repo"])
        except argparse.ArgumentTypeError as e:
            raise HarnessError(f"{where}: {e}") from None
        return ResultsSource("hub", repo_id=m["repo"], revision=m["rev"])
    path = Path(value).expanduser()
    if path.is_file():
        raise HarnessError(f"{where}: {path} is a file; expected {EXPECTED}")
    return ResultsSource("local", path=path)


def results_arg(text: str) -> ResultsSource:
    """argparse type for --results (a bad form: one line, exit 2)."""
    try:
        return parse_results(text)
    except HarnessError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--results: ")) from None


def _deprecated(name: str, instead: str) -> None:
    if name not in _warned:
        _warned.add(name)
        log.warning("%s is deprecated and will be removed: set %s instead", name, instead)


def resolve_source(arg: str | Path | ResultsSource | None = None,
                   environ: Optional[Mapping[str, str]] = None) -> ResultsSource:
    """The source the app reads: ``arg``, else $RESULTS, else the deprecated $HARNESS_RESULTS_REPO(+_TYPE) /
    $HARNESS_RESULTS_DIR, else the bundled sample. HarnessError (one line naming the flag or variable) for a bad form."""
    if isinstance(arg, ResultsSource):
        return arg
    if arg is not None and str(arg) != "":
        return parse_results(str(arg)) if isinstance(arg, str) else ResultsSource("local", path=Path(arg))
    env = os.environ if environ is None else environ
    if env.get(RESULTS_ENV):
        return parse_results(env[RESULTS_ENV], RESULTS_ENV)
    if env.get(OLD_REPO_ENV):
        repo, repo_type = env[OLD_REPO_ENV].strip(), env.get(OLD_REPO_TYPE_ENV, "dataset").strip() or "dataset"
        _deprecated(OLD_REPO_ENV, f"{RESULTS_ENV}=hf://datasets/{repo}")
        if repo_type not in ("dataset", "model", "space"):
            raise HarnessError(f"{OLD_REPO_TYPE_ENV}: expected dataset, model or space, got '{repo_type}'")
        if repo_type == "dataset":
            return parse_results(f"hf://datasets/{repo}", OLD_REPO_ENV)
        _deprecated(OLD_REPO_TYPE_ENV, f"{RESULTS_ENV}=hf://datasets/ORG/NAME (results live in a dataset repo)")
        return ResultsSource("hub", repo_id=repo, repo_type=repo_type)
    if env.get(OLD_DIR_ENV):
        _deprecated(OLD_DIR_ENV, f"{RESULTS_ENV}=PATH or --results PATH")
        return parse_results(env[OLD_DIR_ENV], OLD_DIR_ENV)
    return SAMPLE


def hub_line(e: BaseException, what: str) -> str:
    """One line for any exception met while reading from the Hub (never a traceback)."""
    if isinstance(e, HarnessError):
        return str(e)
    from harness.publish.api import describe

    try:
        line = describe(e, what)
    except Exception:  # noqa: BLE001 - describing must not fail
        line = None
    text = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
    return line or f"{what}: {type(e).__name__}: {text}"


def remote_commit(source: ResultsSource) -> str:
    """The commit the source's revision points at now (one Hub API call); HarnessError with one line."""
    from harness.publish.api import get_api

    try:
        info = get_api().repo_info(source.repo_id, repo_type=source.repo_type, revision=source.revision)
    except Exception as e:  # noqa: BLE001 - reported as one line
        raise HarnessError(hub_line(e, f"cannot read {source.label()}")) from None
    return str(info.sha)


def download_results(source: ResultsSource, commit: str) -> Path:
    """The results files of the repo at ``commit`` (HUB_PATTERNS only) in the Hugging Face cache; the snapshot
    folder has the layout of a local output folder."""
    from harness.publish.api import get_api

    try:
        return Path(get_api().snapshot_download(source.repo_id, repo_type=source.repo_type, revision=commit,
                                                allow_patterns=HUB_PATTERNS))
    except Exception as e:  # noqa: BLE001 - reported as one line
        raise HarnessError(hub_line(e, f"cannot download {source.label(commit)}")) from None


def read_checkpoint_mapping(root: Path) -> dict[str, dict[str, Any]]:
    """The results repo's checkpoints.json (record checkpoint field -> model repo and commit); {} when absent.
    HarnessError with one line when it is malformed."""
    from harness.publish.push import MAPPING_FILE, read_mapping

    path = Path(root) / MAPPING_FILE
    return read_mapping(path) if path.is_file() else {}


_downloads: dict[tuple[str, str], Path] = {}
_downloads_lock = threading.Lock()


def downloaded_checkpoint(entry: Mapping[str, Any]) -> Optional[Path]:
    """The local folder of a pushed checkpoint if this process has downloaded it already (no network)."""
    return _downloads.get((str(entry.get("repo_id")), str(entry.get("revision"))))


def fetch_checkpoint(entry: Mapping[str, Any]) -> Path:
    """A pushed checkpoint (a checkpoints.json entry) as a local folder: its model repo at the mapped commit,
    downloaded into the Hugging Face cache on first use. HarnessError with one line when it cannot be fetched."""
    from harness.publish.api import get_api

    key = (str(entry.get("repo_id")), str(entry.get("revision")))
    if key in _downloads:
        return _downloads[key]
    with _downloads_lock:  # one download at a time (the cache serves the rest meanwhile)
        if key not in _downloads:
            try:
                path = get_api().snapshot_download(key[0], revision=key[1], repo_type="model")
            except Exception as e:  # noqa: BLE001 - reported as one line
                raise HarnessError(hub_line(e, f"cannot download checkpoint {key[0]}@{key[1][:7]}")) from None
            _downloads[key] = Path(path)
    return _downloads[key]
