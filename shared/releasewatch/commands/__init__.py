"""The `releasewatch` subcommands, one module each (cli.py finds them by name): each registers
its arguments with `add_parser(subparsers)` and runs with `run(args)`."""
