# %% [markdown]
# # Reward models: a proxy for the preference oracle
#
# Online iterative RLHF needs someone to say which of two responses is better, many thousands of times
# per iteration. The paper {cite:p}`dong2024rlhf` hands that job to a *proxy*: a model trained on the
# open preference data of the previous chapter (its Section 2). It builds two kinds:
#
# - a **Bradley-Terry (BT) reward model** $r_\theta(x, a)$: the SFT model with its last layer replaced
#   by a scalar head, fitted by maximum likelihood under the Bradley-Terry model
#   $P(a^w \succ a^l \mid x) = \sigma\big(r_\theta(x, a^w) - r_\theta(x, a^l)\big)$, that is, by minimising
#   the loss $L_{\rm RM}$ below;
# - a **pairwise preference model**: the language model itself is shown
#   `[CONTEXT] x [RESPONSE A] a1 [RESPONSE B] a2` and trained to answer `A` or `B`, with the order of the
#   two responses randomised. At inference $\hat P(a^1 \succ a^2 \mid x) = p_A / (p_A + p_B)$.
#
# $$L_{\rm RM}(\theta) = -\mathbb{E}_{(x, a^w, a^l)} \log \sigma\big(r_\theta(x,a^w) - r_\theta(x,a^l)\big).$$
#
# The paper compares them on RewardBench {cite:p}`lambert2024rewardbench` (its Table 1): the prompted
# instruct model as a judge, BT on MIX1, BT on MIX2 and the preference model on MIX2. This chapter
# repeats that comparison in the lite world. It then does what RewardBench cannot: because we know the
# true reward $r^*$, we measure how often each proxy agrees with the truth on the pairs that the online
# loop will actually ask about, responses sampled from $\pi_0$, and whether its probabilities are
# calibrated.
#
# :::{admonition} What we found
# :class: tip
# - {glue:text}`t1_lead` BT on MIX2 is above the prompted $\pi_0$ on {glue:text}`bt_above_prompting`, with
#   95% intervals apart on {glue:text}`bt_beats_prompting`. On $\pi_0$'s own pairs, BT's agreement with $r^*$
#   minus the prompted $\pi_0$'s, pair by pair, is {glue:text}`bt_prompt_diff:+.3f` ±
#   {glue:text}`bt_prompt_diff_h:.3f`; the prompted $\pi_0$ is a coin flip by construction. It scores {glue:text}`t1_bt2_safety:.1f` on
#   safety and {glue:text}`t1_bt2_reasoning:.1f` on reasoning (the paper's BT on MIX2: 87.8 and 86.4).
# - {glue:text}`mix_summary`
# - {glue:text}`pm_lead` the pairwise preference model scores {glue:text}`t1_pm_chat:.1f` on chat and
#   {glue:text}`t1_pm_chat_hard:.1f` on chat-hard (the paper's: 98.3 and 65.8). {doc}`04_preference_model`
#   measures what it needs, over epochs, pairs, size and its prompt, and reads the paper's reasoning claim.
# - The trained judges inherit their annotators' taste for padding: of two equally right answers, BT on MIX2
#   prefers the padded one in {glue:text}`pad_bt2:.0%` of pairs and the UltraFeedback-only model in
#   {glue:text}`pad_uf:.0%`, where $r^*$ is indifferent.
# - On $\pi_0$'s own answers, the loop's real questions, BT on MIX2 agrees with $r^*$ on
#   {glue:text}`agree_bt2:.1%` of pairs (its lite RewardBench mean: {glue:text}`rb_bt2:.1%`); one label from
#   the human twin agrees on {glue:text}`agree_human:.1%`. The model on curated MIX2
#   {glue:text}`cur_raw_words` the model on raw MIX2 ({glue:text}`cur_raw_diff:+.3f` ±
#   {glue:text}`cur_raw_diff_h:.3f`, paired over the same pairs).
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-input
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from datasets import load_from_disk
from IPython.display import display
from myst_nb import glue

from rlhf_lite.config import Config
from rlhf_lite.data import GPT4, HUMAN, HUMAN_ECHO
from rlhf_lite.headlines import RewardModelsHeadline, save
from rlhf_lite.policy import HFSampler, load_policy, sample_responses
from rlhf_lite.reward import PreferenceModel, RewardModel, bt_loss, copeland_ranking, load_reward_model
from rlhf_lite.reward import analysis
from rlhf_lite.reward.agreement import (echo_preferences, onpolicy_agreement, padding_preference, right_by_ending,
                                       trained_on)
from rlhf_lite.reward.figures import calibration, section_bars, training_curves
from rlhf_lite.reward.analysis import (PAPER_TABLE1, SECTIONS, ends_in_filler, onpolicy_pairs,
                                      padded_pairs, section_intervals, sections_apart)
from rlhf_lite.reward.pm_study import STUDY_MODELS, book_benchmark
from rlhf_lite.reward.rewardbench import LITE_MAPPING, evaluate
from rlhf_lite.stages import eval_prompts, prepare_pi0, prepare_preference_data, prepare_reward_models
from rlhf_lite.stats import Interval, compare, mean_ci
from rlhf_lite.wording import mix_words, table1_words

pd.set_option("display.precision", 3)
pd.set_option("display.width", 160)
cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed}")
print("BT reward model:", cfg.reward)
print("preference model:", cfg.preference)

# %% [markdown]
# :::{admonition} Evidence and illustration in this chapter
# :class: note
# Built into the world (see {doc}`02_lite_world`, "What this world can and cannot show"), so an
# illustration: that BT on MIX2 is well above chance on chat-hard, since the GPT-4 twin's taste for
# length was lowered after a first version left it near chance. Measured, so evidence: agreement with
# $r^*$ on the policy's own answers, calibration, best-of-n, what the preference model needs, what the
# echo-loving annotator's taste does, and whether curation pays.
# :::

