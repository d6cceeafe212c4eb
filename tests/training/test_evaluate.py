"""``diano evaluate`` and the evaluation protocol on a tiny trained model and synthetic data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from diano.cli import main as cli_main
from diano.data import load
from diano.evaluation import evaluate_cases, period_steps
from diano.evaluation.command import BEGIN, END, markdown, noise_robustness
from diano.evaluation.edit import edit_verdict
from diano.models import build_model
from diano.models.presets import default_config
from diano.training.command import add_arguments, train_one


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, street_writer) -> Path:
    """A data cache with train and held-out streets."""
    root = tmp_path_factory.mktemp("eval")
    data = root / "data" / "cylinder2d"
    for re, split in ((100.0, "train"), (150.0, "train"), (180.0, "heldout")):
        street_writer(data, re, split)
    return root


@pytest.fixture(scope="module")
def trained(cache: Path) -> tuple[Path, Path]:
    """The cache and a checkpoint root with one quickly trained model."""
    root = cache
    data = root / "data" / "cylinder2d"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["cylinder2d", "diano", "--preset", "quick", "--no-progress"])
    args.data, args.epochs, args.iters_per_epoch = data, 1, 2
    ckpts = root / "ckpt"
    args.out = ckpts / "cylinder2d" / "diano-temporal.safetensors"
    args.run_dir = root / "run"
    train_one("cylinder2d", "diano", args)
    from diano.checkpoints import update_manifest

    update_manifest(args.out, ckpts)
    return root, ckpts


@pytest.fixture
def evaluate_env(trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """``diano evaluate`` pointed at the test's data cache and checkpoint root."""
    root, ckpts = trained
    monkeypatch.setenv("DIANO_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("DIANO_CHECKPOINT_DIR", str(ckpts))


def test_period_from_strouhal_and_rollout_protocol(trained: tuple[Path, Path]) -> None:
    root, _ = trained
    flow = load(root / "data" / "cylinder2d" / "cylinder2d_re180.h5")
    assert period_steps(flow) == pytest.approx(20.0)  # St 1 at dt 0.05
    torch.manual_seed(0)
    model = build_model("diano", default_config("diano", "cylinder2d", "temporal", size="tiny"))
    result = evaluate_cases(model, [flow], n_starts=3, reencode=True)
    case = result["cases"]["cylinder2d_re180"]
    assert case["horizon"] == 39 and len(case["starts"]) == 1  # two periods do not fit in 40
    assert set(case["model"]) == {"0.1T", "0.5T", "1T"}
    # persistence is exact at step 0 and the time-mean field is the same at every horizon
    assert case["persistence"]["0.1T"] > 0 and case["reconstruction"] >= 0
    assert set(case["latent_corr_wake"]) == {"0T", "0.1T", "0.5T", "1T"}
    assert result["mean"]["model"]["1T"] == pytest.approx(case["model"]["1T"])


def test_noise_robustness_grows_with_noise(trained: tuple[Path, Path]) -> None:
    root, _ = trained
    flow = load(root / "data" / "cylinder2d" / "cylinder2d_re180.h5")
    model = build_model("diano", default_config("diano", "cylinder2d", "static", size="tiny"))
    model.set_normalizer({"mean": [0.0], "std": [float(np.std(flow.fields[:, 0]))]})
    out = noise_robustness(model, flow, torch.device("cpu"))
    assert list(out) == ["0%", "5%", "10%", "15%", "25%"]
    assert all(np.isfinite(v) for v in out.values())


def test_rollout_table_gives_each_benchmark_its_own_references(tmp_path: Path) -> None:
    def result(bench: str, persistence: float) -> dict:
        horizons = ("0.1T", "0.5T", "1T", "2T")
        return {
            "benchmark": bench, "model": "diano", "scenario": "temporal", "n_parameters": 1,
            "latent_shape": [1, 4], "compression_ratio": 4.0, "train_minutes": 1.0,
            "preset": None, "trained_horizon": 10, "path": f"{bench}.safetensors", "noise": {},
            "scores": {"mean": {
                "model": dict.fromkeys(horizons, 0.5),
                "persistence": dict.fromkeys(horizons, persistence),
                "time_mean": dict.fromkeys(horizons, 0.7),
            }},
        }  # fmt: skip

    text = markdown([result("cylinder2d", 0.25), result("stenosis2d", 0.75)], [], tmp_path)
    assert "| persistence (cylinder2d) | | | | 0.25 | 0.25 |" in text
    assert "| persistence (stenosis2d) | | | | 0.75 | 0.75 |" in text
    lines = text.splitlines()
    first = lines.index(next(x for x in lines if x.startswith("| diano (stenosis2d)")))
    assert lines[first - 1].startswith("| time-mean (cylinder2d)")


def test_ablation_rows_are_grouped_by_variant_over_seeds(tmp_path: Path) -> None:
    def run(variant: str, seed: int, error: float, learned: bool = False) -> dict:
        horizons = ("0.1T", "0.5T", "1T", "2T")
        return {
            "benchmark": "cylinder2d", "model": "diano", "scenario": "temporal",
            "n_parameters": 1, "latent_shape": [1, 4], "compression_ratio": 4.0,
            "train_minutes": 15.0, "preset": None, "trained_horizon": 10, "noise": {},
            "path": f"runs/ablation/{variant}-s{seed}/cylinder2d/diano-temporal.safetensors",
            "ablation": True,
            "learned_pde": {
                "fixed": {"nu": 0.004, "velocity": [0.85, 0.0]},
                "learned": {"nu": 0.002, "velocity": [0.8, 0.01]},
            } if learned else None,
            "scores": {"mean": {
                "one_step": error, "model": dict.fromkeys(horizons, error),
                "persistence": dict.fromkeys(horizons, 1.0),
                "time_mean": dict.fromkeys(horizons, 0.7),
            }},
        }  # fmt: skip

    static = {
        **run("tied", 0, 0.0), "scenario": "static", "trained_horizon": None,
        "path": "runs/ablation/tied-s0/cylinder2d/diano-static.safetensors",
        "scores": {"mean": {"rel_l2": 0.04, "latent_corr": 0.96}},
    }  # fmt: skip
    runs = [run("fs", 0, 0.1), run("fs", 1, 0.3), run("paper", 0, 0.8), run("fsl", 0, 0.2, True)]
    text = markdown([*runs, static], [], tmp_path)
    assert "| tied (cylinder2d) | 1 | 15 | 0.04 | 0.96 |" in text
    assert text.count("tied (cylinder2d)") == 1  # in the static table only, not the march
    assert "| fs (cylinder2d) | 2 | 15 | 0.2 (0.1–0.3) | 0.2 (0.1–0.3) |" in text
    assert "| paper (cylinder2d) | 1 | 15 | 0.8 | 0.8 |" in text
    assert "| fsl-s0 (cylinder2d) | 0.004 → 0.002 | (0.85, 0) → (0.8, 0.01) | 0.2 |" in text


@pytest.mark.usefixtures("evaluate_env")
def test_evaluate_writes_report_json_and_figures_keeping_text(tmp_path: Path) -> None:
    report = tmp_path / "results.md"
    report.write_text(f"# Results\n\nHand-written discussion.\n\n{BEGIN}\nold\n{END}\n\nClaims.\n")
    code = cli_main(
        [
            "evaluate",
            "--out",
            str(report),
            "--json",
            str(tmp_path / "r.json"),
            "--img",
            str(tmp_path / "img"),
            "--starts",
            "2",
        ]
    )
    assert code == 0
    text = report.read_text()
    assert "Hand-written discussion." in text and "Claims." in text and "\nold\n" not in text
    assert "| cylinder2d | diano | temporal |" in text and "persistence" in text
    results = json.loads((tmp_path / "r.json").read_text())
    assert results[0]["model"] == "diano" and results[0]["compression_ratio"] == pytest.approx(16.0)
    assert (tmp_path / "img" / "results_rollout_cylinder2d.png").stat().st_size > 1000


def test_evaluate_without_checkpoints_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "files": {}}))
    monkeypatch.setenv("DIANO_CHECKPOINT_DIR", str(tmp_path))
    assert cli_main(["evaluate", "--out", str(tmp_path / "r.md")]) != 0
    assert "no checkpoints to evaluate" in capsys.readouterr().err


