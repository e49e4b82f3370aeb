"""`python -m interfaces.cli`: run the CLI (stop signals are caught before the heavy imports)."""

from interfaces.cli.stop_signals import install_early

install_early()

from interfaces.cli.app import main  # noqa: E402 - after the early signal handlers, on purpose

main()
