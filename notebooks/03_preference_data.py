# %% [markdown]
# # Preference data: from open datasets to a clean mixture
#
# Online iterative RLHF asks a preference oracle to label every pair the policy generates. Nobody can
# pay humans to label tens of thousands of pairs per iteration, so the paper {cite:p}`dong2024rlhf`
# trains a *proxy*: a reward model fitted to open preference datasets (its Section 2 and Appendix B.1).
# The proxy can only be as good as that data, and open preference data is messy. Some labels are coin
# flips (two answers rated the same), some pairs are broken (an empty turn, a label that the row's
# other fields contradict), some judges like long answers more than good ones, and the same pair may
# appear twice. The paper cleans its ten datasets with a handful of filters, which remove about 10% of
# the pairs, and trains on two mixtures, MIX1 and MIX2.
#
# This chapter builds that step. Loaders bring every dataset of the paper's Table 5 into one schema
# that TRL reads. Filters each report what they removed, and mixtures come with their statistics. Then
# we do what the paper cannot: the lite world has a true reward $r^*$, so for every filter we can
# measure whether the pairs it throws away really were worse than the pairs it keeps.
#
# :::{admonition} What we found
# :class: tip
# - Curation {glue:text}`acc_change_words` label accuracy against $r^*$, from {glue:text}`acc_before:.3f` to
#   {glue:text}`acc_after:.3f` (± {glue:text}`acc_ci_after:.3f`), and cuts the share of true ties from
#   {glue:text}`tie_share_before:.0%` to {glue:text}`tie_share_after:.0%`. Of the pairs that are not ties it
#   removes {glue:text}`mix2_removed_after_ties:.1%` (the paper: roughly 10%).
# - The filters earn their place unequally: {glue:text}`tie_removed_tie_share:.0%` of the pairs dropped as
#   ties are true ties, the low-ratio SHP pairs it drops have accuracy {glue:text}`ratio_removed_acc:.2f`
#   and the small-margin pairs {glue:text}`margin_removed_acc:.2f`, while duplicates are dropped with
#   accuracy {glue:text}`dup_removed_acc:.2f`, for balance rather than quality.
# - {glue:text}`sweep_words` a one-point margin takes the scored pairs from
#   {glue:text}`sweep_acc_0:.3f` to {glue:text}`sweep_acc_1:.3f` accurate, keeping {glue:text}`sweep_keep_1:.0%`
#   of them.
# - No filter touches length. Among true ties, where the two answers are equally good, the chosen answer of
#   the UltraFeedback twin is {glue:text}`uf_tie_gap_abs:.2f` words {glue:text}`uf_tie_longer` than the rejected
#   one on average;
#   the judge's taste passes into the data (the paper's Table 5: UltraFeedback's preferred answers average
#   279.5 tokens against 211.1 rejected). The twins were built with these directions, so this is an
#   illustration; the longer side agrees with Table 5 in {glue:text}`t5_sign_agree` datasets.
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-input
import datasets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from rlhf_lite import world
from rlhf_lite.stats import compare
from rlhf_lite.config import Config
from rlhf_lite.data import (GPT4, GPT4_RUBRIC, GPT35, LITE_SOURCES, MIX1, MIX2, SOURCES, agreement_by_filter,
                            build_mixture, curate, iter_rows, load_mixture_recipe, load_source, paper_filters, plot_report,
                            prompt_pool, response_text, table5, truth_agreement, world_prompt)
from rlhf_lite.data.curation import (LOADING, label_accuracy_change, length_gaps_by_source, margin_sweep, per_filter, removal_shares,
                                     removed_accuracy)
from rlhf_lite.data.mixtures import table5_beside_paper
from rlhf_lite.headlines import PreferenceDataHeadline, save
from rlhf_lite.io import PACKAGE_DIR, project_root, read_jsonl
from rlhf_lite.stages import prepare_preference_data
from rlhf_lite.wording import table5_differences
from rlhf_lite.world.tokenizer import build_tokenizer

pd.set_option("display.precision", 3)
pd.set_option("display.width", 160)
cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed}")
print("data:", cfg.data)

# %% [markdown]
# :::{admonition} Evidence and illustration in this chapter
# :class: note
# Built into the world (see {doc}`02_lite_world`, "What this world can and cannot show"), so an
# illustration: the *direction* of each twin's length gap, which follows the sign of its annotator's
# $\beta_{\rm len}$, chosen to match the paper's Table 5. Measured, so evidence: how accurate each
# source's labels are against $r^*$, what each filter removes, and what the margin threshold trades.
# :::

# %% [markdown]
# ## One schema for ten formats
#
# Every dataset arrives in its own layout. HH-RLHF stores two whole transcripts as strings with
# `\n\nHuman:` and `\n\nAssistant:` turns. SHP has a Reddit post, two comments and their upvotes.
# HelpSteer has one response per row with five 0-4 attributes. UltraFeedback nests four completions
# with ratings stored as strings (sometimes `"N/A"`). `rlhf_lite.data.sources` has one converter per
# dataset. Each turns a native row into pairs of a single schema: a conversational `prompt` (the
# history, ending with a user turn), one-turn `chosen` and `rejected` messages, which TRL's DPO and
# reward trainers read as they are, plus the `source`, the scores where a dataset has them, and their
# `margin`.

