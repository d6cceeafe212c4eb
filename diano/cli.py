"""The ``diano`` command line: ``diano checkpoints`` (more sub-commands register here).

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
    "checkpoints": (
        "diano.checkpoints",
        "list or verify the shipped checkpoints against the manifest",
    ),
    "generate": (
        "diano.data.generate",
        "make a benchmark data set with the lattice-Boltzmann generators",
    ),
    "train": (
        "diano.training.command",
        "train a model on a generated data set and write its checkpoint",
    ),
    "evaluate": (
        "diano.evaluation.command",
        "score the shipped checkpoints and write docs/results.md",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only ``command``'s module is imported (``--help`` stays fast)."""
    from diano import __version__

    parser = argparse.ArgumentParser(prog="diano", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"diano {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if a in COMMANDS), None)
    try:
        args = build_parser(command).parse_args(argv)
        return int(args._run(args) or 0)
    except DianoError as exc:
        print(f"diano: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("diano: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
