# %% [markdown]
# # The lite world and the initial policy
#
# Online iterative RLHF {cite:p}`dong2024rlhf` needs four things before it can start: a policy
# language model, a distribution of prompts, a source of human preferences, and (because humans are
# too slow to ask online) a proxy that imitates them. The paper uses LLaMA-3-8B, 60K prompts pooled from
# open datasets, and a reward model trained on open preference data. Neither the paper nor anyone else
# can say how *good* that proxy is, because the true human reward is never observed.
#
# This chapter builds a world where it is. Prompts are small digit tasks whose answer a program can
# check, so the true reward $r^*(x, a)$ is known exactly. Annotators and reward models in later chapters
# are all imitations of $r^*$, and we can always measure how far from it they are. Here we meet the
# world, train the initial policy $\pi_0$ by supervised fine-tuning (SFT), and look at what it samples.
#
# :::{admonition} What we found
# :class: tip
# - The simulated annotators follow the Bradley-Terry formula they are built on (the largest deviation is
#   {glue:text}`oracle_max_dev:.1f` standard errors), and a small taste for length goes a long way: at
#   {glue:text}`beta_small:.2f` per word an annotator prefers the padded copy of an equally right answer
#   {glue:text}`verbose_rate_002:.0%` of the time.
# - $\pi_0$ is a LLaMA-architecture model of {glue:text}`n_params` parameters, {glue:text}`size_ratio_words`
#   smaller than the paper's LLaMA-3-8B. SFT with TRL takes its held-out loss from
#   {glue:text}`eval_loss_before:.2f` to {glue:text}`eval_loss_after:.2f`.
# - Its samples have mean true reward {glue:text}`pi0_reward_t07:.3f` at temperature 0.7 and
#   {glue:text}`pi0_reward_t10:.3f` at 1.0 (random init: {glue:text}`init_reward:.3f`), out of 1: an imperfect
#   start with room above it. The paper's $\pi_0$ has no such number; its benchmarks (10.2 LC
#   win rate on AlpacaEval-2, the paper's Table 2) are on another scale.
# - Like its demonstrations, $\pi_0$ pads {glue:text}`pi0_verbose_share:.0%` of its answers with filler and
#   fails to refuse {glue:text}`unsafe_comply:.0%` of unsafe requests: mistakes RLHF can fix.
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-input
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown
from myst_nb import glue

from rlhf_lite import world
from rlhf_lite.world import oracle
from rlhf_lite.config import Config
from rlhf_lite.world import score_records, summarise_by
from rlhf_lite.io import save_results
from rlhf_lite.policy import load_policy, num_parameters
from rlhf_lite.scale import KNOWN_SHAPES
from rlhf_lite.stages import prepare_pi0
from rlhf_lite.policy import HFSampler, sample_responses
from rlhf_lite.world.tokenizer import build_tokenizer

cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed} policy={cfg.policy!r}")
print("model:", cfg.model)
print("sft:  ", cfg.sft)

# %% [markdown]
# ## Prompts: the distribution $d_0$
#
# Five task families. Four are safe and have one correct answer: `copy`, `reverse` and `sort` a digit
# string, and `add` two short numbers written digit by digit. The fifth, `unsafe`, uses a harmful verb
# (`hack`, `steal`, `poison`) and the only good response is the refusal `sorry i can not help`. Each
# family belongs to one of the four sections of RewardBench {cite:p}`lambert2024rewardbench`, which
# {doc}`04_reward_models` uses to score reward models per category; the fourth section, *chat-hard*, is made of pairs
# whose two answers differ subtly, not of a family of its own.

# %% tags=nbval-check-output
rng = np.random.default_rng(0)
for family in world.FAMILIES:
    x = world.sample_prompt(rng, cfg.world, family)
    task = world.parse_prompt(x)
    print(f"{family:8s} {task.category:10s} {x!r:26s} -> {' '.join(task.target)!r}")

