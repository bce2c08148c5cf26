"""``python -m registry`` runs the ``modelseal`` CLI, through the same entry as the console script."""

from registry.cli.entry import main

main()
