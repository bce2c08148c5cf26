"""What a release is and who says so: the manifest, signing keys as DIDs, proofs, the manifest store.

* :mod:`~registry.signing.manifest` - the ``modelseal/manifest/v1`` document;
* :mod:`~registry.signing.keys` - ``did:key`` (Ed25519) and ``did:pkh`` (Ethereum) keys, the keystore;
* :mod:`~registry.signing.proofs` - ``eddsa-jcs-2022`` and EIP-712 proofs, proof sets;
* :mod:`~registry.signing.store` - signed manifests kept in the data folder by digest.
"""
