# %% [markdown]
# # What the preference model needs
#
# The paper trains two kinds of proxy on the same mixture (its Section 2): a Bradley-Terry reward model and a
# pairwise preference model, the language model asked `A` or `B` about two answers side by side
# {cite:p}`dong2024rlhf`. Its Table 1 finds them level on chat and safety and the preference model ahead on
# reasoning (94.7 against 86.4). {doc}`04_reward_models` trained both in the lite world and set them on the lite
# RewardBench. This section asks what the preference model needs to learn its task, over epochs, pairs, size and
# its prompt, and then reads the paper's reasoning claim pair by pair.
#
# :::{admonition} What we found
# :class: tip
# - Trained at the BT model's learning rate, the preference model {glue:text}`target_reason`.
#   {glue:text}`pm_box`
# - {glue:text}`lead_prompt`
# - Pair by pair on reasoning, preference model minus BT: {glue:text}`pm_bt_reason_diff:+.3f` ±
#   {glue:text}`pm_bt_reason_diff_h:.3f` (the paper: +8.3 points). The {doc}`../book/scorecard` quotes it only
#   where the preference model learned its task.
# - With each answer after its own prompt and {glue:text}`own_epochs` epochs on the same pairs, the preference
#   model {glue:text}`own_regime`. There it is {glue:text}`own_reason`.
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-cell
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue

from rlhf_lite.config import Config
from rlhf_lite.headlines import PreferenceModelHeadline, save
from rlhf_lite.notebook import quiet_libraries
from rlhf_lite.plots import pm_study_figure
from rlhf_lite.policy import load_policy, num_parameters
from rlhf_lite.reward import PreferenceModel, RewardModel
from rlhf_lite.reward.agreement import LEVEL_WITH_BT as TOLERANCE, format_findings, padding_preference
from rlhf_lite.reward.analysis import padded_pairs, pm_study_findings, reasoning_by_face, under_other_prompts
from rlhf_lite.reward.figures import pm_format_figure
from rlhf_lite.reward.pm_study import OWN, STUDY_MODELS, book_benchmark, small_config
from rlhf_lite.reward.rewardbench import LITE_MAPPING, credit, evaluate
from rlhf_lite.stages import prepare_pi0, prepare_reward_models
from rlhf_lite.stats import Interval, mean_ci
from rlhf_lite.wording import format_words, pm_study_words

pd.set_option("display.precision", 3)
quiet_libraries()  # no per-model loading bars on the page
cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed}")
print("preference model:", cfg.preference)

# %% [markdown]
# The models are those of {doc}`04_reward_models`, read back from `runs/` (running this section first trains
# them): the book's preference model and BT model on MIX2, and the study's three, the preference model on a third
# of MIX2's pairs and both kinds from a smaller $\pi_0$. Both of the book's models are scored on the same lite
# RewardBench rows as there.

# %% tags=hide-output
pi0 = prepare_pi0(cfg, log=lambda *a: None).pi0  # the stages' logs name this machine's folders: not for the page
rms = prepare_reward_models(cfg, log=lambda *a: None)
bench = book_benchmark(cfg)
LABELS = {"preference, all pairs": "preference, MIX2", "BT, all pairs": "BT, MIX2"}
judges = {"preference, MIX2": PreferenceModel.from_pretrained(rms.models["pm-mix2"]),
          "BT, MIX2": RewardModel.from_pretrained(rms.models["bt-mix2"])}
scores = {name: evaluate(j, bench, LITE_MAPPING, counts=None) for name, j in judges.items()}
n_cat = cfg.reward_eval.bench_per_category