class _PooledLatent(torch.nn.Module):
    """A model whose latent *is* the pooled field, marched by pure x-advection: the ideal
    a trained DIANO aims at, with a known answer for the edit measurement."""

    name = "ideal"
    scenario = "temporal"

    def __init__(self, config, n: int) -> None:
        super().__init__()
        from diano.solvers import AdvectionDiffusion2d

        self.config = config
        pde = config.pde
        self.solver = AdvectionDiffusion2d(
            config.latent_shape, nu=pde.nu, velocity=pde.velocity, dt=pde.dt, scheme="central2"
        )
        self.n = n

    def encode(self, u, mask=None):
        return torch.nn.functional.adaptive_avg_pool2d(u, self.config.latent_shape)

    def decode(self, z, output_shape=None):
        return torch.nn.functional.interpolate(
            z, size=output_shape or (self.n, self.n), mode="bilinear", align_corners=False
        )

    def step(self, z, n=1):
        return self.solver(z, n_steps=n)


def test_vortex_edit_on_an_ideal_latent_is_local_and_moves_with_the_flow(cache: Path) -> None:
    from diano.evaluation.edit import vortex_edit_response
    from diano.models.presets import cylinder_pde

    root = cache
    flow = load(root / "data" / "cylinder2d" / "cylinder2d_re180.h5")
    config = default_config("diano", "cylinder2d", "temporal")
    config = type(config)(
        **{**config.__dict__, "latent_shape": (16, 16), "pde": cylinder_pde(0.05)}
    )
    ideal = _PooledLatent(config, 32)
    narrow = vortex_edit_response(ideal, flow, x0=1.0, steps=(0, 10, 20, 30), bump_cells=1.0)
    wide = vortex_edit_response(ideal, flow, x0=1.0, steps=(0, 10, 20, 30), bump_cells=3.0)
    assert narrow["expected_speed"] == pytest.approx(0.85)
    assert narrow["sign"] > 0.9 and narrow["offset_cells"][0] < 0.5
    assert min(narrow["locality"]) > 0.9
    # a wide bump moves at the design speed; a one-cell bump is slower, because the
    # group velocity of central differences falls with the wavenumber (dispersion)
    assert wide["speed"] == pytest.approx(0.85, rel=0.1)
    assert 0.6 < narrow["speed"] < wide["speed"]
    verdict = edit_verdict(narrow, unit=" U∞")
    assert verdict.startswith("The edit itself") and "0.85 U∞" in verdict


