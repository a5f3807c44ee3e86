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
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from rlhf_lite.data.schema import LabelError, MalformedRowError, RowError, UnpairedRow

LFS_POINTER = b"version https://git-lfs.github.com/spec/"


class DataFileError(ValueError):
    """A data file that is not what its name says (a Git LFS pointer, an HTML error page saved as .parquet...):
    no row of it can be read, so it is an error about the file, raised before any row is read, not a drop."""


def check_file(path: Path, label: str | None = None) -> None:
    """Raise ``DataFileError`` naming ``path`` if its first bytes are not its format's: a Git LFS pointer (a
    repository cloned without git-lfs holds 130-odd bytes of text in place of each large file), a .gz that is
    not gzip, a .parquet without Parquet's magic bytes. Only the head of the file is read."""
    with open(path, "rb") as f:
        head = f.read(512)
    name = label or path.name
    if head.startswith(LFS_POINTER):
        fields = dict(line.split(" ", 1) for line in head.decode("ascii", "replace").splitlines() if " " in line)
        size = fields.get("size", "?").strip()
        raise DataFileError(
            f"{name} ({path}) is a Git LFS pointer ({path.stat().st_size} bytes of text standing for a {size}-byte "
            f"file), not the data: the dataset was cloned without git-lfs. Run `git lfs install && git lfs pull` in "
            f"the clone, or download the file itself (for example with `huggingface-cli download --repo-type dataset`).")
    wants = {".gz": (b"\x1f\x8b", "gzip"), ".parquet": (b"PAR1", "Parquet")}.get(path.suffix.lower())
    if wants and not head.startswith(wants[0]):
        seen = head[:40].decode("utf-8", "replace").replace("\n", " ")
        raise DataFileError(
            f"{name} ({path}) is not a {wants[1]} file, as its name says: it starts with {seen!r}. The download "
            f"may have failed or been cut short; download it again.")


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
    unpaired: int = 0  # well-formed rows in no pair (a prompt with one response)
    merged_turns: int = 0  # rows kept whose prompt had consecutive turns of one role, merged into one

    def drop(self, origin: str, err: RowError) -> None:
        # One key per kind of problem: details after "(" or "," (offsets, values) stay in the example.
        reason = err.reason.split(" (")[0].split(",")[0]
        key = f"{err.field}: {reason}" if err.field else reason
        self.dropped[key] += 1
        self.examples.setdefault(key, origin)
        if isinstance(err, LabelError):
            self.bad_labels += 1
        if isinstance(err, UnpairedRow):
            self.unpaired += 1

    @property
    def malformed(self) -> int:
        return sum(self.dropped.values()) - self.bad_labels - self.unpaired


def _jsonl_rows(path: Path, label: str) -> Iterator[tuple[str, dict | RowError]]:
    # Our own JSON Lines reader, not datasets' json builder: pyarrow fails a whole file on one bad
    # line (undecodable bytes, broken JSON) without saying which, and we want that row counted.
    opener = gzip.open if path.suffix == ".gz" else open
    i = 0
    try:
        with opener(path, "rb") as f:
            for i, raw in enumerate(f, start=1):
                yield from _jsonl_line(raw, f"{label}:{i}")
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:  # a .gz cut short or corrupt: the rest is unreadable
        raise DataFileError(f"{label} ({path}) is a damaged gzip file ({e}) after line {i}: the lines before "
                            f"it were read, the rest cannot be. Download the file again.") from None


def _jsonl_line(raw: bytes, where: str) -> Iterator[tuple[str, dict | RowError]]:
    if not raw.strip():
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        yield where, RowError(None, f"not valid UTF-8 (byte {e.start} of the line)")
        return
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
        labels = [p.relative_to(path).as_posix() for p in files]
        for p, name in zip(files, labels):  # every file before any row: a pointer found late would waste the rows read
            check_file(p, name)
        for p, name in zip(files, labels):
            yield from _file_rows(p, name)
        return
    label = label or path.name
    check_file(path, label)
    yield from _file_rows(path, label)


def _file_rows(path: Path, label: str) -> Iterator[tuple[str, dict | RowError]]:
    """The rows of one data file that ``check_file`` has passed."""
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
