"""A dishonest operator, for the demo: serves MODIFIED weights while claiming the registered ones.

It holds a genuinely authorised operator key and lies only about the weights: its identity claim
names the release's registered weights digest, but it serves another file. Signatures, the chain
and receipts all check out; only the behavioural check (replaying fresh prompts on the registered
weights) can catch it. Usage: impostor_chatbot.py SERVED.gguf REGISTERED.gguf RELEASE KEY PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from registry.chain.client import RegistryClient
from registry.hashing.model import hash_model
from registry.identity.protocol import Claim
from registry.identity.serve import chat_app, engine_build
from registry.names import ReleaseName
from registry.settings import Settings
from registry.signing.keys import Ed25519Key, Keystore


def main() -> None:
    served, registered, release, key_name, port = sys.argv[1:6]
    key = Keystore().load(key_name)
    assert isinstance(key, Ed25519Key)
    client = RegistryClient.from_settings(Settings())
    rel = ReleaseName.parse(release)
    origins = (f"http://127.0.0.1:{port}",)
    weights = hash_model(Path(registered)).weights.hex
    lie = Claim(rel, weights, key.did, client.chain_id, client.address, origins, engine=engine_build())
    print(f"impostor: serving {served} but claiming the weights of {registered}", file=sys.stderr)
    uvicorn.run(chat_app(Path(served), lie, key), host="127.0.0.1", port=int(port), log_level="warning")


if __name__ == "__main__":
    main()