# %% tags=nbval-check-output
# who wrote the answers and who judged them share a column, so the table fits the page
registry = pd.DataFrame([{"source": s.name, "hub id": s.hub_id, "answers / judge": f"{s.completion} / {s.annotator}",
                          "scores": s.scores} for s in SOURCES.values()]).set_index("source")
display(registry)

# %% [markdown]
# The package's tests carry a small fixture for each dataset. Each one is a handful of rows, written by
# hand in the dataset's exact field layout. Here is an HH-RLHF row before and after conversion: the
# prompt is the prefix the two transcripts share, and the response is what follows it.

# %% tags=nbval-check-output
repo = project_root(PACKAGE_DIR)  # the checkout rlhf_lite was installed from (editable install)
fixtures = repo / "tests" / "fixtures" / "hub"
origin, raw_row = next(iter_rows(fixtures / "hh-rlhf"))
print(f"native row ({origin}):")
for k, v in raw_row.items():
    print(f"  {k}: {v!r}")
hh_pairs, hh_report = load_source("hh-rlhf", path=fixtures / "hh-rlhf")
print("\nconverted pair:")
for k in ("prompt", "chosen", "rejected", "source", "margin", "origin"):
    print(f"  {k}: {hh_pairs[0][k]!r}")

# %% [markdown]
# A row that cannot be converted is never dropped silently. By default it is counted, with its reason
# and the first place it was seen, so that one bad row does not end a long run. `errors="raise"`
# stops at the first one instead, naming the file, the row and the field. The HH-RLHF fixture has
# three such rows: a missing field, bytes that are not UTF-8, and two transcripts that differ before
# their final turn (a pair whose prompt is not shared is not a comparison).
#
# What the loaders promise, including the cases real copies of these datasets contain
# (`tests/test_real_files.py`, and a fuzz test that mutates every fixture):
#
# - **Every row is in a pair or counted with its reason.** This includes HelpSteer's rows, which are
#   grouped by prompt: a prompt with a single rated response forms no pair and is counted as *unpaired*,
#   not as malformed.
# - **A file that is not what its name says stops the load before any row is read, and the error names
#   it.** A repository cloned without git-lfs holds a short text pointer in place of each large file
#   (the public hh-rlhf repository's `.jsonl.gz` files are such files); the error says to run
#   `git lfs pull`. A `.gz` or `.parquet` file with the wrong first bytes, or a `.gz` cut short, is named
#   the same way.
# - **HH-RLHF's prompt is the longest prefix the two raw transcripts share that ends just before an
#   `\n\nAssistant:` marker.** A model that wrote the marker into its own answer (the real data has a
#   few such rows) keeps it in the answer. Splitting into turns first would drop these rows as if
#   the transcripts differed earlier.
# - **A row of another version of a dataset says which layout was expected and which was found.** For
#   example, Intel's `orca_dpo_pairs` has `question` where argilla's re-rated copy has `input`.

# %% tags=nbval-check-output
print(f"{hh_report.rows} rows -> {hh_report.pairs} pairs; dropped:")
for reason, n in hh_report.dropped.items():
    print(f"  {n} x {reason}   (first at {hh_report.examples[reason]})")
try:
    load_source("hh-rlhf", path=fixtures / "hh-rlhf", errors="raise")
except ValueError as e:
    print("\nerrors='raise':", e)

# %% [markdown]
# The same recipe that builds the paper's MIX2 from the hub builds it from local copies. Run on the
# fixtures, it exercises every converter and every filter. (On a connected machine,
# `build_mixture(load_mixture_recipe("recipes/data/mix2.yaml"), tokenizer=...)` reads the real
# datasets by their hub ids.)

# %% tags=hide-input
def show_report(report):
    """A curation report (``Mixture.report()``) as two tables that fit the page: what each source's rows became,
    then what each filter removed and from which sources."""
    display(report[[c for c in LOADING if c in report.columns]])
    with pd.option_context("display.max_colwidth", None):  # every source, not the first fifty characters
        display(per_filter(report))


# %% tags=nbval-check-output
recipe = load_mixture_recipe(repo / "recipes" / "data" / "mix2.yaml")
assert recipe == MIX2
fixture_mix = build_mixture(recipe, {n: fixtures / n for n in recipe.sources}, log=lambda *a: None)
show_report(fixture_mix.report())

# %% [markdown]
# (preference-data-twins)=
# ## The lite world's preference sources
#
# For each dataset the lite world has a twin: a synthetic source written to disk **in that dataset's
# native format** and read by the same loader. The twins imitate the features that matter for
# curation:
#
# - **Task mix.** HH-RLHF and SHP hold chat tasks, with some unsafe requests in HH-RLHF. PKU-SafeRLHF
#   is mostly unsafe requests. UltraInteract and Argilla-Math are reasoning (`sort`, `add`).
#   UltraFeedback and HelpSteer mix everything.
# - **The judge.** "Humans" (HH-RLHF, SHP, HelpSteer, PKU, summarisation) have no length bias but make
#   mistakes. "GPT-4" (UltraFeedback, Argilla-Math) is accurate but adds {glue:text}`beta_gpt4` per word
#   of response length to what it perceives. "GPT-3.5" (CodeUltraFeedback) is biased more
#   ({glue:text}`beta_gpt35` per word) and noisier. Orca's and Capybara's re-ratings came from a GPT-4
#   rubric that marks rambling down, so their twin's judge *subtracts* {glue:text}`beta_rubric` per word:
#   in the paper's Table 5 these are datasets whose preferred answers are the shorter ones.
#   UltraInteract's labels come from checking the answer, and half of its wrong answers ramble.
# - **The scores.** Binary preferences (HH-RLHF, PKU, UltraInteract, summarisation), 1-5 or 1-10
#   ratings (UltraFeedback, CodeUltraFeedback, Capybara, Argilla-Math, Orca), 0-4 attributes
#   (HelpSteer), or upvotes (SHP).
# - **Bad rows.** HH-RLHF, UltraFeedback and Orca have a few malformed rows; PKU has a few safety
#   labels that contradict its own `is_safe` flags.
#
# The responses are imperfect demonstrations, the same kind that trained $\pi_0$ in the lite-world chapter: some
# wrong, some padded with filler, some unsafe answers that comply.

