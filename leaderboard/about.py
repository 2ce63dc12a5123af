"""The About / methodology tab: what the columns mean, how cells and marks are computed, the tokenizer-fit warning,
task caveats and licences, and when the results were last updated. Pure text from the data (no Gradio)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from .columns import TUNED_MARK, UNK_WARN
from .data import AppData
from .filters import caveats_markdown
from .significance import NOTE as SIG_NOTE
from .table import SCORES_NOTE

COLUMNS = (
    ("model", "the model and, in brackets, the method when it is not plain fine-tuning (`prompt`, `lora`); a "
              "revision other than the model's default is named too. A model on the Hub links to its page at the "
              "revision that was trained."),
    ("BENCH rank", "rank by the benchmark average, in the benchmark's direction (1 = best); only rows with an "
                         "average are ranked."),
    ("BENCH avg", "mean of the row's task scores over every task of the benchmark; `partial (k/n)` when a task "
                        "is missing or failed, `mixed directions` when the tasks disagree on which way is better."),
    ("TASK", "the task's main score ×100: mean ± std over seeds (n runs); few-shot tasks: over folds. Marks after "
               "it: significance (≈ > <), ⚠UNK (tokenizer fit), " + TUNED_MARK + " (a search chose the setting)."),
    ("family, params", "the model family and its parameter count (the row's first task: task heads differ)."),
    ("trainable params, checkpoint MB", "what the method trains and saves (LoRA: the adapter and head)."),
    ("max UNK rate", "the largest share of a task's tokens the tokenizer maps to [UNK] across the row's tasks."),
)


def last_updated(runs: pd.DataFrame) -> str:
    """The newest result's creation time ('2026-12-03 07:12 UTC'), or 'no results'."""
    if runs.empty or "created_at" not in runs:
        return "no results"
    stamp = pd.to_datetime(runs["created_at"], errors="coerce", utc=True).max()
    return "unknown" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d %H:%M UTC")


def about_markdown(data: AppData, source_label: str, sample: bool = False) -> str:
    """The About tab for these results."""
    n_models = len(data.table)
    where = "the bundled sample (tiny, untrained models)" if sample else f"`{source_label}`"
    parts: list[Any] = [
        "## About these results",
        f"Results: {where}: {len(data.runs)} result file(s), {n_models} row(s), {len(data.tasks)} task(s); newest "
        f"result {last_updated(data.runs)}. Every number on this page is computed from the result files and the "
        "saved test predictions; nothing is re-trained or re-scored by a model here.",
        "## Columns",
        "BENCH stands for a benchmark's name (e.g. `clue avg`), TASK for a task's (e.g. `afqmc`).\n\n"
        "| column | meaning |\n|---|---|\n" + "\n".join(f"| {c} | {m} |" for c, m in COLUMNS),
        "## Mean ± std and n",
        SCORES_NOTE,
        "## Significance marks",
        SIG_NOTE + " The interval is a 95% percentile interval of the difference over the resamples; it says "
        "nothing about other test sets or other training data.",
        "## Tokenizer fit",
        f"⚠UNK marks a cell where the model's tokenizer turns over {UNK_WARN:.0%} of the task's tokens into [UNK] "
        "(e.g. an English vocabulary on Chinese text): the model never saw most of the input, so its score there "
        "says little about the architecture. The truncation rate (inputs longer than the maximum length) is in each "
        "cell's details.",
        "## Tasks: licences and caveats",
        "Data licences matter for what you may do with a model trained on the data (C3 and OCNLI are "
        "non-commercial, for example). Filter by licence on the Leaderboard tab.",
        caveats_markdown(data.task_info),
    ]
    return "\n\n".join(parts) + "\n"