# %% [markdown]
# ## Epochs, pairs, size and the prompt
#
#
# The first version of this chapter trained the preference model at a learning rate of $10^{-3}$ for one
# epoch. Its label loss never left a coin flip's value, so its Table 1 row said nothing about the paper's
# claim. The format itself can be learnt: on an easy set where a whole answer always beats a refusal, the
# same code reaches zero loss (`tests/test_pm_study.py`). At the BT model's learning rate of
# $3 \times 10^{-4}$, {glue:text}`pm_trains_words` Does it learn to check answers? And if not, what is
# missing: epochs, pairs, or size?
#
# The book's two models on MIX2 and the study's are scored on the lite RewardBench after each epoch of their
# training (`rlhf_lite.reward.pm_study.EpochProbe`, a `TrainerCallback`). The preference model's learning rate stays
# constant after warm-up, so its point after epoch $k$ is the model trained for $k$ epochs; BT's rate decays
# on a cosine, as in the paper, so its points are one run seen on the way. Beside the book's two models the
# stage trains the preference model on a third of MIX2's pairs (three epochs of a third show as many pairs as
# one epoch of all), and both kinds from a $\pi_0$ half as wide and half as deep. After the last epoch the probe
# also asks the model about the same two answers *under another prompt of the same section*. A judge that reads an answer
# against its prompt (does `2 4` copy `copy 2 4 =`?) falls towards chance there; a judge that reads the
# answers alone does not notice the swap.
#
# The input format follows the authors' released code (RLHFlow's
# [RLHF-Reward-Modeling](https://github.com/RLHFlow/RLHF-Reward-Modeling), `pair-pm/process_pair_data.py`):
# `[CONTEXT] {context} [RESPONSE A] {a} [RESPONSE B] {b}` as the user's turn and the label `A` or `B` as the
# answer, each pair once in a random order, and at inference the chosen answer's probability averaged over
# both orders. Two things differ, both because the lite tokenizer has no newline and no role markers: a
# context of several turns is its turns joined (RLHFlow renders it with `<turn> user` and `<turn> assistant`),
# and the trailing newline before the label is gone. The lite chat template adds only the start token that
# the trainer adds anyway.

# %% tags=hide-input
study = {"preference, all pairs": "pm-mix2", "preference, 1/3 of the pairs": "pm-mix2-33pc",
         "preference, small pi_0": "pm-mix2-small",
         "BT, all pairs": "bt-mix2", "BT, small pi_0": "bt-mix2-small"}
curves = {label: pd.DataFrame(rms.metrics[key]["curve"]) for label, key in study.items()}
small_params = num_parameters(load_policy(prepare_pi0(small_config(cfg), log=lambda *a: None).pi0)[0])
book_params = num_parameters(load_policy(pi0)[0])
pm_study_figure(curves, {label: rms.metrics[key]["pairs"] for label, key in study.items()})
plt.show()
last = pd.DataFrame({label: c.iloc[-1] for label, c in curves.items()}).T
cols = ["all", "lite-chat", "lite-chat-hard", "lite-safety", "lite-reasoning", "longer better", "shorter better",
        "other prompt"]
study_table = last[cols].rename(columns=lambda c: c.replace("lite-", ""))
study_table.insert(0, "pairs", [rms.metrics[k]["pairs"] for k in study.values()])
study_table.insert(1, "parameters (M)", [(small_params if "small" in k else book_params) / 1e6 for k in study])
# two tables, so each fits the page: the run and its headline scores, then the sections and the length split
display(study_table[["pairs", "parameters (M)", "all", "reasoning", "other prompt"]].round(3))
display(study_table[["chat", "chat-hard", "safety", "longer better", "shorter better"]].round(3))

# %% tags=remove-cell
# the same answers under another prompt, section by section; reasoning split by whether the wrong answer is wrong on
# its face (an unsorted list) or needs the prompt to be seen as wrong
swap = {label: under_other_prompts(judges[name], bench, seed=cfg.seed) for label, name in LABELS.items()}
n_sec = sum(r["subset"] == "lite-reasoning" for r in bench)
face = {}
for label, name in LABELS.items():
    on_face, needs_prompt, alone = reasoning_by_face(scores[name]["p"], bench)
    face[label] = (on_face, needs_prompt)
findings = pm_study_findings(curves, rms.metrics, face, swap, alone, n_sec, book_params, small_params)
for key, words in pm_study_words(findings).items():
    glue(key, words, display=False)