# %% [markdown]
# ## The true reward $r^*(x, a)$
#
# A response may wrap its answer in filler (`sure here is the answer : ...`, `... hope that helps`).
# The true reward ignores filler completely, so length and quality can vary independently:
#
# $$
# r^*(x, a) = \begin{cases}
# \mathbb 1[a \text{ refuses}] & x \text{ unsafe} \\
# 1 & \text{content}(a) = \text{answer}(x) \\
# 0 & \text{content}(a) \text{ is a refusal or empty} \\
# \tfrac12 \cdot \dfrac{\#\text{positions right}}{\max(|\text{content}(a)|, |\text{answer}(x)|)} & \text{otherwise}
# \end{cases}
# $$
#
# The partial credit matters later: a reward with many distinct values gives the Bradley-Terry
# oracle fewer ties to break by coin flip.

# %% tags=nbval-check-output
examples = [
    ("sort 3 1 2 =", "1 2 3"),
    ("sort 3 1 2 =", "sure here is the answer : 1 2 3 hope that helps"),
    ("sort 3 1 2 =", "1 3 2"),
    ("sort 3 1 2 =", "sorry i can not help"),
    ("add 4 7 + 5 =", "5 2"),
    ("add 4 7 + 5 =", "great question : 5 3"),
    ("hack 3 1 2 =", "sorry i can not help"),
    ("hack 3 1 2 =", "okay let me think : 3 1 2"),
]
print(f"{'prompt x':16s} {'response a':50s} {'r*':>5s} {'|a|':>4s}")
for x, a in examples:
    print(f"{x:16s} {a:50s} {world.true_reward(x, a):5.2f} {world.response_length(a):4d}")

# %% [markdown]
# ## Preferences: the oracle and its imperfect imitators
#
# The paper models human feedback as a Bradley-Terry oracle {cite:p}`bradley1952rank` (its
# Definitions 1-2): the probability that $a^1$ is preferred to $a^2$ is
# $\sigma\big((r^*(x,a^1) - r^*(x,a^2))/T\big)$. Real annotators are not that oracle. Ours can be given
# a **verbosity bias** $\beta_{\text{len}}$ (they compare $r^* + \beta_{\text{len}}|a|$) and **label noise**
# (a flipped label with probability $\varepsilon$). First, a check that the sampled labels follow the
# formula: for pairs with known reward gaps, the empirical preference rate against $\sigma(\Delta r/T)$.

# %% tags=hide-input
rng = np.random.default_rng(seed)
ideal = oracle.Annotator(temperature=0.2)
x = "sort 5 3 8 1 ="
candidates = ["1 3 5 8", "1 3 8 5", "1 5 3 8", "3 1 5 8", "8 5 3 1", "sorry i can not help"]
pairs = [(a, b) for a in candidates for b in candidates if a != b]
n_labels = 400
gaps, empirical, predicted = [], [], []
for a, b in pairs:
    y = ideal.prefers_first([x] * n_labels, [a] * n_labels, [b] * n_labels, rng)
    gaps.append(world.true_reward(x, a) - world.true_reward(x, b))
    empirical.append(y.mean())
    predicted.append(ideal.prob_first(x, a, b))
gaps, empirical, predicted = map(np.array, (gaps, empirical, predicted))
max_dev = np.max(np.abs(empirical - predicted) / np.sqrt(predicted * (1 - predicted) / n_labels + 1e-12))

grid = np.linspace(gaps.min() - 0.1, gaps.max() + 0.1, 200)
fig, axes = plt.subplots(1, 2, figsize=(7.4, 3.6))  # read at the column's width
axes[0].plot(grid, oracle.sigmoid(grid / ideal.temperature), color="0.6", label=r"$\sigma(\Delta r^*/T)$")
axes[0].scatter(gaps, empirical, s=18, label=f"empirical ({n_labels} labels per pair)")
axes[0].set(xlabel=r"$r^*(x,a^1) - r^*(x,a^2)$", ylabel="P(prefer $a^1$)", title="Bradley-Terry oracle, T = 0.2")
axes[0].legend(fontsize=9, loc="upper left")

# Verbosity bias: two equally correct answers, one wrapped in filler.
concise, verbose = "1 3 5 8", "sure here is the answer : 1 3 5 8 hope that helps"
n_filler = world.response_length(verbose) - world.response_length(concise)
betas = np.linspace(0, 0.1, 11)
rates = [oracle.Annotator(temperature=0.1, beta_len=b).prefers_first([x] * 2000, [verbose] * 2000, [concise] * 2000, rng).mean()
         for b in betas]
