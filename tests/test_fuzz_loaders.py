"""Every loader under fuzzing (hypothesis): valid native rows of each dataset (tests/fixtures/hub), mutated
(fields missing, extra or of the wrong type, empty and huge strings, NaN and infinite numbers, bytes that
are not UTF-8, lines cut short, files truncated), must each either convert or be counted with its reason:

    rows in = rows in some pair + rows counted as dropped (malformed, bad label, or in no pair)

through the whole of ``load_source``, HelpSteer's step that combines rows into pairs included,

and with errors="raise" the error names the file by its path inside the dataset folder, the line, and
(where one is at fault) the field. Nothing is lost silently and no other exception escapes."""

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlhf_lite.data.rows import convert_rows, iter_rows
from rlhf_lite.data.schema import MalformedRowError
from rlhf_lite.data.sources import SOURCES, TABLE5, load_source
from rlhf_lite.policy.sft import convert_chat

FIXTURES = Path(__file__).parent / "fixtures" / "hub"
LOADERS = [*TABLE5, "summarize", "sft-chat"]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=12), st.just(""), st.just("x" * 100_000), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def _fixture(name: str) -> Path:
    (f,) = [p for p in (FIXTURES / name).iterdir() if p.is_file()]
    return f


def _paths(obj, prefix=()):
    """Every place inside a JSON value: () is the row itself."""
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from _paths(v, (*prefix, k))


def _at(obj, path):
    for k in path:
        obj = obj[k]
    return obj


@st.composite
def mutated_row(draw, row: dict) -> bytes:
    row = json.loads(json.dumps(row))
    for _ in range(draw(st.integers(0, 3))):
        places = list(_paths(row))
        path = draw(st.sampled_from(places))
        kind = draw(st.sampled_from(["replace", "delete", "extra", "non-utf8", "cut"]))
        if kind == "replace" and path:
            _at(row, path[:-1])[path[-1]] = draw(JUNK)
        elif kind == "delete" and path:
            parent = _at(row, path[:-1])
            del parent[path[-1]]
        elif kind == "extra" and isinstance(_at(row, path), dict):
            _at(row, path)[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
        elif kind in ("non-utf8", "cut"):
            line = json.dumps(row, allow_nan=True).encode()
            at = draw(st.integers(0, len(line)))
            return line[:at] + b"\xff\xfe" + line[at:] if kind == "non-utf8" else line[:at]
    return json.dumps(row, allow_nan=True).encode()  # NaN and Infinity as Python writes them (not strict JSON)


def _valid_rows(name: str) -> list[dict]:
    """The fixture's rows that convert (the fixtures also hold deliberately bad ones)."""
    good = []
    for raw in _fixture(name).read_bytes().splitlines():
        try:
            row = json.loads(raw.decode("utf-8"))
            _convert(name)(row)
        except (UnicodeDecodeError, ValueError):
            continue
        good.append(row)
    assert good, name
    return good


@st.composite
def dataset_file(draw, name: str) -> bytes:
    rows = _valid_rows(name)
    lines = [draw(mutated_row(r)) for r in draw(st.lists(st.sampled_from(rows), min_size=1, max_size=6))]
    data = b"\n".join(lines) + b"\n"
    if draw(st.booleans()):  # a file truncated mid-write or mid-download
        data = data[:draw(st.integers(1, len(data)))]
    return data


def _write(tmp: Path, name: str, data: bytes) -> tuple[Path, str]:
    """The mutated file in a copy of the dataset's folder, one sub-folder down (HH-RLHF's layout), so the
    origin must say which sub-folder."""
    spec = SOURCES.get(name)
    sub = spec.data_dirs[0] if spec and spec.data_dirs else "part-a"
    rel = f"{sub}/{_fixture(name).name}"
    (tmp / sub).mkdir(parents=True, exist_ok=True)
    (tmp / rel).write_bytes(data)
    return tmp, rel


def _convert(name: str):
    return convert_chat if name == "sft-chat" else SOURCES[name].convert


def _check_pair(p: dict) -> None:
    roles = [m["role"] for m in p["prompt"] if m["role"] != "system"]
    assert roles and roles[0] == roles[-1] == "user" and all(a != b for a, b in zip(roles, roles[1:])), p  # any chat template
    for k in ("chosen", "rejected"):
        assert all(isinstance(m["content"], str) for m in p[k]), p
    for k in ("score_chosen", "score_rejected"):
        assert p.get(k) is None or math.isfinite(p[k]), p


@pytest.mark.parametrize("name", LOADERS)
def test_every_row_is_kept_or_counted(name, tmp_path_factory):
    @settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(data=dataset_file(name))
    def check(data):
        folder, rel = _write(tmp_path_factory.mktemp(name), name, data)
        rows_in = sum(1 for line in data.split(b"\n") if line.strip())
        if name in SOURCES:  # the whole loader: converter, layout check, turn merging and any combine step
            out, report = load_source(name, folder)
        else:
            out, report = convert_rows(iter_rows(folder, "train"), _convert(name), name, str(folder), errors="report")
        kept = {o for p in out for o in p["origin"].split("+")}  # HelpSteer's pairs name both rows
        assert report.rows == rows_in
        assert len(kept) + sum(report.dropped.values()) == rows_in, (report.dropped, kept)
        assert all(o.startswith(f"{rel}:") for o in kept) and all(e.startswith(f"{rel}:") for e in report.examples.values())
        for why in report.dropped:  # a reason names its field, unless the line itself is not JSON
            assert why.startswith(("not valid", "row is a")) or ": " in why, why
        if name != "sft-chat":  # the pairs (after HelpSteer's combine step, whose rows are items) are well formed
            for p in out:
                _check_pair(p)
        try:
            convert_rows(iter_rows(folder, "train", SOURCES[name].data_dirs if name in SOURCES else ()),
                         _convert(name), name, str(folder), errors="raise")
        except MalformedRowError as e:
            where = str(e).split(": ", 2)[1]
            assert where.startswith(f"row {rel}:") and where.split(":")[1].isdigit(), str(e)

    check()