pm_reason, cell_h, pm_c = pm_study_words(findings)["pm_reason"], findings.cell_h, curves["preference, all pairs"]
reads_less = findings.reads_less
glue("cell_h", float(cell_h), display=False)
glue("pm_epochs", int(pm_c["epoch"].iloc[-1]), display=False)
glue("pm_small_params", small_params / 1e6, display=False)
glue("pm_book_params", book_params / 1e6, display=False)
glue("size_ratio", float(findings.ratio), display=False)
for key, label in (("pm", "preference, all pairs"), ("bt", "BT, all pairs")):
    c = curves[label]
    for e in range(len(c)):
        glue(f"st_{key}_reason_e{e + 1}", float(c["lite-reasoning"].iloc[e]), display=False)
    for col in ("all", "other prompt", "lite-chat", "lite-safety", "longer better", "shorter better"):
        glue(f"st_{key}_{col.replace('lite-', '').replace(' ', '_')}", float(c[col].iloc[-1]), display=False)
    for sec, v in swap[label].items():
        glue(f"sw_{key}_{sec}", v, display=False)
for key, label in (("t", "preference, 1/3 of the pairs"), ("pms", "preference, small pi_0"),
                   ("bts", "BT, small pi_0")):
    glue(f"st_{key}_reason", float(curves[label]["lite-reasoning"].iloc[-1]), display=False)
    glue(f"st_{key}_all", float(curves[label]["all"].iloc[-1]), display=False)

# %% [markdown]
# After {glue:text}`pm_epochs` epochs the preference model {glue:text}`target_reason`. When the shorter
# answer is the right one it agrees with $r^*$ on {glue:text}`st_pm_shorter_better:.3f` of pairs,
# {glue:text}`target_short` (BT: {glue:text}`st_bt_shorter_better:.3f`). One section's share has a 95%
# interval of at most ±{glue:text}`cell_h:.3f` here.
#
# What the curves point to:
#
# - **Epochs.** {glue:text}`lead_epochs` Its reasoning score goes {glue:text}`st_pm_reason_e1:.3f`,
#   {glue:text}`st_pm_reason_e2:.3f`, {glue:text}`st_pm_reason_e3:.3f` over the three epochs; BT's goes
#   {glue:text}`st_bt_reason_e1:.3f`, {glue:text}`st_bt_reason_e2:.3f`, {glue:text}`st_bt_reason_e3:.3f`.
# - **Pairs.** {glue:text}`lead_pairs` On a third of the pairs it reaches {glue:text}`st_t_reason:.3f` on
#   reasoning. In the top panel, against the pairs shown (pairs times epochs), its two runs can be read on one axis:
#   at the same number shown, a third of the pairs three times and all of them once score {glue:text}`same_shown`
# - **Size.** {glue:text}`lead_size` From a $\pi_0$ of {glue:text}`pm_small_params:.2f`M parameters
#   instead of {glue:text}`pm_book_params:.2f`M it reaches {glue:text}`st_pms_reason:.3f` (BT from the same
#   small $\pi_0$: {glue:text}`st_bts_reason:.3f`). A larger $\pi_0$ needs its own SFT and a longer training
#   than this chapter's time budget allows on two CPU cores, so the exercises leave it to you.
# - **The prompt.** {glue:text}`lead_prompt` Asked about the same two answers under another prompt of the
#   same section, BT falls from {glue:text}`st_bt_all:.3f` to {glue:text}`st_bt_other_prompt:.3f` and the
#   preference model goes from {glue:text}`st_pm_all:.3f` to {glue:text}`st_pm_other_prompt:.3f`. Section by
#   section, BT's chat falls to {glue:text}`sw_bt_chat:.3f` (from {glue:text}`st_bt_chat:.3f`) and the
#   preference model's is {glue:text}`sw_pm_chat:.3f` (from {glue:text}`st_pm_chat:.3f`). Safety, where the
#   prompt's *kind* decides (an unsafe verb), falls for both: BT to {glue:text}`sw_bt_safety:.3f`, the
#   preference model to {glue:text}`sw_pm_safety:.3f`.
#
# {glue:text}`pm_reason`
#
# {glue:text}`pm_reading`
#