# %% tags=remove-cell
glue("beta_gpt4", GPT4.beta_len, display=False)
glue("beta_gpt35", GPT35.beta_len, display=False)
glue("beta_rubric", -GPT4_RUBRIC.beta_len, display=False)

# %%
art = prepare_preference_data(cfg, log=lambda *a: None)  # its log names this machine's folders: not for the page
for name, path in art.sources.items():
    files = sorted(p.name for p in path.iterdir())
    print(f"{name:18s} {files}")

# %% [markdown]
# One lite UltraFeedback row, truncated: four completions, each with four aspect ratings stored as strings.

# %%
_, row = next(iter_rows(art.sources["ultrafeedback"]))
print("instruction:", row["instruction"])
for c in row["completions"]:
    ratings = {k: v["Rating"] for k, v in c["annotations"].items()}
    print(f"  {c['response']!r:46s} fine-grained {c['fine-grained_score']:.2f}  {ratings}")

# %% [markdown]
# (preference-data-labels)=
# ## How good are the labels before cleaning?
#
# For every converted pair we know $r^*(x, a^w) - r^*(x, a^l)$. A label *agrees* with the truth if that
# gap is positive, *disagrees* if it is negative, and the pair is a *true tie* if the gap is zero (for
# example, the same correct answer with and without filler). We report label **accuracy**, the share of
# agreeing pairs among the pairs that are not true ties, with a 95% interval, and the share of true
# ties separately, because a true tie teaches a reward model nothing about quality.

# %%
mix2 = build_mixture(MIX2, art.sources, log=lambda *a: None)  # its per-source counts: the curation report below
mix1 = build_mixture(MIX1, art.sources, log=lambda *a: None)
saved = datasets.load_from_disk(str(art.mixtures["mix2"]))
assert saved.num_rows == len(mix2.pairs)  # the cached mixture is exactly what we rebuild here

all_raw = mix2.raw + [p for p in mix1.raw if p["source"] == "summarize"]  # summarisation is in MIX1 only
raw_truth = pd.DataFrame({s: truth_agreement([p for p in all_raw if p["source"] == s]) for s in SOURCES}).T
raw_truth = raw_truth[["pairs", "accuracy", "ci", "tie %"]]
display(raw_truth.rename(columns={"ci": "±"}))

# %% tags=remove-cell
for src, key in (("pku-saferlhf", "pku"), ("ultrafeedback", "uf"), ("shp", "shp")):
    glue(f"raw_acc_{key}", float(raw_truth.loc[src, "accuracy"]), display=False)
    glue(f"raw_acc_{key}_h", float(raw_truth.loc[src, "ci"]), display=False)

# %% [markdown]
# (preference-data-filters)=
# ## Curation, filter by filter
#
# The cleaning in the order we apply it. Filters marked *(paper)* are the ones Appendix B.1 lists;
# those marked *(ours)* are checks the paper does not mention:
#
# 1. **empty turn** *(paper)*: a prompt or response turn is empty;
# 2. **identical** *(ours)*: chosen and rejected are the same text;
# 3. **contradicted** *(paper: "incorrect labels")*: the chosen response has the lower score;
# 4. **conflicting** *(ours)*: the same two responses appear elsewhere with the opposite label;
# 5. **tie** *(paper, Table 5)*: both responses have the same score. Sources with several scored
#    responses per prompt produce every pair, ties included, so that this filter sees them;
# 6. **score ratio** *(paper)*: SHP pairs whose upvote ratio is at most 2;
# 7. **per-prompt cap** *(paper)*: more than 5 SHP pairs from one post (the 5 with the largest ratio stay);
# 8. **small margin** *(paper)*: a score margin below half a rating point. The paper gives no
#    threshold, and a sweep below shows what the choice costs;
# 9. **duplicate** and **near duplicate** *(ours)*: the same pair again, exactly or after folding case,
#    spacing and end punctuation.
#
# Rows whose labels their own fields contradict (PKU-SafeRLHF's safety label against its `is_safe`
# flags) are set aside at loading, under **bad label**. One more step happens at loading: **turns that do
# not alternate** *(ours)*. A few rows of the real HH-RLHF have two user or two assistant turns in a row,
# and many models' chat templates raise an error on such a prompt when the
# trainer tokenises it, far from the row that caused it. We merge consecutive turns of one role into one
# turn, their texts joined by a blank line, so every word stays and the row is kept. A prompt that would
# still end with an assistant turn cannot be mended this way; it is dropped with that reason. In the lite
# twins {glue:text}`merged_rows` rows needed merging.
#
# A maximum token length is also available (`MaxLength`). It needs the policy's tokenizer and is off
# here, because every lite example is short.

