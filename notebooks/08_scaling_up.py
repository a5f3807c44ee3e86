# %% [markdown]
# # Scaling up
#
# Every chapter so far ran on two CPU cores with models of a few hundred thousand parameters. The paper
# {cite:p}`dong2024rlhf` runs the same recipe on LLaMA-3-8B. This chapter shows how to run it at that
# scale with this book's code: on one node of 8 GPUs, as the paper did, and on a single 24 GB GPU with
# QLoRA. Nothing in the package forks between the two scales. The lite presets and the full recipes are
# the same configuration object with different values. The chapters' functions, the `rlhf-lite` command
# line and the recipes all call the same code.
#
# We cannot run an 8B model here, so this chapter does three things that can be checked on a CPU:
#
# 1. It shows exactly what changes between lite and full, computed from the two configurations.
# 2. It plans the GPU memory of every stage, and checks the planner against published figures.
# 3. It runs the one-GPU recipe's code path, QLoRA with a 4-bit base, on this machine, and shows the one
#    place where LoRA and the paper's fixed reference need care.
#
# :::{admonition} What we found
# :class: tip
# - The paper's full recipe and the lite `book` preset differ in {glue:text}`n_fields_differ` of
#   {glue:text}`n_fields` configuration fields. Most are sizes and learning rates; the full-scale parts (a hub
#   model, hub data, chat SFT data, vLLM) are each switched on by a value, not a branch. Some rows change the
#   algorithm itself, which a comparison with the paper must keep in mind: {glue:md}`algo_names`.
# - The memory planner {glue:text}`planner_claim`. {glue:text}`all_fit_text` Full-parameter DPO of the
#   8B model needs about {glue:text}`eight_dpo_gb:.0f` GB per GPU on 8 × 80 GB with ZeRO-3, QLoRA DPO about
#   {glue:text}`one_dpo_gb:.0f` GB on one 24 GB GPU, and the full recipe on that one GPU
#   {glue:text}`full_on_one_sft_gb:.0f` GB for SFT alone.
# - QLoRA runs on this CPU. With `train_dpo` the DPO reference of round 2 is $\pi_0$ (first logged margin
#   {glue:text}`margin_ours:.3f`); {glue:text}`trap_words` (margin {glue:text}`margin_theirs:.3f`).
# - The paper reports no training times. By FLOP count, under the assumptions stated below, one online
#   iteration takes about {glue:text}`iter_hours_8:.1f` hours on 8 A100s, and the largest item is
#   "{glue:text}`largest_stage`".
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-input
import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

import datasets
import transformers

from rlhf_lite.config import Config, load_recipe
from rlhf_lite.io import PACKAGE_DIR, project_root, results_dir, save_results
from rlhf_lite.policy import LoraSettings
from rlhf_lite.scale import GB, KNOWN_SHAPES, NF4_DQ_BITS, model_state_bytes, plan_config, plan_table, plan_training

transformers.utils.logging.disable_progress_bar()
datasets.disable_progress_bars()
warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renamed-argument notices
pd.set_option("display.precision", 2)
ROOT = project_root() or project_root(PACKAGE_DIR)  # the checkout that holds recipes/
cfg = Config.preset(profile, seed=seed)
full = load_recipe(ROOT / "recipes" / "full" / "paper.yaml")
qlora = load_recipe(ROOT / "recipes" / "full" / "paper-qlora.yaml")
print(f"profile={cfg.profile} seed={cfg.seed}")

# %% [markdown]
# ## Lite and full differ only in configuration
#
# `recipes/full/paper.yaml` holds the paper's settings: the SFT, reward-model, preference-model and
# DPO hyper-parameters of Sections 2 and 3 and Table 7, and the online loop of Section 3.3 (three
# iterations of 20K prompts, $n = 8$ at temperatures 1.0 and 0.7, up to 2048 new tokens). Its keys are
# the fields of `rlhf_lite.config.Config`, the same object the chapters build with `Config.preset`.
# The table lists every field on which the full recipe differs from the lite `book` preset.

# %% tags=nbval-check-output,hide-input
def flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("local_paths", "family_weights"):
            yield from flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


lite_fields, full_fields = dict(flat(Config.preset("book").to_dict())), dict(flat(full.to_dict()))
diff = pd.DataFrame([{"field": k, "lite (book)": str(lite_fields[k]), "full (paper.yaml)": str(full_fields[k])}
                     for k in lite_fields if lite_fields[k] != full_fields[k]]).set_index("field")
