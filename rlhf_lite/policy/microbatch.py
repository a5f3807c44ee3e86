"""Less padding, the same batches: a training batch's forward run over groups of rows of similar lengths.

TRL's collators pad every sequence of a batch to the batch's longest, and in the lite world about half of
every batch was padding (bench/bench_utilisation.py). Here the batch the sampler drew is kept as it is, and so
is TRL's loss over it; only the model's forward runs in pieces: :class:`RowGroups` stands in for the model,
sorts the rows by length (each chosen and each rejected answer on its own: a pair's two answers often differ
in length), runs as many groups as ``size`` rows each would make, cut where they leave the fewest padded
cells, each trimmed to its own longest, and puts the per-token outputs back
in the batch's rows and columns (zeros where the batch had padding, which TRL masks). Exact up to the order of
float additions (tests/test_microbatch.py checks the loss and the gradients); one optimizer step per batch.

Why our own code and not transformers' length-grouped sampler (``train_sampling_strategy="group_by_length"``):
that sampler changes which examples share a batch (and orders each mega-batch longest first), which moves the
results and, for DPO's SFT term (a per-token mean over the batch), re-weights tokens by their batch's length;
and it cannot keep chapter 7's in-order replay in order. Row groups change none of that. The race between
them is in bench/bench_padding.py and bench/README.md.

``size=None`` (or a batch no larger than ``size``) runs the batch whole, as TRL would. The same
:func:`length_order` forms the batches of inference (reward scores, log-probabilities, sampling).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def length_order(lengths: Sequence[int], size: int) -> list[np.ndarray]:
    """Indices cut into groups of at most ``size``, by increasing length (stable, so ties keep their order)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i:i + size] for i in range(0, len(order), size)]


