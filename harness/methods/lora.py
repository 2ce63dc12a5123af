"""lora: low-rank adapters (peft LoRA) on the base model's attention projections; only they and the task head train.

The base model's weights stay frozen. Which modules LoRA wraps is `lora_target_modules`, by default the family's
(`lora.target_modules` in harness/families.yaml: BERT / ERNIE / ALBERT attention query and value, T5 q and v); the
task head (`Adapter.head_modules`) trains in full; T5 has none (its LM head stays frozen). A checkpoint holds the
adapter (adapter_model.safetensors, adapter_config.json naming the base model and its revision), the model's
config.json and the tokenizer; where the base cannot be fetched again (a local folder, a python: package, random
init) it also holds the merged model under merged/. Loading merges the adapter into the base: predict, export
(ONNX) and the app see a plain transformers model.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..errors import HarnessError, did_you_mean
from .base import Method, register

if TYPE_CHECKING:
    from ..specs import ModelSpec, TaskSpec
    from ..trainconfig import TrainConfig

log = logging.getLogger(__name__)
ADAPTER_FILE = "adapter_model.safetensors"
MERGED_DIR = "merged"  # the merged model, where the base cannot be fetched again
FREEZE_OPTIONS = ("freeze_embeddings", "freeze_layers", "freeze_all_but_head")  # the base is frozen already


def origin(model: "ModelSpec", task: "TaskSpec", cfg: "TrainConfig", opt: str) -> str:
    """Where an option's value was set, for an error line: the models file's or the task YAML's field whose value
    it is (highest precedence first), else the command line."""
    from .. import models
    from ..trainconfig import TrainOverrides

    value = getattr(cfg, opt)
    levels = ((model.tasks.get(task.name), f"models file: field 'models.{model.name}.tasks.{task.name}.{opt}'"),
              (model.train, f"models file: field 'models.{model.name}.train.{opt}'"),
              (task.train, f"task {task.name} (YAML): field 'train.{opt}'"),
              (models.family(model).train, f"harness/families.yaml: field '{model.family}.train.{opt}'"))
    for level, where in levels:
        values = (level.values if isinstance(level, TrainOverrides) else level) or {}
        if opt in values and type(cfg)(**{opt: values[opt]}).model_dump()[opt] == cfg.model_dump()[opt]:
            return where
    return f"--set: field '{opt}'" if value is not None else f"train: field '{opt}'"


def target_modules(model: "ModelSpec", cfg: "TrainConfig", task: Optional["TaskSpec"] = None
                   ) -> tuple[tuple[str, ...], str]:
    """The modules LoRA wraps and where that list comes from (for error lines; `task` names the level)."""
    from .. import models

    if cfg.lora_target_modules is not None:
        where = origin(model, task, cfg, "lora_target_modules") if task is not None else \
            "train: field 'lora_target_modules'"
        return cfg.lora_target_modules, where
    default = models.family(model).lora.target_modules
    where = f"harness/families.yaml: field '{model.family}.lora.target_modules'"
    if not default:
        raise HarnessError(f"{where}: no default LoRA target modules for family {model.family}; set "
                           "lora_target_modules")
    return tuple(default), where


def _width(module: Any) -> int:
    """The most a LoRA rank can use on a layer: the smaller of its input and output sizes."""
    import torch

    if isinstance(module, torch.nn.Embedding):
        return min(module.num_embeddings, module.embedding_dim)
    if isinstance(module, torch.nn.Linear):
        return min(module.in_features, module.out_features)
    return min(module.weight.shape)  # Conv1D: (in, out)


def _supported(module: Any) -> bool:
    """Layers peft's LoRA wraps here: linear layers (and GPT-2 style Conv1D) and embeddings."""
    import torch
    from transformers.pytorch_utils import Conv1D

    return isinstance(module, (torch.nn.Linear, torch.nn.Embedding, Conv1D))