print(f"{len(diff)} of {len(lite_fields)} fields differ")
diff

# %% tags=remove-cell
glue("n_fields_differ", len(diff), display=False)
glue("n_fields", len(lite_fields), display=False)
# the rows of the diff that change what is computed (said from the diff, so the page follows the recipes)
ALGORITHM = {
    "dpo.loss_type": "the objective. The paper's runs use the DPO loss alone; the lite presets add an SFT term on "
                     "the chosen answers",
    "online.history": "what each DPO round trains on. The paper's runs train on the new pairs D_t alone, from the "
                      "last iterate (its Section 3.3); the lite chapters follow Algorithm 2 as written, all pairs so far",
    "online.reference": "the reference of every DPO round",
    "online.rule": "how the pairs are chosen from the n samples",
    "online.length_penalty": "the length penalty of the ranking reward",
}
changed = [k for k in ALGORITHM if k in diff.index]
rows_md = "\n".join(f"- `{k}` (lite `{diff.loc[k, 'lite (book)']}`, full `{diff.loc[k, 'full (paper.yaml)']}`): "
                     f"{ALGORITHM[k]}." for k in changed)
glue("algo_rows", Markdown(rows_md or "- none"), display=False)
glue("algo_names", Markdown(" and ".join(f"`{k}`" for k in changed) or "none"), display=False)

# %% [markdown]
# Most rows are sizes and learning rates. Some rows swap a part of the pipeline for its full-scale
# counterpart, each by a value, not a branch written for full mode:
#
# - `policy`: a hub id instead of `"lite"`. Every loader calls `from_pretrained` on it.
# - `data.source: hub`: the Table 5 datasets are read by id, or from local copies in their native
#   formats (`data.local_paths`), by the loaders of the preference-data chapter. The evaluation and
#   validation prompts are held out of the prompt pool itself.
# - `sft.dataset`: chat data with a `messages` column (the paper's SFT mixture) instead of the lite
#   demonstrations.
# - `sampling.backend: vllm`: the vLLM sampler behind the same `Generator` interface.
#
# Other rows change the algorithm, not the scale. The lite chapters chose these settings, and a comparison
# of their results with the paper's must keep them in mind:
#
# ```{glue:md} algo_rows
# ```
#
# There is one real difference, and it is not in the code: at full scale there is no true reward $r^*$.
# The loop's evaluation then reports what it can measure, the proxy's win rate against $\pi_0$, the
# length and the KL from samples. The paper measured quality with AlpacaEval-2, MT-Bench and
# Chat-Arena-Hard, which run outside this package. `tests/test_full_mode.py` runs the whole loop in full
# mode on a tiny local model and fixtures in the real datasets' formats.
#
# `recipes/full/paper-qlora.yaml` starts from `paper.yaml` (`base: paper.yaml`) and changes only what one
# GPU needs: QLoRA on, per-device batches of 1 with more gradient accumulation (the global batches stay
# the paper's; a test checks it), shorter SFT blocks, and learning rates suited to LoRA.

# %% tags=hide-input
q_fields = dict(flat(qlora.to_dict()))
pd.DataFrame([{"field": k, "paper.yaml": str(full_fields[k]), "paper-qlora.yaml": str(q_fields[k])}
              for k in full_fields if full_fields[k] != q_fields[k]]).set_index("field")

# %% [markdown]
# ## Memory: what each stage needs per GPU
#
# The planner (`rlhf_lite.scale.memory`) adds up, per GPU, what a training stage holds at its peak:
#
# - **Model states.** Mixed-precision AdamW keeps 16 bytes per parameter: 16-bit weights and gradients
#   (2 + 2) and float32 master weights, momentum and variance (12). This is the ZeRO paper's accounting
#   {cite:p}`rajbhandari2020zero`. ZeRO-2 shards the gradients and optimiser states over the GPUs, and
#   ZeRO-3 the weights as well.
# - **LoRA and QLoRA.** The frozen base is held in 16 bits or, under QLoRA, in 4-bit NF4 with
#   double-quantised constants, {glue:text}`nf4_bits:.3f` bits per weight {cite:p}`dettmers2023qlora`.
#   Only the adapters carry gradients and optimiser states.
# - **Activations.** With gradient checkpointing, each layer's input is stored and one layer is recomputed
#   in full during the backward pass {cite:p}`korthikanti2022reducing`. The float32 logits are counted
#   too: with LLaMA-3's vocabulary of 128,256 tokens they are the largest single activation.
# - **DPO's reference model.** It costs another 16-bit copy of the weights, unless its log-probabilities
#   are precomputed (`dpo.precompute_ref_log_probs`) or, under LoRA, the reference is the base with the
#   adapter switched off.
#
# Generation with vLLM needs the 16-bit weights, and the rest of the GPU is KV cache. The planner
# reports how many sequences of prompt plus 2048 new tokens fit in it at once.
#
# First, the planner against published figures. These are the comparisons `tests/test_memory.py` makes.