axes[1].plot(betas, rates, marker="o")
axes[1].axhline(0.5, color="0.6", lw=0.8)
axes[1].set(xlabel=r"verbosity bias $\beta_{len}$ (per word)", ylabel="P(prefer the verbose answer)",
            title=f"Equally correct, one padded with {n_filler}\nfiller words (annotator T = 0.1)")
fig.tight_layout()
plt.show()
print(f"largest deviation from sigma(gap/T), in standard errors: {max_dev:.2f}")

# %% tags=remove-cell
glue("oracle_max_dev", float(max_dev), display=False)
glue("beta_small", float(betas[2]), display=False)
glue("verbose_rate_002", float(rates[2]), display=False)
glue("beta_big", float(betas[-1]), display=False)
glue("verbose_rate_01", float(rates[-1]), display=False)

# %% [markdown]
# The labels follow the formula (the largest deviation over all pairs is
# {glue:text}`oracle_max_dev:.1f` standard errors). A small taste for length goes a long way: with
# $\beta_{\text{len}} =$ {glue:text}`beta_small:.2f` per word the annotator prefers the padded answer
# {glue:text}`verbose_rate_002:.0%` of the time, and with $\beta_{\text{len}} =$ {glue:text}`beta_big:.1f`
# {glue:text}`verbose_rate_01:.1%`, although both answers are equally right. Later chapters build the paper's "open datasets" from mixtures of such annotators.
#
# ## The tokenizer and the policy
#
# One word is one token: the vocabulary is closed (digits, task words, refusal, filler), so a
# word-level tokenizer built with Hugging Face `tokenizers` suffices, and response length in tokens is
# the number of words. It is saved with `save_pretrained` and loaded with `AutoTokenizer`, like any hub
# tokenizer.

# %% tags=nbval-check-output
tok = build_tokenizer()
ids = tok("sort 3 1 2 = sure here is the answer : 1 2 3")["input_ids"]
print("vocabulary size:", len(tok))
print("ids:", ids)
print("decoded:", tok.decode(ids, skip_special_tokens=True))

# %% [markdown]
# The policy is a LLaMA-architecture causal LM {cite:p}`touvron2023llama` built from a `LlamaConfig`
# and initialised at random: the architecture of the paper's LLaMA-3-8B, with {glue:text}`n_params`
# parameters against its {glue:text}`llama_params`, {glue:text}`size_ratio_words` smaller. Its SFT data are **deliberately imperfect** demonstrations: some answers are near misses,
# some are wrapped in filler, some unsafe prompts are answered instead of refused, a few safe ones are
# refused. So $\pi_0$ inherits mistakes that RLHF can later fix.
#
# SFT uses TRL's `SFTTrainer` with the loss on completion tokens only. The settings, beside the paper's
# (its Section 3.1):
#
# | | paper | this book (lite) |
# |---|---|---|
# | base model | LLaMA-3-8B (pretrained) | LLaMA-architecture, random init |
# | data | ShareGPT, SlimOrca, MathInstruct, Evol-Instruct, ... | imperfect digit-task demonstrations |
# | epochs | 1 | see `cfg.sft.epochs` |
# | learning rate, schedule | 2e-5, cosine | see `cfg.sft` (higher: trained from scratch) |
# | global batch, warm-up | 32, 0.03 | see `cfg.sft` |
# | packing | block 8192 | none (sequences are a few tokens) |

# %% tags=remove-output
art = prepare_pi0(cfg)  # trains pi_0 once and caches it; its log (and TRL's progress table) stays off the page

# %%
pi0, tok = load_policy(art.pi0)
init, _ = load_policy(art.init)
m = art.metrics
print(f"parameters: {num_parameters(pi0):,}")
print(f"held-out completion loss: {m['eval_loss_before']:.3f} before SFT -> {m['eval_loss_after']:.3f} after")
steps = [h["step"] for h in m["log_history"]]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(steps, [h["loss"] for h in m["log_history"]], marker=".")
ax.set(xlabel="optimizer step", ylabel="training loss (completion tokens)", title=r"SFT of $\pi_0$")
fig.tight_layout()
plt.show()

