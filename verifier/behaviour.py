"""Behavioural check: does the endpoint behave like the registered weights?

Signatures say who is accountable; this says what runs. For an open-weight release the verifier
keeps the weights in a :class:`ReferenceStore` (a file serves as reference only after its BLAKE3
equals the weights digest on chain, re-checked before each use), draws fresh prompts from a
seeded secret (:class:`PromptSource` - ordinary-looking requests, never a fixed public list),
asks the endpoint with pinned sampling and replays the same requests locally through the same
engine (llama-cpp-python) on the reference file. With the same engine build, greedy decoding is
bit-identical (text and logprobs), so an honest endpoint agrees exactly.

The statistic, per prompt: whether the completion text is identical, and the largest absolute
difference between the endpoint's and the replay's log-probability of each generated token on
the common prefix. The decision (:func:`decide`):

* ``match`` - every prompt identical (text, and logprobs within ``EXACT`` when both give them);
* ``mismatch`` - overwhelming evidence: at least ``MISMATCH_FRACTION`` of the prompts differ in
  text, or, with logprobs, at least that fraction show a logprob difference above
  ``LOGPROB_GAP`` nats on tokens both sides generated alike - far beyond float noise between
  engine builds;
* ``inconclusive`` - anything in between (a different engine build, a non-deterministic endpoint,
  a few near-tie flips): the verifier does not accuse without overwhelming evidence.

The thresholds come from measured data (``bench/behaviour.py``, ``docs/benchmarks.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from registry.errors import InputError
from registry.hashing.model import Digest, hash_file
from registry.names import ReleaseName
from registry.verdict import Check
from verifier.errors import NoReference

Decision = Literal["match", "mismatch", "inconclusive"]

EXACT = 1e-4
"""Largest logprob difference still counted as identical (JSON float round trips)."""
LOGPROB_GAP = 0.01
"""Logprob difference (nats, largest over the tokens both sides generated alike) counted as a real
difference rather than float noise between engine builds (which stays around 1e-3 and below)."""
MISMATCH_FRACTION = 0.5
"""Share of prompts that must differ before the verdict is ``mismatch``."""


@dataclass(frozen=True, slots=True)
class SamplingParams:
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 1
    repeat_penalty: float = 1.0  # pinned: llama.cpp's server default is 1.1, the library's 1.0
    seed: int = 0
    max_tokens: int = 24


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

_TEMPLATES = (
    "What is the capital of {country}?",
    "Give me {n} tips for {activity}.",
    "Explain {concept} in simple terms.",
    "Write a short {form} about {topic}.",
    "How do I {task} in {lang}?",
    "What should I pack for a trip to {country} in {month}?",
    "Summarise the plot of a story about {topic} in two sentences.",
    "Translate 'good {daytime}' into {language}.",
    "Is it a good idea to {activity} every day?",
    "What are the pros and cons of {concept}?",
    "Suggest a name for a {pet} that likes {topic}.",
    "How long does it take to {task}?",
)
_WORDS: dict[str, tuple[str, ...]] = {
    "country": ("France", "Japan", "Brazil", "Kenya", "Canada", "Norway", "India", "Chile", "Egypt", "Vietnam"),
    "n": ("two", "three", "four", "five"),
    "activity": ("running", "studying", "cooking", "saving money", "sleeping well", "learning chess", "gardening"),
    "concept": ("inflation", "photosynthesis", "recursion", "gravity", "compound interest", "vaccines", "encryption"),
    "form": ("poem", "story", "haiku", "limerick", "product description", "thank-you note"),
    "topic": ("the sea", "autumn", "a lost key", "robots", "friendship", "a small town", "coffee", "the moon"),
    "task": ("sort a list", "read a file", "reverse a string", "bake bread", "change a tyre", "write a CV"),
    "lang": ("Python", "JavaScript", "Go", "Rust", "SQL", "Bash"),
    "month": ("January", "April", "July", "October"),
    "daytime": ("morning", "evening", "night"),
    "language": ("Spanish", "German", "Italian", "French"),
    "pet": ("cat", "dog", "parrot", "hamster", "goldfish"),
}


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

    def prompts(self, nonce: str, n: int) -> list[str]:
        seed = hmac.new(self._secret, nonce.encode(), hashlib.sha256).digest()
        rng = random.Random(seed)
        out: list[str] = []
        while len(out) < n:
            template = rng.choice(_TEMPLATES)
            fields = {k: rng.choice(v) for k, v in _WORDS.items()}
            prompt = template.format(**fields)
            if prompt not in out:
                out.append(prompt)
        return out


# --- the statistic ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    tokens: tuple[str, ...]
    logprobs: tuple[float, ...] | None  # of each generated token, when the engine gives them


@dataclass(frozen=True, slots=True)
class PromptResult:
    prompt: str
    same_text: bool
    first_gap: float | None  # |Δ logprob| of the first generated token
    max_gap: float | None  # largest |Δ logprob| over the common token prefix


def compare(prompt: str, endpoint: Generation, reference: Generation) -> PromptResult:
    first: float | None = None
    worst: float | None = None
    if endpoint.logprobs is not None and reference.logprobs is not None:
        gaps = []
        for a_tok, b_tok, a, b in zip(
            endpoint.tokens, reference.tokens, endpoint.logprobs, reference.logprobs, strict=False
        ):
            gaps.append(abs(a - b))
            if a_tok != b_tok:
                break
        if gaps:
            first, worst = gaps[0], max(gaps)
    return PromptResult(prompt, endpoint.text == reference.text, first, worst)


@dataclass(frozen=True, slots=True)
class Statistic:
    prompts: int
    identical: int
    text_differs: int
    logprob_differs: int  # prompts whose largest logprob gap exceeds LOGPROB_GAP
    max_gap: float | None
    logprobs: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def summarise(results: list[PromptResult]) -> Statistic:
    with_lp = [r for r in results if r.first_gap is not None]
    identical = sum(1 for r in results if r.same_text and (r.max_gap is None or r.max_gap <= EXACT))
    gaps = [r.max_gap for r in results if r.max_gap is not None]
    return Statistic(
        prompts=len(results),
        identical=identical,
        text_differs=sum(1 for r in results if not r.same_text),
        logprob_differs=sum(1 for r in with_lp if (r.max_gap or 0.0) > LOGPROB_GAP),
        max_gap=max(gaps) if gaps else None,
        logprobs=bool(with_lp) and len(with_lp) == len(results),
    )


def decide(stat: Statistic) -> Decision:
    if stat.prompts == 0:
        return "inconclusive"
    if stat.identical == stat.prompts:
        return "match"
    needed = max(1, int(stat.prompts * MISMATCH_FRACTION + 0.5))
    if stat.text_differs >= needed or (stat.logprobs and stat.logprob_differs >= needed):
        return "mismatch"
    return "inconclusive"


# --- running a check -------------------------------------------------------------------------


def engine_version() -> str:
    import llama_cpp

    return f"llama-cpp-python {llama_cpp.__version__}"


class Replayer:
    """The reference engine: one loaded model per reference file, reused across checks."""

    def __init__(self, n_ctx: int = 2048, threads: int = 1) -> None:
        self.n_ctx, self.threads = n_ctx, threads
        self._models: dict[Path, Any] = {}
        self._lock = threading.Lock()

    def generate(self, model_path: Path, prompt: str, params: SamplingParams) -> Generation:
        from llama_cpp import Llama

        with self._lock:
            llm = self._models.get(model_path)
            if llm is None:
                llm = Llama(
                    model_path=str(model_path), n_ctx=self.n_ctx, n_threads=self.threads,
                    n_threads_batch=self.threads, logits_all=True, verbose=False,
                )  # fmt: skip
                self._models = {model_path: llm}  # keep one model in memory
            out = llm.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], logprobs=True, top_logprobs=1, **asdict(params)
            )
        return parse_chat(out)


def parse_chat(out: Any) -> Generation:
    """A Generation from an OpenAI-style chat completion (with or without logprobs)."""
    choice = out["choices"][0]
    text = choice["message"]["content"] or ""
    content = (choice.get("logprobs") or {}).get("content")
    if content:
        return Generation(text, tuple(c["token"] for c in content), tuple(float(c["logprob"]) for c in content))
    return Generation(text, (), None)


@dataclass
class BehaviourResult:
    decision: Decision
    statistic: Statistic
    params: SamplingParams
    engine: str
    reference: str
    nonce: str
    seconds: float
    per_prompt: list[PromptResult] = field(default_factory=list)

    def check(self) -> Check:
        status = {"match": "pass", "mismatch": "fail", "inconclusive": "skip"}[self.decision]
        st = self.statistic
        if self.decision == "match":
            words = f"{st.identical}/{st.prompts} fresh prompts answered exactly as the registered weights"
        elif self.decision == "mismatch":
            words = f"{st.text_differs}/{st.prompts} answers differ from the registered weights"
            if st.logprobs:
                words += f", {st.logprob_differs} with logprob gaps > {LOGPROB_GAP} nats"
        else:
            words = "answers differ a little from the registered weights: not enough to tell (another engine build?)"
        evidence = {
            "decision": self.decision,
            "statistic": self.statistic.as_json(),
            "params": asdict(self.params),
            "engine": self.engine,
            "reference": self.reference,
            "nonce": self.nonce,
            "seconds": round(self.seconds, 2),
            "thresholds": {"exact": EXACT, "logprobGap": LOGPROB_GAP, "mismatchFraction": MISMATCH_FRACTION},
        }
        return Check("behaviour", status, words, evidence)  # type: ignore[arg-type]


def run_behaviour(
    client: Any,
    url: str,
    release: ReleaseName,
    reference: Path,
    reference_digest: str,
    prompts: PromptSource,
    replayer: Replayer,
    *,
    n_prompts: int = 8,
    params: SamplingParams | None = None,
    nonce: str | None = None,
) -> BehaviourResult:
    """Ask the endpoint ``n_prompts`` fresh prompts and replay them on the reference."""
    params = params or SamplingParams()
    nonce = nonce or os.urandom(16).hex()
    started = time.monotonic()
    results: list[PromptResult] = []
    for prompt in prompts.prompts(nonce, n_prompts):
        body = {
            "model": release.model,
            "messages": [{"role": "user", "content": prompt}],
            "logprobs": True,
            "top_logprobs": 1,
            "stream": False,
            **asdict(params),
        }
        resp = client.request("POST", url.rstrip("/") + "/v1/chat/completions", json=body)
        if resp.status != 200:
            raise InputError(f"the endpoint answered {resp.status} to a chat completion")
        endpoint = parse_chat(json.loads(resp.body))
        results.append(compare(prompt, endpoint, replayer.generate(reference, prompt, params)))
    stat = summarise(results)
    return BehaviourResult(
        decide(stat), stat, params, engine_version(), reference_digest, nonce, time.monotonic() - started, results
    )


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


class BehaviourService:
    """Runs behavioural checks one at a time in a background thread and keeps recent results."""

    def __init__(self, home: Path, client: Any, n_prompts: int = 8) -> None:
        self.store = ReferenceStore(Path(home) / "references")
        self.prompts = PromptSource.from_folder(Path(home))
        self.replayer = Replayer()
        self.client = client
        self.n_prompts = n_prompts
        self.jobs: dict[str, Job] = {}
        self._history: dict[tuple[str, str], list[Job]] = {}
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()

    def submit(self, url: str, release: ReleaseName, weights_digest: str) -> Job:
        if self.store.get(weights_digest) is None:
            raise NoReference(
                f"this verifier holds no reference weights for {release} (weights digest {weights_digest})",
                hint="its operator adds them with: modelseal reference add FILE",
            )
        job = Job(os.urandom(8).hex(), url, str(release))
        with self._lock:
            self.jobs[job.id] = job
            if len(self.jobs) > 1000:  # forget the oldest finished jobs by id; each URL's history stays
                for old in sorted(self.jobs.values(), key=lambda j: j.created)[:100]:
                    if old.state in ("done", "error"):
                        self.jobs.pop(old.id, None)
        threading.Thread(target=self._run, args=(job, release, weights_digest), daemon=True).start()
        return job

    def _run(self, job: Job, release: ReleaseName, weights_digest: str) -> None:
        with self._run_lock:
            job.state = "running"
            try:
                job.check = self.check_now(job.url, release, weights_digest)
                job.state = "done"
            except Exception as exc:
                job.state, job.error = "error", f"{type(exc).__name__}: {exc}"
            job.finished = time.time()
            with self._lock:
                kept = self._history.setdefault((job.url, job.release), [])
                kept.append(job)
                del kept[:-HISTORY_PER_TARGET]

    def check_now(self, url: str, release: ReleaseName, weights_digest: str) -> Check:
        reference = self.store.get(weights_digest)
        if reference is None:
            return Check(
                "behaviour",
                "skip",
                "this verifier holds no reference weights for the release (modelseal reference add FILE)",
                {"weightsDigest": weights_digest},
            )
        result = run_behaviour(
            self.client, url, release, reference, weights_digest, self.prompts, self.replayer, n_prompts=self.n_prompts
        )
        return result.check()

    def history(self, url: str, release: str) -> list[Job]:
        """Every finished check of this endpoint and release kept (the last
        :data:`HISTORY_PER_TARGET`), oldest first."""
        with self._lock:
            return list(self._history.get((url, release), ()))

    def latest(self, url: str, release: str) -> Job | None:
        """The most recent *decisive* result (match or mismatch) if there is one, else the most
        recent result: a later error or inconclusive run never hides an earlier mismatch."""
        kept = self.history(url, release)
        decisive = [j for j in kept if j.check is not None and j.check.status in ("pass", "fail")]
        chosen = decisive or kept
        return chosen[-1] if chosen else None
