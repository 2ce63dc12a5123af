"""Two Ray nodes on this machine, loopback only (ray.cluster_utils.Cluster): jobs land on both, every result
reaches the driver's folder, and the per-node probe names a node that lacks what the jobs need."""
from __future__ import annotations

import os
import shutil
import sys
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
    cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1, object_store_memory=100 * 1024 ** 2)
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def _models(tmp_path: Path, model_id: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(f"models:\n  - name: m\n    id: {model_id}\n    family: bert\n")
    return path


def test_jobs_land_on_both_nodes_and_results_reach_the_driver(two_nodes, tiny_models, tmp_path):
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


def test_probe_names_the_node_without_the_model_package(two_nodes, tmp_path, capsys):
    rc = main(["run", "--models", str(_models(tmp_path, "python:harness_probe_model")), "--tasks", "demo_sentiment",
               "--output-dir", str(tmp_path / "o"), "--executor", "ray", *SMOKE])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    head, other = _node_ids(two_nodes)
    assert f"({other}): model package 'harness_probe_model' is not installed" in err and head not in err
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
    assert all(f"({n})" in msg for n in _node_ids(two_nodes))
