"""Dataset files as people have them (issue 30): a Git LFS pointer in place of the data, a damaged download, a
turn marker inside an HH-RLHF answer, a HelpSteer prompt with one response, turns that do not alternate, and a
copy of another version of a dataset. Each case met a loader that crashed, dropped a valid row with a wrong
reason, or lost a row without counting it."""

import gzip
import json

import pytest

from rlhf_lite.data.rows import DataFileError, iter_rows
from rlhf_lite.data.schema import RowError, alternate_turns, get_field, message
from rlhf_lite.data.sources import SOURCES, convert_hh, load_source, parse_hh, split_shared_prefix

# The text git leaves in place of a large file when the clone has no git-lfs (the public hh-rlhf repository's
# helpful-base/train.jsonl.gz is one), in the layout of the LFS specification: version, oid, size.
POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
           b"oid sha256:bed7d8a1e8f2b3a3e1c9f86a1b4de2b1a0c5f95e7f1e6e5f1d2c3b4a5968778a\n"
           b"size 13197418\n")
ROW = {"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"}


def hh(chosen: str, rejected: str) -> dict:
    return {"chosen": chosen, "rejected": rejected}


@pytest.fixture(scope="module")
def hub(root):
    return root / "tests" / "fixtures" / "hub"


def test_a_git_lfs_pointer_is_named_before_any_row_is_read(tmp_path):
    (tmp_path / "helpful-base").mkdir()
    (tmp_path / "helpful-online").mkdir()
    (tmp_path / "helpful-base" / "train.jsonl.gz").write_bytes(gzip.compress(json.dumps(ROW).encode() + b"\n"))
    (tmp_path / "helpful-online" / "train.jsonl.gz").write_bytes(POINTER)  # read second: found first
    rows = iter_rows(tmp_path, "train", SOURCES["hh-rlhf"].data_dirs)
    with pytest.raises(DataFileError, match=r"helpful-online/train\.jsonl\.gz .* Git LFS pointer .*13197418-byte"
                                            r".*git lfs pull"):
        next(rows)  # not one row of helpful-base first
    with pytest.raises(DataFileError, match="Git LFS pointer"):
        load_source("hh-rlhf", path=tmp_path)


@pytest.mark.parametrize("name", ["train.jsonl", "train.json", "train.parquet", "train.jsonl.gz"])
def test_a_pointer_under_any_data_file_name_is_caught(tmp_path, name):
    (tmp_path / name).write_bytes(POINTER)
    with pytest.raises(DataFileError, match=rf"{name} .*Git LFS pointer"):
        load_source("capybara", path=tmp_path / name)


def test_a_file_not_in_its_names_format_says_so(tmp_path):
    (tmp_path / "train.parquet").write_bytes(b"<!DOCTYPE html><html><body>Rate limited</body></html>")
    with pytest.raises(DataFileError, match=r"train\.parquet .*not a Parquet file.*<!DOCTYPE html>"):
        load_source("capybara", path=tmp_path / "train.parquet")
    (tmp_path / "train.jsonl.gz").write_bytes(json.dumps(ROW).encode())  # plain text under a .gz name
    with pytest.raises(DataFileError, match="not a gzip file"):
        load_source("hh-rlhf", path=tmp_path / "train.jsonl.gz")


