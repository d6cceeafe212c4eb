"""PyVista scene builders: the wall is closed, slices sit where asked, colours are shared."""

from __future__ import annotations

import numpy as np
import pytest

from diano.explore.synthetic import vessel_tube
from diano.viz.scene3d import (
    ScenePanel,
    image_data,
    iso_levels,
    isosurfaces,
    latent_lattice,
    pressure_volume,
    shared_limits,
    slice_planes,
    streamlines,
    velocity_glyphs,
    vessel_scene,
    vessel_surface,
)


@pytest.fixture(scope="module")
def tube() -> dict:
    case = vessel_tube(32)
    coords = [np.asarray(case["coords"][a][0]) for a in ("z", "y", "x")]
    return {"fields": case["fields"][0], "mask": case["mask"], "coords": coords}


def test_image_data_puts_array_index_zyx_at_point_xyz(tube) -> None:
    a = np.random.default_rng(0).normal(size=(4, 5, 6)).astype(np.float32)
    coords = [np.arange(4) * 0.5, np.arange(5) * 0.5, np.arange(6) * 0.5]
    grid = image_data({"a": a}, coords)
    k, j, i = 3, 1, 4  # z, y, x
    point = grid.find_closest_point((coords[2][i], coords[1][j], coords[0][k]))
    assert grid.point_data["a"][point] == a[k, j, i]


def test_vessel_surface_is_closed_and_wraps_the_fluid(tube) -> None:
    surface = vessel_surface(tube["mask"], tube["coords"])
    assert surface.n_points > 500 and surface.n_cells > 500
    assert surface.n_open_edges == 0  # padded with solid: closed at the inlet and outlet too
    z, y, x = tube["coords"]
    bounds = surface.bounds
    fluid = np.nonzero(tube["mask"])
    h = x[1] - x[0]
    assert bounds[0] <= x[fluid[2]].min() and bounds[1] >= x[fluid[2]].max() - h
    assert bounds[2] >= y[0] - 2 * h and bounds[3] <= y[-1] + 2 * h


def test_slices_are_at_the_requested_positions_and_inside_the_fluid(tube) -> None:
    volume = pressure_volume(tube["fields"][3], tube["mask"], tube["coords"])
    position = (1.1, 0.05, -0.1)
    planes = slice_planes(volume, position)
    assert set(planes) == {"x", "y", "z"}
    for axis, mesh in planes.items():
        i = "xyz".index(axis)
        assert mesh.n_points > 0
        lo, hi = mesh.bounds[2 * i], mesh.bounds[2 * i + 1]
        assert lo == pytest.approx(position[i], abs=1e-5)
        assert hi == pytest.approx(position[i], abs=1e-5)
        assert mesh.point_data["fluid"].min() >= 0.5 - 1e-6  # cut to the fluid
    only_x = slice_planes(volume, position, axes="x")
    assert set(only_x) == {"x"}


def test_isosurfaces_lie_at_their_levels(tube) -> None:
    p = tube["fields"][3]
    volume = pressure_volume(p, tube["mask"], tube["coords"])
    levels = iso_levels(shared_limits([p], tube["mask"]), 2)
    assert len(levels) == 2
    iso = isosurfaces(volume, levels)
    assert iso.n_points > 0
    values = np.asarray(iso.point_data["p"])
    near = np.min(np.abs(values[:, None] - np.asarray(levels)[None]), axis=1)
    assert np.all(near < 1e-3 * (abs(levels[1] - levels[0]) + 1))
    assert isosurfaces(volume, []).n_points == 0


def test_shared_limits_cover_every_field_over_the_fluid(tube) -> None:
    p, mask = tube["fields"][3], tube["mask"]
    lo, hi = shared_limits([p, 2 * p], mask, quantile=1.0)
    fluid = mask > 0
    assert lo == pytest.approx(min(p[fluid].min(), 2 * p[fluid].min()))
    assert hi == pytest.approx(max(p[fluid].max(), 2 * p[fluid].max()))
    assert shared_limits([np.zeros_like(p)], mask) == (-0.5, 0.5)


def test_latent_lattice_has_one_point_per_fluid_node() -> None:
    fluid = np.zeros((4, 4, 4), bool)
    fluid[1:3, 2, :] = True
    values = np.arange(64, dtype=np.float32).reshape(4, 4, 4)
    centres = [np.linspace(0, 1, 4)] * 3
    cloud = latent_lattice(values, fluid, centres)
    assert cloud.n_points == fluid.sum()
    assert sorted(cloud.point_data["p_latent"]) == sorted(values[fluid])


def test_velocity_glyphs_and_streamlines_follow_the_flow(tube) -> None:
    velocity, mask, coords = tube["fields"][:3], tube["mask"], tube["coords"]
    glyphs = velocity_glyphs(velocity, mask, coords, stride=4)
    assert glyphs.n_points > 0
    lines = streamlines(velocity, mask, coords, n_seeds=10)
    assert lines.n_points > 0
    # seeded on the inlet, the lines travel down the tube (+x)
    assert lines.bounds[1] - lines.bounds[0] > 0.5 * (coords[2][-1] - coords[2][0])


def test_vessel_scene_links_views_with_one_colour_scale(tube) -> None:
    p, mask, coords = tube["fields"][3], tube["mask"], tube["coords"]
    limits = (-1.0, 2.0)
    panels = [ScenePanel("truth", p, velocity=True), ScenePanel("model", 0.5 * p)]
    plotter = vessel_scene(
        panels, mask, coords, n_iso=2, limits=limits, vectors="glyphs", velocity=tube["fields"][:3]
    )
    try:
        assert plotter.shape == (1, 2)
        ranges = []
        for renderer in plotter.renderers:
            actors = list(renderer.actors.values())
            assert len(actors) >= 4  # wall, slices, isosurfaces (+ glyphs)
            for actor in actors:
                mapper = actor.GetMapper()
                if mapper is not None and mapper.GetScalarVisibility():
                    ranges.append(tuple(mapper.GetScalarRange()))
        # slices and isosurfaces of every panel use the same colour limits
        assert ranges and all(r == pytest.approx(limits) for r in ranges)
        cams = [r.camera for r in plotter.renderers]
        assert cams[0] is cams[1]  # linked views share one camera
    finally:
        plotter.close()


def test_vessel_scene_draws_a_latent_lattice_and_rejects_bad_input(tube) -> None:
    mask, coords = tube["mask"], tube["coords"]
    fluid = np.ones((4, 4, 4), bool)
    centres = [c.reshape(4, -1).mean(axis=1) for c in coords]
    panel = ScenePanel("latent", latent=(np.random.default_rng(1).normal(size=(4,) * 3), fluid,
                                         centres))  # fmt: skip
    plotter = vessel_scene([panel], mask, coords, latent_limits=(-1, 1))
    try:
        assert len(plotter.renderer.actors) >= 2
    finally:
        plotter.close()
    with pytest.raises(ValueError, match="at least one panel"):
        vessel_scene([], mask, coords)
    with pytest.raises(ValueError, match="vectors"):
        vessel_scene([panel], mask, coords, vectors="arrows")


def test_lattice_edges_join_neighbouring_fluid_nodes() -> None:
    from diano.viz.scene3d import lattice_edges

    fluid = np.zeros((3, 3, 3), bool)
    fluid[1, 1, :] = True  # a row of three along x
    fluid[1, 0, 0] = True  # one neighbour along y
    centres = [np.arange(3.0)] * 3
    edges = lattice_edges(fluid, centres)
    assert edges.n_lines == 3
    assert lattice_edges(np.zeros((3, 3, 3), bool), centres).n_points == 0
