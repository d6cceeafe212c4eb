"""Benchmark generators and ``diano generate``: a reduced run writes a valid, checked file;
failed checks stop with a clear message and leave nothing behind; existing files are kept;
bad arguments are refused; the committed samples load and pass validation.

Two simulations run here, each in about 15 s on 2 cores, and each passes the generator's own
checks and is written like a full case: a reduced stenosis case (H = 16, 8H long, Re 50,
three cardiac cycles of ≈ 9,000 steps on a 18 × 128 lattice; stability and cycle
periodicity) and a reduced coronary vessel (D = 7 nodes on 16 × 16 × 32; steady state and
flux conservation). The cylinder's shedding check is exercised on synthetic lift signals;
everything else fails or is refused before the lattice runs many steps.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

import diano
from diano.cli import main
from diano.data import load, read_case, read_info
from diano.data.generators import coronary, cylinder, generate_case, generator, stenosis
from diano.data.generators.samples import SPECS
from diano.data.io import sha256_file, verify_manifest, write_case
from diano.errors import ConfigError, DataError, ValidationError

SAMPLES = Path(diano.__file__).resolve().parents[1] / "data" / "samples"


def _reduced_stenosis() -> stenosis.StenosisConfig:
    """The quick case shrunk: H = 16, an 8H channel (sponge from 6.5H), Re 50, 20 snapshots."""
    return replace(
        stenosis.cases(quick=True)[0], height=16, length=8.0, re=50.0, sponge=(6.5, 1.0),
        n_snapshots=20,
    )  # fmt: skip


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_reduced_stenosis_run_writes_a_valid_checked_file(tmp_path: Path) -> None:
    cfg = _reduced_stenosis()
    cfg.check()  # the acoustic rule lowered U_m for this short channel; τ stays ≥ 0.51
    path = tmp_path / f"{cfg.name}.h5"
    attrs = generate_case(stenosis, cfg, path, compile=False, progress=False)
    assert _leftovers(tmp_path) == [path.name]  # no temporary file left next to it

    data = read_case(path)
    assert data.fields.shape == (cfg.n_snapshots, 4, 16, 64)  # 4H × H window, every node
    assert data.channels == ("vorticity", "u", "v", "p")
    assert read_info(path).dtype == np.float32
    assert np.isfinite(data.fields).all()
    assert data.units["t"] == "cardiac period"
    assert np.allclose(data.coords["t"], np.arange(cfg.n_snapshots) / cfg.n_snapshots)
    checks = data.attrs["checks"]
    assert checks["cycle_mismatch"] < 0.05 and checks["max_lattice_speed"] < 0.15
    assert checks["acoustic_ratio"] >= 10
    assert attrs["Re"] == data.attrs["Re"] == 50.0
    assert data.attrs["config"]["height"] == 16  # the full config travels with the file
    # the throat (x = 0) is narrowed by half: half its rows are wall; none at x = −H
    x = data.coords["x"]
    throat, upstream = int(np.argmin(np.abs(x))), int(np.argmin(np.abs(x + 1.0)))
    assert data.mask[:, throat].sum() == 8 and data.mask[:, upstream].all()
    # the flow rate (mean u over the height, in U_m) follows 1 + 0.5 cos ωt at every section,
    # and the jet speeds up through the throat
    u = data.channel("u")
    q = u.sum(axis=1) / 16  # (T, Nx)
    exact = 1 + 0.5 * np.cos(2 * np.pi * data.coords["t"])
    assert np.allclose(q, exact[:, None], atol=0.03)
    assert u[0, :, throat].max() > 1.7 * u[0, :, upstream].max()
    # mirror symmetry of the symmetric channel: u even, v odd in y
    assert np.allclose(u, u[:, ::-1], atol=1e-3)

    # the same path is refused without overwrite, before any simulation
    with pytest.raises(DataError, match="already exists"):
        generate_case(stenosis, cfg, path, progress=False)


def test_impossible_strouhal_band_and_missing_shedding_are_reported() -> None:
    """The shedding check on synthetic lift signals (the check the generator runs last)."""
    cfg = cylinder.CylinderConfig(re=100.0, dt_snapshot=0.05)
    t = cfg.dt_snapshot * np.arange(1200)
    lift = 0.35 * np.sin(2 * np.pi * 0.19 * t)
    checks = cylinder._check_shedding(cfg, lift, "test")
    assert checks["St"] == pytest.approx(0.19, rel=2e-3)

    with pytest.raises(ValidationError, match=r"St = 0\.19.* outside the band"):
        cylinder._check_shedding(replace(cfg, st_band=(2.0, 3.0)), lift, "test")
    noise = 0.3 * np.random.default_rng(0).standard_normal(t.size)
    with pytest.raises(ValidationError, match="no periodic vortex shedding"):
        cylinder._check_shedding(cfg, noise, "test")
    growing = lift * np.linspace(0.2, 1.0, t.size)
    with pytest.raises(ValidationError, match="not saturated"):
        cylinder._check_shedding(cfg, growing, "test")


def test_diverging_run_raises_and_leaves_no_file(tmp_path: Path) -> None:
    """A lattice velocity far above the limit stops the run at its first check."""
    cfg = coronary.CoronaryConfig(
        index=0,
        lattice=(16, 16, 32),
        stored=32,
        diameter=7.0,
        inlet_sponge=(4, 0.1),
        throat_speed=0.6,
        u_cap=0.2,
        check_every=0.05,
        max_redraws=1,
    )
    path = tmp_path / f"{cfg.name}.h5"
    with pytest.raises(
        ValidationError,
        match=(
            r"all 2 draws failed: draw 0: "
            r".*(max lattice speed .* ≥ limit 0\.15|NaN/Inf).*; draw 1"
        ),
    ):
        generate_case(coronary, cfg, path, compile=False, progress=False)
    assert _leftovers(tmp_path) == []


def test_failed_coronary_draw_is_replaced_by_the_next_and_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = coronary.cases()[5]
    first, second = coronary.draw_sample(cfg), coronary.draw_sample(replace(cfg, draw=1))
    assert first.re != second.re  # a new draw is a new sample of the same index
    assert coronary.draw_sample(replace(cfg, draw=0)).re == first.re  # draw 0 is unchanged

    tried = []

    def fake_draw(attempt, device, *, compile, progress):
        tried.append(attempt.draw)
        if attempt.draw == 0:
            raise ValidationError("NaN/Inf populations at step 4222")
        return coronary.CaseResult(np.zeros(1), [], np.zeros(1), {}, {"checks": {}})

    monkeypatch.setattr(coronary, "_run_draw", fake_draw)
    result = coronary.run_case(cfg)
    assert tried == [0, 1]
    assert result.attrs["checks"]["replaced_draws"] == ["draw 0: NaN/Inf populations at step 4222"]


def test_cli_goes_on_after_a_failed_case_and_reports_it(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diano.data import generate

    def fake_run_one(benchmark, cfg, out, options, progress, threads):
        if cfg.name.endswith("0001"):
            raise ValidationError(f"{cfg.name}: NaN/Inf populations at step 10")
        return {"name": cfg.name, "seconds": 0.0, "attrs": {"checks": {}}}

    monkeypatch.setattr(generate, "_run_one", fake_run_one)
    argv = ["generate", "coronary3d", "--quick", "--out", str(tmp_path)]
    assert main([*argv, "--only", "coronary3d_0000", "coronary3d_0001", "coronary3d_0002"]) == 1
    out = capsys.readouterr().out
    assert "coronary3d_0000: 0 s" in out and "coronary3d_0002: 0 s" in out  # both went on
    assert "1 of 3 cases failed" in out and "coronary3d_0001: NaN/Inf" in out
    assert (tmp_path / "manifest.json").is_file()


def test_reduced_coronary_run_reaches_steady_state_with_conserved_flux(tmp_path: Path) -> None:
    """A vessel on half the lattice (D = 7 nodes, 16 × 16 × 32) runs to the generator's own
    steady-state criteria; the written file carries the flux check and a pressure that falls
    from inlet to outlet."""
    cfg = coronary.CoronaryConfig(
        index=3,
        lattice=(16, 16, 32),
        stored=32,
        diameter=7.0,
        inlet_sponge=(4, 0.1),
        outlet_sponge=(8, 0.3),
        re_range=(15.0, 30.0),
    )
    path = tmp_path / f"{cfg.name}.h5"
    generate_case(coronary, cfg, path, compile=False, progress=False)
    assert _leftovers(tmp_path) == [path.name]
    data = read_case(path)
    assert data.fields.shape == (1, 4, 32, 32, 32)
    assert data.channels == ("u", "v", "w", "p")
    assert np.isfinite(data.fields).all()
    checks = data.attrs["checks"]
    assert max(abs(r - 1) for r in checks["flux_ratios"]) < cfg.flux_tol
    assert checks["max_lattice_speed"] < 0.15
    sample = coronary.draw_sample(cfg)
    assert data.attrs["tau"] >= cfg.min_tau and data.attrs["Re"] == pytest.approx(sample.re)
    # solid cells hold zeros; the lumen reaches both end faces
    fluid = data.mask.astype(bool)
    assert fluid[:, :, 0].any() and fluid[:, :, -1].any()
    assert np.all(data.fields[0][:, ~fluid] == 0)
    # the mean streamwise velocity over the inlet face is the nominal mean inlet speed (up to
    # the parabola sampled on a 7-node lumen: 1.09 here, 0.97 at D = 14), and the section-mean
    # pressure falls from the first to the last plane (viscous losses)
    u, p = data.fields[0, 0], data.fields[0, 3]
    assert u[:, :, 0][fluid[:, :, 0]].mean() == pytest.approx(1.0, rel=0.12)
    p_in, p_out = p[:, :, 1][fluid[:, :, 1]].mean(), p[:, :, -2][fluid[:, :, -2]].mean()
    assert p_in > p_out


def test_invalid_settings_raise_before_running(tmp_path: Path) -> None:
    # α = 12: the acoustic rule (T ≥ 10·4L/c_s) forces U_m, hence ν and τ, so low that BGK
    # would run at τ ≈ 0.501
    cfg = replace(stenosis.cases(quick=True)[0], womersley=12.0)
    with pytest.raises(ConfigError, match=r"tau = 0\.50\d+ < 0\.51 is too close to the BGK limit"):
        generate_case(stenosis, cfg, tmp_path / "s.h5", progress=False)
    with pytest.raises(ConfigError, match="nz == ny"):
        coronary.draw_sample(coronary.CoronaryConfig(index=0, lattice=(16, 24, 64)))
    with pytest.raises(ConfigError, match="unknown benchmark 'cylinder3d'"):
        generator("cylinder3d")
    assert _leftovers(tmp_path) == []


def test_case_lists_and_names() -> None:
    full = cylinder.cases()
    assert [c.re for c in full] == [100, 125, 150, 175, 180, 200, 225]
    assert {c.re for c in full if c.split == "heldout"} == {180, 225}
    assert all(c.n_snapshots * c.dt_snapshot * 0.19 >= 10 for c in full)  # ≥ 10 periods
    quick = cylinder.cases(quick=True)
    assert [(c.re, c.split) for c in quick] == [(100, "train"), (180, "heldout")]
    sten = stenosis.cases()
    assert len(sten) == 5 and sum(c.split == "heldout" for c in sten) == 1
    assert all(c.n_snapshots >= 100 for c in sten)
    for c in sten + stenosis.cases(quick=True):
        c.check()  # acoustic-resonance rule and τ floor hold for every shipped case
    cor = coronary.cases()
    assert len(cor) == 200 and [c.index for c in cor if c.split == "heldout"] == list(
        range(180, 200)
    )
    assert len({c.name for c in cor}) == 200
    # geometry and Re are reproducible from (seed, index) and differ between samples
    a, b = coronary.draw_sample(cor[0]), coronary.draw_sample(cor[0])
    assert a.geometry.as_dict() == b.geometry.as_dict() and a.re == b.re
    assert coronary.draw_sample(cor[1]).re != a.re
    # every sample keeps τ ≥ 0.51 and its Re and severity in range (module notes: the lumen
    # of 14 nodes does not resolve lower τ)
    for c in cor:
        sample = coronary.draw_sample(c)
        assert sample.tau >= c.min_tau - 1e-12
        assert c.re_range[0] <= sample.re <= c.re_range[1]
        assert c.severity_range[0] <= sample.geometry.severity <= c.severity_range[1]
        assert (
            1.5 * sample.u_lattice / (1 - sample.geometry.severity) ** 2 <= c.throat_speed + 1e-12
        )


# -- the CLI ---------------------------------------------------------------------------
def _synthetic_case(path: Path) -> None:
    mask = np.ones((4, 6), np.uint8)
    coords = {"t": (np.arange(2.0), "s"), "y": (np.arange(4.0), "H"), "x": (np.arange(6.0), "H")}
    write_case(path, np.zeros((2, 1, 4, 6), np.float32), ["u"], mask, coords, {"Re": 1.0})


def test_cli_keeps_existing_files_unless_forced(tmp_path: Path, capsys) -> None:
    name = stenosis.cases(quick=True)[0].name
    kept = tmp_path / f"{name}.h5"
    _synthetic_case(kept)
    digest = sha256_file(kept)
    assert main(["generate", "stenosis2d", "--quick", "--out", str(tmp_path)]) == 0
    assert "1 already there, 0 to make" in capsys.readouterr().out
    assert sha256_file(kept) == digest
    verify_manifest(tmp_path)  # the manifest lists the kept file

    broken = tmp_path / "broken"
    broken.mkdir()
    bad = broken / f"{name}.h5"
    bad.write_bytes(b"not an hdf5 file")
    assert main(["generate", "stenosis2d", "--quick", "--out", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "is not a valid case file" in err and "--force" in err and "Traceback" not in err
    assert bad.read_bytes() == b"not an hdf5 file"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "0"], "--workers must be ≥ 1, got 0"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--only", "re999"], "--only re999 matches none of the 7 cylinder2d cases"),
    ],
)
def test_cli_bad_arguments_give_clear_errors(
    tmp_path: Path, capsys, argv: list[str], message: str
) -> None:
    assert main(["generate", "cylinder2d", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("diano: error:") and message in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []


def test_cli_unknown_benchmark_and_missing_source(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "cylinder3d"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'cylinder3d'" in err and "cylinder2d" in err

    monkeypatch.setenv("DIANO_DATA_DIR", str(tmp_path / "empty"))
    out = tmp_path / "samples"
    assert main(["generate", "stenosis2d", "--samples", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is missing; run `diano generate stenosis2d` first" in err
    assert not out.exists() or _leftovers(out) == []


# -- the committed samples -------------------------------------------------------------
def _committed(benchmark: str) -> list[Path]:
    files = [SAMPLES / f"{name}.h5" for name in SPECS[benchmark].cases]
    present = [p for p in files if p.is_file()]
    if not present:
        pytest.skip(f"no committed {benchmark} samples in {SAMPLES}")
    return present


def test_committed_samples_match_their_manifest() -> None:
    verify_manifest(SAMPLES)
    listed = set(json.loads((SAMPLES / "manifest.json").read_text())["files"])
    assert listed == {p.name for p in SAMPLES.glob("*.h5")}
    total = sum(p.stat().st_size for p in SAMPLES.iterdir())
    assert total <= 40 * 2**20, f"data/samples holds {total / 2**20:.1f} MiB (limit 40 MiB)"


def test_cylinder_samples_load_and_pass_validation() -> None:
    files = _committed("cylinder2d")
    assert len(files) == 2
    for path in files:
        with h5py.File(path) as f:
            assert f["fields"].dtype == np.float16
            assert f["fields"].shape == (301, 1, 128, 128)
    cases = load("cylinder2d")
    assert [c.re for c in cases] == [180.0, 225.0]
    for data in cases:
        assert data.split == "heldout"
        assert data.fields.shape == (301, 1, 128, 128) and data.channels == ("vorticity",)
        assert np.isfinite(data.fields).all()
        attrs = data.attrs
        assert {"Re", "St", "seed", "config", "checks", "code_version"} <= set(attrs)
        lo, hi = attrs["checks"]["St_band"]
        assert lo <= attrs["St"] <= hi
        assert attrs["checks"]["St_free_stream"] < lo  # the confined box sheds faster
        assert attrs["checks"]["max_lattice_speed"] < 0.15
        assert np.allclose(np.diff(data.coords["t"]), 0.05)
        assert 3 <= 301 * 0.05 * attrs["St"] <= 4  # ≈ 3 shedding periods, ≈ 100 per period
        assert attrs["sample_of"]["time_index"] == [0, 301]
        # vorticity: zero on the cylinder, both signs in the wake
        w = data.channel("vorticity")
        assert np.all(w[:, ~data.mask] == 0)
        assert w.max() > 1 and w.min() < -1


def test_stenosis_sample_loads_and_passes_validation() -> None:
    (path,) = _committed("stenosis2d")
    with h5py.File(path) as f:
        assert f["fields"].dtype == np.float16
    data = load("stenosis2d")[0]
    assert data.split == "heldout" and data.channels == ("vorticity", "u", "v", "p")
    assert data.fields.shape == (100, 4, 64, 256)
    assert np.isfinite(data.fields).all()
    assert data.attrs["checks"]["cycle_mismatch"] < 0.05
    assert data.attrs["checks"]["max_lattice_speed"] < 0.15
    assert data.units["t"] == "cardiac period"
    # mass conservation across the stored window: the flow rate ∫u dy is the same at the
    # throat and 2H behind it (to the float16 and weak-compressibility error)
    u = data.channel("u")
    i0 = int(np.argmin(np.abs(data.coords["x"])))
    i2 = int(np.argmin(np.abs(data.coords["x"] - 2.0)))
    q0, q2 = u[:, :, i0].sum(1), u[:, :, i2].sum(1)
    assert np.allclose(q0, q2, rtol=0.03)


def test_coronary_samples_load_and_pass_validation() -> None:
    files = _committed("coronary3d")
    for path in files:
        with h5py.File(path) as f:
            assert f["fields"].dtype == np.float16
    for data in load("coronary3d"):
        assert data.split == "heldout" and data.channels == ("u", "v", "w", "p")
        assert data.fields.shape == (1, 4, 64, 64, 64)
        assert np.isfinite(data.fields).all()
        ratios = data.attrs["checks"]["flux_ratios"]
        assert max(abs(r - 1) for r in ratios) < 0.01
        assert data.attrs["checks"]["max_lattice_speed"] < 0.15


def test_coronary_table_is_made_from_the_files() -> None:
    """``scripts/coronary_table.py`` (the table of docs/data.md) on the committed samples."""
    import importlib.util

    from diano.data import samples_dir

    spec = importlib.util.spec_from_file_location(
        "coronary_table", Path(__file__).parents[2] / "scripts" / "coronary_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.read(samples_dir())
    assert [r["name"] for r in rows] == [f"coronary3d_{i:04d}" for i in range(180, 186)]
    assert all(r["split"] == "heldout" and r["flux"] < 0.01 and r["speed"] < 0.15 for r in rows)
    text = module.table(rows, expected=6)
    assert "(6 files: 0 train, 6 held out)." in text and "were generated" not in text
    assert "| severity s |" in text and "Centrelines:" in text
    assert "**6 of the 200 samples were generated.**" in module.table(rows, expected=200)