# %% tags=nbval-check-output,hide-input
published = pd.DataFrame([
    {"figure": "ZeRO Fig. 1: 7.5B, 64 GPUs, DDP", "published GB": 120.0, "planner GB": model_state_bytes(7.5e9, 0, 64) / GB},
    {"figure": "ZeRO Fig. 1: ZeRO-1 (P_os)", "published GB": 31.4, "planner GB": model_state_bytes(7.5e9, 1, 64) / GB},
    {"figure": "ZeRO Fig. 1: ZeRO-2 (P_os+g)", "published GB": 16.6, "planner GB": model_state_bytes(7.5e9, 2, 64) / GB},
    {"figure": "ZeRO Fig. 1: ZeRO-3 (P_os+g+p)", "published GB": 1.9, "planner GB": model_state_bytes(7.5e9, 3, 64) / GB},
])
paper_lora = LoraSettings(enabled=True, quantize_4bit=True, r=64)  # the QLoRA paper's adapters
# (the paper's "33B" is the LLaMA checkpoint published as "30b")
for size, name, gb in [("7B", "huggyllama/llama-7b", 5.048), ("13B", "huggyllama/llama-13b", 10),
                       ("33B", "huggyllama/llama-30b", 21), ("65B", "huggyllama/llama-65b", 41)]:
    p = plan_training(KNOWN_SHAPES[name], "SFT", seq_len=512, micro_batch=1, lora=paper_lora)
    published.loc[len(published)] = {"figure": f"QLoRA: 4-bit {size} model", "published GB": gb,
                                      "planner GB": p.weights + p.overhead}
p65 = plan_training(KNOWN_SHAPES["huggyllama/llama-65b"], "SFT", seq_len=512, micro_batch=1, lora=paper_lora)
published.loc[len(published)] = {"figure": "QLoRA: fine-tune 65B (< 48)", "published GB": 48.0, "planner GB": p65.total}
published["planner / published"] = published["planner GB"] / published["published GB"]
published.set_index("figure")

# %% tags=remove-cell
glue("nf4_bits", NF4_DQ_BITS, display=False)
worst = float(published["planner / published"].min())
glue("qlora_ratio_low", worst, display=False)
glue("planner_claim", "reproduces the ZeRO paper's model-state figures and comes within "
     f"{100 * (1 - worst):.0f}% of the QLoRA paper's measured model sizes", display=False)

# %% [markdown]
# The ZeRO figures are reproduced exactly: they are the same arithmetic. The QLoRA paper's sizes of its
# 4-bit models are measured on a GPU, and our count of the weights plus {glue:text}`overhead_gb:.0f` GB of
# CUDA context comes out
# lower, down to {glue:text}`qlora_ratio_low:.2f` of the published size. The measured figures include
# buffers we do not model. The planner is meant to tell "fits" from "does not fit", not to predict a
# profiler's number, and the CLI only warns.
#
# Now the paper's recipe. On 8 GPUs of 80 GB with ZeRO-3 (the way the paper trained its 8B models), and
# the one-GPU QLoRA recipe on 24 GB:

# %%
def plan(recipe, gpu_gb, gpus=1, zero=0):
    rows = plan_table(plan_config(recipe, gpu_gb, gpus=gpus, zero_stage=zero), gpu_gb)
    return pd.DataFrame(rows).set_index("stage").fillna(0.0)


eight, one = plan(full, 80, gpus=8, zero=3), plan(qlora, 24)
full_on_one = plan(full, 24)
print("paper.yaml, 8 x 80 GB, ZeRO-3")
display(eight)
print("paper-qlora.yaml, 1 x 24 GB")
display(one)

