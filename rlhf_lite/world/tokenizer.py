"""A word-level tokenizer for the lite world, built with Hugging Face `tokenizers`.

Why our own: no pretrained tokenizer can be downloaded here, and the world's vocabulary is
closed (digits, task words, filler), so one word = one token keeps lengths easy to read.
It is saved with ``save_pretrained`` and loaded with ``AutoTokenizer`` exactly like a hub
tokenizer, so the rest of the code does not know which kind it has.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from rlhf_lite.world.tasks import vocabulary

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
# Conversational data (the preference mixtures, TRL's chat-template path) needs a chat template.
# The lite world has no role tokens: turns are joined by single spaces, so a one-turn chat renders
# exactly like the plain prompt + completion strings chapter 2 trains on.
# It starts with BOS, like hub templates (LLaMA-3's), so text rendered by it is tokenized with
# add_special_tokens=False and matches what SFT saw: "<bos> copy 1 2 = 1 2 <eos>".
# An assistant turn ends with EOS, as pi_0's completions did; it also gives a reward model one
# consistent last position to read the reward from.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['content'] }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{% if not loop.last or add_generation_prompt %} {% endif %}{% endfor %}"
)
# The pairwise preference model's input format (paper, Section 2): "[CONTEXT] x [RESPONSE A] a1
# [RESPONSE B] a2" -> "A" or "B". The lite vocabulary is closed, so these words must be in it.
PREFERENCE_WORDS = ("[CONTEXT]", "[RESPONSE", "A]", "B]", "A", "B")


def build_tokenizer() -> PreTrainedTokenizerFast:
    specials = [PAD, BOS, EOS, UNK]
    vocab = {tok: i for i, tok in enumerate(specials + vocabulary() + list(PREFERENCE_WORDS))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with single spaces
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, vocab[BOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        padding_side="left",  # decoder-only generation pads on the left
        model_max_length=128,
        chat_template=CHAT_TEMPLATE,
    )


def save_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    tok = build_tokenizer()
    tok.save_pretrained(str(path))
    return tok
