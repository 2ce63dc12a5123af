"""Model cards for pushed checkpoints, built with huggingface_hub's card classes (ModelCardData + EvalResult, so the
Hub's model-index is valid); the metadata is never written by hand.

Metadata: model-index with the seed mean of every score of the configuration (the main score first, under its
metric's id; a composite main score by its parts), task type from the task kind (TaskKind.hub_task_type), the
dataset as a Hub id / config / split only when the scored split is exactly that Hub split (else the task name and
split "local", the source in the body), `base_model` (a Hub id only), `library_name` (transformers; peft for a LoRA
adapter), `pipeline_tag` (the adapter's, e.g. a prompt's fill-mask, else the task kind's; only a pipeline the
installed transformers has), tags (the method, model-chooser, the task, the benchmark) and `license` only when the
base model's is known. The body: the per-seed table, the intended use and limitations (untrained baseline, [UNK]
share, truncation, seed spread, local split, the task's caveats), data (source, carve, fingerprint, licence),
training configuration, environment and the command that reproduces the job.
"""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..rerun import reproduce

if TYPE_CHECKING:
    from ..record import ResultRecord
    from .plan import Checkpoint

NON_COMMERCIAL = re.compile(r"non-commercial|noncommercial|\bNC\b|-NC-", re.IGNORECASE)
LANGUAGES = {"multi": "multilingual"}  # TaskSpec.language -> the Hub's language tag (en, zh are already)
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "multi": "English and Chinese"}  # for people


def hub_split(rec: "ResultRecord") -> Optional[dict[str, Optional[str]]]:
    """The Hub dataset split the record was scored on, when it is exactly one ({path, name, split, revision}):
    a Hub source whose test split was named, not carved; else None (a local substitute or a carve)."""
    data = rec.data
    src = data.source if data else {}
    carved = bool(data and data.carve and "test" in data.carve.get("into", []))
    if not data or src.get("type") != "hub" or carved or data.evaluated_split != "test" or "test" not in src.get(
            "splits", {}):
        return None
    return {"path": src.get("path"), "name": src.get("name"), "split": src["splits"]["test"],
            "revision": src.get("revision")}


def _mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 4)


def _seeds(n: int) -> str:
    return f"{n} seed" + ("s" if n != 1 else "")


def score_means(group: list["ResultRecord"]) -> dict[str, float]:
    """Seed mean of every score the configuration's records share ('main' first)."""
    names = [n for n in group[0].metrics if all(n in r.metrics for r in group)]
    names.sort(key=lambda n: n != "main")
    return {n: _mean([r.metrics[n] for r in group]) for n in names}


def _eval_results(ckpt: "Checkpoint") -> list[Any]:
    from huggingface_hub import EvalResult

    from ..kinds import get_kind

    rec = ckpt.record
    info = rec.task_info
    exact = hub_split(rec)
    where = ({"dataset_type": exact["path"], "dataset_name": rec.job.task, "dataset_config": exact["name"],
              "dataset_split": exact["split"], "dataset_revision": exact["revision"]} if exact else
             {"dataset_type": LOCAL_DATASET_TYPE, "dataset_name": rec.job.task, "dataset_split": "local"})
    kind = get_kind(info.kind)
    mains, n = info.main_score, _seeds(len(ckpt.group))
    means = score_means(ckpt.group)
    out = []
    # the main score under its metric's own id; a composite main score (the mean of several) by its parts, first
    # (the Hub knows no metric called "main"); then every other score
    names = ([mains[0]] if len(mains) == 1 else [m for m in mains if m in means]) + \
        [m for m in means if m != "main" and m not in mains]
    for name in names:
        value = means["main"] if len(mains) == 1 and name == mains[0] and "main" in means else means.get(name)
        if value is None:
            continue
        if len(mains) == 1 and name == mains[0]:
            label = f"{name} (main score; mean of {n})"
        elif name in mains:
            label = f"{name} (part of the main score, the mean of {' + '.join(mains)}; mean of {n})"
        else:
            label = f"{name} (mean of {n})"
        out.append(EvalResult(task_type=kind.hub_task_type,
                              task_name=kind.hub_task_type.replace("-", " ").capitalize(), metric_type=name,
                              metric_name=label, metric_value=value, **where))
    return out


