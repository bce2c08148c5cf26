"""Run a real chatbot under an operator identity: llama.cpp's OpenAI-compatible server, wrapped
by :class:`registry.identity.asgi.IdentityMiddleware`.

:func:`preflight` refuses to start a deployment the chain would not vouch for: the release must
exist and be unrevoked, the model file must have the release's weights digest, and the operator
key must be authorised for the release (model or release scope, not expired, not revoked), and
when the publisher pinned that authorisation to origins, every origin served must be pinned. The
``modelseal serve --unsafe-dev`` flag turns the failures into loud warnings instead (for demos
and tests of impostors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.hashing.model import hash_model
from registry.identity.asgi import IdentityMiddleware
from registry.identity.protocol import Claim, check_origins
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key

if TYPE_CHECKING:
    from registry.chain.client import RegistryClient


@dataclass(frozen=True, slots=True)
class Preflight:
    claim: Claim
    problems: tuple[str, ...]


def preflight(
    client: RegistryClient, model_path: Path, release: ReleaseName, key: Ed25519Key, origins: Sequence[str]
) -> Preflight:
    """Build the claim for a deployment serving at ``origins`` and list every reason the chain
    would not vouch for it (including origins the publisher's pinned authorisation leaves out)."""
    served = check_origins(list(origins))
    weights = hash_model(model_path).weights.hex
    problems: list[str] = []
    info = client.release(release)
    if info is None:
        problems.append(f"{release} is not published on chain {client.chain_id}")
    else:
        if info.revoked:
            problems.append(f"{release} was revoked: {info.revoke_reason}")
        if info.weights_digest.hex() != weights:
            problems.append(
                f"{model_path} is not the weights of {release} ({weights[:16]}… vs {info.weights_digest.hex()[:16]}…)"
            )
        if not client.is_operator_authorized(release, key.did):
            problems.append(
                f"{key.did} is not authorised to serve {release} (or its authorisation expired or was revoked)"
            )
        else:
            problems += _unpinned(client, release, key.did, served)
    claim = Claim(release, weights, key.did, client.chain_id, client.address, served, engine=engine_build())
    return Preflight(claim, tuple(problems))


def _unpinned(client: RegistryClient, release: ReleaseName, did: str, served: tuple[str, ...]) -> list[str]:
    """Origins a verifier would refuse because every active authorisation is pinned elsewhere."""
    now = client.now()
    allowed: set[str] | None = set()
    for version in (None, release.version):
        info = client.operator(release.namespace, release.model, version, did)
        if not info.active_at(now):
            continue
        pins = client.operator_origins(release.namespace, release.model, version, did)
        if not pins:
            allowed = None  # an unpinned active grant: any origin the key signs for
            break
        assert allowed is not None
        allowed |= set(pins)
    if allowed is None:
        return []
    return [
        f"{o} is not among the origins the publisher pinned for {did}: {sorted(allowed)}"
        for o in served
        if o not in allowed
    ]


def engine_build() -> str:
    """The engine build this process runs models with: the llama-cpp-python version and the CPU
    features its ggml backend uses (they choose the kernels, hence the exact floating-point
    results). Two processes with the same string replay greedy decoding bit for bit; a chatbot
    declares it in its claim so a verifier can hold it to that (``docs/behaviour.md``)."""
    import llama_cpp

    features = llama_cpp.llama_print_system_info().decode(errors="replace")
    flags = ",".join(
        part.split("=")[0].strip().replace(" ", "")
        for part in features.replace("CPU :", "").split("|")
        if "=" in part and part.split("=")[1].strip() == "1"
    )
    return f"llama-cpp-python-server/{llama_cpp.__version__} cpu:{flags}"


def chat_app(model_path: Path, claim: Claim, key: Ed25519Key, *, n_ctx: int = 2048, threads: int = 1) -> Any:
    """llama.cpp's OpenAI-compatible server app for ``model_path``, wrapped by the identity middleware."""
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model = ModelSettings(
        model=str(model_path),
        model_alias=claim.release.model,
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    app = create_app(server_settings=ServerSettings(), model_settings=[model])
    return IdentityMiddleware(app, claim, key)


def start_plain_llama(
    model_path: Path, *, threads: int = 1, wait: float = 60.0, env: dict[str, str] | None = None
) -> tuple[str, Any]:
    """A plain llama.cpp OpenAI server (no identity) on a free loopback port, for tests and
    benchmarks; returns its URL and process once ``/v1/models`` answers. ``env`` replaces the
    environment (e.g. a ``PYTHONPATH`` naming another build of llama-cpp-python)."""
    import subprocess
    import sys
    import time

    import httpx

    from registry.chain.devchain import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1"]
    args = ["--port", str(port), "--n_threads", str(threads), "--n_threads_batch", str(threads)]
    proc = subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/v1/models", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"llama.cpp server for {model_path} did not start")