# %% tags=remove-cell
glue("n_params", f"{num_parameters(pi0):,}", display=False)
glue("eval_loss_before", m["eval_loss_before"], display=False)
glue("eval_loss_after", m["eval_loss_after"], display=False)
# how much smaller than the paper's model, in words: 8.03e9 / 6.6e5 is about 1.2e4, four orders of magnitude
LLAMA3_8B = KNOWN_SHAPES["meta-llama/Meta-Llama-3-8B"].params  # counted from its architecture
ratio = LLAMA3_8B / num_parameters(pi0)
orders = int(round(np.log10(ratio)))
glue("llama_params", f"{LLAMA3_8B / 1e9:.2f} billion", display=False)
glue("size_ratio_words", f"about {ratio:,.0f} times ({['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven'][orders]}"
     f" order{'s' if orders != 1 else ''} of magnitude)", display=False)

# %% [markdown]
# ## What $\pi_0$ says
#
# The paper samples $n$ responses per prompt, half at temperature 1.0 and half at 0.7 (its Section 3.3).
# We do the same on fresh prompts, for $\pi_0$ and for the random-init model it started from, and judge
# every response with $r^*$.

# %%
prompts = world.sample_prompts(cfg.eval_prompts, cfg.world, seed=seed + 10_000)
n = cfg.sampling.n
samples = {}
for name, model in [("random init", init), ("pi_0", pi0)]:
    rows = sample_responses(HFSampler(model, tok, batch_size=cfg.sampling.batch_size), prompts, n,
                            temperatures=cfg.sampling.temperatures, max_new_tokens=cfg.sampling.max_new_tokens,
                            seed=seed)
    samples[name] = score_records([r for row in rows for r in row])
pi0_records = samples["pi_0"]
for r in pi0_records[: 2 * n : 2]:
    print(f"T={r['temperature']}  {r['prompt']:20s} -> {r['response']!r:45s} r*={r['reward']:.2f}")

# %%
by_temp = {name: summarise_by(recs, "temperature", "reward") for name, recs in samples.items()}
for name, table in by_temp.items():
    for t, (mean, half, count) in sorted(table.items(), reverse=True):
        print(f"{name:12s} T={t}: mean r* = {mean:.3f} ± {half:.3f} (95% CI, {count} samples)")

# %% tags=remove-cell
r_t10, r_t07 = by_temp["pi_0"][1.0][0], by_temp["pi_0"][0.7][0]
r_init = float(np.mean([r["reward"] for r in samples["random init"]]))
finished = float(np.mean([r["finished"] for r in pi0_records]))
glue("pi0_reward_t10", r_t10, display=False)
glue("pi0_reward_t07", r_t07, display=False)
glue("pi0_reward_t10_h", by_temp["pi_0"][1.0][1], display=False)
glue("pi0_reward_t07_h", by_temp["pi_0"][0.7][1], display=False)
glue("init_reward", r_init, display=False)
glue("pi0_finished", finished, display=False)

# %% tags=hide-input
families = list(world.FAMILIES)
fig, axes = plt.subplot_mosaic([["reward", "reward"], ["length", "filler"]], figsize=(7.4, 7))
axes = [axes["reward"], axes["length"], axes["filler"]]
pooled = "T = " + " and ".join(str(t) for t in cfg.sampling.temperatures) + " pooled"
width = 0.27
for k, (label, recs) in enumerate([
    (f"random init, {pooled}", samples["random init"]),
    ("pi_0, T=1.0", [r for r in pi0_records if r["temperature"] == 1.0]),
    ("pi_0, T=0.7", [r for r in pi0_records if r["temperature"] == 0.7]),
]):
    s = summarise_by(recs, "family", "reward")
    axes[0].bar(np.arange(len(families)) + (k - 1) * width, [s[f][0] for f in families], width,
                yerr=[s[f][1] for f in families], capsize=2, label=label)
axes[0].set_xticks(range(len(families)), families)
axes[0].set(ylabel="mean true reward r*", title="True reward by task family (95% CI)", ylim=(0, 1))
axes[0].legend(fontsize=9)

lengths = {f: [r["length"] for r in pi0_records if r["family"] == f] for f in families}
axes[1].boxplot([lengths[f] for f in families], tick_labels=families, showmeans=True)
axes[1].set(ylabel="|a| (words)", title=f"Response length of $\\pi_0$\n({pooled})")

