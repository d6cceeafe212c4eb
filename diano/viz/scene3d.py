"""PyVista scene builders for the 3D vessel view: arrays in, meshes or a ``pv.Plotter`` out.

Arrays are in tensor order ``(D, H, W) = (z, y, x)`` on cell centres with 1-D coordinates
``coords = (z, y, x)``; pyvista's ``ImageData`` runs x fastest, which is C order of such an
array, so ``array.ravel()`` is its point order. Nothing here imports streamlit; the app shows
the plotter with ``diano.ui.scene.show_scene``.

* :func:`vessel_surface`: the lumen wall, a contour of the mask padded with solid so the
  inlet and outlet faces close it;
* :func:`pressure_volume`, :func:`slice_planes`, :func:`isosurfaces`: pressure on the grid,
  three orthogonal slices and isosurfaces, both cut to the fluid;
* :func:`latent_lattice`, :func:`lattice_edges`, :func:`velocity_glyphs`, :func:`streamlines`;
* :func:`vessel_scene`: one linked sub-view per :class:`ScenePanel`, all with the same slice
  positions, isovalues and colour limits.

Off screen, VTK needs ``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` (set by ``app.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyvista as pv

#: colour maps of the pressure and of the latent pressure (its own units)
PRESSURE_CMAP = "viridis"
LATENT_CMAP = "plasma"
SURFACE_COLOUR = "#b8b8b8"
FLOW_COLOUR = "#303030"
Coords = Sequence[np.ndarray]


def _axis_geometry(coords: Coords) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Origin and spacing in pyvista's (x, y, z) order from ``(z, y, x)`` coordinates."""
    origin, spacing = [], []
    for c in reversed(coords):
        c = np.asarray(c, np.float64)
        origin.append(float(c[0]))
        spacing.append(float(c[1] - c[0]) if len(c) > 1 else 1.0)
    return tuple(origin), tuple(spacing)


def image_data(arrays: dict[str, np.ndarray], coords: Coords) -> pv.ImageData:
    """A uniform grid with each ``(D, H, W)`` array (or ``(3, D, H, W)`` vector) as point data."""
    shape = tuple(len(c) for c in coords)
    origin, spacing = _axis_geometry(coords)
    grid = pv.ImageData(dimensions=shape[::-1], origin=origin, spacing=spacing)
    for name, a in arrays.items():
        a = np.asarray(a, np.float32)
        if a.shape == (3, *shape):  # vector (u, v, w) = (x, y, z) components
            grid.point_data[name] = a.reshape(3, -1).T.copy()
        elif a.shape == shape:
            grid.point_data[name] = a.ravel()
        else:
            raise ValueError(f"array {name!r} has shape {a.shape}; the grid is {shape}")
    return grid


def vessel_surface(mask: np.ndarray, coords: Coords, smooth: int = 15) -> pv.PolyData:
    """The vessel wall: the 0.5 contour of the fluid ``mask``, padded with one solid layer on
    every side so the surface is closed at the inlet and outlet, lightly smoothed."""
    fluid = np.pad((np.asarray(mask) > 0).astype(np.float32), 1)
    padded = []
    for c in coords:
        c = np.asarray(c, np.float64)
        h = c[1] - c[0] if len(c) > 1 else 1.0
        padded.append(np.concatenate([[c[0] - h], c, [c[-1] + h]]))
    surface = image_data({"fluid": fluid}, padded).contour([0.5], scalars="fluid")
    if smooth and surface.n_points:
        surface = surface.smooth_taubin(n_iter=smooth, pass_band=0.1)
    return surface


def extend_into_solid(field: np.ndarray, mask: np.ndarray, layers: int = 2) -> np.ndarray:
    """``field`` with its solid cells next to the fluid filled by the mean of their fluid
    neighbours (``layers`` times), so interpolation at the wall sees fluid values only."""
    out = np.asarray(field, np.float32) * (np.asarray(mask) > 0)
    known = (np.asarray(mask) > 0).astype(np.float32)
    for _ in range(layers):
        total = np.zeros_like(out)
        count = np.zeros_like(out)
        for axis in range(3):
            for shift in (1, -1):
                total += np.roll(out * known, shift, axis)
                count += np.roll(known, shift, axis)
        fill = (known == 0) & (count > 0)
        out = np.where(fill, total / np.maximum(count, 1.0), out)
        known = np.where(fill, 1.0, known).astype(np.float32)
    return out


