"""The inverse-edit & resolution page in a real browser: a box dragged on the field moves the
region sliders, the edit runs with its progress and result, and no traceback shows.

Screenshots go to ``test-artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS

pytestmark = pytest.mark.browser

ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def _idle(page, settle_ms: int = 400) -> None:
    page.wait_for_timeout(settle_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    page.wait_for_timeout(settle_ms)


def _region_values(page) -> list[str]:
    sliders = page.locator('[data-testid="stSlider"]')
    x = sliders.filter(has_text="region x").locator('[data-testid="stSliderThumbValue"]')
    y = sliders.filter(has_text="region y").locator('[data-testid="stSliderThumbValue"]')
    return x.all_inner_texts() + y.all_inner_texts()


def test_box_selection_run_and_result(page, app_url: str) -> None:
    page.goto(app_url + "/inverse")
    page.get_by_role("heading", name="Inverse edit & resolution").first.wait_for()
    page.get_by_text("decoded-field error against resolution").first.wait_for()
    _idle(page)
    before = _region_values(page)
    drag = page.locator(".js-plotly-plot").first.locator(".nsewdrag").first
    box = drag.bounding_box()
    x0, y0 = box["x"] + 0.55 * box["width"], box["y"] + 0.30 * box["height"]
    x1, y1 = box["x"] + 0.85 * box["width"], box["y"] + 0.60 * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()
    _idle(page, 800)
    after = _region_values(page)
    assert after != before and len(after) == 4
    assert float(after[0]) > float(before[0])  # the box starts right of the default region
    page.get_by_role("button", name="run the inverse edit").click()
    page.get_by_text("iterations: objective").first.wait_for(timeout=120_000)
    _idle(page)
    page.get_by_text("objective against iteration").first.wait_for()
    assert page.get_by_role("button", name="apply to the latent editor").count() == 1
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inverse.png"), full_page=True)
