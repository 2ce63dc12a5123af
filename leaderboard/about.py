"""The About / methodology tab: what the columns mean, how cells, the decision and marks are computed, the
tokenizer-fit warning, task caveats and licences, and when the results were last updated. Pure text from the data
(no Gradio)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from .columns import TUNED_MARK, UNK_WARN
from .data import AppData
from .decision import LEVEL, MAX_MORE, N_RESAMPLES
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
               "it: significance against the next-ranked row shown (≈ > <, from the decision's resamples), ⚠UNK "
               "(tokenizer fit), " + TUNED_MARK + " (a search chose the setting)."),
    ("BENCH P(best), TASK P(best)", "the share of resamples in which the row is best on the benchmark average / "
                                    "the task, among the rows shown (the decision, below); — a row that takes no "
                                    "part (no saved predictions, a task missing or failed). The toggle *P(best) "
                                    "and rank intervals* shows or hides these columns; the benchmark averages' by "
                                    "default, each task's with *… for each task too*."),
    ("BENCH rank 95%, TASK rank 95%", "the 2.5–97.5% range of the row's rank over the resamples, among the rows "
                                      "shown ('1–3'; one number when both ends agree)."),
    ("family, params", "the model family and its parameter count (the row's first task: task heads differ)."),
    ("trainable params, checkpoint MB", "what the method trains and saves (LoRA: the adapter and head)."),
    ("max UNK rate", "the largest share of a task's tokens the tokenizer maps to [UNK] across the row's tasks."),
    ("p50 latency ms", "the median over the row's tasks of its kept checkpoint's single-input CPU latency (below)."),
)

LATENCY_TEXT = (
    "Each kept checkpoint is timed apart from training, one at a time, by `python -m harness latency` (and by `run` "
    "once its training is over): torch on CPU with one thread, 10 untimed predictions, then 50 timed ones of the "
    "task's median-length test input (tokenize, forward, decode: what one playground request costs). The figure is "
    "the median (p50); p95 and the spread are in the latency plot's hover, and the machine (CPU, cores, load when "
    "it began) under the plot. Figures from different machines do not compare; a row without one was not timed. "
    "A figure timed inside training (older result files) is not used: it measured the machine's load.")


DECISION_TEXT = (
    "Above the table, per benchmark average (or per task where a benchmark has none), one paragraph says whom to "
    "pick, how sure that is, what the runner-up would cost and what would settle it. It is the decision **over the "
    "rows shown**: a filter is a constraint (\"≤ 100 M parameters, Apache-2.0\" decides among those rows), so a "
    "filter that hides the leader changes it.\n\n"
    f"**What is resampled.** {N_RESAMPLES:,} joint resamples (a paired bootstrap): per task, the test examples "
    "shared by the rows (joined by example id) are drawn with replacement, the same draw for every row (paired); on "
    "top, each row's runs (seeds, within each fold) are drawn with replacement. A row's task score on a resample is "
    "the mean of its fold means over the drawn runs, each run scored on the drawn examples by the task's own metric "
    "(with k runs, the drawn mean's distance from the mean of all k is stretched by √(k/(k−1)): a plain draw of k "
    "runs varies (k−1)/k as much as a mean of k seeds does, too little with 2 or 3 seeds); "
    "a benchmark average is the mean of the row's resampled task scores. **What is not resampled**: the training "
    "data (each run keeps the training set it was trained on; a new training sample could move every score) and "
    "the hyperparameters (fixed ones as set; where a search chose them, its chosen setting is taken as given: the "
    "search on the validation split is not redone per resample), nor other test sets of the same task.\n\n"
    "**P(best)**: the share of resamples in which the row is best, in the scope's direction; rows tied for best on "
    f"a resample share it equally. **The {LEVEL:.0%} set for the best**: the fewest rows, highest P(best) first, "
    f"whose P(best) sums to at least {LEVEL:.2f}: the rows that cannot yet be ruled out. **Rank interval (rank "
    "95%)**: the 2.5–97.5% range of the row's rank over the resamples. **Expected regret**: the mean over resamples "
    "of (best score − the row's score), in points (the table's ×100 units): what picking that row costs on "
    "average.\n\n"
    "**Seeds to separate**: with the observed per-seed spread s² of each row (within folds), the current gap and "
    "the test-set noise τ² of the gap (its variance over the example resamples alone), the fewest extra runs m per "
    "row such that gap ≥ 1.645·sqrt(s²_A/(k_A+m) + s²_B/(k_B+m) + τ²), where k is a row's runs per fold: one-sided "
    "95%, the point at which the runner-up's P(best) would fall under 0.05 under a normal approximation. \"—\" when "
    "the gap is below 1.645·τ: more runs of the same setup cannot separate the rows, only more test examples can; "
    f"\"?\" with one run per cell (the seed spread is unknown); \"> {MAX_MORE}\" beyond {MAX_MORE}; 0 for a row "
    "already outside the set.\n\n"
    "Rows without saved test predictions on a task, or without every task of a benchmark (partial, failed), take "
    "no part in that decision and are named as left out; a folder without prediction files shows no decision (—). "
    "The Details tab shows, for a cell, the spread of the row's rank and of its gap to the leader over the "
    "resamples.")


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
        "## The decision",
        DECISION_TEXT,
        "## Significance marks",
        SIG_NOTE + " The interval is a 95% percentile interval of the difference over the resamples; it says "
        "nothing about other test sets or other training data.",
        "## Latency",
        LATENCY_TEXT,
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