def test_a_gzip_cut_short_names_the_file_and_the_last_line_read(tmp_path):
    data = gzip.compress(b"".join(json.dumps(ROW).encode() + b"\n" for _ in range(2000)))
    (tmp_path / "train.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match=r"train\.jsonl\.gz .*damaged gzip file.* after line \d+"):
        load_source("hh-rlhf", path=tmp_path / "train.jsonl.gz")


@pytest.mark.parametrize("side", ["chosen", "rejected"])
def test_an_assistant_marker_inside_the_final_answer_stays_in_the_answer(side):
    prompt = "\n\nHuman: Write a short dialogue between two robots.\n\nAssistant: Sure."
    inside = " Here it is: Robot A: hello.\n\nAssistant: Robot B: hello back."
    plain = " I would rather not."
    chosen, rejected = (inside, plain) if side == "chosen" else (plain, inside)
    (pair,) = convert_hh(hh(prompt + "\n\nHuman: Another one?\n\nAssistant:" + chosen,
                            prompt + "\n\nHuman: Another one?\n\nAssistant:" + rejected))
    assert [m["role"] for m in pair["prompt"]] == ["user", "assistant", "user"]
    assert pair["prompt"][-1]["content"] == "Another one?"
    assert pair[side][0]["content"] == "Here it is: Robot A: hello.\n\nAssistant: Robot B: hello back."
    assert pair["rejected" if side == "chosen" else "chosen"][0]["content"] == "I would rather not."


def test_the_shared_prefix_rule_agrees_with_splitting_turns_wherever_that_worked(hub, tmp_path):
    """On rows without a marker inside an answer the new rule gives exactly the old pairs: the fixture's, and
    a lite HH-RLHF twin's (so the curation chapter's numbers do not move)."""
    from rlhf_lite.data.lite_sources import write_lite_sources

    files = [hub / "hh-rlhf" / "train.jsonl"]
    files += sorted(write_lite_sources(tmp_path, seed=0, scale=0.2, names=["hh-rlhf"])["hh-rlhf"].rglob("*.jsonl*"))
    compared = 0
    for f in files:
        for _, row in iter_rows(f):
            try:
                c, r = (parse_hh(get_field(row, k, str), k) for k in ("chosen", "rejected"))
                old = split_shared_prefix(c, r, "hh-rlhf")  # the rule before issue 30
            except RowError:  # the lite twin's deliberately malformed rows
                continue
            (new,) = convert_hh(row)
            assert (new["prompt"], new["chosen"][0]["content"], new["rejected"][0]["content"]) == old
            compared += 1
    assert compared > 50


def test_transcripts_that_differ_earlier_are_still_dropped_with_that_reason():
    with pytest.raises(RowError, match="differ before the final assistant turn"):
        convert_hh(hh("\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
                      "\n\nHuman: a\n\nAssistant: x\n\nHuman: c\n\nAssistant: d"))
    with pytest.raises(RowError, match="differ before the final assistant turn"):
        convert_hh(hh("\n\nHuman: Hi\n\nAssistant: Hello!", "\n\nHuman: Hey\n\nAssistant: Hello!"))
    with pytest.raises(RowError, match="field 'rejected': conversation does not end with an assistant turn"):
        convert_hh(hh("\n\nHuman: a\n\nAssistant: b", "\n\nHuman: a\n\nAssistant: b\n\nHuman: c"))


def test_a_helpsteer_prompt_with_one_response_is_counted(hub):
    pairs, rep = load_source("helpsteer", path=hub / "helpsteer")
    used = {o for p in pairs for o in p["origin"].split("+")}
    assert rep.rows == 6 and len(used) == 5 and rep.unpaired == 1
    assert rep.dropped == {"prompt: only one response to this prompt: no pair": 1}
    assert rep.examples["prompt: only one response to this prompt: no pair"] == "train.jsonl:6"
    assert rep.malformed == 0  # a valid row: counted, not called malformed
    assert len(used) + sum(rep.dropped.values()) == rep.rows


STRICT = ("{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
          "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
          "{% endif %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}")


def test_turns_of_one_role_in_a_row_are_merged_so_a_strict_chat_template_takes_them(tmp_path):
    """Many chat templates (Llama 2's, Mistral's, Gemma's) raise unless roles alternate; this one does the same."""
    from rlhf_lite.world.tokenizer import build_tokenizer

    tok = build_tokenizer()
    tok.chat_template = STRICT
    rows = [hh("\n\nHuman: Tell me a joke.\n\nHuman: A short one.\n\nAssistant: Knock knock.",
               "\n\nHuman: Tell me a joke.\n\nHuman: A short one.\n\nAssistant: No."),
            hh("\n\nHuman: Hi\n\nAssistant: Hello.\n\nAssistant: How can I help?\n\nHuman: Bye\n\nAssistant: Bye!",
               "\n\nHuman: Hi\n\nAssistant: Hello.\n\nAssistant: How can I help?\n\nHuman: Bye\n\nAssistant: Go."),
            ROW]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs, rep = load_source("hh-rlhf", path=tmp_path / "train.jsonl")
    assert rep.rows == 3 and len(pairs) == 3 and rep.merged_turns == 2 and not rep.dropped
    assert pairs[0]["prompt"] == [message("user", "Tell me a joke.\n\nA short one.")]
    assert pairs[1]["prompt"][1] == message("assistant", "Hello.\n\nHow can I help?")
    for p in pairs:
        tok.apply_chat_template(p["prompt"] + p["chosen"], tokenize=False)
    with pytest.raises(Exception, match="must alternate"):  # the template is strict: the rows as they were fail
        tok.apply_chat_template(parse_hh(rows[0]["chosen"], "chosen"), tokenize=False)


def test_a_prompt_that_cannot_alternate_is_dropped_with_its_reason(tmp_path):
    with pytest.raises(RowError, match="last turn is not the user's"):
        alternate_turns([message("user", "a"), message("assistant", "b")])
    with pytest.raises(RowError, match="first turn after any system prompt is not the user's"):
        alternate_turns([message("system", "s"), message("assistant", "b"), message("user", "c")])
    assert alternate_turns([message("system", "s"), message("user", "a")]) == (
        [message("system", "s"), message("user", "a")], 0)
    row = hh("\n\nHuman: a\n\nAssistant: b\n\nAssistant: c", "\n\nHuman: a\n\nAssistant: b\n\nAssistant: d")
    (tmp_path / "train.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(ROW) + "\n")
    pairs, rep = load_source("hh-rlhf", path=tmp_path / "train.jsonl")
    assert len(pairs) == 1 and list(rep.dropped) == [
        "prompt: the last turn is not the user's: two assistant turns in a row before the response"]


def test_another_version_of_a_dataset_is_named_by_its_fields(tmp_path):
    intel = {"system": "", "question": "What is 2+2?", "chosen": "4", "rejected": "5"}  # Intel/orca_dpo_pairs
    (tmp_path / "train.jsonl").write_text(json.dumps(intel) + "\n")
    _, rep = load_source("orca", path=tmp_path / "train.jsonl")
    (reason,) = rep.dropped
    assert reason.startswith("input: missing: orca reads the layout of argilla/distilabel-intel-orca-dpo-pairs")
    assert "[system input chosen rejected generations rating status]" in reason
    assert "this row has [chosen question rejected system]" in reason


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_field_of_a_layout_is_one_the_loader_needs(hub, tmp_path, name):
    """The layout each source declares is the fields its converter cannot do without: remove any one from a
    row that converts and the row is dropped with the layout reason."""
    spec = SOURCES[name]
    good = []
    for _, row in iter_rows(hub / name):
        try:
            if isinstance(row, dict) and spec.convert(row):
                good.append(row)
        except RowError:
            pass
    assert spec.fields and good
    for field in spec.fields:
        row = {k: v for k, v in good[0].items() if k != field}
        (tmp_path / "one.jsonl").write_text(json.dumps(row) + "\n")
        _, rep = load_source(name, path=tmp_path / "one.jsonl",
                             **({"label": "better"} if field == "better_response_id" else {}))
        assert list(rep.dropped) and list(rep.dropped)[0].startswith(f"{field}: missing: {name} reads the layout of"), \
            (field, rep.dropped)
