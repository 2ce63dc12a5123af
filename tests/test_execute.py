"""Execution layer without Ray: out-of-memory back-off, interrupts and worker lifetime, bad flags."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.confighash import config_hash
from harness import results
from harness.cli import main

REPO = Path(__file__).resolve().parents[1]
SMOKE = ["--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "2", "--quiet"]


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "results").rglob("seed*.json"))
            if not p.name.endswith(".failed.json")]


@pytest.fixture(scope="module")
def bert_models(tmp_path_factory) -> Path:
    from tiny import models_yaml

    return models_yaml(tmp_path_factory.mktemp("bert"), families=("bert",))


def _inject_oom(monkeypatch, train_above: int = 0, eval_above: int = 0) -> list[int]:
    """CUDA out-of-memory errors on CPU: training with a per-device batch above `train_above`, evaluation above
    `eval_above` (0: never)."""
    import torch

    from harness import train
    from harness.adapters.encoder import SequenceAdapter

    seen: list[int] = []
    real_train, real_predict = train.Trainer.train, SequenceAdapter.predict

    def fake_train(self, *a, **kw):
        seen.append(self.args.per_device_train_batch_size)
        if train_above and self.args.per_device_train_batch_size > train_above:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        return real_train(self, *a, **kw)

    def fake_predict(self, model, examples, batch_size):
        if eval_above and batch_size > eval_above:
            raise torch.OutOfMemoryError("CUDA out of memory (injected, evaluation)")
        return real_predict(self, model, examples, batch_size)

    monkeypatch.setattr(train.Trainer, "train", fake_train)
    monkeypatch.setattr(SequenceAdapter, "predict", fake_predict)
    return seen


def test_out_of_memory_halves_the_batch_and_keeps_the_requested_hash(bert_models, tmp_path, monkeypatch):
    seen = _inject_oom(monkeypatch, train_above=4, eval_above=4)
    out = tmp_path / "o"
    assert main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(out),
                 "--batch-size", "16", "--set", "eval_batch_size=16", *SMOKE]) == 0
    (rec,) = records(out)
    assert seen == [16, 8, 4, 4, 4]  # two training halvings, then two evaluation halvings (training reruns)
    ex = rec["execution"]
    assert (ex["batch_size"], ex["gradient_accumulation_steps"], ex["eval_batch_size"]) == (4, 4, 4)
    assert [(r["phase"], r["batch_size"]) for r in ex["oom_retries"]] == [
        ("training", 16), ("training", 8), ("evaluation", 16), ("evaluation", 8)]
    assert rec["config"]["train"]["batch_size"] == 16  # the requested config: the hash does not change
    assert "gradient_accumulation_steps" not in rec["config"]["train"]  # not set: the default is not hashed
    assert rec["job"]["config_hash"] == config_hash(rec["config"])
    assert rec["training"]["steps"] == 2  # same optimizer steps


def test_out_of_memory_after_three_halvings_is_a_failed_record(bert_models, tmp_path, monkeypatch, capsys):
    _inject_oom(monkeypatch, train_above=1)
    out = tmp_path / "o"
    assert main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(out),
                 "--batch-size", "16", *SMOKE]) == 1
    (failed,) = (out / "results").rglob("*.failed.json")
    failure = json.loads(failed.read_text())["failure"]
    assert failure["kind"] == "out_of_memory"
    err = failure["reason"]
    assert err.startswith("out of memory in training at batch 2 after 3 halvings") and "\n" not in err
    assert results.log_path(failed.with_name("seed42.json")).read_text().count("retrying with half the batch") == 3


@pytest.mark.parametrize("argv, expected", [
    (["--executor", "rya"], "unknown executor 'rya' (did you mean 'ray'?)"),
    (["--executor", "ray", "--workers", "2"], "--workers: only for --executor local"),
    (["--executor", "serial", "--workers", "2"], "--workers: only for --executor local"),
    (["--workers", "2", "--gpus-per-job", "1"], "--gpus-per-job: needs --device cuda with the local executor"),
    (["--executor", "ray", "--gpus-per-job", "0"], "--gpus-per-job: expected a share of one GPU in (0, 1]"),
    (["--executor", "ray", "--gpus-per-job", "2"], "a job that needs several GPUs is not supported"),
    (["--ray-address", "auto"], "--ray-address: only for --executor ray"),
])
def test_bad_execution_flags_are_one_line_errors(bert_models, tmp_path, capsys, argv, expected):
    with pytest.raises(SystemExit) if argv[1] == "rya" else _no_exit():
        rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir",
                   str(tmp_path / "o"), *SMOKE, *argv])
        assert rc == 2
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]  # argparse puts its usage above the one error line
    assert expected in last and "Traceback" not in err
    assert argv[1] == "rya" or len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_executors_are_registered_and_checked_by_their_own_modules(tmp_path):
    """Every module of harness/execute/executors registers one executor kind: --executor's choices and help come
    from the registry (default first), and each executor refuses the options it does not take, in one line."""
    import subprocess

    from harness.cli_args import executor_help
    from harness.errors import HarnessError
    from harness.execute.base import ExecOptions
    from harness.execute.executors import check_options, concurrency, executor_names, get_executor
    from harness.plan import RunOptions

    assert executor_names() == ("serial", "local", "ray")
    assert executor_help() == ("serial (default): jobs one after another in this process; local: worker processes "
                               "on this machine, one per GPU slot; ray: Ray tasks on a local instance or a cluster")
    assert [get_executor(n).local_gpus for n in executor_names()] == [True, True, False]
    for eopts, expected in ((ExecOptions("serial", gpus_per_job=1), "--gpus-per-job: only for --executor local or "
                             "ray (serial runs one job at a time)"),
                            (ExecOptions("local", ray_address="auto"), "--ray-address: only for --executor ray"),
                            (ExecOptions("ray", workers=2), "--workers: only for --executor local (it means local "
                             "with N worker processes); with --executor ray leave it out"),
                            (ExecOptions("nope"), "--executor: unknown executor 'nope' (expected one of: local, ray, "
                             "serial)")):
        with pytest.raises(HarnessError) as e:
            check_options(eopts)
        assert str(e.value) == expected
    assert concurrency(ExecOptions("local", workers=3), RunOptions(output_dir=tmp_path)) == 3
    cheap = ("import sys, harness.cli_args; harness.cli_args.executor_help(); "
             "print([m for m in ('torch', 'ray', 'transformers') if m in sys.modules])")
    assert subprocess.run([sys.executable, "-c", cheap], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1]).stdout.strip() == "[]"


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unreachable_ray_address_fails_fast(bert_models, tmp_path, capsys):
    pytest.importorskip("ray")
    t0 = time.monotonic()
    rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(tmp_path / "o"),
               "--executor", "ray", "--ray-address", "127.0.0.1:1", *SMOKE])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: --ray-address: cannot reach a Ray cluster at 127.0.0.1:1")
    assert len(err.splitlines()) == 1 and time.monotonic() - t0 < 30


def test_auto_ray_address_without_a_cluster_fails_fast(bert_models, tmp_path, capsys, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    t0 = time.monotonic()
    rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(tmp_path / "o"),
               "--executor", "ray", "--ray-address", "auto", *SMOKE])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: --ray-address") and len(err.splitlines()) == 1
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()


def test_ray_not_installed_names_the_install_command(bert_models, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(tmp_path / "o"),
               "--executor", "ray", *SMOKE])
    assert rc == 2 and "pip install -r requirements-ray.txt" in capsys.readouterr().err


def _cli(models: Path, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "harness", "run", "--models", str(models), "--tasks", "demo_sentiment,demo_paraphrase",
           "--output-dir", str(out), "--seeds", "1,2,3", "--max-train-samples", "24", "--max-eval-samples", "16",
           "--max-steps", "150", "--set", "eval_steps=1000", "--quiet", *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def _worker_pids(out: Path, n: int, timeout: float = 120) -> set[int]:
    """PIDs the running jobs wrote into their live logs (first line: '... pid N on ...')."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = set()
        for log in (out / "results").rglob("seed*.log") if (out / "results").exists() else ():
            words = log.read_text().split()
            if "pid" in words:
                pids.add(int(words[words.index("pid") + 1]))
        if len(pids) >= n:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} jobs started within {timeout} s")