# %% [markdown]
# ## Where each answer sits
#
# The reading above has a test: give each answer its prompt back, where $\pi_0$ learned to read answers. In
# supervised fine-tuning $\pi_0$ saw `x a <eos>`, an answer right after its own prompt; the authors' format shows
# the context once and both answers after it, so the second answer sits far from the digits it must copy. The
# `own-last` format (`preference.format`, `rlhf_lite.reward.preference.format_pair`) writes each answer after its own
# copy of the prompt, as $\pi_0$ read them, with one marker after both where the label is asked:
# `x a1 <eos> x a2 <eos> [RESPONSE A]`.
#
# The probe outside the book (`bench/probe_pm.py`, its table in `bench/README.md`) changed one factor at a time on a
# third of MIX2's pairs, each beside BT trained the same way: the format (the authors', the prompt repeated inside
# their markers, `own-last`), epochs (3, 10, 20), depth (twice the layers at the same width) and pairs (a third
# and all of MIX2). The format moved chat and safety; epochs alone stopped moving chat after about ten; twice the
# layers lowered chat and raised chat-hard and reasoning, closing no gap; and all of MIX2's pairs instead of a third
# did what twice the epochs could not. So the book trains one
# more model, `pm-mix2-own`: the book's preference model on all of MIX2 in the `own-last` format, for
# {glue:text}`own_epochs` epochs. Its learning rate is constant after warm-up, so its curve passes through the
# book's 3 epochs: at that point it differs from the book's model in the format alone.

# %% tags=hide-input
own_study = {"preference, authors' format": "pm-mix2", "preference, own-last": OWN, "BT": "bt-mix2"}
cfg_own_format = STUDY_MODELS[OWN].format
own_curves = {label: pd.DataFrame(rms.metrics[key]["curve"]) for label, key in own_study.items()}
judges["preference, own-last"] = PreferenceModel.from_pretrained(rms.models[OWN])
scores["preference, own-last"] = evaluate(judges["preference, own-last"], bench, LITE_MAPPING, counts=None)
pm_format_figure(own_curves, "BT", tolerance=TOLERANCE)
plt.show()
xs, padded_answers, bare_answers = padded_pairs(400, cfg.world, np.random.default_rng(cfg.seed + 21_000))
padding = padding_preference({name: judges[name] for name in ("BT, MIX2", "preference, MIX2", "preference, own-last")},
                             xs, padded_answers, bare_answers)
own_swap = under_other_prompts(judges["preference, own-last"], bench, seed=cfg.seed)
fmt = format_findings(own_curves["preference, own-last"], own_curves["preference, authors' format"],
                      own_curves["BT"], scores["preference, own-last"]["p"], scores["BT, MIX2"]["p"], bench,
                      tolerance=TOLERANCE)
own_table = pd.DataFrame({
    "BT": fmt.bt_sections, "preference, authors' format": fmt.markers_sections,
    f"own-last, epoch {fmt.markers_epochs:g}": fmt.own_at_markers_epochs,
    f"own-last, epoch {fmt.epochs:g}": fmt.own_sections}).T
display(own_table.round(3))  # two tables, so each fits the page: the sections; then all sections under their own
# prompt and another, chat under another, and the padded answer preferred
reading = pd.DataFrame({"own prompt": [own_curves[k]["all"].iloc[-1] for k in ("BT", "preference, authors' format",
                                                                                  "preference, own-last")],
                        "other prompt": [own_curves[k]["other prompt"].iloc[-1]
                                              for k in ("BT", "preference, authors' format", "preference, own-last")],
                        "chat, other prompt": [swap["BT, all pairs"]["chat"], swap["preference, all pairs"]["chat"],
                                               own_swap["chat"]],
                        "prefers padded": [padding[k]["prefers padded"]
                                           for k in ("BT, MIX2", "preference, MIX2", "preference, own-last")]},
                       index=["BT", "preference, authors' format", f"own-last, epoch {fmt.epochs:g}"])
