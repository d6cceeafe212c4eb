"""Import hygiene: the library never pulls in streamlit (only diano.ui and pages/ do)."""

import subprocess
import sys


def test_import_diano_does_not_import_streamlit() -> None:
    code = (
        "import sys, diano, diano.solvers, diano.models, diano.checkpoints, diano.data;"
        "from diano import MODELS, build_model, load_pretrained;"
        "bad = [m for m in ('streamlit', 'plotly', 'pyvista', 'stpyvista') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_help_lists_commands() -> None:
    from diano.cli import COMMANDS

    out = subprocess.run(
        [sys.executable, "-m", "diano", "--help"], check=True, capture_output=True, text=True
    ).stdout
    for name in COMMANDS:
        assert name in out


def test_every_cli_command_has_a_module_with_arguments_and_run() -> None:
    import importlib

    from diano.cli import COMMANDS, build_parser

    assert "checkpoints" in COMMANDS
    for name, (module_name, _) in COMMANDS.items():
        module = importlib.import_module(module_name)
        assert callable(module.add_arguments) and callable(module.run), name
        build_parser(name)  # the sub-command's own arguments register without error
