"""The ``modelseal`` command line.

:mod:`~registry.cli.entry` is the console entry (``modelseal hash`` runs without typer);
:mod:`~registry.cli.app` is the typer app; one module per command group registers its commands;
:mod:`~registry.cli.options` holds what they share. This ``__init__`` imports nothing.
"""
