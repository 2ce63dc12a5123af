"""The Compare and Playground tabs' layout and events (handlers: webapp.handlers.Handlers)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from leaderboard.compare import right_choices

from .handlers import Handlers, safe
from .state import View


@dataclass
class TaskTab:
    """A tab driven by a task picker: ``task``, and the outputs its task change updates (``on_task``)."""

    task: Any
    on_task: list[Any]
    pickers: list[Any]  # components whose choices a refresh updates (besides the task)


def _boxes(n: int, prefix: str) -> list[Any]:
    return [gr.Textbox(label="text", value="", lines=3 if i == 0 else 2, elem_id=f"{prefix}-{chr(97 + i)}")
            for i in range(n)]


def compare_tab(h: Handlers, view: View) -> TaskTab:
    tasks, labels = view.data.tasks, view.labels
    task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task")
    cav = gr.Markdown()
    models = gr.CheckboxGroup(labels, label="checkpoints (2-4)")
    boxes = _boxes(h.n_boxes, "c")
    run = gr.Button("Run on each checkpoint", elem_id="c-run")
    msg = gr.Markdown(elem_id="c-msg")
    out = gr.Dataframe(interactive=False, label="predictions and latency", elem_id="c-out")
    gr.Markdown("### Saved test examples where they disagree")
    right = gr.Dropdown(right_choices(labels), value="any", label="who was right", allow_custom_value=True)
    list_btn = gr.Button("List disagreements", elem_id="c-list")
    summary = gr.Markdown(elem_id="c-summary")
    table = gr.Dataframe(interactive=False, wrap=True, label="disagreements")
    run.click(h.compare_pending, [task, models], msg, api_visibility="private").then(
        safe(h.compare_run, 2, 1), [task, models, *boxes], [out, msg], api_name="compare")
    list_btn.click(safe(h.compare_examples, 2, 1), [task, models, right], [table, summary], api_name="disagreements")
    models.change(lambda labs: gr.Dropdown(choices=right_choices(labs or []), value="any"), models, right,
                  api_visibility="private")
    on_task = [models, *boxes, cav, right]
    task.change(h.compare_task, task, on_task, api_visibility="private")
    return TaskTab(task, on_task, [models])


def playground_tab(h: Handlers, view: View) -> TaskTab:
    tasks, labels = view.data.tasks, view.labels
    task = gr.Dropdown(tasks, value=tasks[0] if tasks else None, label="task")
    cav = gr.Markdown()
    ckpt = gr.Dropdown(labels, label="checkpoint", allow_custom_value=True)
    example = gr.Dropdown([], label="example input (from the task's test predictions)", allow_custom_value=True)
    boxes = _boxes(h.n_boxes, "g")
    run = gr.Button("Predict", variant="primary", elem_id="g-run")
    msg = gr.Markdown(elem_id="g-msg")
    label = gr.Label(label="class probabilities")
    spans = gr.HighlightedText(label="entities / answer span", combine_adjacent=False)
    lat = gr.Markdown(elem_id="g-lat")
    run.click(h.predict_pending, [task, ckpt], msg, api_visibility="private").then(
        safe(h.predict, 4, 0), [task, ckpt, *boxes], [msg, label, spans, lat], api_name="predict")
    example.change(h.fill_example, [task, example], boxes, api_visibility="private")
    on_task = [ckpt, *boxes, example, cav]
    task.change(h.playground_task, task, on_task, api_visibility="private")
    return TaskTab(task, on_task, [])