def fewest_cells(lengths: Sequence[int], groups: int) -> list[np.ndarray]:
    """Indices sorted by length, cut into at most ``groups`` runs so that the padded cells (each run's rows times
    its longest) are fewest: the number of forwards of fixed-size groups, with the cuts where the lengths jump.
    Why our own: an exact minimum by dynamic programming over the cut points (O(groups x n^2), vectorised; n is
    a batch's rows), which no library we use offers."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    ln = np.asarray(lengths, dtype=float)[order]
    n, k = len(ln), max(1, min(groups, len(ln)))
    start, end = np.arange(n + 1)[:, None], np.arange(n + 1)[None, :]
    span = np.where(end > start, (end - start) * ln[np.maximum(end - 1, 0)], np.inf)  # cells of run [start, end)
    best = np.where(np.arange(n + 1) == 0, 0.0, np.inf)
    cuts = []
    for _ in range(k):  # best[j]: fewest cells of the first j rows in exactly g runs
        total = best[:, None] + span
        cuts.append(total.argmin(axis=0))
        best = total.min(axis=0)
    out, j = [], n
    for back in reversed(cuts):
        i = int(back[j])
        out.append(order[i:j])
        j = i
    return [g for g in reversed(out) if len(g)]


class RowGroups:
    """A model called on a right-padded batch as forwards over groups of rows of similar lengths, as many
    groups as ``size`` rows each would make, cut where they leave the fewest padded cells (:func:`fewest_cells`);
    every per-row output (per position, or per row such as a reward) is put back in the batch's order,
    zero-padded to the batch's width. A scalar ``loss`` (a mean over label tokens, as transformers' causal-LM
    loss and TRL's fused head compute it) is recombined exactly: summed when ``num_items_in_batch`` fixes the
    denominator, else weighted by each group's label tokens. Any other scalar output is refused.
    Attributes are the model's, so a trainer can treat it as the model."""

    def __init__(self, model, size: int):
        self._model, self._size = model, size

    def __getattr__(self, name):
        return getattr(self._model, name)

    def __call__(self, input_ids=None, attention_mask=None, **kwargs):
        rows, width = input_ids.shape
        lengths = attention_mask.sum(dim=1)
        if not bool((attention_mask.cumsum(dim=1) == torch.arange(1, width + 1, device=lengths.device)
                     .clamp(max=lengths[:, None])).all()):
            raise ValueError("RowGroups needs right-padded rows (each row's tokens first, then its padding), as TRL's "
                             "training collators make them; this batch is padded otherwise.")
        groups = fewest_cells(lengths.tolist(), -(-rows // self._size))
        if len(groups) < 2:
            return self._model(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        per_position = {k: v for k, v in kwargs.items()
                        if torch.is_tensor(v) and v.dim() >= 2 and tuple(v.shape[:2]) == (rows, width)}
        if any(torch.is_tensor(v) and v.dim() and v.shape[0] == rows for k, v in kwargs.items() if k not in per_position):
            raise ValueError(f"RowGroups: an input with one value per row that is not per position "
                             f"({[k for k, v in kwargs.items() if torch.is_tensor(v) and k not in per_position]}); "
                             f"run this model whole (micro_batch=None).")
        outs, trims, counts = [], [], []
        for group in groups:
            idx = torch.as_tensor(group, dtype=torch.long, device=input_ids.device)
            w = int(lengths[idx].max())
            part = {k: v[idx, :w] for k, v in per_position.items()}
            outs.append(self._model(input_ids=input_ids[idx, :w], attention_mask=attention_mask[idx, :w],
                                    **{**kwargs, **part}))
            trims.append((idx, w))
            if "labels" in part:
                counts.append(int((part["labels"][:, 1:] != -100).sum()))
        fields = {}
        for name in outs[0].keys():
            values = [o[name] for o in outs]
            if values[0] is None:
                fields[name] = None
            elif name == "loss" and values[0].dim() == 0:
                if kwargs.get("num_items_in_batch") is not None:
                    fields[name] = sum(values)
                elif counts:
                    fields[name] = sum(v * c for v, c in zip(values, counts)) / max(1, sum(counts))
                else:
                    raise ValueError("RowGroups: a loss without labels to weigh it by; run this model whole.")
            elif values[0].dim() == 0:
                raise ValueError(f"RowGroups: the model returned a scalar {name!r} that cannot be split by rows; "
                                 f"run this model whole (micro_batch=None).")
            else:
                fields[name] = _scatter(values, trims, rows, width)
        return type(outs[0])(**fields)


def _scatter(values, trims, rows, width):
    """The groups' outputs put back in the batch's rows; a dimension 1 that follows the group's width (w or w - 1
    positions) is zero-padded to the batch's (width or width - 1), any other is kept as it is."""
    first = values[0]
    # per position if every group's dimension 1 follows its own width by the same offset (0 or 1): a per-row
    # output of size 1 (a reward) does not, unless every group had the same width, where both readings agree
    shifts = {w - v.shape[1] for v, (_, w) in zip(values, trims)} if first.dim() >= 2 else set()
    shift = shifts.pop() if len(shifts) == 1 and shifts <= {0, 1} else None
    shape = (rows, width - shift, *first.shape[2:]) if shift is not None else (rows, *first.shape[1:])
    full = first.new_zeros(shape)
    for v, (idx, w) in zip(values, trims):
        if shift is not None:
            full[idx, :w - shift] = v
        else:
            full[idx] = v
    return full


def with_row_groups(trainer_class, size: int | None):
    """A subclass of a TRL trainer (SFT, reward, DPO) whose training forwards run as :class:`RowGroups` of about
    ``size`` rows; evaluation runs whole. ``size=None``: the trainer as it is."""
    if not size:
        return trainer_class

    class WithRowGroups(trainer_class):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training and inputs.get("attention_mask") is not None:  # packed rows carry none: run whole
                model = RowGroups(model, size)
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    WithRowGroups.__name__ = f"{trainer_class.__name__}WithRowGroups"
    return WithRowGroups