def _response(sign, locality, offset, speed, expected=0.85):
    return {"sign": sign, "locality": [locality] * 3, "offset_cells": [offset, 0.5, 0.5],
            "speed": speed, "expected_speed": expected}  # fmt: skip


@pytest.mark.parametrize(
    ("response", "opening"),
    [
        (_response(-0.09, 0.34, 0.7, 0.39, None), "Not the edit"),  # the CNN-AE's answer
        (_response(float("nan"), 0.0, float("nan"), float("nan")), "Not the edit"),
        (_response(0.31, 0.32, 1.6, 0.20), "Right sign (+0.31) but spread out"),
        (_response(0.9, 0.8, 2.5, 0.6), "Right sign"),  # local, but somewhere else
        (_response(0.9, 0.7, 0.3, 0.3), "Local"),  # stays put: lags the latent
        (_response(0.9, 0.69, 0.29, 0.64), "The edit itself"),  # carrier + edit term
        (_response(1.0, 0.6, 0.0, 0.35, None), "The edit itself"),  # no latent speed known
    ],
)
def test_edit_verdict_says_what_a_measured_response_means(response, opening) -> None:
    assert edit_verdict(response).startswith(opening)


def test_edit_verdict_tells_a_local_edit_that_spreads_while_marching() -> None:
    # the shipped DIANO with its learned rate: 95 % local when put, 49 % after 40 steps
    response = {"sign": 0.92, "locality": [0.95, 0.88, 0.74, 0.63, 0.49],
                "offset_cells": [0.15, 0.17, 0.31, 0.36, 0.44], "steps": [0, 10, 20, 30, 40],
                "speed": 0.72, "expected_speed": 0.85}  # fmt: skip
    verdict = edit_verdict(response, unit=" U∞")
    assert verdict.startswith("Local where it was put (sign +0.92, 95% within 2 cells")
    assert "49% within 2 cells after 40 steps" in verdict and "0.72 U∞" in verdict
    # spread from the start is not this case
    spread = {**response, "locality": [0.4, 0.4, 0.4, 0.4, 0.4]}
    assert edit_verdict(spread).startswith("Right sign")


