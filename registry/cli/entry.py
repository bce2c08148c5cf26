"""The ``modelseal`` console script: runs ``modelseal hash`` directly, everything else via typer.

``modelseal hash`` is the command publishers run most, often on small inputs in scripts, so it
must start in well under 0.3 s. The typer application (typer, click, rich, every command's
options) takes about 0.25 s to load, so a plain ``modelseal hash PATH [options]`` line is parsed
here and handed to :func:`registry.cli.hash_cmd.run` without loading any of it. Anything this parser
does not recognise (``--help``, a misspelt option, a missing value) goes to the typer
application, which prints the usual help or usage error: the two entries cannot disagree on a
valid command line, and ``tests/test_entry.py`` runs both on the same inputs.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads the name)
if TYPE_CHECKING:
    from collections.abc import Sequence

_FLAGS = {
    "--json": "as_json",
    "--no-cache": "no_cache",
    "--follow-symlinks": "follow_symlinks",
    "--no-default-ignore": "no_default_ignore",
}


def parse_hash(args: Sequence[str]) -> dict[str, object] | None:
    """Keyword arguments for :func:`registry.cli.hash_cmd.run` from the words after ``hash``, or
    ``None`` for anything but a plain valid command line (typer then deals with it)."""
    options: dict[str, object] = {}
    ignore: list[str] = []
    path = None
    only_positional = False
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if only_positional or not word.startswith("-") or word == "-":
            if path is not None:
                return None  # a second path: typer words the usage error
            path = word
            continue
        if word == "--":
            only_positional = True
            continue
        if word in _FLAGS:
            options[_FLAGS[word]] = True
            continue
        name, eq, value = word.partition("=")
        if name not in ("--ignore", "--compare-oms"):
            return None  # --help, -h, or an option typer should explain
        if not eq:
            if i == len(args):
                return None  # missing value
            value = args[i]
            i += 1
        if name == "--ignore":
            ignore.append(value)
        else:
            options["compare_oms"] = value
    if path is None:
        return None
    if ignore:
        options["ignore"] = ignore
    options["path"] = path
    return options


def _debug() -> bool:
    return os.environ.get("MODELSEAL_DEBUG", "") not in ("", "0", "false")


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    parsed = parse_hash(args[1:]) if args[:1] == ["hash"] else None
    if parsed is None:
        from registry.cli.app import main as typer_main

        typer_main()
        return
    from registry.cli import hash_cmd as hashcmd
    from registry.errors import ExitCode, ModelsealError

    try:
        code = hashcmd.run(**parsed)  # type: ignore[arg-type]
        sys.stdout.flush()
    except ModelsealError as exc:
        if _debug():
            raise
        from registry.cli.console import report_error

        report_error(exc, as_json=bool(parsed.get("as_json")))
        code = exc.exit_code
    except BrokenPipeError:  # e.g. `modelseal hash DIR | head`: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitCode.FAILED
    except KeyboardInterrupt:  # as the typer commands do: status 130, nothing printed
        code = ExitCode.INTERRUPTED
    sys.exit(code)
