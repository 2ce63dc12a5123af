"""The Compare, Playground and About tabs' layout and events (handlers: webapp.handlers.Handlers)."""
from __future__ import annotations

from typing import Any

import gradio as gr

from leaderboard.about import about_markdown
from leaderboard.compare import right_choices

from .page import Mount, Tab, pick
from .state import View
from .wiring import as_tuple, bound, event, flat


def _boxes(n: int, prefix: str) -> list[Any]:
    return [gr.Textbox(label="text", value="", lines=3 if i == 0 else 2, elem_id=f"{prefix}-{chr(97 + i)}")
            for i in range(n)]


def _task_tab(m: Mount, task: Any, on_task: dict[str, Any], handler: Any, pickers: dict[Any, Any]) -> Tab:
    """A tab driven by a task picker: ``on_task`` (by name) is what its task change updates, through ``handler``
    (task, view) -> dict by name; ``pickers``: component -> view -> the values a refresh offers it."""
    event(task.change, handler, {"task": task}, on_task, api_visibility="private")
    event(m.demo.load, handler, {"task": task}, on_task, api_visibility="private")

    def redraw(view: View, kept: dict[str, Any]) -> dict[Any, Any]:
        tasks = view.data.tasks
        chosen = pick(kept.get("task"), tasks)
        return {task: gr.Dropdown(choices=tasks, value=chosen),
                **dict(zip(flat(on_task), as_tuple(on_task, handler(chosen, view))))}

    return Tab(keep={"task": task}, outputs=[task, *flat(on_task)], redraw=redraw,
               choices=lambda view: [(comp, values(view)) for comp, values in pickers.items()])


def compare_tab(m: Mount) -> Tab:
    h, view = m.h, m.view
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
    chosen = {"task": task, "models": models}
    event(run.click, h.compare_pending, chosen, {"msg": msg}, api_visibility="private").then(
        *bound(h.compare_run, {**chosen, "boxes": boxes}, {"out": out, "msg": msg}, "msg"), api_name="compare")
    event(list_btn.click, h.compare_examples, {**chosen, "right": right}, {"table": table, "summary": summary},
          "summary", api_name="disagreements")
    models.change(lambda labs: gr.Dropdown(choices=right_choices(labs or []), value="any"), models, right,
                  api_visibility="private")
    on_task = {"models": models, "boxes": boxes, "caveat": cav, "right": right, "run": run}
    return _task_tab(m, task, on_task, h.compare_task,
                     {task: lambda v: v.data.tasks, models: lambda v: v.labels})


def playground_tab(m: Mount) -> Tab:
    h, view = m.h, m.view
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
    chosen = {"task": task, "checkpoint": ckpt}
    event(run.click, h.predict_pending, chosen, {"msg": msg}, api_visibility="private").then(
        *bound(h.predict, {**chosen, "boxes": boxes}, {"msg": msg, "label": label, "spans": spans, "latency": lat},
                "msg"), api_name="predict")
    event(example.change, h.fill_example, {"task": task, "example": example}, {"boxes": boxes},
          api_visibility="private")
    on_task = {"checkpoint": ckpt, "boxes": boxes, "example": example, "caveat": cav, "run": run, "label": label,
               "spans": spans}
    return _task_tab(m, task, on_task, h.playground_task, {task: lambda v: v.data.tasks})


def about_tab(m: Mount) -> Tab:
    """What the numbers mean and how they are made (leaderboard.about), for the shown data."""
    view = m.view
    about = gr.Markdown(about_markdown(view.data, view.label, view.sample), elem_id="about")
    return Tab(outputs=[about], redraw=lambda v, kept: {about: about_markdown(v.data, v.label, v.sample)})

