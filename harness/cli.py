"""Command line: run | list | leaderboard | predict | export | push | space. User errors print one line and exit with code 2."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import interrupt
from .publish import commands as publish
from .cli_args import (Parser, check_train_options, executor_help, executor_name, int_list, method_list, name_list,
                       positive_float, positive_int, race_range, search_option, seed_list, set_option)
from .errors import HarnessError, did_you_mean
from .models import load_models_file
from .text import PlainFormatter, strip_ansi

log = logging.getLogger("harness")
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
DEFAULT_MODELS = Path(__file__).resolve().parent.parent / "models.yaml"


def build_parser() -> argparse.ArgumentParser:
    from .methods import load_all

    methods = load_all().values()  # each method's one-line summary is its --methods help
    p = Parser(prog="python -m harness", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="fine-tune models × tasks × seeds, write results and the leaderboard")
    run.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="models YAML (default: models.yaml)")
    run.add_argument("--tasks", required=True, help="task or group names, comma-separated (e.g. sst2,clue)")
    run.add_argument("--data-dir", type=Path, help="folder of local task data (e.g. ../shared/data)")
    run.add_argument("--output-dir", type=Path, default=Path("outputs"),
                     help="folder for results/, checkpoints/ and the leaderboard tables")
    run.add_argument("--task-dir", type=Path, action="append", default=[], help="extra folder of task YAMLs")
    run.add_argument("--seeds", type=seed_list, default=None,
                     help="comma-separated, unique (default 42; with --race, the race's seed sequence: default 42, "
                          "43, …)")
    run.add_argument("--methods", type=method_list, default=("finetune",),
                     help="comma-separated, of: " + "; ".join(f"{m.name} ({m.summary})" for m in methods))
    run.add_argument("--folds", type=name_list, help="few-shot folds to run (default: every fold the task lists)")
    run.add_argument("--max-train-samples", type=positive_int, help="cap the training split (default: all)")
    run.add_argument("--max-eval-samples", type=positive_int, help="cap the evaluated splits (default: all)")
    run.add_argument("--max-steps", type=positive_int, help="optimizer steps per job (default: the epochs decide)")
    run.add_argument("--epochs", type=positive_float, help="training epochs (may be fractional)")
    run.add_argument("--learning-rate", type=positive_float, help="peak learning rate")
    run.add_argument("--batch-size", type=positive_int, help="training batch size")
    run.add_argument("--set", type=set_option, action="append", default=[], metavar="KEY=VALUE",
                     help="any training option, highest precedence (e.g. --set selection=last)")
    run.add_argument("--search", type=search_option, action="append", default=[], metavar="KEY=V1,V2",
                     help="tune a training option on the validation split (repeat for a grid; e.g. "
                          "--search learning_rate=1e-5,3e-5); the best setting then runs on every seed")
    run.add_argument("--search-trials", type=positive_int, default=None, metavar="N",
                     help="Optuna TPE: N trials over the search: ranges of the task/models YAML (or --search lists)")
    run.add_argument("--race", type=race_range, default=None, metavar="MIN:MAX",
                     help="race the seeds: every cell gets MIN seeds (at least 2), then, round by round, the next "
                          "seed goes only to rows still inside the 95%% set for the best of an undecided benchmark "
                          "average (or task), up to MAX per cell; seeds: the first MAX of --seeds, else 42, 43, …")
    run.add_argument("--race-budget", type=positive_int, default=None, metavar="N",
                     help="with --race: stop before a round would take the study past N runs (those done included)")
    run.add_argument("--race-scope", choices=["benchmark", "task"], default=None,
                     help="with --race: decide each benchmark average (default) or each task")
    run.add_argument("--trust-metric-code", action="store_true",
                     help="allow tasks' evaluate:NAME metrics, which download and run the metric's code from the Hub")
    run.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where jobs train and evaluate")
    run.add_argument("--only-models", help="comma-separated model names from the models file")
    run.add_argument("--keep-checkpoints", choices=["best", "all", "none"], default="best",
                     help="best: one checkpoint per configuration (best validation seed); all: every seed; none")
    run.add_argument("--executor", type=executor_name, default=None, help=executor_help())
    run.add_argument("--workers", type=positive_int, default=None,
                     help="local executor: jobs at once (implies --executor local; default GPUs ÷ --gpus-per-job, "
                          "1 on CPU)")
    run.add_argument("--gpus-per-job", type=float, default=None,
                     help="share of a GPU per job: 1 (default with --device cuda) or a fraction such as 0.5")
    run.add_argument("--threads-per-job", type=positive_int, default=None,
                     help="CPU threads per job (default: OMP_NUM_THREADS if set, else the cores split)")
    run.add_argument("--ray-address", default=None,
                     help="ray executor: 'auto' or ray://HOST:10001 or HOST:PORT joins a cluster (default: start a "
                          "local instance)")
    run.add_argument("--latency-runs", type=int, default=50, metavar="N",
                     help="after training, time each new kept checkpoint: N single-input predictions on CPU, 1 thread, "
                          "one checkpoint at a time (0: skip; `latency` measures them again later)")
    run.add_argument("--dry-run", action="store_true",
                     help="plan and check everything, print the plan and the tokenizer fit, then stop (writes nothing)")
    run.add_argument("--verbose", action="store_true", help="print each finished job's own log")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    lst = sub.add_parser("list", help="show tasks (and groups) and the models of a models file")
    lst.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="models YAML (default: models.yaml)")
    lst.add_argument("--task-dir", type=Path, action="append", default=[], help="extra folder of task YAMLs")
    lb = sub.add_parser("leaderboard", help="rebuild leaderboard.csv/.md from the result files alone")
    lb.add_argument("--output-dir", type=Path, default=Path("outputs"),
                    help="the output folder whose results/ to read; the tables are written there")
    pr = sub.add_parser("predict", help="label an unlabelled .txt (one input per line) or .jsonl file with a checkpoint")
    pr.add_argument("--checkpoint", type=Path, required=True, help="checkpoint folder (outputs/.../checkpoints/...)")
    pr.add_argument("--input", type=Path, required=True, help=".txt (single-text tasks) or .jsonl/.jsonl.gz")
    pr.add_argument("--output", type=Path, help="jsonl(.gz) to write (default: stdout)")
    pr.add_argument("--batch-size", type=positive_int, help="default: the checkpoint's eval_batch_size")
    pr.add_argument("--backend", choices=["auto", "torch", "onnx", "onnx-fp32", "onnx-int8"], default="auto",
                    help="auto: ONNX when the checkpoint has an export (onnx/; int8 first), else torch")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    ex = sub.add_parser("export", help="export an encoder checkpoint to ONNX (+ int8) and verify it against PyTorch")
    ex.add_argument("--checkpoint", type=Path, required=True, help="checkpoint folder (outputs/.../checkpoints/...)")
    ex.add_argument("--format", default="onnx", choices=["onnx"], help="export format (writes DIR/onnx/model.onnx)")
    ex.add_argument("--quantize", choices=["int8"], help="also write a dynamic int8 model (onnx/model.int8.onnx)")
    ex.add_argument("--data-dir", type=Path, help="folder of local task data, for the accuracy check")
    ex.add_argument("--max-eval-samples", type=positive_int, help="cap the evaluated split (default: all)")
    ex.add_argument("--latency-runs", type=int, default=50, help="timed runs per latency figure (0: skip latency)")
    ex.add_argument("--threads", type=int_list, default=(1, 2), help="CPU thread counts to time (default 1,2)")
    ex.add_argument("--no-verify", action="store_true", help="export only: no accuracy, logit or latency check")
    la = sub.add_parser("latency", help="time every kept checkpoint of an output folder (single input, CPU, 1 thread) "
                                        "and write latency.seed<k>.json beside its result; no retraining")
    la.add_argument("--output-dir", type=Path, default=Path("outputs"), help="the output folder whose runs to time")
    la.add_argument("--runs", type=positive_int, default=50, help="timed predictions per checkpoint (default 50)")
    la.add_argument("--warmup", type=int, default=10, help="untimed predictions first (default 10)")
    la.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (default 1)")
    la.add_argument("--only-models", type=name_list, default=None, help="comma-separated model names")
    la.add_argument("--missing", action="store_true", help="only runs without a latency file yet")
    la.add_argument("--quiet", action="store_true", help="no progress bar")
    publish.add_parsers(sub)
    return p


def _select_models(path: Path, only: Optional[str]):
    specs = load_models_file(path)
    if not only:
        return specs
    names = {m.name: m for m in specs}
    picked = []
    for n in (s.strip() for s in only.split(",") if s.strip()):
        if n not in names:
            raise HarnessError(f"--only-models: unknown model '{n}' in {path}{did_you_mean(n, names)}")
        picked.append(names[n])
    return picked


def _race_options(args: argparse.Namespace):
    """(the race's options or None, the seeds: --seeds, 42, or the race's fixed sequence); --race-budget and
    --race-scope only with --race."""
    if args.race is None:
        for flag, value in (("--race-budget", args.race_budget), ("--race-scope", args.race_scope)):
            if value is not None:
                raise HarnessError(f"{flag}: only with --race MIN:MAX (it sets how a race spends its seeds)")
        return None, args.seeds or (42,)
    from .race import RaceOptions, seed_sequence

    low, high = args.race
    return (RaceOptions(low, high, args.race_budget, args.race_scope or "benchmark"),
            seed_sequence(args.seeds, high))


def _check_output_dir(path: Path) -> None:
    """--output-dir must be a folder this user can write, or a new one inside such a folder: said now, in one
    line, rather than as a traceback from the first job's log (nothing is created here)."""
    if path.exists() and not path.is_dir():
        raise HarnessError(f"--output-dir: '{path}' is a file; expected a folder (new or existing)")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise HarnessError(f"--output-dir: '{path}' cannot be created: '{existing}' is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is" if existing == path.absolute() else f"would be created inside '{existing}', which is"
        raise HarnessError(f"--output-dir: '{path}' {what} not writable by this user")


def cmd_run(args: argparse.Namespace) -> int:
    from . import catalog  # light: the models file, task YAMLs and flags are checked before any heavy import

    if args.data_dir is not None and not args.data_dir.is_dir():
        raise HarnessError(f"--data-dir: folder '{args.data_dir}' does not exist")
    _check_output_dir(args.output_dir)
    if args.latency_runs < 0:
        raise HarnessError(f"--latency-runs: expected 0 (skip) or more, got {args.latency_runs}")
    race_opts, seeds = _race_options(args)
    model_specs = _select_models(args.models, args.only_models)
    registry = catalog.discover(args.task_dir)
    entries = catalog.select(registry, args.tasks)
    for i, m in enumerate(model_specs):
        for name in m.tasks:
            if name not in registry:
                raise HarnessError(f"{args.models}: field 'models.{i}.tasks.{name}': unknown task"
                                   f"{did_you_mean(name, registry)}")
    from . import preflight, search  # metrics (scipy, sklearn), not yet torch or transformers
    from .execute.base import ExecOptions
    from .execute.driver import describe_counts, new_counts, run_grid
    from .execute.executors import check_options, get_executor
    from .execute.search import run_searches
    from .plan import RunOptions, check_folds, check_metric_code

    check_metric_code(entries, args.trust_metric_code)
    folds_note = check_folds(entries, args.folds)
    if folds_note:
        print(folds_note)
    cli_train = {"max_steps": args.max_steps, "epochs": args.epochs, "learning_rate": args.learning_rate,
                 "batch_size": args.batch_size, **dict(args.set)}
    cli_train = {k: v for k, v in cli_train.items() if v is not None}
    check_train_options(cli_train)
    request = search.request_from_cli(args.search, args.search_trials, cli_train, {k for k, _ in args.set})
    executor = args.executor or ("local" if args.workers is not None else "serial")
    eopts = ExecOptions(executor=executor, workers=args.workers, gpus_per_job=args.gpus_per_job,
                        threads_per_job=args.threads_per_job, ray_address=args.ray_address, verbose=args.verbose)
    check_options(eopts)
    if args.device == "cuda" and get_executor(executor).local_gpus:  # Ray: the cluster's GPUs (checked there)
        import torch

        if not torch.cuda.is_available():
            raise HarnessError("--device cuda: no CUDA device is available here; use --device cpu")
    _quiet_hf()  # the grid draws the one progress bar; library bars (e.g. saving shards) stay off
    opts = RunOptions(output_dir=args.output_dir.resolve(),
                      data_dir=args.data_dir.resolve() if args.data_dir else None,
                      seeds=seeds[:race_opts.min_seeds] if race_opts else seeds,
                      max_train_samples=args.max_train_samples, max_eval_samples=args.max_eval_samples,
                      device=args.device, keep_checkpoints=args.keep_checkpoints, cli_train=cli_train,
                      progress=not args.quiet, methods=args.methods, folds=args.folds,
                      trust_metric_code=args.trust_metric_code)
    plan = preflight.make_plan(model_specs, entries, opts, request)  # searches: trials first, then chosen settings
    for line in preflight.report(plan, opts):  # the plan and the tokenizer fit, before anything trains
        print(line)
    if race_opts:
        from . import race

        race.check_budget(plan.jobs, race_opts)
        print(race.describe(plan.base_jobs(opts) if request.active else plan.jobs, race_opts, seeds))
    if args.dry_run:
        return 0
    jobs, counts = plan.jobs, new_counts()
    if request.active:
        jobs, counts, chosen = run_searches(plan.searches, opts, eopts)
        for line in chosen:
            print(line)
    log.info("%d jobs (model × task × method × fold) × %d seeds under %s", len(jobs), len(opts.seeds),
             args.output_dir)
    if not jobs:
        print("no job applies to these models, tasks and methods")
    if race_opts:
        race.check_budget(jobs, race_opts)  # a search's chosen settings are known only now
        got = race.run_race(jobs, opts, race_opts, seeds, lambda round_jobs: run_grid(round_jobs, opts, eopts),
                            say=print).counts
    else:
        got = run_grid(jobs, opts, eopts)
    counts.update(got)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    if args.latency_runs > 0 and (args.output_dir / "results").is_dir():  # training is over: a quiet machine
        from .latency import THREADS, WARMUP

        _measure_latency(args.output_dir, args.latency_runs, WARMUP, THREADS, None, True, not args.quiet)
    from leaderboard.report import write_tables
    from leaderboard.table import failure_lines

    rep = write_tables(args.output_dir)
    print(rep.markdown())
    print(f"jobs: {describe_counts(counts)}; "
          f"tables: {args.output_dir / 'leaderboard.csv'}, {args.output_dir / 'leaderboard.md'}")
    for line in failure_lines(rep.loaded):
        print(line)
    return 1 if counts["failed"] else 0


def cmd_list(args: argparse.Namespace) -> int:
    from . import catalog

    reg = catalog.discover(args.task_dir)
    kw = max([len("kind"), *(len(e.spec.kind) for e in reg.values())])  # the longest kind name sets the column
    print(f"{'task':<18} {'benchmark':<9} {'lang':<5} {'kind':<{kw}} {'main score':<26} {'groups':<8} also")
    for name, e in sorted(reg.items(), key=lambda kv: (kv[1].spec.benchmark, kv[0])):
        s = e.spec
        also = (["prompt"] if s.prompt else []) + ([f"{len(s.folds)} folds"] if s.folds else [])
        print(f"{name:<18} {s.benchmark:<9} {s.language:<5} {s.kind:<{kw}} {'+'.join(s.main_metrics):<26} "
              f"{','.join(s.groups):<8} {', '.join(also)}".rstrip())
    print("\ngroups: " + ", ".join(f"{g} ({len(ts)})" for g, ts in sorted(catalog.groups(reg).items())))
    if args.models.exists():
        print(f"\nmodels in {args.models}:")
        for m in load_models_file(args.models):
            ident = m.id or f"random init ({m.tokenizer})"
            print(f"  {m.name:<24} {m.family:<7} {ident}" + ("  [untrained]" if m.untrained else ""))
    return 0


def _measure_latency(output_dir: Path, runs: int, warmup: int, threads: int, only: Optional[set[str]],
                     missing_only: bool, progress: bool) -> int:
    """Time the kept checkpoints (harness.latency), print one line per checkpoint skipped; the number timed."""
    from .latency import measure_all

    _quiet_hf()
    got = measure_all(output_dir, runs, warmup, threads, only, missing_only, progress)
    for label, lat in got.measured:
        log.info("latency: %s: p50 %.1f ms, p95 %.1f ms", label, lat.p50_ms, lat.p95_ms)
    for label, why in got.skipped:
        print(f"latency not measured: {label}: {why}")
    return len(got.measured)


def cmd_latency(args: argparse.Namespace) -> int:
    from leaderboard.report import write_tables

    if not (args.output_dir / "results").is_dir():
        raise HarnessError(f"--output-dir: no results/ folder under '{args.output_dir}'")
    if args.warmup < 0:
        raise HarnessError(f"--warmup: expected 0 or more, got {args.warmup}")
    only = set(args.only_models) if args.only_models else None
    n = _measure_latency(args.output_dir, args.runs, args.warmup, args.threads, only, args.missing, not args.quiet)
    if n:
        write_tables(args.output_dir)
    from .latency import cpu_name

    print(f"latency: {n} checkpoint(s) timed ({args.runs} runs after {args.warmup} warm-up, {args.threads} "
          f"thread(s), {cpu_name()}); tables: {args.output_dir / 'leaderboard.csv'}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from leaderboard.report import write_tables
    from leaderboard.table import failure_lines, unreadable_lines

    if not (args.output_dir / "results").is_dir():
        raise HarnessError(f"--output-dir: no results/ folder under '{args.output_dir}'")
    rep = write_tables(args.output_dir)
    print(rep.markdown())
    for p in rep.loaded.problems:
        print(f"skipped: {p}")
    for line in unreadable_lines(rep.loaded):
        print(line)
    for line in failure_lines(rep.loaded):
        print(line)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .predict import predict_file

    if not args.checkpoint.is_dir():
        raise HarnessError(f"--checkpoint: folder '{args.checkpoint}' does not exist")
    if not args.input.is_file():
        raise HarnessError(f"--input: file '{args.input}' does not exist")
    _quiet_hf()
    summary = predict_file(args.checkpoint, args.input, args.output, args.batch_size, args.backend,
                           progress=not args.quiet)
    log.info("%d rows (%s, backend %s) -> %s", summary["rows"], summary["task"], summary["backend"], summary["output"])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_checkpoint, export_summary

    if not args.checkpoint.is_dir():
        raise HarnessError(f"--checkpoint: folder '{args.checkpoint}' does not exist")
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise HarnessError(f"--data-dir: folder '{args.data_dir}' does not exist")
    if any(t < 1 for t in args.threads):
        raise HarnessError(f"--threads: expected positive thread counts, got {args.threads}")
    _quiet_hf()
    report = export_checkpoint(args.checkpoint, args.format, args.quantize, args.data_dir, args.max_eval_samples,
                               verify=not args.no_verify, latency_runs=args.latency_runs,
                               latency_threads=tuple(args.threads))
    print(export_summary(report))
    return 0


def _quiet_hf() -> None:
    """Library logging and bars off: transformers warns on every fine-tune that the new task head is "MISSING" from
    the checkpoint (expected here). Not yet imported (transformers takes seconds; a rerun with nothing to do never
    imports it): through the environment variables both libraries read when they are imported."""
    if "transformers" not in sys.modules:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if "huggingface_hub" in sys.modules:
            from huggingface_hub.utils import disable_progress_bars

            disable_progress_bars()
        return
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def main(argv: Optional[Sequence[str]] = None) -> int:
    console = logging.StreamHandler()  # a file or a pipe gets no terminal escape codes from any library's message
    console.setFormatter(logging.Formatter(LOG_FORMAT) if sys.stderr.isatty() else PlainFormatter(LOG_FORMAT))
    logging.basicConfig(level=os.environ.get("HARNESS_LOG", "INFO"), handlers=[console])
    for noisy in ("httpx", "urllib3", "filelock", "datasets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        with interrupt.handling():  # a Ctrl-C is never lost (harness.interrupt)
            return {"run": cmd_run, "list": cmd_list, "leaderboard": cmd_leaderboard, "predict": cmd_predict,
                    "export": cmd_export, "latency": cmd_latency, **publish.COMMANDS}[args.command](args)
    except HarnessError as e:
        print(f"error: {strip_ansi(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
