"""The grid driver: skip finished units, hand the rest to an executor, write every outcome atomically, one bar;
units an infrastructure failure lost (harness.failure_class) run once more at the end, through a fresh executor of
the same kind.

Whatever runs a unit, the driver writes its files (predictions, log, then the record, each atomically; or the
failure record), so a result path and its content do not depend on the executor. Ctrl-C cancels the executor
(no new job starts, running ones are stopped) and nothing half-written is left.
"""
from __future__ import annotations

import logging
import shutil
import time
from collections import Counter
from typing import Any, Optional

from tqdm.auto import tqdm

from .. import interrupt, results
from ..failure_class import INFRASTRUCTURE, KINDS, LABELS
from ..rerun import job_command
from ..record import Execution, Failure, JobId, RecordError, ResultRecord, TaskInfo, UnknownSchema
from ..plan import Job, RunOptions, check_deferred
from .base import ExecOptions, Outcome, Started, Stopped, Unit
from .executors import make_executor

log = logging.getLogger(__name__)


def where_label(where: dict[str, Any]) -> str:
    """A worker's place as the bar shows it: a cluster node by its short id and host (several nodes may share a
    host or an address), else the host; then the GPU it was given."""
    host, node_id = where.get("host") or where.get("node") or "?", where.get("node_id")
    gpu = where.get("cuda_visible_devices")
    return (f"node {node_id[:6]} ({host})" if node_id else host) + (f"/gpu{gpu}" if gpu not in (None, "") else "")


class GridBar:
    """One bar for the grid: done / running / failed, and where each running unit runs."""

    def __init__(self, total: int, initial: int, enabled: bool):
        self.bar = tqdm(total=total, initial=initial, desc="grid", unit="job", disable=not enabled)
        self.running: dict[int, str] = {}
        self.done = self.failed = 0

    def started(self, unit: Unit, where: dict[str, Any]) -> None:
        self.running[unit.uid] = f"{unit.label} @{where_label(where)}"
        self._refresh()

    def stopped(self, unit: Unit) -> None:
        """An attempt that ended without an outcome (its worker or node was lost): not running any more."""
        self.running.pop(unit.uid, None)
        self._refresh()

    def finished(self, unit: Unit, status: str) -> None:
        self.running.pop(unit.uid, None)
        self.done += status == "done"
        self.failed += status == "failed"
        self.bar.update()
        self._refresh()

    def _refresh(self) -> None:
        head = f"done {self.done}, running {len(self.running)}, failed {self.failed}"
        self.bar.set_postfix_str("; ".join([head, *self.running.values()]), refresh=True)

    def write(self, text: str) -> None:
        self.bar.write(text)

    def retrying(self, n: int) -> None:
        """n failed units run once more: they are no longer failed, and the bar grows by their attempts."""
        self.failed -= n
        self.bar.total += n
        self._refresh()

    def close(self) -> None:
        self.bar.close()


def write_outcome(unit: Unit, out: Outcome, attempts: int = 1) -> Optional[ResultRecord]:
    """Write a unit's files; returns the record when it succeeded. `attempts`: starts seen (Ray retries)."""
    rfile = results.result_path(unit.opts.output_dir, unit.job.key, unit.seed)
    lfile = results.log_path(rfile)
    if out.log_text or not lfile.exists():  # a worker that died sent no log: keep what it wrote as it ran
        results.write_text(lfile, out.log_text)
    execution = Execution(**{"attempts": max(1, attempts), **out.execution, "log_file": lfile.name,
                             "race": unit.job.race.get(unit.seed)})
    command = job_command(unit.job, unit.seed, unit.opts)  # what reruns exactly this job (None: a search's)
    if out.status == "done" and out.record is not None:
        record = out.record.model_copy(update={"execution": execution, "command": command})
        results.write_predictions(results.predictions_path(rfile), out.rows)
        record.write(rfile)  # last: a result file exists only with everything beside it
        results.failure_path(rfile).unlink(missing_ok=True)
        return record
    log.error("job %s seed %d failed: %s", unit.job.key, unit.seed, out.error)
    job = unit.job
    ResultRecord(status="failed", job=JobId(model=job.model.name, revision=job.revision, task=job.spec.name,
                                            method=job.method, fold=job.fold, seed=unit.seed,
                                            config_hash=job.config_hash),
                 config=job.config, command=command, task_info=TaskInfo.of(job.spec),
                 failure=Failure(reason=out.error or "unknown error", kind=out.failure_kind,
                                 cause=out.failure_cause, step=out.failure_step, traceback=out.traceback),
                 execution=execution, environment=results.environment(unit.opts.device), search=job.search,
                 created_at=results.now()).write(results.failure_path(rfile))
    return None


