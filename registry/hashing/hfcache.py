"""The Hugging Face cache, as `hf download` (huggingface_hub) lays it out, read without
huggingface_hub and without a network: where a model's snapshot is, and whether a folder is one.

Layout (huggingface_hub's documented cache): ``$HF_HUB_CACHE`` (default ``$HF_HOME/hub``, default
``~/.cache/huggingface/hub``) holds ``models--<org>--<name>/`` with ``blobs/`` (files by content),
``refs/<branch>`` (a revision hash) and ``snapshots/<revision>/`` (symbolic links into ``blobs``).
A model is named on the command line as ``hf:<org>/<name>[@<revision or branch>]``.

This module imports only :mod:`os` at load time: the hashing engine uses it on the fast path.
"""

from __future__ import annotations

import os

from registry.errors import InputError

_REF = r"hf:([A-Za-z0-9][A-Za-z0-9._-]{0,95})/([A-Za-z0-9][A-Za-z0-9._-]{0,95})(?:@([A-Za-z0-9._/-]{1,96}))?"
_KINDS = ("models--", "datasets--", "spaces--")


def hub_cache() -> str:
    """The cache folder huggingface_hub uses, from the same environment variables."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return os.path.join(home, "hub")


def is_hf_ref(text: str) -> bool:
    return text.startswith("hf:")


def resolve(ref: str) -> str:
    """The snapshot folder of ``hf:org/name[@revision]`` in the local cache (the ``main`` branch
    when no revision is given). Nothing is downloaded: a model not in the cache is an error."""
    import re  # not at module level: the hashing engine imports this module on its fast path

    m = re.fullmatch(_REF, ref)
    if not m:
        raise InputError(
            f"not a Hugging Face model reference: {ref!r}", hint="write hf:ORG/NAME or hf:ORG/NAME@REVISION"
        )
    org, name, wanted = m.group(1), m.group(2), m.group(3) or "main"
    repo = os.path.join(hub_cache(), f"models--{org}--{name}")
    if not os.path.isdir(repo):
        raise InputError(
            f"{org}/{name} is not in the Hugging Face cache at {hub_cache()}",
            hint=f"download it first (hf download {org}/{name}), or set HF_HOME / HF_HUB_CACHE",
        )
    revision = wanted
    ref_file = os.path.join(repo, "refs", wanted)
    if ".." not in wanted.split("/") and os.path.isfile(ref_file):
        with open(ref_file, encoding="ascii", errors="replace") as fh:
            revision = fh.read().strip()
    if not re.fullmatch(r"[0-9a-f]{40}", revision):
        raise InputError(
            f"{org}/{name}@{wanted} names no revision in the cache", hint="use a branch in refs/ or a commit hash"
        )
    snapshot = os.path.join(repo, "snapshots", revision)
    if not os.path.isdir(snapshot):
        raise InputError(
            f"revision {revision} of {org}/{name} is not in the cache",
            hint=f"hf download {org}/{name} --revision {revision}",
        )
    return snapshot


def snapshot_blobs(root: str) -> str | None:
    """The ``blobs`` folder of the cache when ``root`` is one of its snapshots
    (``<cache>/models--org--name/snapshots/<revision>``), else ``None``."""
    real = os.path.realpath(root)
    snapshots = os.path.dirname(real)
    repo = os.path.dirname(snapshots)
    blobs = os.path.join(repo, "blobs")
    if (
        os.path.basename(snapshots) == "snapshots"
        and os.path.basename(repo).startswith(_KINDS)
        and os.path.isdir(blobs)
    ):
        return blobs
    return None
