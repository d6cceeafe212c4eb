"""The 3D vessel and stenosis pages in a real browser, on synthetic cases and tiny models:
the stpyvista canvas is present and its screenshot is not blank; no traceback or error box.

Screenshots go to ``test-artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import numpy as np
import pytest
from conftest import ARTIFACTS, free_port, load_fixture_script, start_server, stop_server
from test_app_browser import assert_clean, shot, wait_idle

pytestmark = pytest.mark.browser

#: pixel standard deviation (0-255 grey) above which the 3D canvas shows a drawn scene
MIN_CANVAS_STD = 8.0


@pytest.fixture(scope="module")
def geometric_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("geometric-browser")
    checkpoints, samples = load_fixture_script().make_geometric_fixture(root)
    env = dict(os.environ)
    env.update(
        DIANO_CHECKPOINT_DIR=str(checkpoints),
        DIANO_SAMPLES_DIR=str(samples),
        VTK_DEFAULT_OPENGL_WINDOW=env.get("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow"),
        OMP_NUM_THREADS="2",
    )
    port = free_port()
    proc = start_server(env, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def canvas_std(png: bytes) -> float:
    from PIL import Image

    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    return float(grey.std())


def test_vessel_scene_renders_in_the_browser(page, geometric_url: str) -> None:
    page.goto(geometric_url + "/vessel3d")
    page.get_by_role("heading", name="3D vessel").first.wait_for(timeout=90_000)
    canvas = page.frame_locator("iframe#stpyvistaframe").first.locator("canvas").first
    canvas.wait_for(timeout=90_000)
    page.wait_for_timeout(2500)  # vtk.js draws after the scene has loaded
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = canvas.screenshot(path=str(ARTIFACTS / "vessel3d_canvas.png"))
    assert canvas_std(png) > MIN_CANVAS_STD, "the 3D canvas is blank"
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    wait_idle(page)
    body = page.inner_text("body")
    assert "Inside DIANO" in body and "DIANO rel. L2 of p" in body
    assert_clean(page)
    shot(page, "vessel3d")


def test_stenosis_page_steps_the_line(page, geometric_url: str) -> None:
    page.goto(geometric_url + "/stenosis")
    page.get_by_role("heading", name="Stenosis").first.wait_for(timeout=90_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_role("button", name="step ×10").click()
    page.get_by_text("10 step(s) marched").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator(".js-plotly-plot").count() >= 3
    assert_clean(page)
    shot(page, "stenosis")
