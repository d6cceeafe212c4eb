"""The ``diano`` command line: ``diano generate | train | evaluate | checkpoints``.

Each sub-command lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``. Errors raised on purpose (:class:`diano.errors.DianoError`) are
printed as one clear line and exit with status 2; nothing prints a traceback for them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from diano.errors import DianoError

# name -> (module providing add_arguments/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("diano.data.generate", "generate a benchmark data set with the lattice-Boltzmann solver"),
    "train": ("diano.train", "train a model on a benchmark and write its checkpoint"),
    "evaluate": ("diano.evaluate", "evaluate checkpoints and write docs/results.md"),
    "checkpoints": ("diano.checkpoints", "list or verify the shipped checkpoints against the manifest"),
}


def build_parser() -> argparse.ArgumentParser:
    from diano import __version__

    parser = argparse.ArgumentParser(prog="diano", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"diano {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args._run(args) or 0)
    except DianoError as exc:
        print(f"diano: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("diano: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