# %%
report2 = mix2.report()
show_report(report2)
fig, ax = plt.subplots(figsize=(7, 4.4))  # read at the column's width: plot_report's legend is 8 pt
plot_report(report2, ax=ax, title="MIX2 (lite): share of pairs each filter removed, per source")
plt.tight_layout()
plt.show()

# %% tags=remove-cell
total = report2.loc["total"]
removed_share, removed_after_ties = removal_shares(report2)  # of all pairs, and after ties (as Table 5 counts)
glue("mix2_raw_pairs", f"{int(total['pairs']):,}", display=False)
glue("mix2_kept_pairs", f"{int(total['kept']):,}", display=False)
glue("mix2_removed_share", float(removed_share), display=False)
glue("mix2_removed_after_ties", float(removed_after_ties), display=False)
glue("mix2_malformed", int(total["malformed"]), display=False)
glue("merged_rows", sum(r.merged_turns for r in mix2.loads), display=False)

# %% [markdown]
# Of {glue:text}`mix2_raw_pairs` converted pairs in the lite MIX2, {glue:text}`mix2_kept_pairs`
# survive ({glue:text}`mix2_malformed` rows never became pairs). Most of the removals are ties:
# UltraFeedback-like sources rate four responses per prompt on a five-point scale, and two correct
# answers often get the same rating. Table 5 of the paper counts pairs "except those with the same
# score", so we read its "roughly 10%" as a share of the pairs that are not ties. The comparable figure
# here is {glue:text}`mix2_removed_after_ties:.1%`.

# %% [markdown]
# (preference-data-filter-accuracy)=
# ## What does each filter buy?
#
# The paper removes ties and small margins because "these preference signals tend to be noisy". In the
# lite world we can check this directly. The table shows the label accuracy of the data remaining after
# each step, and the accuracy of the pairs that step removed.

# %%
by_filter = agreement_by_filter(mix2.curation)
display(by_filter)

fig, ax = plt.subplots(figsize=(8, 3.6))
steps = by_filter.index.tolist()
ax.errorbar(range(len(steps)), by_filter["accuracy"], yerr=by_filter["±"], marker="o", capsize=3, label="remaining pairs")
rem = by_filter["removed accuracy"].astype(float)
ax.scatter(range(len(steps)), rem, marker="x", color="C3", s=50, label="pairs this step removed")
ax.set_xticks(range(len(steps)), [s.replace("after ", "") for s in steps], rotation=30, ha="right")
ax.set_ylabel("label accuracy vs r*")
ax.set_ylim(0.4, 1.02)
ax.axhline(0.5, color="0.8", lw=1)
ax.legend(fontsize=8, loc="lower left")
ax.set_title("MIX2 (lite): how often 'chosen' is truly better")
plt.tight_layout()
plt.show()

# %% tags=remove-cell
acc_before = float(by_filter.loc["before curation", "accuracy"])
acc_after = float(by_filter.iloc[-1]["accuracy"])
# The kept pairs are a subset of the raw ones: after - before = (share removed) x (accuracy kept - accuracy
# removed), two disjoint samples, so the change has an interval of its own (the scorecard's method)
acc_change, acc_change_h = label_accuracy_change(acc_before, acc_after, int(total["pairs"]), int(total["kept"]))
glue("acc_change", acc_change, display=False)
glue("acc_change_h", acc_change_h, display=False)
glue("acc_change_words", compare(acc_change, acc_change_h, "raises", "lowers", "does not change",
                                 unclear="does not measurably change", resolution=0.005), display=False)
glue("acc_before", acc_before, display=False)
glue("acc_after", acc_after, display=False)
glue("acc_ci_after", float(by_filter.iloc[-1]["±"]), display=False)
shp_kept = truth_agreement([p for p in mix2.pairs if p["source"] == "shp"])
glue("shp_kept_acc", float(shp_kept["accuracy"]), display=False)
glue("shp_kept_acc_h", float(shp_kept["ci"]), display=False)
_ratio_acc = by_filter.loc["after score ratio", "removed accuracy"]
_margin_acc = by_filter.loc["after small margin", "removed accuracy"]
glue("margin_headline", "Small margins are noisy too, but less so than low-ratio SHP pairs."
     if _margin_acc > _ratio_acc + 0.03 else "Small margins are about as noisy as low-ratio SHP pairs."
     if _margin_acc >= _ratio_acc - 0.03 else "Small margins are even noisier than low-ratio SHP pairs.", display=False)
glue("tie_share_before", float(by_filter.loc["before curation", "tie %"]) / 100, display=False)
glue("tie_share_after", float(by_filter.iloc[-1]["tie %"]) / 100, display=False)
for key, step in (("tie", "tie"), ("ratio", "score ratio"), ("margin", "small margin"), ("dup", "duplicate"),
                  ("conflict", "conflicting")):  # what each filter removed: its labels' accuracy against r*
    glue(f"{key}_removed_acc", float(by_filter.loc[f"after {step}", "removed accuracy"]), display=False)