def _gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _no_partial_files(out: Path) -> None:
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    for p in (out / "results").rglob("seed*.json"):
        json.loads(p.read_text())  # complete JSON


@pytest.mark.parametrize("flags, running", [([], 1), (["--workers", "2"], 2)], ids=["serial", "local"])
def test_ctrl_c_stops_the_grid_and_a_rerun_finishes(bert_models, tmp_path, flags, running):
    out = tmp_path / "o"
    proc = _cli(bert_models, out, *flags)
    pids = _worker_pids(out, running)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err and time.monotonic() - t0 < 15
    assert all(_gone(pid) for pid in pids)
    _no_partial_files(out)
    done = len(records(out))
    assert len(list((out / "results").rglob("seed*.log"))) == done  # no log of an interrupted job is left
    assert main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment,demo_paraphrase", "--output-dir",
                 str(out), "--seeds", "1,2,3", "--max-train-samples", "24", "--max-eval-samples", "16",
                 "--max-steps", "150", "--set", "eval_steps=1000", "--quiet"]) == 0
    assert len(records(out)) == 6 and done < 6


def test_killed_driver_takes_its_local_workers_with_it(bert_models, tmp_path):
    out = tmp_path / "o"
    proc = _cli(bert_models, out, "--workers", "2")
    pids = _worker_pids(out, 2)
    proc.kill()
    proc.communicate(timeout=30)
    assert all(_gone(pid) for pid in pids)


