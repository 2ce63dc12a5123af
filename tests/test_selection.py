"""Checkpoint selection and early stopping act on validation scores only."""
from __future__ import annotations

from types import SimpleNamespace

import torch

from harness import train
from harness.specs import TrainConfig


class Stub:
    """An adapter stand-in whose validation 'predictions' are scripted."""

    def __init__(self, patience=None):
        self.cfg = TrainConfig(early_stopping_patience=patience)
        self.task = SimpleNamespace(name="t")

    def predict(self, model, examples, batch_size):
        return [{"prediction": None} for _ in examples]

    def gold(self, ex):
        return None


def run(scores, patience, monkeypatch):
    it = iter(scores)
    monkeypatch.setattr(train.metrics, "compute", lambda task, p, g: {"main": next(it)})
    cb = train.SelectionCallback(Stub(patience), [{"id": 1}], patience)
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