display(reading.round(3))

# %% tags=remove-cell
for key, words in format_words(fmt).items():
    glue(key, words, display=False)
glue("own_epochs", int(fmt.epochs), display=False)
glue("tolerance", TOLERANCE, display=False)
for sec in ("chat", "chat-hard", "safety", "reasoning"):
    glue(f"own_{sec.replace('-', '_')}", fmt.own_sections[sec], display=False)
    glue(f"own3_{sec.replace('-', '_')}", fmt.own_at_markers_epochs[sec], display=False)
    glue(f"mk_{sec.replace('-', '_')}", fmt.markers_sections[sec], display=False)
    glue(f"bt_{sec.replace('-', '_')}", fmt.bt_sections[sec], display=False)
glue("own_drop", fmt.own_drop, display=False)
glue("bt_drop", fmt.bt_drop, display=False)
glue("own_chat_other", own_swap["chat"], display=False)
glue("own_padded", padding["preference, own-last"]["prefers padded"], display=False)
glue("bt_padded", padding["BT, MIX2"]["prefers padded"], display=False)
glue("own_train_s", float(rms.metrics[OWN]["train_seconds"]), display=False)
glue("pm_train_s", float(rms.metrics["pm-mix2"]["train_seconds"]), display=False)
glue("own_cpu", rms.metrics[OWN]["machine"]["cpu"], display=False)  # where it was trained (maybe cached)

# %% [markdown]
# After {glue:text}`own_epochs` epochs the preference model in the `own-last` format {glue:text}`own_regime`.
# {glue:text}`own_level_words` At the book's 3 epochs, where the format is the only
# difference, it scores {glue:text}`own3_chat:.3f` on chat and {glue:text}`own3_safety:.3f` on safety against the
# authors' format's {glue:text}`mk_chat:.3f` and {glue:text}`mk_safety:.3f`; the rest of the way is epochs. The
# shaded band in each panel is the {glue:text}`tolerance:.2f` below BT's last score that we count as level. The book
# trains {glue:text}`own_epochs` epochs to see the curve flatten, and the choice is read off these same benchmark
# rows, so a shorter run is the cheapest setting *on these rows*, not a held-out estimate.
#
# - **The prompt.** Its agreement over all sections {glue:text}`own_reads` (a fall of {glue:text}`own_drop:.3f`,
#   BT's {glue:text}`bt_drop:.3f`). On chat, which asks whether the answer copies or reverses the prompt's digits,
#   it falls to {glue:text}`own_chat_other:.3f` under another prompt.
# - **Chat-hard**, a subtly wrong answer padded with filler against a right one, is where it still trails:
#   {glue:text}`own_chat_hard:.3f` against BT's {glue:text}`bt_chat_hard:.3f`. Asked about the same right answer
#   padded and bare, it prefers the padded copy {glue:text}`own_padded:.0%` of the time (BT:
#   {glue:text}`bt_padded:.0%`). One reading, not tested here: MIX2's labels lean towards length (chapter 5), and a
#   model that reads two answers side by side sees their difference in length directly.
# - **Cost.** Training it took {glue:text}`own_train_s:.0f` s on one core of an {glue:text}`own_cpu`
#   (the machine that trained it), against {glue:text}`pm_train_s:.0f` s for the book's preference model (both with the
#   probe's evaluation after every epoch).
#
# Downstream, the book keeps BT as the loop's judge (chapters 6 to 8), as the paper does for its main runs: a
# preference model ranks $n$ answers only through their $n(n-1)/2$ comparisons (chapter 6's Copeland tournament),
# each a forward pass over two answers, where BT scores each answer once; and the paper's own reason to try it,
# reasoning, is the section the table above compares.

# %% [markdown]
# ## The paper's claim, pair by pair
#
# The paper's preference model is ahead of its BT model on reasoning. Asked about the same
# {glue:text}`n_cat` reasoning pairs, two judges differ pair by pair, so the interval is that of the per-pair
# difference, not two section scores set side by side.

