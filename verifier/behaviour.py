"""Behavioural check: does the endpoint behave like the registered weights?

Signatures say who is accountable; this says what runs. For an open-weight release the verifier
keeps the weights in a :class:`ReferenceStore` (a file serves as reference only after its BLAKE3
equals the weights digest on chain, re-checked before each use), draws fresh prompts from a
secret seed (:class:`PromptSource`: natural-looking questions from a space of millions, never a
list in the source), asks the endpoint at temperature 0 with only standard OpenAI request
parameters, and replays the same request locally through llama-cpp-python on the reference file,
with the parameters a llama-cpp-python server applies to that request (:class:`Replayer`).

Which comparison applies (:func:`comparison_for`):

* **exact** - the endpoint declares, in its identity claim, the engine build the verifier replays
  with (:func:`registry.identity.serve.engine_build`). On the same build greedy decoding is bit
  for bit reproducible (text and log-probabilities; measured, ``docs/behaviour.md``), so a single
  difference is evidence: the first differing answer decides ``mismatch``; :data:`EXACT_PROMPTS`
  identical answers decide ``match``.
* **tolerance** - any other endpoint (no declaration, or another build). Builds with other CPU
  kernels round differently: measured on SmolLM2 (docs/benchmarks.md), an honest endpoint on
  another build gives other text for about half the prompts (near-tied tokens flip) and differs
  by a few hundredths of a nat per token, while a requantised copy differs by tenths. So text
  alone never counts here: an answer counts against the endpoint when the mean log-probability
  gap over the tokens both sides generated alike (up to the first that differs) exceeds
  :data:`TOLERANCE_GAP`, or, without log-probabilities, when its text parts from the replay
  within the first :data:`EARLY_TOKENS` tokens. Of :data:`TOLERANCE_PROMPTS` answers, at most
  :data:`TOLERANCE_ALLOWED` such answers decide ``match`` and :data:`TOLERANCE_MISMATCHES` decide
  ``mismatch`` (text only: of :data:`TEXT_TOLERANCE_PROMPTS`, :data:`TEXT_TOLERANCE_ALLOWED` and
  :data:`TEXT_TOLERANCE_MISMATCHES`);
  anything between is ``inconclusive``. This comparison cannot exclude small changes (a single
  changed weight), and every verdict says so.

An endpoint that leaves out log-probabilities gives text only: generations are then longer
(:data:`TEXT_ONLY_TOKENS`) and more of them are needed (:data:`TEXT_ONLY_PROMPTS`), and the
wording never says "exactly". A difference is reported as *behaviour* unlike the registered
weights: other weights, or other metadata that changes behaviour (a chat template), look the same
from outside. ``inconclusive`` is a ``skip`` that keeps the verdict at ``unverified``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import numbers
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from registry import jsontext
from registry.errors import InputError, ModelsealError
from registry.hashing.model import Digest, hash_file
from registry.names import ReleaseName
from registry.verdict import Check
from verifier.errors import NoReference, Problem

if TYPE_CHECKING:
    from verifier.jobs import JobQueue, JobStore

log = logging.getLogger("modelseal.behaviour")
Decision = Literal["match", "mismatch", "inconclusive"]
Comparison = Literal["exact", "tolerance"]

EXACT = 1e-6
"""Largest log-probability difference still counted as identical on the same build (the JSON
round trip of a float64 is exact; honest same-build gaps measured exactly 0)."""
MAX_TOKENS = 16
"""Tokens per answer when the endpoint gives log-probabilities."""
TEXT_ONLY_TOKENS = 64
"""Tokens per answer when it does not: longer answers carry more of the weights' behaviour."""
EXACT_PROMPTS = 5
"""Identical answers that decide ``match`` on the same build."""
TEXT_ONLY_PROMPTS = 10
"""Identical answers that decide ``match`` from text alone."""
TOLERANCE_PROMPTS = 12
"""Answers drawn across builds (fewer when ``mismatch`` is reached first)."""
TOLERANCE_GAP = 0.15
"""Mean log-probability gap (nats per token, over the tokens both sides generated alike, up to
the first that differs) beyond which an answer counts against an endpoint on another build.
Measured over 400 prompts on SmolLM2 (docs/behaviour.md): honest answers from another build exceed
it 3.5 times in 100 (largest 0.34), requantised ones 87 times in 100."""
TOLERANCE_ALLOWED = 2
"""Answers beyond the tolerance still compatible with ``match`` (of :data:`TOLERANCE_PROMPTS`)."""
TOLERANCE_MISMATCHES = 6
"""Answers beyond the tolerance that decide ``mismatch`` across builds (half the prompts)."""
EARLY_TOKENS = 2
"""Without log-probabilities, across builds: an answer whose text parts from the replay within
its first tokens counts against the endpoint (measured: honest other builds 13.5 in 100,
requantised 79 in 100)."""
TEXT_TOLERANCE_PROMPTS = 20
"""Answers drawn across builds without log-probabilities (weaker evidence: more of it)."""
TEXT_TOLERANCE_ALLOWED = 4
"""Early-parting answers still compatible with ``match``, text only, across builds."""
TEXT_TOLERANCE_MISMATCHES = 13
"""Early-parting answers that decide ``mismatch``, text only, across builds."""
PROBE_PAUSE = (0.1, 0.8)
"""Seconds between one answer and the next prompt, drawn uniformly: a client's think time, not a
fixed cadence (the wait overlaps the replay, so it costs little)."""
_PACE = random.SystemRandom()
MAX_RUN_SECONDS = 300
"""A run decides with the answers it has once it has taken this long (an endpoint that answers
slowly must not hold the one runner for an hour)."""
MAX_PENDING_CHECKS = 16
"""Behavioural checks running or waiting at once (they run one at a time); more are refused (503)."""
MAX_ANSWER_BYTES = 1 << 20
"""A chat completion from a probed endpoint is read up to 1 MiB (16-64 tokens with logprobs is ~20 KB)."""

