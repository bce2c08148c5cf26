"""The modelseal verifier service (chain indexer, REST API, web page).

It may import :mod:`registry`; :mod:`registry` never imports it. Built in a later milestone.
"""
