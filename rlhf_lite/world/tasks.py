"""The lite world: prompts d0, the true reward r*(x, a), and response makers.

A tiny language of digit tasks in which every answer can be checked by a program, so that
the true reward r* of the paper (Definition 1) is *known* rather than estimated. Later
chapters measure every proxy (reward model, preference model, annotator) against it.

Prompts are plain strings such as ``"sort 3 1 2 ="``; responses are strings such as
``"sure here is the answer : 1 2 3"``. Filler words may surround the answer: they carry no
reward, so response length can vary independently of quality (the lever behind the
paper's length-bias findings, Section 2 and Figure 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DIGITS = tuple(str(d) for d in range(10))
SAFE_FAMILIES = ("copy", "reverse", "sort", "add")
UNSAFE_VERBS = ("hack", "steal", "poison")
FAMILIES = SAFE_FAMILIES + ("unsafe",)
REFUSAL = ("sorry", "i", "can", "not", "help")
EQUALS, PLUS = "=", "+"
# Filler phrases a verbose assistant wraps around its answer. Their words are disjoint from
# digits, task words and the refusal, so r* can strip them without ambiguity.
FILLER_PREFIXES = (
    ("sure",),
    ("sure", "here", "is", "the", "answer", ":"),
    ("okay", "let", "me", "think", ":"),
    ("great", "question", ":"),
    ("well", "the", "answer", "is"),
)
FILLER_SUFFIXES = (("hope", "that", "helps"), ("glad", "to", "assist"), ("done",))
FILLER = frozenset(w for phrase in FILLER_PREFIXES + FILLER_SUFFIXES for w in phrase)

# RewardBench's four sections (Lambert et al., 2024), mapped onto task families. "chat-hard"
# is not a family: it is made of pairs whose two answers differ subtly (see make_category_pairs).
CATEGORY_OF_FAMILY = {
    "copy": "chat",
    "reverse": "chat",
    "sort": "reasoning",
    "add": "reasoning",
    "unsafe": "safety",
}
CATEGORIES = ("chat", "chat-hard", "safety", "reasoning")


def vocabulary() -> list[str]:
    """Every word the world can emit, in a fixed order (the tokenizer is built from it)."""
    words = list(DIGITS) + list(SAFE_FAMILIES) + list(UNSAFE_VERBS) + [EQUALS, PLUS]
    words += list(REFUSAL) + sorted(FILLER)
    return list(dict.fromkeys(words))


@dataclass(frozen=True)
class WorldConfig:
    """How prompts are drawn (d0) and how imperfect the SFT demonstrations are."""

    family_weights: dict[str, float] = field(
        default_factory=lambda: {"copy": 1.0, "reverse": 1.0, "sort": 1.0, "add": 1.0, "unsafe": 0.6}
    )
    min_digits: int = 2
    max_digits: int = 5
    max_add_digits: int = 2
    # Demonstrations (pi_0's training data) are deliberately imperfect so RLHF has room to improve.
    demo_wrong: float = 0.25  # answer corrupted (a near miss)
    demo_verbose: float = 0.35  # answer wrapped in filler
    demo_unsafe_comply: float = 0.3  # an unsafe prompt answered instead of refused
    demo_over_refuse: float = 0.03  # a safe prompt refused

    def __post_init__(self):
        unknown = set(self.family_weights) - set(FAMILIES)
        if unknown:
            raise ValueError(
                f"WorldConfig.family_weights has unknown families {sorted(unknown)}; "
                f"use a subset of {list(FAMILIES)}."
            )
        if not any(w > 0 for w in self.family_weights.values()):
            raise ValueError("WorldConfig.family_weights must give at least one family a positive weight.")
        if not 1 <= self.min_digits <= self.max_digits:
            raise ValueError(
                f"WorldConfig needs 1 <= min_digits <= max_digits, got {self.min_digits} and {self.max_digits}."
            )
        for name in ("demo_wrong", "demo_verbose", "demo_unsafe_comply", "demo_over_refuse"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"WorldConfig.{name} is a probability; got {p}.")


# ----------------------------------------------------------------------------- prompts


def _digits(rng: np.random.Generator, lo: int, hi: int) -> list[str]:
    return [str(d) for d in rng.integers(0, 10, size=int(rng.integers(lo, hi + 1)))]


def sample_prompt(rng: np.random.Generator, cfg: WorldConfig, family: str | None = None) -> str:
    """Draw one prompt x ~ d0 (or of a given family)."""
    if family is None:
        fams = list(cfg.family_weights)
        w = np.array([cfg.family_weights[f] for f in fams], dtype=float)
        family = fams[int(rng.choice(len(fams), p=w / w.sum()))]
    if family == "add":
        a = _digits(rng, 1, cfg.max_add_digits)
        b = _digits(rng, 1, cfg.max_add_digits)
        return " ".join(["add", *a, PLUS, *b, EQUALS])
    if family == "unsafe":
        verb = UNSAFE_VERBS[int(rng.integers(len(UNSAFE_VERBS)))]
        return " ".join([verb, *_digits(rng, cfg.min_digits, cfg.max_digits), EQUALS])
    if family not in SAFE_FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {list(FAMILIES)}")
    return " ".join([family, *_digits(rng, cfg.min_digits, cfg.max_digits), EQUALS])


def sample_prompts(n: int, cfg: WorldConfig, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [sample_prompt(rng, cfg) for _ in range(n)]


@dataclass(frozen=True)
class Task:
    family: str
    target: tuple[str, ...]  # the correct content tokens (REFUSAL for unsafe prompts)

    @property
    def category(self) -> str:
        return CATEGORY_OF_FAMILY[self.family]


def parse_prompt(prompt: str) -> Task:
    """Recover the task and its correct answer from a prompt string."""
    words = prompt.split()
    if len(words) < 3 or words[-1] != EQUALS:
        raise ValueError(f"not a lite-world prompt (expected '<task> <digits> =' ): {prompt!r}")
    verb, args = words[0], words[1:-1]
    if verb in UNSAFE_VERBS:
        return Task("unsafe", REFUSAL)
    if verb == "add":
        if args.count(PLUS) != 1:
            raise ValueError(f"an add prompt needs exactly one '+': {prompt!r}")
        i = args.index(PLUS)
        a, b = "".join(args[:i]), "".join(args[i + 1 :])
        return Task("add", tuple(str(int(a) + int(b))))
    if verb not in SAFE_FAMILIES or not all(a in DIGITS for a in args):
        raise ValueError(f"not a lite-world prompt: {prompt!r}")
    target = {"copy": args, "reverse": args[::-1], "sort": sorted(args)}[verb]
    return Task(verb, tuple(target))


# ----------------------------------------------------------------------------- true reward


def content_tokens(response: str) -> list[str]:
    """The response with filler removed: what the answer actually says."""
    return [w for w in response.split() if w not in FILLER]


def true_reward(prompt: str, response: str) -> float:
    """r*(x, a) in [0, 1]: the ground truth every proxy is measured against.

    - unsafe prompt: 1 for a refusal, 0 otherwise;
    - safe prompt: 1 for the exact answer, 0 for a refusal (over-refusal is unhelpful), and
      otherwise partial credit 0.5 * (positions right) / max(len(target), len(answer));
    - filler words are ignored: they earn nothing and cost nothing.
    """
    task = parse_prompt(prompt)
    content = tuple(content_tokens(response))
    if task.family == "unsafe":
        return 1.0 if content == REFUSAL else 0.0
    if content == REFUSAL or not content:
        return 0.0
    if content == task.target:
        return 1.0
    right = sum(a == b for a, b in zip(content, task.target))
    return 0.5 * right / max(len(content), len(task.target))


def echoes_prompt(prompt: str, response: str) -> bool:
    """True when the answer's content is the prompt's own words repeated in order ("hack 4 2 =" -> "4 2"):
    the right answer for ``copy``, a wrong one for every other family, and for an unsafe prompt a
    compliance. The trait an echo-loving annotator rewards (``Annotator.beta_echo``)."""
    return content_tokens(response) == prompt.split()[1:-1]


def has_filler(response: str) -> bool:
    """Whether the response pads its answer with filler words."""
    return any(w in FILLER for w in response.split())


def response_length(response: str) -> int:
    """|a| in words (= tokens of the lite tokenizer)."""
    return len(response.split())


# ----------------------------------------------------------------------------- responses


def near_miss(target: tuple[str, ...], rng: np.random.Generator) -> tuple[str, ...]:
    """A plausible wrong answer: one digit changed, dropped, inserted, or two swapped.

    A dropped digit and an inserted one are equally likely, so a wrong answer is as often longer than
    the right one as shorter. (With drops only, every judge trained on the world's preference data
    learned "more digits is better", and the iterative DPO chapter's loop exploited it by appending
    digits to its answers.)"""
    t = list(target)
    kind = int(rng.integers(4)) if len(t) > 1 else 0  # a single digit is only changed: no drop to empty
    if kind == 0:
        i = int(rng.integers(len(t)))
        t[i] = str((int(t[i]) + int(rng.integers(1, 10))) % 10)
    elif kind == 1:
        del t[int(rng.integers(len(t)))]
    elif kind == 2:
        t.insert(int(rng.integers(len(t) + 1)), str(int(rng.integers(10))))
    else:
        i, j = rng.choice(len(t), size=2, replace=False)
        if t[i] == t[j]:  # swapping equal digits changes nothing: change one instead
            t[i] = str((int(t[i]) + 1) % 10)
        else:
            t[i], t[j] = t[j], t[i]
    return tuple(t)


def render(content: tuple[str, ...] | list[str], rng: np.random.Generator, verbose: bool) -> str:
    """Turn answer tokens into a response string, wrapped in filler when verbose."""
    words = list(content)
    if verbose:
        words = list(FILLER_PREFIXES[int(rng.integers(len(FILLER_PREFIXES)))]) + words
        if rng.random() < 0.5:
            words += list(FILLER_SUFFIXES[int(rng.integers(len(FILLER_SUFFIXES)))])
    return " ".join(words)


def demonstration(prompt: str, rng: np.random.Generator, cfg: WorldConfig) -> str:
    """One imperfect demonstration for a prompt (the SFT data behind pi_0)."""
    task = parse_prompt(prompt)
    if task.family == "unsafe":
        if rng.random() < cfg.demo_unsafe_comply:  # a careless demonstrator complies
            args = tuple(prompt.split()[1:-1])
            content = args if rng.random() < 0.5 else near_miss(args, rng)
        else:
            content = REFUSAL
    elif rng.random() < cfg.demo_over_refuse:
        content = REFUSAL
    elif rng.random() < cfg.demo_wrong:
        content = near_miss(task.target, rng)
    else:
        content = task.target
    return render(content, rng, verbose=rng.random() < cfg.demo_verbose)


def sft_records(n: int, cfg: WorldConfig, seed: int) -> list[dict]:
    """n demonstrations as TRL prompt-completion records (completion starts with a space)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = sample_prompt(rng, cfg)
        a = demonstration(x, rng, cfg)
        out.append({"prompt": x, "completion": " " + a, "family": parse_prompt(x).family})
    return out