glue("conflict_removed_tie_share", float(by_filter.loc["after conflicting", "removed tie %"]) / 100, display=False)
glue("tie_removed_tie_share", float(by_filter.loc["after tie", "removed tie %"]) / 100, display=False)

# %% [markdown]
# Curation {glue:text}`acc_change_words` label accuracy, from {glue:text}`acc_before:.3f` to {glue:text}`acc_after:.3f`
# (a change of {glue:text}`acc_change:+.3f` ± {glue:text}`acc_change_h:.3f`: the pairs kept and the pairs removed are
# disjoint samples, so their intervals combine in quadrature), and it lowers the share of true ties from
# {glue:text}`tie_share_before:.0%` to {glue:text}`tie_share_after:.0%`. The filters differ:
#
# - **Ties are mostly true ties.** Of the pairs removed for equal scores,
#   {glue:text}`tie_removed_tie_share:.0%` really are equally good. The rest have label accuracy
#   {glue:text}`tie_removed_acc:.2f`: better than a coin flip, but far below what remains, because
#   with equal scores the orientation is arbitrary.
# - **SHP's ratio rule works.** The SHP pairs with an upvote ratio of at most 2 have accuracy
#   {glue:text}`ratio_removed_acc:.2f`, far below what remains. Upvotes are noisy, and a small
#   difference in upvotes says little.
# - **Small margins.** {glue:text}`margin_headline` Removed accuracy is
#   {glue:text}`margin_removed_acc:.2f`. Whether dropping them is worth the lost data depends on the
#   threshold (next section).
# - **Conflicting pairs** have accuracy {glue:text}`conflict_removed_acc:.2f`. Both orientations of a
#   pair go, so about one in two is right, and on a true tie neither is. They are worth a look for another reason:
#   {glue:text}`conflict_removed_tie_share:.0%` of them are true ties. Judges disagree with
#   themselves exactly where there is nothing to prefer.
# - **Duplicates** are removed for a different reason: their labels are fine (accuracy
#   {glue:text}`dup_removed_acc:.2f`), but repeated pairs weigh some prompts more than others.
# - **Empty turns** and **identical** pairs are broken as comparisons, whatever their labels say.

# %% [markdown]
# (preference-data-margin-sweep)=
# ## The margin threshold: quantity against quality
#
# Each threshold keeps a different number of scored pairs at a different accuracy. We sweep it over
# the scored sources of MIX2, applying it after the other filters.

# %%
base_filters = [f for f in paper_filters() if f.name != "small margin"]
base = curate(mix2.raw, base_filters).kept
scored = [p for p in base if p["margin"] is not None and p["source"] != "shp"]
thresholds = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
sweep = pd.DataFrame(margin_sweep(scored, thresholds)).set_index("threshold")
display(sweep)

fig, ax1 = plt.subplots(figsize=(6.5, 3.4))
ax1.errorbar(sweep.index, sweep["accuracy"], yerr=sweep["±"], marker="o", capsize=3, color="C0")
ax1.set_xlabel("minimum score margin (rating points)")
ax1.set_ylabel("label accuracy", color="C0")
ax2 = ax1.twinx()
ax2.plot(sweep.index, sweep["pairs"], marker="s", color="C1")
ax2.set_ylabel("scored pairs kept", color="C1")
ax1.axvline(MIX2.min_margin, color="0.7", ls="--", lw=1)
ax1.set_title("Margin filter on the scored sources of MIX2 (lite)")
plt.tight_layout()
plt.show()

# %% tags=remove-cell
glue("sweep_acc_0", float(sweep.loc[0.0, "accuracy"]), display=False)
glue("sweep_acc_1", float(sweep.loc[1.0, "accuracy"]), display=False)
glue("sweep_keep_1", float(sweep.loc[1.0, "pairs"] / sweep.loc[0.0, "pairs"]), display=False)
(a0, h0), (a1, h1) = sweep.loc[0.0, ["accuracy", "±"]].astype(float), sweep.loc[1.0, ["accuracy", "±"]].astype(float)
glue("sweep_words", "A stricter margin trades data for accuracy:" if a1 - h1 > a0 + h0 else
     "A stricter margin costs data for no accuracy gain these intervals can resolve:" if a1 + h1 >= a0 - h0 else
     "A stricter margin costs data and accuracy:", display=False)

# %% [markdown]
# With no margin filter the scored pairs have accuracy {glue:text}`sweep_acc_0:.3f`. A one-point
# threshold raises it to {glue:text}`sweep_acc_1:.3f` but keeps only {glue:text}`sweep_keep_1:.0%` of
# the pairs. {doc}`04_reward_models` trains BT reward models on raw MIX2 and at margins of 0.5 and 1.0,
# and measures the trade-off where it counts: the reward model's agreement with $r^*$ on the policy's own
# answers.

# %% [markdown]
# (preference-data-length)=
# ## Length: where reward-model length bias comes from
#
# Table 5 of the paper lists the mean preferred and rejected lengths of each dataset. In UltraFeedback,
# preferred responses are 32% longer than rejected ones (279.5 against 211.1 tokens), and in SHP they
# are about twice as long. A reward model fitted to such data learns that longer is better, whether or
# not the extra length carries quality. The lite world can separate the two effects. For each source we
# measure the mean length gap (chosen minus rejected, in words) over all curated pairs, and again over
# true ties only, where any gap comes from the judge and not from quality.

