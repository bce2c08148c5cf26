"""modelseal's domain: hash a model, describe it in a manifest, sign it, verify it.

The publisher pipeline has three stages joined by one type, the
:class:`~registry.signing.manifest.Manifest`, and each stage has its folder:

1. **hash** (:mod:`registry.hashing`) - a model file or folder becomes a file list and a BLAKE3
   weights digest;
2. **describe and sign** (:mod:`registry.signing`) - the release name, publisher DID and file
   list become a ``modelseal/manifest/v1`` document, signed with a ``did:key`` (W3C Data
   Integrity ``eddsa-jcs-2022``) or a ``did:pkh`` wallet key (EIP-712);
3. **anchor and verify** (:mod:`registry.chain`) - the digests go on chain; verification
   recomputes from local material (the bytes, the keys) and compares with the document and the
   chain.

A chatbot proves which release it serves with :mod:`registry.identity`; the command line is
:mod:`registry.cli`. Where everything lives: ``docs/architecture.md``.

The default path::

    from pathlib import Path
    from registry.hashing.model import hash_model
    from registry.signing.keys import Ed25519Key
    from registry.names import ReleaseName
    from registry.signing.manifest import Manifest
    from registry.signing.proofs import sign_manifest, verify_manifest

    key = Ed25519Key.generate()                      # or Keystore().load("publisher")
    model = hash_model(Path("SmolLM2-135M-Instruct.Q4_1.gguf"))
    manifest = Manifest.create(ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0"), key.did, model)
    signed = sign_manifest(manifest, key)
    print(signed.digest)                             # the manifest digest that goes on chain

Verification, from a file someone sent you::

    from registry.signing.manifest import Manifest, compare_model

    manifest = Manifest.from_json(Path("chat-1.0.0.manifest.json").read_text())  # refuses bad documents
    verify_manifest(manifest)                        # raises on any bad proof; publisher must sign
    assert compare_model(manifest, hash_model(Path("./model"))) == []

Every error is a :class:`registry.errors.ModelsealError` with a hint. The formats are specified
in ``docs/formats.md``. This package never imports :mod:`verifier`.
"""

__version__ = "0.1.0"