# model-index `dataset.type` is a Hub dataset id, and a local task has none: its type is the `datasets` builder that
# reads its files (jsonl.gz: "json", as cards of models trained on local files say), its task name the dataset's name
LOCAL_DATASET_TYPE = "json"


def pipeline_tag(rec: "ResultRecord") -> Optional[str]:
    """The Hub pipeline that runs the saved model: its adapter's (an MLM prompt: fill-mask), else the task kind's (an
    encoder with a task head; None for multiple choice), when the installed transformers has that pipeline (T5's
    text2text-generation and extractive QA's question-answering it no longer has: None)."""
    from ..adapters import adapter_class
    from ..kinds import get_kind
    from ..methods import get_method
    from ..families import FAMILIES

    family = FAMILIES.get(rec.model_info.family) if rec.model_info else None
    role = get_method(rec.job.method).adapter_role
    cls = adapter_class(family.adapter, rec.task_info.kind, role) if family is not None else None
    tag = (cls.pipeline_tag if cls is not None else None) or get_kind(rec.task_info.kind).pipeline_tag
    return tag if tag in transformers_pipelines() else None


def transformers_pipelines() -> frozenset[str]:
    """The pipeline tasks the installed transformers runs (its SUPPORTED_TASKS and their aliases): a card names only
    these (transformers 5 removed text2text-generation and question-answering; the Hub widget of a tag the library
    cannot run would fail)."""
    from transformers.pipelines import SUPPORTED_TASKS, TASK_ALIASES

    return frozenset(SUPPORTED_TASKS) | frozenset(TASK_ALIASES)


def card_data(ckpt: "Checkpoint", license: Optional[str] = None) -> Any:
    """The ModelCardData of a checkpoint's card."""
    from huggingface_hub import ModelCardData

    from ..kinds import get_kind

    rec = ckpt.record
    info = rec.task_info
    exact = hub_split(rec)
    src = rec.data.source if rec.data else {}
    tags = list(dict.fromkeys(["model-chooser", rec.job.method, rec.job.task, info.benchmark]))
    return ModelCardData(
        model_name=ckpt.repo_id.split("/")[1], eval_results=_eval_results(ckpt),
        base_model=ckpt.base_model, library_name="peft" if ckpt.kind == "lora-adapter" else "transformers",
        pipeline_tag=pipeline_tag(rec), license=license, tags=tags,
        language=LANGUAGES.get(info.language, info.language),
        datasets=[src["path"]] if src.get("type") == "hub" and src.get("path") else None)