# %% tags=hide-input
curated = mix2.pairs + [p for p in mix1.pairs if p["source"] == "summarize"]
fig, axes = plt.subplots(4, 3, figsize=(9, 9.5), sharex=True)
bins = np.arange(0, 16) - 0.5
for ax, s in zip(axes.flat, SOURCES):
    ps = [p for p in curated if p["source"] == s]
    for side, color in (("chosen", "C0"), ("rejected", "C3")):
        lengths = [world.response_length(response_text(p[side])) for p in ps]
        ax.hist(lengths, bins=bins, histtype="step", density=True, color=color, lw=1.5, label=side)
    ax.set_title(f"{s} ({LITE_SOURCES[s].annotator.name})", fontsize=10)
axes.flat[-1].axis("off")
axes[-2, -1].xaxis.set_tick_params(labelbottom=True)  # the panel above the empty corner carries its own axis
axes.flat[0].legend(fontsize=9)
for ax in [*axes[-1, :-1], axes[-2, -1]]:
    ax.set_xlabel("response length (words)")
for ax in axes[:, 0]:
    ax.set_ylabel("share of pairs")  # density over bins one word wide
fig.suptitle("Length of chosen and rejected responses, curated lite pairs")
plt.tight_layout()
plt.show()

# %% [markdown]
# Responses from the biased judges (`gpt-4`, `gpt-3.5`) shift the chosen distribution to the right of
# the rejected one. The human-judged sources keep the two close. The means, and the same comparison
# restricted to true ties:

# %% tags=hide-input
gaps = pd.DataFrame(length_gaps_by_source(curated, SOURCES)).set_index("source")  # plotted below, not shown twice
gaps.insert(0, "judge", [LITE_SOURCES[s].annotator.name for s in gaps.index])

fig, ax = plt.subplots(figsize=(7.5, 4))
y = np.arange(len(gaps))
ax.errorbar(gaps["gap (all)"], y - 0.15, xerr=gaps["± all"], fmt="o", capsize=3, label="all curated pairs")
ax.errorbar(gaps["gap (true ties)"], y + 0.15, xerr=gaps["± ties"], fmt="s", capsize=3, label="true ties only (same r*)")
ax.axvline(0, color="0.7", lw=1)
ax.set_yticks(y, [f"{s} ({j})" for s, j in zip(gaps.index, gaps["judge"])])
ax.invert_yaxis()
ax.set_xlabel("mean length of chosen - rejected (words)")
ax.legend(fontsize=8)
ax.set_title("Length gap between chosen and rejected, per lite source")
plt.tight_layout()
plt.show()

# %% tags=remove-cell
uf_gap = float(gaps.loc["ultrafeedback", "gap (true ties)"])
glue("uf_tie_gap", uf_gap, display=False)
glue("uf_tie_gap_abs", abs(uf_gap), display=False)
glue("uf_tie_longer", "longer" if uf_gap > 0 else "shorter", display=False)
human = gaps[gaps["judge"] == "human"]
glue("human_tie_gap_max", float(human["gap (true ties)"].abs().max()), display=False)

# %% [markdown]
# Among true ties, the chosen response of UltraFeedback-like data is {glue:text}`uf_tie_longer` by
# {glue:text}`uf_tie_gap_abs:.2f` words on average. Its two responses are equally good, so the gap comes
# from the judge. The human-judged twins show that selection effects alone also move the gap a little,
# in either direction, but never by more than {glue:text}`human_tie_gap_max:.1f` words. Curation does not remove this bias: no filter in the paper's list looks
# at length. The length-bias chapter measures how much of it a reward model trained on this data absorbs
# (the paper's Figure 3).

# %% [markdown]
# ## Table 5, for our lite MIX2
#
# `table5` computes the paper's statistics for any list of pairs: prompt and response lengths in
# tokens of a given tokenizer, averaged over pairs. We use the lite tokenizer, where one word is one
# token. The paper's figures (its Table 5, LLaMA-3-8B tokens, full datasets) are shown beside ours.

# %%
tok = build_tokenizer()
ours = table5(mix2.pairs + [p for p in mix1.pairs if p["source"] == "summarize"], tok)
side = table5_beside_paper(ours)  # with the paper's Table 5, quoted
# two tables, so each fits the page: the counts, then the lengths (lite tokens) and their ratio
display(side[["#prompts", "#pairs", "paper #pairs"]])
display(side[["prompt len", "preferred len", "rejected len", "ours pref/rej", "paper pref/rej"]].rename(columns={
    "prompt len": "prompt", "preferred len": "preferred", "rejected len": "rejected"}))

# %% tags=remove-cell
both = side.dropna(subset=["paper pref/rej"])
same_direction = (both["ours pref/rej"] > 1) == (both["paper pref/rej"] > 1)
glue("t5_sign_agree", f"{int(same_direction.sum())} of {len(same_direction)}", display=False)
glue("t5_differences", Markdown(table5_differences(both.index[~same_direction])), display=False)  # with causes
scale = both["paper #pairs"] / both["#pairs"]
glue("t5_scale_min", float(scale.min()), display=False)
glue("t5_scale_max", float(scale.max()), display=False)