def test_grid_bar_shows_done_running_failed_and_where(capsys):
    from types import SimpleNamespace

    from harness.execute.driver import GridBar

    bar = GridBar(total=3, initial=0, enabled=True)
    a, b = SimpleNamespace(uid=0, label="m × t seed 1"), SimpleNamespace(uid=1, label="m × t seed 2")
    bar.started(a, {"node": "10.1.2.3", "cuda_visible_devices": "3"})
    bar.started(b, {"host": "box", "cuda_visible_devices": None})
    assert bar.bar.postfix == "done 0, running 2, failed 0; m × t seed 1 @10.1.2.3/gpu3; m × t seed 2 @box"
    bar.finished(a, "failed")
    assert bar.bar.postfix == "done 0, running 1, failed 1; m × t seed 2 @box" and bar.bar.n == 1
    bar.retrying(1)  # the failed unit runs once more (an infrastructure failure): not failed, one more attempt
    assert bar.bar.postfix == "done 0, running 1, failed 0; m × t seed 2 @box" and bar.bar.total == 4
    bar.close()


def test_verbose_prints_each_jobs_log(bert_models, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(out),
                 "--verbose", *SMOKE]) == 0
    printed = capsys.readouterr().out
    assert "--- tiny-bert × demo_sentiment × finetune seed 42 (done) ---" in printed and "step 2: {'loss'" in printed
    (rec,) = records(out)
    log = (next((out / "results").rglob("seed42.json")).with_name(rec["execution"]["log_file"])).read_text()
    assert "validation at step 2" in log and "pid" in log.splitlines()[0]


def test_gpu_slots_pin_workers_and_refuse_oversubscription():
    from harness.errors import HarnessError
    from harness.execute.base import ExecOptions
    from harness.execute.executors.local import plan_slots

    assert plan_slots("cuda", ExecOptions(executor="local"), ["0", "1"]) == ["0", "1"]
    assert plan_slots("cuda", ExecOptions(executor="local", gpus_per_job=0.5), ["0", "1"]) == ["0", "1", "0", "1"]
    assert plan_slots("cuda", ExecOptions(executor="local", workers=3, gpus_per_job=0.5), ["4", "7"]) == ["4", "7", "4"]
    assert plan_slots("cpu", ExecOptions(executor="local", workers=2)) == [None, None]
    with pytest.raises(HarnessError, match="3 jobs at once do not fit 2 visible GPU"):
        plan_slots("cuda", ExecOptions(executor="local", workers=3), ["0", "1"])
    with pytest.raises(HarnessError, match="no GPU is visible"):
        plan_slots("cuda", ExecOptions(executor="local"), [])


