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
    out = subprocess.run(
        [sys.executable, "-m", "diano", "--help"], check=True, capture_output=True, text=True
    ).stdout
    for name in ("generate", "train", "evaluate", "checkpoints"):
        assert name in out