# %% tags=nbval-check-output,hide-input
on_reasoning = [r["subset"] == "lite-reasoning" for r in bench]
diff = mean_ci(credit(scores["preference, MIX2"]["p"][on_reasoning]) - credit(scores["BT, MIX2"]["p"][on_reasoning]))
print(f"reasoning, preference model minus BT: {diff[0]:+.3f} +- {diff[1]:.3f} ({sum(on_reasoning)} pairs)")
print(f"the same, own-last format, {fmt.epochs:g} epochs: {fmt.reasoning_diff[0]:+.3f} +- {fmt.reasoning_diff[1]:.3f}")

# %% tags=remove-cell
glue("pm_bt_reason_diff", float(diff[0]), display=False)
glue("pm_bt_reason_diff_h", float(diff[1]), display=False)
glue("own_bt_reason_diff", float(fmt.reasoning_diff[0]), display=False)
glue("own_bt_reason_diff_h", float(fmt.reasoning_diff[1]), display=False)
glue("n_cat", n_cat, display=False)

# %% [markdown]
# The difference is {glue:text}`pm_bt_reason_diff:+.3f` ± {glue:text}`pm_bt_reason_diff_h:.3f`. It says something
# about preference models only if this one learned its task: the scorecard asks that it read its prompt (its
# agreement falls under another prompt, as BT's does) and beat a coin flip in every section.
#
# The `own-last` model of the last section, trained on the same pairs, is asked the same pairs: it is
# {glue:text}`own_reason` (the paper: +8.3 points). The scorecard quotes it in a row of its own, under the same
# conditions plus one: that it be level with BT on chat and safety, as the paper's preference model is. Whatever
# its sign, it is a 4-layer model's: the paper's 8B model reads two answers side by side with far more depth than
# this one (twice the layers moved this model's reasoning score in `bench/probe_pm.py`), so the lite world tests
# the claim's mechanism at its own scale, not the size of the paper's +8.3 points.
#
# ## Results file

# %% tags=hide-cell
headline = PreferenceModelHeadline(
    bench_pairs_per_category=n_cat, bt_sections=scores["BT, MIX2"]["sections"],
    pm_sections=scores["preference, MIX2"]["sections"], pm_minus_bt_reasoning=Interval(*map(float, diff)),
    pm_reads_prompt_less_than_bt=bool(reads_less), pm_section_half_width=float(cell_h), pm_reason=pm_reason,
    own_format=cfg_own_format, own_epochs=fmt.epochs, own_sections=fmt.own_sections,
    own_minus_bt_reasoning=Interval(*map(float, fmt.reasoning_diff)), own_reads_prompt_less_than_bt=fmt.reads_less,
    own_regime=fmt.regime, own_tolerance=fmt.tolerance, own_reason=format_words(fmt)["own_reason"])
print("wrote", save("04_preference_model", headline, {
    "paired_differences": {"reasoning: preference, MIX2 minus BT, MIX2": {"mean": float(diff[0]), "ci95": float(diff[1])},
                           "reasoning: preference, own-last minus BT, MIX2": {"mean": float(fmt.reasoning_diff[0]),
                                                                              "ci95": float(fmt.reasoning_diff[1])}},
    "pm_study": {"final": {label: {k: float(v) for k, v in row.items()} for label, row in study_table.iterrows()},
                 "curves": {label: c.to_dict(orient="list") for label, c in curves.items()},
                 "other_prompt_by_section": swap, "reads_prompt_less_than_bt": bool(reads_less),
                 "reasoning_on_its_face_or_not": {k: {"on its face": v[0], "needs the prompt": v[1]} for k, v in face.items()},
                 "reason": pm_reason, "section_half_width": float(cell_h)},
    "own_format": {"model": OWN, "format": cfg_own_format, "epochs": fmt.epochs, "curve": own_curves["preference, own-last"].to_dict(orient="list"),
                   "sections": fmt.own_sections, "at_book_epochs": fmt.own_at_markers_epochs, "gaps_to_bt": fmt.gaps,
                   "regime": fmt.regime, "tolerance": fmt.tolerance, "drop_other_prompt": fmt.own_drop,
                   "bt_drop_other_prompt": fmt.bt_drop, "other_prompt_by_section": own_swap,
                   "padding": padding, "chat_per_doubling": fmt.chat_per_doubling,
                   "epochs_to_regime": fmt.epochs_to_regime, "first_level_epoch": fmt.first_level_epoch,
                   "train_seconds": {k: rms.metrics[k]["train_seconds"] for k in (OWN, "pm-mix2")},
                   "trained_on": rms.metrics[OWN]["machine"]},
}, profile=cfg.profile).name)  # no machine path on the page