# %% tags=remove-cell
glue("eight_ref_gb", float(eight.loc["DPO", "reference"]), display=False)
glue("eight_dpo_gb", float(eight.loc["DPO", "total"]), display=False)
glue("one_dpo_gb", float(one.loc["DPO", "total"]), display=False)
glue("full_on_one_sft_gb", float(full_on_one.loc["SFT", "total"]), display=False)
glue("one_gen_seqs", int(one.loc["generation (vLLM)", "setup"].split()[0]), display=False)
glue("gen_weights_gb", float(one.loc["generation (vLLM)", "weights"]), display=False)
glue("seq_tokens", qlora.sampling.prompt_length + qlora.sampling.max_new_tokens, display=False)
glue("qlora_base_gb", float(one.loc["DPO", "weights"]), display=False)
glue("zero3_weights_gb", float(eight.loc["DPO", "weights"] + eight.loc["DPO", "trainable"]), display=False)
glue("zero3_acts_gb", float(eight.loc["DPO", "activations"]), display=False)
glue("overhead_gb", float(one.loc["DPO", "overhead"]), display=False)
glue("all_fit_text", "Every stage fits in both setups."
     if bool(eight["fits"].all() and one["fits"].all()) else "Not every stage fits: see the tables.", display=False)

# %% [markdown]
# {glue:text}`all_fit_text` Full-parameter DPO on 8 GPUs needs about {glue:text}`eight_dpo_gb:.0f` GB per
# GPU, and QLoRA DPO on one GPU about {glue:text}`one_dpo_gb:.0f` GB. The full-parameter recipe on one
# 24 GB GPU would need about {glue:text}`full_on_one_sft_gb:.0f` GB for SFT alone. On one GPU, vLLM keeps
# the 16-bit weights, {glue:text}`gen_weights_gb:.0f` GB, and has room for about
# {glue:text}`one_gen_seqs` sequences of {glue:text}`seq_tokens` tokens in its KV cache at a time. One GPU
# makes generation slow, not impossible (the time estimate below).
#
# The figure shows where the memory goes.

# %% tags=hide-input
parts = ["weights", "trainable", "activations", "reference", "overhead"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=False)
for ax, (title, table, cap) in zip(axes, [("paper.yaml: 8 x 80 GB, ZeRO-3", eight, 80),
                                          ("paper-qlora.yaml: 1 x 24 GB", one, 24)]):
    train = table.drop(index="generation (vLLM)")
    bottom = np.zeros(len(train))
    for part in parts:
        ax.bar(train.index, train[part], bottom=bottom, label=part)
        bottom += train[part].to_numpy()
    ax.axhline(cap, color="k", ls="--", lw=1)
    ax.text(len(train) - 0.5, cap, f"{cap} GB", va="bottom", ha="right")
    ax.set_title(title)
    ax.set_ylabel("GB per GPU")
    ax.tick_params(axis="x", rotation=20)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Under ZeRO-3 the model states of an 8B model come to {glue:text}`zero3_weights_gb:.0f` GB per GPU in DPO.