@pytest.mark.usefixtures("evaluate_env")
def test_evaluate_only_keeps_the_other_results_and_their_figures(tmp_path: Path) -> None:
    other = {
        "path": "elsewhere/stenosis2d/diano-static.safetensors",
        "benchmark": "stenosis2d",
        "model": "diano",
        "scenario": "static",
        "n_parameters": 10,
        "latent_shape": [1, 4, 4],
        "compression_ratio": 2.0,
        "preset": "",
        "train_minutes": 1.0,
        "scores": {"cases": {"a": {}}, "mean": {"reconstruction": 0.25}},
        "noise": {"0%": 0.25},
        "ablation": False,
        "source": "cache",
    }
    (tmp_path / "r.json").write_text(json.dumps([other]))
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "results_spectrum_stenosis2d.png").write_bytes(b"png")
    report = tmp_path / "results.md"
    args = ["evaluate", "--out", str(report), "--json", str(tmp_path / "r.json")]
    args += ["--img", str(tmp_path / "img"), "--starts", "2", "--source", "cache"]
    assert cli_main([*args, "--only", "cylinder2d/diano-temporal"]) == 0
    results = json.loads((tmp_path / "r.json").read_text())
    assert [r["benchmark"] for r in results] == ["cylinder2d", "stenosis2d"]
    assert results[0]["spectra"]["slope_truth"] < 0  # kept in the JSON for the next figures
    assert "spectra" not in results[1]  # the kept result is written back as it was read
    text = report.read_text()
    assert "| stenosis2d | diano | static |" in text and "| 0.25 |" in text
    assert "| cache, 1 case |" in text
    assert "results_spectrum_stenosis2d.png" in text and "results_rollout_cylinder2d.png" in text
    # the transport bound of the street next to the marched latent
    assert "| truth, exact transport at 0.85 U∞ |" in text
    assert "| truth, exact transport at 0.85 U∞, amplitude matched along x |" in text
    assert "| diano latent, marched (" in text


def test_many_to_one_scores_read_diano_latent_pressure_against_pooled_truth() -> None:
    from diano.data.flow import FlowData
    from diano.evaluation.scores import map_scores
    from diano.metrics import pool_to

    torch.manual_seed(0)
    model = build_model("diano", default_config("diano", "coronary3d", "many_to_one", size="tiny"))
    model.eval()
    shape = model.config.grid_shape
    g = np.random.default_rng(0)
    fields = g.standard_normal((1, 4, *shape)).astype(np.float32)
    mask = np.zeros(shape, bool)
    mask[:, 4:12, 4:12] = True
    fields[:, :, ~mask] = 0.0
    flow = FlowData(fields, ("u", "v", "w", "p"), mask, {"t": np.zeros(1)}, {})
    scored = map_scores(model, [flow], torch.device("cpu"))
    assert set(scored) == {"rel_l2", "latent_corr", "latent_corr_velocity"}
    assert all(-1.0 <= scored[k] <= 1.0 for k in ("latent_corr", "latent_corr_velocity"))

    # a latent pressure equal to the pooled true pressure correlates exactly
    def ideal(inputs, m):
        z, latent_mask, _ = type(model).map_latents(model, inputs, m)
        p = torch.as_tensor(fields[:, 3:4])
        return z, latent_mask, pool_to(p, model.config.latent_shape, torch.as_tensor(mask))

    model.map_latents = ideal
    assert map_scores(model, [flow], torch.device("cpu"))["latent_corr"] == pytest.approx(1.0)
    baseline = build_model(
        "cnn_ae", default_config("cnn_ae", "coronary3d", "many_to_one", size="tiny")
    )
    assert set(map_scores(baseline, [flow], torch.device("cpu"))) == {"rel_l2"}


