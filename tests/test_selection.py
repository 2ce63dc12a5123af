"""Checkpoint selection and early stopping act on validation scores only."""
from __future__ import annotations

from types import SimpleNamespace

import torch

from harness import train
from harness.trainconfig import TrainConfig


class Stub:
    """An adapter stand-in whose validation 'predictions' are scripted."""

    def __init__(self, patience=None, direction="higher"):
        self.cfg = TrainConfig(early_stopping_patience=patience)
        lower = direction == "lower"
        self.task = SimpleNamespace(name="t", better=lambda a, b: b is None or (a < b if lower else a > b))

    def predict(self, model, examples, batch_size):
        return [{"prediction": None} for _ in examples]

    def gold(self, ex):
        return None

    def inputs(self, ex):
        return {}


def run(scores, patience, monkeypatch, direction="higher"):
    it = iter(scores)
    monkeypatch.setattr(train.metrics, "compute", lambda task, p, g, inputs=None: {"main": next(it)})
    cb = train.SelectionCallback(Stub(patience, direction), [{"id": 1}], patience)
    model = torch.nn.Linear(1, 1)
    stopped_at = None
    for step, _ in enumerate(scores, 1):
        with torch.no_grad():
            model.weight.fill_(step)  # the weights "at" each step
        control = SimpleNamespace(should_training_stop=False)
        cb._evaluate(SimpleNamespace(global_step=step, epoch=float(step)), control, model)
        if control.should_training_stop:
            stopped_at = step
            break
    return cb, stopped_at


def test_best_weights_are_kept(monkeypatch):
    cb, stopped = run([0.5, 0.7, 0.6, 0.65], None, monkeypatch)
    assert stopped is None and cb.best == 0.7 and cb.best_step == 2
    assert float(cb.best_state["weight"]) == 2.0
    assert [h["step"] for h in cb.history] == [1, 2, 3, 4]


def test_early_stopping_after_patience(monkeypatch):
    cb, stopped = run([0.5, 0.7, 0.6, 0.6, 0.9], 2, monkeypatch)
    assert stopped == 4 and cb.best_step == 2


def test_lower_is_better_keeps_the_lowest_and_stops_on_it(monkeypatch):
    """A lower-is-better main score (e.g. mse): the lowest validation score is the best, and patience counts
    evaluations that do not go lower."""
    cb, stopped = run([0.9, 0.4, 0.6, 0.5, 0.1], 2, monkeypatch, direction="lower")
    assert stopped == 4 and cb.best == 0.4 and cb.best_step == 2
    assert float(cb.best_state["weight"]) == 2.0


def test_task_direction_comes_from_its_main_metrics():
    from harness.catalog import validate_task

    src = [{"type": "local", "dir": "x", "splits": {"test": "test"}}]
    lower = validate_task(dict(name="t", language="en", benchmark="b", kind="regression", metrics=["mse", "pearson"],
                               main_score="mse", sources=src))
    assert lower.direction == "lower" and lower.better(0.1, 0.2) and not lower.better(0.3, 0.2)
    higher = lower.model_copy(update={"main_score": "pearson"})
    assert higher.direction == "higher" and higher.better(0.3, 0.2)
    import pytest

    with pytest.raises(ValueError, match="mixes directions"):
        validate_task(dict(name="t", language="en", benchmark="b", kind="regression", metrics=["mse", "pearson"],
                           main_score=["mse", "pearson"], sources=src))
