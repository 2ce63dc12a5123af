"""The Ray executor on a real local Ray instance (logical GPUs on this GPU-less machine), loopback only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

# before Ray is imported: keep every Ray address on 127.0.0.1 and need no auth token (test traffic stays local)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage statistics sent anywhere
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-ray.txt)")

from harness.cli import main  # noqa: E402
from test_execute import _gone, _no_partial_files, _worker_pids, records  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMOKE = ["--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "2", "--quiet"]
GRID = ["--tasks", "demo_sentiment,demo_paraphrase", "--seeds", "1,2"]


@pytest.fixture(scope="module")
def ray_address():
    ray.init(address="local", num_cpus=2, num_gpus=2, include_dashboard=False, object_store_memory=200 * 1024 ** 2,
             _node_ip_address="127.0.0.1", log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def bert_models(tmp_path_factory) -> Path:
    from tiny import models_yaml

    return models_yaml(tmp_path_factory.mktemp("bert"), families=("bert",))


def by_path(out: Path) -> dict[Path, dict]:
    return {p.relative_to(out): json.loads(p.read_text()) for p in sorted((out / "results").rglob("seed*.json"))
            if not p.name.endswith(".failed.json")}


def overlapping(recs) -> int:
    """The most units whose [started_at, finished_at] intervals overlap at one moment."""
    edges = sorted([(r["execution"]["started_at"], 1) for r in recs] + [(r["execution"]["finished_at"], -1)
                                                                         for r in recs])
    most = now = 0
    for _, d in edges:
        now += d
        most = max(most, now)
    return most


def test_same_results_on_serial_local_and_ray(ray_address, bert_models, tmp_path):
    """A grid of 4 units: identical result paths and metrics per (job, seed) with 1 thread per job everywhere; on
    Ray two run at a time (2 CPUs, 1 CPU per job)."""
    import torch

    threads = torch.get_num_threads()
    outs = {}
    try:
        for name, flags in (("serial", []), ("local", ["--workers", "2"]), ("ray", ["--executor", "ray"])):
            outs[name] = tmp_path / name
            assert main(["run", "--models", str(bert_models), *GRID, "--output-dir", str(outs[name]),
                         "--threads-per-job", "1", *SMOKE, *flags]) == 0
    finally:
        torch.set_num_threads(threads)
    got = {name: by_path(out) for name, out in outs.items()}
    assert len(got["serial"]) == 4 and got["serial"].keys() == got["local"].keys() == got["ray"].keys()
    for rel, rec in got["serial"].items():
        assert got["local"][rel]["metrics"] == rec["metrics"] == got["ray"][rel]["metrics"]
        assert got["ray"][rel]["validation"] == rec["validation"]
    ray_recs = list(got["ray"].values())
    assert {r["execution"]["executor"] for r in ray_recs} == {"ray"}
    assert len({r["execution"]["pid"] for r in ray_recs}) == 2 and overlapping(ray_recs) <= 2  # two at a time
    assert all((outs["ray"] / rel).with_name(rel.stem + ".log").read_text() for rel in got["ray"])


def test_logical_gpus_give_each_job_its_own_device(ray_address, bert_models, tmp_path):
    out = tmp_path / "o"
    assert main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--seeds", "1,2",
                 "--output-dir", str(out), "--executor", "ray", "--device", "cpu", "--gpus-per-job", "1",
                 "--threads-per-job", "1", "--max-train-samples", "24", "--max-eval-samples", "16",
                 "--max-steps", "400", "--set", "eval_steps=1000", "--quiet"]) == 0  # long enough to overlap
    recs = records(out)
    assert sorted(r["environment"]["cuda_visible_devices"] for r in recs) == ["0", "1"]
    assert overlapping(recs) == 2  # the two ran at once, each on its own logical GPU


def test_more_gpus_or_threads_than_a_node_has_is_an_error(ray_address, bert_models, tmp_path, capsys):
    rc = main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--output-dir", str(tmp_path / "o"),
               "--executor", "ray", "--threads-per-job", "3", *SMOKE])
    assert rc == 2 and "--threads-per-job: 3 CPUs per job, but no node" in capsys.readouterr().err


def test_a_killed_worker_is_retried_and_the_grid_completes(ray_address, bert_models, tmp_path, capsys):
    """...and Ray's own lines about it ('(raylet) A worker died…', 'Task … failed. There are 2 retries remaining')
    go to the output folder's ray-driver.log, without terminal colours, never to the console."""
    out = tmp_path / "o"
    argv = ["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--seeds", "1", "--output-dir", str(out),
            "--executor", "ray", "--threads-per-job", "1", "--max-train-samples", "24", "--max-eval-samples", "16",
            "--max-steps", "300", "--set", "eval_steps=1000", "--quiet"]
    rc: list[int] = []
    runner = threading.Thread(target=lambda: rc.append(main(argv)))
    runner.start()
    (pid,) = _worker_pids(out, 1)
    os.kill(pid, signal.SIGKILL)
    runner.join(timeout=240)
    assert rc == [0]
    (rec,) = records(out)
    assert rec["execution"]["attempts"] == 2 and rec["execution"]["pid"] != pid
    assert not list((out / "results").rglob("*.failed.json"))
    assert len(list((out / "results").rglob("seed1.predictions.jsonl.gz"))) == 1
    _no_partial_files(out)
    console = "".join(capsys.readouterr())
    assert "retries remaining" not in console and "(raylet)" not in console and "\x1b[" not in console
    ray_log = (out / "ray-driver.log").read_text()
    assert "retries remaining" in ray_log and "\x1b[" not in ray_log


