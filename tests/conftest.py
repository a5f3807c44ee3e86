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
