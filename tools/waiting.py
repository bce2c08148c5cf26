"""Waiting for a server a test or a benchmark started as a subprocess (not shipped)."""

from __future__ import annotations

import subprocess
import time

import httpx


def wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90) -> None:
    """Return once ``url`` answers below 500; raise if ``proc`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            said = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"the server exited with {proc.returncode}: {said}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")
