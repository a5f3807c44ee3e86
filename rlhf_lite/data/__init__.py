"""Preference data (the paper's Section 2 and Table 5): from native rows to curated mixtures.

- ``schema``: the one pair schema every dataset becomes, and the errors a bad row raises;
- ``rows``: reading rows from files or the hub without losing any silently;
- ``sources``: the converters of the Table 5 datasets; ``lite_sources``: their lite twins;
- ``filters``, ``curation``: the paper's filters, and what each removed;
- ``mixtures``: MIX1 and MIX2, Table 5's statistics, the online prompt pool;
- ``truth``: the labels measured against the lite world's r*.
"""

from rlhf_lite.data.curation import curate, plot_report
from rlhf_lite.data.filters import MinMargin, normalise_text, paper_filters
from rlhf_lite.data.lite_sources import GPT4, GPT4_RUBRIC, GPT35, HUMAN, HUMAN_ECHO, LITE_SOURCES, write_lite_sources
from rlhf_lite.data.mixtures import MIX1, MIX2, build_mixture, load_mixture_recipe, prompt_pool, table5
from rlhf_lite.data.rows import DataFileError, LoadReport, iter_rows
from rlhf_lite.data.schema import (LabelError, MalformedRowError, RowError, make_pair, message, prompt_text,
                                   response_text, trl_dataset)
from rlhf_lite.data.sources import SOURCES, TABLE5, load_source
from rlhf_lite.data.truth import agreement_by_filter, true_margin, truth_agreement, world_prompt