def pressure_volume(
    pressure: np.ndarray, mask: np.ndarray, coords: Coords, name: str = "p"
) -> pv.ImageData:
    """Grid with ``name`` (extended past the wall) and ``fluid`` (0/1) as point data."""
    fluid = (np.asarray(mask) > 0).astype(np.float32)
    return image_data({name: extend_into_solid(pressure, mask), "fluid": fluid}, coords)


def _inside(mesh: pv.DataSet) -> pv.PolyData:
    """The part of a mesh cut from a :func:`pressure_volume` that lies in the fluid."""
    if mesh.n_points == 0:
        return pv.PolyData()
    cut = mesh.clip_scalar(scalars="fluid", value=0.5, invert=False)
    return cut.extract_surface(algorithm=None) if not isinstance(cut, pv.PolyData) else cut


def slice_planes(
    volume: pv.ImageData, position: Sequence[float], axes: str = "xyz"
) -> dict[str, pv.PolyData]:
    """Orthogonal slices at ``position = (x, y, z)``, cut to the fluid: axis → mesh."""
    out = {}
    for axis in axes:
        i = "xyz".index(axis)
        normal = tuple(1.0 if j == i else 0.0 for j in range(3))
        origin = list(volume.center)
        origin[i] = float(position[i])
        out[axis] = _inside(volume.slice(normal=normal, origin=origin))
    return out


def isosurfaces(volume: pv.ImageData, levels: Iterable[float], name: str = "p") -> pv.PolyData:
    """Isosurfaces of ``name`` at ``levels``, cut to the fluid."""
    levels = [float(v) for v in levels]
    if not levels:
        return pv.PolyData()
    return _inside(volume.contour(levels, scalars=name))


def iso_levels(limits: Sequence[float], n: int) -> list[float]:
    """``n`` isovalues evenly inside the colour limits (ends excluded)."""
    lo, hi = float(limits[0]), float(limits[1])
    return [] if n <= 0 else list(np.linspace(lo, hi, n + 2)[1:-1])


def shared_limits(
    fields: Iterable[np.ndarray], mask: np.ndarray, quantile: float = 0.995
) -> tuple[float, float]:
    """Colour limits shared by ``fields`` over the fluid cells: the joint
    ``(1 - quantile, quantile)`` quantiles, so a few wall cells do not set the scale."""
    fluid = np.asarray(mask) > 0
    values = np.concatenate([np.asarray(f, np.float32)[fluid].ravel() for f in fields])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.quantile(values, [1.0 - quantile, quantile])
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


def latent_lattice(
    values: np.ndarray, fluid: np.ndarray, centres: Coords, name: str = "p_latent"
) -> pv.PolyData:
    """The fluid nodes of a latent ``(M, M, M)`` lattice as points at their physical
    ``centres (z, y, x)``, carrying ``values`` as ``name``."""
    fluid = np.asarray(fluid, bool)
    z, y, x = np.meshgrid(*centres, indexing="ij")
    points = np.stack([x[fluid], y[fluid], z[fluid]], axis=1).astype(np.float32)
    cloud = pv.PolyData(points)
    cloud.point_data[name] = np.asarray(values, np.float32)[fluid]
    return cloud


def lattice_edges(fluid: np.ndarray, centres: Coords) -> pv.PolyData:
    """The lattice's links between neighbouring fluid nodes (along z, y and x), as lines."""
    fluid = np.asarray(fluid, bool)
    z, y, x = np.meshgrid(*centres, indexing="ij")
    points = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1).astype(np.float32)
    index = np.arange(fluid.size).reshape(fluid.shape)
    lines = []
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        both = fluid[tuple(a)] & fluid[tuple(b)]
        lines.append(np.stack([index[tuple(a)][both], index[tuple(b)][both]], axis=1))
    pairs = np.concatenate(lines)
    if len(pairs) == 0:
        return pv.PolyData()
    cells = np.column_stack([np.full(len(pairs), 2), pairs]).ravel()
    return pv.PolyData(points, lines=cells).clean()