def training_work(job: Job) -> float:
    """Training examples a job will process: its estimated size, to start the biggest jobs first."""
    cfg = job.cfg
    if cfg.max_steps > 0:
        return min(cfg.max_steps * cfg.batch_size * cfg.gradient_accumulation_steps, job.train_size * cfg.epochs)
    return job.train_size * cfg.epochs


def best_seed(records: dict[int, ResultRecord], direction: str) -> int:
    """The seed whose checkpoint is kept as "best": the best validation main score (never the test score) in the
    main score's direction; a seed without a validation score comes last; ties go to the lowest seed. Shared by
    --keep-checkpoints best and `push --checkpoints best`."""
    sign = -1.0 if direction == "lower" else 1.0

    def val_main(seed: int) -> float:
        v = records[seed].validation
        main = (v.metrics or {}).get("main") if v else None
        return sign * main if main is not None else float("-inf")

    return max(sorted(records), key=val_main)


def prune_checkpoints(job: Job, opts: RunOptions, records: dict[int, ResultRecord]) -> None:
    """keep-checkpoints best: keep only the `best_seed` checkpoint."""
    if opts.keep_checkpoints != "best" or len(records) < 2:
        return
    keep = best_seed(records, job.spec.direction)
    for seed in records:
        if seed != keep:
            shutil.rmtree(results.checkpoint_dir(opts.output_dir, job.key, seed), ignore_errors=True)


def _remove_partial_files(unit: Unit) -> None:
    """An interrupted unit leaves its live log and, if stopped while saving, a hidden temporary checkpoint folder
    (checkpoint.save_checkpoint): remove both, so only finished units have files."""
    results.log_path(results.result_path(unit.opts.output_dir, unit.job.key, unit.seed)).unlink(missing_ok=True)
    final = results.checkpoint_dir(unit.opts.output_dir, unit.job.key, unit.seed)
    for tmp in final.parent.glob(f".{final.name}.*.tmp") if final.parent.is_dir() else ():
        shutil.rmtree(tmp, ignore_errors=True)


def _written_since(unit: Unit, began: float) -> bool:
    """Whether the unit's log was written by this run (its worker started before the driver heard of it)."""
    try:
        return results.log_path(results.result_path(unit.opts.output_dir, unit.job.key, unit.seed)).stat().st_mtime \
            >= began - 1
    except OSError:
        return False


def _finished_record(rfile, output_dir) -> "ResultRecord | bool | None":
    """The record of a finished unit (True: finished but written by another harness version), or None when the unit
    must run: no result file, or a damaged one, which is moved aside (`*.corrupt`) with a warning. A record whose
    checkpoint path leads outside the output folder (absolute, '..', or a link pointing out) is damaged too: a
    result file is data, and the app would load what it names."""
    if not rfile.exists():
        return None
    try:
        rec = ResultRecord.read(rfile)
        if rec.checkpoint and results.confined(output_dir, rec.checkpoint) is None:
            raise RecordError(f"{rfile}: field 'checkpoint': '{rec.checkpoint}' is outside the output folder "
                              f"{output_dir} (links followed)")
        return rec
    except UnknownSchema as e:  # a newer harness's result: not ours to judge or replace
        log.warning("%s; kept and not rerun", e)
        return True
    except RecordError as e:
        moved = results.move_aside(rfile)
        log.warning("%s; moved aside to %s, the job runs again", e, moved.name)
        return None


def new_counts() -> Counter:
    """A grid's counts: done, skipped (finished before; 'newer': of those, a newer harness's records, kept), failed,
    'failed:<class>' per failure class (harness.failure_class), retried (units lost to an infrastructure failure and
    run once more) and recovered (of those, the ones that then succeeded). Summed across grids with +=."""
    return Counter({"done": 0, "skipped": 0, "failed": 0})


