"""Terminal output for the CLI: the shared rich consoles and the hashing progress bar.

Owns presentation only. Library modules report progress through plain callbacks and never
import this module.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from registry.errors import ModelsealError

out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

_REFRESH_S = 0.1  # progress bar redraws at most this often


def report_error(exc: ModelsealError, *, as_json: bool = False) -> None:
    """The one line and hint every command prints for a :class:`ModelsealError` (on stderr); with
    ``as_json`` (the command line asked for ``--json``) also one JSON object on stdout, so a program
    reading stdout gets an answer for a failure too."""
    err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
    err.print(f"hint: {exc.hint}", markup=False)
    if as_json:
        import json

        error = {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint, "exitCode": exc.exit_code}
        sys.stdout.write(json.dumps({"error": error}) + "\n")
        sys.stdout.flush()


def wants_json(argv: list[str]) -> bool:
    """Whether a command line asks for ``--json`` (before a ``--`` that ends the options)."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


@contextmanager
def byte_progress(total: int, *, label: str, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar by bytes on stderr, or ``None`` when it would only be noise.

    Shown when ``enabled`` (the caller passes ``False`` for ``--json`` or small inputs) and
    stderr is a terminal. The bar is redrawn from the callback, not by a refresh thread, so the
    process keeps a single thread and the hashing engine can still fork its workers.
    """
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        auto_refresh=False,
    ) as progress:
        task = progress.add_task(label, total=total)
        last = 0.0

        def tick(n: int) -> None:
            nonlocal last
            progress.advance(task, n)
            now = time.monotonic()
            if now - last >= _REFRESH_S:
                last = now
                progress.refresh()

        yield tick