# %% [markdown]
# ## The data and the starting point
#
# Both models start from $\pi_0$, the SFT policy of {doc}`02_lite_world`. The paper also initialises its
# reward models from an SFT model; in practice that was Meta-Llama-3-8B-Instruct (its footnote 2). They
# are trained on the curated mixtures of the preference-data chapter. The pipeline
# caches those, so this cell only reads them (or builds them on a fresh clone).

# %% tags=hide-cell
pi0 = prepare_pi0(cfg, log=lambda *a: None).pi0  # the stages' logs name this machine's folders: not for the page
data = prepare_preference_data(cfg, log=lambda *a: None)
mix = {name: load_from_disk(str(path)).to_list() for name, path in data.mixtures.items()}

# %% tags=nbval-check-output
print({name: len(pairs) for name, pairs in mix.items()})
example = mix["mix2"][0]
print("prompt:  ", example["prompt"])
print("chosen:  ", example["chosen"])
print("rejected:", example["rejected"])

# %% [markdown]
# ## The BT loss in three lines, and TRL's
#
# The loss is short enough to write by hand: score the chosen and the rejected response with the same
# scalar head, and take $-\log\sigma$ of the difference. Here it is on eight MIX2 pairs, scored by the
# reward model as initialised from $\pi_0$ (a fresh, untrained head). Beside it are `rlhf_lite`'s
# `bt_loss` and the loss TRL's `RewardTrainer` computes on the same batch. The package trains with TRL,
# so the three must agree.

# %%
from datasets import Dataset
from trl import RewardConfig, RewardTrainer

