r"""App responsiveness: latent edit → updated decoded figure in a real browser, and server-side
step + decode time per model.

Browser part: the app is served by ``streamlit run`` on a free local port and opened in
Debian's chromium (Playwright, headless). On the Latent editor page the script clicks
**apply** and **undo** (buttons of the grid view) in turn; a click listener and
``MutationObserver``\ s inside the page record, with ``performance.now()``, the moment of
the click and the moment the decoded view's title shows the new action count (the canvas
view sets its title once it has drawn). The latency is the difference: a fragment rerun on
the server (edit, decode, specs, JSON) plus transfer and drawing in the browser. For
comparison, a full-page rerun (moving the page's frame slider) is timed the same way.

Server part: for every model, the median and p95 of one latent step plus one decode, and of
the editor's server work (apply an edit, decode, build both canvas specs, serialise them).

The page's websocket messages are stamped too, splitting an edit into its server and browser
stages; and a bare Streamlit fragment (one button, one line of text) is timed the same way,
as the floor under any view.

Models: the shipped checkpoints when ``checkpoints/cylinder2d`` holds the temporal DIANO
(and whichever baselines are there) and samples exist; otherwise random-weight models at the
default (shipped) size, 128×128 vorticity with a 16×16 latent, written by
``scripts/make_fixture_checkpoints.py`` to a temporary folder — weights do not change the
cost. The section between the ``bench_app`` markers of
``docs/benchmarks.md`` is replaced; other scripts' sections are kept::

    .venv/bin/python bench/bench_app.py             # writes docs/benchmarks.md
    .venv/bin/python bench/bench_app.py --no-write  # prints the section only

``--screenshots DIR`` instead saves a picture of every page (``DIR/app_<page>.png``) from the
models that ``$DIANO_CHECKPOINT_DIR`` / ``$DIANO_SAMPLES_DIR`` point at.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from diano.device import interactive_threads
from diano.reporting import write_section

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
TARGET_MS = 150.0
CHROMIUM = "/usr/bin/chromium"

# Records the click on "apply"/"undo" (buttons of the grid view, inside its component iframe)
# and the next change of the decoded view's title, both on the page's clock. The views are
# canvases in component iframes (same origin); each writes its title into its body's
# data-title attribute when it has drawn, which an observer on that attribute catches.
HOOK = """
() => {
  window.__clicks = []; window.__titles = [];
  const onClick = (e) => {
    const b = e.target.closest('button');
    if (b) window.__clicks.push([performance.now(), b.innerText.trim()]);
  };
  document.addEventListener('click', onClick, true);
  const bodies = () => [...document.querySelectorAll('iframe')].map((f) => {
    try { return f.contentDocument && f.contentDocument.body; } catch (e) { return null; }
  }).filter((b) => b);
  const title = () => bodies().map((b) => b.dataset.title || '')
      .find((t) => t.includes('edit(s) in effect'));
  window.__last = title();
  const check = () => {
    const t = title();
    if (t && t !== window.__last) {
      window.__last = t;
      window.__titles.push([performance.now(), t]);
    }
  };
  const watched = new WeakSet();
  const watch = () => bodies().forEach((b) => {
    if (watched.has(b)) return;
    watched.add(b);
    new MutationObserver(check).observe(b, {attributes: true, attributeFilter: ['data-title']});
    b.ownerDocument.addEventListener('click', onClick, true);  // the grid view's buttons
  });
  watch();
  new MutationObserver(() => { watch(); check(); })
      .observe(document.body, {subtree: true, childList: true});
}
"""


# Stamps every websocket message the page receives (and sends: size -1) on the page's clock,
# so an edit splits into: click → the server's first message (the rerun has started) → its
# last message (the run has finished) → the decoded view drawn.
WS_STAMPS = """
window.__ws = [];
const PageSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new PageSocket(...args);
  socket.addEventListener('message', () => window.__ws.push(performance.now()));
  return socket;
};
window.WebSocket.prototype = PageSocket.prototype;
Object.assign(window.WebSocket, PageSocket);
"""

# A fragment with one button and one line of text: Streamlit's own round trip, the floor
# under any edit view.
BARE_APP = """
import streamlit as st

@st.fragment
def view():
    n = st.session_state.get("n", 0)
    if st.button("press", key="press"):
        n += 1
        st.session_state["n"] = n
    st.caption(f"pressed {n}")