def describe_counts(counts: Counter) -> str:
    """'12 planned: 9 succeeded, 2 already done, 1 failed (1 infrastructure, retried once)': the end-of-run count."""
    done, skipped, failed = counts["done"], counts["skipped"], counts["failed"]
    newer, retried, recovered = counts["newer"], counts["retried"], counts["recovered"]
    text = f"{done + skipped + failed} planned: {done} succeeded"
    text += f" ({recovered} on a retry after an infrastructure failure)" if recovered else ""
    text += f", {skipped - newer} already done"
    text += f", {newer} skipped (a newer harness's results, kept)" if newer else ""
    by_class = [f"{counts[f'failed:{k}']} {LABELS[k]}" + (", retried once" if k == INFRASTRUCTURE else "")
                for k in KINDS if counts[f"failed:{k}"]]
    return text + f", {failed} failed" + (f" ({'; '.join(by_class)})" if by_class else "")


def run_grid(jobs: list[Job], opts: RunOptions, eopts: Optional[ExecOptions] = None) -> Counter:
    """Run every (job, seed) whose result file is missing, then once more those lost to an infrastructure failure
    (a fresh executor of the same kind); returns the counts (new_counts)."""
    eopts = eopts or ExecOptions()
    for path in results.remove_leftovers(opts.output_dir):
        log.info("removed %s (a temporary file of a write that did not finish)", path)
    counts = new_counts()
    records: dict[int, dict[int, ResultRecord]] = {i: {} for i in range(len(jobs))}
    units, owner = [], {}
    for i, job in enumerate(jobs):
        for seed in job.seeds:
            rfile = results.result_path(opts.output_dir, job.key, seed)
            done = _finished_record(rfile, opts.output_dir)
            if done is not None:
                counts["skipped"] += 1
                if isinstance(done, ResultRecord):
                    records[i][seed] = done
                else:
                    counts["newer"] += 1
            else:
                check_deferred(job)  # planned as done, yet it runs: its tokenizer checks first
                owner[len(units)] = i
                units.append(Unit(len(units), job, seed, opts))
    executor = make_executor(eopts, opts, units)
    # biggest first (stable): with jobs at once, the grid's wall time is not left waiting on a big job started last
    units = sorted(units, key=lambda u: -training_work(u.job))
    if units:
        bar = GridBar(sum(len(j.seeds) for j in jobs), counts["skipped"], opts.progress)
        starts: dict[int, int] = {}
        by_uid = {u.uid: u for u in units}
        finished: set[int] = set()
        last: dict[int, Outcome] = {}

        began = time.time()

        def drain(todo: list[Unit]) -> None:
            for event in executor.run(todo):
                interrupt.check()
                unit = by_uid[event.uid]
                if isinstance(event, Started):
                    starts[event.uid] = starts.get(event.uid, 0) + 1
                    bar.started(unit, event.where)
                    continue
                if isinstance(event, Stopped):
                    log.info("%s: its attempt stopped (%s)", unit.label, event.why)
                    bar.stopped(unit)
                    continue
                rec = write_outcome(unit, event, starts.get(event.uid, 1))
                finished.add(event.uid)
                last[event.uid] = event
                if rec is not None:
                    records[owner[event.uid]][unit.seed] = rec
                bar.finished(unit, event.status)
                if eopts.verbose:
                    bar.write(f"--- {unit.label} ({event.status}) ---\n{event.log_text.rstrip()}")

        try:
            drain(units)
            lost = [u for u in units if u.uid in last and last[u.uid].status == "failed" and
                    last[u.uid].failure_kind == INFRASTRUCTURE]
            if lost:  # the machine lost them, not the job: once more, with a fresh executor of the same kind
                causes = Counter(last[u.uid].failure_cause or "unknown" for u in lost)
                log.warning("%d job(s) lost to an infrastructure failure (%s): running them once more", len(lost),
                            ", ".join(f"{c} ×{n}" for c, n in causes.items()))
                executor.close()
                executor = make_executor(eopts, opts, lost)
                finished.difference_update(u.uid for u in lost)
                bar.retrying(len(lost))
                drain(lost)
                counts["retried"] += len(lost)
                counts["recovered"] += sum(last[u.uid].status == "done" for u in lost)
        except BaseException:  # Ctrl-C, a lost cluster or a driver error: start nothing more, stop what runs
            executor.cancel()
            for unit in units:  # what this run began and did not finish (a start not yet seen included)
                if unit.uid not in finished and (unit.uid in starts or _written_since(unit, began)):
                    _remove_partial_files(unit)
            raise
        finally:
            executor.close()
            bar.close()
        for out in last.values():
            counts[out.status] += 1
            if out.status == "failed":
                counts[f"failed:{out.failure_kind}"] += 1
    for i, job in enumerate(jobs):
        prune_checkpoints(job, opts, records[i])
    return counts