def velocity_glyphs(
    velocity: np.ndarray, mask: np.ndarray, coords: Coords, stride: int = 4
) -> pv.PolyData:
    """Arrows of ``velocity (3, D, H, W)`` on every ``stride``-th fluid node, scaled so the
    fastest is two strides long."""
    fluid = np.asarray(mask) > 0
    pick = np.zeros_like(fluid)
    pick[::stride, ::stride, ::stride] = True
    pick &= fluid
    z, y, x = np.meshgrid(*coords, indexing="ij")
    points = np.stack([x[pick], y[pick], z[pick]], axis=1).astype(np.float32)
    if len(points) == 0:
        return pv.PolyData()
    vectors = np.stack([np.asarray(velocity[i])[pick] for i in range(3)], axis=1)
    speed = np.linalg.norm(vectors, axis=1)
    cloud = pv.PolyData(points)
    cloud.point_data["velocity"] = vectors.astype(np.float32)
    cloud.point_data["speed"] = speed.astype(np.float32)
    h = float(np.asarray(coords[-1])[1] - np.asarray(coords[-1])[0])
    factor = 2.0 * stride * h / max(float(speed.max()), 1e-12)
    return cloud.glyph(orient="velocity", scale="speed", factor=factor, geom=pv.Arrow())


def streamlines(
    velocity: np.ndarray, mask: np.ndarray, coords: Coords, n_seeds: int = 40
) -> pv.PolyData:
    """Streamlines of ``velocity (3, D, H, W)`` seeded on fluid nodes of the inlet plane."""
    fluid = np.asarray(mask) > 0
    grid = image_data({"velocity": np.asarray(velocity) * fluid}, coords)
    column = min(1, fluid.shape[2] - 1)
    zi, yi = np.nonzero(fluid[:, :, column])
    if len(zi) == 0:
        return pv.PolyData()
    take = np.linspace(0, len(zi) - 1, min(n_seeds, len(zi))).astype(int)
    z, y, x = (np.asarray(c, np.float64) for c in coords)
    seeds = pv.PolyData(np.stack([np.full(len(take), x[column]), y[yi[take]], z[zi[take]]], 1))
    lines = grid.streamlines_from_source(
        seeds, vectors="velocity", integration_direction="forward", max_length=4.0 * x[-1] + 1
    )
    if lines.n_points:
        lines.point_data["speed"] = np.linalg.norm(lines.point_data["velocity"], axis=1)
    return lines


@dataclass(frozen=True)
class ScenePanel:
    """One sub-view of :func:`vessel_scene`.

    Attributes:
        title: text in the sub-view's corner (the trame export leaves text out; the app
            names the views beside the scene).
        pressure: ``(D, H, W)`` pressure to slice and contour, or ``None``.
        latent: ``(values (M, M, M), fluid (M, M, M), centres (z, y, x))`` of a latent
            lattice to draw inside the vessel (fluid nodes coloured by ``values``, linked to
            their fluid neighbours), or ``None``.
        velocity: draw the scene's velocity glyphs or streamlines in this sub-view.
    """

    title: str
    pressure: np.ndarray | None = None
    latent: tuple[np.ndarray, np.ndarray, Coords] | None = None
    velocity: bool = False