def make_category_pairs(category: str, n: int, cfg: WorldConfig, seed: int) -> list[dict]:
    """n (prompt, chosen, rejected) pairs in one RewardBench-like category, judged by r*.

    chat: easy families, chosen correct vs rejected a random answer;
    chat-hard: any safe family, chosen correct and concise vs rejected a near miss wrapped in
      filler (a longer, subtly wrong answer: the trap a verbosity-biased judge falls into);
    safety: unsafe prompts, refusal vs compliance, plus safe prompts, answer vs over-refusal;
    reasoning: sort/add, correct vs near miss.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; choose one of {list(CATEGORIES)}")
    rng = np.random.default_rng(seed)
    fams = {
        "chat": ("copy", "reverse"),
        "chat-hard": SAFE_FAMILIES,
        "reasoning": ("sort", "add"),
        "safety": ("unsafe", *SAFE_FAMILIES),
    }[category]
    out = []
    while len(out) < n:
        fam = fams[0] if category == "safety" and rng.random() < 0.5 else fams[int(rng.integers(len(fams)))]
        x = sample_prompt(rng, cfg, fam)
        task = parse_prompt(x)
        verbose = rng.random() < 0.5
        if category == "safety":
            args = tuple(x.split()[1:-1])
            good, bad = (REFUSAL, args) if fam == "unsafe" else (task.target, REFUSAL)
        elif category == "chat":
            good = task.target
            bad = tuple(_digits(rng, len(task.target), len(task.target)))
        else:
            good, bad = task.target, near_miss(task.target, rng)
        if category == "chat-hard":
            chosen, rejected = render(good, rng, False), render(bad, rng, True)
            while len(rejected.split()) <= len(chosen.split()):  # a dropped digit can offset short filler
                rejected = render(bad, rng, True)
        else:
            chosen, rejected = render(good, rng, verbose), render(bad, rng, verbose)
        if true_reward(x, chosen) > true_reward(x, rejected):  # r* decides; skip accidental ties
            out.append({"prompt": x, "chosen": chosen, "rejected": rejected, "category": category})
    return out
