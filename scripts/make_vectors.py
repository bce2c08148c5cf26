"""Write modelseal's conformance vectors, ``tests/vectors/modelseal/*.json``.

Usage: ``.venv/bin/python scripts/make_vectors.py`` (rewrites the files; review the diff).

Every input here is fixed (keys from fixed seeds, fixed times), so the files come out byte for byte
the same on every run. Expected values of the valid cases are computed with modelseal's own code
once, when a vector is written, and then frozen: ``tests/test_conformance.py`` runs every vector
against the code on every ``make test``, and another implementation runs the same files with its
own adapter (``tests/vectors/modelseal/README.md`` says how). The expected error of an invalid case
is the class this script states for it, never one read back from the code.
"""

from __future__ import annotations

import base64
import copy
import json
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import rfc8785

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.hashing.model import Digest, FileEntry, weights_digest  # noqa: E402
from registry.identity.protocol import (  # noqa: E402
    CHALLENGE_TYPE,
    Claim,
    receipt_document,
    sse_receipt_event,
)
from registry.names import ReleaseName, did_id, keccak, model_id, namespace_id, release_id  # noqa: E402
from registry.signing.keys import Ed25519Key, EthereumKey, b58btc_encode  # noqa: E402
from registry.signing.manifest import Manifest  # noqa: E402
from registry.signing.proofs import (  # noqa: E402
    SECP256K1_N,
    create_eddsa_jcs_proof,
    sign_manifest,
)