# The activations take {glue:text}`zero3_acts_gb:.0f` GB: sequences of {glue:text}`seq_tokens` tokens,
# chosen and rejected together, and above all the float32 logits over the 128K-token vocabulary. Under
# QLoRA the 4-bit base takes {glue:text}`qlora_base_gb:.1f` GB, and the LoRA states are small.
#
# ## The commands
#
# The `rlhf-lite` command line has one command per stage. Every command reads a recipe, takes overrides
# (`--set dpo.beta=0.1`), says what it will do, prints the memory plan on a GPU, and writes its artifacts
# under `runs/`, where the next stage looks for them. A finished stage is reused, so a crashed command
# resumes when it is run again.
#
# **One node of 8 GPUs, the paper's recipe.** Training stages run under `accelerate launch` with
# ZeRO-3. Generation runs one vLLM replica per GPU (`sampling.data_parallel: 8`); the replicas split the
# prompts without dropping the remainder of an uneven split, which Online-RLHF's generation script does.
#
# ```bash
# pip install -e '.[full]'                      # on the GPU machine: vLLM and DeepSpeed (README, "Full scale")
# R=recipes/full/paper.yaml
# Z3="accelerate launch --config_file recipes/accelerate/zero3.yaml -m rlhf_lite.cli"
# rlhf-lite plan --recipe $R --gpu-gb 80 --gpus 8 --zero 3
# rlhf-lite curate --recipe $R                  # MIX1, MIX2 and the 3 x 20K prompt splits, from the hub
# $Z3 sft --recipe $R                           # pi_0
# $Z3 train-rm --recipe $R                      # the BT reward model on MIX2 (the loop's judge)
# for t in 1 2 3; do
#   rlhf-lite generate --recipe $R --iteration $t # vLLM, 8 replicas
#   rlhf-lite annotate --recipe $R --iteration $t # the reward model scores 20K x 8 answers
#   rlhf-lite pair     --recipe $R --iteration $t # best against worst
#   $Z3 dpo            --recipe $R --iteration $t # from pi_{t-1}, reference pi_0
# done
# rlhf-lite evaluate --recipe $R                # proxy win rate, length and KL against pi_0
# ```
#
# **One 24 GB GPU, QLoRA.** Everything runs in one process, and `rlhf-lite loop` does all the
# iterations:
#
# ```bash
# R=recipes/full/paper-qlora.yaml
# rlhf-lite curate --recipe $R && rlhf-lite sft --recipe $R && rlhf-lite train-rm --recipe $R
# rlhf-lite loop --recipe $R
# ```
#
# To try the one-GPU code path on a laptop first, use `recipes/lite/ci-qlora.yaml`: the `ci` preset with
# QLoRA on every stage. `tests/test_cli.py` runs every command end to end on the lite presets, runs the
# QLoRA recipe's SFT and reward model, and trains $\pi_0$ with two processes over gloo. That is the
# multi-GPU launch on a CPU.
#
# ## QLoRA on this machine, and the reference model
#
# bitsandbytes' 4-bit kernels also run on the CPU, so the one-GPU recipe's code path runs here. Take the
# lite policy $\pi_0$, load it in NF4, attach LoRA adapters to every linear layer, and train one DPO round
# on preference pairs.

# %%
from rlhf_lite.policy import DPOSettings, train_dpo
from rlhf_lite.online import offline_pairs
from rlhf_lite.stages import prepare_pi0
from rlhf_lite.reward import load_reward_model  # noqa: F401  (the same loader serves reward models)

import bitsandbytes as bnb
from transformers import AutoModelForCausalLM

from rlhf_lite.io import cached_json, cached_model, code_fingerprint, fingerprint, runs_dir
from rlhf_lite.policy.lora import load_base

pi0 = prepare_pi0(cfg, progress=False, log=lambda *a: None).pi0
QLORA = LoraSettings(enabled=True, quantize_4bit=True, r=8, alpha=16, dropout=0.0)
base = load_base(AutoModelForCausalLM, pi0, QLORA)
linear = [m for n, m in base.named_modules() if isinstance(m, bnb.nn.Linear4bit)]
print(f"{len(linear)} linear layers in 4-bit {linear[0].weight.quant_type}")
pairs = offline_pairs(cfg, 320 if profile == "ci" else 1024, seed)
settings = DPOSettings(epochs=2, learning_rate=2e-3, batch_size=32)
frozen = DPOSettings(epochs=1, learning_rate=0.0, batch_size=32)  # round 2, below
# cached under runs/ like every other stage: keyed by pi_0, the pairs, both rounds' settings (the trap below
# uses frozen's and the chapter's max_length), the seed and the package code
key = fingerprint([str(pi0), pairs, QLORA, settings, frozen, cfg.dpo.max_length, seed, code_fingerprint()])
work = runs_dir() / f"{profile}-qlora-{key}"
m1 = cached_model(work / "pi1", lambda out: train_dpo(pi0, pi0, pairs, out, settings, seed=seed, progress=False,
                                                      lora=QLORA))
print(f"DPO round 1: {m1['train_pairs']} pairs, loss {m1['train_loss']:.3f}; reference: {m1['reference_mode']}")

