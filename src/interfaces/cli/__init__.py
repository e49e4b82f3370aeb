"""The command-line interface: `python -m interfaces.cli --help`."""
