"""The app in a real browser: every page renders, the time slider, a latent edit and a
solver step change the page, and no traceback or error box ever shows.

Screenshots go to ``test-artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import re

import pytest
from conftest import ARTIFACTS

pytestmark = pytest.mark.browser

ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def wait_idle(page, settle_ms: int = 400) -> None:
    """Wait until Streamlit has finished the current run (status widget gone), then settle."""
    page.wait_for_timeout(settle_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    page.wait_for_timeout(settle_ms)


def open_page(page, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    wait_idle(page)


def assert_clean(page) -> None:
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def move_slider(page, label: str, presses: int = 1) -> None:
    """Move a Streamlit slider by keyboard (focus its thumb, press ArrowRight)."""
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    thumb.first.focus()
    for _ in range(presses):
        thumb.first.press("ArrowRight")
    wait_idle(page)


def test_overview_shows_the_pipeline_and_model_card(page, app_url: str) -> None:
    open_page(page, app_url, "DIANO Explorer")
    assert page.locator(".js-plotly-plot").count() >= 1
    body = page.inner_text("body")
    assert "Model card" in body and "compression ratio" in body
    assert "encoder" in body
    assert_clean(page)
    shot(page, "overview")


def test_explore_time_slider_and_play(page, app_url: str) -> None:
    open_page(page, app_url + "/explore", "Explore in time")
    plot = page.locator(".js-plotly-plot").first
    before = plot.inner_text()
    move_slider(page, "start frame", presses=3)
    page.locator(".js-plotly-plot").first.wait_for()
    assert_clean(page)
    # the in-figure slider runs client side: play advances the current-value label
    label = page.locator(".slider-container text.slider-label").filter(has_text="=").first
    start_label = label.text_content()
    page.locator(".updatemenu-button").filter(has_text="play").first.click()
    page.wait_for_timeout(1500)
    assert label.text_content() != start_label
    page.locator(".updatemenu-button").filter(has_text="pause").first.click()
    assert before  # the figure had content before the rerun
    assert_clean(page)
    shot(page, "explore")


def test_latent_edit_updates_the_decoded_field(page, app_url: str) -> None:
    open_page(page, app_url + "/latent_editor", "Latent editor")
    title = page.locator(".js-plotly-plot .gtitle").filter(has_text="edit(s) in effect").first
    assert "0 edit(s)" in title.text_content()
    page.get_by_role("button", name="apply").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gtitle')]"
        ".some(e => e.textContent.includes('1 edit(s) in effect'))",
        timeout=30_000,
    )
    wait_idle(page)
    body = page.inner_text("body")
    assert "bump" in body  # the edit is listed
    page.get_by_role("button", name="undo").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gtitle')]"
        ".some(e => e.textContent.includes('0 edit(s) in effect'))",
        timeout=30_000,
    )
    page.get_by_role("button", name="redo").click()
    wait_idle(page)
    assert_clean(page)
    shot(page, "latent_editor")


def test_solver_playground_steps(page, app_url: str) -> None:
    open_page(page, app_url + "/playground", "Solver playground")
    assert "0 step(s) marched" in page.inner_text("body")
    page.get_by_role("button", name="step ×10").click()
    page.get_by_text("10 step(s) marched").wait_for(timeout=30_000)
    wait_idle(page)
    body = page.inner_text("body")
    assert re.search(r"CFL per sub-step", body)
    # play marches on its own (a timed fragment); pause stops it
    page.get_by_role("button", name="play").click()
    page.get_by_role("button", name="pause").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => /(\\d+) step\\(s\\) marched/.test(document.body.innerText) && "
        "+document.body.innerText.match(/(\\d+) step\\(s\\) marched/)[1] >= 14",
        timeout=60_000,
    )
    page.get_by_role("button", name="pause").click()
    page.get_by_role("button", name="play").wait_for(timeout=30_000)
    wait_idle(page)
    assert_clean(page)
    shot(page, "playground")


def test_compare_models(page, app_url: str) -> None:
    open_page(page, app_url + "/compare", "Compare models")
    assert page.locator(".js-plotly-plot").count() >= 3
    move_slider(page, "time cursor", presses=2)
    body = page.inner_text("body")
    assert "rel-L2 (mean)" in body or "rel-L2" in body
    assert_clean(page)
    shot(page, "compare")


def test_box_select_cells_and_scale_them(page, app_url: str) -> None:
    open_page(page, app_url + "/latent_editor", "Latent editor")
    grid = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag").first
    box = grid.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.25
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["width"] * 0.3, y0 + box["height"] * 0.5, steps=8)
    page.mouse.up()
    page.get_by_text(re.compile(r"[1-9]\d* cell\(s\) selected")).wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_text("scale region", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="apply", exact=True).click()
    page.get_by_text(re.compile(r"edits in effect: scale \d+ cell\(s\) by")).wait_for(
        timeout=30_000
    )
    wait_idle(page)
    assert_clean(page)
    shot(page, "latent_editor_region")