# %% [markdown]
# Each stage saves the adapter (`adapter/`) and, beside it, the adapter merged into the base as an
# ordinary checkpoint. Sampling, scoring and the next stage load that checkpoint the way they load a
# fully trained model.
#
# The paper keeps $\pi_0$ as the DPO reference in every iteration, while the weights start from the last
# iterate. Under LoRA the iterate is $\pi_0$ plus an adapter, so the natural reference is the base with
# the adapter switched off. There is a trap here. If you load $\pi_1$'s adapter and hand that model to
# TRL's `DPOTrainer` (version 1.16) with no reference, TRL freezes a *copy of the loaded adapter* as the
# reference. The reference is then $\pi_1$, not $\pi_0$: the bug that the DPO chapter's reference check
# exists to catch. `train_dpo` avoids it by giving TRL a fresh adapter on the $\pi_0$ base and copying
# $\pi_1$'s weights into it.
#
# The check is simple: run round 2 at learning rate 0, so that the policy stays $\pi_1$, and read TRL's
# implied reward margin, $\beta$ times the difference of log-ratios against the reference. Against
# $\pi_0$ it is not zero. Against a copy of $\pi_1$ it is exactly zero.

# %% tags=nbval-check-output
from peft import PeftModel
from trl import DPOConfig, DPOTrainer

from rlhf_lite.data import trl_dataset
from rlhf_lite.policy.trainers import quiet

# 10 steps of 32 pairs (frozen: learning rate 0): TRL logs its metrics every 10 steps
m2 = cached_model(work / "pi2", lambda out: train_dpo(work / "pi1", pi0, pairs[:320], out, frozen, seed=seed,
                                                      progress=False, lora=QLORA))
ours = [h["rewards/margins"] for h in m2["log_history"] if "rewards/margins" in h][0]


def trap_margin() -> float:
    """The trap: pi_1's adapter pre-loaded, handed to TRL with no reference model."""
    trap_model = PeftModel.from_pretrained(load_base(AutoModelForCausalLM, pi0, QLORA), work / "pi1" / "adapter",
                                           is_trainable=True)
    trap = quiet(DPOTrainer(model=trap_model, ref_model=None, train_dataset=trl_dataset(pairs[:320]),
                      processing_class=transformers.AutoTokenizer.from_pretrained(pi0),
                      args=DPOConfig(output_dir=str(work / "trap"), learning_rate=frozen.learning_rate,
                                     num_train_epochs=frozen.epochs, per_device_train_batch_size=frozen.batch_size,
                                     logging_steps=1, report_to=[], use_cpu=True,
                                     disable_tqdm=True, save_strategy="no", max_length=cfg.dpo.max_length)), False)
    trap.train()
    return [h["rewards/margins"] for h in trap.state.log_history if "rewards/margins" in h][0]


theirs = cached_json(work / "trap.json", lambda: {"margin": trap_margin()})["margin"]
print("reference is pi_0 in train_dpo:", abs(ours) > 1e-3, "| reference is the iterate in the trap:", abs(theirs) < 1e-6)

# %% tags=remove-cell
glue("qlora_pairs", m1["train_pairs"], display=False)
glue("margin_ours", float(ours), display=False)
glue("margin_theirs", float(theirs), display=False)
glue("trap_words", "a pre-loaded adapter handed to TRL without a reference silently makes the iterate its own reference"
     if abs(theirs) < 1e-6 and abs(ours) > 1e-3 else
     "in this run the pre-loaded adapter's margin is not zero, so this TRL does not reproduce the trap", display=False)

# %% [markdown]
# With `train_dpo` the first logged margin is {glue:text}`margin_ours:.3f`, the gap that $\pi_1$ has
# opened over $\pi_0$ on these pairs. With the pre-loaded adapter it is {glue:text}`margin_theirs:.3f`:
# the reference moved with the policy.
#
# ## Time and quality to expect
#
# The paper reports no training times. What can be estimated is the arithmetic. A forward pass costs
# about $2\Psi$ floating-point operations per token, and training about $6\Psi$
# {cite:p}`kaplan2020scaling`. The table converts the work of one online iteration into GPU-hours. It
# assumes {glue:text}`peak_tflops:.0f` TFLOP/s per A100 in bf16 at {glue:text}`mfu_train:.0%` utilisation
# for training and scoring, and {glue:text}`mfu_gen:.0%` for generation, which is bound by memory
# bandwidth. The token counts assume prompts of {glue:text}`prompt_tokens` tokens and answers of
# {glue:text}`answer_tokens` on average. These are assumptions, not measurements, so change them to yours.