def test_cli_joins_the_instance_and_a_rerun_skips_finished_jobs(ray_address, bert_models, tmp_path):
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "harness", "run", "--models", str(bert_models), *GRID, "--output-dir", str(out),
           "--executor", "ray", "--ray-address", ray_address, "--threads-per-job", "1", "--max-train-samples", "24",
           "--max-eval-samples", "16", "--max-steps", "150", "--set", "eval_steps=1000", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = _worker_pids(out, 1, timeout=180)
    deadline = time.monotonic() + 180
    while not records(out) and time.monotonic() < deadline:  # interrupt after the first result
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - t0 < 20, err[-2000:]
    assert all(_gone(p) for p in pids)
    _no_partial_files(out)
    done = len(records(out))
    assert 1 <= done < 4
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{4 - done} succeeded, {done} already done, 0 failed" in rerun.stdout


def test_a_job_whose_worker_keeps_dying_gets_a_failed_record(ray_address, bert_models, tmp_path):
    from harness import catalog
    from harness.plan import RunOptions, plan
    from harness.models import load_models_file
    from harness.execute.base import ExecOptions
    from harness.execute.driver import run_grid

    out = tmp_path / "o"
    opts = RunOptions(output_dir=out, seeds=(1,), max_train_samples=24, max_eval_samples=16,
                             cli_train={"max_steps": 300, "eval_steps": 1000}, progress=False)
    jobs, _ = plan(load_models_file(bert_models), [catalog.discover()["demo_sentiment"]], opts)
    counts: list[dict] = []
    driver = threading.Thread(target=lambda: counts.append(
        run_grid(jobs, opts, ExecOptions(executor="ray", threads_per_job=1, max_retries=0))))
    driver.start()
    (pid,) = _worker_pids(out, 1)
    os.kill(pid, signal.SIGKILL)
    # an infrastructure failure runs once more at the end of the grid (a fresh executor): its worker dies too
    deadline = time.monotonic() + 180
    while not (again := _worker_pids(out, 1) - {pid}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert again, "the lost job did not run once more"
    os.kill(again.pop(), signal.SIGKILL)
    driver.join(timeout=180)
    (c,) = counts
    assert (c["done"], c["skipped"], c["failed"], c["failed:infrastructure"], c["retried"], c["recovered"]) == \
        (0, 0, 1, 1, 1, 0)
    (failed,) = (out / "results").rglob("seed1.failed.json")
    failure = json.loads(failed.read_text())["failure"]
    err = failure["reason"]
    assert err.startswith("Ray task lost after 0 retries") and "\n" not in err
    assert failure["kind"] == "infrastructure" and "WorkerCrashedError" in err
    assert not list((out / "results").rglob("seed1.json"))


def test_search_on_ray_asks_a_round_of_what_fits(ray_address, bert_models, tmp_path):
    """Optuna asks as many trials per round as the cluster runs at once (2 logical GPUs at 1 per job), and the
    trials and the chosen setting run as Ray tasks."""
    from harness.execute.base import ExecOptions
    from harness.execute.executors import concurrency
    from harness.plan import RunOptions

    eopts = ExecOptions(executor="ray", gpus_per_job=1.0, threads_per_job=1)
    assert concurrency(eopts, RunOptions(output_dir=tmp_path)) == 2
    assert concurrency(ExecOptions(executor="ray", gpus_per_job=0.5, threads_per_job=1),
                       RunOptions(output_dir=tmp_path)) == 2  # 2 CPUs at 1 per job bound it first
    out = tmp_path / "o"
    assert main(["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--seeds", "1",
                 "--search", "learning_rate=1e-4,1e-3", "--search-trials", "2", "--executor", "ray",
                 "--gpus-per-job", "1", "--threads-per-job", "1", "--output-dir", str(out), *SMOKE]) == 0
    recs = list(by_path(out).values())
    assert sorted(r["search"]["role"] for r in recs) == ["chosen", "trial", "trial"]
    assert {r["execution"]["executor"] for r in recs} == {"ray"}
    # GPU tasks reuse their workers (max_calls = JOBS_PER_WORKER; Ray's default for GPU tasks is a fresh one each)
    assert len({r["execution"]["pid"] for r in recs}) < len(recs)


def test_attempts_in_flight_follow_their_heartbeats(monkeypatch):
    """The driver's view of running attempts: a Started per attempt (a retry is a new one), a Stopped when an
    attempt stops beating or its node dies, never a second report of the same attempt."""
    from harness.execute.base import Started, Stopped
    from harness.execute.executors import ray as rex

    beats: dict[str, bytes] = {}

    class Store:
        def items(self, prefix):
            return {k: v for k, v in beats.items() if k.startswith(prefix)}

    class FakeRay:
        dead: list[dict] = []

        def nodes(self):
            return [{"NodeID": "deadbeef0000ffff", "Alive": False}] if self.dead else []

    def beat(uid, attempt, n, node="aaaaaaaaaaaa"):
        beats[f"run/{uid}"] = json.dumps({"where": {"attempts": attempt, "node_id": node, "pid": 7}, "beat": n})

    monkeypatch.setattr(rex, "_Store", Store)
    monkeypatch.setattr(rex, "NODES_EVERY_S", 0.0)
    watch, fake = rex._Attempts(FakeRay(), "run"), FakeRay()
    watch.ray = fake
    beat(1, 1, 1)
    beat(2, 1, 1, node="deadbeef0000")
    assert [type(e) for e in watch.poll()] == [Started, Started]
    beat(1, 1, 2)
    assert list(watch.poll()) == []  # beating: still running, not reported again
    fake.dead = [1]
    assert [(type(e), e.uid, e.why) for e in watch.poll()] == [(Stopped, 2, "node lost")]
    assert list(watch.poll()) == []  # the lost attempt's last beat is not a new start
    monkeypatch.setattr(rex, "LOST_AFTER_S", 0.0)
    assert [(type(e), e.uid, e.why) for e in watch.poll()] == [(Stopped, 1, "worker lost")]
    beat(1, 2, 1)  # Ray's retry
    (again,) = list(watch.poll())
    assert isinstance(again, Started) and again.uid == 1 and again.where["attempts"] == 2
    watch.ended(1)
    beat(1, 2, 2)
    assert list(watch.poll()) == []


def test_the_bar_names_nodes_by_id_and_counts_only_running_attempts(tmp_path):
    from harness.execute.driver import GridBar, where_label

    assert where_label({"host": "gpu-a", "node": "10.0.0.5", "node_id": "3f2a9c1b77aa", "cuda_visible_devices": "1"}) \
        == "node 3f2a9c (gpu-a)/gpu1"
    assert where_label({"host": "laptop", "cuda_visible_devices": None}) == "laptop"

    class U:
        def __init__(self, uid):
            self.uid, self.label = uid, f"job {uid}"

    bar = GridBar(3, 0, enabled=False)
    bar.started(U(1), {"host": "h", "node_id": "aaaaaaaaaaaa"})
    bar.started(U(2), {"host": "h", "node_id": "bbbbbbbbbbbb"})
    bar.stopped(U(2))  # its worker was lost: no longer running
    bar.started(U(1), {"host": "h", "node_id": "cccccccccccc"})  # a retry elsewhere replaces the attempt
    assert list(bar.running.values()) == ["job 1 @node cccccc (h)"]
    bar.close()


def test_probe_failure_says_what_failed_on_the_node():
    from harness.execute.probe import probe_failure

    class RayTaskError(Exception):
        pass

    unpickle = RayTaskError("RuntimeError('The remote function failed to import on the worker. This may be because "
                            "needed library dependencies are not installed...\n\nTraceback (most recent call last):\n"
                            "  File \"function_manager.py\", line 314, in fetch_and_register_remote_function\n"
                            "ModuleNotFoundError: No module named 'harness'\n')")
    said = probe_failure(unpickle)
    assert said.startswith("cannot import harness: ModuleNotFoundError: No module named 'harness'; every node needs "
                           "the checkout on its PYTHONPATH")
    assert probe_failure(RayTaskError("Traceback ...\nOSError: [Errno 28] No space left on device")) == \
        "the probe failed there: OSError: [Errno 28] No space left on device"

    class NodeDiedError(Exception):
        pass

    assert probe_failure(NodeDiedError("the node died")) == "the probe task was lost (NodeDiedError: the node died)"


def test_job_logs_show_the_carried_environment_without_secrets():
    from harness.execute.base import carried_env, env_summary

    env = {"HF_HOME": "/cache/hf", "HF_TOKEN": "hf_secret", "OMP_NUM_THREADS": "4", "PATH": "/bin",
           "HUGGING_FACE_HUB_TOKEN": "x", "TRANSFORMERS_OFFLINE": "1", "AWS_SECRET_ACCESS_KEY": "k"}
    assert set(carried_env(env)) == {"HF_HOME", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OMP_NUM_THREADS",
                                     "TRANSFORMERS_OFFLINE"}
    assert env_summary(env) == ("HF_HOME=/cache/hf, HF_TOKEN=(set), HUGGING_FACE_HUB_TOKEN=(set), OMP_NUM_THREADS=4, "
                                "TRANSFORMERS_OFFLINE=1")
