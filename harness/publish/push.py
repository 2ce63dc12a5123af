"""`python -m harness push`: publish an output folder to the Hub.

Checkpoints go to model repos first (one create_commit each, with its model card: harness/publish/cards.py), the
results last, in ONE commit to a dataset repo: results/<model>/<revision>/<task>/<method>/<hash>/seed<k>.* (records,
failures, predictions, logs), leaderboard.csv/.md rebuilt from the result files, checkpoints.json (the mapping:
record checkpoint path -> model repo @ commit, the app's allow-list) and a README. Every repo is compared with its
remote tree (git blob sha1 / LFS sha256) and only what changed is uploaded; nothing changed: no commit. A push that
stopped between model repos leaves the results repo as it was; running it again completes it. The results repo
mirrors the folder's results/; the mapping keeps earlier entries whose
record is still published. Result files in the repo that the folder lacks (another folder's results pushed to the
same repo, or ones removed here) are deleted only with prune=True (`--prune`); without it the push stops before
writing anything and says so. Checkpoint selection and repo naming: harness/publish/plan.py.
"""
from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from ..errors import HarnessError
from . import api as hub
from .cards import publishable
from .plan import MAPPING_FILE, Checkpoint, Choice, Plan, make_plan, mapping_json, read_mapping

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["MAPPING_FILE", "push", "read_mapping"]
log = logging.getLogger(__name__)
Content = Union[Path, bytes]
KEEP_REMOTE = (".gitattributes",)  # never deleted from a repo by a push


def _bytes(content: Content) -> bytes:
    return content if isinstance(content, bytes) else Path(content).read_bytes()


def same(content: Content, remote: Any) -> bool:
    """Whether local content equals a remote RepoFile: its LFS sha256, else its git blob sha1."""
    data = _bytes(content)
    lfs = getattr(remote, "lfs", None)
    if lfs is not None:
        sha = lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
        return sha == hashlib.sha256(data).hexdigest()
    return remote.blob_id == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def remote_files(api: "HfApi", repo_id: str, repo_type: str) -> dict[str, Any]:
    """path -> RepoFile of a repo's main branch (folders left out)."""
    return {f.path: f for f in api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True)
            if hasattr(f, "blob_id")}


def operations(local: dict[str, Content], remote: dict[str, Any], mirror: tuple[str, ...] = ("",)) -> list[Any]:
    """Adds for new or changed files; deletes for remote files under a `mirror` prefix that are not local."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    ops: list[Any] = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=c if isinstance(c, bytes) else str(c))
                      for p, c in sorted(local.items()) if p not in remote or not same(c, remote[p])]
    ops += [CommitOperationDelete(path_in_repo=p) for p in sorted(remote)
            if p not in local and p not in KEEP_REMOTE and p.startswith(mirror)]
    return ops


def _url(repo_id: str, repo_type: str) -> str:
    return f"{hub.endpoint()}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"


def _license(api: "HfApi", base: Optional[str], cache: dict[str, Optional[str]]) -> Optional[str]:
    """The base model's licence from its Hub card, when it states one (never guessed)."""
    if base and base not in cache:
        try:
            data = getattr(api.repo_info(base, repo_type="model"), "card_data", None)
            cache[base] = getattr(data, "license", None) if data is not None else None
        except Exception as e:  # noqa: BLE001 - no licence found: the card states none
            log.info("licence of %s not found (%s)", base, type(e).__name__)
            cache[base] = None
    return cache.get(base) if base else None


HUB_LICENCES = {"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
                "cc-by-nc-sa-4.0", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "mpl-2.0", "openrail", "llama2", "other"}
LICENCE_ALIASES = {"apache": "apache-2.0", "apache-2": "apache-2.0", "apache-license-2.0": "apache-2.0",
                   "apache-software-license": "apache-2.0", "mit-license": "mit", "bsd-license": "bsd-3-clause"}


def hub_licence(text: Optional[str]) -> Optional[str]:
    """A licence as the Hub's `license:` ids name it ('MIT License' -> mit, 'Apache Software License' ->
    apache-2.0); None for what is not one of them (never guessed)."""
    if not text:
        return None
    key = re.sub(r"[\s_]+", "-", text.strip().lower())
    key = LICENCE_ALIASES.get(key, key)
    return key if key in HUB_LICENCES else None