CANNOT_EXCLUDE: dict[tuple[Comparison, bool], str] = {
    ("exact", False): "a change to the weights that none of these prompts exercised",
    ("exact", True): ("a change too small to alter the text of these answers (the endpoint gave no log-probabilities)"),
    ("tolerance", False): (
        "small changes, such as a single changed weight, whose effect stays within the tolerance "
        f"of {TOLERANCE_GAP} nats per token allowed between engine builds"
    ),
    ("tolerance", True): (
        "any change that does not make answers part from the registered weights' within their first "
        f"{EARLY_TOKENS} tokens (no log-probabilities, and another engine build)"
    ),
}


def comparison_for(declared_engine: str | None, our_engine: str) -> Comparison:
    """``exact`` only when the endpoint declares the very build the verifier replays with."""
    return "exact" if declared_engine is not None and declared_engine == our_engine else "tolerance"


# --- reference store -------------------------------------------------------------------------


class ReferenceStore:
    """Model files by BLAKE3 digest: ``<folder>/index.json`` maps digests to file paths."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._index = self.folder / "index.json"

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._index.read_text())
            return data
        except FileNotFoundError:
            return {}

    def add(self, path: Path) -> Digest:
        """Record a reference file under its BLAKE3 (read in full now)."""
        path = Path(path).resolve()
        if not path.is_file():
            raise InputError(f"no such model file: {path}")
        digest = hash_file(path)
        index = self._load()
        index[digest.hex] = str(path)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._index.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=2))
        os.replace(tmp, self._index)
        return digest

    def get(self, weights_digest: str) -> Path | None:
        """The reference for these weights, after re-hashing it (never trusted from the index)."""
        path = self._load().get(weights_digest)
        if path is None or not Path(path).is_file():
            return None
        if hash_file(Path(path)).hex != weights_digest:
            return None  # the file changed since it was added: it is not the reference any more
        return Path(path)

    def digests(self) -> list[str]:
        return sorted(self._load())


# --- prompts ---------------------------------------------------------------------------------

# A small grammar: a question frame, the words for its slots, an opening and a closing. The
# prompts are its combinations (PromptSource.space_size() counts them: several million), drawn
# by a generator seeded from the verifier's secret; no list of prompts exists anywhere.
_FRAMES = (
    "What is the capital of {country}?",
    "What should I pack for a trip to {country} in {month}?",
    "Give me {n} tips for {activity}.",
    "Explain {concept} to {audience}.",
    "What are the pros and cons of {concept}?",
    "Write a short {form} about {topic}.",
    "Write a {form} for {audience} about {topic}.",
    "How do I {task} in {lang}?",
    "What is a common mistake when you {task} in {lang}?",
    "Summarise a story about {topic} in two sentences.",
    "Translate 'good {daytime}' into {language}.",
    "How do you say '{phrase}' in {language}?",
    "Is it a good idea to go {activity} every day?",
    "Suggest a name for a {pet} that likes {topic}.",
    "How long does it take to {chore}?",
    "What does a {job} do on a typical day?",
    "I am a {job}. How can I get better at {skill}?",
    "Recommend a dish from {country} that uses {food}.",
    "How do I store {food} so it keeps longer?",
    "What is the difference between {concept} and {concept2}?",
    "Plan a {days}-day visit to {country} for someone who likes {topic}.",
    "What would you name a {form} about {topic}?",
    "Compare {concept} and {concept2} for {audience}.",
    "I am a {job} visiting {country} in {month}. What should I see?",
    "Give me {n} ideas for a {form} about {topic} for {audience}.",
    "My {pet} and I are going {activity} in {country}. Any advice?",
    "Can you suggest {n} ways to cook {food} the way they do in {country}?",
    "How would a {job} explain {concept} to {audience}?",
    "Write a {form} about {topic} in the style of a {job}.",
)
_SLOTS: dict[str, tuple[str, ...]] = {
    "country": (
        "France",
        "Japan",
        "Brazil",
        "Kenya",
        "Canada",
        "Norway",
        "India",
        "Chile",
        "Egypt",
        "Vietnam",
        "Peru",
        "Spain",
        "Italy",
        "Greece",
        "Mexico",
        "Morocco",
        "Thailand",
        "Iceland",
        "Portugal",
        "Turkey",
        "Ireland",
        "Poland",
        "Ghana",
        "Nepal",
        "Austria",
        "Argentina",
        "Sweden",
        "Finland",
        "Indonesia",
        "Colombia",
    ),
    "month": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "n": ("two", "three", "four", "five", "six"),
    "activity": (
        "running",
        "studying",
        "cooking",
        "saving money",
        "sleeping well",
        "learning chess",
        "gardening",
        "swimming",
        "cycling",
        "hiking",
        "journaling",
        "meditating",
        "baking",
        "painting",
        "learning guitar",
        "public speaking",
        "writing",
        "birdwatching",
        "climbing",
        "dancing",
    ),
    "concept": (
        "inflation",
        "photosynthesis",
        "recursion",
        "gravity",
        "compound interest",
        "vaccines",
        "encryption",
        "supply and demand",
        "evolution",
        "plate tectonics",
        "the water cycle",
        "democracy",
        "blockchains",
        "machine learning",
        "black holes",
        "climate change",
        "opportunity cost",
        "electric current",
        "the immune system",
        "probability",
        "entropy",
        "tides",
        "rainbows",
        "interest rates",
    ),
    "concept2": (
        "deflation",
        "respiration",
        "iteration",
        "magnetism",
        "simple interest",
        "antibiotics",
        "hashing",
        "weather",
        "a republic",
        "statistics",
        "nuclear fusion",
        "erosion",
    ),
    "audience": (
        "a ten-year-old",
        "a beginner",
        "my grandmother",
        "a busy manager",
        "a high-school student",
        "someone new to the topic",
        "a friend over coffee",
        "an engineer",
    ),
    "form": (
        "poem",
        "story",
        "haiku",
        "limerick",
        "product description",
        "thank-you note",
        "song",
        "blog post",
        "toast",
        "riddle",
        "fable",
        "letter",
    ),
    "topic": (
        "the sea",
        "autumn",
        "a lost key",
        "robots",
        "friendship",
        "a small town",
        "coffee",
        "the moon",
        "a rainy day",
        "old trains",
        "a lighthouse",
        "the first snow",
        "a bakery",
        "mountains",
        "a city at night",
        "a stray cat",
        "the library",
        "a long journey",
        "summer holidays",
        "the garden",
        "kites",
        "the desert",
    ),
    "task": (
        "sort a list",
        "read a file",
        "reverse a string",
        "parse JSON",
        "write a loop",
        "handle errors",
        "make an HTTP request",
        "format a date",
        "count words",
        "remove duplicates",
        "merge two lists",
        "write a unit test",
    ),
    "lang": ("Python", "JavaScript", "Go", "Rust", "SQL", "Bash", "Java", "C#", "Ruby", "Kotlin", "TypeScript"),
    "daytime": ("morning", "evening", "night", "afternoon"),
    "language": (
        "Spanish",
        "German",
        "Italian",
        "French",
        "Portuguese",
        "Dutch",
        "Swedish",
        "Polish",
        "Turkish",
        "Japanese",
        "Swahili",
        "Greek",
    ),
    "phrase": (
        "thank you",
        "where is the station",
        "how much is this",
        "nice to meet you",
        "I am lost",
        "see you tomorrow",
        "the bill, please",
        "good luck",
    ),
    "pet": ("cat", "dog", "parrot", "hamster", "goldfish", "rabbit", "turtle", "horse"),
    "chore": (
        "bake bread",
        "change a tyre",
        "write a CV",
        "paint a room",
        "learn to juggle",
        "boil an egg",
        "clean an oven",
        "plant a tree",
        "assemble a bookshelf",
        "learn to type",
    ),
    "job": (
        "nurse",
        "carpenter",
        "data analyst",
        "teacher",
        "pilot",
        "chef",
        "librarian",
        "farmer",
        "architect",
        "plumber",
        "journalist",
        "firefighter",
    ),
    "skill": (
        "time management",
        "negotiation",
        "writing emails",
        "giving feedback",
        "remembering names",
        "planning",
        "listening",
    ),
    "food": (
        "rice",
        "lentils",
        "tomatoes",
        "cheese",
        "potatoes",
        "mushrooms",
        "eggs",
        "lemons",
        "bread",
        "fish",
        "chickpeas",
        "spinach",
        "apples",
        "coconut",
    ),
    "days": ("two", "three", "four", "five", "seven"),
}
_OPENINGS = (
    "",
    "",
    "",
    "Hi! ",
    "Hello. ",
    "Quick question: ",
    "Can you help me? ",
    "Hey, ",
    "Please help: ",
    "Hi there! ",
    "Good morning! ",
    "I'm curious: ",
)
_CLOSINGS = ("", "", "", " Keep it short.", " Thanks!", " Please be brief.", " One paragraph is enough.", " Thank you.")


def _slots_of(frame: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(frame) if name]


def _combinations(frame: str) -> int:
    combos = 1
    for slot in _slots_of(frame):
        combos *= len(_SLOTS[slot])
    return combos


class PromptSource:
    """Fresh prompts per check from a secret seed: unpredictable to the endpoint, reproducible by
    the verifier (the evidence records the check's nonce, not the secret)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def from_folder(cls, folder: Path) -> PromptSource:
        path = Path(folder) / "behaviour.secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32))
        return cls(path.read_bytes())

    @staticmethod
    def space_size() -> int:
        """How many distinct prompts the grammar can give (openings and closings counted once each)."""
        return sum(_combinations(f) for f in _FRAMES) * len(set(_OPENINGS)) * len(set(_CLOSINGS))

    def prompts(self, nonce: str) -> Any:
        """An endless stream of distinct prompts for this check (the caller takes what it needs)."""
        seed = hmac.new(self._secret, nonce.encode(), hashlib.sha256).digest()
        rng = random.Random(seed)
        seen: set[str] = set()
        weights = [_combinations(frame) for frame in _FRAMES]  # every prompt about equally likely
        while True:
            frame = rng.choices(_FRAMES, weights)[0]
            words = {slot: rng.choice(_SLOTS[slot]) for slot in _slots_of(frame)}
            prompt = rng.choice(_OPENINGS) + frame.format(**words) + rng.choice(_CLOSINGS)
            if prompt not in seen:
                seen.add(prompt)
                yield prompt

    def take(self, nonce: str, n: int) -> list[str]:
        stream = self.prompts(nonce)
        return [next(stream) for _ in range(n)]


# --- the statistic and the sequential decision ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    tokens: tuple[str, ...]
    logprobs: tuple[float, ...] | None  # of each generated token, when the engine gives them


@dataclass(frozen=True, slots=True)
class PromptResult:
    prompt: str
    same_text: bool
    max_gap: float | None
    """largest |Δ log-probability| over the tokens both sides generated alike, up to and with the
    first that differs (None: no logprobs)"""
    mean_gap: float | None = None
    """mean |Δ log-probability| over the same tokens (None: no logprobs)"""
    agreed_tokens: int = 0
    """how many of the replay's tokens the endpoint's text reproduced before parting from it"""

    def differs(self, comparison: Comparison) -> bool:
        """Whether this answer counts against the endpoint under ``comparison``."""
        if comparison == "exact":
            return not self.same_text or (self.max_gap is not None and self.max_gap > EXACT)
        if self.mean_gap is not None:
            return self.mean_gap > TOLERANCE_GAP
        return not self.same_text and self.agreed_tokens < EARLY_TOKENS

    def as_json(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "sameText": self.same_text,
            "maxLogprobGap": self.max_gap,
            "meanLogprobGap": self.mean_gap,
            "agreedTokens": self.agreed_tokens,
        }


def compare(prompt: str, endpoint: Generation, reference: Generation) -> PromptResult:
    worst: float | None = None
    mean: float | None = None
    if endpoint.logprobs is not None and reference.logprobs is not None:
        gaps = []
        for a_tok, b_tok, a, b in zip(
            endpoint.tokens, reference.tokens, endpoint.logprobs, reference.logprobs, strict=False
        ):
            gaps.append(abs(a - b))
            if a_tok != b_tok:
                break
        worst = max(gaps) if gaps else None
        mean = sum(gaps) / len(gaps) if gaps else None
    return PromptResult(prompt, endpoint.text == reference.text, worst, mean, _agreed(endpoint.text, reference))


def _agreed(text: str, reference: Generation) -> int:
    """How many of the replay's tokens ``text`` reproduces, from the start, before parting."""
    at = 0
    for n, token in enumerate(reference.tokens):
        if not text.startswith(token, at):
            return n
        at += len(token)
    return len(reference.tokens)


@dataclass(frozen=True, slots=True)
class Statistic:
    prompts: int
    differing: int
    """answers that count against the endpoint under the comparison used"""
    text_differs: int
    logprob_differs: int
    """answers with the same text whose log-probability gap exceeds the comparison's limit"""
    max_gap: float | None
    logprobs: bool
    """whether every answer came with log-probabilities"""

    def as_json(self) -> dict[str, Any]:
        return {
            "prompts": self.prompts,
            "differing": self.differing,
            "textDiffers": self.text_differs,
            "logprobDiffers": self.logprob_differs,
            "maxLogprobGap": self.max_gap,
            "logprobs": self.logprobs,
        }


def summarise(results: list[PromptResult], comparison: Comparison) -> Statistic:
    gaps = [r.max_gap for r in results if r.max_gap is not None]
    return Statistic(
        prompts=len(results),
        differing=sum(1 for r in results if r.differs(comparison)),
        text_differs=sum(1 for r in results if not r.same_text),
        logprob_differs=sum(1 for r in results if r.same_text and r.differs(comparison)),
        max_gap=max(gaps) if gaps else None,
        logprobs=bool(results) and all(r.max_gap is not None for r in results),
    )


def decide(results: list[PromptResult], comparison: Comparison, *, final: bool) -> Decision | None:
    """The decision after these answers, or None to draw another prompt (``final``: no more).

    Same build (``exact``): the first differing answer is conclusive; :data:`EXACT_PROMPTS`
    identical ones (:data:`TEXT_ONLY_PROMPTS` without log-probabilities) decide ``match``. Across
    builds (``tolerance``): :data:`TOLERANCE_MISMATCHES` answers beyond the tolerance decide
    ``mismatch`` as soon as they are seen; after :data:`TOLERANCE_PROMPTS` answers, at most
    :data:`TOLERANCE_ALLOWED` decide ``match`` (text only: the ``TEXT_TOLERANCE_`` pair).
    """
    n = len(results)
    if n == 0:
        return "inconclusive" if final else None
    text_only = not all(r.max_gap is not None for r in results)
    differing = sum(1 for r in results if r.differs(comparison))
    if comparison == "exact":
        if differing:
            return "mismatch"
        if n >= (TEXT_ONLY_PROMPTS if text_only else EXACT_PROMPTS):
            return "match"
        return "inconclusive" if final else None
    cap, allowed, accuse = (
        (TEXT_TOLERANCE_PROMPTS, TEXT_TOLERANCE_ALLOWED, TEXT_TOLERANCE_MISMATCHES)
        if text_only
        else (TOLERANCE_PROMPTS, TOLERANCE_ALLOWED, TOLERANCE_MISMATCHES)
    )
    if differing >= accuse:
        return "mismatch"
    if n >= cap or final:
        return "match" if differing <= allowed and n >= cap else "inconclusive"
    if differing > allowed and differing + (cap - n) < accuse:
        return "inconclusive"  # a match is excluded and a mismatch is out of reach
    return None


# --- running a check -------------------------------------------------------------------------


def engine_version() -> str:
    """The engine build the verifier replays with (:func:`registry.identity.serve.engine_build`)."""
    from registry.identity.serve import engine_build

    return engine_build()


PROBE_HEADERS = {
    "User-Agent": "OpenAI/Python 3.57.0",
    "Accept": "application/json",
    "X-Stainless-Lang": "python",
    "X-Stainless-Package-Version": "3.57.0",
    "X-Stainless-OS": "Linux",
    "X-Stainless-Arch": "x64",
    "X-Stainless-Runtime": "CPython",
    "X-Stainless-Runtime-Version": "3.11.7",
}
"""The headers the official ``openai`` Python client sends, so a probe does not announce itself."""


def chat_body(model: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    """A probe request with only standard OpenAI chat parameters, as an ordinary client sends it."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 1,
    }


def server_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """The arguments a llama-cpp-python server passes to ``Llama.create_chat_completion`` for this
    request body (its own defaults filled in: ``repeat_penalty`` 1.1, ``top_k`` 40...), so the
    replay is the same computation the honest server does."""
    from llama_cpp.server.types import CreateChatCompletionRequest

    request = CreateChatCompletionRequest(**body)
    return request.model_dump(exclude={"n", "logit_bias_type", "user", "min_tokens"})


class Replayer:
    """The reference engine: one loaded model per reference file, reused across checks."""

    def __init__(self, n_ctx: int = 2048, threads: int = 1) -> None:
        self.n_ctx, self.threads = n_ctx, threads
        self._models: dict[Path, Any] = {}
        self._lock = threading.Lock()

    def generate(self, model_path: Path, body: dict[str, Any]) -> Generation:
        from llama_cpp import Llama

        kwargs = server_kwargs(body)
        with self._lock:
            llm = self._models.get(model_path)
            if llm is None:
                llm = Llama(
                    model_path=str(model_path), n_ctx=self.n_ctx, n_threads=self.threads,
                    n_threads_batch=self.threads, logits_all=True, verbose=False,
                )  # fmt: skip
                self._models = {model_path: llm}  # keep one model in memory
            out = llm.create_chat_completion(**kwargs)
        return parse_chat(out)


def parse_chat(out: Any) -> Generation:
    """A Generation from an OpenAI-style chat completion (with or without logprobs). Anything else,
    including non-finite or non-numeric logprobs from a hostile endpoint, is an :class:`InputError`."""
    try:
        choice = out["choices"][0]
        text = choice["message"]["content"] or ""
        content = (choice.get("logprobs") or {}).get("content")
        if not isinstance(text, str) or not (content is None or isinstance(content, list)):
            raise TypeError
        if not content:
            return Generation(text, (), None)
        tokens = tuple(c["token"] for c in content)
        logprobs = tuple(c["logprob"] for c in content)
    except (KeyError, IndexError, TypeError, AttributeError):
        raise InputError("the answer is not an OpenAI chat completion") from None
    if not all(isinstance(t, str) for t in tokens) or not all(_finite(x) for x in logprobs):
        raise InputError("the answer's logprobs are not tokens with finite numbers")
    return Generation(text, tokens, tuple(float(x) for x in logprobs))


def _finite(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class BehaviourResult:
    decision: Decision
    comparison: Comparison
    statistic: Statistic
    engine: str
    declared_engine: str | None
    reference: str
    nonce: str
    seconds: float
    per_prompt: list[PromptResult] = field(default_factory=list)

    @property
    def text_only(self) -> bool:
        return not self.statistic.logprobs

    def detail(self) -> str:
        st, n = self.statistic, self.statistic.prompts
        same_build = self.comparison == "exact"
        how = (
            "a replay of the registered weights on the same engine build"
            if same_build
            else "a replay of the registered weights on another engine build"
        )
        within = n - st.differing
        if self.decision == "match":
            if same_build and not self.text_only:
                said = f"answered {n} fresh prompts exactly as {how}: identical text and log-probabilities"
            elif same_build:
                said = f"answered {n} fresh prompts with the same text as {how} (it gave no log-probabilities)"
            elif not self.text_only:
                said = (
                    f"answered {n} fresh prompts like {how}: {within} of {n} within {TOLERANCE_GAP} nats per token "
                    "of its log-probabilities (texts may part where two tokens are nearly tied)"
                )
            else:
                said = (
                    f"answered {n} fresh prompts like {how}, by text alone: {within} of {n} followed the replay past "
                    f"their first {EARLY_TOKENS} tokens (it gave no log-probabilities)"
                )
        elif self.decision == "mismatch":
            if same_build:
                parts = []
                if st.text_differs:
                    parts.append(f"{st.text_differs} with other text")
                if st.logprob_differs:
                    parts.append(
                        f"{st.logprob_differs} with the same text but log-probabilities off by more than {EXACT:g}"
                    )
                how_far = "; ".join(parts)
            elif not self.text_only:
                how_far = (
                    f"log-probabilities off by more than {TOLERANCE_GAP} nats per token, beyond what builds differ"
                )
            else:
                how_far = f"text parting from it within the first {EARLY_TOKENS} tokens, more often than builds do"
            said = (
                f"behaves unlike the registered weights: {st.differing} of {n} fresh prompt(s) answered "
                f"differently from {how} ({how_far}); other weights, or other metadata that "
                "changes behaviour such as the chat template"
            )
            if same_build:
                said += "; an honest endpoint on this build reproduces the replay bit for bit"
        else:
            said = (
                f"could not decide: {st.differing} of {n} fresh prompts answered a little differently from {how}; "
                "not enough to tell another engine build or setting from other weights"
            )
        if self.decision == "mismatch":
            return said
        return f"{said}. Cannot exclude: {CANNOT_EXCLUDE[(self.comparison, self.text_only)]}"

    def check(self) -> Check:
        status = {"match": "pass", "mismatch": "fail", "inconclusive": "skip"}[self.decision]
        evidence = {
            "decision": self.decision,
            "comparison": self.comparison,
            "textOnly": self.text_only,
            "cannotExclude": CANNOT_EXCLUDE[(self.comparison, self.text_only)],
            "statistic": self.statistic.as_json(),
            "engine": self.engine,
            "declaredEngine": self.declared_engine,
            "reference": self.reference,
            "nonce": self.nonce,
            "seconds": round(self.seconds, 2),
            "prompts": [r.as_json() for r in self.per_prompt],
            "thresholds": {
                "exact": EXACT, "exactPrompts": EXACT_PROMPTS, "textOnlyPrompts": TEXT_ONLY_PROMPTS,
                "toleranceGap": TOLERANCE_GAP, "tolerancePrompts": TOLERANCE_PROMPTS,
                "toleranceAllowed": TOLERANCE_ALLOWED, "toleranceMismatches": TOLERANCE_MISMATCHES,
                "earlyTokens": EARLY_TOKENS, "textTolerancePrompts": TEXT_TOLERANCE_PROMPTS,
                "textToleranceAllowed": TEXT_TOLERANCE_ALLOWED,
                "textToleranceMismatches": TEXT_TOLERANCE_MISMATCHES,
            },
        }  # fmt: skip
        return Check("behaviour", status, self.detail(), evidence)  # type: ignore[arg-type]


def run_behaviour(
    client: Any,
    url: str,
    release: ReleaseName,
    reference: Path,
    reference_digest: str,
    prompts: PromptSource,
    replayer: Replayer,
    *,
    declared_engine: str | None = None,
    nonce: str | None = None,
    max_prompts: int | None = None,
) -> BehaviourResult:
    """Ask the endpoint fresh prompts, one at a time, until the evidence decides (or a cap).
    ``url`` may be any URL an app knows the chatbot by (its address, ``.../v1``, the
    chat-completions URL): the requests go to its deployment base."""
    from verifier.probe import deployment_base

    base = deployment_base(url).rstrip("/")
    engine = engine_version()
    comparison = comparison_for(declared_engine, engine)
    nonce = nonce or os.urandom(16).hex()
    cap = max_prompts or max(TOLERANCE_PROMPTS, TEXT_TOLERANCE_PROMPTS, TEXT_ONLY_PROMPTS, EXACT_PROMPTS)
    started = time.monotonic()
    results: list[PromptResult] = []
    max_tokens = MAX_TOKENS
    decision: Decision | None = None
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay")
    try:
        for prompt in prompts.prompts(nonce):
            body = chat_body(release.model, prompt, max_tokens)
            replay = pool.submit(replayer.generate, reference, body)  # runs while the endpoint answers
            resp = client.request("POST", base + "/v1/chat/completions", json=body, headers=PROBE_HEADERS)
            if resp.status != 200:
                raise InputError(f"the endpoint answered {resp.status} to a chat completion")
            endpoint = parse_chat(jsontext.loads(resp.body, what="the chat completion", max_bytes=MAX_ANSWER_BYTES))
            if endpoint.logprobs is None:
                max_tokens = TEXT_ONLY_TOKENS  # text only from now on: longer answers
            next_at = time.monotonic() + _PACE.uniform(*PROBE_PAUSE)  # no machine-regular cadence
            results.append(compare(prompt, endpoint, replay.result()))
            overdue = time.monotonic() - started > MAX_RUN_SECONDS  # a slow endpoint holds the runner no longer
            decision = decide(results, comparison, final=len(results) >= cap or overdue)
            if decision is not None:
                break
            time.sleep(max(0.0, next_at - time.monotonic()))  # mostly hidden behind the replay
    finally:
        pool.shutdown(wait=True)
    assert decision is not None
    return BehaviourResult(
        decision, comparison, summarise(results, comparison), engine, declared_engine, reference_digest, nonce,
        time.monotonic() - started, results,
    )  # fmt: skip


# --- jobs (the service runs checks in the background) ---------------------------------------

HISTORY_PER_TARGET = 50
"""Finished behavioural checks kept per (endpoint URL, release)."""


@dataclass
class Job:
    id: str
    url: str
    release: str
    state: Literal["queued", "running", "done", "error"] = "queued"
    created: float = field(default_factory=time.time)
    finished: float | None = None
    check: Check | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "release": self.release,
            "state": self.state,
            "created": int(self.created),
            "finished": int(self.finished) if self.finished else None,
            "check": self.check.as_json() if self.check else None,
            "error": self.error,
        }


def decisive(job: Job) -> bool:
    return job.check is not None and job.check.status in ("pass", "fail")


def reported(history: list[Job]) -> Job | None:
    """The run a check reports: the latest decisive one (match or mismatch), else the latest."""
    chosen = [j for j in history if decisive(j)] or history
    return chosen[-1] if chosen else None


def check_on_record(history: list[Job], now: float | None = None) -> Check:
    """The ``behaviour`` check of an endpoint check, from the finished runs on record (oldest
    first): the latest decisive result (match or mismatch) with its age, never hidden by a later
    error or inconclusive run (those are listed beside it). Runs that did not decide are
    information only (not required), as is an empty record: anyone may ask for a run, and a run
    that could not decide (no reference weights on the worker, a lost job, an endpoint that
    stopped answering the verifier's prompts) must not take a proven identity's ``verified``
    away; it raises the ``behaviour-not-established`` warning instead."""
    if not history:
        return Check(
            "behaviour",
            "skip",
            "no behavioural check has run for this chatbot and release",
            {"start": "POST /v1/behaviour-checks"},
            required=False,
        )
    now = time.time() if now is None else now
    job = reported(history)
    assert job is not None
    later = [
        {"job": j.id, "state": j.state, "status": j.check.status if j.check else None, "error": j.error,
         "ageSeconds": int(now - (j.finished or j.created))}
        for j in history if (j.finished or 0) > (job.finished or 0)
    ]  # fmt: skip
    age = int(now - (job.finished or job.created))
    evidence: dict[str, Any] = {"ageSeconds": age, "job": job.id, "laterRuns": later, "runsOnRecord": len(history)}
    if job.check is None:  # only errors on record
        return Check(
            "behaviour",
            "skip",
            f"no behavioural check on record could decide; the latest could not run: {job.error} ({age} s ago)",
            evidence,
            required=False,
        )
    c = job.check
    if not decisive(job):
        return Check(
            "behaviour", "skip", f"no behavioural check on record could decide: {c.detail} ({age} s ago)",
            {**c.evidence, **evidence}, required=False,
        )  # fmt: skip
    note = f"; {len(later)} later run(s) could not decide" if later else ""
    return Check(c.name, c.status, f"{c.detail} ({age} s ago{note})", {**c.evidence, **evidence})


class BehaviourService:
    """Behavioural checks asked for through the service: jobs and results in the database
    (:class:`verifier.jobs.JobStore`), run one at a time in a background thread of this process,
    or, given a ``queue`` (:class:`verifier.jobs.JobQueue`), by ``modelseal verifier worker``
    processes. Without ``jobs`` it only runs checks there and then (:meth:`check_now`: the CLI)."""

    def __init__(self, home: Path, client: Any, jobs: JobStore | None = None, queue: JobQueue | None = None) -> None:
        self.store = ReferenceStore(Path(home) / "references")
        self.prompts = PromptSource.from_folder(Path(home))
        self.replayer = Replayer()
        self.client = client
        self.jobs = jobs
        self.queue = queue
        self._run_lock = threading.Lock()

    def submit(self, url: str, release: ReleaseName, weights_digest: str) -> Job:
        """Ask for a check: refused (422) without reference weights here, unless a worker
        elsewhere runs it (it then reports a missing reference in its result); 503 when
        :data:`MAX_PENDING_CHECKS` are queued or running."""
        assert self.jobs is not None, "a BehaviourService without a job store only runs checks now"
        if self.queue is None and self.store.get(weights_digest) is None:
            raise NoReference(
                f"this verifier holds no reference weights for {release} (weights digest {weights_digest})",
                hint="its operator adds them with: modelseal reference add FILE",
            )
        waiting = self.jobs.pending()
        if waiting >= MAX_PENDING_CHECKS:  # beyond this, refuse at once
            raise Problem(
                503,
                "busy",
                "Too many behavioural checks in progress",
                f"{waiting} behavioural checks are running or waiting; try again later",
                retryAfter=60,
                headers={"Retry-After": "60"},
            )
        job = Job(os.urandom(8).hex(), url, str(release))
        self.jobs.add(job, weights_digest)
        if self.queue is not None:
            self.queue.defer(job.id, str(release))
        else:
            threading.Thread(target=self.execute, args=(job.id, str(release)), daemon=True).start()
        return job

    def execute(self, job_id: str, release: str) -> None:
        """Run a job that was asked for (here, or taken from the queue by a worker)."""
        assert self.jobs is not None
        with self._run_lock:  # one check at a time per process: each uses every core
            job = self.jobs.get(job_id)
            weights_digest = self.jobs.weights_of(job_id)
            if job is None or weights_digest is None or not self.jobs.claim(job_id):
                return  # gone, taken as lost, or already run elsewhere
            job.state = "running"
            try:
                job.check = self.check_now(job.url, ReleaseName.parse(release), weights_digest)
                job.state = "done"
            except ModelsealError as exc:  # its message is written for clients (as problems.py answers it)
                log.warning("behavioural check %s failed: %s", job_id, exc.message)
                job.state, job.error = "error", exc.message
            except Exception:  # driver text, SQL, paths: to the log, never to a client
                log.exception("behavioural check %s failed", job_id)
                job.state, job.error = (
                    "error",
                    "the verifier failed to run the check (its operator's log has the details)",
                )
            job.finished = time.time()
            self.jobs.save(job)

    def check_now(self, url: str, release: ReleaseName, weights_digest: str) -> Check:
        reference = self.store.get(weights_digest)
        if reference is None:
            return Check(
                "behaviour",
                "skip",
                "this verifier holds no reference weights for the release (modelseal reference add FILE)",
                {"weightsDigest": weights_digest},
            )
        declared = self.declared_engine(url)
        result = run_behaviour(
            self.client, url, release, reference, weights_digest, self.prompts, self.replayer, declared_engine=declared
        )
        return result.check()

    def declared_engine(self, url: str) -> str | None:
        """The engine build the endpoint declares in its identity claim, if it has one. It only
        chooses the comparison: declaring the verifier's own build subjects the endpoint to the
        exact rule; not declaring it gets the tolerance rule, whose limits the verdict states."""
        from registry.identity.protocol import MAX_CLAIM_BYTES, WELL_KNOWN, Claim
        from verifier.probe import deployment_base

        try:
            resp = self.client.request("GET", deployment_base(url).rstrip("/") + WELL_KNOWN)
            if resp.status != 200:
                return None
            claim = jsontext.loads(resp.body, what="the identity claim", max_bytes=MAX_CLAIM_BYTES)
            return Claim.from_document(claim).engine
        except (ValueError, ModelsealError):
            return None

    def history(self, url: str, release: str) -> list[Job]:
        """Every finished check of this endpoint and release kept (the last
        :data:`HISTORY_PER_TARGET`), oldest first."""
        return self.jobs.history(url, release) if self.jobs is not None else []

    def latest(self, url: str, release: str) -> Job | None:
        """The most recent *decisive* result (match or mismatch) if there is one, else the most
        recent result: a later error or inconclusive run never hides an earlier mismatch."""
        return reported(self.history(url, release))