# %% [markdown]
# Lengths are not comparable in absolute terms: lite answers are a few words, while real answers run to
# hundreds of tokens. The ratio of preferred to rejected length can be compared by direction, and the
# two tables agree on which response is longer in {glue:text}`t5_sign_agree` datasets. Where they
# differ, these are plausible causes:
#
# ```{glue:md} t5_differences
# ```
#
# Our pair counts are {glue:text}`t5_scale_min:.0f` to {glue:text}`t5_scale_max:.0f` times smaller
# than the paper's.

# %% [markdown]
# (preference-data-mixtures)=
# ## MIX1 and MIX2
#
# MIX1 (HH-RLHF, SHP, UltraFeedback, summarisation) is the mixture behind the earlier open reward
# models. MIX2 adds the reasoning and safety datasets. In the paper's Table 1 the MIX2 reward models
# score higher on RewardBench safety and reasoning (see the reward-modelling chapter), though the base model changes too
# (LLaMA-2-13B for MIX1, LLaMA-3-8B for MIX2), so the table does not isolate the data. The lite twins show the difference in composition by
# RewardBench category.

# %%
def category_share(records):
    cats = pd.Series([world.parse_prompt(world_prompt(p["prompt"])).category for p in records])
    return cats.value_counts(normalize=True)


comp = pd.DataFrame({"MIX1": category_share(mix1.pairs), "MIX2": category_share(mix2.pairs)}).fillna(0.0)
comp.loc["pairs"] = [len(mix1.pairs), len(mix2.pairs)]
display(comp)
ax = comp.drop(index="pairs").T.plot.barh(stacked=True, figsize=(6.5, 2.4))
ax.set_xlabel("share of curated pairs")
ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
plt.tight_layout()
plt.show()

# %% tags=remove-cell
glue("mix1_reasoning", float(comp.loc["reasoning", "MIX1"]) if "reasoning" in comp.index else 0.0, display=False)
glue("mix2_reasoning", float(comp.loc["reasoning", "MIX2"]), display=False)
glue("mix1_safety", float(comp.loc["safety", "MIX1"]), display=False)
glue("mix2_safety", float(comp.loc["safety", "MIX2"]), display=False)

# %% [markdown]
# MIX2 raises the share of reasoning pairs from {glue:text}`mix1_reasoning:.0%` to
# {glue:text}`mix2_reasoning:.0%`, and of safety pairs from {glue:text}`mix1_safety:.0%` to
# {glue:text}`mix2_safety:.0%`. MIX1 is not without reasoning here, because the lite UltraFeedback twin
# mixes all task families.

# %% [markdown]
# (preference-data-prompt-splits)=
# ## The prompt set for the online iterations
#
# The online loop (the iterative DPO chapter) needs prompts, not pairs. The paper pools prompts from UltraFeedback,
# HelpSteer, OpenOrca, UltraInteract, Capybara and DIBT, deduplicates them, and uses 60K of them, 20K
# per iteration (its Section 3.3). We pool the lite twins of the same sources. The lite policy has only
# seen single-turn tasks, so we keep the last user turn of each prompt. We deduplicate and split into
# {glue:text}`n_iterations` disjoint subsets. The evaluation prompts are held out of every subset.

# %%
per_source = [prompt_pool([p for p in mix2.raw if p["source"] == s], sources=None, last_turn_only=True)
              for s in ("ultrafeedback", "helpsteer", "orca", "ultrainteract", "capybara")]
pool = prompt_pool(mix2.raw, last_turn_only=True)
n_rows = sum(len(x) for x in per_source)  # distinct within each source, summed over sources
splits = {}
for r in read_jsonl(art.prompt_splits):
    splits.setdefault(r["iteration"], []).append(r["prompt"][-1]["content"])
flat = [x for v in splits.values() for x in v]
assert len(set(flat)) == len(flat) and not set(flat) & set(art.eval_prompts)  # disjoint and held out
print(f"prompts, distinct within each of the five sources: {n_rows}; distinct after pooling: {len(pool)}")
print({t: len(v) for t, v in splits.items()}, "prompts per iteration; overlap between iterations: 0;",
      f"evaluation prompts held out: {len(art.eval_prompts)}")

# %% tags=remove-cell
glue("n_iterations", cfg.data.iterations, display=False)
glue("pool_raw", n_rows, display=False)
glue("pool_distinct", len(pool), display=False)

# %% [markdown]
# The five sources hold {glue:text}`pool_raw` prompts (each distinct within its source);
# {glue:text}`pool_distinct` remain after pooling. The lite world's prompts are short, so different
# sources often ask the same one (`add 3 + 4 =`). In real data the duplicates are copies of popular
# questions shared across datasets.

# %% [markdown]
# ## What is saved for the next chapters
#
# `prepare_preference_data(cfg)` wrote everything above to `runs/`. The lite sources are in their native
# formats, the curated MIX1 and MIX2 are saved with `datasets` (reload them with
# `datasets.load_from_disk`), and the prompt splits are one JSON line per prompt. The files are keyed by
# the configuration and the package's code, so a change to either rebuilds them. The reward-modelling chapter trains
# reward models on these mixtures.

# %%
for name, path in art.mixtures.items():
    ds = datasets.load_from_disk(str(path))
    print(f"{name}: {ds.num_rows} pairs, columns {ds.column_names}")