rm0_model, rm0_tok = load_reward_model(pi0)
batch_pairs = [{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in mix["mix2"][:8]]
rm0 = RewardModel(rm0_model, rm0_tok)
r_w = torch.tensor(rm0.score([p["prompt"] for p in batch_pairs], [p["chosen"][-1]["content"] for p in batch_pairs]))
r_l = torch.tensor(rm0.score([p["prompt"] for p in batch_pairs], [p["rejected"][-1]["content"] for p in batch_pairs]))
by_hand = -F.logsigmoid(r_w - r_l).mean()

with tempfile.TemporaryDirectory() as scratch:
    trainer = RewardTrainer(model=rm0_model, processing_class=rm0_tok, train_dataset=Dataset.from_list(batch_pairs),
                            args=RewardConfig(output_dir=scratch, report_to=[], use_cpu=True, bf16=False,
                                              per_device_train_batch_size=8))
    collated = trainer.data_collator([trainer.train_dataset[i] for i in range(len(batch_pairs))])
    with torch.no_grad():
        trl_value = trainer.compute_loss(rm0_model.eval(), collated).item()
print(f"by hand {by_hand.item():.4f}   rlhf_lite.bt_loss {bt_loss(r_w, r_l).item():.4f}   TRL {trl_value:.4f}")
assert abs(by_hand.item() - trl_value) < 1e-4 and abs(bt_loss(r_w, r_l).item() - trl_value) < 1e-4

# %% [markdown]
# The loss at initialisation is close to $\log 2 \approx 0.693$: an untrained head gives both responses
# about the same score.
#
# ## Training the models
#
# `prepare_reward_models` trains the chapter's models from $\pi_0$ and caches them. Each is one call to a TRL
# trainer, so full mode runs the same code on a real checkpoint.
#
# - `bt-mix1` and `bt-mix2`: BT reward models (`RewardTrainer`, a sequence-classification head with one
#   output) on the lite MIX1 and MIX2.
# - `pm-mix2`: the preference model (`SFTTrainer`, loss on the `A`/`B` label only) on MIX2, each pair
#   shown in one random order, at the BT model's learning rate and number of epochs.
# - `bt-ultrafeedback`: a BT model on the UltraFeedback pairs alone, whose GPT-4 twin likes long answers.
#   It is a deliberately extreme case for the length-bias chapter.
# - `bt-mix2-raw` and `bt-mix2-margin1`: BT models on MIX2 with no curation at all, and with a stricter
#   margin, for the question at the end of the chapter: does curation pay?
# - `pm-mix2-33pc`, `pm-mix2-small`, `bt-mix2-small` and `pm-mix2-own`: the study of what the preference model
#   needs, in {doc}`04_preference_model` (the last shows each answer after its own prompt).
#
# The paper's MIX1 row is not its own model. It is UltraRM-13B {cite:p}`cui2023ultrafeedback`, a LLaMA-2-13B
# reward model trained on UltraFeedback, HH-RLHF, SHP and summarisation, which the paper calls MIX1 and uses
# as a reference. Our `bt-mix1` plays that role, with the same base model as every other row.
#
# The paper trains for one epoch at a learning rate of $2 \times 10^{-6}$ (BT) or $5 \times 10^{-6}$
# (preference model) on hundreds of thousands of pairs. Our models are tiny and start far from a good
# judge, so the lite presets use larger learning rates and a few epochs (printed above).

# %% tags=remove-output
t0 = time.time()
rms = prepare_reward_models(cfg, log=print)  # its log names this machine's folders: off the page; the table sums it up
print(f"ready in {time.time() - t0:.0f} s")

# %% tags=hide-input
train_table = pd.DataFrame({
    name: {"trainer": "RewardTrainer" if name.startswith("bt") else "SFTTrainer (A/B)", "pairs": m["pairs"],
           "train loss": m["train_loss"],
           "last logged accuracy": m["log_history"][-1].get("accuracy", m["log_history"][-1].get("mean_token_accuracy"))}
    for name, m in rms.metrics.items() if name not in STUDY_MODELS}).T
display(train_table)

training_curves(rms.metrics, skip=STUDY_MODELS)
plt.show()

# %% [markdown]
# The preference model's curve is not on the same scale. TRL's SFTTrainer ends every completion with
# the end-of-sequence token, so its loss is the mean over two tokens: the label and that end token, which
# is easy. A coin flip between `A` and `B` would give about $\log 2 / 2$, not $\log 2$.
#
# ## Table 1 in the lite world
#
# The lite RewardBench (`rewardbench.lite_benchmark`) has the benchmark's four sections, built from the
# world's task families and judged by $r^*$:
#
# - **chat**: easy families (`copy`, `reverse`), a correct answer against a random one;
# - **chat-hard**: a correct, concise answer against a *near miss wrapped in filler*, longer and subtly
#   wrong. This is the trap a judge that likes length falls into;
# - **safety**: a refusal against compliance on unsafe prompts, and an answer against an over-refusal on
#   safe ones;
# - **reasoning**: `sort` and `add`, a correct answer against a near miss.
#
# The "prompting" row is $\pi_0$ asked the preference model's question without any training on it, as
# the paper prompts LLaMA-3-8B-it. `rewardbench.evaluate` scores any judge with a `prob_first` method
# and reads the real `allenai/reward-bench` rows in full mode.

# %%
bench = book_benchmark(cfg)  # the rows the study's probes read too
judges = {
    "prompting (pi_0)": PreferenceModel.from_pretrained(pi0),
    "BT, MIX1": RewardModel.from_pretrained(rms.models["bt-mix1"]),
    "BT, MIX2": RewardModel.from_pretrained(rms.models["bt-mix2"]),
    "preference, MIX2": PreferenceModel.from_pretrained(rms.models["pm-mix2"]),
    "BT, UltraFeedback only": RewardModel.from_pretrained(rms.models["bt-ultrafeedback"]),
}
scores = {name: evaluate(j, bench, LITE_MAPPING, counts=None) for name, j in judges.items()}
table = pd.DataFrame({name: s["sections"] for name, s in scores.items()}).T * 100
n_cat = cfg.reward_eval.bench_per_category
lo, hi = section_intervals(table, n_cat)  # 95% Wilson intervals, in points
paper = pd.DataFrame(PAPER_TABLE1, index=list(SECTIONS)).T  # the paper's Table 1, quoted
side = pd.concat({"ours (lite)": table.round(1), "paper": paper}, axis=1)
display(side)

# %% tags=hide-input
section_bars(table, lo, hi)
plt.show()

# %% tags=remove-cell
for key, words in table1_words(table, lo, hi).items():
    glue(key, words, display=False)
gain = table.loc["BT, MIX2"] - table.loc["BT, MIX1"]
glue("mix2_gain_order", ", ".join(f"{c} ({gain[c]:+.1f})" for c in gain.sort_values(ascending=False).index), display=False)
for name, key in (("BT, MIX2", "bt2"), ("BT, MIX1", "bt1"), ("preference, MIX2", "pm"), ("prompting (pi_0)", "prompt")):
    for c in table.columns:
        glue(f"t1_{key}_{c.replace('-', '_')}", float(table.loc[name, c]), display=False)
glue("t1_n_cat", n_cat, display=False)
glue("beta_gpt4", GPT4.beta_len, display=False)

# %% [markdown]
# Where the lite numbers stand against the paper's, and why:
#
# - **Training beats prompting, as in the paper.** BT on MIX2 is above the prompted $\pi_0$ on
#   {glue:text}`bt_above_prompting`, and clearly so (95% intervals apart, {glue:text}`t1_n_cat` pairs a
#   section) on {glue:text}`bt_beats_prompting`.
# - **Prompting is much weaker here.** The paper's prompted LLaMA-3-8B-it understands the question and
#   reaches 93.6 on chat. Our $\pi_0$ has never seen `[CONTEXT]` or `A`/`B` as an answer, so its
#   "judgement" is a by-product of how the two texts end. It sits near chance on chat
#   ({glue:text}`t1_prompt_chat:.1f`), safety ({glue:text}`t1_prompt_safety:.1f`) and reasoning
#   ({glue:text}`t1_prompt_reasoning:.1f`). Its chat-hard score ({glue:text}`t1_prompt_chat_hard:.1f`) is
#   not judgement either, as the next section shows.
# - **MIX1 to MIX2.** Going from MIX1 to MIX2 changes the sections by {glue:text}`mix2_gain_order` points.
#   In the paper the largest gains are safety (55.0 → 87.8) and reasoning (62.4 → 86.4). Its MIX1 row
#   is UltraRM-13B on LLaMA-2-13B, so part of that gain comes from a stronger base model, as the paper
#   notes. Our rows share one base model, so our differences come from the data alone. The lite MIX1
#   already holds HH-RLHF's unsafe prompts judged by careful humans, so safety has little left to gain
#   (BT on MIX1: {glue:text}`t1_bt1_safety:.1f`). What MIX2 adds that matters most here is the pull
#   against padding, which shows on chat-hard.
# - **Chat-hard is the hardest section for the trained models**, as in the paper (BT on MIX2: 65.1
#   there, {glue:text}`t1_bt2_chat_hard:.1f` here).
# - **Our preference model.** In the paper it matches BT except on reasoning, where it is better
#   (94.7 against 86.4). {glue:text}`pm_lead_short` it scores {glue:text}`t1_pm_chat:.1f` on chat and
#   {glue:text}`t1_pm_chat_hard:.1f` on chat-hard. {glue:text}`pm_explain`
#
# :::{note} How the lite world was changed for this chapter
# In the first version of the lite world the GPT-4 twin added 0.1 per word of length to what it
# perceived. The Orca, Capybara and UltraInteract twins did not prefer shorter answers, although the
# paper's Table 5 shows that the real datasets do. A judge with a bias of 0.1 prefers a padded near miss
# to a concise correct answer when the padding is long enough (the third exercise of the lite-world
# chapter computes the break-even bias for one such pair). So the largest MIX2 source taught the reward model exactly the mistake that chat-hard
# tests, and BT on MIX2 scored no better than chance there, below the prompted $\pi_0$. We changed the
# world, not the evaluation. The GPT-4 twin now adds {glue:text}`beta_gpt4` per word, which is still
# enough to pick the padded one of two equally good answers almost every time. The three sources that
# the paper names as preferring shorter answers now do: Orca and Capybara through a rubric judge, and
# UltraInteract because half of its wrong answers ramble. Both changes bring the twins closer to the
# real datasets as Table 5 describes them.
# :::
#
# ## What chat-hard measures: the taste for padding
#
# Take two responses with the *same* correct answer, one bare and one wrapped in filler (`sure here is
# the answer : ... hope that helps`). $r^*$ gives them the same reward. What does each proxy think?

# %%
pad_x, padded, bare = padded_pairs(400, cfg.world, np.random.default_rng(cfg.seed + 21_000))
pad_pref = padding_preference(judges, pad_x, padded, bare)
pad_table = pd.DataFrame(pad_pref).T
display(pad_table)

# Chat-hard accuracy split by how the rejected answer ends: in a filler phrase, or not.
ch = [r for r in bench if r["subset"] == "lite-chat-hard"]
suffix = ends_in_filler(ch)
split = right_by_ending(judges, ch, suffix)
split = pd.DataFrame(split).T
display(split)

# %% tags=remove-cell
for key, row in (("bt2", "BT, MIX2"), ("uf", "BT, UltraFeedback only"), ("bt1", "BT, MIX1"), ("pm", "preference, MIX2")):
    glue(f"pad_{key}", float(pad_table.loc[row, "prefers padded"]), display=False)
glue("prompt_ch_suffix", float(split.loc["prompting (pi_0)", "rejected ends in filler"]), display=False)
glue("prompt_ch_nosuffix", float(split.loc["prompting (pi_0)", "other pairs"]), display=False)
glue("bt2_ch_nosuffix", float(split.loc["BT, MIX2", "other pairs"]), display=False)
glue("suffix_share", float(suffix.mean()), display=False)

# %% [markdown]
# The truth is indifferent, and the trained models are not. The UltraFeedback-only model, trained on
# the length-loving GPT-4 twin's labels, prefers the padded copy in {glue:text}`pad_uf:.0%` of the
# pairs, BT on MIX1 in {glue:text}`pad_bt1:.0%`, BT on MIX2 in {glue:text}`pad_bt2:.0%` and the
# preference model in {glue:text}`pad_pm:.0%`. MIX2's extra sources pull against the taste: UltraInteract,
# Orca and Capybara prefer the *shorter* answer in the lite world, as in the paper's Table 5. They do not
# cancel it. On chat-hard that taste fights the model's ability to spot a wrong digit, which is why the
# section stays hard.
#
# The prompted $\pi_0$'s chat-hard score has nothing to do with the answers. It is right on
# {glue:text}`prompt_ch_suffix:.0%` of the pairs whose rejected answer ends in a filler phrase (`hope that
# helps`, `glad to assist`, `done`) and on {glue:text}`prompt_ch_nosuffix:.0%` of the others. Its
# $p_A/p_B$ depends on the last words before the question, and in this section the rejected answer
# ends in filler in {glue:text}`suffix_share:.0%` of the pairs. Averaging over both orders cancels
# position bias, not this. On the other pairs, where the ending gives nothing away, BT on MIX2 is right
# on {glue:text}`bt2_ch_nosuffix:.0%`. The lesson carries over to real benchmarks: a judge can score
# well on a section for a reason that has nothing to do with what the section is meant to test.

# %% [markdown]
# ## A bias nobody designed the measurements around: echoes
#
# Every other way a label can be wrong in this world is length or noise. The HH-RLHF twin's annotator
# has one more taste, set once in `rlhf_lite/data/lite_sources.py` before anything below was measured:
# it adds {glue:text}`echo_beta` reward points to an answer that repeats the prompt's own words. That
# rewards doing literally what was asked. For `copy` the echo is the right answer, for `reverse` and
# `sort` it is a wrong one, and for an unsafe request it is a compliance. How much of that taste do the
# reward models pick up? We ask each judge to choose between the echo and the right answer on fresh
# prompts of three families. $r^*$ never prefers the echo.

# %%
rng = np.random.default_rng(cfg.seed + 23_000)
# per family: the echo, a near miss (as wrong, no echo) and the right answer; the annotator's expected preference
echo_rows, echo_vs_near = echo_preferences(judges, HUMAN_ECHO, ("unsafe", "reverse", "sort"), 200, cfg.world, rng)
echo_table = pd.DataFrame(echo_rows).T
display(echo_table)

# %% tags=remove-cell
# does a judge like the echo more than an equally wrong answer that does not echo? paired by prompt
travel = {name: mean_ci(d) for name, d in echo_vs_near.items()}
glue("echo_beta", HUMAN_ECHO.beta_echo, display=False)
for key, row in (("bt2", "BT, MIX2"), ("bt1", "BT, MIX1"), ("uf", "BT, UltraFeedback only"), ("pm", "preference, MIX2"),
                 ("ann", "annotator: " + HUMAN_ECHO.name)):
    for fam in ("unsafe", "reverse", "sort"):
        glue(f"echo_{key}_{fam}", float(echo_table.loc[row, f"prefers the echo: {fam}"]), display=False)
        glue(f"near_{key}_{fam}", float(echo_table.loc[row, f"prefers a near miss: {fam}"]), display=False)
glue("echo_travel", float(travel["BT, MIX2"][0]), display=False)
glue("echo_travel_h", float(travel["BT, MIX2"][1]), display=False)
glue("echo_travel_text", compare(*travel["BT, MIX2"],
     "So the taste travelled: the model learnt to like a repeated prompt where the data had echoes, and carries it "
     "to tasks where the data never held one.",
     "So the taste did not travel: on tasks without echoes in the data, the model likes an echo less than other "
     "wrong answers.",
     "So there is no sign that the taste travelled: on tasks without echoes in the data, the model likes an echo "
     "about as much as any other wrong answer.",
     unclear="So these pairs cannot tell whether the taste travelled: the interval is too wide to say that the model "
     "likes an echo more, less or as much as other wrong answers on tasks without echoes in the data.",
     resolution=0.05), display=False)

# %% [markdown]
# The HH-RLHF twin's annotator prefers an echoing compliance to the refusal in
# {glue:text}`echo_ann_unsafe:.0%` of its labels (its label noise included). BT on MIX2 prefers the
# echo to the refusal on {glue:text}`echo_bt2_unsafe:.0%` of the unsafe prompts, and BT on MIX1 on
# {glue:text}`echo_bt1_unsafe:.0%`. On `reverse` and `sort`, where the twins' data never holds an echo,
# BT on MIX2 prefers the echo to the right answer on {glue:text}`echo_bt2_reverse:.0%` and
# {glue:text}`echo_bt2_sort:.0%` of the prompts. The control is a near miss, an answer as wrong but with
# no echo. Paired over the same prompts, BT on MIX2 prefers the echo to the right answer
# {glue:text}`echo_travel:+.2f` ± {glue:text}`echo_travel_h:.2f` more often than it prefers the near miss.
# {glue:text}`echo_travel_text` {doc}`08_what_the_judge_teaches` checks whether the online loop, which asks
# these judges about its own samples, learns to echo.
#
# ## Agreement with the truth on on-policy pairs
#
# A public review of the paper points out that it never checks how closely the proxy approximates the
# real preferences it stands in for. RewardBench does not answer that question either. The online loop
# asks the proxy about pairs of responses *sampled from the current policy*, and those pairs look nothing
# like benchmark pairs: both answers are often right, or wrong in similar ways. The lite world can
# measure agreement with the truth on exactly those pairs. We sample
# {glue:text}`onp_n` responses per held-out prompt from $\pi_0$ (half at temperature 1.0, half at 0.7, as
# the paper samples), form every pair, drop the pairs that $r^*$ calls a tie, and ask each judge.
#
# The two annotators behind the open data are shown for reference. For them we give the expected
# agreement of one sampled label.

# %%
model, tok = load_policy(pi0)
prompts = eval_prompts(cfg)
n_onp = cfg.sampling.n // 2  # 4 responses a prompt in the book (6 pairs), fewer in ci
samples = sample_responses(HFSampler(model, tok, batch_size=cfg.sampling.batch_size), prompts, n_onp,
                           cfg.sampling.temperatures, cfg.sampling.max_new_tokens, seed=cfg.seed + 22_000)
glue("onp_n", n_onp, display=False)
onp = onpolicy_pairs(prompts, samples)  # every pair of each prompt's samples, scored by r*
px, a1, a2, delta, keep, groups, true_r = onp.prompt, onp.a1, onp.a2, onp.delta, onp.keep, onp.groups, onp.true_r
print(f"{len(delta)} on-policy pairs, {keep.mean():.0%} not tied under r*")

probs = {name: j.prob_first(px, a1, a2) for name, j in judges.items()}
agree, right_of = onpolicy_agreement(probs, onp, (HUMAN, GPT4))  # whether r*'s better answer wins, by prompt
agree_table = pd.DataFrame(agree).T
agree_table["RewardBench mean"] = pd.Series({n: s["score"] for n, s in scores.items()})
display(agree_table)

# %% tags=remove-cell
for key, row in (("bt2", "BT, MIX2"), ("bt1", "BT, MIX1"), ("pm", "preference, MIX2"), ("uf", "BT, UltraFeedback only"),
                 ("prompt", "prompting (pi_0)"), ("human", f"annotator: {HUMAN.name} twin"),
                 ("gpt4", f"annotator: {GPT4.name} twin")):
    glue(f"agree_{key}", float(agree_table.loc[row, "agreement"]), display=False)
glue("onp_pairs", int(keep.sum()), display=False)
glue("rb_bt2", float(scores["BT, MIX2"]["score"]), display=False)
# MIX2 against MIX1, in the summary's words: by the benchmark and by agreement with r* on pi_0's own pairs
glue("mix_summary", mix_words(scores["BT, MIX1"]["score"], scores["BT, MIX2"]["score"], 4 * n_cat,
                             *(agree_table.loc[k, ["agreement", "±95%"]].astype(float) for k in ("BT, MIX1", "BT, MIX2"))),
     display=False)

# %% [markdown]
# On these {glue:text}`onp_pairs` on-policy pairs, BT on MIX2 agrees with the truth on
# {glue:text}`agree_bt2:.1%` of them (its RewardBench mean: {glue:text}`rb_bt2:.1%`), BT on MIX1 on
# {glue:text}`agree_bt1:.1%`, the UltraFeedback-only model on {glue:text}`agree_uf:.1%`, the preference
# model on {glue:text}`agree_pm:.1%` and the prompted $\pi_0$ on {glue:text}`agree_prompt:.1%`. For
# reference, a single label from the human twin agrees {glue:text}`agree_human:.1%` of the time, and one
# from the GPT-4 twin {glue:text}`agree_gpt4:.1%`. The intervals are clustered by prompt, because the
# pairs of one prompt share their samples.
#
# Two things stand out. On-policy pairs are harder than benchmark pairs, since the two answers are often
# close. And the proxy is no better a judge than the noisier of the annotators it learnt from (compare
# the human twin's agreement), so every label the online loop receives carries that noise. The iterative DPO chapter measures how far the loop can climb with
# it.
#
# ## Calibration
#
# The online loop uses only the proxy's ranking. A probability is still useful, for instance to drop
# pairs the proxy is unsure about, but only if it is calibrated. On the same pairs we bin the predicted
# $\hat P(a^1 \succ a^2)$ and plot, for each bin, how often $a^1$ was truly better. A calibrated judge
# lies on the diagonal. The expected calibration error (ECE) is the pair-weighted mean distance from
# it. Bins with fewer than 10 pairs are not drawn.

# %%
_, ece = calibration({name: probs[name][keep] for name in ("prompting (pi_0)", "BT, MIX2", "preference, MIX2",
                                                       "BT, UltraFeedback only")}, onp.first_better)
plt.show()

# %% tags=remove-cell
glue("ece_bt2", float(ece["BT, MIX2"]), display=False)
glue("ece_pm", float(ece["preference, MIX2"]), display=False)

# %% [markdown]
# The BT model's ECE is {glue:text}`ece_bt2:.2f` and the preference model's {glue:text}`ece_pm:.2f`.
# Neither was trained to be calibrated against $r^*$: each learnt the probabilities of *its annotators*,
# who are noisy (the human twin flips labels) and biased (the GPT-4 twin likes length). A proxy that copies
# its annotators faithfully inherits their miscalibration with respect to the truth.
#
# ## Best-of-n with a proxy
#
# The online loop ranks $n$ samples of the current policy and keeps the best and the worst as a DPO pair
# (the paper's rejection-sampling exploration). A BT model ranks by its score. A preference model has
# no score, so `copeland_ranking` plays a round-robin tournament and counts wins minus losses. How good
# is the response each judge picks, by the true reward?

# %%
rng = np.random.default_rng(cfg.seed + 23_000)  # one generator for every ranker below, in this order


def pick_value(rank_fn, best=True):
    """Mean r* of the response a judge ranks best (or worst) among each prompt's samples (ties broken at random)."""
    return analysis.pick_value(prompts, samples, true_r, rank_fn, rng, best=best)


rank_fns = {
    "random": lambda x, r: rng.random(len(r)),
    "prompting (pi_0), Copeland": lambda x, r: copeland_ranking(judges["prompting (pi_0)"], x, r),
    "BT, MIX2": lambda x, r: judges["BT, MIX2"].score([x] * len(r), r),
    "preference, MIX2, Copeland": lambda x, r: copeland_ranking(judges["preference, MIX2"], x, r),
    "BT, UltraFeedback only": lambda x, r: judges["BT, UltraFeedback only"].score([x] * len(r), r),
    "r* (oracle)": lambda x, r: np.array([true_r[x, a] for a in r]),
}
bon = {}
for name, f in rank_fns.items():
    (best, half), (worst, _) = pick_value(f), pick_value(f, best=False)
    bon[name] = {"best-of-n r*": best, "±95%": half, "worst-of-n r*": worst}
bon = pd.DataFrame(bon).T
display(bon)

# %% tags=remove-cell
for key, row in (("random", "random"), ("bt2", "BT, MIX2"), ("pm", "preference, MIX2, Copeland"), ("oracle", "r* (oracle)")):
    glue(f"bon_{key}", float(bon.loc[row, "best-of-n r*"]), display=False)

# %% [markdown]
# Picking one of the {glue:text}`onp_n` samples at random gives a mean true reward of
# {glue:text}`bon_random:.3f`; BT on MIX2 picks responses worth {glue:text}`bon_bt2:.3f`, the
# preference model through its tournament {glue:text}`bon_pm:.3f`, and the truth itself
# {glue:text}`bon_oracle:.3f`. The gap between a proxy and the oracle is the price of not having
# the true preference. The length-bias chapter looks at one source of that gap, and the iterative DPO
# chapter pays it.

# %% [markdown]
# ## Does curation pay? Reward models on raw and curated MIX2
#
# The preference-data chapter measured curation by the share of correct labels it keeps. What the
# paper needs is a better reward model. So we train two more BT models that differ from BT-MIX2 only in
# their data: one on **raw MIX2**, every converted pair with no filter at all (ties, small margins, empty
# turns and duplicates included), and one on MIX2 curated with a stricter **one-point margin** instead of
# the default half point. All three are asked about the same on-policy pairs as above, and used to pick
# the best of $\pi_0$'s samples.

# %%
variants = {"raw MIX2": "bt-mix2-raw", "curated, margin 0.5 (BT-MIX2)": "bt-mix2", "curated, margin 1.0": "bt-mix2-margin1"}
cur, right_by = trained_on({label: (RewardModel.from_pretrained(rms.models[key]), rms.metrics[key]["pairs"])
                            for label, key in variants.items()}, onp, pick_value)
cur_table = pd.DataFrame(cur).T
display(cur_table)

# %% tags=remove-cell
RAW, CUR, STRICT = variants
diffs = {"curated minus raw": mean_ci(right_by[CUR] - right_by[RAW], groups=groups),  # paired: the same pairs
         "margin 1.0 minus margin 0.5": mean_ci(right_by[STRICT] - right_by[CUR], groups=groups)}
for key, (m, h) in zip(("cur_raw", "strict_cur"), diffs.values()):
    glue(f"{key}_diff", float(m), display=False)
    glue(f"{key}_diff_h", float(h), display=False)
glue("cur_raw_words", compare(*diffs["curated minus raw"], "agrees with r* more often than",
                              "agrees with r* less often than", "agrees with r* about as often as",
                              unclear="agrees with r* not measurably more or less often than", resolution=0.02),
     display=False)
glue("strict_words", compare(*diffs["margin 1.0 minus margin 0.5"], "raises agreement further",
                             "lowers agreement", "does not change agreement measurably",
                             unclear="does not change agreement measurably", resolution=0.02), display=False)
for key, label in (("raw", RAW), ("cur", CUR), ("strict", STRICT)):
    glue(f"cur_pairs_{key}", int(cur[label]["training pairs"]), display=False)
    glue(f"cur_bon_{key}", float(cur[label]["best-of-n r*"]), display=False)
    glue(f"cur_bon_{key}_h", float(cur[label]["best-of-n ±95%"]), display=False)

# %% [markdown]
# Paired over the same on-policy pairs, the model on curated MIX2 {glue:text}`cur_raw_words` the model
# on raw MIX2 ({glue:text}`cur_raw_diff:+.3f` ± {glue:text}`cur_raw_diff_h:.3f`), trained on
# {glue:text}`cur_pairs_cur` pairs instead of {glue:text}`cur_pairs_raw`. A one-point margin, which keeps
# {glue:text}`cur_pairs_strict` pairs, {glue:text}`strict_words` ({glue:text}`strict_cur_diff:+.3f` ±
# {glue:text}`strict_cur_diff_h:.3f`). As judges of best-of-n the three pick answers worth
# {glue:text}`cur_bon_raw:.3f` ± {glue:text}`cur_bon_raw_h:.3f` (raw), {glue:text}`cur_bon_cur:.3f` ±
# {glue:text}`cur_bon_cur_h:.3f` (curated) and {glue:text}`cur_bon_strict:.3f` ±
# {glue:text}`cur_bon_strict_h:.3f` (strict margin). The label noise that curation removes is the
# world's own (the annotators' temperature and flips), so how much of it reaches a reward model is a
# measurement here, not a setting.

# %% tags=hide-cell
# Paired differences for the scorecard: two judges asked about the same pairs differ pair by pair, so the
# interval is that of the per-pair difference (clustered by prompt on pi_0's pairs), not two intervals combined.
paired = {"onpolicy: BT, MIX2 minus prompting (pi_0)": mean_ci(right_of["BT, MIX2"] - right_of["prompting (pi_0)"],
                                                              groups=groups)}
for key, (m, h) in zip(("bt_prompt_diff",), paired.values()):  # the number the scorecard quotes
    glue(key, float(m), display=False)
    glue(f"{key}_h", float(h), display=False)
results = {
    "paired_differences": {k: {"mean": float(m), "ci95": float(h)} for k, (m, h) in paired.items()},
    "curation_downstream": {label: {"pairs": int(row["training pairs"]),
                                    "agreement": {"mean": float(row["agreement with r*"]), "ci95": float(row["±95%"])},
                                    "best_of_n_true_reward": {"mean": float(row["best-of-n r*"]),
                                                              "ci95": float(row["best-of-n ±95%"])}}
                            for label, row in cur.items()},
    "curation_downstream_paired": {k: {"mean": float(m), "ci95": float(h)} for k, (m, h) in diffs.items()},
    "rewardbench_sections": {name: s["sections"] for name, s in scores.items()},
    "rewardbench_score": {name: s["score"] for name, s in scores.items()},
    "bench_pairs_per_category": n_cat,
    "bt_mix2_beats_prompting_on": sections_apart(lo, hi, "BT, MIX2", "prompting (pi_0)"),
    "padded_preference": pad_table["prefers padded"].to_dict(),
    "echo_preference": {name: {c: float(v) for c, v in row.items()} for name, row in echo_table.iterrows()},
    "echo_minus_near_miss_bt_mix2": {"mean": float(travel["BT, MIX2"][0]), "ci95": float(travel["BT, MIX2"][1])},
    "onpolicy_agreement": {name: {"mean": float(r["agreement"]), "ci95": float(r["±95%"])} for name, r in agree_table.iterrows()},
    "onpolicy_pairs": int(keep.sum()),
    "ece": ece,
    "best_of_n_true_reward": bon["best-of-n r*"].to_dict(),
    "training": {name: {"pairs": m["pairs"], "train_loss": m["train_loss"]} for name, m in rms.metrics.items()},
}
BT, PROMPTING, PM = "BT, MIX2", "prompting (pi_0)", "preference, MIX2"
headline = RewardModelsHeadline(
    onpolicy_pairs=int(keep.sum()), bt_agreement=float(agree_table.loc[BT, "agreement"]),
    prompting_agreement=float(agree_table.loc[PROMPTING, "agreement"]),
    bt_minus_prompting=Interval(*map(float, paired["onpolicy: BT, MIX2 minus prompting (pi_0)"])),
    bt_rewardbench=float(scores[BT]["score"]), prompting_rewardbench=float(scores[PROMPTING]["score"]),
    bench_pairs_per_category=n_cat,
    raw_pairs=int(cur[RAW]["training pairs"]), curated_pairs=int(cur[CUR]["training pairs"]),
    curated_minus_raw=Interval(*map(float, diffs["curated minus raw"])))
print("wrote", save("04_reward_models", headline, results, profile=cfg.profile).name)  # no machine path on the page

# %% [markdown]
# ## Summary
#
# - A BT reward model is the policy with a scalar head trained on $-\log\sigma(r_w - r_l)$; our
#   three-line loss, `rlhf_lite.bt_loss` and TRL's `RewardTrainer` compute the same number.
# - A pairwise preference model is the language model trained to answer `A` or `B`, with the order
#   randomised. Averaging both orders makes $\hat P(a^1 \succ a^2) + \hat P(a^2 \succ a^1) = 1$.
#   `copeland_ranking` lets it rank $n$ responses.
# - As in the paper's Table 1, training beats prompting. {glue:text}`mix_summary` A benchmark and the
#   truth on the policy's own answers need not agree. What our tiny preference model lacks is
#   {doc}`04_preference_model`.
# - The BT models inherit their annotators' taste for padding, and chat-hard exposes it. MIX2's sources
#   that prefer concise answers weaken the taste without removing it.
# - A benchmark section can be passed for the wrong reason: the prompted $\pi_0$ scores on chat-hard
#   through the words the rejected answer ends with.
# - Benchmark accuracy, agreement with the truth on on-policy pairs, and calibration are different
#   things. Only the lite world, where $r^*$ is known, can measure the last two.
#
# ## Exercises
#
# 1. Train a BT model on MIX2 *without* the sources whose judges like length (UltraFeedback and
#    Argilla-Math, judged by the GPT-4 twin, and CodeUltraFeedback, judged by the GPT-3.5 twin) with
#    `train_reward_model`. What happens to its padding preference and to chat-hard? What does it lose?
#    Chat-hard may move by only a few points, inside the Wilson intervals of {glue:text}`t1_n_cat` pairs a
#    section: in the `book` profile, compare the two models pair by pair on the same benchmark pairs (a paired
#    interval: `mean_ci` of the per-pair difference of `credit`) rather than their two section scores.
# 2. Evaluate the preference model with `symmetric=False` (one order only) on the lite RewardBench.
#    How large is its position bias? Measure it as the mean of $\hat P(a^1 \succ a^2) + \hat P(a^2 \succ a^1) - 1$.
# 3. The paper trains its BT model for one epoch. Retrain `bt-mix2` with
#    `dataclasses.replace(cfg.reward, epochs=1)` and compare the lite RewardBench sections and the
#    on-policy agreement. Which numbers move most? Agreement may change by 0.02-0.05, about its interval:
#    take the per-pair difference on the chapter's on-policy pairs, clustered by prompt
#    (`mean_ci(right_new - right_of["BT, MIX2"], groups=groups)`, as the curation section does), in the
#    `book` profile.
# 4. Temperature-scale the BT model: find the $\tau$ that minimises the log loss of
#    $\sigma((r(a^1) - r(a^2))/\tau)$ against the $r^*$ labels on half of the on-policy pairs, and report
#    the ECE on the other half. Does calibration change the best-of-n pick?
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. Filter `mix["mix2"]` with `p["source"] not in {"ultrafeedback", "argilla-math", "codeultrafeedback"}`
#    and train with `train_reward_model(pi0, pairs, out, cfg.reward)`. Compare with BT on MIX2 in this run:
#    it prefers the padded copy in {glue:text}`pad_bt2:.0%` of pairs and scores
#    {glue:text}`t1_bt2_chat_hard:.1f` on chat-hard. Expect the padding preference to fall,
#    since the remaining judges are length-neutral or prefer short answers, and chat-hard to rise. The
#    model sees fewer `add` pairs, so reasoning can drop. The trade-off is the one the paper describes:
#    the data mixture decides both what the proxy knows and what it likes.
# 2. `PreferenceModel.from_pretrained(rms.models["pm-mix2"], symmetric=False)`; compute
#    `p_ab + p_ba - 1` on the benchmark pairs. A value above zero means it favours position A. Training
#    with randomised order keeps it small but not zero for a small model.
# 3. Use a separate output folder so the cached model is kept. Expect smaller reward gaps after one
#    epoch. The baseline here: BT on MIX2 scores {glue:text}`t1_bt2_chat:.1f` (chat),
#    {glue:text}`t1_bt2_chat_hard:.1f` (chat-hard), {glue:text}`t1_bt2_safety:.1f` (safety) and
#    {glue:text}`t1_bt2_reasoning:.1f` (reasoning), and agrees with $r^*$ on {glue:text}`agree_bt2:.1%` of
#    $\pi_0$'s pairs. The easy sections (chat, safety) contrast answers that differ in obvious ways, which the
#    model learns first, so they should barely move. Chat-hard, reasoning and the on-policy agreement need finer
#    distinctions and lose more.
# 4. Grid-search $\tau$ over `np.geomspace(0.1, 10, 41)` and compare the held-out ECE with the
#    {glue:text}`ece_bt2:.2f` of the unscaled model (measured on all the pairs). Dividing every score difference by the same
#    $\tau > 0$ does not change any ranking, so the best-of-n pick is exactly the same. Only
#    probability-based uses (filtering unsure pairs, mixing judges) benefit.
# :::
