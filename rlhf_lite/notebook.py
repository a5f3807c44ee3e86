"""What a chapter that runs many training stages does before its work: the libraries' own progress bars (one per
model loaded, per dataset tokenised) off, and transformers' notices of renamed arguments silenced, so that the page
shows one line per stage. (The package's own bars, tqdm over stages, stay.)

A page-writing module (``io.PRESENTATION_MODULES``): no stage imports it.
"""

from __future__ import annotations

import warnings


def quiet_libraries() -> None:
    """Turn off transformers' and datasets' progress bars and ignore FutureWarning (transformers' renamed-argument
    notices) for the rest of the process."""
    import datasets
    import transformers

    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    warnings.filterwarnings("ignore", category=FutureWarning)
