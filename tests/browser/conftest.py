"""Real-browser fixtures: the app served by ``streamlit run`` and Debian's chromium.

The server runs on a free local port with tiny random-weight fixture checkpoints and two
synthetic sample cases (``scripts/make_fixture_checkpoints.py``); it is stopped by the pid
this fixture started. Chromium is Debian's ``/usr/bin/chromium`` (``playwright install``
is never used).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]


def load_fixture_script():
    spec = importlib.util.spec_from_file_location(
        "make_fixture_checkpoints", REPO / "scripts" / "make_fixture_checkpoints.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, timeout: float = 60.0) -> subprocess.Popen:
    """Start ``streamlit run app.py`` and wait for ``/_stcore/health``; fail fast if it exits."""
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"server-{port}.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"streamlit was not healthy within {timeout} s; see {log.name}")


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server by its pid; kill it if it has not exited after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def fixture_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("app-fixture")
    checkpoints, samples = load_fixture_script().make_fixture(root, n=64, n_times=40)
    env = dict(os.environ)
    env.update(
        DIANO_CHECKPOINT_DIR=str(checkpoints),
        DIANO_SAMPLES_DIR=str(samples),
        VTK_DEFAULT_OPENGL_WINDOW=env.get("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow"),
        OMP_NUM_THREADS="2",
    )
    return env


@pytest.fixture(scope="session")
def app_url(fixture_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = start_server(fixture_env, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (bash scripts/install.sh --dev installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser) -> Iterator[object]:
    # tall enough that a screenshot holds the whole page (Streamlit scrolls inside the page)
    context = browser.new_context(viewport={"width": 1500, "height": 2600})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
