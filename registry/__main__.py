"""``python -m registry`` runs the ``modelseal`` CLI."""

from registry.cli import main

main()
