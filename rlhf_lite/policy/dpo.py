"""DPO on preference pairs with TRL's DPOTrainer, the policy-optimisation step of Algorithm 2.

``train_dpo(policy, reference, pairs, ...)`` starts from ``policy`` (the last iterate, or pi_0) and
keeps ``reference`` frozen as the KL anchor. The paper keeps the reference at pi_0, the SFT model, in
every iteration; the iterative DPO chapter's loop passes pi_0 each time, and the metrics record which
reference was used, so a loop that silently swapped in the previous iterate (a bug that shipped in
Online-RLHF's scripts) is visible in its artifacts. Extra loss terms (e.g. an SFT term on the chosen
response, the "feel-good" exploration variant) are TRL loss types, set in ``DPOSettings``.

With (Q)LoRA (``lora=``, rlhf_lite.policy.lora) the base loaded is the *reference*, pi_0, and the reference
log-probabilities are the base's with the adapter disabled. The iterate pi_{t-1} is pi_0 plus its
adapter, which is copied into the new trainable adapter. We do not hand TRL a model with the adapter
already loaded: TRL 1.16 then freezes a copy of that adapter as the reference, i.e. pi_{t-1}, the
reference-follows-the-iterate mistake again (a test checks the reference stays pi_0).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from rlhf_lite.data.schema import trl_dataset
from rlhf_lite.policy.dpo_settings import DPOSettings
from rlhf_lite.policy.lora import LoraSettings, adapter_of, load_base, peft_config, save_merged
from rlhf_lite.policy.models import SAFE_WEIGHTS
from rlhf_lite.policy.trainers import quiet, shared_args, train_dtype


REFERENCE_LOGPS = "reference_logps.json"  # written beside a policy trained with precomputed reference log-probs


def train_dpo(policy: str | Path, reference: str | Path, pairs: Sequence[dict], output_dir: str | Path,
              settings: DPOSettings = DPOSettings(), seed: int = 0, progress: bool = True,
              lora: LoraSettings | None = None, known_reference: str | Path | None = None,
              checkpoints: Sequence[float] = (), sequential: bool = False) -> dict:
    """Train ``policy`` with DPO against the frozen ``reference`` on ``pairs`` (``data.schema``);
    save the result to ``output_dir`` and return metrics, including the reference's path.

    ``checkpoints``: fractions of the run's optimizer steps (each in (0, 1)) after which the policy is also
    saved, as ``output_dir/checkpoints/step-<N>`` (loadable like the final policy), so one run gives several
    points of win rate against KL (the chapter on why online beats offline). ``sequential`` feeds the pairs
    in the order given instead of shuffled (a replayed stream in the order it was collected).

    With ``lora`` enabled, ``policy`` must be ``reference`` itself or a checkpoint this function wrote
    from it (its adapter is continued); the reference is the base with the adapter disabled.

    With ``settings.precompute_ref_log_probs`` the reference's log-probabilities of every pair are saved
    beside the model (``reference_logps.json``); ``known_reference`` names an earlier output folder whose
    saved values are reused for the pairs it already scored, if it was trained against the same reference
    (the online loop's rounds: the history grows, the reference stays pi_0)."""
    from transformers import AutoModelForCausalLM

    if not pairs:
        raise ValueError("train_dpo got no pairs: every prompt of the iteration was dropped (identical or tied "
                         "responses?). Check the pair report before training.")
    if settings.loss_weights is not None and len(settings.loss_weights) != len(settings.loss_type):
        raise ValueError(f"DPOSettings: {len(settings.loss_type)} loss types but {len(settings.loss_weights)} weights.")
    use_lora = lora is not None and lora.enabled
    if use_lora:
        start = None if Path(policy).resolve() == Path(reference).resolve() else adapter_of(policy)
        if start is None and Path(policy).resolve() != Path(reference).resolve() or (
                start is not None and _adapter_base(start) != Path(reference).resolve()):
            raise ValueError(f"LoRA DPO starts from the reference or from a checkpoint whose adapter/ was trained "
                             f"on that reference (by train_dpo with lora); {policy} is neither. Continue the run "
                             f"that made it, or turn lora off.")
    if checkpoints and (use_lora or not all(0 < f < 1 for f in checkpoints)):
        raise ValueError(f"train_dpo: checkpoints are fractions of the run strictly between 0 and 1, without LoRA "
                         f"(got {list(checkpoints)}, lora {'on' if use_lora else 'off'}).")
    precompute = _precomputes(settings, lora)
    known = _known_logps(known_reference, reference) if precompute else {}
    with tempfile.TemporaryDirectory() as scratch:
        trainer = dpo_trainer(policy, reference, pairs, scratch, settings, seed, progress, lora, known, sequential)
        if use_lora and start is not None:
            _continue_adapter(trainer.model, start)
        saved = _save_at(trainer, checkpoints, Path(output_dir) / "checkpoints") if checkpoints else None
        result = trainer.train()
        metrics = {"train_pairs": len(trainer.train_dataset), "train_loss": result.training_loss,
                   "reference": str(Path(reference).resolve()), "policy_init": str(Path(policy).resolve()),
                   "log_history": [h for h in trainer.state.log_history if "loss" in h],
                   "steps": trainer.state.global_step}
        if saved is not None:
            metrics["checkpoints"] = sorted(saved.done)
        if precompute:
            metrics["reference_logps_reused"] = trainer.reused_reference_logps
            scored = _scored_logps(trainer.train_dataset)
    if use_lora:
        metrics["reference_mode"] = "base with the adapter disabled"
        save_merged(trainer, reference, AutoModelForCausalLM, trainer.processing_class, output_dir)
    else:
        trainer.save_model(str(output_dir))  # gathers ZeRO-3 shards; writes on the main process only
    if precompute and trainer.accelerator.is_main_process:
        from rlhf_lite.io import write_json

        write_json(Path(output_dir) / REFERENCE_LOGPS, {"reference": _reference_id(reference), "logps": scored})
    return metrics


def _save_at(trainer, fractions: Sequence[float], folder: Path):
    """A callback that saves the policy (weights and tokenizer) after the optimizer steps nearest to
    ``fractions`` of the run. Why our own: TRL's checkpoints (save_steps) carry the optimizer state and
    trainer files, several times the model's size; a point of the KL frontier needs the weights only."""
    from transformers import TrainerCallback

    class SaveAt(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.steps = {max(1, round(state.max_steps * f)) for f in fractions} - {state.max_steps}
            self.done = []

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step in self.steps and trainer.accelerator.is_main_process:
                out = folder / f"step-{state.global_step}"
                trainer.accelerator.unwrap_model(model).save_pretrained(str(out), safe_serialization=True)
                trainer.processing_class.save_pretrained(str(out))
                self.done.append(state.global_step)

    cb = SaveAt()
    trainer.add_callback(cb)
    return cb


def _precomputes(settings: DPOSettings, lora: LoraSettings | None) -> bool:
    """Whether reference log-probs are precomputed: as set, except under (Q)LoRA. There the reference is the
    base with the adapter switched off, which costs no memory, and with TRL 1.16's precomputed values our
    QLoRA test saw DPO move held-out margins the wrong way (-1.1 nats instead of +1.1), while the same
    values matched the live reference at the first step; not understood, so LoRA keeps the live reference."""
    return settings.precompute_ref_log_probs and not (lora is not None and lora.enabled)


def pair_key(prompt, chosen, rejected) -> str:
    """A pair's identity for the reference log-prob cache: its prompt and both responses, nothing else."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps([prompt, chosen, rejected], sort_keys=True).encode()).hexdigest()[:24]


def _known_logps(folder, reference) -> dict:
    """The reference log-probs saved beside an earlier policy, if that policy had the same reference."""
    import json

    path = Path(folder) / REFERENCE_LOGPS if folder is not None else None
    if path is None or not path.exists():
        return {}
    saved = json.loads(path.read_text())
    return saved["logps"] if saved["reference"] == _reference_id(reference) else {}


def _reference_id(reference) -> str:
    """The reference model's name in ``reference_logps.json``: its path inside runs/ when it lives there, so a
    runs/ folder moved or copied elsewhere keeps its saved log-probs usable; else its absolute path."""
    from rlhf_lite.io import runs_dir

    path = Path(reference).resolve()
    try:
        return "runs/" + path.relative_to(runs_dir().resolve()).as_posix()
    except ValueError:
        return str(path)


def _scored_logps(dataset) -> dict:
    cols = dataset.select_columns(["prompt", "chosen", "rejected", "ref_chosen_logps", "ref_rejected_logps"])
    return {pair_key(r["prompt"], r["chosen"], r["rejected"]): [r["ref_chosen_logps"], r["ref_rejected_logps"]]
            for r in cols}


def dpo_trainer(policy: str | Path, reference: str | Path, pairs: Sequence[dict], scratch: str | Path,
                settings: DPOSettings = DPOSettings(), seed: int = 0, progress: bool = True,
                lora: LoraSettings | None = None, known_logps: dict | None = None, sequential: bool = False):
    """TRL's DPOTrainer for one round, set up as :func:`train_dpo` trains it (nothing trained yet).

    With ``settings.precompute_ref_log_probs`` TRL scores every pair under the reference once, here,
    and training reads those numbers instead of running the reference at every step (the same loss:
    tests/test_dpo.py; the time saved: bench/bench_races.py). ``known_logps`` ({:func:`pair_key`: [chosen,
    rejected]}) are values already scored against this reference; only the other pairs are scored."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig

    DPOTrainer = _dpo_trainer_class(settings.micro_batch)

    tok = AutoTokenizer.from_pretrained(str(policy))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    use_lora, precompute = lora is not None and lora.enabled, _precomputes(settings, lora)
    args = DPOConfig(
        output_dir=str(scratch), num_train_epochs=settings.epochs, per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.learning_rate, lr_scheduler_type=settings.lr_scheduler,
        warmup_steps=settings.warmup, beta=settings.beta, max_length=settings.max_length,
        loss_type=list(settings.loss_type),
        loss_weights=list(settings.loss_weights) if settings.loss_weights else None,
        bf16=settings.bf16, gradient_checkpointing=settings.gradient_checkpointing,
        precompute_ref_log_probs=precompute, precompute_ref_batch_size=4 * settings.batch_size,  # no backward
        train_sampling_strategy="sequential" if sequential else "random",
        **shared_args(seed, progress),
    )
    # loaded after the config, so that DeepSpeed ZeRO-3 (zero3_init_flag) partitions them while loading
    if use_lora:
        model, ref = load_base(AutoModelForCausalLM, reference, lora), None  # ref = adapter disabled
    else:
        model = AutoModelForCausalLM.from_pretrained(str(policy), **SAFE_WEIGHTS, **train_dtype(settings.bf16))
        ref = AutoModelForCausalLM.from_pretrained(str(reference), **SAFE_WEIGHTS, **train_dtype(settings.bf16))
    data = trl_dataset(pairs)
    if precompute:
        known = known_logps or {}
        # keys from the dataset's own rows, as _scored_logps reads them back (the same representation)
        logps = [known.get(pair_key(r["prompt"], r["chosen"], r["rejected"]), [float("nan")] * 2) for r in data]
        data = data.add_column("ref_chosen_logps", [c for c, _ in logps]).add_column(
            "ref_rejected_logps", [r for _, r in logps])
    trainer = quiet(DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=data,
                               processing_class=tok, peft_config=peft_config(lora, "CAUSAL_LM")), progress)
    if precompute:  # scored: training reads the numbers, so the reference model need not stay in memory
        trainer.ref_model = None
    return trainer


def _dpo_trainer_class(micro_batch: int | None = None):
    """TRL's DPOTrainer, scoring under the reference only the pairs whose log-probs are not known yet, with the
    forward of each training batch run in groups of ``micro_batch`` rows of similar lengths
    (rlhf_lite.policy.microbatch.RowGroups: the same loss, less padding).

    Why a subclass: TRL 1.16 precomputes the reference log-probs of the whole training set in every
    trainer. The online loop's round t trains on D_1..D_t against the same pi_0, so all but D_t were
    scored in earlier rounds; the values come in as NaN-or-known columns and only the NaN rows go to
    TRL's own precompute (``_precompute_ref_logps``, a private method: TRL is pinned, and
    tests/test_dpo.py checks the reused values give TRL's loss)."""
    import numpy as np
    from trl import DPOTrainer

    from rlhf_lite.policy.microbatch import RowGroups, with_row_groups

    cols = ["ref_chosen_logps", "ref_rejected_logps"]

    class ReusingDPOTrainer(with_row_groups(DPOTrainer, micro_batch)):
        reused_reference_logps = 0

        def compute_ref_log_probs(self, model, inputs):  # the reference's forward in row groups too
            return super().compute_ref_log_probs(RowGroups(model, micro_batch) if micro_batch else model, inputs)

        def _precompute_ref_logps(self, dataset, name, batch_size):
            if name != "train" or cols[0] not in dataset.column_names:
                return super()._precompute_ref_logps(dataset, name, batch_size)
            chosen, rejected = np.array(dataset[cols[0]], float), np.array(dataset[cols[1]], float)
            todo = np.flatnonzero(np.isnan(chosen) | np.isnan(rejected))
            self.reused_reference_logps = len(dataset) - len(todo)
            if len(todo):  # scored in batches of similar lengths (little padding), put back in place below
                lengths = np.array([len(p) + max(len(c), len(r)) for p, c, r in zip(
                    dataset["prompt_ids"], dataset["chosen_ids"], dataset["rejected_ids"])])
                todo = todo[np.argsort(lengths[todo], kind="stable")]
                scored = super()._precompute_ref_logps(dataset.select(todo).remove_columns(cols), name, batch_size)
                chosen[todo], rejected[todo] = scored[cols[0]], scored[cols[1]]
            return dataset.remove_columns(cols).add_column(cols[0], chosen.tolist()).add_column(cols[1], rejected.tolist())

    return ReusingDPOTrainer


def batch_loss(trainer, indices: Sequence[int]) -> float:
    """The DPO loss the trainer computes on the pairs ``indices`` of its training set taken as one batch,
    without a gradient (to compare a trainer with live reference log-probs against a precomputed one)."""
    import torch

    batch = trainer.data_collator([trainer.train_dataset[i] for i in indices])
    batch = {k: v.to(trainer.model.device) if hasattr(v, "to") else v for k, v in batch.items()}
    with torch.no_grad():
        return float(trainer.compute_loss(trainer.model, batch))


def _adapter_base(adapter_dir: Path) -> Path:
    import json

    return Path(json.loads((adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"]).resolve()


def _continue_adapter(peft_model, adapter_dir: Path) -> None:
    """Load pi_{t-1}'s adapter weights into the trainer's fresh adapter (same LoRA shape required)."""
    from peft import load_peft_weights, set_peft_model_state_dict

    result = set_peft_model_state_dict(peft_model, load_peft_weights(str(adapter_dir)))
    lora_missing = [k for k in result.missing_keys if "lora_" in k]
    if result.unexpected_keys or lora_missing:
        raise ValueError(f"the adapter in {adapter_dir} does not fit this LoRA shape (unexpected "
                         f"{list(result.unexpected_keys)[:3]}, missing {lora_missing[:3]}): keep lora.r and "
                         f"lora.target_modules the same across iterations.")
