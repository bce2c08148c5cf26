"""The ``modelseal`` command line: thin commands that parse, call the library and print.

Every command prints for people by default and JSON with ``--json``. Errors from the library
(:class:`registry.errors.ModelsealError`) become one line plus a hint on stderr and the error
family's exit status (:class:`registry.errors.ExitCode`, the one table); ``MODELSEAL_DEBUG=1``
shows the traceback instead.

Imports go one way: this module -> the command modules (:mod:`~registry.cli.keys`,
:mod:`~registry.cli.hashing`, :mod:`~registry.cli.manifests`, :mod:`~registry.cli.devchain`,
:mod:`~registry.cli.namespaces`, :mod:`~registry.cli.operators`, :mod:`~registry.cli.releases`)
-> :mod:`registry.cli.options` (shared options and helpers). Each command module has a
``register(app)``; commands of other packages (the verifier's) come in through the
``modelseal.cli`` entry point, so this package never imports them by name.

Heavy libraries (web3, FastAPI) are imported inside the commands that need them, so
``modelseal --help`` and ``modelseal hash`` start fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from registry.cli import console, devchain, hashing, keys, manifests, namespaces, operators, releases
from registry.errors import ModelsealError

app = typer.Typer(
    name="modelseal",
    help=(
        "Provenance for AI models: hash a release, sign its manifest with a DID key, anchor it "
        "on Ethereum, and verify models and chatbots against it.\n\n"
        "Example: modelseal keygen --name publisher && modelseal hash ./my-model"
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        from registry.chain.client import REGISTRY_VERSION

        print(f"modelseal {version('modelseal')} (ModelRegistry {REGISTRY_VERSION}, formats modelseal/manifest/v1)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Provenance for AI models (options before the command apply to modelseal itself)."""


for _module in (keys, hashing, manifests, devchain, namespaces, operators, releases):
    _module.register(app)


def _load_plugins() -> None:
    """Commands of other packages (the verifier's), found through the ``modelseal.cli`` entry point."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="modelseal.cli"):
        ep.load()(app)


_load_plugins()


def main() -> None:
    """Run the app, turning ModelsealError into one line + hint and the family's exit status."""
    debug = os.environ.get("MODELSEAL_DEBUG", "") not in ("", "0", "false")
    try:
        app(prog_name="modelseal")
    except ModelsealError as exc:
        if debug:
            raise
        console.report_error(exc, as_json=console.wants_json(sys.argv[1:]))
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
