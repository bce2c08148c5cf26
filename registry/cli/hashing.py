"""``modelseal hash`` as a typer command, for ``--help``, usage errors and in-process callers.

A plain ``modelseal hash PATH [options]`` line never gets here: :mod:`registry.cli.entry` runs
:mod:`registry.cli.hash_cmd` directly, without loading typer (``tests/test_entry.py`` checks both
paths print the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from registry.cli.hash_cmd import HELP
from registry.cli.options import FollowOpt, IgnoreOpt, JsonOpt, NoDefaultIgnoreOpt

NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="Read every byte: neither use nor update the hash cache (docs/hashing.md)."),
]
CompareOmsOpt = Annotated[
    Path | None,
    typer.Option(
        "--compare-oms",
        metavar="SIGNATURE",
        help="An OpenSSF model_signing signature of this model (e.g. model.sig): show, file by file, whether "
        "it agrees with modelseal's hash; exit status 1 if not. The OMS signature itself is not verified.",
    ),
]


def hash_command(
    path: Annotated[Path, typer.Argument(help="A model file or folder.")],
    as_json: JsonOpt = False,
    ignore: IgnoreOpt = None,
    no_default_ignore: NoDefaultIgnoreOpt = False,
    follow_symlinks: FollowOpt = False,
    no_cache: NoCacheOpt = False,
    compare_oms: CompareOmsOpt = None,
) -> None:
    from registry.cli import hash_cmd

    code = hash_cmd.run(
        str(path),
        as_json=as_json,
        ignore=ignore,
        no_default_ignore=no_default_ignore,
        follow_symlinks=follow_symlinks,
        no_cache=no_cache,
        compare_oms=str(compare_oms) if compare_oms is not None else None,
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(
        "hash",
        help=HELP,
        epilog="Examples: modelseal hash ./SmolLM2-135M-Instruct.Q4_1.gguf --json  |  "
        "modelseal hash ./my-model --compare-oms model.sig",
    )(hash_command)
