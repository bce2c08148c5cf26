"""The modelseal verifier service: chain indexer, REST API, web page, endpoint and behaviour checks.

It may import :mod:`registry`; :mod:`registry` never imports it. The one verdict rule for an
endpoint is :mod:`verifier.check`; where everything else lives: ``docs/architecture.md``.
"""
