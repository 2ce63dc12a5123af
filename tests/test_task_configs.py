"""The shipped benchmark task YAMLs: they validate, and their local sources match the local data.

The data checks need the shared data folder (../shared/data next to the repository, or
$HARNESS_DATA_DIR); without it they are skipped, the validation checks still run.
"""
from __future__ import annotations

import csv
import gzip
import itertools
import json
import os
from pathlib import Path

import pytest

from harness.catalog import load_task_file
from harness.kinds import get_kind
from harness.kinds.ner import tag_names
from harness.specs import Source, TaskSpec

REPO = Path(__file__).resolve().parents[1]
TASKS_DIR = REPO / "harness" / "tasks"
GROUP_DIRS = ("glue", "clue", "fewclue", "other")
EXPECTED = {
    "glue": {"sst2", "mrpc", "stsb", "rte", "cola", "qnli"},
    "clue": {"afqmc", "tnews", "iflytek", "ocnli", "cmnli", "csl", "cluewsc2020", "cluener2020", "cmrc2018", "c3"},
    "fewclue": {"fewclue_tnews", "fewclue_bustm", "fewclue_csldcp"},
    "other": {"chnsenticorp"},
}
BENCHMARK = {"glue": "GLUE", "clue": "CLUE", "fewclue": "FewCLUE", "other": "other"}
SAMPLE = 200  # records read from the head of each local split

TASK_FILES = sorted(p for d in GROUP_DIRS for p in (TASKS_DIR / d).glob("*.yaml"))


