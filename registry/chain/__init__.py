"""The ``ModelRegistry`` contract from Python.

* :mod:`~registry.chain.connect` - the one way to connect (CLI, indexer, service);
* :mod:`~registry.chain.client` - ``RegistryClient``: every call, typed results, reverts in words;
* :mod:`~registry.chain.artifacts` - compiled contracts and the deployments record;
* :mod:`~registry.chain.devchain` - anvil as the local dev chain;
* :mod:`~registry.chain.publish` - hash -> manifest -> sign -> anchor;
* :mod:`~registry.chain.verify` - which registered release is this model on disk?
"""
