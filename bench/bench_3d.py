"""Time to build and show the 3D vessel page's 64³ scene (target ≤ 1.5 s on 2 CPU cores).

What the page does when a scene input changes (``diano.ui.vessel3d`` → ``diano.ui.scene``):

1. build: :func:`diano.viz.scene3d.vessel_scene`: per view (truth, DIANO, CNO, CNN-AE) the
   pressure on the grid, three orthogonal slices and two isosurfaces cut to the fluid, the
   vessel wall (built once per case and display resolution, timed separately);
2. show: stpyvista's trame export of the plotter to a self-contained vtk.js page, in a
   forked subprocess as stpyvista runs it (``Plotter.export_html`` through a
   ``multiprocessing.Process`` and ``Queue``), which Streamlit then sends to the browser.

The model maps are computed once per model and case and cached, so they are not part of a
scene change; they are timed on their own (random weights at the default ``coronary3d``
size; weights do not change the cost). The case is the first committed ``coronary3d``
sample when there is one, otherwise a synthetic 64³ tube (:mod:`diano.explore.synthetic`);
model views use the truth scaled, since only the geometry of the fields matters here.

The section between the ``bench_3d`` markers of ``docs/benchmarks.md`` is replaced::

    .venv/bin/python bench/bench_3d.py             # writes docs/benchmarks.md
    .venv/bin/python bench/bench_3d.py --no-write  # prints the section only
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from multiprocessing import Process, Queue
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diano.reporting import cpu_name, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
TARGET_S = 1.5


def _export(queue: Queue, plotter) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # export_html is deprecated; stpyvista calls it
        queue.put(plotter.export_html(filename=None).read())


def trame_html(plotter) -> str:
    """stpyvista's trame export (``stpyvista.trame_backend._trame_html``), which cannot be
    imported outside a Streamlit run."""
    queue: Queue = Queue(maxsize=1)
    process = Process(target=_export, args=(queue, plotter))
    process.start()
    html = queue.get()
    process.join()
    return html


def load_case() -> tuple[np.ndarray, np.ndarray, list[np.ndarray], str]:
    """``(fields (4, D, H, W), mask, coords (z, y, x), description)``."""
    from diano.data import load

    files = sorted((REPO / "data" / "samples").glob("coronary3d_*.h5"))
    if files:
        case = load(files[0])
        fields = np.stack([case.fields[0, case.channels.index(c)] for c in "uvwp"])
        coords = [np.asarray(case.coords[a]) for a in "zyx"]
        return fields, case.mask, coords, f"committed sample `{files[0].name}`"
    from diano.explore.synthetic import vessel_tube

    tube = vessel_tube(64)
    coords = [np.asarray(tube["coords"][a][0]) for a in "zyx"]
    return tube["fields"][0], tube["mask"], coords, "synthetic 64³ tube (no committed sample yet)"


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    """First call and the following ``repeats`` calls, in seconds."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, times


def measure(repeats: int) -> str:
    from diano.explore.vessel import downsample, downsample_mask, map_pressure
    from diano.models.presets import default_config
    from diano.models.registry import build_model
    from diano.viz.scene3d import ScenePanel, shared_limits, vessel_scene, vessel_surface

    torch.set_num_threads(2)
    load_start = os.getloadavg()[0]
    fields, mask, coords, source = load_case()
    p = fields[3]
    rows = []

    def scene_row(label: str, factor: int, n_views: int, vectors: str, n_iso: int = 2) -> None:
        m = downsample_mask(mask, factor)
        c = [a.reshape(-1, factor).mean(axis=1) for a in coords]
        views = [downsample(p * s, mask, factor) for s in (1.0, 0.95, 1.05, 0.9)[:n_views]]
        velocity = downsample(fields[:3], mask, factor)
        surface = vessel_surface(m, c)
        panels = [ScenePanel(f"view {i}", v, velocity=i == 0) for i, v in enumerate(views)]
        limits = shared_limits(views, m)
        build_s, show_s, total_s = [], [], []

        def once() -> None:
            t0 = time.perf_counter()
            plotter = vessel_scene(
                panels,
                m,
                c,
                n_iso=n_iso,
                limits=limits,
                vectors=vectors,
                velocity=velocity,
                surface=surface,
            )
            t1 = time.perf_counter()
            html = trame_html(plotter)
            t2 = time.perf_counter()
            plotter.close()
            assert len(html) > 100_000
            build_s.append(t1 - t0)
            show_s.append(t2 - t1)
            total_s.append(t2 - t0)

        first, _ = timed(once, repeats)
        med = statistics.median(total_s[1:])
        build, show = statistics.median(build_s[1:]), statistics.median(show_s[1:])
        rows.append(
            f"| {label} | {build:.2f} | {show:.2f} | **{med:.2f}** | {max(total_s[1:]):.2f} | "
            f"{first:.2f} | "
            f"{'yes' if med <= TARGET_S else 'no'} |"
        )

    n = mask.shape[-1]
    surface_first, surface_times = timed(lambda: vessel_surface(mask, coords), repeats)
    scene_row(f"{n}³, 4 views, 3 slices + 2 isosurfaces (page default)", 1, 4, "none")
    scene_row(f"{n}³, 4 views, + streamlines", 1, 4, "streamlines")
    scene_row(f"{n}³, truth only (no checkpoints)", 1, 1, "none")
    scene_row(f"{n // 2}³ display (×2 down-sampled), 4 views", 2, 4, "none")

    maps = []
    velocity = fields[:3]
    for name in ("diano", "cno", "cnn_ae"):
        model = build_model(name, default_config(name, "coronary3d", "many_to_one")).eval()
        first, times = timed(lambda model=model: map_pressure(model, velocity, mask), 2)
        maps.append(f"{name} {statistics.median(times):.2f} s (first {first:.2f} s)")
    load_end = os.getloadavg()[0]
    header = (
        f"Measured by `bench/bench_3d.py` on {dt.date.today().isoformat()}: {cpu_name()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, `torch.set_num_threads(2)`; load "
        f"average {load_start:.2f} at the start and {load_end:.2f} at the end (other jobs "
        f"share this machine). Case: {source}. Seconds, median of {repeats} scene changes "
        "after the first call of each kind (the process's first plotter also pays VTK's "
        "start-up); *build* is `vessel_scene`, *show* stpyvista's trame export in its "
        "subprocess; the browser then draws the vtk.js page (about 1.3 MB)."
    )
    table = "\n".join(
        [
            "| scene | build | show (export) | build + show | max | first call | ≤ 1.5 s |",
            "|---|---:|---:|---:|---:|---:|:-:|",
            *rows,
        ]
    )
    extra = (
        f"The vessel wall (contour of the mask, smoothed) takes "
        f"{statistics.median(surface_times) * 1e3:.0f} ms and is built once per case and display "
        f"resolution. Model maps (velocity → pressure, once per model and case, cached): "
        + "; ".join(maps)
        + ". A rerun that does not change the scene re-sends the cached page (no build, no "
        "export)."
    )
    return "\n\n".join(["## 3D vessel scene (64³)", header, table, extra])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="scene changes per row")
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    body = measure(args.repeats)
    print(body)
    if not args.no_write:
        write_section(DOC, "bench_3d", body)
        print(f"wrote the bench_3d section of {DOC}")


if __name__ == "__main__":
    main()