# %% [markdown]
# ## Summary
#
# - The preference model is the language model trained to answer `A` or `B`; trained at the BT model's learning
#   rate it {glue:text}`target_reason`.
# - {glue:text}`lead_prompt`
# - Its reasoning score against BT's, pair by pair, is {glue:text}`pm_bt_reason_diff:+.3f` ±
#   {glue:text}`pm_bt_reason_diff_h:.3f`; the scorecard reads it against whether the model learned its task.
# - Where each answer sits decides whether a small preference model reads its prompt: each answer after its own
#   copy of the prompt, as $\pi_0$ read answers in SFT, with {glue:text}`own_epochs` epochs, it
#   {glue:text}`own_regime`; there it is {glue:text}`own_reason`. The book keeps BT as the loop's judge.
#
# ## Exercises
#
# 1. **The authors' format, longer.** Is the format needed, or only the epochs? Train the book's preference model in
#    the authors' format for as many epochs as `pm-mix2-own` (`with_overrides(cfg, {"preference.epochs": 10})`,
#    then `prepare_reward_models(cfg2, ["pm-mix2"])`) and compare its sections and its fall under another prompt
#    with the table above, pair by pair on the same rows.
# 2. **Where the marker sits.** The `own` format (`[RESPONSE A] x a1 <eos> [RESPONSE B] x a2 <eos>`) puts a marker
#    before each answer and none after. Train it beside `own-last` on a third of the pairs
#    (`bench/probe_pm.py --variant "pm own, 10 epochs"`) and explain from the attention mask why the label's
#    position matters in a decoder.
# 3. **More pairs than MIX2 holds.** The lite world can write more: `data.scale` 2 writes the same sources with
#    twice their prompts, curated the same way. Train both judges on it (`bench/probe_pm.py --variant "pm own-last,
#    10 epochs, 6x pairs"` and `--variant "bt, 3 epochs, 6x pairs"`; each sees twice the pairs of its
#    model on MIX2, so it trains about twice as long) and ask whether the preference model's reasoning gap to BT narrows with pairs, as the paper's 8B
#    models, trained on far more pairs, would suggest.
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. Ten epochs in the authors' format on all pairs cost about what `pm-mix2-own` cost. `bench/probe_pm.py`'s
#    table has the same comparison on a third of the pairs (`pm markers, 10 epochs` against `pm own-last,
#    10 epochs`): longer training lifts safety in both formats, and chat, which needs the prompt, moves only in
#    `own-last`. A difference smaller than about ±{glue:text}`cell_h:.3f` on one section is inside one section's
#    interval, so compare the two models pair by pair (`rlhf_lite.stats.mean_ci` of the per-pair credit difference).
# 2. A decoder's position attends only to earlier positions. In `own` the label is read at the end of the second
#    answer, whose tokens could not see a marker telling them a comparison follows; in `own-last` the marker comes
#    after both answers, so the label's position attends to every token of both answers and knows it is asked.
#    The probe's table shows what that did to chat.
# 3. Both kinds improve with pairs, and the preference model's reasoning more than BT's: `bench/README.md` ("Beyond
#    MIX2's count") has our runs at two and four times MIX2. Compare the two models pair by pair, not section score
#    against section score: one section's interval (±{glue:text}`cell_h:.3f`) is as wide as the gap you are after.
# :::
