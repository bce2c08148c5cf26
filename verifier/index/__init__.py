"""The index: the registry's events and the state they build, in SQL (SQLite or PostgreSQL).

* :mod:`~verifier.index.schema` - the tables and the engine factory;
* :mod:`~verifier.index.indexer` - follows the chain: batched, confirmed, reorg-safe, resumable;
* :mod:`~verifier.index.queries` - reads for the API, the web page and the verdict rule.
"""
