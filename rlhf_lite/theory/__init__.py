"""The theory chapter's tabular bandit (paper Sections 1 and 3), solved exactly.

- ``bandit``: the problem, the KL-regularised optimum (eq. 3), best-of-n and its KL bound;
- ``learning``: the BT oracle and MLE, DPO on a table, offline against online with exploration;
- ``uncertainty``: Algorithm 1's Gamma_t and the enhancer's information gain.

The chapter reads it as ``from rlhf_lite import theory as T``.
"""

from rlhf_lite.theory.bandit import (Bandit, ascend_value, best_of_n_kl, best_of_n_kl_bound, best_of_n_policy,
                                     best_of_n_slack,
                                     expected_best_worst_gap, gibbs_policy, implied_reward, kl_rows, make_bandit,
                                     optimal_value, value)
from rlhf_lite.theory.learning import (EXPLORATION, all_pairs_expected, behaviour_without_best, best_worst_of_n,
                                       bt_labels, bt_mle, dpo_fit, dpo_on_labels, enhancer_policy, offline_reward_model,
                                       run_offline, run_online, sample_pairs, winners_losers)
from rlhf_lite.theory.uncertainty import gamma, info_gain, uncertainty_curve
from rlhf_lite.world.oracle import sigmoid