def _table(rows: list[list[Any]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else ("–" if v is None else str(v))


def _source_text(rec: "ResultRecord") -> str:
    data = rec.data
    src = data.source
    if src.get("type") == "hub":
        where = f"Hub dataset `{src.get('path')}`" + (f", config `{src['name']}`" if src.get("name") else "") + \
            (f" @ `{src['revision']}`" if src.get("revision") else "")
    else:
        where = f"local files (folder `{Path(str(src.get('dir', '?'))).name}`)"
    splits = ", ".join(f"{role}: `{name}`" for role, name in src.get("splits", {}).items())
    text = f"- Source: {where}; splits {splits}" + (f"; fold `{src['fold']}`" if src.get("fold") else "")
    if data.carve:
        c = data.carve
        text += (f"\n- Carved: {', '.join(c.get('into', []))} from `{c.get('from')}` (seed {c.get('seed')}, "
                 f"{c.get('method', '')})")
    exact = hub_split(rec)
    text += ("\n- Scored on exactly the Hub split above (the model-index names it)." if exact else
             "\n- Scored on a local split (a substitute or a carve, not a Hub split as published): the model-index "
             "names the task and the split `local`.")
    return text


def _reproduce(rec: "ResultRecord") -> str:
    """The card's Reproduce section: the models-file entry and the record's command (rebuilt when it holds none)."""
    import shlex

    entry, argv, note = reproduce(rec)
    how = ("The record's command line" if rec.command else
           "Rebuilt from the record's configuration (it holds no command line)")
    return (f"{how}: with this entry in `models.yaml`\n\n```yaml\n{entry}```\n\n```\n{shlex.join(argv)}\n```"
            + (f"\n\n{note}" if note else ""))


def decision_section(decisions: dict[str, Any], rec: "ResultRecord") -> Optional[str]:
    """Where the card's row stands among the study's rows on its task (leaderboard.decision, the same numbers as the
    leaderboard and the app): P(best), rank interval, expected regret, and the task's decision paragraph; None when
    the task has no decision (no saved predictions)."""
    from leaderboard.decision import paragraph

    dec = decisions.get(rec.job.task)
    row = dec.of((rec.job.model, rec.job.revision, rec.job.method)) if dec is not None else None
    if row is None:
        return None
    return (f"On **{rec.job.task}**, among the {len(dec.rows)} rows of this study: P(best) {row.p_best:.2f}, rank "
            f"interval {row.rank_interval} of {len(dec.rows)}, expected regret {row.regret:.2f} points (the mean "
            f"shortfall from the best row, main score ×100), {'inside' if row.in_set else 'outside'} the 95% set for "
            f"the best ({dec.n_resamples:,} joint resamples of the shared test examples and of each row's seeds).\n\n"
            + paragraph(dec))


def _sizes(sizes: dict[str, int]) -> str:
    """'train 64 · validation 32 · test 200'."""
    return " · ".join(f"{role} {n:,}" for role, n in sizes.items()) or "not recorded"


def _trained(rec: "ResultRecord") -> str:
    """'40 optimizer steps (1 epoch)', or '4 optimizer steps (0.5 of the 3 configured epochs: max_steps 4 ended
    training first)' when the steps cap stopped it."""
    steps, epochs = rec.training.steps, rec.training.epochs
    train = rec.config.get("train", {}) if isinstance(rec.config, dict) else {}
    planned, cap = train.get("epochs"), train.get("max_steps")
    text = f"{steps:,} optimizer step{'s' if steps != 1 else ''} ({epochs:g} epoch{'s' if epochs != 1 else ''}"
    if isinstance(planned, (int, float)) and abs(planned - epochs) > 1e-6:
        text = (f"{steps:,} optimizer step{'s' if steps != 1 else ''} ({epochs:g} of the {planned:g} configured "
                f"epochs" + (f": max_steps {cap} ended training first" if cap else ""))
    return text + ")"


def limitations(ckpt: "Checkpoint") -> str:
    """What a user of this checkpoint must know, from what the harness recorded: an untrained baseline, the
    tokenizer's [UNK] share and truncation, the seed spread, a local (not the published) test split, the task's
    caveats and a non-commercial data licence."""
    from ..kinds import get_kind
    from ..text import TRUNCATION_MARK
    from ..text import UNK_WARN

    rec, group = ckpt.record, ckpt.group
    info = rec.task_info
    lines = []
    if rec.model_info is not None and rec.model_info.untrained:
        lines.append("**An untrained baseline** (random initialisation, then the same training): a reference point "
                     "of the study, not a model to use.")
    else:
        what = get_kind(info.kind).description or info.kind
        lines.append(f"Intended use: {what}, on {LANGUAGE_NAMES.get(info.language, info.language)} text like "
                     f"**{rec.job.task}**'s, as scored above. Evaluate it on your own data before relying on it: "
                     "the scores are on this study's splits.")
    stats = [r.tokenizer_stats for r in group if r.tokenizer_stats]
    unk = max((s.get("unk_rate") or 0.0 for s in stats), default=None)
    trunc = max((s.get("truncation_rate") or 0.0 for s in stats), default=None)
    if unk is not None and unk > UNK_WARN:
        lines.append(f"⚠UNK: the tokenizer maps {unk:.0%} of the test inputs' tokens to [UNK] (over {UNK_WARN:.0%}): "
                     "the model did not see much of this text; its scores say little about the model.")
    if trunc is not None and trunc > TRUNCATION_MARK:
        lines.append(f"✂ {trunc:.0%} of the test inputs were longer than max_length and cut.")
    mains = [r.metrics["main"] for r in group]
    if len(mains) > 1:
        lines.append(f"Seed spread: the main score ranges {min(mains) * 100:.1f}–{max(mains) * 100:.1f} (×100) over "
                     f"{len(mains)} seeds; this checkpoint is one of them.")
    else:
        lines.append("One seed only: the seed-to-seed spread of this configuration is unknown.")
    if hub_split(rec) is None:
        lines.append("Scored on a local split (a substitute or a carve), not a published test set: not comparable "
                     "with published leaderboards.")
    lines += [f"Task caveat: {c}" for c in info.caveats]
    if NON_COMMERCIAL.search(info.license):
        lines.append(f"The training data's licence is **non-commercial** ({info.license}): check what it allows for "
                     "a model trained on it.")
    return "\n".join(f"- {line}" for line in lines)


def pipeline_snippet(ckpt: "Checkpoint") -> Optional[str]:
    """Python that runs the published model with plain transformers (`pipeline`), for a full model whose task kind a
    pipeline of the installed transformers serves with one or two texts; None otherwise (a LoRA adapter, a prompt's
    masked LM, T5, multiple choice, QA)."""
    from ..kinds import get_kind

    rec = ckpt.record
    tag = pipeline_tag(rec)
    kind = get_kind(rec.task_info.kind)
    # a prompt checkpoint's tag is fill-mask (its adapter's): not a classifier pipeline, so left out here too
    if ckpt.kind != "model" or tag not in ("text-classification", "token-classification") or \
            len(kind.form) not in (1, 2):
        return None
    example = ('"The film was a pleasure from start to finish."' if len(kind.form) == 1 else
               '{"text": "A man is playing a guitar.", "text_pair": "Someone plays an instrument."}')
    return (f"from transformers import pipeline\n\npipe = pipeline(\"{tag}\", model=\"{ckpt.repo_id}\")\n"
            f"print(pipe({example}))")


def use_section(ckpt: "Checkpoint") -> str:
    """The card's Use section: plain transformers where a pipeline runs the model (pipeline_snippet), and the
    harness's loader, which runs every method's checkpoint (a LoRA adapter, a prompt, T5)."""
    harness = ("```python\nfrom huggingface_hub import snapshot_download\nfrom harness.checkpoint import "
               f"load_checkpoint\n\npath = snapshot_download(\"{ckpt.repo_id}\")\nadapter, model = "
               "load_checkpoint(path)\n```")
    plain = pipeline_snippet(ckpt)
    with_harness = "With the model-chooser harness that trained it (its `harness.checkpoint` module)"
    if plain is None:
        return (f"{with_harness}, which loads every method's checkpoint the way it was trained and scored:\n\n"
                + harness)
    return (f"With plain transformers:\n\n```python\n{plain}\n```\n\n{with_harness}, as it was scored:\n\n"
            + harness)


def card_body(ckpt: "Checkpoint", decision: Optional[str] = None) -> str:
    """The card's Markdown body; ``decision``: the row's place among the study's rows (`decision_section`)."""
    from ..methods import get_method

    rec, group = ckpt.record, ckpt.group
    info, j = rec.task_info, rec.job
    seeds = [r.job.seed for r in group]
    metrics = [n for n in group[0].metrics if n != "main" and [n] != info.main_score]
    rows = [[f"**{r.job.seed}**" if r.job.seed == j.seed else r.job.seed, _fmt(r.metrics.get("main")),
             _fmt((r.validation.metrics or {}).get("main") if r.validation else None),
             *(_fmt(r.metrics.get(m)) for m in metrics)] for r in group]
    mains = [r.metrics["main"] for r in group]
    spread = f" ± {statistics.stdev(mains):.4f} (std)" if len(mains) > 1 else ""
    if len(seeds) == 1:
        chosen = f"Seed {j.seed}, the only seed of this configuration."
    else:
        chosen = (f"Seed {j.seed}: " + ("the seed with the best validation score (never the test score)" if ckpt.best
                                         else "one of the kept seeds") + f" among seeds {', '.join(map(str, seeds))}.")
    base = f"`{ckpt.base_model}`" if ckpt.base_model else f"{rec.model_info.family} family, not on the Hub"
    adapter = ("\n\nThis repo holds a **LoRA adapter** (peft) for the base model " + (f"`{ckpt.base_model}`" if
               ckpt.base_model else f"`{j.model}` (not on the Hub)") +
               " and the trained task head" + ("." if ckpt.base_model else "; `merged/` holds the merged model.")
               if ckpt.kind == "lora-adapter" else "")
    train = rec.config.get("train", {})
    env = rec.environment
    versions = ", ".join(f"{k} {v}" for k, v in (env.get("versions") or {}).items() if v)
    licence_note = (" (**non-commercial** data: check what it allows for a model trained on it)"
                    if NON_COMMERCIAL.search(info.license) else "")
    parts = [
        f"# {ckpt.repo_id.split('/')[1]}",
        f"`{j.model}` ({base}) trained with the **{j.method}** method on the task **{j.task}** ({info.benchmark}, "
        f"{info.language}), published by the model-chooser harness. {chosen}" + adapter,
        "## Scores",
        f"Main score: {' + '.join(info.main_score)} ({info.direction} is better; every score here on the metric's "
        f"own 0–1 scale), on the `{rec.data.evaluated_split}` split: mean {statistics.fmean(mains):.4f}{spread} over {_seeds(len(mains))}.",
        _table(rows, ["seed", "main (test)", "main (validation)", *metrics]),
        *(["## Among the study's models", decision] if decision else []),
        "## Intended use and limitations",
        limitations(ckpt),
        "## Data",
        _source_text(rec) + f"\n- Examples: {_sizes(rec.data.sizes)}\n- Data fingerprint: `{rec.data.fingerprint}`"
        f"\n- Data licence: {info.license}{licence_note} (the task's caveats: under Intended use and limitations)",
        *(["## Method", "\n".join(notes)] if (notes := get_method(j.method).card_notes(
            rec.config.get("task") or {})) else []),
        "## Training configuration",
        f"Configuration hash `{j.config_hash}`; {_trained(rec)}.\n\n"
        "```json\n" + json.dumps(train, indent=1, sort_keys=True) + "\n```",
        "## Environment",
        f"harness {env.get('harness', '?')} (git `{env.get('git_sha')}`), Python {env.get('python', '?')}, "
        f"device {env.get('device', '?')}" + (f" ({env['gpu']})" if env.get("gpu") else "") + f"; {versions}.",
        "## Reproduce",
        _reproduce(rec),
        "## Use",
        use_section(ckpt),
    ]
    return "\n\n".join(parts) + "\n"


# an absolute path (or ~/...) standing alone in text: not part of a URL (https://…), a fraction or a word
LOCAL_PATH = re.compile(r"(?<![\w.:/~])(~?/[^\s'\"`)\]]+)")
CHECKOUT = Path(__file__).resolve().parents[2]  # the harness checkout (harness/publish/cards.py)


def publishable(text: str, root: Path = CHECKOUT) -> str:
    """``text`` with no path of the publisher's machine: a path inside the harness checkout relative to it
    ('./harness/assets/demo-tokenizer', as the shipped files name it), any other absolute path as './' and its last
    part (a local model folder or data file: where it lives is the publisher's business)."""
    def public(m: re.Match) -> str:
        path = m.group(1)
        if path.startswith(f"{root}/"):
            return "./" + path[len(str(root)) + 1:]
        return "./" + (Path(path).name or "LOCAL_PATH")
    return LOCAL_PATH.sub(public, text)


def render_card(ckpt: "Checkpoint", license: Optional[str] = None, decision: Optional[str] = None) -> str:
    """The README.md of a checkpoint's model repo: YAML metadata (from ModelCardData) and the body, with no absolute
    path of the publisher's machine (publishable)."""
    from huggingface_hub import ModelCard

    body = publishable(card_body(ckpt, decision))
    return str(ModelCard(f"---\n{card_data(ckpt, license).to_yaml()}\n---\n\n{body}"))


def sample_card(output_dir: Path, results_repo: str = "ORG/results", checkpoints: str = "best") -> str:
    """The card of the first checkpoint `push` would publish from an output folder, without the Hub (no base
    model licence lookup): for docs/deploy.md."""
    from .plan import make_plan

    from leaderboard.data import load_app_data
    from leaderboard.report import report

    plan = make_plan(Path(output_dir), results_repo, checkpoints, None)
    if not plan.checkpoints:
        raise ValueError(f"{output_dir}: no checkpoint to render a card for")
    decisions = report(load_app_data(output_dir)).decisions
    return render_card(plan.checkpoints[0], decision=decision_section(decisions, plan.checkpoints[0].record))