def test_local_workers_see_only_their_gpu(bert_models, tmp_path):
    """Each worker process is pinned through CUDA_VISIBLE_DEVICES (the jobs themselves run on CPU here)."""
    from harness import catalog
    from harness.plan import RunOptions, plan
    from harness.models import load_models_file
    from harness.execute.base import Outcome, Unit
    from harness.execute.executors.local import LocalExecutor

    opts = RunOptions(output_dir=tmp_path / "o", seeds=(1, 2), max_train_samples=24, max_eval_samples=16,
                             cli_train={"max_steps": 2}, progress=False)
    jobs, _ = plan(load_models_file(bert_models), [catalog.discover()["demo_sentiment"]], opts)
    units = [Unit(i, jobs[0], seed, opts) for i, seed in enumerate(jobs[0].seeds)]
    executor = LocalExecutor(["3", "5"], threads=1)
    try:
        outcomes = [e for e in executor.run(units) if isinstance(e, Outcome)]
    finally:
        executor.close()
    assert [o.status for o in outcomes] == ["done", "done"]
    assert sorted(o.record.environment["cuda_visible_devices"] for o in outcomes) == ["3", "5"]
    assert sorted(o.execution["worker"] for o in outcomes) == [0, 1]


def test_probe_lists_what_a_node_lacks(bert_models, tmp_path):
    """The per-node check itself (run on every Ray node before a grid), against a driver's expectations."""
    from harness import catalog
    from harness.plan import RunOptions, plan
    from harness.models import load_models_file
    from harness.execute.probe import expectations, probe_node

    opts = RunOptions(output_dir=tmp_path / "o", data_dir=tmp_path, max_train_samples=8)
    jobs, _ = plan(load_models_file(bert_models), [catalog.discover()["demo_sentiment"]], opts)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / ".marker").write_text("")
    expect = expectations(jobs, opts, ".marker")
    assert probe_node(expect) == []  # this machine is the driver
    bad = {**expect, "git_sha": "0" * 40, "versions": {**expect["versions"], "torch": "1.0"},
           "folders": [*expect["folders"], str(tmp_path / "gone")], "python_models": ["no_such_model_pkg"],
           "local_models": [str(tmp_path / "no-model")], "marker": str(tmp_path / "o" / ".other")}
    missing = probe_node(bad)
    assert len(missing) == 6
    assert missing[0].startswith("harness ") and f"(driver: {expect['harness']} at git {'0' * 40})" in missing[0]
    assert "torch" in missing[1] and "(driver 1.0)" in missing[1]
    assert f"folder {tmp_path / 'gone'} is missing" in missing
    assert f"model folder {tmp_path / 'no-model'} is missing" in missing
    assert "model package 'no_such_model_pkg' is not installed" in missing
    assert "is not shared with the driver" in missing[-1]


def test_a_ctrl_c_swallowed_by_a_finalizer_is_raised_again():
    """Python ignores a KeyboardInterrupt raised inside __del__ (e.g. garbage collected mid-training); the
    harness records the signal and raises it again at the next check (each training step, each grid event)."""
    from harness import interrupt

    class Finalizer:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)  # delivered while __del__ runs: Python prints and ignores it
            time.sleep(0.05)

    with interrupt.handling():
        Finalizer()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    interrupt.check()  # outside the block: no leftover state


# ---------------------------------------------------------------- infrastructure failures: retried once at the end


class _LosingExecutor:
    """A stand-in executor: loses the units of the seeds in `lose` (an infrastructure failure, as a dead worker
    gives) on every run in `lose_runs` (counted over all instances), fails `bug` seeds with a code error, and runs
    the rest for real in this process (the serial executor)."""

    instances: list["_LosingExecutor"] = []

    def __init__(self, lose: set[int], bug: set[int], lose_runs: int):
        from harness.execute.executors.serial import SerialExecutor

        self.name, self.lose, self.bug, self.lose_runs = "losing", lose, bug, lose_runs
        self.serial = SerialExecutor(None)
        self.ran: list[int] = []
        _LosingExecutor.instances.append(self)

    def run(self, units):
        from harness.execute.base import Outcome, Started

        run_number = len(_LosingExecutor.instances)  # 1: the grid's pass, 2: the retry
        real = []
        for u in units:
            self.ran.append(u.seed)
            if u.seed in self.lose and run_number <= self.lose_runs:
                yield Started(u.uid, {"host": "stand-in"})
                yield Outcome(u.uid, "failed", error="worker process 1 died (exit code -9, killed by SIGKILL) while "
                              "running this job", failure_kind="infrastructure", failure_cause="worker lost")
            elif u.seed in self.bug:
                yield Started(u.uid, {"host": "stand-in"})
                yield Outcome(u.uid, "failed", error="KeyError: 'input_ids'", failure_kind="code")
            else:
                real.append(u)
        yield from self.serial.run(real)

    def cancel(self):
        pass

    def close(self):
        pass


