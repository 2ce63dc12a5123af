"""Resolve a ModelSpec's id (Hub id, local dir, python:<module>, random init) and load it."""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from .config_files import format_validation_error, read_yaml
from .errors import HarnessError
from .families import Family, family_names, get_family
from .specs import ModelsFile, ModelSpec

log = logging.getLogger(__name__)


def load_models_file(path: Path) -> list[ModelSpec]:
    """The models of a models file, each checked as it enters: strict fields, a family the families registry knows
    (the same one-line `file: field 'models.0.family': ...` errors), ./ and ../ paths relative to the file."""
    data = read_yaml(path)
    if not isinstance(data, dict) or "models" not in data:
        raise HarnessError(f"{path}: field 'models': expected a list of models under 'models:'")
    base = Path(path).resolve().parent
    for entry in data["models"] if isinstance(data["models"], list) else []:
        for key in ("id", "tokenizer"):  # ./ and ../ paths are relative to the models file
            if isinstance(entry, dict) and isinstance(entry.get(key), str) and entry[key].startswith(("./", "../")):
                entry[key] = str((base / entry[key]).resolve())
    try:
        return ModelsFile.model_validate(data, context={"families": family_names()}).models
    except ValidationError as e:
        raise HarnessError(format_validation_error(path, e)) from None