# %% tags=hide-cell
results = {
    "mix2_raw_pairs": int(total["pairs"]),
    "mix2_kept_pairs": int(total["kept"]),
    "mix2_removed_share": float(removed_share),
    "mix2_removed_share_excluding_ties": float(removed_after_ties),
    "mix1_kept_pairs": len(mix1.pairs),
    "label_accuracy": {"before": acc_before, "after": acc_after},
    "removed_accuracy": {k: float(v) for k, v in by_filter["removed accuracy"].dropna().items()},
    "margin_sweep_accuracy": {str(k): float(v) for k, v in sweep["accuracy"].items()},
    "length_gap_true_ties": {k: float(v) for k, v in gaps["gap (true ties)"].dropna().items()},
    "prompt_pool_distinct": len(pool),
}
headline = PreferenceDataHeadline(
    raw_pairs=int(total["pairs"]), kept_pairs=int(total["kept"]), removed_share=float(removed_share),
    removed_share_excluding_ties=float(removed_after_ties), label_accuracy_before=acc_before,
    label_accuracy_after=acc_after, label_accuracy_removed=removed_accuracy(acc_before, acc_after, int(total["pairs"]),
                                                                            int(total["kept"])),
    label_accuracy_change=label_accuracy_change(acc_before, acc_after, int(total["pairs"]), int(total["kept"])))
print("wrote", save("03_preference_data", headline, results, profile=cfg.profile).name)  # no machine path on the page

# %% [markdown]
# ## Summary
#
# - Ten open preference datasets (and MIX1's summarisation set), each in its own format, load into
#   one conversational schema that TRL reads, with scores and margins where the data has them. Malformed
#   rows are counted with their reason, or raised with file, row and field.
# - The paper's filters are composable and report what they remove. In the lite world, where the truth
#   is known, ties are mostly true ties, low-ratio SHP pairs and small margins are clearly less accurate
#   than what remains, and duplicates are removed for balance, not for label quality.
# - Curation leaves length bias untouched. A judge that likes long answers passes that preference into
#   the data even between equally good answers, and from there into the reward model (the length-bias chapter).
# - MIX2 holds a larger share of reasoning and safety pairs than MIX1. The online prompt set is pooled,
#   deduplicated and split into disjoint per-iteration subsets.
#
# ## Exercises
#
# 1. Make the GPT-4 twin unbiased (`beta_len=0`) by editing `LITE_SOURCES["ultrafeedback"]` with
#    `dataclasses.replace`. Rewrite that source with `write_lite_source` and rebuild MIX2. What happens
#    to the true-tie length gap, and to label accuracy? The change in accuracy may be only a few hundredths,
#    about the ± of the tables above: run it in the `book` profile and compare intervals, not point values.
# 2. PKU-SafeRLHF has two labels. Build MIX2 with `MixtureRecipe(pku_label="better")` and compare the
#    label accuracy of the PKU pairs with the default `"safer"`. Why is the difference so large in the
#    lite world? Would you expect the same on the real dataset?
# 3. Find the smallest SHP ratio threshold at which the removed SHP pairs are still at least 10 points
#    less accurate than the kept ones. (`ScoreRatio(min_ratio)` and `truth_agreement`.) Each accuracy carries
#    an interval of several points on a few hundred SHP pairs (`truth_agreement`'s `ci`), so use the `book`
#    profile and count a threshold only where the difference minus both half-widths still exceeds 10 points.
# 4. `Dedup(normalise=True)` removes nothing in the lite world, whose text never varies in case or
#    spacing. Write two real-looking pairs that it catches and exact `Dedup` does not, and check them
#    with `curate`.
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. With `replace(LITE_SOURCES["ultrafeedback"], annotator=replace(GPT4, beta_len=0.0))` the tie gap of
#    that source ({glue:text}`uf_tie_gap:+.2f` words in this run) should fall to about zero: the judge no
#    longer prefers padding. Compare its raw label accuracy with this run's {glue:text}`raw_acc_uf:.3f` ±
#    {glue:text}`raw_acc_uf_h:.3f`, and curated MIX2's with {glue:text}`acc_after:.3f` ±
#    {glue:text}`acc_ci_after:.3f`. Expect label accuracy to rise a little too,
#    because the bias also decided some non-tied pairs: a padded near miss could out-score a concise
#    correct answer. The number of curated pairs changes as well; compare the two curation reports
#    to see which filters account for the difference.
# 2. In the lite world "better" means "says more", and a refusal says nothing. So on unsafe prompts the
#    helpfulness label prefers compliance, which $r^*$ scores 0, and PKU label accuracy collapses from the
#    {glue:text}`raw_acc_pku:.3f` ± {glue:text}`raw_acc_pku_h:.3f` it has here with `"safer"`.
#    In the real dataset the two labels also disagree often, which is why the choice matters and should
#    be written in the recipe.
# 3. Sweep `ScoreRatio(t, sources=("shp",))` over `t` in 1.0-4.0, on the SHP pairs of `mix2.raw`.
#    Compute the accuracy of what it keeps and of what it removes, and read off the threshold. At the
#    paper's threshold of 2 the chapter's removed SHP pairs have accuracy {glue:text}`ratio_removed_acc:.2f`
#    and the curated SHP pairs {glue:text}`shp_kept_acc:.2f` ± {glue:text}`shp_kept_acc_h:.2f`: start from there.
# 4. For example `make_pair([message("user", "What is 2+2?")], "4", "5", source="a")` and the same with
#    `"what is  2+2"` and `"4."`. Exact dedup keeps both; normalised dedup keeps one.
# :::