def test_one_cycle_stenosis_record_is_marched_for_two_cycles() -> None:
    """A one-cycle record continues periodically, so 1 and 2 cycles are scored and
    persistence is exact at whole cycles (it is not when the truth is not wrapped)."""
    from diano.data.flow import FlowData
    from diano.explore.synthetic import stenosis_channel

    case = stenosis_channel(n_times=20)
    coords = {k: v for k, (v, _) in case["coords"].items()}
    units = {k: u for k, (_, u) in case["coords"].items()}
    flow = FlowData(
        case["fields"], case["channels"], case["mask"] > 0, coords, units, case["attrs"]
    )
    assert flow.periodic and period_steps(flow) == pytest.approx(20.0)
    torch.manual_seed(0)
    model = build_model("diano", default_config("diano", "stenosis2d", "geometric", size="tiny"))
    result = evaluate_cases(model, [flow], n_starts=3)["cases"][flow.case_id]
    assert result["horizon"] == 40 and result["starts"] == [0, 10, 19]
    assert set(result["model"]) == {"0.1T", "0.5T", "1T", "2T"}
    assert result["persistence"]["1T"] == pytest.approx(0.0, abs=1e-6)
    assert result["persistence"]["2T"] == pytest.approx(0.0, abs=1e-6)
    assert result["persistence"]["0.5T"] > 0.1
    # DIANO's line is scored against the centreline velocity, encoded and marched
    line = result["latent_corr_line"]
    assert set(line) == {"0T", "0.1T", "0.5T", "1T", "2T"}
    assert all(-1.0 <= v <= 1.0 for v in line.values())
    assert "latent_corr_wake" not in result


def test_table_numbers_below_one_never_round_up_to_one():
    from diano.evaluation.command import _fmt

    assert _fmt(0.9997) == "0.9997"
    assert _fmt(-0.99996) == "-0.99996"
    assert _fmt(0.1234) == "0.123"
    assert _fmt(1.0004) == "1"
    assert _fmt(float("nan")) == "–"


def test_transport_bound_is_one_for_a_frozen_street_and_falls_at_a_wrong_speed(cache: Path) -> None:
    from diano.evaluation.transport import transport_bound
    from diano.training.data import tie_region

    flow = load(cache / "data" / "cylinder2d" / "cylinder2d_re180.h5")
    region = tie_region("cylinder2d", (16, 16), flow.coords, "wake")
    kwargs = {"latent_shape": (16, 16), "region": region, "x_s": 1.5, "n_starts": 4}
    steps = (5, 10, 20)
    right = transport_bound(flow, 0.85, steps, **kwargs)  # the street's own speed
    slow = transport_bound(flow, 0.5, steps, **kwargs)
    assert sorted(right) == list(steps)
    assert min(right.values()) > 0.97
    assert slow[20] < right[20] - 0.2 and slow[5] > slow[20]
    # the street's vortices keep their strength behind the source edge: nothing to match
    matched = transport_bound(flow, 0.85, steps, **kwargs, match_amplitude=True)
    assert matched[20] == pytest.approx(right[20], abs=0.02)
    # a street that grows then weakens downstream: matching the amplitude restores it
    import dataclasses

    x = np.asarray(flow.coords["x"])
    decaying = dataclasses.replace(
        flow, fields=flow.fields * np.exp(-((x - 3) ** 2))[None, None, None]
    )
    plain = transport_bound(decaying, 0.85, steps, **kwargs)
    fixed = transport_bound(decaying, 0.85, steps, **kwargs, match_amplitude=True)
    assert plain[20] < 0.85 and fixed[20] > 0.95
    with pytest.raises(ValueError, match="snapshots hold no"):
        transport_bound(flow, 0.85, (100,), **kwargs)
