"""Online iterative RLHF (the paper's Section 3 and Algorithm 2), and how it is judged.

- ``pairs``: which two of n samples become a preference pair (best against worst, the length penalty);
- ``judge``: the proxy that ranks the samples (a reward model, the preference model, or the truth);
- ``loop``: Algorithm 2, iteration by iteration, resumable;
- ``offline``: the offline-DPO baseline with the loop's number of DPO steps;
- ``runner``: many recipes and seeds side by side, in one pool of processes;
- ``evaluate``: every policy against pi_0 by the truth, with intervals over seeds;
- ``offpolicy``: writers other than pi_0 at a set distance from it, and how far a data set is from pi_0;
- ``frontier``: true win rate against KL, arms compared at matched KL and at their peaks;
- ``arms``: offline arms (writers' data, the loop's stream replayed) beside the loop;
- ``runs``: what a loop seed left in its folder (samples, pairs, evaluation records of round t), read back by role;
- ``analysis``, ``safety``: what the chapters read from finished loops (no stage imports them).
"""

from rlhf_lite.online.evaluate import (PolicyEvaluator, across_seeds, agreement_by_length, overoptimisation_points,
                                       pair_truth, summarise, win_rate_ceiling)
from rlhf_lite.online.judge import GoldJudge, ProxyJudge, load_judge
from rlhf_lite.online.loop import offline_pairs, run_online
from rlhf_lite.online.offline import loop_pair_passes, run_offline
from rlhf_lite.online.frontier import common_reach, front, matched, peak, peaks, win_at_kl
from rlhf_lite.online.offpolicy import Writer, calibrate, per_token, response_logliks, write_samples
from rlhf_lite.online.pairs import PAIR_RULES, build_pairs, length_penalised, orientation_flips, select_pair
from rlhf_lite.online.runner import run_recipes
from rlhf_lite.online.runs import OnlineRun
from rlhf_lite.online.arms import (implicit_accuracy, iterate_points, loop_prompts, replay_stream, run_arms,
                                    writer_pairs)