padded = np.array([world.has_filler(r["response"]) for r in pi0_records])
rewards = np.array([r["reward"] for r in pi0_records])
family_of = np.array([r["family"] for r in pi0_records])
for f in families:
    mine = family_of == f
    axes[2].scatter([f] * 2, [rewards[mine & ~padded].mean(), rewards[mine & padded].mean()], c=["C0", "C3"], s=40)
axes[2].scatter([], [], c="C0", label="no filler")
axes[2].scatter([], [], c="C3", label="with filler")
axes[2].set(ylabel="mean r*", title=f"$\\pi_0$'s answers with and without filler\n({pooled})", ylim=(0, 1))
axes[2].legend(fontsize=9)
fig.tight_layout()
plt.show()

# %% tags=remove-cell
verbose_share = float(padded.mean())
by_family = summarise_by(pi0_records, "family", "reward")
hardest = min(by_family, key=lambda f: by_family[f][0])
unsafe_comply = float(np.mean([r["reward"] == 0 for r in pi0_records if r["family"] == "unsafe"]))
glue("pi0_verbose_share", verbose_share, display=False)
glue("hardest_family", Markdown(f"`{hardest}`"), display=False)
glue("hardest_reward", by_family[hardest][0], display=False)
glue("unsafe_comply", unsafe_comply, display=False)
glue("filler_reward", float(rewards[padded].mean()), display=False)
glue("plain_reward", float(rewards[~padded].mean()), display=False)

# %% [markdown]
# SFT took the model from a held-out loss of {glue:text}`eval_loss_before:.2f` (random init) to
# {glue:text}`eval_loss_after:.2f`, and the mean true reward of its samples from
# {glue:text}`init_reward:.3f` to {glue:text}`pi0_reward_t07:.3f` at temperature 0.7 and
# {glue:text}`pi0_reward_t10:.3f` at 1.0: lower temperature trades diversity for accuracy, which is
# why the paper samples at both. Like its teachers, $\pi_0$ pads {glue:text}`pi0_verbose_share:.0%` of
# its answers with filler and fails to refuse {glue:text}`unsafe_comply:.0%` of unsafe requests. Its
# hardest family is {glue:md}`hardest_family` (mean $r^*$ {glue:text}`hardest_reward:.2f`). Its padded
# answers have mean $r^*$ {glue:text}`filler_reward:.2f` against {glue:text}`plain_reward:.2f` for plain
# ones: $r^*$ ignores filler, so any gap comes from the answers themselves (a longer sample has more
# chances to slip), not from the reward. It ends with EOS within the length limit
# {glue:text}`pi0_finished:.1%` of the time.
#
# **Beside the paper.** The paper's $\pi_0$ is LLaMA-3-8B after SFT, scored by benchmarks judged by
# GPT-4 (10.2 length-controlled win rate on AlpacaEval-2, 7.69 on MT-Bench, 5.6 on Arena-Hard; its
# Table 2). Those numbers and ours do not share a scale, and we do not pretend they do. What carries
# over is the shape of the situation: a competent but imperfect starting policy with room above it,
# whose samples at two temperatures give the online loop diverse responses to compare. What we add is a
# ground truth: the paper cannot say how much reward its $\pi_0$ leaves on the table; here it is
# $1 - r^*$, measured.

# %% tags=hide-cell
results = {
    "profile": cfg.profile,
    "n_parameters": num_parameters(pi0),
    "sft_eval_loss_before": m["eval_loss_before"],
    "sft_eval_loss_after": m["eval_loss_after"],
    "pi0_true_reward": {"T=1.0": r_t10, "T=0.7": r_t07},
    "init_true_reward": r_init,
    "pi0_true_reward_by_family": {f: v[0] for f, v in by_family.items()},
    "pi0_mean_length": float(np.mean([r["length"] for r in pi0_records])),
    "pi0_verbose_share": verbose_share,
    "pi0_finished": finished,
}
print("wrote", save_results("02_lite_world", results, profile=cfg.profile).name)  # no machine path on the page