def package_licence(model_id: Optional[str]) -> Optional[str]:
    """The licence a python:<module> model's installed distribution states (License-Expression, License, or a
    'License ::' classifier), as a Hub id; None otherwise."""
    import importlib.metadata as md

    if not model_id or not model_id.startswith("python:"):
        return None
    module = model_id.removeprefix("python:").split(".")[0]
    for dist in md.packages_distributions().get(module, []):
        meta = md.metadata(dist)
        texts = [meta.get("License-Expression"), meta.get("License"),
                 *[c.rsplit("::", 1)[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]]
        for text in texts:
            if hub_licence(text):
                return hub_licence(text)
    return None


def checkpoint_licences(api: "HfApi", checkpoints: list[Checkpoint], given: Optional[str]) -> dict[str, str]:
    """repo id -> the licence its card states: the models file's `license:`, else the base model's Hub card, else
    the python: package's metadata, else ``given`` (--license). HarnessError naming the models whose licence is
    unknown when ``given`` is None (a card without a licence is not published)."""
    cache: dict[str, Optional[str]] = {}
    out, unknown = {}, []
    for c in checkpoints:
        info = c.record.model_info
        found = (hub_licence(info.license) if info is not None and info.license else None) or \
            _license(api, c.base_model, cache) or package_licence(info.id if info is not None else None) or given
        if found is None:
            unknown.append(c.record.job.model)
        else:
            out[c.repo_id] = found
    if unknown:
        names = ", ".join(sorted(set(unknown)))
        raise HarnessError(f"push: the licence of {names} is unknown (no `license:` in the models file entry, none on "
                           "a base model's Hub card or in a package's metadata): state it in the models file, or pass "
                           "--license ID for models whose licence is otherwise unknown")
    return out


def model_files(ckpt: Checkpoint, card: str) -> dict[str, Content]:
    return {**ckpt.files(), "README.md": card.encode("utf-8")}


SCRUBBED = (".json", ".log")  # result files whose text may name the publisher's folders (records' paths, job logs)


def public_file(path: str, content: Content) -> Content:
    """A result file as published: records, latency files and job logs with no absolute path of the publisher's
    machine (cards.publishable: a path in the harness checkout relative to it, any other as ./<its last part>);
    predictions (test data as it is) unchanged."""
    if not path.endswith(SCRUBBED) or not isinstance(content, Path):
        return content
    text = content.read_text(encoding="utf-8", errors="replace")
    public = publishable(text)
    return content if public == text else public.encode("utf-8")


def results_files(plan: Plan, mapping: dict[str, dict[str, Any]], rep: Any) -> dict[str, Content]:
    """The results repo's files: result files (public_file), leaderboard tables from them (``rep``:
    leaderboard.report's Report of the folder), the mapping and the dataset card."""
    return {**{p: public_file(p, c) for p, c in plan.results.items()}, "leaderboard.csv": rep.csv().encode(),
            "leaderboard.md": rep.markdown().encode("utf-8"), MAPPING_FILE: mapping_json(mapping).encode(),
            "README.md": dataset_card(plan, mapping).encode("utf-8")}


def dataset_card(plan: Plan, mapping: dict[str, dict[str, Any]]) -> str:
    """The results repo's README (DatasetCard metadata; no timestamps, so an unchanged folder gives the same)."""
    from huggingface_hub import DatasetCard, DatasetCardData

    recs = plan.records
    models, tasks = sorted({r.job.model for r in recs}), sorted({r.job.task for r in recs})
    data = DatasetCardData(pretty_name=f"model-chooser results: {plan.results_repo.split('/')[1]}",
                           tags=["model-chooser", "leaderboard", "evaluation"],
                           configs=[{"config_name": "leaderboard", "data_files": "leaderboard.csv"}])  # the viewer
    body = (f"# Results of the model-chooser harness\n\n{len(recs)} successful runs: {len(models)} models "
            f"({', '.join(models[:20])}{', ...' if len(models) > 20 else ''}) on {len(tasks)} tasks "
            f"({', '.join(tasks[:30])}{', ...' if len(tasks) > 30 else ''}); {len(mapping)} published checkpoints.\n\n"
            "- `leaderboard.md` / `leaderboard.csv`: the leaderboard (seed means), rebuilt from the result files.\n"
            "- `results/<model>/<revision>/<task>/<method>/<config-hash>/seed<k>.json`: one record per run "
            "(`.failed.json`: a failed run), with `.predictions.jsonl.gz` and `.log` beside it.\n"
            f"- `{MAPPING_FILE}`: each published checkpoint's model repo and commit.\n\n"
            "## View it\n\n```\npython app.py --results hf://datasets/" + plan.results_repo + "\n"
            "python -m harness space --space ORG/NAME --results hf://datasets/" + plan.results_repo + "\n```\n\n"
            "Data licences differ per task (some are non-commercial): see `task_info.license` in each record and "
            "the model cards.\n")
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def _remote_mapping(api: "HfApi", repo: str, remote: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if MAPPING_FILE not in remote:
        return {}
    return read_mapping(Path(api.hf_hub_download(repo, MAPPING_FILE, repo_type="dataset")))


def push(output_dir: Path, results_repo: str, *, checkpoints: str = "best", model_repo_prefix: Optional[str] = None,
         private: bool = False, dry_run: bool = False, prune: bool = False, choice: Choice = Choice(),
         license: Optional[str] = None) -> str:
    """Publish an output folder (module docstring); returns a short summary (what was uploaded or unchanged, the
    repo URLs). Hub and network problems raise HarnessError with one line; nothing is written before the token,
    the folder and every repo's type are checked."""
    from leaderboard.data import load_app_data
    from leaderboard.report import report

    from .cards import decision_section, render_card

    where = f"push to {results_repo}"
    api = hub.get_api()
    if not dry_run:  # a dry run only reads: it plans without a token (what it can see of the repos is public)
        with hub.hub_errors(where):
            api.whoami()
    plan = make_plan(Path(output_dir), results_repo, checkpoints, model_repo_prefix, choice)
    with hub.hub_errors(where):
        results_exists = hub.check_repo_type(api, results_repo, "dataset")
    # the tables and the decision the cards cite; after the checks, as it may write the folder's caches
    rep = report(load_app_data(plan.output_dir))
    with hub.hub_errors(where):
        # model repos are named by our rule: a dataset or Space of the same name is another repo, no conflict
        exists = {c.repo_id: api.repo_exists(c.repo_id, repo_type="model") for c in plan.checkpoints}
        licences = checkpoint_licences(api, plan.checkpoints, license)
        todo = []  # (checkpoint, files, operations)
        for c in plan.checkpoints:
            files = model_files(c, render_card(c, licences[c.repo_id], decision_section(rep.decisions, c.record)))
            remote = remote_files(api, c.repo_id, "model") if exists[c.repo_id] else {}
            todo.append((c, files, operations(files, remote)))
        remote_res = remote_files(api, results_repo, "dataset") if results_exists else {}
        keep = {r.checkpoint for r in plan.records if r.checkpoint}
        mapping = {k: v for k, v in _remote_mapping(api, results_repo, remote_res).items() if k in keep}
    stale = sorted(p for p in remote_res if p.startswith("results/") and p not in plan.results)
    if stale and not prune:
        raise HarnessError(f"{where}: {len(stale)} result file(s) in the repo are not in {output_dir} (e.g. "
                           f"{stale[0]}): results of another output folder, or removed here; pass --prune to delete "
                           "them from the repo, or push to another --results-repo")
    if dry_run:
        return _dry_summary(plan, todo, remote_res)
    lines, pushed = [], 0
    try:
        for i, (c, files, ops) in enumerate(todo, 1):
            log.info("model repo %d/%d %s: %s", i, len(todo), c.repo_id, f"{len(ops)} files" if ops else "unchanged")
            with hub.hub_errors(f"{where}: model repo {c.repo_id}"):
                if not exists[c.repo_id]:
                    api.create_repo(c.repo_id, repo_type="model", private=private, exist_ok=True)
                if ops:
                    info = api.create_commit(c.repo_id, ops, commit_message=f"harness push: {c.key}",
                                             repo_type="model")
                    sha = info.oid
                else:
                    sha = api.repo_info(c.repo_id, repo_type="model").sha
            mapping[c.key] = {"repo_id": c.repo_id, "revision": sha, "kind": c.kind, "base_model": c.base_model}
            lines.append(f"  {_url(c.repo_id, 'model')}: " + (f"{len(ops)} files changed" if ops else "unchanged"))
            pushed += 1
        with hub.hub_errors(f"{where}: results repo"):
            files = results_files(plan, mapping, rep)
            ops = operations(files, remote_res, mirror=("results/",))
            if not results_exists:
                api.create_repo(results_repo, repo_type="dataset", private=private, exist_ok=True)
            log.info("results repo %s: %s", results_repo, f"{len(ops)} files" if ops else "unchanged")
            if ops:
                api.create_commit(results_repo, ops, commit_message=f"harness push: {len(plan.records)} results, "
                                  f"{len(mapping)} checkpoints", repo_type="dataset")
    except HarnessError as e:
        if not pushed:
            raise
        raise HarnessError(f"{e} ({pushed} of {len(todo)} model repos pushed, the results repo not updated: run "
                           "the same command again to complete the push)") from None
    gone = sum(1 for o in ops if not hasattr(o, "path_or_fileobj"))
    head = f"results: {_url(results_repo, 'dataset')}: " + (
        f"{len(ops) - gone} files uploaded, {gone} deleted (gone from results/ here), in one commit" if ops
        else "unchanged")
    changed = sum(1 for _, _, o in todo if o)
    models = f"model repos: {len(todo)} ({changed} updated, {len(todo) - changed} unchanged)"
    return "\n".join([head, models, *lines])


def _dry_summary(plan: Plan, todo: list, remote_res: dict[str, Any]) -> str:
    """What a push would do (the results repo's leaderboard, mapping and card are rebuilt at push time)."""
    new = [p for p, c in plan.results.items() if p not in remote_res or not same(c, remote_res[p])]
    gone = [p for p in remote_res if p.startswith("results/") and p not in plan.results]
    lines = [f"dry run: nothing written. Would push to {_url(plan.results_repo, 'dataset')}: {len(new)} of "
             f"{len(plan.results)} result files new or changed, {len(gone)} to delete (gone from results/ here) "
             f"(+ leaderboard, {MAPPING_FILE}, README.md)",
             f"model repos: {len(todo)} ({sum(1 for _, _, o in todo if o)} to update)"]
    lines += [f"  {c.repo_id} <- {c.key} ({c.kind}{', best seed' if c.best else ''}): "
              + (f"{len(ops)} files to upload" if ops else "unchanged") for c, _, ops in todo]
    return "\n".join(lines)