# %%
PSI = KNOWN_SHAPES[full.policy].params
PEAK, MFU_TRAIN, MFU_GEN = 312e12, 0.40, 0.10  # A100 bf16 peak; assumed utilisations
PROMPT, ANSWER = 200, 400  # assumed mean tokens (the paper caps answers at 2048)
m, n = full.data.prompts_per_iteration, full.sampling.n
work_flops = {
    "generate (vLLM)": (2 * PSI * m * n * (PROMPT + ANSWER), MFU_GEN),
    "annotate (reward model)": (2 * PSI * m * n * (PROMPT + ANSWER), MFU_TRAIN),
    "DPO, 2 epochs on 20K pairs": (full.dpo.epochs * m * 2 * (PROMPT + ANSWER) * (6 * PSI + 2 * PSI), MFU_TRAIN),
}
hours = pd.DataFrame([{"stage": k, "PFLOP": f / 1e15, "GPU-hours": f / (PEAK * u) / 3600,
                       "hours on 8 GPUs": f / (PEAK * u) / 3600 / 8} for k, (f, u) in work_flops.items()]).set_index("stage")
hours.loc["one iteration"] = hours.sum()
hours

# %% tags=remove-cell
glue("iter_hours_8", float(hours.loc["one iteration", "hours on 8 GPUs"]), display=False)
glue("iter_hours_1", float(hours.loc["one iteration", "GPU-hours"]), display=False)
glue("peak_tflops", PEAK / 1e12, display=False)
glue("mfu_train", MFU_TRAIN, display=False)
glue("mfu_gen", MFU_GEN, display=False)
glue("prompt_tokens", PROMPT, display=False)
glue("answer_tokens", ANSWER, display=False)
glue("largest_stage", str(hours["GPU-hours"].drop("one iteration").idxmax()), display=False)

# %% [markdown]
# By this count one iteration is about {glue:text}`iter_hours_8:.1f` hours on 8 A100s, or about
# {glue:text}`iter_hours_1:.0f` hours on one GPU of the same speed. On one 24 GB card, slower than an A100
# and with QLoRA's dequantisation overhead, expect several times more. The largest item is
# "{glue:text}`largest_stage`". Generation is why the paper uses vLLM, and why `sampling.data_parallel`
# puts one replica on every GPU.
#
# For quality, the paper's Table 2 reports length-controlled AlpacaEval-2 win rates of 10.2 for the SFT
# model, 22.5 for offline DPO and 31.3 for iterative DPO. Table 4 reports 38.1 with the length penalty
# and 20.7 with UltraRM-13B as the judge. The QLoRA recipe is our variant, and neither the paper nor we
# have measured it. LoRA adapters change fewer weights per step than full fine-tuning, so expect to tune
# the learning rate. In the lite world the chapters measure what the loop does against the truth:

# %%
lite_results = results_dir() / "06_iterative_dpo.json"
if lite_results.exists():
    r = json.loads(lite_results.read_text())
    print(f"lite world ({r['profile']} profile): true win rate against pi_0 after {r['iterations']} iterations")
    for name in (r["gold_recipe"], r["main_recipe"]):
        w = r["per_iteration"][name][-1]["win_rate"]
        print(f"  iterative DPO, {name}: {w['mean']:.3f} +- {w['ci95']:.3f}")
    print(f"  offline DPO: {r['offline_dpo']['win_rate']['mean']:.3f} +- {r['offline_dpo']['win_rate']['ci95']:.3f}")
else:
    print(f"run the iterative DPO chapter first to compare ({lite_results} is missing)")

# %% [markdown]
# ## Running the book on a GPU machine
#
# The chapters are experiments in the lite world: they measure against $r^*$, which exists only there.
# On a GPU machine the book builds as it does here. Every trainer uses the GPU when there is one (the
# `use_cpu` flag follows `torch.cuda.is_available()`). The lite presets keep `bf16` off because the tiny
# models gain nothing from it.
#
# ```bash
# make book                                                  # every chapter, book profile, then the HTML
# .venv/bin/papermill notebooks/06_iterative_dpo.ipynb out.ipynb -p profile book   # one chapter
# ```
#
# Larger lite worlds are one override away: for example `with_overrides(cfg, {"model.hidden_size": 512,
# "model.num_hidden_layers": 8, "data.prompts_per_iteration": 5000})` in a chapter's config cell. The
# paper's full-scale pipeline is the command line above, with evaluation on the benchmarks the paper
# used.
#
# ## Results file

