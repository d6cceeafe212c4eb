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


#: titles the canvas views (component iframes) have drawn, read from the page
CANVAS_TITLES = """[...document.querySelectorAll('iframe')].map((f) => {
  try { return (f.contentDocument && f.contentDocument.body.dataset.title) || ''; }
  catch (e) { return ''; } })"""


def wait_canvas_title(page, text: str) -> None:
    page.wait_for_function(
        f"() => ({CANVAS_TITLES}).some((t) => t.includes({text!r}))", timeout=30_000
    )


def canvas_not_blank(page, title_part: str) -> bool:
    """Whether the canvas whose title holds ``title_part`` has drawn coloured pixels."""
    return page.evaluate(
        """(part) => {
          for (const f of document.querySelectorAll('iframe')) {
            const d = f.contentDocument;
            if (!d) continue;
            for (const c of d.querySelectorAll('canvas')) {
              if (!(c.getAttribute('aria-label') || '').includes(part)) continue;
              const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let coloured = 0;
              for (let i = 0; i < px.length; i += 4) {
                const hi = Math.max(px[i], px[i + 1], px[i + 2]);
                if (hi - Math.min(px[i], px[i + 1], px[i + 2]) > 40) coloured++;
              }
              return coloured > 1000;
            }
          }
          return false;
        }""",
        title_part,
    )


def grid_view(page):
    """The latent editor's canvas component: the grid with its buttons and notes, and the
    decoded fields."""
    return page.frame_locator('iframe[title="diano.ui.canvas.fieldcanvas"]').first


def test_latent_edit_updates_the_decoded_field(page, app_url: str) -> None:
    open_page(page, app_url + "/latent_editor", "Latent editor")
    wait_canvas_title(page, "0 edit(s) in effect")
    assert canvas_not_blank(page, "decoded field") and canvas_not_blank(page, "latent z")
    grid = grid_view(page)
    assert grid.get_by_role("button", name="undo").is_disabled()
    grid.get_by_role("button", name="apply").click()
    wait_canvas_title(page, "1 edit(s) in effect")
    wait_idle(page)
    grid.get_by_text("edits in effect: bump").wait_for()  # the edit is listed
    grid.get_by_role("button", name="undo").click()
    wait_canvas_title(page, "0 edit(s) in effect")
    grid.get_by_role("button", name="redo").click()
    wait_canvas_title(page, "1 edit(s) in effect")
    wait_idle(page)
    assert_clean(page)
    shot(page, "latent_editor")
    # the measured answer to "is an edit physics or noise?", one verdict per bump width
    page.get_by_role("heading", name="Is an edit physics or noise?").wait_for()
    for cells in (1, 2):
        page.get_by_text(f"{cells}-cell bump.").wait_for()
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1


def test_solver_playground_steps(page, app_url: str) -> None:
    open_page(page, app_url + "/playground", "Solver playground")
    assert "0 step(s) marched" in page.inner_text("body")
    page.get_by_role("button", name="step ×10").click()
    page.get_by_text("10 step(s) marched").wait_for(timeout=30_000)
    wait_idle(page)
    body = page.inner_text("body")
    assert re.search(r"CFL per sub-step", body)
    # play marches on its own (a timed fragment); switching it off stops the march
    marched = "() => +(document.body.innerText.match(/(\\d+) step\\(s\\) marched/) || [0, 0])[1]"
    switch = page.get_by_role("switch", name="play")
    play = page.locator('[data-testid="stCheckbox"]').filter(has=switch).locator("label")
    play.click()
    page.wait_for_function(marched + " >= 14", timeout=60_000)
    play.click()
    page.wait_for_function(
        "() => ((e) => e && !e.checked)(document.querySelector('[role=switch][aria-label=play]'))"
    )
    wait_idle(page, settle_ms=1500)
    stopped = page.evaluate(marched)
    page.wait_for_timeout(2000)
    assert page.evaluate(marched) == stopped, "the march went on after play was switched off"
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
    wait_canvas_title(page, "latent z")
    # the grid view's canvas: the grid fills most of its width, below its title
    grid = grid_view(page)
    box = grid.locator("canvas").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["width"] * 0.3, y0 + box["height"] * 0.35, steps=8)
    page.mouse.up()
    grid.get_by_text(re.compile(r"[1-9]\d* cell\(s\) selected")).wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_text("scale region", exact=True).click()
    wait_idle(page)
    grid.get_by_role("button", name="apply", exact=True).click()
    grid.get_by_text(re.compile(r"edits in effect: scale \d+ cell\(s\) by")).wait_for(
        timeout=30_000
    )
    wait_idle(page)
    assert_clean(page)
    shot(page, "latent_editor_region")
