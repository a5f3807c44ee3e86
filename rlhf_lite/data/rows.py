"""Reading rows from a file or the hub without losing any silently.

``load_source`` (sources.py) reads a dataset's rows through ``iter_rows`` or ``hub_rows`` and converts
them with ``convert_rows``, which either counts a bad row as a drop with its reason (``errors="report"``,
the default, so a long run is not lost to one bad row) or stops with ``MalformedRowError`` naming the
file, the row and the field (``errors="raise"``, for when a drop would hide a bug). A row whose label
its own fields contradict (``LabelError``) is always counted, as a "bad label"; ``LoadReport`` keeps
the tally that chapter 3's curation report shows.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from rlhf_lite.data.schema import LabelError, MalformedRowError, RowError


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


def _jsonl_rows(path: Path, label: str) -> Iterator[tuple[str, dict | RowError]]:
    # Our own JSON Lines reader, not datasets' json builder: pyarrow fails a whole file on one bad
    # line (undecodable bytes, broken JSON) without saying which, and we want that row counted.
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for i, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            where = f"{label}:{i}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield where, RowError(None, f"not valid UTF-8 (byte {e.start} of the line)")
                continue
            try:
                yield where, json.loads(text)
            except json.JSONDecodeError as e:
                yield where, RowError(None, f"not valid JSON ({e.msg} at column {e.colno})")


def _table_rows(path: Path, fmt: str, label: str) -> Iterator[tuple[str, dict]]:
    import datasets

    ds = datasets.load_dataset(fmt, data_files=str(path), split="train")
    for i, row in enumerate(ds):
        yield f"{label}:{i + 1}", row


def iter_rows(path: str | Path, split: str = "train", subdirs: tuple[str, ...] = (),
              label: str | None = None) -> Iterator[tuple[str, dict | RowError]]:
    """(origin, row) for every row of a JSON Lines (optionally .gz), JSON array, or Parquet file, or
    of the files of one split in a folder (``select_files``), in sorted order. The origin is
    ``file:line`` with the file's path inside the folder given (HH-RLHF has a ``train.jsonl.gz`` in each
    of its sub-folders, so a bare file name would not say which), or its name when a file is given."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no preference data at {path}: give a .jsonl/.jsonl.gz/.json/.parquet file or a folder of them.")
    if path.is_dir():
        files = select_files(path, split, subdirs)
        if not files:
            raise FileNotFoundError(f"{path} has no .jsonl, .jsonl.gz, .json or .parquet files.")
        for p in files:
            yield from iter_rows(p, label=p.relative_to(path).as_posix())
        return
    label = label or path.name
    kind = _kind(path)
    if kind == "jsonl":
        yield from _jsonl_rows(path, label)
    elif kind == "json":
        text = path.read_bytes()
        try:
            data = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            # SHP ships JSON Lines under a .json name: fall back to reading it line by line.
            yield from _jsonl_rows(path, label)
            return
        rows = data if isinstance(data, list) else [data]
        for i, row in enumerate(rows, start=1):
            yield f"{label}:{i}", row
    elif kind == "parquet":
        yield from _table_rows(path, "parquet", label)
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
