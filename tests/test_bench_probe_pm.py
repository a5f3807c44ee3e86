"""The preference-model probe compares two of its runs pair by pair from the probabilities each saved, and refuses
runs that saved none or were scored on different rows."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("probe_pm", Path(__file__).resolve().parents[1] / "bench" / "probe_pm.py")
probe = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = probe
spec.loader.exec_module(probe)

A, B = "pm own-last, 10 epochs, 6x pairs", "bt, 3 epochs, 6x pairs"


def _save(out: Path, name: str, p, subsets):
    (out / f"{probe.slug(name)}.json").write_text(json.dumps({"variant": name, "p": p, "subsets": subsets}))


def test_paired_difference_is_per_pair_credit_on_the_section_only(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "OUT", tmp_path)
    subsets = ["lite-reasoning"] * 4 + ["lite-chat"] * 2
    # reasoning credit: A 1, 1, 0.5 (a tie), 0; B 1, 0, 0, 0 -> differences 0, 1, 0.5, 0; chat rows are ignored
    _save(tmp_path, A, [0.9, 0.8, 0.5, 0.1, 0.0, 0.0], subsets)
    _save(tmp_path, B, [0.7, 0.2, 0.3, 0.4, 1.0, 1.0], subsets)
    d, h = probe.paired(A, B)
    assert d == pytest.approx(0.375) and h > 0
    assert probe.paired(A, B, "chat")[0] == pytest.approx(-1.0)


def test_paired_refuses_runs_it_cannot_pair(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "OUT", tmp_path)
    with pytest.raises(SystemExit, match="not run yet"):
        probe.paired(A, B)
    (tmp_path / f"{probe.slug(A)}.json").write_text(json.dumps({"variant": A, "sections": {}}))
    _save(tmp_path, B, [0.5], ["lite-reasoning"])
    with pytest.raises(SystemExit, match="before they were saved"):
        probe.paired(A, B)
    _save(tmp_path, A, [0.5, 0.5], ["lite-reasoning", "lite-chat"])
    with pytest.raises(SystemExit, match="different benchmark rows"):
        probe.paired(A, B)
