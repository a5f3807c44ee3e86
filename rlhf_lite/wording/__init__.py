"""Words of the chapters that depend on an outcome, chosen by tested functions so that every outcome reads as
English (the house style: glue a short phrase chosen by a tested function, not a sentence built in a notebook).

Why our own code: the book's own sentences.

- ``general``: an interval against zero or a tie, a difference in training, two arms compared;
- ``rewards``: the reward-modelling chapter's Table 1 and preference-model study;
- ``loop``: the online chapters' judge, length penalty, safety and over-optimisation (chapter 8).
"""

from rlhf_lite.wording.general import against_tie, interval_words, ranks_and_generates, training_cut
from rlhf_lite.wording.loop import (bias_against_paper, collapse_words, gain_kept, overoptimisation_shape, peak_words,
                                    penalty_safety_words,
                                    preference_model_words, reuse_words, safety_round_words, sweep_safety_words)
from rlhf_lite.wording.rewards import format_words, mix_words, pm_study_words, table1_words, table5_differences
