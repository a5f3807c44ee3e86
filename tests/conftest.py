import os
import tempfile
from pathlib import Path

# Lite mode must never touch a hub: any attempt fails loudly instead of downloading.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# Tests keep their artifacts out of the user's runs/ and results/ (and papermill's kernels inherit this).
_TMP = Path(tempfile.mkdtemp(prefix="rlhf_lite_tests_"))
os.environ.setdefault("RLHF_LITE_RUNS", str(_TMP / "runs"))
os.environ.setdefault("RLHF_LITE_RESULTS", str(_TMP / "results"))

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# What `make test-fast` leaves out (`pytest -m "not slow"`): the tests that build the book (the `staged` and
# `rendered` fixtures), run whole processes (the CLI, the survival and GPU-smoke tests, nbval, the browser), or train
# a model for longer than a few seconds (marked `@pytest.mark.slow` where they are). The full `make test` runs all.
SLOW_FIXTURES = {"staged", "rendered", "pi0_artifacts"}  # the book build; pi_0 of the ci profile, trained once
SLOW_FILES = {"test_survival.py", "test_cli.py", "test_gpu_smoke.py", "test_notebooks.py", "test_browser.py",
              "test_parallel.py", "test_vllm_backend.py"}  # processes of their own


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def ci_cfg():
    from rlhf_lite.config import Config

    return Config.preset("ci")


@pytest.fixture(scope="session")
def pi0_artifacts(ci_cfg):
    """pi_0 of the ci profile, trained once per test session (cached on disk like in the book)."""
    from rlhf_lite.stages import prepare_pi0

    return prepare_pi0(ci_cfg, progress=False, log=lambda *a: None)


@pytest.fixture(scope="session")
def staged(tmp_path_factory):
    """The whole book staged and executed once in the ci profile (what `make book-ci` does)."""
    from rlhf_lite.site.book import stage

    staging = tmp_path_factory.mktemp("book")
    stage(ROOT, staging, "ci", cache=False)  # every chapter really runs here, whatever runs/ holds
    return staging


@pytest.fixture(scope="session")
def rendered(request, tmp_path_factory):
    """The staged book rendered to HTML with -W, once: the folder that holds index.html. With
    $RLHF_LITE_SITE set to a built site (e.g. _build/html after `make book`), that site instead, so the
    browser test can check a build without running the book again."""
    from rlhf_lite.site.book import render

    if os.environ.get("RLHF_LITE_SITE"):
        return Path(os.environ["RLHF_LITE_SITE"]).resolve()
    staged = request.getfixturevalue("staged")
    out = tmp_path_factory.mktemp("site")
    render(staged, out)  # raises CalledProcessError on any Sphinx warning
    return out / "_build" / "html"
