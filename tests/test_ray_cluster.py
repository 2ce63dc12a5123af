"""Two Ray nodes on this machine, loopback only (ray.cluster_utils.Cluster): jobs land on both, every result
reaches the driver's folder with the driver's environment, the per-node probe names a node that lacks what the jobs
need (a model package, the data folder, a Hub model, the harness itself), and the faults a cluster has: a node lost
mid-grid loses only its attempts, the head lost ends the run with exit 3 and nothing partial."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray keeps 127.0.0.1 (see test_ray.py)
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage statistics sent anywhere
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-ray.txt)")

from harness import catalog  # noqa: E402
from harness.plan import RunOptions, plan  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.models import load_models_file  # noqa: E402
from harness.errors import HarnessError  # noqa: E402
from harness.execute.base import ExecOptions  # noqa: E402
from harness.execute.driver import run_grid  # noqa: E402
from test_execute import records  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

SMOKE = ["--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "2", "--quiet"]


@pytest.fixture(scope="module")
def model_package(tmp_path_factory):
    """A `python:` model package importable on the head node (and the driver) only."""
    from tiny import build_model

    root = tmp_path_factory.mktemp("pkgs")
    model = build_model("bert", root / "weights")
    (root / "site").mkdir()
    (root / "site" / "harness_probe_model.py").write_text(f"def get_model_path():\n    return {str(model)!r}\n")
    sys.path.insert(0, str(root / "site"))
    yield root / "site"
    sys.path.remove(str(root / "site"))


@pytest.fixture(scope="module")
def two_nodes(model_package):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args=dict(
        node_ip_address="127.0.0.1", num_cpus=1, include_dashboard=False, object_store_memory=100 * 1024 ** 2,
        env_vars={"PYTHONPATH": os.pathsep.join([str(model_package), os.environ.get("PYTHONPATH", "")])}))
    # the second node's workers see no PYTHONPATH: only what Ray hands them (the driver's working directory)
    cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1, object_store_memory=100 * 1024 ** 2,
                     env_vars={"PYTHONPATH": ""})
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="module")
def bert_models(tmp_path_factory) -> Path:
    from tiny import models_yaml

    return models_yaml(tmp_path_factory.mktemp("bert"), families=("bert",))


def _models(tmp_path: Path, model_id: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(f"models:\n  - name: m\n    id: {model_id}\n    family: bert\n")
    return path


def test_jobs_land_on_both_nodes_with_the_drivers_environment(two_nodes, tiny_models, tmp_path, monkeypatch):
    """Set after the nodes started, so only Ray's runtime environment can bring them to a worker; the job log shows
    them, a token as '(set)' only."""
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "17")
    monkeypatch.setenv("HF_TOKEN", "hf_never_in_a_log_3f9a")
    out = tmp_path / "o"
    model_dir = next(m.id for m in load_models_file(tiny_models) if m.name == "tiny-bert")
    assert main(["run", "--models", str(_models(tmp_path, model_dir)), "--tasks", "demo_sentiment",
                 "--seeds", "1,2", "--output-dir", str(out), "--executor", "ray", "--threads-per-job", "1",
                 "--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps", "150",
                 "--set", "eval_steps=1000", "--quiet"]) == 0
    recs = records(out)
    assert len(recs) == 2 and len({r["execution"]["node_id"] for r in recs}) == 2
    for p in (out / "results").rglob("seed*.json"):
        assert p.with_name(p.stem + ".predictions.jsonl.gz").exists() and p.with_name(p.stem + ".log").exists()
        job_log = p.with_name(p.stem + ".log").read_text()
        assert "HF_HUB_DOWNLOAD_TIMEOUT=17" in job_log and "HF_TOKEN=(set)" in job_log
        assert "hf_never_in_a_log" not in job_log
    assert "hf_never_in_a_log" not in "".join(p.read_text() for p in out.rglob("*.log"))


def test_probe_names_the_node_without_the_model_package(two_nodes, tmp_path, capsys):
    rc = main(["run", "--models", str(_models(tmp_path, "python:harness_probe_model")), "--tasks", "demo_sentiment",
               "--output-dir", str(tmp_path / "o"), "--executor", "ray", *SMOKE])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    head, other = _node_ids(two_nodes)
    assert f"node {other} at 127.0.0.1: model package 'harness_probe_model' is not installed" in err
    assert head not in err
    assert not list((tmp_path / "o").rglob("seed*.json"))  # nothing ran


def _node_ids(cluster) -> tuple[str, str]:
    head = cluster.head_node.node_id[:12]
    (other,) = [n["NodeID"][:12] for n in ray.nodes() if n["Alive"] and n["NodeID"][:12] != head]
    return head, other


def test_probe_fails_when_the_nodes_lack_the_data_folder(two_nodes, tiny_models, tmp_path):
    """Planning saw the data folder; by the time the grid starts no node has it: one line naming each node."""
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[1] / "harness" / "tasks" / "demo" / "data" / "demo_sentiment",
                    data / "sentiment")
    task_dir = tmp_path / "tasks"
    task_dir.mkdir()
    (task_dir / "t.yaml").write_text(
        "name: t_local\nlanguage: en\nbenchmark: Other\ngroups: [other]\nkind: single_cls\n"
        "label_names: [negative, positive]\nmetrics: [accuracy]\nmain_score: accuracy\n"
        "sources:\n  - {type: local, dir: sentiment, format: jsonl, splits: {train: train, test: test}}\n")
    opts = RunOptions(output_dir=tmp_path / "o", data_dir=data, max_train_samples=8, max_eval_samples=4,
                             cli_train={"max_steps": 1}, progress=False)
    spec = next(m for m in load_models_file(tiny_models) if m.name == "tiny-bert")
    jobs, _ = plan([spec], [catalog.discover([task_dir])["t_local"]], opts)
    shutil.rmtree(data)
    with pytest.raises(HarnessError) as err:
        run_grid(jobs, opts, ExecOptions(executor="ray"))
    msg = str(err.value)
    assert "\n" not in msg and msg.count(f"folder {data} is missing") == 2
    assert all(f"node {n} at 127.0.0.1" in msg for n in _node_ids(two_nodes))


def test_probe_names_a_hub_model_a_node_cannot_load(two_nodes, tiny_models, tmp_path, monkeypatch):
    """Offline, a Hub model outside a node's cache is one line per node naming it; a cached one passes. The cache
    folder (HF_HUB_CACHE, set after the nodes started) reaches the nodes through the runtime environment."""
    cache = tmp_path / "hub"
    snap = cache / "models--harness-test--cached" / "snapshots" / "0123abc"
    snap.mkdir(parents=True)
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text("0123abc")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    opts = RunOptions(output_dir=tmp_path / "o", max_train_samples=8, max_eval_samples=4, cli_train={"max_steps": 1},
                      progress=False)
    spec = next(m for m in load_models_file(tiny_models) if m.name == "tiny-bert")
    (job,), _ = plan([spec], [catalog.discover()["demo_sentiment"]], opts)
    jobs = [dataclasses.replace(job, model=job.model.model_copy(update={"id": f"harness-test/{name}"}))
            for name in ("cached", "absent")]
    with pytest.raises(HarnessError) as err:
        run_grid(jobs, opts, ExecOptions(executor="ray"))
    msg = str(err.value)
    assert "\n" not in msg and "cached'" not in msg
    assert msg.count(f"Hub model 'harness-test/absent' (revision main) is not in its Hugging Face cache {cache} and "
                     f"HF_HUB_OFFLINE=1") == 2
    assert all(f"node {n}" in msg for n in _node_ids(two_nodes))
    assert not (tmp_path / "o" / "results").exists()


def test_probe_says_a_node_cannot_import_the_harness(two_nodes, bert_models, tmp_path):
    """A driver started outside the checkout (the harness on its own PYTHONPATH only): the node whose workers have
    no PYTHONPATH cannot import it, and the probe says so, not 'no answer'."""
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "--models", str(bert_models), "--tasks",
                           "demo_sentiment", "--output-dir", str(tmp_path / "o"), "--executor", "ray",
                           "--ray-address", two_nodes.address, *SMOKE], cwd=elsewhere, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "Traceback" not in err, err[-3000:]
    assert len([ln for ln in err.splitlines() if not ln.startswith("INFO ")]) == 1, err[-3000:]
    _, other = _node_ids(two_nodes)
    assert (f"node {other} at 127.0.0.1: cannot import harness: ModuleNotFoundError: No module named 'harness'; "
            f"every node needs the checkout on its PYTHONPATH") in err
    assert "no answer" not in err and not list((tmp_path / "o").rglob("seed*.json"))


def _attempts_on(node_id: str, timeout: float = 180) -> dict:
    """The heartbeat of an attempt running on a node (the grid's, in the cluster's key-value store)."""
    from ray.experimental.internal_kv import _internal_kv_get, _internal_kv_list

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key in _internal_kv_list("harness-run-", namespace="harness"):
            value = _internal_kv_get(key, namespace="harness")
            if value and json.loads(value)["where"]["node_id"] == node_id[:12]:
                return json.loads(value)["where"]
        time.sleep(0.2)
    raise AssertionError(f"no attempt ran on node {node_id[:12]} within {timeout} s")


def test_a_lost_node_loses_only_its_attempts(two_nodes, bert_models, tmp_path):
    """A third node joins, takes a job and is removed mid-grid: its attempt runs again elsewhere and the grid
    completes. The grid keeps no actor on the cluster (the old event queue was one: killing it, or losing its node,
    ended the grid)."""
    from ray._private.state import actors

    node = two_nodes.add_node(node_ip_address="127.0.0.1", num_cpus=1, object_store_memory=100 * 1024 ** 2)
    two_nodes.wait_for_nodes()
    out = tmp_path / "o"
    argv = ["run", "--models", str(bert_models), "--tasks", "demo_sentiment", "--seeds", "1,2,3", "--output-dir",
            str(out), "--executor", "ray", "--threads-per-job", "1", "--max-train-samples", "24",
            "--max-eval-samples", "16", "--max-steps", "150", "--set", "eval_steps=1000", "--quiet"]
    rc: list[int] = []
    runner = threading.Thread(target=lambda: rc.append(main(argv)))
    runner.start()
    where = _attempts_on(node.node_id)
    assert not [a for a in actors().values() if a["State"] == "ALIVE"]
    two_nodes.remove_node(node)
    runner.join(timeout=400)
    assert rc == [0]
    recs = records(out)
    assert len(recs) == 3 and not list(out.rglob("*.failed.json"))
    assert node.node_id[:12] not in {r["execution"]["node_id"] for r in recs}
    again = [r for r in recs if r["execution"]["attempts"] == 2]
    assert len(again) == 1 and again[0]["execution"]["pid"] != where["pid"]


def test_losing_the_head_ends_the_run_with_exit_3(bert_models, tmp_path):
    """A cluster of its own (head + one node): the head goes after the first result. One line, exit 3 (not 1, "some
    jobs failed"), the finished result kept, no live log left of the jobs that did not finish."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args=dict(
        node_ip_address="127.0.0.1", num_cpus=1, include_dashboard=False, object_store_memory=100 * 1024 ** 2))
    cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1, object_store_memory=100 * 1024 ** 2)
    out = tmp_path / "o"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "--models", str(bert_models), "--tasks", "demo_sentiment",
             "--seeds", "1,2,3", "--output-dir", str(out), "--executor", "ray", "--ray-address", cluster.address,
             "--threads-per-job", "1", "--max-train-samples", "24", "--max-eval-samples", "16", "--max-steps",
             "100", "--set", "eval_steps=1000", "--quiet"], cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while not records(out) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert records(out), proc.communicate(timeout=60)[1][-3000:]
        cluster.remove_node(cluster.head_node)
        _, err = proc.communicate(timeout=180)
    finally:
        cluster.shutdown()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 3, err[-3000:]
    assert len([ln for ln in lines if ln.startswith("error:")]) == 1 and "Traceback" not in err
    assert "lost the Ray cluster" in err and "rerun the same command" in err
    kept = records(out)
    assert 1 <= len(kept) < 3
    logs = {p.name.removesuffix(".log") for p in (out / "results").rglob("seed*.log")}
    assert logs == {p.name.removesuffix(".json") for p in (out / "results").rglob("seed*.json")}
