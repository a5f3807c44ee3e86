"""Reward modelling (the paper's Section 2, Table 1, Figure 3).

- ``bradley_terry``: the BT reward model, trained with TRL's RewardTrainer;
- ``preference``: the pairwise preference model and Copeland ranking;
- ``rewardbench``: RewardBench's scoring (and its lite twin);
- ``length_bias``: the reward-length correlations of Figure 3;
- ``pm_study``: what the preference model needs (learning curves over epochs, pairs and capacity);
- ``analysis``: what the chapter reads from trained judges on pi_0's samples (no stage imports it).
"""

from rlhf_lite.reward.bradley_terry import RewardModel, RewardSettings, bt_loss, load_reward_model, train_reward_model
from rlhf_lite.reward.length_bias import heatmap_counts, length_bins, length_correlations, plot_heatmaps
from rlhf_lite.reward.preference import PreferenceModel, copeland_ranking, preference_records
from rlhf_lite.reward.rewardbench import LITE_MAPPING, SUBSET_MAPPING, lite_benchmark