def resolve_ref(ref: str, what: str = "id") -> tuple[str, str]:
    """Turn an id form into (what from_pretrained gets, revision label for paths)."""
    if ref.startswith("python:"):
        module = ref.removeprefix("python:")
        try:
            mod = importlib.import_module(module)
        except ImportError:
            raise HarnessError(f"models: field '{what}': python package module '{module}' is not installed "
                               f"(pip install {module.replace('_', '-')})") from None
        if not hasattr(mod, "get_model_path"):
            raise HarnessError(f"models: field '{what}': module '{module}' has no get_model_path()")
        try:
            version = importlib.metadata.version(module.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        return str(mod.get_model_path()), f"py-{version}"
    path = Path(ref).expanduser()
    if path.exists() or ref.startswith((".", "/", "~")):
        if not path.is_dir():
            raise HarnessError(f"models: field '{what}': local model folder '{ref}' does not exist")
        return str(path.resolve()), "local"
    return ref, "main"


def revision_label(spec: ModelSpec) -> str:
    """The <revision> path component of a model's results."""
    if spec.revision:
        return spec.revision
    if spec.init == "random":
        return "random-init"
    return resolve_ref(spec.id)[1]


@lru_cache(maxsize=8)
def load_tokenizer(ref: str, revision: Optional[str]):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(ref, revision=revision, trust_remote_code=False)
    except Exception as e:
        raise HarnessError(f"models: cannot load tokenizer '{ref}' ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:200]})") from None


def tokenizer_for(spec: ModelSpec):
    ref = spec.tokenizer or spec.id
    path, _ = resolve_ref(ref, "tokenizer" if spec.tokenizer else "id")
    return load_tokenizer(path, None if spec.tokenizer else spec.revision)


def family(spec: ModelSpec) -> Family:
    return get_family(spec.family)


def from_hub(spec: ModelSpec) -> bool:
    """Whether the model's weights come from the Hub (not a local folder, a python: package or random init): a
    checkpoint that stores only what was trained on top of them can fetch them again elsewhere."""
    return spec.init == "pretrained" and resolve_ref(spec.id)[1] == "main"


def model_config(spec: ModelSpec, tokenizer, **config_kwargs):
    """The model's transformers config without its weights (random init: the family's small config for this
    tokenizer); config_kwargs as load_model takes them. Cheap: for planning-time checks of module names."""
    from transformers import AutoConfig

    if spec.init == "random":
        cfg = {**family(spec).random_config, **spec.config}
        model_type = cfg.pop("model_type")
        special = {k: getattr(tokenizer, f"{k}_id") for k in ("pad_token", "eos_token", "bos_token")
                   if getattr(tokenizer, f"{k}_id", None) is not None}
        return AutoConfig.for_model(model_type, vocab_size=len(tokenizer),
                                    **{f"{k}_id": v for k, v in special.items()}, **cfg, **config_kwargs)
    return _pretrained(spec, AutoConfig, "the config of ", **config_kwargs)


def _pretrained(spec: ModelSpec, cls: Any, what: str, **kwargs: Any) -> Any:
    """cls.from_pretrained of the model's id at its revision (no remote code); one line naming the model if not."""
    path, _ = resolve_ref(spec.id)
    if not what:  # weights: safetensors only, unless the model says it may be unpickled (weights_only=True)
        kwargs = {"use_safetensors": None if spec.allow_pickle else True, "weights_only": True, **kwargs}
    try:
        return cls.from_pretrained(path, revision=spec.revision, trust_remote_code=False, **kwargs)
    except OSError as e:
        first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        if not what and not spec.allow_pickle and ("safetensors" in str(e) or _pickled_only(path)):
            raise _pickle_refused(spec) from None
        raise HarnessError(f"models: model '{spec.name}': cannot load {what}'{spec.id}' ({first})") from None


def _pickled_only(path: str) -> bool:
    """A local folder with pickled weights and no safetensors."""
    folder = Path(path)
    return folder.is_dir() and any(folder.glob("*.bin")) and not any(folder.glob("*.safetensors"))


def _pickle_refused(spec: ModelSpec) -> HarnessError:
    return HarnessError(f"models: model '{spec.name}': '{spec.id}' has no safetensors weights (pickled .bin files "
                        "can run code when loaded); set 'allow_pickle: true' for this model in the models file to "
                        "load them with torch.load(weights_only=True)")


def check_limits(spec: ModelSpec, tokenizer: Any, cfg: Any, where: str, conf: Any = None) -> None:
    """Planning: training options the model's architecture cannot honour (read from its config, no weights):
    max_length beyond its absolute position embeddings, freeze_layers beyond its layer count."""
    conf = conf if conf is not None else model_config(spec, tokenizer)
    positions = getattr(conf, "max_position_embeddings", None)
    if isinstance(positions, int) and cfg.max_length > positions:
        raise HarnessError(f"{where}: field 'max_length': {cfg.max_length} is above the {positions} positions of "
                           f"model '{spec.name}' (max_position_embeddings); use at most {positions}")
    layers = getattr(conf, "num_hidden_layers", None) or getattr(conf, "num_layers", None)
    if isinstance(layers, int) and cfg.freeze_layers > layers:
        raise HarnessError(f"{where}: field 'freeze_layers': {cfg.freeze_layers} is more than the {layers} layers "
                           f"of model '{spec.name}'")


def check_weights(spec: ModelSpec) -> None:
    """Planning: a local model folder whose weights are pickled only is refused unless the model allows pickle (a
    Hub model is checked when its weights are fetched)."""
    if spec.init == "pretrained" and not spec.allow_pickle and _pickled_only(resolve_ref(spec.id)[0]):
        raise _pickle_refused(spec)


def load_model(spec: ModelSpec, auto_class, tokenizer, seed: int, **config_kwargs):
    """Load pretrained weights through from_pretrained, or build a seeded random-init model."""
    from transformers import set_seed

    set_seed(seed)
    if spec.init == "random":
        return auto_class.from_config(model_config(spec, tokenizer, **config_kwargs))
    return _pretrained(spec, auto_class, "", **config_kwargs)


@dataclass
class ResolvedModel:
    """A model as planning knows it, resolved once per plan: its spec, family and revision label (the <revision>
    path component); its tokenizer is loaded on first use (a plan whose jobs are all done loads none: transformers
    takes seconds to import) and its transformers config on the first limits check."""

    spec: ModelSpec
    family: Family
    revision: str
    _tokenizer: Any = field(default=None, repr=False)
    _config: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer (loaded once; an unloadable one is a one-line HarnessError)."""
        if self._tokenizer is None:
            self._tokenizer = tokenizer_for(self.spec)
        return self._tokenizer

    def check_limits(self, cfg: Any, where: str) -> None:
        """check_limits against this model's config (read once)."""
        if self._config is None:
            self._config = model_config(self.spec, self.tokenizer)
        check_limits(self.spec, self.tokenizer, cfg, where, self._config)


def resolve(spec: ModelSpec) -> ResolvedModel:
    """Resolve a model for planning: its weights' format (a pickled-only local folder is refused), its family and
    its revision label (which fails early, exit 2, for a python: id whose package is missing or a local folder that
    does not exist). Its tokenizer is loaded when a job that has something to run is checked
    (`ResolvedModel.tokenizer`)."""
    check_weights(spec)
    return ResolvedModel(spec, family(spec), revision_label(spec))