@contextlib.contextmanager
def _quiet_peft():
    """peft 0.21 reads a transformers attribute that warns it is deprecated (FutureWarning) on every wrap."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing", category=FutureWarning)
        yield


def _matches(name: str, target: str) -> bool:
    """peft's rule for a target given as a name: the module's full name or a dotted suffix of it."""
    return name == target or name.endswith("." + target)


class Lora(Method):
    name = "lora"
    adapter_role = "head"
    options = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules")
    summary = "low-rank adapters (peft LoRA) on the attention projections and the task head train; the base is frozen"

    def check(self, model: "ModelSpec", task: "TaskSpec", tokenizer: Any, cfg: "TrainConfig",
              family_adapter: str) -> Optional[str]:
        """Freeze options do not combine with LoRA; every target module must be a layer of the base model (found on
        the model built from its config on the meta device: no weights are loaded)."""
        import torch

        from .. import models
        from ..trainconfig import TrainConfig

        where = f"model {model.name}, task {task.name}, method {self.name}"
        for opt in FREEZE_OPTIONS:
            if getattr(cfg, opt) != TrainConfig.model_fields[opt].default:
                raise HarnessError(f"{origin(model, task, cfg, opt)}: the lora method freezes the whole base model "
                                   f"already ({where})")
        reason = super().check(model, task, tokenizer, cfg, family_adapter)  # the adapter's own (T5 label words)
        if reason:
            return reason
        targets, source = target_modules(model, cfg, task)
        adapter = self.make_adapter(family_adapter, task, tokenizer, cfg)
        with torch.device("meta"):
            meta = adapter.auto_class.from_config(models.model_config(model, tokenizer, **adapter.model_kwargs()))
        head = adapter.head_modules(meta)
        layers = {n: m for n, m in meta.named_modules() if n and n.split(".")[0] not in head}
        wrappable = sorted({n.rsplit(".", 1)[-1] for n, m in layers.items() if _supported(m)})
        for target in targets:
            found = [m for n, m in layers.items() if _matches(n, target)]
            if any(_matches(n, target) for n, _ in meta.named_modules() if n.split(".")[0] in head):
                problem = "is the task head, which trains in full; LoRA wraps layers of the base model"
            elif not found:
                problem = f"is not a layer of {model.name} ({type(meta).__name__})"
            elif not all(_supported(m) for m in found):
                kinds = ", ".join(sorted({type(m).__name__ for m in found if not _supported(m)}))
                problem = f"names {kinds} modules of {model.name}; LoRA wraps linear and embedding layers"
            else:
                continue
            raise HarnessError(f"{source}: '{target}' {problem}{did_you_mean(target, wrappable)} ({where})")
        narrowest = min(((_width(m), n) for n, m in layers.items() if any(_matches(n, t) for t in targets)),
                        default=None)
        if narrowest is not None and cfg.lora_r > narrowest[0]:
            raise HarnessError(f"{origin(model, task, cfg, 'lora_r')}: {cfg.lora_r} is above the width of the "
                               f"narrowest layer LoRA wraps ({narrowest[1]}: {narrowest[0]}); expected 1 to "
                               f"{narrowest[0]}: a wider rank adds parameters, not capacity ({where})")
        return None

    def build(self, adapter: Any, model: "ModelSpec", tokenizer: Any, seed: int) -> Any:
        """The family's model with its new task head, wrapped by peft: LoRA on the target modules, the head
        trained in full (modules_to_save), everything else frozen."""
        from peft import LoraConfig, get_peft_model

        from .. import models

        base = super().build(adapter, model, tokenizer, seed)
        cfg = adapter.cfg
        head = list(adapter.head_modules(base))
        config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                            target_modules=list(target_modules(model, cfg)[0]), modules_to_save=head or None)
        with _quiet_peft():
            wrapped = get_peft_model(base, config)
        log.info("LoRA r=%d alpha=%g dropout=%g on %s; trained in full: %s", cfg.lora_r, cfg.lora_alpha,
                 cfg.lora_dropout, ", ".join(sorted(config.target_modules)), ", ".join(head) or "no task head")
        saved = wrapped.peft_config["default"]
        saved.base_model_name_or_path, saved.revision = model.id, model.revision  # as models.yaml names it
        wrapped.harness_portable = not models.from_hub(model)  # save() writes merged weights too
        return wrapped

    def save(self, path: Path, model: Any, tokenizer: Any) -> int:
        """The adapter (with the trained head), the model's config.json and the tokenizer; merged/ where the base
        cannot be fetched again. Returns the adapter file's bytes (merged/ is a convenience copy, not counted)."""
        path.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(path, save_embedding_layers=False)
        (path / "README.md").unlink(missing_ok=True)  # peft's empty model-card template
        model.get_base_model().config.save_pretrained(path)  # labels and sizes: the loader and ONNX read it
        tokenizer.save_pretrained(path)
        if getattr(model, "harness_portable", True):
            merged = copy.deepcopy(model).merge_and_unload()
            merged.save_pretrained(path / MERGED_DIR)
        return (path / ADAPTER_FILE).stat().st_size

    def load(self, folder: Path, adapter: Any) -> Any:
        """The merged model: merged/ when the checkpoint has it, else the base model (loaded as for training:
        the Hub id at its revision) with the adapter merged in."""
        if (folder / MERGED_DIR / "config.json").is_file():
            return super().load(folder / MERGED_DIR, adapter)
        from peft import PeftModel

        from .. import models
        from ..record import CheckpointInfo
        from ..specs import ModelSpec

        info = CheckpointInfo.read(folder / "harness_job.json")
        try:
            spec = ModelSpec(**info.model)
            base = models.load_model(spec, adapter.auto_class, adapter.tok, info.seed, **adapter.model_kwargs())
            with _quiet_peft():
                model = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
        except HarnessError as e:
            raise HarnessError(f"checkpoint: {folder}: has no {MERGED_DIR}/ and its base model cannot be loaded "
                               f"({e})") from None
        except Exception as e:  # noqa: BLE001 - peft and transformers raise many types; report one line
            raise HarnessError(f"checkpoint: {folder}: cannot load the LoRA adapter ({type(e).__name__}: "
                               f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
        return adapter.prepare_model(model)


LORA = register(Lora())