def _data_dir() -> Path:
    env = os.environ.get("HARNESS_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _need_data() -> Path:
    data = _data_dir()
    if not data.is_dir():
        pytest.skip(f"../shared/data not found: {data}")
    return data


def _local_sources(spec: TaskSpec) -> list[Source]:
    return [s for s in spec.sources if s.type == "local"]


def _source_dir(src: Source, task_file: Path) -> Path:
    base = _data_dir() if src.relative_to == "data_dir" else task_file.parent
    return base / src.dir


def _split_path(src: Source, task_file: Path, stem: str) -> Path:
    return _source_dir(src, task_file) / f"{stem}.{src.format}"


def _head(path: Path, fmt: str, n: int) -> list[dict]:
    opener = gzip.open if fmt.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        if fmt in ("csv", "tsv"):
            reader = csv.DictReader(f, delimiter="\t" if fmt == "tsv" else ",")
            return list(itertools.islice(reader, n))
        return [json.loads(line) for line in itertools.islice((l for l in f if l.strip()), n)]


def _id(p: Path) -> str:
    return f"{p.parent.name}/{p.stem}"


@pytest.fixture(scope="module", params=TASK_FILES, ids=[_id(p) for p in TASK_FILES])
def task(request) -> tuple[Path, TaskSpec]:
    return request.param, load_task_file(request.param)


# --- the files themselves ---------------------------------------------------------------

def test_every_expected_task_file_exists():
    for group, names in EXPECTED.items():
        found = {p.stem for p in (TASKS_DIR / group).glob("*.yaml")}
        assert names <= found, f"missing in harness/tasks/{group}: {sorted(names - found)}"


def test_task_names_are_unique():
    names = [load_task_file(p).name for p in TASK_FILES]
    assert len(names) == len(set(names)), names


def test_spec_basics(task):
    path, spec = task
    group = path.parent.name
    assert spec.name == path.stem, "task name must match the file name"
    assert spec.benchmark == BENCHMARK[group]
    assert spec.groups == [group]
    assert spec.description and spec.license != "not stated"
    assert spec.caveats, "caveats must tell a model chooser what is unusual about the data"


def test_local_source_first(task):
    _, spec = task
    assert spec.sources and spec.sources[0].type == "local"
    for src in spec.sources[1:]:
        assert src.type == "hub", "only one local source, followed by Hub sources"


def test_columns_and_label_maps_are_consistent(task):
    _, spec = task
    fields = get_kind(spec.kind).fields
    for src in spec.sources:
        unknown = set(src.columns) - set(fields)
        assert not unknown, f"columns names fields that kind {spec.kind} does not read: {unknown}"
        for raw, label in src.label_map.items():
            assert label in spec.label_names, f"label_map {raw!r} -> {label!r} not in label_names"
        if src.label_map and spec.task_kind.label_set:
            assert set(src.label_map.values()) == set(spec.label_names), "label_map must cover every label"


def test_label_words_cover_labels(task):
    _, spec = task
    words = spec.text_to_text.label_words
    if words:
        assert set(words) == set(spec.label_names)
        assert len(set(words.values())) == len(words), "label words must be distinct"


# --- against the local data -------------------------------------------------------------

def _stems(spec, src) -> list[tuple[str, str]]:
    """(role, split file stem) for every fold of a few-shot task, or the plain split names."""
    return [(role, stem.replace("{fold}", fold)) for role, stem in src.splits.items()
            for fold in (spec.folds if "{fold}" in stem else [""])]


def test_prompt_label_words_resolve(task):
    """Every task with a prompt has a label word for each label (files read from the data folder)."""
    from harness.verbalizer import resolve_label_words

    path, spec = task
    if spec.prompt is None:
        pytest.skip("no prompt")
    if spec.prompt.label_words_file and spec.prompt.label_words_file.relative_to == "data_dir":
        _need_data()
    words = resolve_label_words(spec, path, _data_dir()).prompt.label_words
    assert list(words) == spec.label_names and all(words.values())


def test_label_names_match_meta(task):
    _need_data()
    path, spec = task
    for src in _local_sources(spec):
        meta_path = _source_dir(src, path) / "meta.json"
        assert meta_path.is_file(), f"{meta_path} missing"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        assert spec.label_names == meta.get("label_names", []), "label_names must equal meta.json's, in order"
        assert spec.language == meta["language"]
        assert spec.kind == meta["kind"]


def test_local_split_files_exist(task):
    _need_data()
    path, spec = task
    for src in _local_sources(spec):
        for role, stem in _stems(spec, src):
            f = _split_path(src, path, stem)
            assert f.is_file(), f"{role}: {f} missing"


def test_local_records_have_mapped_columns(task):
    _need_data()
    path, spec = task
    tags = set(tag_names(spec))
    for src in _local_sources(spec):
        needed = [src.columns.get(field, field) for field in spec.task_kind.fields]
        if src.id_column:
            needed.append(src.id_column)
        label_col = src.columns.get("label", "label")
        for role, stem in _stems(spec, src):
            f = _split_path(src, path, stem)
            if not f.is_file():
                pytest.fail(f"{role}: {f} missing")
            rows = _head(f, src.format, SAMPLE)
            assert rows, f"{f} is empty"
            for i, row in enumerate(rows):
                missing = [c for c in needed if c not in row]
                assert not missing, f"{f} record {i}: missing columns {missing}"
                if spec.task_kind.label_set:
                    label = src.label_map.get(str(row[label_col]), str(row[label_col]))
                    assert label in spec.label_names, f"{f} record {i}: label {label!r} not in label_names"
                elif spec.kind == "ner":
                    tok, tg = row[src.columns.get("tokens", "tokens")], row[src.columns.get("tags", "tags")]
                    assert len(tok) == len(tg), f"{f} record {i}: tokens/tags length differ"
                    assert set(tg) <= tags, f"{f} record {i}: unknown tags {set(tg) - tags}"
                elif spec.kind == "regression":
                    float(row[label_col])
                elif spec.kind == "multiple_choice":
                    choices = row[src.columns.get("choices", "choices")]
                    assert isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices), \
                        f"{f} record {i}: choices must be a non-empty list of strings"
                    assert 0 <= int(row[label_col]) < len(choices), f"{f} record {i}: label out of range"
