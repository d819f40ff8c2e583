"""``python -m cairn.cli`` runs the ``cairn`` command."""

from cairn.cli.main import main

main()
