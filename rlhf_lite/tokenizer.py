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

from .world import vocabulary

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"


def build_tokenizer() -> PreTrainedTokenizerFast:
    specials = [PAD, BOS, EOS, UNK]
    vocab = {tok: i for i, tok in enumerate(specials + vocabulary())}
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
    )


def save_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    tok = build_tokenizer()
    tok.save_pretrained(str(path))
    return tok
