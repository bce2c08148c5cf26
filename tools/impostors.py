"""Impostor GGUF files: modified copies of a real GGUF, to evaluate the behavioural check.

The behavioural check replays fresh prompts at temperature 0 against the registered weights and
compares with what an endpoint answers, to catch a reseller serving modified or cheaper weights.
To measure how well it does, we need impostors whose modification is known exactly. The issue
names several kinds, and :func:`make_impostor` makes each from a real GGUF with gguf-py:

``"one-weight"``
    One element of one F32 tensor is multiplied by :data:`ONE_WEIGHT_FACTOR` (-4: sign flipped,
    magnitude x4). The tensor is :data:`ONE_WEIGHT_TENSOR`, the RMS-norm gain in front of the
    first layer's attention: every token of every prompt goes through it, so the change plausibly
    matters for every prompt. Which element is chosen by ``seed`` (uniformly), so a benchmark
    can draw many one-weight impostors. A weight that no prompt uses (an embedding row of a token
    that never occurs, say) would be undetectable by behaviour - and, by the same token,
    harmless; this kind deliberately avoids that case.

``"tensor-noise"``
    Seeded Gaussian noise (standard deviation :data:`NOISE_RELATIVE_STD` times the tensor's own
    standard deviation) added to one tensor, :data:`NOISE_TENSOR`. A quantised tensor is
    dequantised with :mod:`gguf.quants`, noised, and requantised to its own type; an F32 tensor
    is noised directly.

``"late-ffn-4bit"``
    One 4-bit quantised weight of the last layer's FFN down-projection (``blk.<last>.ffn_down.weight``,
    Q4_0 or Q4_1) changed by 8 quantisation steps (its nibble's top bit flipped); the block's scale
    and every other weight are untouched. Row, block and element are chosen by ``seed``. The
    smallest change a quantised file can carry.

``"chat-template"``
    The weights unchanged; only ``tokenizer.chat_template`` edited (SmolLM2's default system line
    shortened). Metadata that changes behaviour: the model sees other text.

``"name-metadata"``
    The weights unchanged; only ``general.name`` edited. Metadata that does not change behaviour:
    its answers match, and only its BLAKE3 tells it from the registered file.

``"requantized"``
    Every quantised tensor dequantised and requantised to another type that llama.cpp loads
    (:data:`REQUANT_TARGET`: Q4_1 and Q8_0 become Q4_0 - the "cheaper quantisation" a reseller
    might serve); F32 tensors are kept. ``seed`` is not used.

Everything else is copied unchanged: every KV field of the source in order, with its exact GGUF
type (arrays of strings, INT32 token types, FLOAT32 scores, ``general.alignment`` which also sets
the writer's data alignment), and every tensor in the same order with the same name and shape.
The metadata is not updated to describe the change (``general.file_type`` still names the
source's quantisation): an impostor copies its label too.

:func:`rewrite` runs the same writer with no change at all: llama.cpp must behave identically on
its output (for SmolLM2 the bytes are identical too), which shows the writer changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
from gguf import GGMLQuantizationType, GGUFEndian, GGUFReader, GGUFValueType, GGUFWriter, Keys
from gguf.constants import GGML_QUANT_SIZES
from gguf.gguf_reader import ReaderField, ReaderTensor
from gguf.quants import dequantize, quantize

ImpostorKind = Literal["one-weight", "tensor-noise", "requantized", "late-ffn-4bit", "chat-template", "name-metadata"]
IMPOSTOR_KINDS: tuple[ImpostorKind, ...] = get_args(ImpostorKind)
WEIGHT_KINDS: tuple[ImpostorKind, ...] = ("one-weight", "tensor-noise", "requantized", "late-ffn-4bit")
METADATA_KINDS: tuple[ImpostorKind, ...] = ("chat-template", "name-metadata")

ONE_WEIGHT_TENSOR = "blk.0.attn_norm.weight"
ONE_WEIGHT_FACTOR = -4.0
NOISE_TENSOR = "blk.0.attn_q.weight"
NOISE_RELATIVE_STD = 0.1
REQUANT_TARGET: Mapping[GGMLQuantizationType, GGMLQuantizationType] = {
    GGMLQuantizationType.Q4_1: GGMLQuantizationType.Q4_0,
    GGMLQuantizationType.Q8_0: GGMLQuantizationType.Q4_0,
    GGMLQuantizationType.Q4_0: GGMLQuantizationType.Q4_1,
    GGMLQuantizationType.Q5_0: GGMLQuantizationType.Q4_0,
    GGMLQuantizationType.Q5_1: GGMLQuantizationType.Q4_0,
}

_FLOAT = GGMLQuantizationType.F32


@dataclass(frozen=True)
class ImpostorInfo:
    kind: str
    dest: Path
    tensor: str | None  # the one tensor changed, or None (no change, or every quantised tensor)
    detail: str  # what was changed, in words


@dataclass(frozen=True)
class _Replacement:
    data: npt.NDArray[Any]  # float32 in the tensor's numpy shape, or uint8 quantised bytes (rows, bytes)
    qtype: GGMLQuantizationType


def make_impostor(source: Path, dest: Path, kind: ImpostorKind, *, seed: int = 0) -> ImpostorInfo:
    """Write an impostor of ``source`` to ``dest``; ``kind`` and ``seed`` as in the module docs."""
    reader = _open(source)
    tensor: str | None
    if kind == "one-weight":
        replacements, tensor, detail = _one_weight(reader, seed)
    elif kind == "tensor-noise":
        replacements, tensor, detail = _tensor_noise(reader, seed)
    elif kind == "requantized":
        replacements, tensor, detail = _requantized(reader)
    elif kind == "late-ffn-4bit":
        replacements, tensor, detail = _late_ffn_4bit(reader, seed)
    elif kind in ("chat-template", "name-metadata"):
        kv, detail = _metadata(reader, kind)
        _write(reader, dest, {}, kv)
        return ImpostorInfo(kind=kind, dest=dest, tensor=None, detail=detail)
    else:
        raise ValueError(f"unknown impostor kind {kind!r}; expected one of {', '.join(IMPOSTOR_KINDS)}")
    _write(reader, dest, replacements)
    return ImpostorInfo(kind=kind, dest=dest, tensor=tensor, detail=detail)


def rewrite(source: Path, dest: Path) -> ImpostorInfo:
    """Copy ``source`` to ``dest`` through the impostor writer, changing nothing (a control)."""
    reader = _open(source)
    _write(reader, dest, {})
    return ImpostorInfo(kind="identity-copy", dest=dest, tensor=None, detail="no change: rewritten by the same writer")


# --- the three kinds -----------------------------------------------------------------------------


def _one_weight(reader: GGUFReader, seed: int) -> tuple[dict[str, _Replacement], str, str]:
    t = _tensor(reader, ONE_WEIGHT_TENSOR)
    if t.tensor_type != _FLOAT:
        raise ValueError(f"{ONE_WEIGHT_TENSOR} is {t.tensor_type.name}, expected F32")
    values = np.array(t.data, dtype=np.float32)  # a copy: the reader maps the file read-only
    flat = values.reshape(-1)
    index = int(np.random.default_rng(seed).integers(flat.size))
    old = float(flat[index])
    flat[index] = np.float32(old * ONE_WEIGHT_FACTOR)
    detail = (
        f"{ONE_WEIGHT_TENSOR}[{index}] (element {index} of {flat.size}, chosen by seed {seed}) "
        f"multiplied by {ONE_WEIGHT_FACTOR:g}: {old:.6g} -> {float(flat[index]):.6g}"
    )
    return {t.name: _Replacement(values, _FLOAT)}, t.name, detail


def _tensor_noise(reader: GGUFReader, seed: int) -> tuple[dict[str, _Replacement], str, str]:
    t = _tensor(reader, NOISE_TENSOR)
    values = _dequantized(t)
    sigma = NOISE_RELATIVE_STD * float(values.std())
    rng = np.random.default_rng(seed)
    noisy = values + rng.standard_normal(values.shape, dtype=np.float32) * np.float32(sigma)
    data = quantize(noisy, t.tensor_type) if t.tensor_type != _FLOAT else noisy.astype(np.float32)
    changed = _changed_elements(t, data)
    requant = f", requantised to {t.tensor_type.name}" if t.tensor_type != _FLOAT else ""
    detail = (
        f"Gaussian noise (seed {seed}, std {sigma:.4g} = {NOISE_RELATIVE_STD:g} x the tensor's std) added to "
        f"{t.name} ({t.tensor_type.name}, {t.n_elements} elements){requant}; {changed} elements changed"
    )
    return {t.name: _Replacement(data, t.tensor_type)}, t.name, detail


def _late_ffn_4bit(reader: GGUFReader, seed: int) -> tuple[dict[str, _Replacement], str, str]:
    downs = [t for t in reader.tensors if t.name.startswith("blk.") and t.name.endswith(".ffn_down.weight")]
    if not downs:
        raise ValueError("the source has no ffn_down tensors")
    t = max(downs, key=lambda x: int(x.name.split(".")[1]))
    if t.tensor_type not in (GGMLQuantizationType.Q4_0, GGMLQuantizationType.Q4_1):
        raise ValueError(f"{t.name} is {t.tensor_type.name}; late-ffn-4bit needs Q4_0 or Q4_1")
    block_elems, block_bytes = GGML_QUANT_SIZES[t.tensor_type]
    data = np.array(t.data, dtype=np.uint8)  # (rows, bytes per row): a copy
    rng = np.random.default_rng(seed)
    row = int(rng.integers(data.shape[0]))
    block = int(rng.integers(data.shape[1] // block_bytes))
    element = int(rng.integers(block_elems))  # ggml: element j in the low nibble of byte j, j+16 in the high
    offset = block * block_bytes + (block_bytes - block_elems // 2) + element % (block_elems // 2)
    shift = 0 if element < block_elems // 2 else 4
    old = (int(data[row, offset]) >> shift) & 0xF
    data[row, offset] = np.uint8(int(data[row, offset]) ^ (0x8 << shift))
    detail = (
        f"{t.name} ({t.tensor_type.name}): row {row}, block {block}, element {element}: 4-bit value {old} -> "
        f"{old ^ 0x8} (8 quantisation steps; scale and every other weight unchanged; seed {seed})"
    )
    return {t.name: _Replacement(data, t.tensor_type)}, t.name, detail


_SMOLLM_SYSTEM = b"You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def _metadata(reader: GGUFReader, kind: str) -> tuple[dict[str, bytes], str]:
    key = Keys.Tokenizer.CHAT_TEMPLATE if kind == "chat-template" else Keys.General.NAME
    field = reader.get_field(key)
    if field is None or field.types[0] != GGUFValueType.STRING:
        raise ValueError(f"the source has no string {key}")
    old = bytes(field.parts[-1])
    if kind == "chat-template":
        if _SMOLLM_SYSTEM not in old:
            raise ValueError("chat-template impostors know SmolLM2's template only")
        new = old.replace(_SMOLLM_SYSTEM, b"You are a helpful assistant")
    else:
        new = old + b" (renamed)"
    return {key: new}, f"{key} edited ({len(old)} -> {len(new)} bytes); weights unchanged"


def _requantized(reader: GGUFReader) -> tuple[dict[str, _Replacement], None, str]:
    replacements: dict[str, _Replacement] = {}
    moves: dict[tuple[str, str], int] = {}
    for t in reader.tensors:
        if t.tensor_type == _FLOAT:
            continue
        target = REQUANT_TARGET.get(t.tensor_type)
        if target is None:
            raise ValueError(f"{t.name}: no requantisation target for {t.tensor_type.name}")
        replacements[t.name] = _Replacement(quantize(_dequantized(t), target), target)
        key = (t.tensor_type.name, target.name)
        moves[key] = moves.get(key, 0) + 1
    if not replacements:
        raise ValueError("the source has no quantised tensor to requantise")
    kept = len(reader.tensors) - len(replacements)
    moved = ", ".join(f"{n} {a} -> {b}" for (a, b), n in sorted(moves.items()))
    detail = f"every quantised tensor dequantised and requantised ({moved}); {kept} F32 tensors kept"
    return replacements, None, detail


# --- reading and writing ---------------------------------------------------------------------------


def _open(source: Path) -> GGUFReader:
    reader = GGUFReader(source, "r")
    if reader.endianess != GGUFEndian.LITTLE:
        raise ValueError(f"{source}: only little-endian GGUF files are supported")
    return reader


def _tensor(reader: GGUFReader, name: str) -> ReaderTensor:
    for t in reader.tensors:
        if t.name == name:
            return t
    raise ValueError(f"the source has no tensor {name!r}")


def _dequantized(t: ReaderTensor) -> npt.NDArray[np.float32]:
    return np.array(dequantize(t.data, t.tensor_type), dtype=np.float32)


def _changed_elements(t: ReaderTensor, data: npt.NDArray[Any]) -> int:
    if t.tensor_type == _FLOAT:
        return int(np.count_nonzero(data != t.data))
    return int(np.count_nonzero(dequantize(data, t.tensor_type) != dequantize(t.data, t.tensor_type)))


def _field_value(field: ReaderField) -> tuple[Any, GGUFValueType, GGUFValueType | None]:
    """The value of a KV field as GGUFWriter packs it, with its exact type (strings as raw bytes)."""
    vtype = field.types[0]
    if vtype == GGUFValueType.STRING:
        return bytes(field.parts[-1]), vtype, None
    if vtype != GGUFValueType.ARRAY:
        return field.parts[-1].tolist()[0], vtype, None
    if len(field.types) != 2:
        raise ValueError(f"{field.name}: nested GGUF arrays are not supported")
    sub = field.types[1]
    if sub == GGUFValueType.STRING:
        return [bytes(field.parts[i]) for i in field.data], vtype, sub
    return [v for i in field.data for v in field.parts[i].tolist()], vtype, sub


def _write(
    reader: GGUFReader, dest: Path, replacements: Mapping[str, _Replacement], kv: Mapping[str, bytes] | None = None
) -> None:
    unknown = set(replacements) - {t.name for t in reader.tensors}
    if unknown:
        raise ValueError(f"no such tensors: {sorted(unknown)}")
    arch = reader.get_field(Keys.General.ARCHITECTURE)
    if arch is None:
        raise ValueError("the source has no general.architecture")
    part = dest.with_name(dest.name + ".part")
    writer = GGUFWriter(part, arch=str(arch.contents()))
    # The writer pre-fills general.architecture; rebuild the KV table in the source's own order.
    writer.kv_data[0].clear()
    for field in reader.fields.values():
        if field.name.startswith("GGUF."):  # header values (version, counts), not KV pairs
            continue
        value, vtype, sub = _field_value(field)
        if kv and field.name in kv:
            value = kv[field.name]
        writer.add_key_value(field.name, value, vtype, sub_type=sub)
        if field.name == Keys.General.ALIGNMENT:
            writer.data_alignment = int(value)

    tensors: list[tuple[npt.NDArray[Any], GGMLQuantizationType]] = []
    for t in reader.tensors:
        new = replacements.get(t.name)
        data, qtype = (t.data, t.tensor_type) if new is None else (new.data, new.qtype)
        writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, raw_dtype=qtype)
        shape = writer.tensors[0][t.name].shape
        if list(reversed(list(shape))) != t.shape.tolist():
            raise ValueError(f"{t.name}: shape {list(shape)} differs from the source's {t.shape.tolist()}")
        tensors.append((data, qtype))

    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for data, _ in tensors:
            writer.write_tensor_data(data)
        writer.close()
        os.replace(part, dest)
    except BaseException:
        writer.close()
        part.unlink(missing_ok=True)
        raise
