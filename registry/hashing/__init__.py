"""Bytes to digests: BLAKE3 of files and the weights digest of a model.

* :mod:`~registry.hashing.engine` - lists a model and reads every byte once (imports nothing heavy,
  so ``modelseal hash`` starts fast);
* :mod:`~registry.hashing.cache` - digests of files already read, keyed by their stat;
* :mod:`~registry.hashing.model` - the typed API (``hash_model``, ``hash_file``, ``ModelDigest``);
* :mod:`~registry.hashing.oms` - OpenSSF model-signing signatures, compared file by file.

This ``__init__`` imports nothing, so importing the engine loads only the engine.
"""