@pytest.fixture
def losing(monkeypatch):
    """Register the stand-in as executor 'losing' (for --executor); returns a setter of its behaviour."""
    from harness.execute.executors import load_all
    from harness.execute.executors.base import REGISTRY, ExecutorKind

    load_all()
    behaviour = {"lose": set(), "bug": set(), "lose_runs": 1}

    class Losing(ExecutorKind):
        name, summary = "losing", "a stand-in that loses units"

        def make(self, eopts, opts, units):
            return _LosingExecutor(behaviour["lose"], behaviour["bug"], behaviour["lose_runs"])

    monkeypatch.setitem(REGISTRY, "losing", Losing())
    _LosingExecutor.instances = []
    return behaviour


def test_a_unit_lost_to_infrastructure_runs_once_more_at_the_end_and_counts_as_succeeded(bert_models, tmp_path,
                                                                                         losing, caplog, capsys):
    losing.update(lose={1}, lose_runs=1)
    out = tmp_path / "o"
    with caplog.at_level("WARNING"):
        rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(out),
                   "--executor", "losing", "--seeds", "1,2", *SMOKE])
    printed = capsys.readouterr().out
    assert rc == 0
    first, retry = _LosingExecutor.instances
    assert first.ran == [1, 2] and retry.ran == [1]  # the retry: a fresh executor of the same kind, the lost unit only
    assert "1 job(s) lost to an infrastructure failure (worker lost ×1): running them once more" in caplog.text
    assert "jobs: 2 planned: 2 succeeded (1 on a retry after an infrastructure failure), 0 already done, 0 failed;" \
        in printed
    assert not list((out / "results").rglob("*.failed.json"))  # the success replaced the first attempt's record
    attempts = {r["job"]["seed"]: r["execution"]["attempts"] for r in records(out)}
    assert attempts == {1: 2, 2: 1}


def test_a_unit_lost_twice_is_an_infrastructure_failure_and_other_failures_are_not_retried(bert_models, tmp_path,
                                                                                          losing, capsys):
    from harness.record import ResultRecord

    losing.update(lose={1}, bug={2}, lose_runs=2)
    out = tmp_path / "o"
    rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(out),
               "--executor", "losing", "--seeds", "1,2", *SMOKE])
    printed = capsys.readouterr().out
    assert rc == 1
    first, retry = _LosingExecutor.instances
    assert first.ran == [1, 2] and retry.ran == [1]  # the code error is not retried
    assert ("jobs: 2 planned: 0 succeeded, 0 already done, 2 failed (1 infrastructure, retried once; 1 code error);"
            in printed)
    recs = {p.name: ResultRecord.read(p) for p in (out / "results").rglob("*.failed.json")}
    assert {n: (r.failure.kind, r.failure.cause, r.execution.attempts) for n, r in recs.items()} == {
        "seed1.failed.json": ("infrastructure", "worker lost", 2), "seed2.failed.json": ("code", None, 1)}
    assert "(infrastructure: worker lost)" in printed and "KeyError: 'input_ids' (code error)" in printed


def test_a_killed_local_worker_is_infrastructure_and_its_job_runs_again(bert_models, tmp_path):
    """kill -9 of the local executor's worker mid-job: the unit is lost to infrastructure (worker lost), the worker
    is replaced, and the unit runs once more at the end of the grid and succeeds."""
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "harness", "run", "--models", str(bert_models), "--tasks", "demo_sentiment",
           "--output-dir", str(out), "--seeds", "1,2", "--workers", "1", "--max-train-samples", "24",
           "--max-eval-samples", "16", "--max-steps", "60", "--set", "eval_steps=1000", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    (pid,) = _worker_pids(out, 1)
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"worker process {pid} died (exit code -9, killed by SIGKILL) while running this job" in stderr
    assert "1 job(s) lost to an infrastructure failure (worker lost ×1): running them once more" in stderr
    assert "jobs: 2 planned: 2 succeeded (1 on a retry after an infrastructure failure), 0 already done, 0 failed" \
        in stdout
    assert len(records(out)) == 2 and not list((out / "results").rglob("*.failed.json"))
    assert sorted(r["execution"]["attempts"] for r in records(out)) == [1, 2]
