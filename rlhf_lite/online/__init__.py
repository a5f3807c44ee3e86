"""Online iterative RLHF (the paper's Section 3 and Algorithm 2), and how it is judged.

- ``pairs``: which two of n samples become a preference pair (best against worst, the length penalty);
- ``judge``: the proxy that ranks the samples (a reward model, the preference model, or the truth);
- ``loop``: Algorithm 2, iteration by iteration, resumable;
- ``offline``: the offline-DPO baseline with the loop's number of DPO steps;
- ``recipes``: many recipes and seeds side by side;
- ``evaluate``: every policy against pi_0 by the truth, with intervals over seeds.
"""

from rlhf_lite.online.evaluate import (PolicyEvaluator, across_seeds, agreement_by_length, overoptimisation_points,
                                       pair_truth, summarise, win_rate_ceiling)
from rlhf_lite.online.judge import GoldJudge, ProxyJudge, load_judge
from rlhf_lite.online.loop import OnlineRun, offline_pairs, run_online
from rlhf_lite.online.offline import loop_pair_passes, run_offline
from rlhf_lite.online.pairs import PAIR_RULES, build_pairs, length_penalised, select_pair
from rlhf_lite.online.recipes import run_recipes