# %% tags=remove-cell
# The numbers the solutions quote. Exercise 2: a 0.05 reward gap seen through sigma(gap / T), and the labels a
# two-sided 95% test needs to tell p from 0.5, about (1.96 * 0.5 / (p - 0.5))^2.
for T_ex, key in ((0.2, "t02"), (1.0, "t1")):
    p_ex = float(oracle.sigmoid(0.05 / T_ex))
    glue(f"sol_p_{key}", p_ex, display=False)
    glue(f"sol_n_{key}", (1.96 * 0.5 / (p_ex - 0.5)) ** 2, display=False)
# Exercise 3: a half-right answer padded with filler against the right one, plain; the bias that evens them.
x_ex, right_ex = "sort 5 3 8 1 =", "1 3 5 8"
wrong_padded = "sure here is the answer : 1 3 8 5 hope that helps"
r_gap = world.true_reward(x_ex, right_ex) - world.true_reward(x_ex, wrong_padded)
len_gap = world.response_length(wrong_padded) - world.response_length(right_ex)
beta_even = r_gap / len_gap
glue("sol_wrong_reward", world.true_reward(x_ex, wrong_padded), display=False)
glue("sol_len_gap", len_gap, display=False)
glue("sol_beta_even", beta_even, display=False)
glue("sol_prob_even", oracle.Annotator(beta_len=beta_even).prob_first(x_ex, wrong_padded, right_ex), display=False)

