"""Conversations as datasets store them: HH-RLHF's transcripts (one string, "\\n\\nHuman:" and "\\n\\nAssistant:"
turns), pairs of message lists that share their history (Capybara), and ShareGPT turns (UltraInteract).
``sources.py`` holds the converters of the datasets; the parsing of these shared forms lives here."""

from __future__ import annotations

import os
import re

from rlhf_lite.data.schema import RowError, get_field, make_pair, message

_HH_TURN = re.compile(r"\n\n(Human|Assistant):[ ]?")


def parse_hh(transcript: str, field: str) -> list[dict]:
    """'\\n\\nHuman: hi\\n\\nAssistant: hello' -> messages. The string must start with a Human turn."""
    if not transcript.strip():
        raise RowError(field, "empty conversation")
    parts = _HH_TURN.split(transcript)
    if parts[0].strip() or len(parts) < 3:
        raise RowError(field, "does not start with '\\n\\nHuman:'")
    role = {"Human": "user", "Assistant": "assistant"}
    return [message(role[parts[i]], parts[i + 1].strip()) for i in range(1, len(parts), 2)]


def split_shared_prefix(chosen: list[dict], rejected: list[dict], source: str, field="chosen"):
    """Prompt = the turns chosen and rejected share; each must then add exactly one assistant turn."""
    if len(chosen) < 2 or len(rejected) < 2:
        raise RowError(field, "conversation has no prompt and response")
    if chosen[:-1] != rejected[:-1]:
        raise RowError(field, "chosen and rejected differ before the final assistant turn")
    if chosen[-1]["role"] != "assistant" or rejected[-1]["role"] != "assistant":
        raise RowError(field, "conversation does not end with an assistant turn")
    return chosen[:-1], chosen[-1]["content"], rejected[-1]["content"]


_HH_ASSISTANT = "\n\nAssistant:"


def convert_hh(row):
    """HH-RLHF: two whole transcripts; the shared prefix is the prompt (Bai et al., 2022).

    The prompt is the longest prefix the two raw strings share that ends just before an "\\n\\nAssistant:"
    marker, and each response is the rest of its transcript. Splitting each transcript into turns first would
    break a final answer that itself contains the marker (a model that wrote it into its answer: 5 of the
    2,312 rows of the real harmless-base test split) into two turns, and the row would be dropped as if the
    transcripts differed earlier. A response that holds a "\\n\\nHuman:" turn means they did differ
    earlier: such a row is dropped with that reason."""
    raw_c, raw_r = get_field(row, "chosen", str), get_field(row, "rejected", str)
    chosen, rejected = parse_hh(raw_c, "chosen"), parse_hh(raw_r, "rejected")  # each starts with a Human turn
    for turns, name in ((chosen, "chosen"), (rejected, "rejected")):
        if turns[-1]["role"] != "assistant":
            raise RowError(name, "conversation does not end with an assistant turn")
    cut = raw_c.rfind(_HH_ASSISTANT, 0, len(os.path.commonprefix([raw_c, raw_r])))
    answers = [t[cut + len(_HH_ASSISTANT):] for t in (raw_c, raw_r)] if cut > 0 else []
    if not answers or any("\n\nHuman:" in a for a in answers):
        raise RowError("chosen", "chosen and rejected differ before the final assistant turn")
    a, b = (x[1:] if x.startswith(" ") else x for x in answers)  # the marker's one space, as parse_hh drops it
    return [make_pair(parse_hh(raw_c[:cut], "chosen"), a.strip(), b.strip(), source="hh-rlhf")]


def sharegpt_to_messages(turns, field: str) -> list[dict]:
    role = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant", "system": "system"}
    out = []
    for k, t in enumerate(turns):
        if not isinstance(t, dict) or not isinstance(t.get("from"), str) or t["from"] not in role \
                or not isinstance(t.get("value"), str):
            raise RowError(field, f"turn {k} is not a {{from, value}} message")
        out.append(message(role[t["from"]], t["value"]))
    return out
