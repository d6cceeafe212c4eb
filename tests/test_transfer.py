"""Import and export: edit serialisation, figure/data exports, session bundles, field import."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import zipfile

import h5py
import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from diano.data import read_case
from diano.errors import ConfigError, DataError
from diano.explore import transfer as tx
from diano.explore.playground import (
    PlaygroundRecord,
    SolverSettings,
    settings_from_dict,
    settings_to_dict,
)
from diano.latent_edit import (
    AddLatent,
    EditHistory,
    FourierFilter,
    GaussianBump,
    LatentGrid,
    ScaleRegion,
    SetRegion,
    edit_from_dict,
    edit_to_dict,
)
from diano.models.presets import default_config
from diano.models.registry import build_model

H, W = 16, 32
X = -2.0 + 0.25 * (np.arange(W) + 0.5)  # cell centres, spacing 0.25
Y = -2.0 + 0.25 * (np.arange(H) + 0.5)
CHANNELS = ("vorticity",)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    config = default_config("diano", "cylinder2d", "temporal", size="tiny")
    config = dataclasses.replace(config, grid_shape=(H, W), latent_shape=(4, 8))
    return build_model("diano", config).eval()


@pytest.fixture(scope="module")
def field() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((H, W)).astype(np.float32)


def grid_arrays(field: np.ndarray) -> tx.GridArrays:
    mask = np.ones((H, W), np.uint8)
    mask[:3, :3] = 0
    return tx.GridArrays(
        {"vorticity": field, "vorticity_decoded": 2 * field},
        X,
        Y,
        mask,
        {"case_id": "c1", "time_index": 4},
        {"x": "D", "y": "D", "t": "D/U"},
        t=1.5,
    )


def read(data: bytes, name: str, **kwargs) -> tx.ImportedField:
    return tx.read_field(data, name, CHANNELS, (H, W), X, Y, **kwargs)


def problems(data: bytes, name: str, **kwargs) -> list[str]:
    with pytest.raises(tx.FieldImportError) as info:
        read(data, name, **kwargs)
    assert info.value.problems and all("\n" not in p for p in info.value.problems)
    return info.value.problems


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# -- edits as JSON -----------------------------------------------------------------------
EDITS = [
    GaussianBump(0.1 + 1e-9, -0.3, 0.7, 1.2345678901234567),
    SetRegion(((0, 1), (2, 3)), -0.5, None),
    ScaleRegion(((1, 1),), 2.5),
    FourierFilter(0.0, 2.5, "zero"),
    AddLatent(np.random.default_rng(1).standard_normal((1, 4, 8)).astype(np.float32), "vortex"),
]


def test_every_edit_survives_json_bit_for_bit() -> None:
    for edit in EDITS:
        again = edit_from_dict(json.loads(json.dumps(edit_to_dict(edit))))
        assert type(again) is type(edit)
        if isinstance(edit, AddLatent):
            assert again.delta.dtype == edit.delta.dtype
            assert again.delta.tobytes() == edit.delta.tobytes() and again.label == edit.label
        else:
            assert again == edit
    history = EditHistory().push(EDITS[0]).push(EDITS[1]).push(EDITS[4]).undo()
    again = EditHistory.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again.cursor == 2 and len(again.edits) == 3
    grid = LatentGrid((4, 8), (-2.0, 6.0), (-2.0, 2.0))
    z = torch.randn(1, 1, 4, 8)
    assert torch.equal(again.current(z, grid), history.current(z, grid))


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"type": "teleport"},
        {"type": "gaussian_bump", "x": 0, "y": 0, "radius": 1, "amplitude": 1, "colour": 3},
        {"type": "set_region", "cells": "everything", "value": 1},
        {"type": "gaussian_bump", "x": "left", "y": 0, "radius": 1, "amplitude": 1},
    ],
)
def test_malformed_edits_are_refused(bad) -> None:
    with pytest.raises(DataError):
        edit_from_dict(bad)


def test_history_cursor_is_checked() -> None:
    with pytest.raises(DataError, match="cursor"):
        EditHistory.from_dict({"edits": [], "cursor": 3})


# -- names and the export folder ---------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../x", "x"),
        ("..", "export"),
        ("", "export"),
        ("/etc/passwd", "passwd"),
        ("a\\b\\..\\c.npz", "c.npz"),
        ("my field (1).npz", "my_field_1_.npz"),
        (".hidden.h5", "hidden.h5"),
        ("ﬁeld.vti", "field.vti"),
    ],
)
def test_file_names_are_sanitised(name: str, safe: str) -> None:
    assert tx.sanitise_filename(name) == safe


def test_long_names_keep_their_suffix() -> None:
    name = tx.sanitise_filename("a" * 500 + ".npz")
    assert len(name) <= 120 and name.endswith(".npz")


def test_save_export_stays_in_its_folder_and_never_overwrites(tmp_path) -> None:
    folder = tmp_path / "exports"
    first = tx.save_export(b"one", "../../x.npz", folder)
    assert first == (folder / "x.npz").resolve() and first.read_bytes() == b"one"
    second = tx.save_export(b"two", "x.npz", folder)
    assert second.name == "x-1.npz" and first.read_bytes() == b"one"
    third = tx.save_export(b"three", "x.npz", folder, overwrite=True)
    assert third == first and first.read_bytes() == b"three"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["x-1.npz", "x.npz"]


# -- figures -----------------------------------------------------------------------------
def heatmap_figure(field: np.ndarray) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=field, x=X, y=Y, zmin=-3, zmax=3))
    fig.update_layout(title="a field", width=400, height=250)
    return fig


def test_html_export_is_self_contained(field) -> None:
    html = tx.figure_html(heatmap_figure(field)).decode()
    assert "<script src=" not in html and "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js is inlined


def test_png_export_with_matplotlib(field) -> None:
    png = tx.figure_png(heatmap_figure(field), renderer="matplotlib")
    assert png.startswith(b"\x89PNG")


def test_png_export_falls_back_when_no_browser_starts(field, monkeypatch) -> None:
    import kaleido

    def no_browser(*args, **kwargs):
        raise RuntimeError("no Chrome")

    monkeypatch.setattr(kaleido, "calc_fig_sync", no_browser)
    assert tx.figure_png(heatmap_figure(field)).startswith(b"\x89PNG")
    with pytest.raises(DataError, match="kaleido"):
        tx.figure_png(heatmap_figure(field), renderer="kaleido")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Chromium for kaleido")
def test_png_export_with_kaleido_offline(field) -> None:
    png = tx.figure_png(heatmap_figure(field), renderer="kaleido", scale=1)
    assert png.startswith(b"\x89PNG")
    width, height = np.frombuffer(png[16:24], dtype=">u4")
    assert (width, height) == (400, 250)


# -- data exports ------------------------------------------------------------------------
def test_npz_export_round_trip(field) -> None:
    data = grid_arrays(field)
    with np.load(io.BytesIO(tx.to_npz(data)), allow_pickle=False) as npz:
        assert npz["vorticity"].tobytes() == field.tobytes()
        assert np.array_equal(npz["x"], X) and np.array_equal(npz["mask"], data.mask)
        assert json.loads(str(npz["metadata"]))["case_id"] == "c1"


def test_hdf5_export_is_a_diano_case_file(field, tmp_path) -> None:
    path = tmp_path / "export.h5"
    path.write_bytes(tx.to_hdf5(grid_arrays(field)))
    case = read_case(path)
    assert case.channels == ("vorticity", "vorticity_decoded")
    assert case.fields[0, 0].tobytes() == field.tobytes()
    assert np.array_equal(case.coords["x"], X) and case.coords["t"][0] == 1.5
    assert case.attrs["case_id"] == "c1" and case.units["x"] == "D"
    assert not case.mask[0, 0] and case.mask[5, 5]


def test_vti_export_reads_back_with_pyvista(field, tmp_path) -> None:
    import pyvista as pv

    path = tmp_path / "export.vti"
    path.write_bytes(tx.to_vti(grid_arrays(field)))
    image = pv.read(path)
    assert isinstance(image, pv.ImageData)
    assert image.dimensions == (W, H, 1)
    assert image.spacing == pytest.approx((0.25, 0.25, 1.0))
    assert image.origin == pytest.approx((X[0], Y[0], 0.0))
    values = np.asarray(image.point_data["vorticity"]).reshape(H, W)
    assert values.tobytes() == field.tobytes()
    assert not np.asarray(image.point_data["mask"]).reshape(H, W)[:3, :3].any()
    # each point sits at its physical cell centre
    assert image.points[W + 2] == pytest.approx((X[2], Y[1], 0.0))
    assert json.loads(image.field_data["metadata"][0])["time_index"] == 4


def test_non_uniform_grid_cannot_be_written_as_vti(field) -> None:
    x = X.copy()
    x[-1] += 1.0
    with pytest.raises(ConfigError, match="uniformly"):
        tx.to_vti(tx.GridArrays({"vorticity": field}, x, Y))


# -- field import: every format round trips ----------------------------------------------
@pytest.mark.parametrize("fmt", ["npz", "h5", "vti"])
def test_exported_field_imports_unchanged(field, fmt, model) -> None:
    writer = {"npz": tx.to_npz, "h5": tx.to_hdf5, "vti": tx.to_vti}[fmt]
    imported = read(writer(grid_arrays(field)), f"field.{fmt}")
    assert imported.channels == CHANNELS and imported.fields.dtype == np.float32
    assert imported.fields[0].tobytes() == field.tobytes()
    z = tx.encode_field(model, imported)
    with torch.no_grad():
        direct = model.encode(torch.from_numpy(field)[None, None])
    assert torch.equal(z, direct)


def test_legacy_vtk_and_plain_layouts_import(field, tmp_path) -> None:
    import pyvista as pv

    image = pv.ImageData(dimensions=(W, H, 1), spacing=(0.25, 0.25, 1), origin=(X[0], Y[0], 0))
    image.point_data["vorticity"] = field.ravel()
    image.save(tmp_path / "f.vtk")
    image.save(tmp_path / "raw.vti")  # pyvista's default: raw appended binary
    for name in ("f.vtk", "raw.vti"):
        assert read((tmp_path / name).read_bytes(), name).fields[0].tobytes() == field.tobytes()
    # a (T, C, H, W) stack, float64, unnamed: snapshot 1 is taken and converted
    stack = np.stack([field * 0, field])[:, None].astype(np.float64)
    imported = read(npz_bytes(fields=stack), "stack.npz", time_index=1)
    assert np.array_equal(imported.fields[0], field)
    assert any("snapshot 1 of 2" in n for n in imported.notes)
    assert any("float64" in n for n in imported.notes)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["vorticity"] = field
    assert read(buffer.getvalue(), "plain.hdf5").fields[0].tobytes() == field.tobytes()


# -- field import: every bad input gets a one-line message naming the problem ------------
@pytest.mark.parametrize("fmt", ["npz", "h5", "vti", "vtk"])
def test_corrupt_files_are_named(field, fmt, tmp_path) -> None:
    (message,) = problems(b"\x00garbage" * 50, f"x.{fmt}")
    assert message.startswith(f"x.{fmt}: ") and ("cannot read" in message or "not a" in message)
    if fmt == "vtk":
        import pyvista as pv

        image = pv.ImageData(dimensions=(W, H, 1))
        image.point_data["vorticity"] = field.ravel()
        image.save(tmp_path / "f.vtk")
        good = (tmp_path / "f.vtk").read_bytes()
    else:
        good = {"npz": tx.to_npz, "h5": tx.to_hdf5, "vti": tx.to_vti}[fmt](grid_arrays(field))
    message = problems(good[: len(good) // 2], f"truncated.{fmt}")[0]
    assert message.startswith(f"truncated.{fmt}:")


@pytest.mark.parametrize("name", ["field.txt", "field", "field.npy", "field.zip"])
def test_unsupported_file_types_are_refused(field, name) -> None:
    (message,) = problems(tx.to_npz(grid_arrays(field)), name)
    assert "unsupported file type" in message


def test_wrong_shape_is_named(field) -> None:
    (message,) = problems(npz_bytes(vorticity=field[:, :16]), "small.npz")
    assert "16×16" in message and "16×32" in message and "shape mismatch" in message
    (message,) = problems(npz_bytes(vorticity=field[None, None, None]), "deep.npz")
    assert "shape" in message


def test_nan_and_inf_are_named(field) -> None:
    bad = field.copy()
    bad[0, 0], bad[1, 1], bad[2, 2] = np.nan, np.inf, -np.inf
    (message,) = problems(npz_bytes(vorticity=bad), "bad.npz")
    assert "1 NaN and 2 Inf" in message
    (message,) = problems(npz_bytes(vorticity=field.astype(np.float64) * 1e300), "huge.npz")
    assert "beyond float32" in message


def test_oversized_files_are_refused_before_reading(field) -> None:
    data = tx.to_npz(grid_arrays(field))
    (message,) = problems(data, "big.npz", max_bytes=len(data) - 1)
    assert "over the" in message and "import limit" in message
    assert tx.MAX_IMPORT_BYTES == 50 * 1024 * 1024


def test_arrays_that_unpack_far_beyond_the_file_are_refused() -> None:
    zeros = np.zeros((H, W * 8), np.float32)  # 16 kB that compress to almost nothing
    buffer = io.BytesIO()
    np.savez_compressed(buffer, vorticity=zeros)
    (message,) = problems(buffer.getvalue(), "bomb.npz", max_bytes=1000)
    assert "unpack to" in message
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_dataset("vorticity", data=zeros, compression="gzip")
    (message,) = problems(buffer.getvalue(), "bomb.h5", max_bytes=len(buffer.getvalue()))
    assert "unpack to" in message


def test_wrong_dtype_and_channels_are_named(field) -> None:
    (message,) = problems(npz_bytes(vorticity=field.astype(np.complex64)), "c.npz")
    assert "dtype complex64" in message
    (message,) = problems(npz_bytes(vorticity=np.full((H, W), "a")), "s.npz")
    assert "not numbers" in message
    (message,) = problems(npz_bytes(u=field, v=field), "uv.npz")
    assert "['vorticity'] not found" in message and "['u', 'v']" in message
    (message,) = problems(npz_bytes(fields=np.stack([field, field])), "two.npz")
    assert "2 channel(s)" in message


def test_resolution_and_box_are_checked(field) -> None:
    coarse = npz_bytes(vorticity=field, x=-2.0 + 0.5 * (np.arange(W) + 0.5), y=Y)
    (message,) = problems(coarse, "coarse.npz")
    assert "spacing along x is 0.5" in message and "resolution" in message
    (message,) = problems(npz_bytes(vorticity=field, x=X + 1.0, y=Y), "shifted.npz")
    assert "box starts at x" in message


def test_every_problem_gets_its_own_line(field) -> None:
    bad = field.copy()
    bad[0, 0] = np.nan
    found = problems(npz_bytes(vorticity=bad, x=X * 2, y=Y), "../../two problems.npz")
    assert len(found) == 2 and all(p.startswith("two_problems.npz:") for p in found)


# -- session bundles ---------------------------------------------------------------------
def make_bundle(model, field, edits=EDITS[:4], **changes) -> tx.SessionBundle:
    grid = LatentGrid((4, 8), (-2.0, 6.0), (-2.0, 2.0))
    with torch.no_grad():
        base = model.encode(torch.from_numpy(field)[None, None])
    history = EditHistory()
    for edit in edits:
        history = history.push(edit)
    history = history.undo()  # one edit waiting to be redone
    z = history.current(base, grid)
    with torch.no_grad():
        decoded = model.decode(z, output_shape=(H, W))[0].numpy()
    bundle = tx.SessionBundle(
        benchmark="cylinder2d",
        model="diano",
        scenario="temporal",
        checkpoint_sha256="ab" * 32,
        case_id="cylinder2d_re180",
        time_index=7,
        history=history,
        base_latent=base.numpy(),
        grid=grid,
        decoded=decoded,
        solver_settings={"nu": 1e-4, "velocity": [0.5, 0.0], "dt": 0.01},
        seed=3,
        code_version="0.1.0+gtest",
        extra={"device": "cpu"},
    )
    return dataclasses.replace(bundle, **changes)


def test_bundle_round_trip_restores_the_same_decoded_field(model, field) -> None:
    bundle = make_bundle(model, field)
    data = tx.write_bundle(bundle)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "manifest.json"]
        manifest = json.loads(zf.read("manifest.json"))
    for key in ("benchmark", "model", "scenario", "checkpoint_sha256", "code_version",
                "case_id", "time_index", "edits", "solver_settings", "seed"):  # fmt: skip
        assert key in manifest
    assert manifest["edits"]["cursor"] == 3 and len(manifest["edits"]["edits"]) == 4
    again = tx.read_bundle(data)
    tx.check_bundle(again, benchmark="cylinder2d", model="diano", scenario="temporal",
                    sha256="ab" * 32)  # fmt: skip
    assert again.history == bundle.history and again.grid == bundle.grid
    assert (again.time_index, again.seed, again.case_id) == (7, 3, "cylinder2d_re180")
    assert again.solver_settings == bundle.solver_settings
    assert tx.identical(again.base_latent, bundle.base_latent)
    assert tx.identical(tx.replay(again, model), bundle.decoded)
    # and once more through a second write: nothing drifts
    assert tx.identical(tx.read_bundle(tx.write_bundle(again)).decoded, bundle.decoded)


def test_bundle_with_an_imported_field_and_a_latent_change(model, field) -> None:
    delta = AddLatent(np.full((1, 4, 8), 0.25, np.float32), "shift")
    bundle = make_bundle(model, field, edits=[delta, EDITS[0]], source="imported",
                         source_field=field[None])  # fmt: skip
    again = tx.read_bundle(tx.write_bundle(bundle))
    assert again.source == "imported" and tx.identical(again.source_field, field[None])
    assert tx.identical(tx.replay(again, model), bundle.decoded)


def test_bundle_for_another_checkpoint_is_refused(model, field) -> None:
    bundle = tx.read_bundle(tx.write_bundle(make_bundle(model, field)))
    with pytest.raises(DataError, match="checkpoint mismatch.*sha256 abababababab"):
        tx.check_bundle(bundle, benchmark="cylinder2d", model="diano", scenario="temporal",
                        sha256="cd" * 32)  # fmt: skip
    with pytest.raises(DataError, match="made with diano"):
        tx.check_bundle(bundle, benchmark="cylinder2d", model="cnn_ae", scenario="temporal",
                        sha256="ab" * 32)  # fmt: skip


def _rezip(data: bytes, **replace: bytes | None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            content = replace.get(name.replace(".", "_"), src.read(name))
            if content is not None:
                dst.writestr(name, content)
    return out.getvalue()


def test_bad_bundles_are_refused_with_a_reason(model, field) -> None:
    data = tx.write_bundle(make_bundle(model, field))
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))

    def fails(blob: bytes, match: str) -> None:
        with pytest.raises(DataError, match=match):
            tx.read_bundle(blob)

    fails(b"not a zip at all", "not a .zip")
    fails(data[: len(data) // 2], "not a .zip")
    fails(_rezip(data, manifest_json=None), "manifest.json or arrays.npz is missing")
    fails(_rezip(data, manifest_json=b"{not json"), "manifest cannot be read")
    fails(_rezip(data, manifest_json=json.dumps({**manifest, "version": 99}).encode()),
          "version 99")  # fmt: skip
    edits = {**manifest, "edits": {"edits": [{"type": "teleport"}], "cursor": 1}}
    fails(_rezip(data, manifest_json=json.dumps(edits).encode()), "unknown edit type")
    other = io.BytesIO()
    np.savez(other, base_latent=np.zeros((1, 1, 4, 8), np.float32),
             decoded=np.zeros((1, H, W), np.float32))  # fmt: skip
    fails(_rezip(data, arrays_npz=other.getvalue()), "altered")
    fails(_rezip(data, arrays_npz=b"junk"), "arrays cannot be read")
    with pytest.raises(DataError, match="over the"):
        tx.read_bundle(data, max_bytes=100)


# -- the solver playground's march in a bundle -------------------------------------------
SETTINGS_A = SolverSettings(0.1 + 0.2, (1 / 3, -2e-7), 0.0125, 4, "oucs2", ("upwind", "free"))
MARCHED = PlaygroundRecord(
    start_frame=5,
    n_steps=37,
    settings_a=SETTINGS_A,
    settings_b=dataclasses.replace(SETTINGS_A, nu=0.003, velocity=(0.7, 0.0)),
)


@pytest.mark.parametrize(
    "marched",
    [MARCHED, dataclasses.replace(MARCHED, settings_b=None, b_edited=True), None],
    ids=["other settings", "edited latent", "not used"],
)
def test_playground_settings_round_trip_exactly(model, field, marched) -> None:
    solver = settings_to_dict(SETTINGS_A)
    bundle = make_bundle(model, field, solver_settings=solver, playground=marched)
    data = tx.write_bundle(bundle)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    if marched is None:
        assert manifest["playground"] is None
    else:
        assert manifest["playground"]["fork_b"] == marched.fork_b
        assert manifest["playground"]["A"]["nu"] == 0.1 + 0.2  # not rounded on the way
    again = tx.read_bundle(data)
    assert again.playground == marched
    assert settings_from_dict(again.solver_settings) == SETTINGS_A
    assert tx.read_bundle(tx.write_bundle(again)).playground == marched


def test_a_bundle_without_a_playground_entry_reads_as_unused(model, field) -> None:
    data = tx.write_bundle(make_bundle(model, field, playground=MARCHED))
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    del manifest["playground"]  # as written before the playground was recorded
    older = _rezip(data, manifest_json=json.dumps(manifest).encode())
    assert tx.read_bundle(older).playground is None


def _with(entry: dict, **changes) -> dict:
    return {**entry, **changes}


def test_damaged_playground_and_solver_settings_are_refused(model, field) -> None:
    data = tx.write_bundle(make_bundle(model, field, playground=MARCHED))
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    record, a = manifest["playground"], manifest["playground"]["A"]

    def fails(match: str, **changes) -> None:
        blob = _rezip(data, manifest_json=json.dumps({**manifest, **changes}).encode())
        with pytest.raises(DataError, match=match):
            tx.read_bundle(blob)

    where = "the bundle's playground record"
    fails(f"{where}: expected a mapping", playground=[1, 2])
    fails(rf"{where}: unknown key\(s\) \['speed'\]", playground=_with(record, speed=2))
    fails(rf"{where}: missing \['n_steps'\]",
          playground={k: v for k, v in record.items() if k != "n_steps"})  # fmt: skip
    fails("n_steps must be a count", playground=_with(record, n_steps=-3))
    fails("start_frame must be a count", playground=_with(record, start_frame=2.5))
    fails("fork_b must be 'edited' or 'other'", playground=_with(record, fork_b="sideways"))
    fails("fork_b is 'edited' but fork B's settings are given",
          playground=_with(record, fork_b="edited"))  # fmt: skip
    fails("b_edited must be true or false", playground=_with(record, b_edited="yes"))
    fork_a = f"{where}: fork A"
    fails(rf"{fork_a}: unknown setting\(s\) \['viscosity'\]",
          playground=_with(record, A=_with(a, viscosity=0.1)))  # fmt: skip
    fails(f"{fork_a}: unknown scheme 'quick'", playground=_with(record, A=_with(a, scheme="quick")))
    fails(f"{fork_a}: n_substeps must be 'auto' or a count",
          playground=_with(record, A=_with(a, n_substeps=0)))  # fmt: skip
    fails(f"{fork_a}: nu must be a finite number",
          playground=_with(record, A=_with(a, nu=float("nan"))))  # fmt: skip
    fails(f"{fork_a}: velocity must be a pair",
          playground=_with(record, A=_with(a, velocity=[1, 2, 3])))  # fmt: skip
    fails(f"{fork_a}: boundary must be a pair",
          playground=_with(record, A=_with(a, boundary=["periodic", "wall"])))  # fmt: skip
    fails("fork B: dt must be a finite number",
          playground=_with(record, B=_with(record["B"], dt="0.01")))  # fmt: skip
    fails("the bundle's solver settings: expected a mapping", solver_settings="fast")
    fails(r"the bundle's solver settings: missing \['dt'\]",
          solver_settings={"nu": 0.1, "velocity": [0.5, 0.0]})  # fmt: skip
    fails("the bundle's solver settings: nu must be >= 0",
          solver_settings={"nu": -1.0, "velocity": [0.5, 0.0], "dt": 0.01})  # fmt: skip
