"""Terminal output for the CLI: the shared rich consoles and the hashing progress bar.

Owns presentation only. Library modules report progress through plain callbacks and never
import this module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@contextmanager
def byte_progress(total: int, *, label: str, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar by bytes on stderr, or ``None`` when it would only be noise.

    Shown when ``enabled`` (the caller passes ``False`` for ``--json`` or small inputs) and
    stderr is a terminal.
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
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)
