"""Every chapter in _toc.yml runs under papermill (ci profile), passes nbval, and the book renders with -W."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rlhf_lite.site.book import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = toc_notebooks(ROOT)
sys.path.insert(0, str(ROOT / "tools"))
import nbsrc  # noqa: E402


def test_toc_lists_notebooks():
    assert NOTEBOOKS, "_toc.yml names no chapter notebook"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_source(nb):
    """notebooks/*.py is the reviewed source; the .ipynb must be regenerated from it (tools/nbsrc.py)."""
    src = nb.with_suffix(".py")
    assert src.exists(), f"{nb.name} has no source {src.name}"
    expected = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nbsrc.parse(src.read_text())]
    actual = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nbformat.read(str(nb), 4).cells]
    assert actual == expected, f"run: python tools/nbsrc.py {src.relative_to(ROOT)}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_conventions(nb):
    cells = nbformat.read(str(nb), 4).cells
    code = [c for c in cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    assert "profile" in code[0].source and "seed" in code[0].source
    for c in code:
        assert "!pip" not in c.source and "%pip" not in c.source and "login(" not in c.source
    assert all(not c.outputs for c in code), "commit notebooks without outputs; the build executes them"
    assert "Exercises" in "".join(c.source for c in cells if c.cell_type == "markdown")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_ci_profile(staged, nb):
    out = nbformat.read(str(staged / nb.relative_to(ROOT)), 4)
    errors = [o for c in out.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "profile = \"ci\"" in injected[0].source
    assert "remove-cell" in injected[0].metadata.tags  # on the page the reader sees the chapter's own parameters
    assert "Run this chapter" in out.cells[1].source  # right after the chapter's opening


@pytest.fixture(scope="session")
def nbval_runs(staged):
    """nbval re-executes each executed notebook and compares the cells tagged nbval-check-output. That second
    run finds every stage cached by the first, so it must train nothing (RLHF_LITE_FORBID_TRAINING). The
    runs are independent (nothing is trained), so two go at a time: each waits on its kernel much of the time."""
    from concurrent.futures import ThreadPoolExecutor

    def check(nb):
        executed = staged / nb.relative_to(ROOT)
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "--nbval-lax", "--current-env", "-p", "no:cacheprovider",
             "-o", "addopts=", str(executed)], cwd=executed.parent, capture_output=True, text=True,
            env={**os.environ, "RLHF_LITE_FORBID_TRAINING": "1"})

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(NOTEBOOKS, pool.map(check, NOTEBOOKS)))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_tagged_outputs_are_reproducible(staged, nbval_runs, nb):
    """nbval's second run of the chapter (see nbval_runs) reproduces the tagged outputs and trains nothing."""
    executed = staged / nb.relative_to(ROOT)
    tagged = [c for c in nbformat.read(str(executed), 4).cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert tagged and all(c.outputs for c in tagged)
    proc = nbval_runs[nb]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_results_written(staged):
    from rlhf_lite.io import results_dir

    for nb in NOTEBOOKS:
        res = json.loads((results_dir() / f"{nb.stem}.json").read_text())
        assert res["profile"] == "ci"


def test_book_renders_without_warnings(rendered):
    html = rendered  # the fixture raised CalledProcessError on any Sphinx warning (-W)
    for nb in NOTEBOOKS:
        page = html / nb.relative_to(ROOT).with_suffix(".html")
        assert page.exists()
        assert "Traceback" not in page.read_text()
    assert (html / "book" / "preface.html").exists()
