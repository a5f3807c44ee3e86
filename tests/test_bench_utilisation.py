"""The utilisation bench counts a forward's FLOPs from the model's shapes and the tokens fed: checked here
against torch's own FLOP counter on a small LLaMA, with and without padding."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

spec = importlib.util.spec_from_file_location("bench_utilisation",
                                              Path(__file__).resolve().parents[1] / "bench" / "bench_utilisation.py")
bu = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bu  # its dataclasses look their module up
spec.loader.exec_module(bu)

SHAPE = bu.LiteShape(hidden=64, intermediate=128, layers=2, heads=4, vocab=54)
PAD = 0


def _model():
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=SHAPE.hidden, intermediate_size=SHAPE.intermediate, num_hidden_layers=SHAPE.layers,
                      num_attention_heads=SHAPE.heads, num_key_value_heads=SHAPE.heads, vocab_size=SHAPE.vocab,
                      pad_token_id=PAD, max_position_embeddings=64)
    return LlamaForCausalLM(cfg).eval()


@pytest.mark.parametrize("grad", [False, True])
def test_the_flop_count_matches_torchs_counter(grad):
    from torch.utils.flop_counter import FlopCounterMode

    model = _model()
    ids = torch.randint(1, SHAPE.vocab, (8, 24))
    counter = bu.Counter(vocab=SHAPE.vocab, pad_id=PAD)
    with counter, FlopCounterMode(display=False) as fc, torch.set_grad_enabled(grad):
        out = model(input_ids=ids)
        if grad:
            out.logits.sum().backward()
    (f,) = counter.forwards
    padded, real = bu.flops(f, SHAPE, SHAPE.vocab, generating=False)
    assert padded == real  # no pad token fed
    assert padded == pytest.approx(fc.get_total_flops(), rel=0.10)


def test_padding_is_counted_in_one_number_and_left_out_of_the_other():
    model = _model()
    ids = torch.randint(1, SHAPE.vocab, (4, 20))
    ids[:2, 10:] = PAD  # two rows padded on the right to half their width
    counter = bu.Counter(vocab=SHAPE.vocab, pad_id=PAD)
    with counter, torch.no_grad():
        model(input_ids=ids)
    (f,) = counter.forwards
    assert f.real == [10, 10, 20, 20]
    padded, real = bu.flops(f, SHAPE, SHAPE.vocab, generating=False)
    assert 0.5 < real / padded < 0.8  # 60 of 80 positions real; attention over real keys falls faster