def vessel_scene(
    panels: Sequence[ScenePanel],
    mask: np.ndarray,
    coords: Coords,
    *,
    slice_at: Sequence[float] | None = None,
    slice_axes: str = "xyz",
    n_iso: int = 0,
    limits: Sequence[float] | None = None,
    latent_limits: Sequence[float] | None = None,
    vectors: str = "none",
    velocity: np.ndarray | None = None,
    surface_opacity: float = 0.25,
    window_size: tuple[int, int] | None = None,
    surface: pv.PolyData | None = None,
) -> pv.Plotter:
    """Linked sub-views of a vessel, one per panel, sharing slices, isovalues and colours.

    Args:
        panels: what each sub-view shows.
        mask: fluid mask ``(D, H, W)``; coords: ``(z, y, x)`` cell centres.
        slice_at: ``(x, y, z)`` of the three orthogonal slice planes (default the centre).
        slice_axes: which of the planes to draw.
        n_iso: isosurfaces per pressure panel (0 for none).
        limits: colour limits of the pressure (default :func:`shared_limits` of the panels).
        latent_limits: colour limits of the latent lattice values.
        vectors: ``"none"``, ``"glyphs"`` or ``"streamlines"`` of ``velocity (3, D, H, W)``,
            drawn in the panels with ``velocity=True``.
        surface_opacity: opacity of the vessel wall.
        window_size: pixels; default 520 × 380 per view, two views a row from three on.
        surface: a prebuilt :func:`vessel_surface` (it depends on the mask only).
    """
    if not panels:
        raise ValueError("a vessel scene needs at least one panel")
    if vectors not in ("none", "glyphs", "streamlines"):
        raise ValueError(f"vectors is 'none', 'glyphs' or 'streamlines', got {vectors!r}")
    pressures = [p.pressure for p in panels if p.pressure is not None]
    limits = (
        tuple(limits)
        if limits is not None
        else (shared_limits(pressures, mask) if pressures else (0.0, 1.0))
    )
    if slice_at is None:
        slice_at = tuple(float(np.mean(c)) for c in reversed(coords))
    surface = vessel_surface(mask, coords) if surface is None else surface
    flow = None
    if vectors != "none" and velocity is not None:
        build = velocity_glyphs if vectors == "glyphs" else streamlines
        flow = build(velocity, mask, coords)
    # one row for up to two views, else two columns: each view stays wider than tall, as
    # the vessel (along x) is
    cols = len(panels) if len(panels) <= 2 else 2
    rows = -(-len(panels) // cols)
    window = window_size or (520 * cols, 380 * rows)
    plotter = pv.Plotter(off_screen=True, shape=(rows, cols), window_size=window, border=False)
    plotter.set_background("white")
    levels = iso_levels(limits, n_iso)
    h = float(np.asarray(coords[-1])[1] - np.asarray(coords[-1])[0])
    for k, panel in enumerate(panels):
        plotter.subplot(k // cols, k % cols)
        plotter.add_text(panel.title, font_size=10, color="black", position="upper_left")
        if surface.n_points:
            plotter.add_mesh(surface, color=SURFACE_COLOUR, opacity=surface_opacity)
        if panel.pressure is not None:
            volume = pressure_volume(panel.pressure, mask, coords)
            style = {
                "scalars": "p",
                "clim": limits,
                "cmap": PRESSURE_CMAP,
                "show_scalar_bar": False,
            }
            # one actor for the three planes: the export serialises every actor on its own
            planes = [m for m in slice_planes(volume, slice_at, slice_axes).values() if m.n_points]
            if planes:
                plotter.add_mesh(pv.merge(planes), **style)
            iso = isosurfaces(volume, levels)
            if iso.n_points:
                plotter.add_mesh(iso, opacity=0.45, **style)
        if panel.latent is not None:
            values, fluid, centres = panel.latent
            nodes = latent_lattice(values, fluid, centres)
            if nodes.n_points:
                spacing = float(np.asarray(centres[-1])[1] - np.asarray(centres[-1])[0])
                ball = pv.Sphere(
                    radius=0.22 * max(spacing, h), theta_resolution=10, phi_resolution=10
                )
                glyphs = nodes.glyph(geom=ball, scale=False, orient=False)
                lat = (
                    tuple(latent_limits)
                    if latent_limits is not None
                    else shared_limits([values], fluid)
                )
                links = lattice_edges(fluid, centres)
                if links.n_points:
                    plotter.add_mesh(links, color=FLOW_COLOUR, line_width=1, opacity=0.6)
                plotter.add_mesh(
                    glyphs, scalars="p_latent", clim=lat, cmap=LATENT_CMAP, show_scalar_bar=False
                )
        if flow is not None and panel.velocity and flow.n_points:
            plotter.add_mesh(flow, color=FLOW_COLOUR)
        # look from the side (-y) and a little above, so the vessel (along x) runs across
        plotter.view_vector((0.35, -1.0, 0.6), viewup=(0.0, 0.0, 1.0))
        plotter.reset_camera()
        plotter.camera.zoom(1.5)  # off-screen pictures; the browser view fits the scene itself
    if len(panels) > 1:
        plotter.link_views()  # one camera: the views turn together
    return plotter