view()
"""

# The click and the moment the new count shows, both stamped inside the page.
BARE_HOOK = """
() => {
  window.__clicks = []; window.__shown = [];
  document.addEventListener('click', () => window.__clicks.push(performance.now()), true);
  let last = document.body.innerText.match(/pressed (\\d+)/)[1];
  new MutationObserver(() => {
    const m = document.body.innerText.match(/pressed (\\d+)/);
    if (m && m[1] !== last) { last = m[1]; window.__shown.push(performance.now()); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""

#: the titles of the page's canvas views (they draw their title on the canvas)
TITLES = """[...document.querySelectorAll('iframe')].map((f) => {
  try { return (f.contentDocument && f.contentDocument.body.dataset.title) || ''; }
  catch (e) { return ''; } })"""


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank)."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[
        min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)
    ]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def models_and_data(tmp: Path) -> tuple[dict[str, str], str]:
    """Environment pointing at the models to time, and a description of them."""
    from diano import MODEL_NAMES
    from diano.checkpoints import checkpoint_path, default_root
    from diano.data import samples_dir
    from diano.reporting import portable_path

    root = default_root()
    shipped = [
        m for m in MODEL_NAMES if checkpoint_path("cylinder2d", m, "temporal", root).is_file()
    ]
    if "diano" in shipped and any(samples_dir().glob("cylinder2d_*.h5")):
        return {}, (
            f"the checkpoints in `{portable_path(default_root())}` ({', '.join(shipped)}) and "
            f"the samples in `{portable_path(samples_dir())}`"
        )
    fixture = _load(REPO / "scripts" / "make_fixture_checkpoints.py", "fixture")
    ckpt, samples = fixture.make_fixture(tmp, n=128, n_times=80, size="default")
    env = {"DIANO_CHECKPOINT_DIR": str(ckpt), "DIANO_SAMPLES_DIR": str(samples)}
    return env, (
        "random-weight models at the default (shipped) size — trained checkpoints are not in "
        "`checkpoints/` yet — on a synthetic 128×128 vortex street"
    )


def server_side(env: dict[str, str], runs: int) -> list[dict]:
    """Per model: step + decode, and the editor's server work (edit, decode, figures, JSON)."""
    os.environ.update(env)
    from diano import MODEL_NAMES
    from diano.checkpoints import load_pretrained
    from diano.data import load

    case = load("cylinder2d")[0]
    rows = []
    for name in MODEL_NAMES:
        model = load_pretrained("cylinder2d", name, "temporal")
        rows.append(_time_model(name, model, case, runs))
    return rows


def _time_model(name: str, model: torch.nn.Module, case, runs: int) -> dict:
    import json

    from diano.explore import readable_region
    from diano.latent_edit import GaussianBump, LatentGrid
    from diano.viz import Panel
    from diano.viz.canvas import grid_spec, panels_spec

    x, y = case.coords["x"], case.coords["y"]
    u = case.torch(model.config.in_channels)[:1]
    shape = tuple(u.shape[2:])
    with torch.inference_mode():
        z = model.encode(u)
        step_decode = [
            _timed(lambda: model.decode(model.step(z), output_shape=shape)) for _ in range(runs)
        ]
    row = {
        "name": name,
        "params": model.n_parameters,
        "latent": "×".join(map(str, z.shape[1:])),
        "step_decode": percentiles(step_decode[2:]),
    }
    if z.dim() != 4:
        return row
    grid = LatentGrid.from_coords(z.shape[-2:], x, y)
    region = readable_region(grid, case.mask, x, y)
    # the editor decodes onto at most 64 cells a side (its "full resolution" toggle off)
    live = tuple(max(1, round(n * 64 / max(shape))) for n in shape)
    yl, xl = LatentGrid.from_coords(live, x, y).centres()
    with torch.inference_mode():
        before = model.decode(z, output_shape=live)[0, 0].numpy()

    def editor_work() -> None:
        edited = GaussianBump(3.0, 0.5, 0.75, 1.0).apply(z, grid)
        with torch.inference_mode():
            after = model.decode(edited, output_shape=live)[0, 0].numpy()
        panels = [
            Panel("before", before, xl, yl),
            Panel("after", after, xl, yl),
            Panel("difference", after - before, xl, yl),
        ]
        json.dumps(grid_spec(edited[0, 0].numpy(), grid, region=region))
        json.dumps(panels_spec(panels))

    row["editor"] = percentiles([_timed(editor_work) for _ in range(runs)][2:])
    return row


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def browser_side(env: dict[str, str], edits: int) -> dict[str, list[float]]:
    """Click-to-figure latencies of latent edits (fragment) and of full-page reruns."""
    sys.path.insert(0, str(REPO / "tests" / "browser"))
    from conftest import CHROMIUM_ARGS, free_port, start_server, stop_server
    from playwright.sync_api import sync_playwright

    full_env = dict(os.environ, **env)  # the app sets its own thread count
    port = free_port()
    proc = start_server(full_env, port)
    out: dict[str, list[float]] = {"edit": [], "page": [], "first": [], "last": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1400})
            page.set_default_timeout(60_000)
            page.add_init_script(WS_STAMPS)
            page.goto(f"http://127.0.0.1:{port}/latent_editor")
            page.get_by_role("heading", name="Latent editor").wait_for()
            page.wait_for_function(f"() => ({TITLES}).some((t) => t.includes('edit(s) in effect'))")
            page.wait_for_timeout(1500)
            page.evaluate(HOOK)
            grid = page.frame_locator('iframe[title="diano.ui.canvas.fieldcanvas"]').first
            for k in range(edits):
                name = "undo" if k % 4 == 3 else "apply"  # 3 new latents to decode, 1 undo
                n_titles = page.evaluate("() => window.__titles.length")
                grid.get_by_role("button", name=name, exact=True).click()
                page.wait_for_function(f"() => window.__titles.length > {n_titles}")
                t_click = page.evaluate("() => window.__clicks[window.__clicks.length - 1][0]")
                t_title = page.evaluate("() => window.__titles[window.__titles.length - 1][0]")
                out["edit"].append(t_title - t_click)
                got = page.evaluate(f"() => window.__ws.filter((t) => t > {t_click})")
                got = [t for t in got if t <= t_title]
                if got:
                    out["first"].append(got[0] - t_click)
                    out["last"].append(got[-1] - t_click)
                page.wait_for_timeout(150)
            # full-page rerun: the frame slider resets the editor, so its title changes too
            n_titles = page.evaluate("() => window.__titles.length")
            grid.get_by_role("button", name="reset", exact=True).click()
            page.wait_for_function(f"() => window.__titles.length > {n_titles}")
            slider = page.locator('[data-testid="stSlider"]').filter(has_text="frame to edit")
            thumb = slider.get_by_role("slider").first
            for k in range(max(edits // 4, 5)):
                grid.get_by_role("button", name="apply", exact=True).click()
                page.wait_for_function(
                    "() => (window.__titles.at(-1) || [0, ''])[1].includes(' 1 edit(s)')"
                )
                page.wait_for_timeout(300)
                n_titles = page.evaluate("() => window.__titles.length")
                thumb.focus()
                t0 = page.evaluate("() => performance.now()")
                thumb.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
                page.wait_for_function(f"() => window.__titles.length > {n_titles}")
                t1 = page.evaluate("() => window.__titles.at(-1)[0]")
                out["page"].append(t1 - t0)
                page.wait_for_timeout(300)
            browser.close()
    finally:
        stop_server(proc)
    return out


def bare_fragment(presses: int) -> list[float]:
    """Click-to-text latencies of :data:`BARE_APP` (Streamlit's round trip alone)."""
    sys.path.insert(0, str(REPO / "tests" / "browser"))
    from conftest import CHROMIUM_ARGS, free_port
    from playwright.sync_api import sync_playwright

    out: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "bare.py"
        app.write_text(BARE_APP)
        port = free_port()
        cmd = [
            sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--server.fileWatcherType", "none",
            "--runner.postScriptGC", "false",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page()
                page.set_default_timeout(60_000)
                for _ in range(60):  # the server takes a few seconds to start
                    try:
                        page.goto(f"http://127.0.0.1:{port}/")
                        break
                    except Exception:  # noqa: BLE001 (not listening yet)
                        time.sleep(1)
                page.get_by_text("pressed 0").wait_for()
                page.wait_for_timeout(1000)
                page.evaluate(BARE_HOOK)
                for k in range(presses):
                    page.get_by_role("button", name="press").click()
                    page.wait_for_function(f"() => window.__shown.length > {k}")
                    t0, t1 = page.evaluate(f"() => [window.__clicks[{k}], window.__shown[{k}]]")
                    out.append(t1 - t0)
                    page.wait_for_timeout(150)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return out


SHOT_HEIGHT = 4400
SHOTS = {
    "overview": ("", "DIANO Explorer", None),
    "explore": ("explore", "Explore in time", "explore"),
    "latent_editor": ("latent_editor", "Latent editor", "editor"),
    # the playground marches a bump applied in the editor (one session: the sidebar link)
    "playground": ("latent_editor", "Latent editor", "playground"),
    "compare": ("compare", "Compare models", "compare"),
    "stenosis": ("stenosis", "Stenosis", "stenosis"),
    "vessel3d": ("vessel3d", "3D vessel", "vessel3d"),
}


def screenshots(
    env: dict[str, str], out: Path, width: int = 1100, pages: list[str] | None = None
) -> list[Path]:
    """Save a screenshot of every page (or of ``pages``, keys of :data:`SHOTS`) to
    ``out/app_<page>.png`` (256-colour PNG, ``width`` pixels wide)."""
    from PIL import Image

    sys.path.insert(0, str(REPO / "tests" / "browser"))
    from conftest import CHROMIUM_ARGS, free_port, start_server, stop_server
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = start_server(dict(os.environ, **env), port)
    saved = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            # tall enough for the longest page (the 3D vessel's scenes, slices and latent view)
            page = browser.new_page(viewport={"width": 1500, "height": SHOT_HEIGHT})
            page.set_default_timeout(90_000)
            for name, (path, heading, action) in SHOTS.items():
                if pages and name not in pages:
                    continue
                page.goto(f"http://127.0.0.1:{port}/{path}")
                page.get_by_role("heading", name=heading).first.wait_for()
                page.locator(".js-plotly-plot").first.wait_for()
                page.wait_for_timeout(2500)
                _prepare(page, action)
                target = out / f"app_{name}.png"
                # the page scrolls inside Streamlit's main block: clip to its content
                bottom = page.evaluate(
                    "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                    ".getBoundingClientRect().bottom"
                )
                page.screenshot(
                    path=str(target),
                    clip={"x": 0, "y": 0, "width": 1500, "height": min(bottom + 20, SHOT_HEIGHT)},
                )
                image = Image.open(target).convert("RGB")
                image = image.resize(
                    (width, round(image.height * width / image.width)), Image.Resampling.LANCZOS
                )
                # an octree palette keeps the colour scales' hues (median cut shifts them)
                palette = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
                palette.save(target, optimize=True)
                saved.append(target)
            browser.close()
    finally:
        stop_server(proc)
    return saved


def _idle(page) -> None:
    page.wait_for_timeout(600)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    page.wait_for_timeout(1500)


def _prepare(page, action: str | None) -> None:
    """Put a page in a state worth a picture."""
    if action == "explore":
        page.get_by_role("radiogroup").get_by_text("latent-only rollout", exact=True).click()
        _idle(page)
        page.locator(".updatemenu-button").filter(has_text="play").first.click()
        page.wait_for_timeout(2500)
        page.locator(".updatemenu-button").filter(has_text="pause").first.click()
        page.wait_for_timeout(800)
    elif action == "stenosis":
        page.get_by_role("button", name="step ×10").click()
        page.get_by_text("10 step(s) marched").wait_for()
        _idle(page)
    elif action == "vessel3d":
        canvas = page.frame_locator("iframe#stpyvistaframe").first.locator("canvas").first
        canvas.wait_for()
        _idle(page)
        page.wait_for_timeout(2500)  # vtk.js draws after the scene has loaded
    elif action == "editor":
        grid = page.frame_locator('iframe[title="diano.ui.canvas.fieldcanvas"]').first
        grid.get_by_role("button", name="apply", exact=True).click()
        _idle(page)
    elif action == "playground":
        _prepare(page, "editor")
        page.get_by_role("link", name="Solver playground").click()
        page.get_by_role("heading", name="Solver playground").first.wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        _idle(page)
        page.get_by_role("radiogroup").get_by_text("edited latent, same settings").click()
        _idle(page)
        for _ in range(3):
            page.get_by_role("button", name="step ×10").click()
            _idle(page)
    elif action == "compare":
        thumb = page.locator('[data-testid="stSlider"]').filter(has_text="time cursor")
        thumb.get_by_role("slider").first.focus()
        for _ in range(6):
            thumb.get_by_role("slider").first.press("ArrowRight")
        _idle(page)


def render(latency: dict, rows: list[dict], what: str, args: argparse.Namespace) -> str:
    p50, p95 = percentiles(latency["edit"])
    page50, page95 = percentiles(latency["page"])
    verdict = "met" if p95 <= TARGET_MS else "not met"
    ms = "{:.1f} / {:.1f}".format
    lines = [
        "## App: latent edit to updated figure (browser) and step + decode (server)",
        "",
        f"Measured by `bench/bench_app.py` on {dt.date.today().isoformat()}, {os.cpu_count()} "
        f"CPU cores, torch {torch.__version__}, load average {os.getloadavg()[0]:.2f} at the "
        f"end; models: {what}. Browser: Debian chromium (headless, Playwright) on the Latent "
        "editor page; latency from the click on *apply* / *undo* to the moment the decoded "
        "view has drawn its new title, both stamped inside the page with `performance.now()`; "
        "three clicks in four apply one more Gaussian bump (a new latent to decode), the "
        "fourth undoes one. The app gives torch one core fewer than the machine has "
        f"({interactive_threads()} thread(s) here, `diano.device.interactive_threads`), "
        "leaving a core to the server's event loop and the browser. "
        "The edit view (latent grid with the edit buttons, decoded fields) is an `st.fragment` "
        "inside the tool widgets' fragment, so an edit reruns only the view: a click on a "
        "button of the grid view is that component's value, and the rerun sends one element, "
        "the component that draws the grid and the decoded fields side by side. Both views "
        "are canvases (`diano/ui/frontend/fieldcanvas`), "
        "which draw in 2–6 ms where plotly took 150–250 ms; Streamlit's garbage collection "
        "after each run is off (`.streamlit/config.toml`), which had held the finished deltas "
        "on the server for 100–400 ms. The stages come from the page's websocket messages; "
        "the last row is Streamlit's own round trip (a fragment with one button and one line "
        "of text, click to text changed), the floor under any view.",
        "",
        "| in the browser | runs | median (ms) | p95 (ms) |",
        "|---|---:|---:|---:|",
        f"| latent edit → decoded view redrawn (fragment rerun) | {len(latency['edit'])} "
        f"| {p50:.0f} | {p95:.0f} |",
        *[
            f"| — of which: click → {label} | {len(latency[key])} | "
            + " | ".join(f"{v:.0f}" for v in percentiles(latency[key]))
            + " |"
            for key, label in (
                ("first", "the server's first message (rerun started)"),
                ("last", "the server's last message (rerun finished)"),
            )
            if latency.get(key)
        ],
        f"| for comparison: frame slider → page updated (full-page rerun) | "
        f"{len(latency['page'])} | {page50:.0f} | {page95:.0f} |",
        *(
            [
                "| for comparison: bare Streamlit fragment, button → text updated "
                f"| {len(latency['bare'])} | "
                + " | ".join(f"{v:.0f}" for v in percentiles(latency["bare"]))
                + " |"
            ]
            if latency.get("bare")
            else []
        ),
        "",
        f"Target: p95 ≤ {TARGET_MS:.0f} ms on 2 CPU cores — **{verdict}** (p95 {p95:.0f} ms).",
        "",
        f"Server side, median / p95 in ms over {args.runs - 2} runs (batch 1, one frame, 128×128):",
        "",
        "| model | parameters | latent | step + decode "
        "| editor work: edit + decode (64×64) + canvas specs + JSON |",
        "|---|---:|---|---:|---:|",
    ]
    for r in rows:
        editor = ms(*r["editor"]) if "editor" in r else "— (vector latent)"
        step = ms(*r["step_decode"])
        lines.append(f"| {r['name']} | {r['params']:,} | {r['latent']} | {step} | {editor} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40, help="latent edits timed in the browser")
    parser.add_argument("--runs", type=int, default=22, help="server-side repetitions")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    parser.add_argument(
        "--screenshots", type=Path, default=None,
        help="only save a screenshot of every page to this folder (e.g. docs/img)",
    )  # fmt: skip
    parser.add_argument(
        "--pages", nargs="*", choices=sorted(SHOTS), default=None,
        help="with --screenshots: only these pages",
    )  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.screenshots is not None:
        with tempfile.TemporaryDirectory() as tmp:
            env, _ = models_and_data(Path(tmp))
            for path in screenshots(env, args.screenshots, pages=args.pages):
                print(path, f"{path.stat().st_size / 1e3:.0f} kB")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        env, what = models_and_data(Path(tmp))
        latency = browser_side(env, args.edits)
        latency["bare"] = bare_fragment(args.edits)
        rows = server_side(env, args.runs)
    section = render(latency, rows, what, args)
    print(section)
    if not args.no_write:
        write_section(args.out, "bench_app", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
