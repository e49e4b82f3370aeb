"""`python -m interfaces.cli`: run the CLI."""

from interfaces.cli.app import main

main()