# %% tags=hide-cell
save_results("08_scaling_up", {
    "fields_differing_lite_full": len(diff),
    "plan_8x80_zero3": eight.reset_index().to_dict(orient="records"),
    "plan_1x24_qlora": one.reset_index().to_dict(orient="records"),
    "planner_vs_published": published.to_dict(orient="records"),
    "qlora_cpu_dpo": {"pairs": m1["train_pairs"], "margin_lr0_reference_pi0": ours, "margin_lr0_preloaded_adapter": theirs},
    "hours_per_iteration_estimate": hours.reset_index().to_dict(orient="records"),
    "paper": {"table2_lc_alpacaeval2": {"sft": 10.2, "offline_dpo": 22.5, "iterative_dpo": 31.3},
              "table4_lc_alpacaeval2": {"ours_concise": 38.1, "ultrarm_13b": 20.7}},
}, profile)

# %% [markdown]
# ## Summary
#
# - Lite and full are one code path. The full recipes set a hub model, hub datasets, chat SFT data and
#   the vLLM backend, and every other difference is a number. `rlhf-lite` runs each stage from a recipe,
#   and `accelerate launch` runs the training stages on many GPUs unchanged.
# - The memory planner {glue:text}`planner_claim`. It plans every stage of the paper's recipe on
#   8 x 80 GB with ZeRO-3 and on one 24 GB GPU with QLoRA (the tables above).
# - QLoRA runs on this CPU. Under LoRA the DPO reference is the base with the adapter off, and a
#   pre-loaded adapter silently becomes the reference in TRL 1.16, so the package avoids it.
#
# ## Exercises
#
# 1. **ZeRO-2 instead of ZeRO-3.** Plan `paper.yaml` with `zero=2` on 8 x 80 GB. Which stage is closest
#    to the limit, and why does DPO suffer most when the weights are not sharded?
# 2. **Precompute the reference.** Set `dpo.precompute_ref_log_probs: true` in the 8-GPU plan. How much
#    memory does it save per GPU, and what does it cost in time and disk?
# 3. **A longer context.** The paper caps answers at 2048 tokens. Plan the QLoRA recipe's DPO with
#    `dpo.max_length` 4096 and then 8192. Which term grows, and what would you change to fit?
# 4. **Rank.** Train the QLoRA DPO round above with `r` = 2, 8 and 32. Compare the trainable parameters and
#    the implied reward margin after the round.
# 5. **Your cluster.** Change the peak throughput and the utilisations in the time estimate to your GPUs,
#    and the answer length to what your policy writes. Which stage should you optimise first?
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. With ZeRO-2 every GPU keeps the full 16-bit weights, and DPO keeps a second copy for the
#    reference. Run `plan(load_recipe(...), 80, gpus=8, zero=2)` and compare the `weights` and `reference`
#    columns with the ZeRO-3 plan, whose DPO needs {glue:text}`eight_dpo_gb:.0f` GB per GPU. Whether it still fits depends on the activations of your micro-batch.
# 2. The reference copy disappears from the plan (its `reference` column, {glue:text}`eight_ref_gb:.1f` GB
#    per GPU in the ZeRO-3 plan above, becomes 0). The price is one
#    forward pass of the reference over the whole data set before training, and the stored log-probs
#    (two numbers per pair, which is negligible on disk). With history "all" they must be recomputed for
#    the new pairs of every iteration.
# 3. Start from the QLoRA DPO plan above ({glue:text}`one_dpo_gb:.0f` GB of 24). The activations grow
#    linearly in the sequence length, and the logits term dominates. Halve the
#    micro-batch (it is already 1), shorten `max_length`, or compute the loss in chunks. TRL's liger-kernel
#    option fuses the logits with the loss for exactly this reason.
# 4. LoRA's trainable parameters grow linearly in `r`. On the tiny lite model a larger rank moves the
#    policy further in one round at the same learning rate. The margin shows how far: at `r` = 8 the
#    chapter's round opened {glue:text}`margin_ours:.3f` over $\pi_0$. Expect diminishing
#    returns, and check it with the runs.
# 5. With the default assumptions the largest item is "{glue:text}`largest_stage`". Generation is
#    expensive because decoding is bound by memory bandwidth, so its utilisation is low. If it leads on
#    your cluster too, faster generation (more replicas, shorter answers, a length penalty that shortens
#    them) pays off first. For DPO, packing and fused kernels raise utilisation.
# :::
