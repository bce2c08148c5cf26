"""tools.impostors: impostor GGUFs load, differ from the real SmolLM2 in digest and behaviour.

The three impostors and an unchanged rewrite are built once per module from the real model; each
model is loaded once in llama.cpp and asked the same few chat prompts greedily (temperature 0,
repeat penalty 1.0, seed 0). Nothing here hard-codes an expected output: the rewrite must answer
exactly as the original does, and each impostor must answer measurably differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize

from registry.hashing.model import hash_file
from tools.impostors import (
    IMPOSTOR_KINDS,
    METADATA_KINDS,
    NOISE_TENSOR,
    ONE_WEIGHT_TENSOR,
    ImpostorInfo,
    make_impostor,
    rewrite,
)

pytestmark = pytest.mark.slow
ORIGINAL_KINDS = ("one-weight", "tensor-noise", "requantized")  # loaded in llama.cpp below

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about autumn leaves.",
    "Give me three tips for sleeping better.",
    "Translate 'good morning' into Spanish.",
]
MAX_TOKENS = 16
TOP_LOGPROBS = 5


@dataclass(frozen=True)
class Answer:
    text: str
    logprobs: list[dict[str, Any]]  # one entry per generated token, with its top alternatives

    def first_top(self) -> dict[str, float]:
        return {alt["token"]: alt["logprob"] for alt in self.logprobs[0]["top_logprobs"]}


def _answers(model: Path) -> list[Answer]:
    from llama_cpp import Llama

    llm = Llama(model_path=str(model), n_ctx=512, n_threads=2, verbose=False, logits_all=True, seed=0)
    try:
        answers = []
        for prompt in PROMPTS:
            out: Any = llm.create_chat_completion(
                messages=[{"role": "user", "content": prompt}],
                temperature=0.0,
                repeat_penalty=1.0,
                seed=0,
                max_tokens=MAX_TOKENS,
                logprobs=True,
                top_logprobs=TOP_LOGPROBS,
            )
            choice = out["choices"][0]
            answers.append(Answer(choice["message"]["content"], choice["logprobs"]["content"]))
        return answers
    finally:
        llm.close()


@dataclass(frozen=True)
class Built:
    source: Path
    infos: dict[str, ImpostorInfo]  # by kind, plus "identity-copy"
    answers: dict[str, list[Answer]]  # by kind, plus "identity-copy" and "original"


@pytest.fixture(scope="module")
def built(smollm_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("impostors")
    infos = {"identity-copy": rewrite(smollm_model, folder / "identity-copy.gguf")}
    for kind in ORIGINAL_KINDS:
        infos[kind] = make_impostor(smollm_model, folder / f"{kind}.gguf", kind, seed=0)
    answers = {"original": _answers(smollm_model)}
    for name, info in infos.items():
        answers[name] = _answers(info.dest)
    return Built(smollm_model, infos, answers)


def _max_first_token_delta(a: list[Answer], b: list[Answer]) -> float:
    """Largest |difference| in logprob of the same candidate first token, over all prompts."""
    deltas = [0.0]
    for x, y in zip(a, b, strict=True):
        tx, ty = x.first_top(), y.first_top()
        deltas += [abs(tx[tok] - ty[tok]) for tok in tx.keys() & ty.keys()]
    return max(deltas)


def test_every_model_loads_and_answers(built: Built) -> None:
    for name, answers in built.answers.items():
        assert len(answers) == len(PROMPTS)
        assert all(a.text.strip() and a.logprobs for a in answers), name


def test_the_rewrite_changes_nothing_llama_cpp_can_see(built: Built) -> None:
    original, copy = built.answers["original"], built.answers["identity-copy"]
    assert [a.text for a in copy] == [a.text for a in original]
    assert [a.logprobs for a in copy] == [a.logprobs for a in original]  # every token, every alternative, exactly


@pytest.mark.parametrize("kind", ORIGINAL_KINDS)
def test_an_impostor_has_another_digest_and_answers_differently(built: Built, kind: str) -> None:
    info = built.infos[kind]
    assert info.kind == kind and info.dest.is_file() and info.detail
    assert hash_file(info.dest) != hash_file(built.source)
    original, impostor = built.answers["original"], built.answers[kind]
    texts_differ = sum(a.text != b.text for a, b in zip(original, impostor, strict=True))
    delta = _max_first_token_delta(original, impostor)
    summary = f"{kind}: {texts_differ}/{len(PROMPTS)} texts differ, max |delta logprob| at token 1 = {delta:.3g}"
    assert texts_differ >= 1, summary
    assert delta > 1e-3, summary


@pytest.fixture(scope="module")
def source_reader(built: Built) -> GGUFReader:
    return GGUFReader(built.source)


def _header_and_kv(reader: GGUFReader) -> bytes:
    """The file's bytes up to its first tensor info: header, then every KV field as stored."""
    return bytes(reader.data[: reader.tensors[0].field.offset])


