"""One preference schema, and reading rows from a file or the hub without losing any silently.

Every dataset in the paper's Table 5 arrives in its own format. ``sources.py`` converts each
native row into pairs of this one schema, which TRL's DPO and reward trainers read directly
(conversational, explicit prompt)::

    {"prompt":   [{"role": "user", "content": ...}, ...],   # the history, ending with a user turn
     "chosen":   [{"role": "assistant", "content": ...}],
     "rejected": [{"role": "assistant", "content": ...}],
     "source": "ultrafeedback", "prompt_id": "...", "origin": "train.jsonl:17",
     "score_chosen": 4.5, "score_rejected": 3.0, "margin": 1.5}     # None where a source has no scores

A row that cannot be converted raises ``RowError(field, reason)`` in its converter. ``load_source``
then either counts it as a drop with its reason (``errors="report"``, the default, so a long run
is not lost to one bad row) or stops with ``MalformedRowError`` naming the file, the row and the
field (``errors="raise"``, for when a drop would hide a bug). A row whose label its own fields
contradict (``LabelError``) is always counted, as a "bad label". Chapter 2 (notebooks/02_preference_data)
walks through all of this.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

SCHEMA_FIELDS = ("prompt", "chosen", "rejected", "source", "prompt_id", "origin",
                 "score_chosen", "score_rejected", "margin")
ROLES = ("system", "user", "assistant")


class RowError(ValueError):
    """A native row that cannot become a pair: which field, and why."""

    def __init__(self, field: str | None, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"field {field!r}: {reason}" if field else reason)


class LabelError(RowError):
    """A well-formed row whose label its own other fields contradict (App. B.1: "incorrect labels").
    Always counted, never raised: it is a judgement about the data, not a format error."""


class MalformedRowError(ValueError):
    """Raised by ``load_source(errors="raise")``; the message says where and what to do."""


# ----------------------------------------------------------------------------- building pairs


def message(role: str, content) -> dict:
    return {"role": role, "content": content}


def trl_dataset(pairs):
    """A ``datasets.Dataset`` of only TRL's three columns, prompt/chosen/rejected, as RewardTrainer and
    DPOTrainer read them. Our schema's other columns stay out: TRL reads a "margin" column as a margin
    *inside* the loss (-log sigma(r_w - r_l - m)), and our margin is a rating difference, not that."""
    from datasets import Dataset

    return Dataset.from_list([{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in pairs])


def make_pair(prompt: list[dict], chosen, rejected, *, source: str, prompt_id: str | None = None,
              score_chosen: float | None = None, score_rejected: float | None = None) -> dict:
    """One record of the schema. ``chosen``/``rejected`` may be a string (one assistant turn) or messages."""
    as_msgs = lambda a: [message("assistant", a)] if isinstance(a, str) else list(a)  # noqa: E731
    margin = None
    if score_chosen is not None and score_rejected is not None:
        margin = float(score_chosen) - float(score_rejected)
    return {
        "prompt": list(prompt), "chosen": as_msgs(chosen), "rejected": as_msgs(rejected),
        "source": source, "prompt_id": prompt_id or prompt_key(prompt), "origin": "",
        "score_chosen": None if score_chosen is None else float(score_chosen),
        "score_rejected": None if score_rejected is None else float(score_rejected),
        "margin": margin,
    }


def prompt_text(prompt: list[dict]) -> str:
    """The prompt's turns joined, for lengths, keys and dedup."""
    return "\n".join(str(m.get("content", "")) for m in prompt)


def prompt_key(prompt: list[dict]) -> str:
    return hashlib.sha1(json.dumps(prompt, sort_keys=True).encode()).hexdigest()[:16]


def last_user_turn(prompt: list[dict]) -> str:
    for m in reversed(prompt):
        if m.get("role") == "user":
            return m.get("content", "")
    return ""


def response_text(messages: list[dict]) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages)


def pairs_from_scores(prompt: list[dict], responses: list[str], scores: list[float | None], *,
                      source: str, prompt_id: str | None = None) -> list[dict]:
    """All comparisons among k scored responses to one prompt, higher score as chosen.

    Ties are kept (in input order) so that the ``Ties`` filter can count them; responses
    without a score (e.g. UltraFeedback's "N/A") take no part. This is how the paper counts pairs
    for datasets with several responses a prompt (Table 5 caption).
    """
    scored = [(a, s) for a, s in zip(responses, scores) if s is not None]
    out = []
    for i in range(len(scored)):
        for j in range(i + 1, len(scored)):
            (a, sa), (b, sb) = scored[i], scored[j]
            if sb > sa:
                (a, sa), (b, sb) = (b, sb), (a, sa)
            out.append(make_pair(prompt, a, b, source=source, prompt_id=prompt_id,
                                 score_chosen=sa, score_rejected=sb))
    return out


# ----------------------------------------------------------------------------- field access


def get_field(row: dict, name: str, kind: type | tuple[type, ...], *, allow_none: bool = False):
    """``row[name]`` checked for presence and type; a ``RowError`` says which field is wrong."""
    if not isinstance(row, dict):
        raise RowError(None, f"row is a {type(row).__name__}, expected a JSON object")
    if name not in row:
        raise RowError(name, "missing")
    value = row[name]
    if value is None and allow_none:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise RowError(name, f"expected a finite number, got {value}")
    if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float):
        want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise RowError(name, f"expected {want}, got {type(value).__name__} {str(value)[:40]!r}")
    return value


def as_score(value, name: str) -> float | None:
    """A rating as stored by annotators: int, float, or a numeric string; "N/A" and None mean no score."""
    if value is None or isinstance(value, str) and value.strip().upper() in ("N/A", "NA", ""):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise RowError(name, f"expected a numeric score, got {value!r}") from None
    if not math.isfinite(x):
        raise RowError(name, f"expected a finite score, got {value!r}")
    return x


