"""``python -m instsim`` runs the command line."""

from .cli import main

main()