@pytest.mark.parametrize("name", ["identity-copy", *ORIGINAL_KINDS])
def test_metadata_and_layout_are_copied_and_only_the_named_change_is_made(
    built: Built, source_reader: GGUFReader, name: str
) -> None:
    src, dst = source_reader, GGUFReader(built.infos[name].dest)
    assert _header_and_kv(dst) == _header_and_kv(src)  # every KV field, in order, type and value, byte for byte
    assert [(t.name, t.shape.tolist()) for t in dst.tensors] == [(t.name, t.shape.tolist()) for t in src.tensors]

    changed = {
        s.name
        for s, d in zip(src.tensors, dst.tensors, strict=True)
        if s.tensor_type != d.tensor_type or not np.array_equal(s.data, d.data)
    }
    quantised = {t.name for t in src.tensors if t.tensor_type != GGMLQuantizationType.F32}
    expected = {"identity-copy": set(), "one-weight": {ONE_WEIGHT_TENSOR}, "tensor-noise": {NOISE_TENSOR}}
    assert changed == expected.get(name, quantised)
    assert built.infos[name].tensor == (next(iter(changed)) if len(changed) == 1 else None)

    if name == "one-weight":
        s, d = (next(t for t in r.tensors if t.name == ONE_WEIGHT_TENSOR) for r in (src, dst))
        assert int(np.count_nonzero(s.data != d.data)) == 1
    if name == "requantized":
        for s, d in zip(src.tensors, dst.tensors, strict=True):
            assert (s.tensor_type == GGMLQuantizationType.F32) == (d.tensor_type == s.tensor_type), s.name


def test_late_ffn_4bit_changes_exactly_one_quantised_weight_by_eight_steps(smollm_model: Path, tmp_path: Path) -> None:
    info = make_impostor(smollm_model, tmp_path / "late.gguf", "late-ffn-4bit", seed=3)
    src, dst = GGUFReader(smollm_model), GGUFReader(info.dest)
    assert _header_and_kv(dst) == _header_and_kv(src)
    changed = [s.name for s, d in zip(src.tensors, dst.tensors, strict=True) if not np.array_equal(s.data, d.data)]
    last = max(int(t.name.split(".")[1]) for t in src.tensors if t.name.endswith(".ffn_down.weight"))
    assert changed == [f"blk.{last}.ffn_down.weight"] == [info.tensor]
    s, d = (next(t for t in r.tensors if t.name == info.tensor) for r in (src, dst))
    assert int(np.count_nonzero(s.data != d.data)) == 1  # one byte holds the nibble
    before, after = (dequantize(t.data, t.tensor_type).reshape(-1) for t in (s, d))
    moved = np.flatnonzero(before != after)
    assert moved.size == 1  # one weight; the block's scale and the other 31 weights unchanged


@pytest.mark.parametrize("kind", METADATA_KINDS)
def test_metadata_impostors_change_one_field_and_no_weight(smollm_model: Path, tmp_path: Path, kind: str) -> None:
    info = make_impostor(smollm_model, tmp_path / f"{kind}.gguf", kind)
    src, dst = GGUFReader(smollm_model), GGUFReader(info.dest)
    assert hash_file(info.dest) != hash_file(smollm_model)
    assert all(np.array_equal(s.data, d.data) for s, d in zip(src.tensors, dst.tensors, strict=True))

    def raw(field: Any) -> bytes:
        return b"".join(bytes(part) for part in field.parts)

    differing = [n for n in src.fields if n in dst.fields and raw(src.fields[n]) != raw(dst.fields[n])]
    key = "tokenizer.chat_template" if kind == "chat-template" else "general.name"
    assert [n for n in differing if not n.startswith("GGUF.")] == [key]
    assert IMPOSTOR_KINDS[-len(METADATA_KINDS) :] == METADATA_KINDS
