"""The deployment identity protocol: a chatbot proves which registered release it serves.

* :mod:`~registry.identity.protocol` - the claim, the signed challenge answer, the Model-Receipt;
* :mod:`~registry.identity.asgi` - operator middleware for any ASGI chat server;
* :mod:`~registry.identity.serve` - llama.cpp behind that middleware, after a preflight check.
"""
