"""bench/compare_results.py, the check that a refactor moved no number: leaf by leaf, floats bit for bit, keys that
moved to another file or name followed."""

import importlib.util
import json
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("compare_results",
                                              Path(__file__).resolve().parents[1] / "bench" / "compare_results.py")
cr = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = cr
spec.loader.exec_module(cr)


def _write(folder: Path, files: dict):
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data))


def test_equal_builds_agree_and_a_changed_float_is_named(tmp_path):
    _write(tmp_path / "old", {"06.json": {"a": {"b": [0.1, 2]}, "c": "x"}, "book_timings_ci.json": {"t": 1}})
    _write(tmp_path / "new", {"06.json": {"a": {"b": [0.1, 2]}, "c": "x", "headline": {"h": 1}},
                              "book_timings_ci.json": {"t": 2}})
    assert cr.compare(tmp_path / "old", tmp_path / "new", ("headline",)) == (3, [])
    (tmp_path / "new" / "06.json").write_text(json.dumps({"a": {"b": [0.1 + 5e-17, 2.0]}, "c": "x"}))  # the last bit
    n, diffs = cr.compare(tmp_path / "old", tmp_path / "new")
    assert n == 3 and diffs == ["06.json: a/b/0: 0.1 -> 0.10000000000000006",
                                "06.json: a/b/1: 2 -> 2.0"]  # an int that became a float is a difference too


def test_a_split_chapter_and_a_renumbered_one_are_followed(tmp_path):
    _write(tmp_path / "old", {"06.json": {"seeds": 3, "over": {"p": [1.0]}, "pd": {"x": 1, "y": 2}},
                              "08.json": {"k": 1}})
    _write(tmp_path / "new", {"06.json": {"seeds": 3, "pd": {"x": 1}}, "08b.json": {"seeds": 3, "over": {"p": [1.0]},
                                                                               "pd2": {"y": 2}}, "09.json": {"k": 1}})
    moves = cr.parse_moves(["06.json:over=08b.json:over", "06.json:pd/y=08b.json:pd2/y", "08.json:*=09.json:*"])
    n, diffs = cr.compare(tmp_path / "old", tmp_path / "new", moves=moves)
    assert n == 5 and diffs == ["08b.json: seeds only in the new build"]
    n, diffs = cr.compare(tmp_path / "old", tmp_path / "new", moves={})
    assert "06.json: over/p/0 missing in the new build" in diffs and "08.json: k: 08.json missing in the new build" in diffs