OUT = ROOT / "tests" / "vectors" / "modelseal"
CREATED = "2026-11-25T00:00:00Z"
NOW = 1795564800  # 2026-11-25T00:00:00Z, the verifier's clock in identity vectors
PUBLISHER = Ed25519Key.from_seed(bytes([1]) * 32)
ENDORSER = Ed25519Key.from_seed(bytes([2]) * 32)
OPERATOR = Ed25519Key.from_seed(bytes([3]) * 32)
STRANGER = Ed25519Key.from_seed(bytes([4]) * 32)
WALLET = EthereumKey(bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"), chain_id=1)
OTHER_WALLET = EthereumKey(bytes([7]) * 32, chain_id=1)
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
RELEASE = ReleaseName("acme", "chat-7b", "1.0.0")

Vector = dict[str, Any]


def vector(vid: str, description: str, input: dict[str, Any], expected: dict[str, Any]) -> Vector:
    return {"id": vid, "description": description, "input": input, "expected": expected}


def error(cls: str) -> dict[str, str]:
    return {"error": cls}


def write(name: str, about: str, errors: dict[str, str], vectors: list[Vector]) -> None:
    ids = [v["id"] for v in vectors]
    assert len(set(ids)) == len(ids), f"{name}: duplicate vector ids"
    doc = {"format": "modelseal-conformance/v1", "about": about, "errors": errors, "vectors": vectors}
    (OUT / f"{name}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"{name}.json: {len(vectors)} vectors")


# --- 1. digests of model files and folders ---------------------------------------------------

DIGEST_ERRORS = {
    "path": "a name that cannot be recorded: absolute, backslash, colon, NUL, not UTF-8, not NFC",
    "symlink": "a symbolic link (not followed), or a link to a folder or to nothing",
    "special-file": "a FIFO, socket or device",
    "empty": "a folder with no file left to hash",
}


def _folder_digest(files: dict[str, bytes]) -> dict[str, Any]:
    entries = [FileEntry(p, len(b), Digest.of_bytes(b)) for p, b in sorted(files.items())]
    return {
        "kind": "folder",
        "files": [e.as_json() for e in entries],
        "digest": weights_digest("folder", entries).hex,
    }


def _tree(files: dict[str, bytes], *extra: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path, data in files.items():
        try:
            out.append({"path": path, "content": data.decode()})
        except UnicodeDecodeError:
            out.append({"path": path, "contentHex": data.hex()})
    return out + list(extra)


def digest_vectors() -> list[Vector]:
    vs: list[Vector] = []

    def folder(
        vid: str,
        text: str,
        files: dict[str, bytes],
        *,
        ignore: list[str] | None = None,
        extra: tuple[dict[str, Any], ...] = (),
        counted: dict[str, bytes] | None = None,
        follow: bool = False,
    ) -> None:
        tree = [{**e, "path": "model/" + e["path"]} for e in _tree(files, *extra)]
        inp: dict[str, Any] = {"tree": tree, "model": "model", "ignore": ignore if ignore is not None else []}
        if follow:
            inp["followSymlinks"] = True
        vs.append(vector(vid, text, inp, _folder_digest(counted if counted is not None else files)))

    def refused(
        vid: str,
        text: str,
        tree: list[dict[str, Any]],
        cls: str,
        *,
        model: str = "model",
        ignore: list[str] | None = None,
        follow: bool = False,
    ) -> None:
        inp: dict[str, Any] = {"tree": tree, "model": model, "ignore": ignore or []}
        if follow:
            inp["followSymlinks"] = True
        vs.append(vector(vid, text, inp, error(cls)))

    one = b"hello modelseal\n"
    vs.append(
        vector(
            "file-model",
            "a single-file model: the weights digest is the file's BLAKE3; the list holds its base name",
            {"tree": [{"path": "model.gguf", "content": "GGUF weights\n"}], "model": "model.gguf", "ignore": []},
            {
                "kind": "file",
                "files": [FileEntry("model.gguf", 13, Digest.of_bytes(b"GGUF weights\n")).as_json()],
                "digest": Digest.of_bytes(b"GGUF weights\n").hex,
            },
        )
    )
    vs.append(
        vector(
            "file-model-empty",
            "an empty single file is a model too: BLAKE3 of no bytes",
            {"tree": [{"path": "empty.bin", "content": ""}], "model": "empty.bin", "ignore": []},
            {
                "kind": "file",
                "files": [FileEntry("empty.bin", 0, Digest.of_bytes(b"")).as_json()],
                "digest": Digest.of_bytes(b"").hex,
            },
        )
    )
    folder("folder-one-file", "a folder with one file", {"config.json": b'{"a": 1}\n'})
    folder(
        "folder-nested",
        "nested folders; paths joined with '/', sorted by code point",
        {"b.txt": one, "a/z.txt": b"z", "a/b/c.bin": bytes(range(256)), "A.txt": b"upper first"},
    )
    folder("folder-empty-file", "an empty file counts, with size 0", {"empty": b"", "x": b"x"})
    folder(
        "folder-sort-bytes",
        "sorting is by code point: '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < 'a'",
        {"a-b": b"1", "a.b": b"2", "a/b": b"3", "ab": b"4"},
    )
    folder(
        "folder-sort-non-ascii",
        "non-ASCII names sort by code point after ASCII ones",
        {"z.txt": b"z", "é.txt": b"e-acute", "日本.txt": b"nihon"},
    )
    folder("unicode-nfc", "an NFC name is recorded as is (precomposed U+00E9)", {"caf\u00e9.txt": b"coffee"})
    refused(
        "unicode-nfd",
        "an NFD name (e + U+0301) is refused, never rewritten",
        [{"path": "model/cafe\u0301.txt", "content": "coffee"}],
        "path",
    )
    refused(
        "name-not-utf8",
        "a name that is not UTF-8 is refused",
        [{"pathHex": "6d6f64656c2fff2e62696e", "content": "x"}],
        "path",
    )
    refused(
        "name-backslash",
        "a backslash in a name is refused (a separator on Windows)",
        [{"path": "model/a\\b.txt", "content": "x"}],
        "path",
    )
    refused(
        "name-colon",
        "a colon in a name is refused (an NTFS data stream on Windows)",
        [{"path": "model/abc:d.txt", "content": "x"}],
        "path",
    )
    refused(
        "name-drive-like",
        "a name like 'a:b.txt' is refused (a drive path on Windows)",
        [{"path": "model/a:b.txt", "content": "x"}],
        "path",
    )
    refused(
        "name-colon-nested", "a colon in a nested name is refused", [{"path": "model/sub/x:y", "content": "x"}], "path"
    )
    refused(
        "file-model-backslash",
        "a single-file model's name follows the same rules",
        [{"path": "a\\b.gguf", "content": "x"}],
        "path",
        model="a\\b.gguf",
    )
    refused(
        "file-model-nfd",
        "a single-file model's name must be NFC",
        [{"path": "cafe\u0301.gguf", "content": "x"}],
        "path",
        model="cafe\u0301.gguf",
    )
    refused("empty-folder", "a folder with no file is refused", [{"path": "model", "folder": True}], "empty")
    refused("only-empty-subfolders", "empty subfolders are not files", [{"path": "model/a/b", "folder": True}], "empty")
    refused(
        "all-ignored",
        "a folder whose every file is ignored is refused",
        [{"path": "model/a.tmp", "content": "x"}],
        "empty",
        ignore=["*.tmp"],
    )
    refused(
        "fifo",
        "a FIFO is refused",
        [{"path": "model/a.txt", "content": "x"}, {"path": "model/pipe", "fifo": True}],
        "special-file",
    )
    folder(
        "fifo-ignored",
        "an ignored FIFO is never looked at",
        {"a.txt": b"x"},
        extra=({"path": "pipe", "fifo": True},),
        ignore=["pipe"],
    )
    refused(
        "symlink-refused",
        "a symbolic link is refused by default",
        [{"path": "model/a.txt", "content": "x"}, {"path": "model/l.txt", "symlink": "a.txt"}],
        "symlink",
    )
    folder(
        "symlink-followed",
        "followed, a link to a file is hashed as that file's bytes under the link's path",
        {"a.txt": b"x"},
        extra=({"path": "l.txt", "symlink": "a.txt"},),
        counted={"a.txt": b"x", "l.txt": b"x"},
        follow=True,
    )
    refused(
        "symlink-to-folder",
        "a link to a folder is refused even when following links",
        [{"path": "model/d/a.txt", "content": "x"}, {"path": "model/l", "symlink": "d"}],
        "symlink",
        follow=True,
    )
    refused(
        "symlink-dangling",
        "a dangling link is refused when following links",
        [{"path": "model/a.txt", "content": "x"}, {"path": "model/l", "symlink": "nowhere"}],
        "symlink",
        follow=True,
    )
    folder(
        "symlink-ignored",
        "an ignored link is never looked at",
        {"a.txt": b"x"},
        extra=({"path": "l.txt", "symlink": "a.txt"},),
        ignore=["l.txt"],
    )

    # ignore rules
    files = {
        "a.txt": b"a",
        ".git/HEAD": b"ref",
        "sub/.git/x": b"x",
        "sub/b.tmp": b"t",
        "c.tmp": b"c",
        "cache/d.bin": b"d",
        "sub/cache/e.bin": b"e",
        "docs/cache": b"a file named cache",
    }

    def keep(*names: str) -> dict[str, bytes]:
        return {k: v for k, v in files.items() if k in names}

    everything = list(files)
    folder("ignore-none", "no rules: every file counts, .git included", files, counted=files)
    folder(
        "ignore-folder-rule",
        "'.git/' skips every folder named .git at any depth",
        files,
        ignore=[".git/"],
        counted=keep(*[p for p in everything if ".git/" not in p]),
    )
    folder(
        "ignore-folder-rule-not-files",
        "'cache/' skips folders named cache, not a file named cache",
        files,
        ignore=["cache/"],
        counted=keep(*[p for p in everything if not p.startswith(("cache/", "sub/cache/"))]),
    )
    folder(
        "ignore-glob-base-name",
        "'*.tmp' matches base names at any depth",
        files,
        ignore=["*.tmp"],
        counted=keep(*[p for p in everything if not p.endswith(".tmp")]),
    )
    folder(
        "ignore-rule-matches-folder",
        "a rule without '/' also matches a folder's name, which is skipped whole",
        files,
        ignore=["cache"],
        counted=keep(*[p for p in everything if not p.startswith(("cache/", "sub/cache/")) and p != "docs/cache"]),
    )
    folder(
        "ignore-path-glob",
        "a rule is also matched against the relative path; '*' matches '/' too",
        files,
        ignore=["sub/*"],
        counted=keep(*[p for p in everything if not p.startswith("sub/")]),
    )
    folder(
        "ignore-exact-path",
        "a rule without glob characters equal to a relative path skips that entry",
        files,
        ignore=["sub/b.tmp"],
        counted=keep(*[p for p in everything if p != "sub/b.tmp"]),
    )
    folder(
        "ignore-case-sensitive",
        "rules are case-sensitive: '*.TMP' matches nothing here",
        files,
        ignore=["*.TMP"],
        counted=files,
    )
    folder(
        "ignore-question-mark",
        "'?' matches one character (base names c.tmp and sub/b.tmp)",
        files,
        ignore=["?.tmp"],
        counted=keep(*[p for p in everything if p not in ("c.tmp", "sub/b.tmp")]),
    )
    folder(
        "ignore-class",
        "'[ab].txt' matches a.txt",
        files,
        ignore=["[ab].txt"],
        counted=keep(*[p for p in everything if p != "a.txt"]),
    )
    folder(
        "ignore-negated-class",
        "'[!c].tmp' matches the base name b.tmp, not c.tmp",
        files,
        ignore=["[!c].tmp"],
        counted=keep(*[p for p in everything if p != "sub/b.tmp"]),
    )
    folder(
        "ignore-folder-glob",
        "'ca*/' skips folders whose name matches",
        files,
        ignore=["ca*/"],
        counted=keep(*[p for p in everything if not p.startswith(("cache/", "sub/cache/"))]),
    )
    folder(
        "ignore-folder-rule-with-slash",
        "a folder rule is matched against the folder's name only: 'sub/cache/' matches nothing",
        files,
        ignore=["sub/cache/"],
        counted=files,
    )
    folder(
        "ignore-skips-bad-names",
        "names of skipped entries are not checked",
        {"a.txt": b"a"},
        extra=({"path": "bad:name.tmp", "content": "x"},),
        ignore=["*.tmp"],
    )
    folder(
        "ignore-default-rules",
        "the default rules ['.git/', '.modelseal/']",
        files,
        ignore=[".git/", ".modelseal/"],
        counted=keep(*[p for p in everything if ".git/" not in p]),
    )
    return vs


FILELIST_ERRORS = {"path": "a recorded path breaks the path rules", "malformed": "not a valid file list"}


def filelist_vectors() -> list[Vector]:
    vs: list[Vector] = []

    def good(vid: str, text: str, kind: Literal["file", "folder"], files: list[tuple[str, int, bytes]]) -> None:
        entries = [FileEntry(p, n, Digest.of_bytes(b)) for p, n, b in files]
        vs.append(
            vector(
                vid,
                text,
                {"kind": kind, "files": [e.as_json() for e in entries]},
                {"digest": weights_digest(kind, entries).hex},
            )
        )

    def bad(vid: str, text: str, kind: str, files: list[dict[str, Any]], cls: str) -> None:
        vs.append(vector(vid, text, {"kind": kind, "files": files}, error(cls)))

    d = Digest.of_bytes(b"x").hex
    good(
        "list-file",
        "a file model: the digest is the entry's blake3, whatever its name",
        "file",
        [("anything.bin", 1, b"x")],
    )
    good(
        "list-folder-two",
        "the JCS bytes of the sorted list, hashed",
        "folder",
        [("a.txt", 1, b"a"), ("b/c.txt", 1, b"c")],
    )
    good(
        "list-big-size", "a size up to 2^53-1 is written as a plain integer", "folder", [("big.bin", 2**53 - 1, b"big")]
    )
    good("list-unicode", "JCS writes non-ASCII as UTF-8, unescaped", "folder", [("日本/é.txt", 3, b"u")])
    good(
        "list-escapes",
        "JCS escapes '\"' and '\\\\' and control characters in names... only quote here",
        "folder",
        [('q"uote.txt', 1, b"q")],
    )
    bad(
        "list-duplicate",
        "a path listed twice",
        "folder",
        [{"path": "a", "size": 1, "blake3": d}, {"path": "a", "size": 1, "blake3": d}],
        "malformed",
    )
    bad("list-dotdot", "a '..' segment", "folder", [{"path": "../a", "size": 1, "blake3": d}], "path")
    bad("list-dot", "a '.' segment", "folder", [{"path": "./a", "size": 1, "blake3": d}], "path")
    bad("list-empty-segment", "an empty segment", "folder", [{"path": "a//b", "size": 1, "blake3": d}], "path")
    bad("list-absolute", "an absolute path", "folder", [{"path": "/etc/passwd", "size": 1, "blake3": d}], "path")
    bad("list-drive", "a drive path", "folder", [{"path": "C:/x", "size": 1, "blake3": d}], "path")
    bad("list-nul", "a NUL byte", "folder", [{"path": "a\u0000b", "size": 1, "blake3": d}], "path")
    bad("list-nfd", "an NFD name", "folder", [{"path": "cafe\u0301", "size": 1, "blake3": d}], "path")
    bad(
        "list-file-two",
        "a file model lists exactly one file",
        "file",
        [{"path": "a", "size": 1, "blake3": d}, {"path": "b", "size": 1, "blake3": d}],
        "malformed",
    )
    return vs


# --- 2. manifests ----------------------------------------------------------------------------

MANIFEST_ERRORS = {
    "json": "not I-JSON: duplicate member, NaN/Infinity, lone surrogate, too deep, not UTF-8",
    "malformed": "breaks the manifest format (type, member, name, path, DID, text, limits, canonical shape)",
    "inconsistent": "weights.digest does not follow from weights.files",
}


def base_manifest(**changes: Any) -> dict[str, Any]:
    files = [
        FileEntry("config.json", 9, Digest.of_bytes(b'{"a": 1}\n')),
        FileEntry("model.safetensors", 4, Digest.of_bytes(b"\x00\x01\x02\x03")),
    ]
    doc: dict[str, Any] = {
        "type": "modelseal/manifest/v1",
        "release": {"namespace": RELEASE.namespace, "model": RELEASE.model, "version": RELEASE.version},
        "publisher": PUBLISHER.did,
        "weights": {
            "kind": "folder",
            "algorithm": "blake3",
            "digest": weights_digest("folder", files).hex,
            "files": [f.as_json() for f in files],
            "ignore": [".git/", ".modelseal/"],
        },
        "created": CREATED,
    }
    doc.update(changes)
    return doc


def _text(doc: Any) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False)


def manifest_vectors() -> list[Vector]:
    vs: list[Vector] = []

    def good(vid: str, text: str, doc: dict[str, Any], raw: str | None = None) -> None:
        m = Manifest.from_dict(copy.deepcopy(doc))
        vs.append(
            vector(
                vid,
                text,
                {"text": raw if raw is not None else _text(doc)},
                {"manifestDigest": m.digest.hex, "weightsDigest": m.weights.digest, "release": str(m.release_name)},
            )
        )

    def bad(vid: str, text: str, raw: str, cls: str) -> None:
        vs.append(vector(vid, text, {"text": raw}, error(cls)))

    def bad_doc(vid: str, text: str, doc: Any, cls: str = "malformed") -> None:
        bad(vid, text, _text(doc), cls)

    m = base_manifest()
    good("minimal", "the required members only", m)
    good("compact-text", "the digest does not depend on how the JSON is spaced", m, json.dumps(m))
    good(
        "optional-members",
        "license, model card, lineage and filing",
        base_manifest(
            license="Apache-2.0",
            modelCard=Digest.of_bytes(b"card").hex,
            lineage=[
                {"relation": "fine-tune", "of": "acme/base/1.0"},
                {"relation": "quantization", "of": Digest.of_bytes(b"base").hex},
            ],
            filing={
                "jurisdiction": "CN",
                "number": "Beijing-Acme-202611250001",
                "riskAssessment": Digest.of_bytes(b"risk").hex,
            },
        ),
    )
    good(
        "unicode-license",
        "a licence name in any script (NFC, no hidden characters)",
        base_manifest(license="木兰宽松许可证 v2"),
    )
    good(
        "with-proof-ignored-by-digest",
        "the manifest digest leaves out the proof member",
        {**m, "proof": [{"type": "DataIntegrityProof"}]},
    )
    good("did-pkh-publisher", "a did:pkh publisher", base_manifest(publisher=WALLET.did))
    fm = base_manifest()
    fm["weights"] = {
        "kind": "file",
        "algorithm": "blake3",
        "digest": Digest.of_bytes(b"w").hex,
        "files": [{"path": "m.gguf", "size": 1, "blake3": Digest.of_bytes(b"w").hex}],
        "ignore": [],
    }
    good("file-kind", "a single-file model with an empty ignore list", fm)

    text = _text(m)
    bad(
        "dup-license",
        "duplicate member: a first-wins reader would show another licence",
        text[:-2] + ',\n "license": "GPL-3.0",\n "license": "MIT"\n}',
        "json",
    )
    bad(
        "dup-release",
        "a duplicated release object (evil, then acme): refused, not last-wins",
        text.replace(
            '"release": {', '"release": {"namespace": "evil", "model": "x", "version": "1"},\n "release": {', 1
        ),
        "json",
    )
    bad(
        "dup-nested",
        "duplicate member inside weights",
        text.replace('"kind": "folder"', '"kind": "folder", "kind": "file"', 1),
        "json",
    )
    bad("nan", "NaN is not JSON", text.replace('"size": 9', '"size": NaN', 1), "json")
    bad(
        "lone-surrogate",
        "a lone surrogate cannot be written as UTF-8",
        text[:-2] + ',\n "license": "\\ud800"\n}',
        "json",
    )
    bad("too-deep", "nesting deeper than 64", text[:-2] + ',\n "x": ' + "[" * 70 + "]" * 70 + "\n}", "json")
    bad("not-object", "a manifest is an object", "[]", "malformed")
    bad_doc("wrong-type", "another format version", base_manifest(type="modelseal/manifest/v2"))
    bad_doc("unknown-member", "an unknown member", base_manifest(expires="2030-01-01T00:00:00Z"))
    bad_doc("unknown-nested", "an unknown member in release", base_manifest(release={**m["release"], "tag": "x"}))
    bad_doc("null-optional", "an optional member set to null", base_manifest(license=None))
    bad_doc("empty-lineage", "an empty lineage", base_manifest(lineage=[]))
    bad_doc(
        "dup-lineage",
        "the same lineage entry twice",
        base_manifest(lineage=[{"relation": "merge", "of": "acme/a/1"}, {"relation": "merge", "of": "acme/a/1"}]),
    )
    bad_doc("bad-relation", "an unknown lineage relation", base_manifest(lineage=[{"relation": "copy", "of": "a/b/c"}]))
    bad_doc("bool-size", "true as a size", _with_file(m, size=True))
    bad_doc("string-size", "a size as a string", _with_file(m, size="9"))
    bad_doc("float-size", "a size as a float", _with_file(m, size=9.5))
    bad_doc("size-over-2-53", "a size above 2^53-1", _with_file(m, size=2**53))
    bad_doc("negative-size", "a negative size", _with_file(m, size=-1))
    bad_doc("upper-hex", "digests are lowercase hex", _with_file(m, blake3=m["weights"]["files"][0]["blake3"].upper()))
    bad_doc(
        "unsorted",
        "the file list must be sorted",
        {**m, "weights": {**m["weights"], "files": m["weights"]["files"][::-1]}},
    )
    bad_doc("path-dotdot", "an unsafe path in the file list", _with_file(m, path="../config.json"))
    bad_doc(
        "bad-namespace",
        "a namespace breaking the name rules",
        base_manifest(release={**m["release"], "namespace": "Acme"}),
    )
    bad_doc(
        "cyrillic-namespace",
        "a look-alike letter (Cyrillic a (U+0430)) in a namespace",
        base_manifest(release={**m["release"], "namespace": "\u0430cme"}),
    )
    bad_doc(
        "publisher-lowercase-pkh",
        "a did:pkh publisher not in EIP-55 case",
        base_manifest(publisher=WALLET.did.lower().replace("did:pkh:eip155:", "did:pkh:eip155:")),
    )
    bad_doc(
        "publisher-with-fragment",
        "a publisher DID with a fragment",
        base_manifest(publisher=PUBLISHER.verification_method),
    )
    bad_doc("publisher-not-did", "a publisher that is not a DID", base_manifest(publisher="acme"))
    bad_doc("created-no-z", "created without Z", base_manifest(created="2026-11-25T00:00:00"))
    bad_doc("created-offset", "created with an offset", base_manifest(created="2026-11-25T00:00:00+00:00"))
    bad_doc("created-short-month", "created with a one-digit month", base_manifest(created="2026-1-25T00:00:00Z"))
    bad_doc("license-bidi", "a licence with a bidirectional override (U+202E)", base_manifest(license="MIT\u202e"))
    bad_doc("license-newline", "a licence with a line break", base_manifest(license="MIT\nGPL"))
    bad_doc("license-space-end", "a licence ending in a space", base_manifest(license="MIT "))
    bad_doc("license-long", "a licence over 128 characters", base_manifest(license="x" * 129))
    bad_doc("filing-missing-number", "a filing block without number", base_manifest(filing={"jurisdiction": "CN"}))
    bad_doc(
        "filing-number-int", "a filing number as an integer", base_manifest(filing={"jurisdiction": "CN", "number": 42})
    )
    bad_doc(
        "filing-nfd", "a filing number not in NFC", base_manifest(filing={"jurisdiction": "CN", "number": "cafe\u0301"})
    )
    bad_doc(
        "ignore-duplicate",
        "an ignore rule listed twice",
        {**m, "weights": {**m["weights"], "ignore": [".git/", ".git/"]}},
    )
    bad_doc("ignore-empty-rule", "an empty ignore rule", {**m, "weights": {**m["weights"], "ignore": [""]}})
    bad_doc("algorithm-sha256", "another digest algorithm", {**m, "weights": {**m["weights"], "algorithm": "sha256"}})
    inconsistent = copy.deepcopy(m)
    inconsistent["weights"]["digest"] = Digest.of_bytes(b"other").hex
    bad_doc("digest-not-from-list", "weights.digest does not follow from the file list", inconsistent, "inconsistent")
    changed = _with_file(m, size=10)
    bad_doc("size-changed", "a file's size edited after the digest was computed", changed, "inconsistent")
    big = base_manifest(license="x" * 100)
    big["weights"]["ignore"] = [f"rule-{i}/" for i in range(64)]
    many = {**big, "proof": [{"type": "x", "pad": "y" * 3000} for _ in range(17)]}
    bad_doc("too-many-proofs", "more than 16 proofs", many)
    return vs


def _with_file(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["weights"]["files"][0].update(changes)
    return out


# --- 3. proofs -------------------------------------------------------------------------------

PROOF_ERRORS = {
    "proof": "a proof is refused: bad signature, wrong key, bad encoding, unknown or missing member",
    "suite": "an unknown proof type or cryptosuite",
    "signer": "no proof at all, or none by the publisher (or by the signer asked for)",
    "malformed": "the manifest itself is refused before any proof is checked",
}


def proof_vectors() -> list[Vector]:
    vs: list[Vector] = []
    unsigned = Manifest.from_dict(base_manifest())
    signed = sign_manifest(unsigned, PUBLISHER, created=CREATED)
    cosigned = sign_manifest(signed, ENDORSER, created=CREATED)
    pkh_manifest = Manifest.from_dict(base_manifest(publisher=WALLET.did))
    pkh_signed = sign_manifest(pkh_manifest, WALLET, created=CREATED)

    def good(vid: str, text: str, doc: dict[str, Any], signers: list[str], expected_signer: str | None = None) -> None:
        inp: dict[str, Any] = {"manifest": doc}
        if expected_signer:
            inp["expectedSigner"] = expected_signer
        vs.append(vector(vid, text, inp, {"signers": signers}))

    def bad(vid: str, text: str, doc: dict[str, Any], cls: str, expected_signer: str | None = None) -> None:
        inp: dict[str, Any] = {"manifest": doc}
        if expected_signer:
            inp["expectedSigner"] = expected_signer
        vs.append(vector(vid, text, inp, error(cls)))

    def mutate(base: Manifest, fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        doc = copy.deepcopy(base.document())
        fn(doc)
        return doc

    good("eddsa-publisher", "eddsa-jcs-2022 by the publisher's did:key", signed.document(), [PUBLISHER.did])
    good(
        "eddsa-cosigned",
        "the publisher and an endorser, each over the manifest without proof",
        cosigned.document(),
        [PUBLISHER.did, ENDORSER.did],
    )
    good(
        "eddsa-expected-signer",
        "a proof by the signer asked for",
        cosigned.document(),
        [PUBLISHER.did, ENDORSER.did],
        ENDORSER.did,
    )
    single = signed.document()
    single["proof"] = single["proof"][0]
    good("eddsa-single-object", "a single proof may be written as an object", single, [PUBLISHER.did])
    good(
        "eip712-publisher",
        "EthereumEip712Signature2021 by the publisher's did:pkh",
        pkh_signed.document(),
        [WALLET.did],
    )
    good(
        "eip712-and-eddsa",
        "a wallet publisher co-signed by a did:key endorser",
        sign_manifest(pkh_signed, ENDORSER, created=CREATED).document(),
        [WALLET.did, ENDORSER.did],
    )

    def p0(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        return lambda d: fn(d["proof"][0])

    bad("unsigned", "no proof", unsigned.document(), "signer")
    bad(
        "endorser-only",
        "signed, but not by the publisher",
        sign_manifest(unsigned, ENDORSER, created=CREATED).document(),
        "signer",
    )
    bad("expected-signer-missing", "the signer asked for did not sign", signed.document(), "signer", STRANGER.did)
    bad(
        "eddsa-document-changed",
        "the manifest changed after signing",
        mutate(signed, lambda d: d.update(license="MIT")),
        "proof",
    )
    bad(
        "eddsa-created-changed",
        "the proof's created changed after signing",
        mutate(signed, p0(lambda p: p.update(created="2026-11-26T00:00:00Z"))),
        "proof",
    )
    bad(
        "eddsa-value-flipped",
        "one signature character changed",
        mutate(signed, p0(lambda p: p.update(proofValue=_flip(p["proofValue"])))),
        "proof",
    )
    bad(
        "eddsa-value-leading-one",
        "a '1' added after 'z': a leading zero byte, 65 bytes",
        mutate(signed, p0(lambda p: p.update(proofValue="z1" + p["proofValue"][1:]))),
        "proof",
    )
    bad(
        "eddsa-value-not-multibase",
        "proofValue without its 'z'",
        mutate(signed, p0(lambda p: p.update(proofValue=p["proofValue"][1:]))),
        "proof",
    )
    bad(
        "eddsa-value-hex",
        "proofValue in hex, not base58btc",
        mutate(signed, p0(lambda p: p.update(proofValue="z" + "ab" * 64))),
        "proof",
    )
    bad(
        "eddsa-vm-no-fragment",
        "verificationMethod without its fragment",
        mutate(signed, p0(lambda p: p.update(verificationMethod=PUBLISHER.did))),
        "proof",
    )
    bad(
        "eddsa-vm-other-fragment",
        "verificationMethod with another fragment",
        mutate(signed, p0(lambda p: p.update(verificationMethod=PUBLISHER.did + "#key-1"))),
        "proof",
    )
    bad(
        "eddsa-vm-other-key",
        "verificationMethod naming another key",
        mutate(signed, p0(lambda p: p.update(verificationMethod=STRANGER.verification_method))),
        "proof",
    )
    bad(
        "eddsa-vm-two-fragments",
        "a verificationMethod with two '#'",
        mutate(signed, p0(lambda p: p.update(verificationMethod=PUBLISHER.verification_method + "#x"))),
        "proof",
    )
    bad(
        "eddsa-purpose",
        "proofPurpose authentication",
        mutate(signed, p0(lambda p: p.update(proofPurpose="authentication"))),
        "proof",
    )
    bad(
        "eddsa-extra-expires",
        "an extra member (an expired 'expires') is refused, not ignored",
        mutate(signed, p0(lambda p: p.update(expires="2020-01-01T00:00:00Z"))),
        "proof",
    )
    bad(
        "eddsa-extra-context",
        "an @context in a proof over a document without one",
        mutate(signed, p0(lambda p: p.update({"@context": "https://w3id.org/security/data-integrity/v2"}))),
        "proof",
    )
    bad("eddsa-missing-created", "created is required", mutate(signed, p0(lambda p: p.pop("created"))), "proof")
    bad(
        "eddsa-bad-created",
        "created not in the UTC form",
        mutate(signed, p0(lambda p: p.update(created="2026-11-25"))),
        "proof",
    )
    bad(
        "eddsa-other-suite",
        "cryptosuite eddsa-rdfc-2022",
        mutate(signed, p0(lambda p: p.update(cryptosuite="eddsa-rdfc-2022"))),
        "suite",
    )
    bad(
        "other-type",
        "proof type Ed25519Signature2020",
        mutate(signed, p0(lambda p: p.update(type="Ed25519Signature2020"))),
        "suite",
    )
    bad(
        "duplicate-signer",
        "the same key's proof twice",
        mutate(signed, lambda d: d["proof"].append(d["proof"][0])),
        "proof",
    )
    bad(
        "one-bad-among-good",
        "every proof must verify: a bad endorser proof fails the set",
        mutate(cosigned, lambda d: d["proof"][1].update(proofValue=_flip(d["proof"][1]["proofValue"]))),
        "proof",
    )

    def pk(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        return mutate(pkh_signed, p0(fn))

    sig = bytes.fromhex(pkh_signed.document()["proof"][0]["proofValue"][2:])
    r, s, v = sig[:32], int.from_bytes(sig[32:64]), sig[64]
    high_s = "0x" + (r + (SECP256K1_N - s).to_bytes(32) + bytes([55 - v])).hex()
    bad(
        "eip712-document-changed",
        "the manifest changed after the wallet signed",
        mutate(pkh_signed, lambda d: d.update(license="MIT")),
        "proof",
    )
    bad(
        "eip712-high-s",
        "the same signature with s replaced by n - s (and v flipped): malleable, refused",
        pk(lambda p: p.update(proofValue=high_s)),
        "proof",
    )
    bad(
        "eip712-v-0",
        "v written as 0/1 instead of 27/28",
        pk(lambda p: p.update(proofValue=p["proofValue"][:-2] + f"{sig[64] - 27:02x}")),
        "proof",
    )
    bad(
        "eip712-upper-hex",
        "proofValue in upper-case hex",
        pk(lambda p: p.update(proofValue="0x" + p["proofValue"][2:].upper())),
        "proof",
    )
    bad("eip712-no-0x", "proofValue without 0x", pk(lambda p: p.update(proofValue=p["proofValue"][2:])), "proof")
    bad("eip712-short", "a 64-byte signature", pk(lambda p: p.update(proofValue=p["proofValue"][:-2])), "proof")
    bad(
        "eip712-vm-lowercase",
        "a verificationMethod with the address in lower case",
        pk(
            lambda p: p.update(
                verificationMethod=p["verificationMethod"]
                .lower()
                .replace("#blockchainaccountid", "#blockchainAccountId")
            )
        ),
        "proof",
    )
    bad(
        "eip712-vm-fragment",
        "a did:pkh verificationMethod with another fragment",
        pk(lambda p: p.update(verificationMethod=WALLET.did + "#controller")),
        "proof",
    )
    bad(
        "eip712-vm-no-fragment",
        "a did:pkh verificationMethod without fragment",
        pk(lambda p: p.update(verificationMethod=WALLET.did)),
        "proof",
    )
    bad(
        "eip712-vm-other-account",
        "the signature recovers to another account",
        pk(lambda p: p.update(verificationMethod=OTHER_WALLET.verification_method)),
        "proof",
    )
    bad(
        "eip712-member-chain",
        "the eip712 member names another chain",
        pk(lambda p: p["eip712"]["domain"].update(chainId=5)),
        "proof",
    )
    bad("eip712-extra-member", "an extra member in the proof", pk(lambda p: p.update(nonce="1")), "proof")
    bad("eip712-missing-eip712", "the eip712 member is required", pk(lambda p: p.pop("eip712")), "proof")
    bad(
        "eip712-by-did-key",
        "an EIP-712 proof naming a did:key",
        pk(lambda p: p.update(verificationMethod=PUBLISHER.verification_method)),
        "proof",
    )
    bad(
        "eddsa-by-did-pkh",
        "an eddsa-jcs-2022 proof naming a did:pkh",
        mutate(signed, p0(lambda p: p.update(verificationMethod=WALLET.verification_method))),
        "proof",
    )
    bad(
        "manifest-malformed",
        "proofs are not looked at when the manifest is malformed",
        mutate(signed, lambda d: d.update(extra=1)),
        "malformed",
    )
    return vs


def _flip(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("2" if last != "2" else "3")


# --- 4. names, ids and DIDs ------------------------------------------------------------------

NAME_ERRORS = {"name": "breaks the name rules (docs/formats.md §4)"}
DID_ERRORS = {"did": "not a DID modelseal accepts, or not in its one canonical spelling"}


def name_vectors() -> list[Vector]:
    vs: list[Vector] = []

    def ok(kind: str, name: str, text: str) -> None:
        exp: dict[str, Any] = {"valid": True}
        if kind == "namespace":
            exp["namespaceId"] = "0x" + namespace_id(name).hex()
        if kind == "release":
            r = ReleaseName.parse(name)
            exp.update(
                namespaceId="0x" + namespace_id(r.namespace).hex(),
                modelId="0x" + model_id(r.namespace, r.model).hex(),
                releaseId="0x" + release_id(r).hex(),
            )
        vs.append(vector(f"{kind}-ok-{len(vs)}", text, {"kind": kind, "name": name}, exp))

    def no(kind: str, name: str, text: str) -> None:
        vs.append(vector(f"{kind}-bad-{len(vs)}", text, {"kind": kind, "name": name}, error("name")))

    for name, text in [
        ("ab", "two characters"),
        ("smollm", "plain"),
        ("a-b-c", "single hyphens"),
        ("0x", "digits and letters"),
        ("a" * 64, "64 characters"),
    ]:
        ok("namespace", name, text)
    for name, text in [
        ("a", "one character"),
        ("a" * 65, "65 characters"),
        ("-ab", "leading hyphen"),
        ("ab-", "trailing hyphen"),
        ("a--b", "double hyphen"),
        ("Acme", "upper case"),
        ("a_b", "underscore"),
        ("a.b", "dot"),
        ("\u0430cme", "Cyrillic a (U+0430)"),
        ("acme ", "space"),
        ("", "empty"),
        ("a/b", "slash"),
        ("\uff41cme", "full-width a (U+FF41)"),
    ]:
        no("namespace", name, text)
    for name, text in [
        ("m", "one character"),
        ("chat-7b_v2.q4", "dot, underscore, hyphen"),
        ("...", "three dots"),
        (".hidden", "leading dot"),
        ("a" * 64, "64 characters"),
    ]:
        ok("model", name, text)
    for name, text in [
        (".", "dot segment"),
        ("..", "dot-dot segment"),
        ("", "empty"),
        ("a" * 65, "65 characters"),
        ("Chat", "upper case"),
        ("a/b", "slash"),
        ("a b", "space"),
        ("é", "non-ASCII"),
    ]:
        no("model", name, text)
    for name, text in [
        ("1.0.0", "semver"),
        ("v1/fp16", "a slash is allowed in a version"),
        ("~!@#$%^&*()", "symbols"),
        ("A", "upper case"),
        ("...", "three dots"),
        ("x" * 64, "64 characters"),
    ]:
        ok("version", name, text)
    for name, text in [
        (".", "dot segment"),
        ("..", "dot-dot segment"),
        ("", "empty"),
        ("1 0", "space"),
        ("x" * 65, "65 characters"),
        ("1.0\t", "tab"),
        ("1.0é", "non-ASCII"),
        ("1\x7f", "DEL"),
    ]:
        no("version", name, text)
    for name, text in [
        ("smollm/smollm2-135m-instruct/1.0.0", "the example release"),
        ("acme/chat/v1/fp16", "a version with '/': split at the first two"),
        ("ab/c/.x", "a version starting with a dot"),
    ]:
        ok("release", name, text)
    for name, text in [
        ("acme/chat", "two parts"),
        ("acme//1", "empty model"),
        ("acme/chat/", "empty version"),
        ("Acme/chat/1", "bad namespace"),
        ("acme/../1", "dot-dot model"),
        ("acme/chat/..", "dot-dot version"),
    ]:
        no("release", name, text)
    return vs


def did_vectors() -> list[Vector]:
    vs: list[Vector] = []
    import hashlib

    def ok(did: str, text: str, method: str) -> None:
        vs.append(
            vector(f"did-ok-{len(vs)}", text, {"did": did}, {"method": method, "didHash": "0x" + did_id(did).hex()})
        )

    def no(did: str, text: str) -> None:
        vs.append(vector(f"did-bad-{len(vs)}", text, {"did": did}, error("did")))

    def vm_ok(vm: str, text: str, did: str) -> None:
        vs.append(vector(f"vm-ok-{len(vs)}", text, {"verificationMethod": vm}, {"did": did}))

    def vm_no(vm: str, text: str) -> None:
        vs.append(vector(f"vm-bad-{len(vs)}", text, {"verificationMethod": vm}, error("did")))

    ok(PUBLISHER.did, "an Ed25519 did:key", "key")
    ok(Ed25519Key.from_seed(bytes(32)).did, "the did:key of the all-zero seed (did:key test vector)", "key")
    ok("did:key:" + b58btc_encode(b"\xed\x01" + bytes(32)), "the smallest Ed25519 did:key value", "key")
    ok("did:key:" + b58btc_encode(b"\xed\x01" + b"\xff" * 32), "the largest Ed25519 did:key value", "key")
    ok(WALLET.did, "an EIP-55 did:pkh on chain 1", "pkh")
    ok(f"did:pkh:eip155:{2**64 - 1}:{WALLET.address}", "the largest chain id, 2^64-1", "pkh")
    ok("did:pkh:eip155:31337:0x0000000000000000000000000000000000000000", "an address without letters", "pkh")
    no("hello", "not a DID")
    no("did:key:", "no key")
    no(PUBLISHER.did + "#" + PUBLISHER.did[8:], "a DID with a fragment is a verification method, not a DID")
    no(PUBLISHER.did + " ", "a trailing space")
    no(PUBLISHER.did[:-1], "one character short")
    no(PUBLISHER.did + "1", "one character long")
    no(PUBLISHER.did[:-1] + "0", "'0' is not in the base58 alphabet")
    no(PUBLISHER.did[:-1] + "l", "'l' is not in the base58 alphabet")
    no("did:key:" + b58btc_encode(b"\xed\x00" + b"\xff" * 32), "z6Mk… but multicodec 0xed00")
    no("did:key:" + b58btc_encode(b"\xed\x02" + bytes(32)), "z6Mk… but multicodec 0xed02")
    no("did:key:" + b58btc_encode(b"\xe7\x01" + b"\x02" + bytes(32)), "a secp256k1 did:key (zQ3s…)")
    no("did:key:" + b58btc_encode(b"\xec\x01" + bytes(32)), "an X25519 did:key (z6LS…)")
    no(
        "did:key:" + "m" + base64.b64encode(b"\xed\x01" + bytes(32)).decode().rstrip("="),
        "multibase base64, not base58btc",
    )
    no("DID:KEY:" + PUBLISHER.did[8:], "upper-case scheme")
    no(WALLET.did.lower(), "did:pkh with a lower-case address")
    no(WALLET.did[:-40] + WALLET.address[2:].upper(), "did:pkh with an upper-case address")
    wrong = "".join(c.swapcase() if c.isalpha() else c for c in WALLET.address[2:])
    no(WALLET.did[:-40] + wrong, "did:pkh with every letter's case swapped (wrong checksum)")
    no(f"did:pkh:eip155:0:{WALLET.address}", "chain id 0")
    no(f"did:pkh:eip155:01:{WALLET.address}", "a leading zero")
    no(f"did:pkh:eip155:{2**64}:{WALLET.address}", "chain id 2^64")
    no(f"did:pkh:eip155:1{'0' * 20}:{WALLET.address}", "21 digits")
    no(f"did:pkh:eip155:-1:{WALLET.address}", "a negative chain id")
    no(f"did:pkh:bip122:1:{WALLET.address}", "another namespace than eip155")
    no(f"did:pkh:eip155:1:{WALLET.address[:-1]}", "39 hex digits")
    no(f"did:pkh:eip155:1:{WALLET.address[2:]}", "no 0x")
    no(f"did:pkh:eip155:1:0X{WALLET.address[2:]}", "0X")
    no("did:web:example.com", "an unsupported method")
    vm_ok(PUBLISHER.verification_method, "did:key#<the key again>", PUBLISHER.did)
    vm_ok(WALLET.verification_method, "did:pkh#blockchainAccountId", WALLET.did)
    vm_no(PUBLISHER.did, "a did:key without fragment")
    vm_no(PUBLISHER.did + "#key-1", "a did:key with another fragment")
    vm_no(PUBLISHER.did + "#" + STRANGER.did[8:], "a did:key whose fragment names another key")
    vm_no(PUBLISHER.verification_method + "#", "two '#'")
    vm_no(WALLET.did, "a did:pkh without fragment")
    vm_no(WALLET.did + "#blockchainaccountid", "a did:pkh fragment in another case")
    vm_no(WALLET.did.lower() + "#blockchainAccountId", "a did:pkh verification method with a lower-case address")
    del hashlib
    return vs


# --- 5. the identity protocol ----------------------------------------------------------------

IDENTITY_ERRORS = {
    "malformed": "breaks the document's format (members, types, encodings, self-consistency)",
    "outdated": "an earlier protocol version, recognised and never accepted",
    "nonce": "an answer to another nonce",
    "stale": "a time outside the verifier's window",
    "signature": "not signed by the operator it names, or not over these bytes",
    "body": "a receipt checked against a request or response it did not sign",
}

CLAIM = Claim(
    RELEASE,
    Digest.of_bytes(b"weights").hex,
    OPERATOR.did,
    31337,
    REGISTRY,
    ("https://chat.acme.example", "http://127.0.0.1:8081"),
)


def claim_vectors() -> list[Vector]:
    vs: list[Vector] = []
    doc = CLAIM.document()

    def ok(vid: str, text: str, d: dict[str, Any]) -> None:
        c = Claim.from_document(d)
        vs.append(
            vector(
                vid,
                text,
                {"document": d},
                {"release": str(c.release), "operator": c.operator, "origins": list(c.origins)},
            )
        )

    def no(vid: str, text: str, d: Any, cls: str = "malformed") -> None:
        vs.append(vector(vid, text, {"document": d}, error(cls)))

    def changed(**kw: Any) -> dict[str, Any]:
        return {**copy.deepcopy(doc), **kw}

    ok("claim", "a modelseal/identity/v2 claim", doc)
    ok(
        "claim-engine",
        "with an engine declaration",
        Claim(**{**_fields(CLAIM), "engine": "llama.cpp b4500 cpu:AVX2"}).document(),
    )
    no("claim-v1", "modelseal/identity/v1", changed(type="modelseal/identity/v1"), "outdated")
    no("claim-extra", "an extra member", changed(website="https://evil.example"))
    no("claim-missing-endpoints", "endpoints is required", {k: v for k, v in doc.items() if k != "endpoints"})
    no(
        "claim-endpoints-changed",
        "endpoints other than the well-known challenge path",
        changed(endpoints={"challenge": "https://evil.example/c"}),
    )
    no("claim-chainid-string", 'chainId as the string "31337"', changed(chainId="31337"))
    no("claim-chainid-zero", "chainId 0", changed(chainId=0))
    no("claim-chainid-big", "chainId 2^64", changed(chainId=2**64))
    no("claim-chainid-float", "chainId 31337.0", changed(chainId=31337.0))
    no("claim-release-id", "a releaseId of another release", changed(releaseId="0x" + keccak(b"acme/chat-7b/2").hex()))
    no("claim-operator-pkh", "an operator that is not a did:key", changed(operator=WALLET.did))
    no("claim-operator-vm", "an operator with a fragment", changed(operator=OPERATOR.verification_method))
    no("claim-weights-upper", "weightsDigest in upper case", changed(weightsDigest=CLAIM.weights_digest.upper()))
    no("claim-registry-lower", "a registry address not in EIP-55 case", changed(registry=REGISTRY.lower()))
    no("claim-origin-path", "an origin with a path", changed(origins=["https://chat.acme.example/"]))
    no("claim-origin-case", "an origin in upper case", changed(origins=["https://Chat.acme.example"]))
    no("claim-origin-port", "an origin with its default port", changed(origins=["https://chat.acme.example:443"]))
    no("claim-origins-empty", "no origin", changed(origins=[]))
    no("claim-origins-dup", "an origin twice", changed(origins=["http://a.example", "http://a.example"]))
    no("claim-release-extra", "an extra member in release", changed(release={**doc["release"], "tag": "x"}))
    no("claim-engine-control", "an engine declaration with a newline", changed(engine="llama\nx"))
    return vs


def _fields(c: Claim) -> dict[str, Any]:
    return {f: getattr(c, f) for f in c.__dataclass_fields__}


def _answer(
    nonce: str, origin: str, time: str, key: Ed25519Key = OPERATOR, claim: Claim = CLAIM, **extra: Any
) -> dict[str, Any]:
    doc = {**claim.document(), "type": CHALLENGE_TYPE, "nonce": nonce, "origin": origin, "time": time, **extra}
    return {**doc, "proof": create_eddsa_jcs_proof(doc, key, created=time)}


def challenge_vectors() -> list[Vector]:
    vs: list[Vector] = []
    nonce = "00" * 31 + "2a"
    origin = "https://chat.acme.example"

    def ok(vid: str, text: str, answer: dict[str, Any], now: int = NOW, n: str = nonce) -> None:
        vs.append(
            vector(
                vid,
                text,
                {"answer": answer, "nonce": n, "now": now},
                {"origin": answer["origin"], "time": answer["time"], "operator": answer["operator"]},
            )
        )

    def no(vid: str, text: str, answer: Any, cls: str, now: int = NOW, n: str = nonce) -> None:
        vs.append(vector(vid, text, {"answer": answer, "nonce": n, "now": now}, error(cls)))

    good = _answer(nonce, origin, CREATED)
    ok("answer", "a fresh answer to our nonce, for the origin reached", good)
    ok("answer-window-edge", "60 s after its time is still fresh", good, NOW + 60)
    ok(
        "answer-other-origin-listed",
        "an answer for another origin the claim lists",
        _answer(nonce, "http://127.0.0.1:8081", CREATED),
    )
    long_nonce = "ab" * 64
    ok("answer-long-nonce", "a 64-byte nonce", _answer(long_nonce, origin, CREATED), n=long_nonce)
    no("answer-stale", "61 s after its time", good, "stale", NOW + 61)
    no("answer-future", "61 s before its time", good, "stale", NOW - 61)
    no("answer-other-nonce", "an answer to another nonce (a replay)", good, "nonce", n="11" * 32)
    no("answer-extra", "an extra signed member", _answer(nonce, origin, CREATED, note="hi"), "malformed")
    no(
        "answer-endpoints",
        "signed endpoints differ from the well-known path",
        _answer(nonce, origin, CREATED, endpoints={"challenge": "/x"}),
        "malformed",
    )
    no(
        "answer-chainid-string",
        "a signed chainId as a string",
        _answer(nonce, origin, CREATED, chainId="31337"),
        "malformed",
    )
    no(
        "answer-origin-unlisted",
        "signed for an origin its claim does not list",
        _answer(nonce, "https://relay.example", CREATED),
        "malformed",
    )
    no(
        "answer-origin-noncanonical",
        "an origin not in canonical form",
        _answer(nonce, "https://CHAT.acme.example", CREATED),
        "malformed",
    )
    no(
        "answer-by-stranger",
        "signed by another key than the claim's operator",
        _answer(nonce, origin, CREATED, key=STRANGER),
        "signature",
    )
    tampered = copy.deepcopy(good)
    tampered["weightsDigest"] = Digest.of_bytes(b"other").hex
    no("answer-tampered", "a signed member changed", tampered, "signature")
    bad_vm = copy.deepcopy(good)
    bad_vm["proof"]["verificationMethod"] = OPERATOR.did
    no("answer-vm-no-fragment", "the proof's verificationMethod without fragment", bad_vm, "signature")
    no(
        "answer-time-form",
        "a time not in the UTC form",
        _answer(nonce, origin, "2026-11-25T00:00:00.000Z"),
        "malformed",
    )
    no("answer-type", "not a challenge answer", {**good, "type": "modelseal/identity/v2"}, "malformed")
    no("answer-not-object", "not an object", [good], "malformed")
    return vs


def _receipt(
    request: bytes,
    response: bytes,
    time: str = CREATED,
    key: Ed25519Key = OPERATOR,
    claim: Claim = CLAIM,
    **changes: Any,
) -> tuple[dict[str, Any], str]:
    doc = {**receipt_document(claim, request, response, time), **changes}
    signed = {**doc, "proof": create_eddsa_jcs_proof(doc, key, created=time)}
    return signed, _b64(rfc8785.dumps(signed))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def receipt_vectors() -> list[Vector]:
    vs: list[Vector] = []
    req = b'{"messages":[{"role":"user","content":"What is 2+2?"}],"max_tokens":8}'
    resp = b'{"choices":[{"message":{"role":"assistant","content":"4"}}]}'

    def ok(vid: str, text: str, header: str, request: bytes = req, response: bytes = resp) -> None:
        vs.append(
            vector(
                vid,
                text,
                {"receipt": header, "request": request.decode(), "response": response.decode()},
                {"release": str(RELEASE), "operator": OPERATOR.did, "time": CREATED},
            )
        )

    def no(vid: str, text: str, header: str, cls: str, request: bytes = req, response: bytes = resp) -> None:
        vs.append(
            vector(
                vid, text, {"receipt": header, "request": request.decode(), "response": response.decode()}, error(cls)
            )
        )

    doc, header = _receipt(req, resp)
    ok("receipt", "a receipt over a whole answer", header)
    ok("receipt-engine", "with the engine its claim declares", _receipt(req, resp, engine="llama.cpp b4500")[1])
    stream = b'data: {"choices":[{"delta":{"content":"4"}}]}\n\ndata: [DONE]\n\n'
    _, sheader = _receipt(req, stream)
    ok(
        "receipt-sse",
        "a streamed answer: receipt 'sse', the receipt is the last event, covering every byte before it",
        "sse",
        response=stream + sse_receipt_event(sheader),
    )
    no(
        "receipt-sse-changed",
        "a streamed answer changed before the receipt event",
        "sse",
        "body",
        response=stream.replace(b'"4"', b'"5"') + sse_receipt_event(sheader),
    )
    no("receipt-sse-missing", "a stream without its receipt event", "sse", "malformed", response=stream)
    no("receipt-request-changed", "another request body", header, "body", request=req.replace(b"2+2", b"3+3"))
    no("receipt-response-changed", "another response body", header, "body", response=resp.replace(b'"4"', b'"5"'))
    no("receipt-padded", "base64url with '=' padding", header + "=" * (-len(header) % 4 or 4), "malformed")
    no(
        "receipt-std-base64",
        "standard base64 ('+' or '/')",
        base64.b64encode(rfc8785.dumps(doc)).decode().rstrip("=")
        if any(c in "+/" for c in base64.b64encode(rfc8785.dumps(doc)).decode())
        else header.replace("-", "+", 1)
        if "-" in header
        else header + "+",
        "malformed",
    )
    spaced = json.dumps(doc, indent=1).encode()
    no("receipt-not-jcs", "the same members, not in JCS form", _b64(spaced), "malformed")
    no("receipt-extra", "an extra signed member", _receipt(req, resp, note="x")[1], "malformed")
    no(
        "receipt-missing-registry",
        "a missing member",
        _b64(rfc8785.dumps({k: v for k, v in doc.items() if k != "registry"})),
        "malformed",
    )
    no("receipt-chainid-string", "chainId as a string", _receipt(req, resp, chainId="31337")[1], "malformed")
    no(
        "receipt-release-id",
        "a releaseId of another release",
        _receipt(req, resp, releaseId="0x" + keccak(b"acme/chat-7b/2").hex())[1],
        "malformed",
    )
    no(
        "receipt-by-stranger",
        "signed by another key than the operator it names",
        _receipt(req, resp, key=STRANGER)[1],
        "signature",
    )
    forged = copy.deepcopy(doc)
    forged["release"] = "acme/chat-7b/9.9.9"
    forged["releaseId"] = "0x" + release_id(ReleaseName.parse(forged["release"])).hex()
    no("receipt-forged-release", "the release changed after signing", _b64(rfc8785.dumps(forged)), "signature")
    no("receipt-v2", "another receipt type", _receipt(req, resp, type="modelseal/receipt/v2")[1], "malformed")
    no("receipt-garbage", "not base64url", "%%%", "malformed")
    last = header[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if len(header) % 4 in (2, 3):  # the last character carries unused low bits: set one
        stray = (
            alphabet[alphabet.index(last) | 1] if alphabet.index(last) % 2 == 0 else alphabet[alphabet.index(last) & ~1]
        )
        no(
            "receipt-stray-bits",
            "unused bits set in the last base64url character (a second spelling)",
            header[:-1] + stray,
            "malformed",
        )
    return vs


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    assert unicodedata.is_normalized("NFC", "é")
    write(
        "digests",
        "Model files and folders to hash: input.tree is created under an empty folder (paths "
        "relative to it; 'content' UTF-8 text or 'contentHex'; 'pathHex' for a name that is not UTF-8; "
        "'folder', 'fifo' or 'symlink' entries), input.model is hashed with input.ignore as the ignore rules "
        "(exactly these, no defaults) and input.followSymlinks (default false).",
        DIGEST_ERRORS,
        digest_vectors(),
    )
    write(
        "filelists",
        "Weights digests computed from a file list alone (no files): input.kind and input.files.",
        FILELIST_ERRORS,
        filelist_vectors(),
    )
    write(
        "manifests",
        "Manifest documents as text (input.text): parse and check (docs/formats.md §2.2); expected "
        "manifest digest, weights digest and release name.",
        MANIFEST_ERRORS,
        manifest_vectors(),
    )
    write(
        "proofs",
        "Signed manifests (input.manifest, a JSON object): verify every proof, require the publisher's "
        "(and input.expectedSigner's); expected the signer DIDs in proof order.",
        PROOF_ERRORS,
        proof_vectors(),
    )
    write(
        "names",
        "Names (input.kind: namespace, model, version or release) and their on-chain ids.",
        NAME_ERRORS,
        name_vectors(),
    )
    write(
        "dids",
        "DIDs (input.did: expected method and on-chain didHash) and proof verification methods "
        "(input.verificationMethod: expected the signer DID).",
        DID_ERRORS,
        did_vectors(),
    )
    write(
        "claims", "Identity claims (GET /.well-known/model-identity), input.document.", IDENTITY_ERRORS, claim_vectors()
    )
    write(
        "challenges",
        "Challenge answers: input.answer checked against input.nonce at the verifier's clock "
        "input.now (Unix seconds), window 60 s.",
        IDENTITY_ERRORS,
        challenge_vectors(),
    )
    write(
        "receipts",
        "Receipts: input.receipt (the Model-Receipt value, or 'sse': read the receipt from the "
        "stream's last model-receipt event) over input.request and input.response (UTF-8 bodies).",
        IDENTITY_ERRORS,
        receipt_vectors(),
    )


if __name__ == "__main__":
    main()