# ----------------------------------------------------------------------------- reading rows


@dataclass
class LoadReport:
    """What happened to the rows of one source on the way to pairs."""

    source: str
    where: str
    rows: int = 0
    pairs: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> rows (malformed and bad labels)
    examples: dict = field(default_factory=dict)  # reason -> first "file:row" seen
    bad_labels: int = 0

    def drop(self, origin: str, err: RowError) -> None:
        # One key per kind of problem: details after "(" or "," (offsets, values) stay in the example.
        reason = err.reason.split(" (")[0].split(",")[0]
        key = f"{err.field}: {reason}" if err.field else reason
        self.dropped[key] += 1
        self.examples.setdefault(key, origin)
        if isinstance(err, LabelError):
            self.bad_labels += 1

    @property
    def malformed(self) -> int:
        return sum(self.dropped.values()) - self.bad_labels


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict | RowError]]:
    # Our own JSON Lines reader, not datasets' json builder: pyarrow fails a whole file on one bad
    # line (undecodable bytes, broken JSON) without saying which, and we want that row counted.
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for i, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            where = f"{path.name}:{i}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield where, RowError(None, f"not valid UTF-8 (byte {e.start} of the line)")
                continue
            try:
                yield where, json.loads(text)
            except json.JSONDecodeError as e:
                yield where, RowError(None, f"not valid JSON ({e.msg} at column {e.colno})")


def _table_rows(path: Path, fmt: str) -> Iterator[tuple[str, dict]]:
    import datasets

    ds = datasets.load_dataset(fmt, data_files=str(path), split="train")
    for i, row in enumerate(ds):
        yield f"{path.name}:{i + 1}", row


def iter_rows(path: str | Path, split: str = "train", subdirs: tuple[str, ...] = ()) -> Iterator[tuple[str, dict | RowError]]:
    """(origin, row) for every row of a JSON Lines (optionally .gz), JSON array, or Parquet file, or
    of the files of one split in a folder (``select_files``), in sorted order."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no preference data at {path}: give a .jsonl/.jsonl.gz/.json/.parquet file or a folder of them.")
    if path.is_dir():
        files = select_files(path, split, subdirs)
        if not files:
            raise FileNotFoundError(f"{path} has no .jsonl, .jsonl.gz, .json or .parquet files.")
        for p in files:
            yield from iter_rows(p)
        return
    kind = _kind(path)
    if kind == "jsonl":
        yield from _jsonl_rows(path)
    elif kind == "json":
        text = path.read_bytes()
        try:
            data = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            # SHP ships JSON Lines under a .json name: fall back to reading it line by line.
            yield from _jsonl_rows(path)
            return
        rows = data if isinstance(data, list) else [data]
        for i, row in enumerate(rows, start=1):
            yield f"{path.name}:{i}", row
    elif kind == "parquet":
        yield from _table_rows(path, "parquet")
    else:
        raise ValueError(f"{path}: unknown file type; use .jsonl, .jsonl.gz, .json or .parquet.")


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
        return "jsonl"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".parquet"):
        return "parquet"
    return None


def select_files(folder: str | Path, split: str = "train", subdirs: tuple[str, ...] = ()) -> list[Path]:
    """The data files of one split in a local copy of a hub dataset.

    Hub repositories hold several splits (SHP: ``*_train.json``, ``*_validation.json``...) and
    sometimes subsets (HH-RLHF: ``helpful-base/``, ``harmless-base/``...). Reading a whole snapshot would
    mix them; like the hub path, we keep the ``subdirs`` (when present) and the files whose name
    mentions ``split`` (when any does)."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and _kind(p))
    if subdirs and any((folder / d).is_dir() for d in subdirs):
        files = [p for p in files if p.relative_to(folder).parts[0] in subdirs]
    named = [p for p in files if split in p.name]
    return named or files


def hub_rows(hub_id: str, config: str | None, split: str, data_dir: str | None = None) -> Iterator[tuple[str, dict]]:
    """Rows of a hub dataset, or of one of its sub-folders (needs the network or the local HF cache)."""
    import datasets

    if data_dir is None:
        ds, where = datasets.load_dataset(hub_id, config, split=split), hub_id
    else:
        ds, where = datasets.load_dataset(hub_id, data_dir=data_dir, split=split), f"{hub_id}/{data_dir}"
    for i, row in enumerate(ds):
        yield f"{where}[{split}]:{i}", row


def convert_rows(rows: Iterable[tuple[str, dict | RowError]], convert: Callable[[dict], list[dict]],
                 source: str, where: str, errors: str = "report", limit: int | None = None) -> tuple[list[dict], LoadReport]:
    """Run a converter over rows: pairs out, every failure counted (or raised) with its origin."""
    if errors not in ("report", "raise"):
        raise ValueError(f"errors must be 'report' or 'raise', got {errors!r}.")
    report = LoadReport(source, where)
    pairs: list[dict] = []
    for origin, row in rows:
        if limit is not None and report.rows >= limit:
            break
        report.rows += 1
        try:
            if isinstance(row, RowError):
                raise row
            new = convert(row)
        except LabelError as err:
            report.drop(origin, err)
            continue
        except RowError as err:
            if errors == "raise":
                raise MalformedRowError(
                    f"{source}: row {origin}: {err}. Fix the row, or load with errors='report' to "
                    f"drop it and count it in the curation report."
                ) from None
            report.drop(origin, err)
            continue
        for p in new:
            p["origin"] = origin
        pairs.extend(new)
    report.pairs = len(pairs)
    return pairs, report
