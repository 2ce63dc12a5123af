"""The `push` and `space` subcommands: their arguments (checked where they enter) and what they call."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

HF_RESULTS = re.compile(r"^hf://datasets/(?P<repo>[^@\s]+?)(?:@(?P<rev>[^@\s]+))?$")


def repo_id(text: str) -> str:
    """ORG/NAME, as the Hub validates it (a namespace is required: pushes never go to an implied account)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError as e:
        raise argparse.ArgumentTypeError(f"'{text}' is not a Hub repo id ({str(e).splitlines()[0][:160]})") from None
    if text.count("/") != 1:
        raise argparse.ArgumentTypeError(f"expected ORG/NAME (a namespace and a name), got '{text}'")
    return text


def repo_prefix(text: str) -> str:
    """ORG/ or ORG/name-start: model repos are named <prefix><rule in docs/deploy.md>."""
    org, _, start = text.partition("/")
    if not org or not _:
        raise argparse.ArgumentTypeError(f"expected ORG/ (optionally followed by the start of a name), got '{text}'")
    repo_id(f"{org}/{start or 'x'}")
    return text


def model_names(text: str) -> frozenset[str]:
    """--only-models: a comma-separated list of model names, none empty."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected NAME[,NAME...] (model names, none empty), got '{text}'")
    return frozenset(names)


def licence_id(text: str) -> str:
    """--license: one of the Hub's licence ids."""
    from .push import HUB_LICENCES, hub_licence
    from ..errors import did_you_mean

    got = hub_licence(text)
    if got is None:
        raise argparse.ArgumentTypeError(f"expected a Hub licence id, got '{text}'"
                                         f"{did_you_mean(text.lower(), sorted(HUB_LICENCES))}")
    return got


def hf_results(text: str) -> str:
    """hf://datasets/ORG/NAME[@revision] (the Space reads published results, not a local folder)."""
    m = HF_RESULTS.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected hf://datasets/ORG/NAME[@revision], got '{text}'")
    repo_id(m["repo"])
    return text


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `push` and `space` on the harness command line."""
    ps = sub.add_parser("push", help="publish results (a Hub dataset repo) and checkpoints (model repos with cards)")
    ps.add_argument("--output-dir", type=Path, required=True, help="the harness output folder to publish")
    ps.add_argument("--results-repo", type=repo_id, required=True, metavar="ORG/NAME",
                    help="Hub dataset repo for records, predictions, logs and the leaderboard (created if missing)")
    ps.add_argument("--checkpoints", choices=["best", "all", "none"], default="best",
                    help="best: one checkpoint per configuration (best validation seed); all: every kept seed; none")
    ps.add_argument("--model-repo-prefix", type=repo_prefix, default=None, metavar="ORG/",
                    help="where checkpoints go: ORG/ (default: the results repo's ORG/); naming in docs/deploy.md")
    ps.add_argument("--only-models", type=model_names, default=None, metavar="NAME[,NAME...]",
                    help="publish checkpoints of these models only (the models file's names; default: every model)")
    ps.add_argument("--include-untrained", action="store_true",
                    help="publish untrained baselines' checkpoints too (default: left out; their results are "
                         "published either way)")
    ps.add_argument("--license", type=licence_id, default=None, metavar="ID",
                    help="the licence (a Hub id: apache-2.0, mit, ...) for models whose licence is otherwise unknown "
                         "(no `license:` in the models file, none on a base model's card or a package's metadata); "
                         "without it such models stop the push")
    ps.add_argument("--private", action="store_true", help="create new repos as private")
    ps.add_argument("--prune", action="store_true",
                    help="delete result files from the results repo that the output folder lacks (without it, such "
                         "files stop the push before anything is written)")
    ps.add_argument("--dry-run", action="store_true", help="print what would be uploaded and stop (writes nothing)")
    sp = sub.add_parser("space", help="create or update a Gradio Space that serves published results")
    sp.add_argument("--space", type=repo_id, required=True, metavar="ORG/NAME", help="the Space repo")
    sp.add_argument("--results", type=hf_results, required=True, metavar="hf://datasets/ORG/NAME[@rev]",
                    help="the published results the Space reads (set as its RESULTS variable)")
    sp.add_argument("--private", action="store_true", help="create the Space as private")


def cmd_push(args: argparse.Namespace) -> int:
    from .plan import Choice
    from .push import push

    print(push(args.output_dir, args.results_repo, checkpoints=args.checkpoints,
               model_repo_prefix=args.model_repo_prefix, private=args.private, dry_run=args.dry_run,
               prune=args.prune, choice=Choice(args.only_models, not args.include_untrained), license=args.license))
    return 0


def cmd_space(args: argparse.Namespace) -> int:
    from .space import deploy

    print(deploy(args.space, args.results, private=args.private))
    return 0


COMMANDS = {"push": cmd_push, "space": cmd_space}