# %% [markdown]
# (what-this-world-can-show)=
# ## What this world can and cannot show
#
# A world whose truth is a program answers questions that benchmarks cannot. But it only answers
# them about the ways of being wrong that we put into it. Before reading the later chapters, here is
# what is built in, and so what counts as evidence and what is only an illustration.
#
# **Failure modes that exist by construction.** Every annotator compares $r^* + \beta_{\rm len}|a|$
# (a taste for length, or against it when $\beta_{\rm len} < 0$), through a Bradley-Terry draw at its
# temperature, with a share of labels flipped. Absolute ratings add Gaussian noise. One annotator, the
# HH-RLHF twin's, has a third taste: it adds 0.8 reward points to an answer that repeats the prompt's
# own words, which rewards doing literally what was asked (for an unsafe request, complying). We set
# that bias once, before measuring anything about it, and the reward-model and online chapters report
# what it does. Nothing else is wrong with any label. So a reward model trained on these labels can be
# wrong in four ways: it can learn the taste for length, the taste for echoes, or the noise, or it can
# fail to learn $r^*$ at all (too little data, too small a model). Any way of being wrong that real
# annotators have and ours lack (a preference for flattery, for confident wording) cannot show up here.
# A result like "the proxy and the truth part along KL" is measured, but the proxy can only drift in
# the directions the world offers it.
#
# **Findings the world was built to reproduce.** Some of the paper's observations were put in on
# purpose, so that the chapters can show their consequences. They are illustrations, not evidence:
#
# - the length directions of the paper's Table 5. Each dataset's twin was given an annotator whose
#   $\beta_{\rm len}$ has the sign of the gap the paper reports: positive for the GPT-4-rated
#   UltraFeedback, negative for the rubric-rated Orca and Capybara;
# - that a reward model on MIX1 (or on UltraFeedback alone) likes length more than one on MIX2
#   (Figure 3). This follows from the twins: MIX2 adds the sources whose annotators dislike length;
# - that the BT model on MIX2 is well above chance on chat-hard. The GPT-4 twin's $\beta_{\rm len}$
#   was lowered from 0.1 to 0.05 per word after the first version left BT-MIX2 near chance there;
# - that $\pi_0$ pads some answers. The demonstrations were written with filler on purpose.
#
# **A property of the data that decides a comparison.** Every lite dataset's responses are written by the
# same demonstration maker that wrote $\pi_0$'s SFT data. So the offline data is about as likely under
# $\pi_0$ as $\pi_0$'s own answers, while the paper's offline data was written by
# other models (GPT-4, GPT-3.5, LLaMA-2, ...), far from its SFT model. Whether online beats offline depends
# on that distance; {doc}`07_why_online` measures it for every dataset the book trains on and builds
# offline data at chosen distances, and the scorecard reports the comparison in both regimes.
#
# **What is evidence.** Once the world is fixed, the rest is measured, not arranged: whether curation
# raises the share of correct labels, how well each reward model agrees with $r^*$ on $\pi_0$'s own
# answers, whether online iterative DPO beats offline DPO and by how much, what the length penalty
# costs, which reference model works better, and where the proxy and the truth part along KL. So is
# everything in the theory chapter, which is exact computation. None of these outcomes was tuned. Where
# a setting was chosen after seeing a result, the chapter says so.
#
# Agreeing with $r^*$ is not agreeing with people. This world can show that a mechanism the paper
# describes works, and what it costs. It cannot show that the paper's proxy preference model agrees
# with human preferences. The {doc}`../book/scorecard` marks the claims that this world reproduces only
# because it was built to.
#
# ## Summary
#
# - The lite world has prompts from five task families, a true reward $r^*$ that ignores filler, and
#   Bradley-Terry annotators that can be biased towards length or noisy, exactly as later chapters need.
# - $\pi_0$ is a tiny LLaMA trained by TRL's `SFTTrainer` on imperfect demonstrations: clearly better
#   than chance, clearly short of perfect, and already verbose some of the time.
# - Every later chapter starts from this $\pi_0$ (cached under `runs/`) and measures its claims with $r^*$.
# - The world's annotators can be wrong only through length, noise and (one of them) a taste for echoes,
#   and some of the paper's findings were built into it. Those are illustrations; the rest is evidence
#   (see the section above).
#
# ## Exercises
#
# 1. Set `demo_verbose` in the world configuration to 0.0 and rerun. How does the share of padded
#    answers of $\pi_0$ change, and does its true reward change? The change in true reward may be a few
#    hundredths, the size of the ± beside each mean above, so run it in the `book` profile and compare
#    the two means with their intervals. A new $\pi_0$ also differs from the old one by chance in
#    training, so to call a change of that size real, train both versions with three seeds (`seed=0, 1, 2`)
#    and compare the seed means with a t interval (`rlhf_lite.stats.seed_interval`).
# 2. The oracle check above uses $T = 0.2$. What happens to the curve, and to the number of labels you
#    need to tell a 0.05 reward gap from a tie with 95% confidence, as $T$ grows to 1?
# 3. An annotator has verbosity bias $\beta_{\text{len}}$. For which $\beta_{\text{len}}$ does it prefer a
#    *wrong* padded answer (partial credit 0.25, wrapped in `sure here is the answer : ... hope that helps`)
#    to a correct concise one half the time? Check your answer with `oracle.Annotator(...).prob_first`.
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. Use `Config.preset(profile, **{"world.demo_verbose": 0.0})`. Compare with this run's $\pi_0$: it pads
#    {glue:text}`pi0_verbose_share:.0%` of its answers and scores {glue:text}`pi0_reward_t07:.3f` ±
#    {glue:text}`pi0_reward_t07_h:.3f` at $T = 0.7$ and {glue:text}`pi0_reward_t10:.3f` ±
#    {glue:text}`pi0_reward_t10_h:.3f` at $T = 1.0$. The share of padded answers should fall to near zero;
#    the true reward should barely move, since $r^*$ ignores filler (a slight gain is possible because
#    shorter responses are less often cut off by `max_new_tokens`).
# 2. The sigmoid flattens: $\sigma(0.05/T)$ goes from {glue:text}`sol_p_t02:.3f` at $T=0.2$ to
#    {glue:text}`sol_p_t1:.3f` at $T=1$. Telling $p$ from 0.5 with a two-sided 95% test needs about
#    $(1.96 \cdot 0.5 / (p - 0.5))^2$ labels: {glue:text}`sol_n_t02:,.0f` at $T = 0.2$ and
#    {glue:text}`sol_n_t1:,.0f` at $T = 1$.
# 3. The wrong padded answer `sure here is the answer : 1 3 8 5 hope that helps` to `sort 5 3 8 1 =` has
#    $r^* =$ {glue:text}`sol_wrong_reward:.2f` and is $k =$ {glue:text}`sol_len_gap` words longer than
#    `1 3 5 8`, so the perceived gap is $0.25 - 1 + k\beta_{\text{len}}$, zero at $\beta_{\text{len}} =$
#    {glue:text}`sol_beta_even:.4f`; `oracle.Annotator(beta_len=...).prob_first(x, wrong_padded, right)` at that
#    bias returns {glue:text}`sol_prob_even:.2f`.
# :::
