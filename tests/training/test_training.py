"""Training: recipes, losses, the loop (resume, DDP on CPU), the CLI and its errors.

The data are small synthetic vortex streets (:func:`diano.explore.vortex.vortex_street`)
written as case files, so the tests need no generated set.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from diano.checkpoints import load_checkpoint
from diano.cli import main as cli_main
from diano.errors import CheckpointError, ConfigError, DataError
from diano.metrics import latent_correlation
from diano.models import build_model
from diano.models.presets import default_config
from diano.training import TrainConfig, recipe, train
from diano.training.command import add_arguments, reproducing_args, train_one
from diano.training.data import tie_region, training_data
from diano.training.objectives import Objective, decoded_steps, random_bumps


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory, street_writer) -> Path:
    folder = tmp_path_factory.mktemp("street")
    street_writer(folder, 100.0, "train")
    street_writer(folder, 150.0, "train")
    street_writer(folder, 180.0, "heldout")
    return folder


def _args(**changes: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["cylinder2d", "diano", "--preset", "quick", "--no-progress"])
    for key, value in changes.items():
        setattr(args, key, value)
    return args


def test_horizon_curriculum_and_schedule() -> None:
    cfg = TrainConfig(k_start=4, k_max=100, k_ramp=0.5, warmup=0.1)
    assert cfg.horizon(0.0) == 4 and cfg.horizon(0.5) == 100 and cfg.horizon(1.0) == 100
    ks = [cfg.horizon(p) for p in np.linspace(0, 0.5, 11)]
    assert ks == sorted(ks) and 4 < ks[5] < 100
    assert cfg.lr_factor(0.05) == pytest.approx(0.5)
    assert cfg.lr_factor(0.1) == pytest.approx(1.0)
    assert cfg.lr_factor(1.0) == pytest.approx(0.02)
    with pytest.raises(ConfigError, match="k_start"):
        TrainConfig(k_start=5, k_max=2)
    with pytest.raises(ConfigError, match="unknown preset"):
        recipe("nope")


def test_decoded_steps_include_first_and_last() -> None:
    rng = np.random.default_rng(0)
    for k in (1, 2, 3, 10, 100):
        steps = decoded_steps(k, 4, rng)
        assert steps[0] == 1 and steps[-1] == k and len(steps) == min(k, 4)
        assert steps == sorted(set(steps))


def test_one_step_recipe_is_teacher_forcing(street: Path) -> None:
    """K = 1 without reconstruction is the paper's loss: decode(step(encode(u0))) vs u1."""
    cfg = recipe("paper").train_config("temporal")
    config = default_config("diano", "cylinder2d", "temporal", size="tiny")
    model = build_model("diano", config)
    u = torch.randn(2, 2, 1, 32, 32)
    mask = torch.ones(2, 1, 1, 32, 32, dtype=torch.bool)
    terms = Objective(model, cfg)({"u": u, "mask": mask}, 1, [1])
    pred = model.decode(model.step(model.encode(u[:, 0])), (32, 32))
    assert float(terms.total.detach()) == pytest.approx(
        float(((pred - u[:, 1]) ** 2).mean().detach()), rel=1e-5
    )
    assert set(terms.parts) == {"rollout"}


def test_tie_is_scale_invariant_and_restricted_to_the_wake(street: Path) -> None:
    cfg = TrainConfig(tie_weight=1.0)
    config = default_config("diano", "cylinder2d", "static", size="tiny")
    model = build_model("diano", config)
    x = np.linspace(-2 + 0.125, 6 - 0.125, 32)
    region = tie_region("cylinder2d", (8, 8), {"x": x, "y": x}, "wake")
    assert region.shape == (8, 8) and not region[:, :3].any() and region[:, 3:].all()
    objective = Objective(model, cfg, region)
    truth = torch.randn(2, 1, 32, 32)
    z = torch.nn.functional.avg_pool2d(truth, 4)
    assert float(objective.tie(z, truth, None)) == pytest.approx(0.0, abs=1e-6)
    assert float(objective.tie(3.0 * z, truth, None)) == pytest.approx(0.0, abs=1e-6)
    assert float(objective.tie(-z, truth, None)) == pytest.approx(2.0, abs=1e-6)


def test_random_bumps_sit_in_the_region_with_their_image_on_the_data_grid() -> None:
    torch.manual_seed(3)
    field = torch.randn(64, 1, 8, 16)
    region = torch.zeros(8, 16, dtype=torch.bool)
    region[2:6, 9:14] = True
    bump, image = random_bumps(field, (32, 64), region, sigma_cells=(1.0, 1.0))
    assert bump.shape == (64, 1, 8, 16) and image.shape == (64, 1, 32, 64)
    peak = bump.flatten(1).abs().argmax(dim=1)
    rows, cols = peak // 16, peak % 16
    assert bool(region[rows, cols].all())  # the peak cell is one of the region's
    # the image is the bump seen on the finer grid: same sign, same place
    pooled = torch.nn.functional.avg_pool2d(image, 4)
    corr = latent_correlation(bump, image)
    assert float(corr.min()) > 0.95
    assert bool((torch.sign(bump.flatten(1).sum(1)) == torch.sign(pooled.flatten(1).sum(1))).all())
    # peaks of one to three latent standard deviations
    ratio = bump.flatten(1).abs().amax(1) / field.flatten(1).std(1)
    assert float(ratio.min()) > 0.8 and float(ratio.max()) <= 3.0 + 1e-6


class _Reader(torch.nn.Module):
    """A stand-in DIANO whose decoder reads the latent as the field (or ignores it)."""

    name, scenario, latent_shape = "diano", "static", (1, 8, 8)

    def __init__(self, reads: bool) -> None:
        super().__init__()
        self.reads = reads
        self.w = torch.nn.Parameter(torch.ones(()))

    def decode(self, z: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        if not self.reads:
            return self.w * torch.ones(z.shape[0], 1, *shape)
        return self.w * torch.nn.functional.interpolate(z[:, :1], size=shape, mode="bilinear")


def test_edit_term_rewards_a_decoder_that_reads_the_latent_as_the_field() -> None:
    torch.manual_seed(0)
    z = torch.randn(6, 1, 8, 8)
    cfg = TrainConfig(edit_weight=1.0)
    reader = Objective(_Reader(True), cfg)
    assert reader.edit_on
    decoded = reader.model.decode(z, (32, 32))
    assert float(reader.edit(z, decoded, None).detach()) < 0.05  # the bump decodes to itself
    blind = Objective(_Reader(False), cfg)
    blind_term = blind.edit(z, blind.model.decode(z, (32, 32)), None).detach()
    assert float(blind_term) == pytest.approx(1.0)
    assert not Objective(_Reader(True), TrainConfig(edit_weight=0.0)).edit_on


class _Marcher(_Reader):
    """A reader whose latent moves one cell along x every 25 steps (0.5 box/time, dt 0.01,
    8 cells), exactly, or not at all (``moves=False``)."""

    scenario = "temporal"

    def __init__(self, moves: bool = True) -> None:
        super().__init__(True)
        self.moves = moves
        self.config = SimpleNamespace(pde=SimpleNamespace(velocity=(0.5, 0.0), dt=0.01, box=None))

    def step(self, z: torch.Tensor, n: int = 1) -> torch.Tensor:
        return torch.roll(z, n // 25, dims=-1) if self.moves else z


def test_marched_edit_term_asks_the_edit_to_move_with_the_latent(monkeypatch) -> None:
    torch.manual_seed(0)
    z = torch.randn(6, 1, 8, 8)
    region = torch.zeros(8, 8, dtype=torch.bool)
    region[2:6, 2:5] = True  # away from the x edge the roll wraps across
    cfg = TrainConfig(edit_weight=1.0, edit_steps=50)
    terms = {}
    for moves in (True, False):
        objective = Objective(_Marcher(moves), cfg, edit_region=region)
        monkeypatch.setattr(objective, "_edit_march", lambda: 50)  # two cells
        torch.manual_seed(1)
        decoded = objective.model.decode(z, (32, 32))
        terms[moves] = float(objective.edit(z, decoded, None).detach())
    assert terms[True] < 0.05  # the bump decodes to itself where the latent carried it
    assert terms[False] > 0.3  # an edit left behind is not where the flow takes it
    assert Objective(_Marcher(), cfg)._latent_shift(25) == pytest.approx(0.125)
    # drawn steps lie in 0..edit_steps; a static model never marches
    objective = Objective(_Marcher(), cfg)
    assert {objective._edit_march() for _ in range(200)} <= set(range(51))
    assert Objective(_Reader(True), cfg)._edit_march() == 0
    with pytest.raises(ConfigError, match="edit_steps"):
        TrainConfig(edit_steps=-1)


def test_edit_amplitude_sets_the_range_of_the_bump_peaks(monkeypatch) -> None:
    from diano.training import objectives

    drawn = []

    def spy(*args, **kwargs):
        bump, image = random_bumps(*args, **kwargs)
        drawn.append(bump.flatten(1).abs().amax(1) / args[0].flatten(1).std(1))
        return bump, image

    monkeypatch.setattr(objectives, "random_bumps", spy)
    torch.manual_seed(1)
    z = torch.randn(256, 1, 8, 8)
    objective = Objective(_Reader(True), TrainConfig(edit_weight=1.0, edit_amplitude=0.4))
    objective.edit(z, objective.model.decode(z, (32, 32)), None)
    peaks = drawn[0]
    assert float(peaks.min()) > 0.1 and float(peaks.max()) <= 0.6 + 1e-6  # [0.2, 0.6]·std
    assert float(peaks.max()) > 0.5  # the whole range is drawn, not just its lower end
    with pytest.raises(ConfigError, match="edit_amplitude"):
        TrainConfig(edit_amplitude=0.0)


def test_edit_term_waits_for_edit_start() -> None:
    late = Objective(_Reader(True), TrainConfig(edit_weight=1.0, edit_start=0.6))
    assert late.edit_used and not late.edit_on  # the loop has not moved the progress yet
    late.progress = 0.59
    assert not late.edit_on
    late.progress = 0.6
    assert late.edit_on
    with pytest.raises(ConfigError, match="edit_start"):
        TrainConfig(edit_start=1.0)


def test_edit_term_joins_the_rollout_loss_of_a_carrier_latent() -> None:
    import dataclasses

    from diano.models.presets import carrier_config

    tiny = default_config("diano", "cylinder2d", "temporal", size="tiny")
    config = carrier_config(dataclasses.replace(tiny, latent_shape=(8, 8)))
    torch.manual_seed(1)
    model = build_model("diano", config)
    shape = config.grid_shape
    u = torch.randn(2, 4, len(config.in_channels), *shape)
    batch = {"u": u, "mask": torch.ones(2, 1, 1, *shape, dtype=torch.bool)}
    plain = Objective(model, TrainConfig(edit_weight=0.0))(batch, 3, (1, 3))
    assert "edit" not in plain.parts
    torch.manual_seed(2)
    edited = Objective(model, TrainConfig(edit_weight=0.5))(batch, 3, (1, 3))
    assert 0.0 <= edited.parts["edit"] <= 2.0
    assert edited.parts["rollout"] == pytest.approx(plain.parts["rollout"], rel=1e-5)
    assert float(edited.total.detach()) == pytest.approx(
        float(plain.total.detach()) + 0.5 * edited.parts["edit"], rel=1e-4
    )
    edited.total.backward()
    assert all(p.grad is not None for p in model.decoder.parameters() if p.requires_grad)


def test_many_to_one_tie_reads_the_latent_velocities_against_the_pooled_input() -> None:
    config = default_config("diano", "coronary3d", "many_to_one", size="tiny")
    torch.manual_seed(0)
    model = build_model("diano", config)
    shape = config.grid_shape
    mask = torch.zeros(1, 1, *shape, dtype=torch.bool)
    mask[..., 4:12, 4:12] = True
    inputs = torch.randn(2, 3, *shape) * mask
    batch = {"inputs": inputs, "target": torch.randn(2, 1, *shape) * mask, "mask": mask}
    plain = Objective(model, TrainConfig(tie_weight=0.0))(batch)
    assert set(plain.parts) == {"map"}
    tied = Objective(model, TrainConfig(tie_weight=0.5))(batch)
    assert set(tied.parts) == {"map", "tie"}
    assert tied.parts["map"] == pytest.approx(plain.parts["map"], rel=1e-5)
    with torch.no_grad():
        z, _, _ = model.map_latents(inputs, mask)
    expected = np.mean(
        [
            float((1 - latent_correlation(z[:, c : c + 1], inputs[:, c : c + 1], mask=mask)).mean())
            for c in range(3)
        ]
    )
    assert tied.parts["tie"] == pytest.approx(expected, rel=1e-5)
    assert float(tied.total.detach()) == pytest.approx(
        plain.parts["map"] + 0.5 * expected, rel=1e-5
    )
    tied.total.backward()
    assert all(p.grad is not None for p in model.encoders.parameters())


def test_quick_preset_writes_a_loadable_checkpoint_with_metadata(
    street: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cylinder2d" / "diano-temporal.safetensors"
    args = _args(data=street, out=out, run_dir=tmp_path / "run", epochs=2, iters_per_epoch=2)
    train_one("cylinder2d", "diano", args)
    model, info = load_checkpoint(out)
    assert model.scenario == "temporal"
    extra = info.extra
    assert extra["trained_horizon"] == 4 and extra["snapshot_dt"] == pytest.approx(0.05)
    assert extra["latent_pde"]["velocity"][0] == pytest.approx(0.85 * 0.05 / 8.0 / 0.01)
    assert len(extra["history"]) == 2
    held = info.metrics["heldout"]["cases"]["cylinder2d_re180"]
    assert set(held["model"]) == {"0.1T", "0.5T", "1T"} and "persistence" in held
    assert "diano train" in info.command
    assert (tmp_path / "run" / "last.pt").is_file()


def test_resume_continues_and_refuses_other_settings(street: Path, tmp_path: Path) -> None:
    config = default_config("diano", "cylinder2d", "static", size="tiny")
    cfg = recipe("quick").train_config("static").replace(epochs=2, iters_per_epoch=2)
    data = training_data("cylinder2d", config, cfg, street)

    def fresh() -> torch.nn.Module:
        torch.manual_seed(0)
        model = build_model("diano", config)
        model.set_normalizer(data.in_stats)
        return model

    def run(model, folder: str, settings=cfg, resume: bool = False):
        return train(
            model,
            data.train,
            data.val,
            settings,
            device=torch.device("cpu"),
            run_dir=tmp_path / folder,
            resume=resume,
            progress_bar=False,
        )

    full = fresh()
    h_full = run(full, "a")
    run(fresh(), "b", cfg.replace(epochs=1))
    with pytest.raises(CheckpointError, match="other training settings"):
        run(fresh(), "b", resume=True)
    with pytest.raises(CheckpointError, match="no training state"):
        run(fresh(), "c", resume=True)
    assert h_full.iterations == 4 and len(h_full.epochs) == 2
    # resuming a finished run with the same settings keeps its history and weights
    again = fresh()
    h_again = run(again, "a", resume=True)
    assert h_again.iterations == 4
    for a, b in zip(full.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_bad_arguments_give_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["train", "cylinder9d", "diano"]) != 0
    assert "unknown benchmark" in capsys.readouterr().err
    assert cli_main(["train", "cylinder2d", "transformer"]) != 0
    assert "unknown model" in capsys.readouterr().err
    assert cli_main(["train", "cylinder2d", "diano", "--data", str(tmp_path / "none")]) != 0
    err = capsys.readouterr().err
    assert "none" in err
    assert cli_main(["train", "cylinder2d", "diano", "--scenario", "many_to_one"]) != 0
    assert "scenario" in capsys.readouterr().err


def test_rollout_horizon_longer_than_the_data_is_refused(street: Path) -> None:
    config = default_config("diano", "cylinder2d", "temporal", size="tiny")
    cfg = TrainConfig(k_max=60)
    with pytest.raises(DataError, match="rollout horizon of 60"):
        training_data("cylinder2d", config, cfg, street)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, folder: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world)
    )
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    try:
        config = default_config("diano", "cylinder2d", "temporal", size="tiny")
        cfg = recipe("quick").train_config("temporal").replace(epochs=1, iters_per_epoch=3)
        data = training_data("cylinder2d", config, cfg, folder)
        torch.manual_seed(0)
        model = build_model("diano", config)
        model.set_normalizer(data.in_stats)
        train(
            model,
            data.train,
            data.val,
            cfg,
            device=torch.device("cpu"),
            run_dir=Path(out) / f"r{rank}",
            progress_bar=False,
        )
        flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        torch.save(flat, Path(out) / f"params{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def test_ddp_on_cpu_with_two_gloo_processes_keeps_replicas_equal(
    street: Path, tmp_path: Path
) -> None:
    torch.multiprocessing.spawn(
        _ddp_worker, args=(2, _free_port(), str(street), str(tmp_path)), nprocs=2, join=True
    )
    p0, p1 = torch.load(tmp_path / "params0.pt"), torch.load(tmp_path / "params1.pt")
    assert torch.equal(p0, p1)
    torch.manual_seed(0)
    initial = build_model("diano", default_config("diano", "cylinder2d", "temporal", size="tiny"))
    start = torch.cat([p.detach().reshape(-1) for p in initial.parameters()])
    assert not torch.equal(p0, start)  # they trained


def test_model_config_sets_the_latent_pde_from_the_data_and_flags() -> None:
    from diano.training.command import model_config

    config = model_config("cylinder2d", "diano", "temporal", "default", 0.05, [100.0, 200.0], False)
    assert config.pde.velocity[0] == pytest.approx(0.85 * 0.05 / 8.0 / 0.01)
    assert config.pde.nu == pytest.approx(0.01 * 2.0 / 150.0)
    assert config.pde.scheme == "central2"
    oucs = model_config(
        "cylinder2d",
        "diano",
        "temporal",
        "default",
        0.05,
        [100.0],
        True,
        {"scheme": "oucs2", "nu": 1e-3},
        None,
        False,
    )
    assert oucs.pde.scheme == "oucs2" and oucs.pde.nu == 1e-3 and oucs.learnable_pde
    paper = model_config("cylinder2d", "diano", "temporal", "paper", 0.05, [100.0, 200.0], False)
    assert paper.pde.velocity == (1.0, 1.0) and paper.pde.nu == pytest.approx(2.0 / 150.0)
    with pytest.raises(ConfigError, match="latent advection PDE"):
        model_config(
            "cylinder2d", "diano", "static", "default", 0.05, [100.0], False, {"scheme": "oucs2"}
        )


def test_correction_flag_adds_a_learned_rate_to_the_carrier_latent_only() -> None:
    from diano.training.command import model_config

    args = ("cylinder2d", "diano", "temporal", "default", 0.05, [100.0], False)
    corrected = model_config(*args, {"correction": 8})
    assert corrected.carrier and corrected.pde.correction == 8
    assert model_config(*args).pde.correction == 16  # the default recipe's
    assert model_config(*args, {"correction": 0}).pde.correction == 0  # --correction 0
    assert model_config(*args, None, None, False).pde.correction == 0  # --no-carrier: none
    paper = model_config("cylinder2d", "diano", "temporal", "paper", 0.05, [100.0], False)
    assert paper.pde.correction == 0
    with pytest.raises(ConfigError, match="carrier latent"):
        model_config(*args, {"correction": 16}, None, False)  # --no-carrier


def test_skip_kernel_flag_sets_diano_blocks_only() -> None:
    from diano.training.command import model_config

    args = ("cylinder2d", "diano", "static", "default", 0.05, [100.0], False)
    assert model_config(*args).skip_kernel == 3  # the default recipe's on the cylinder
    assert model_config(*args, skip_kernel=1).skip_kernel == 1
    kw = {"skip_kernel": 3}
    paper = model_config("cylinder2d", "diano", "temporal", "paper", 0.05, [100.0], False)
    assert paper.skip_kernel == 1  # the paper's pointwise skip
    paper = model_config("cylinder2d", "diano", "temporal", "paper", 0.05, [100.0], False, **kw)
    assert paper.skip_kernel == 3 and paper.pde.velocity == (1.0, 1.0)
    for benchmark, scenario in (("cylinder2d", "temporal"), ("coronary3d", None)):
        other = model_config(benchmark, "diano", scenario, "default", 0.05, [100.0], False)
        assert other.skip_kernel == 1
    with pytest.raises(ConfigError, match="skip_kernel is odd"):
        model_config(*args, skip_kernel=4)
    with pytest.raises(ConfigError, match="--skip-kernel"):
        model_config("cylinder2d", "cnn_ae", "temporal", "default", 0.05, [100.0], False, **kw)


def test_speed_sets_the_latent_advection_in_each_benchmarks_units() -> None:
    from diano.training.command import model_config

    cyl = model_config(
        "cylinder2d", "diano", "temporal", "default", 0.05, [150.0], False, None, 0.5
    )
    assert cyl.pde.velocity == pytest.approx((0.5 * 0.05 / 8.0 / 0.01, 0.0))
    assert cyl.pde.nu == pytest.approx(0.01 * 2.0 / 150.0)
    once = model_config("stenosis2d", "diano", None, "default", 0.01, [], False)
    # one window length per cycle: 100 snapshots of dt = 0.01 carry the line once round
    assert once.pde.velocity[0] * once.pde.dt * 100 == pytest.approx(1.0)
    faster = model_config("stenosis2d", "diano", None, "default", 0.01, [], False, None, 3.15)
    assert faster.pde.velocity == pytest.approx((3.15,))
    for benchmark, scenario, preset in (
        ("coronary3d", None, "default"),
        ("cylinder2d", "static", "default"),
        ("cylinder2d", "temporal", "paper"),
    ):
        with pytest.raises(ConfigError, match="--speed"):
            model_config(benchmark, "diano", scenario, preset, 0.05, [100.0], False, None, 1.0)


def test_recipes_describe_what_they_train_per_scenario() -> None:
    default = recipe("default")
    assert default.describe("temporal") == default.description
    assert "rollout" in default.describe("temporal")
    assert "many-to-one" in default.describe("many_to_one")
    assert "rollout" not in default.describe("many_to_one")
    assert "authors" in recipe("paper").describe("many_to_one")
    assert "carrier" in default.describe("temporal", carrier=True)
    assert "carrier" not in default.describe("temporal")  # the baselines and --no-carrier
    assert recipe("paper").describe("temporal", carrier=True) == recipe("paper").description


def test_recorded_command_is_free_of_this_machines_paths() -> None:
    repo = Path(__file__).resolve().parents[2]
    argv = [
        "coronary3d", "cno", "--run-dir", "/scratch/run1", "--half",
        "--out", str(repo / "checkpoints" / "coronary3d" / "cno.safetensors"),
        "--run-dir=/scratch/run2", "--out=/elsewhere/cno.safetensors",
    ]  # fmt: skip
    assert reproducing_args(argv) == [
        "coronary3d", "cno", "--half",
        "--out", "checkpoints/coronary3d/cno.safetensors",
        "--out", "/elsewhere/cno.safetensors",
    ]  # fmt: skip


def test_default_recipe_ties_the_3d_latent_and_batches_the_3d_cno_by_two() -> None:
    rec = recipe("default")
    assert rec.train_config("many_to_one", "diano").tie_weight == 0.5
    assert rec.train_config("many_to_one", "cnn_ae").batch_size == 4
    assert rec.train_config("many_to_one", "cno").batch_size == 2
    assert rec.train_config("many_to_one", "cno", batch_size=3).batch_size == 3  # CLI wins
    assert recipe("paper").train_config("many_to_one", "diano").tie_weight == 0.0
    assert rec.train_config("static", "diano").tie_weight == 0.5  # the static latent is tied
    assert rec.train_config("static", "diano").tie_region == "box"


def test_default_cylinder_latent_is_a_carrier_and_the_flag_reaches_nothing_else() -> None:
    from diano.training.command import model_config

    for carrier in (None, True):  # the default recipe's choice, or asked for
        config = model_config(
            "cylinder2d", "diano", "temporal", "default", 0.05, [150.0], False, None, None, carrier
        )
        assert config.carrier and config.latent_channels == 2
        assert config.pde.source == (3, 7) and config.pde.boundary == ("upwind", "periodic")
        assert config.pde.velocity[0] == pytest.approx(0.85 * 0.05 / 8.0 / 0.01)
    model = build_model("diano", config)
    assert model.latent_shape == (2, 16, 16)
    periodic = model_config(
        "cylinder2d", "diano", "temporal", "default", 0.05, [150.0], False, None, None, False
    )
    assert not periodic.carrier and periodic.latent_channels == 1
    assert periodic.pde.boundary == ("periodic", "periodic")
    for preset in ("paper", "quick"):  # their latents stay single and periodic
        other = model_config("cylinder2d", "diano", "temporal", preset, 0.05, [150.0], False)
        assert not other.carrier
    for model_name in ("cnn_ae", "cno"):
        assert model_config("cylinder2d", model_name, "temporal", "default", 0.05, [150.0], False)
    # the recipe ties a carrier's field over the whole box, a periodic latent in the wake
    rec = recipe("default")
    assert rec.train_config("temporal", "diano", carrier=True).tie_region == "box"
    assert rec.train_config("temporal", "diano").tie_region == "wake"
    assert rec.train_config("temporal", "diano", True, tie_region="wake").tie_region == "wake"
    # and asks a carrier's decoder to answer a latent bump with the same bump; nothing else
    assert rec.train_config("temporal", "diano", carrier=True).edit_weight == 0.5
    assert rec.train_config("temporal", "diano", True, edit_weight=0.0).edit_weight == 0.0
    assert rec.train_config("temporal", "diano").edit_weight == 0.0
    assert recipe("paper").train_config("temporal", "diano").edit_weight == 0.0
    with pytest.raises(ConfigError, match="--no-carrier"):
        model_config("cylinder2d", "diano", "temporal", "default", 0.05, [100.0], True)
    for benchmark, scenario, preset, learnable in (
        ("stenosis2d", None, "default", False),
        ("cylinder2d", "static", "default", False),
        ("cylinder2d", "temporal", "paper", False),
        ("cylinder2d", "temporal", "default", True),
    ):
        with pytest.raises(ConfigError, match="--carrier"):
            model_config(
                benchmark, "diano", scenario, preset, 0.05, [100.0], learnable, None, None, True
            )
    # without the flag, the other benchmarks and scenarios are untouched
    assert not model_config("stenosis2d", "diano", None, "default", 0.01, [], False).carrier
    assert not model_config("cylinder2d", "diano", "static", "default", 0.05, [], False).carrier


def test_line_tie_reads_a_standing_line_as_the_centreline_velocity() -> None:
    import dataclasses

    from diano.explore.synthetic import stenosis_channel
    from diano.metrics import line_correlation
    from diano.models.presets import standing_config

    config = standing_config(default_config("diano", "stenosis2d", "geometric", size="tiny"))
    config = dataclasses.replace(config, grid_shape=(64, 256), latent_shape=(32,))
    torch.manual_seed(0)
    model = build_model("diano", config)
    case = stenosis_channel(n_times=8)
    mask = torch.as_tensor(case["mask"] > 0)[None, None, None]  # (1, 1, 1, H, W)
    u = torch.as_tensor(case["fields"][None, :4, :1])  # (1, 4, 1, H, W)
    batch = {"u": u, "mask": mask}
    plain = Objective(model, TrainConfig(tie_weight=0.0))(batch, 3, (1, 3))
    assert "tie" not in plain.parts
    objective = Objective(model, TrainConfig(tie_weight=0.5))
    tied = objective(batch, 3, (1, 3))
    assert 0.0 <= tied.parts["tie"] <= 2.0
    assert tied.parts["rollout"] == pytest.approx(plain.parts["rollout"], rel=1e-5)
    tied.total.backward()
    assert model.encoder.lift.weight.grad.abs().sum() > 0
    # a line that is the pooled centreline velocity scores 0 on the encoded term; a marched
    # line scores on what the march changed too
    from diano.metrics import centreline_velocity, pool_to

    m = mask[:, 0]
    truth = pool_to(centreline_velocity(u[:, 0, 0], m[0, 0]), (32,))
    line = torch.stack([truth, 0 * truth], dim=1)  # standing part = the line, nothing moves
    assert float(objective.line_tie(line, u[:, 0], m)) == pytest.approx(0.0, abs=1e-6)
    later = u[:, 2]
    held = float(objective.line_tie(line, later, m, (line, u[:, 0])))
    # a held line explains none of the change: that half of the term is 1
    reading = float(line_correlation(line, later, m))
    assert held == pytest.approx(0.5 * (1.0 - reading) + 0.5, abs=1e-5)
    moved = torch.stack(
        [truth, pool_to(centreline_velocity(later[:, 0] - u[:, 0, 0], m[0, 0]), (32,))], 1
    )
    assert float(objective.line_tie(moved, later, m, (line, u[:, 0]))) == pytest.approx(
        0.0, abs=1e-5
    )
    # a whole cycle later the flow is back: the change half is left out, the gradient finite
    z = line.clone().requires_grad_(True)
    noisy = z + 0.1 * torch.randn_like(line)
    back = objective.line_tie(noisy, u[:, 0], m, (z, u[:, 0]))
    back.backward()
    assert torch.isfinite(z.grad).all()
    expected = objective.line_tie(noisy.detach(), u[:, 0], m)
    assert float(back) == pytest.approx(float(expected), rel=1e-6)


def test_standing_flag_makes_the_stenosis_line_two_channels_tied() -> None:
    from diano.training.command import model_config

    # the default recipe's line is standing plus travelling; --no-standing keeps one channel
    default = model_config("stenosis2d", "diano", None, "default", 0.01, [], False)
    assert default.latent_channels == 2 and default.pde.standing == 1
    plain = model_config(
        "stenosis2d", "diano", None, "default", 0.01, [], False, None, None, None, False
    )
    assert plain.latent_channels == 1 and plain.pde.standing == 0
    flagged = model_config(
        "stenosis2d", "diano", None, "default", 0.01, [], False, None, None, None, True
    )
    assert flagged == default
    assert flagged.pde.velocity == plain.pde.velocity
    # the paper's recipe and the others keep their own lines
    assert model_config("stenosis2d", "diano", None, "paper", 0.01, [], False).pde.standing == 0
    assert model_config("stenosis2d", "diano", None, "quick", 0.01, [], False).pde.standing == 0
    rec = recipe("default")
    standing = rec.train_config("geometric", "diano", standing=True)
    assert standing.tie_weight == 0.5 and standing.field_loss == "relative"
    plain_cfg = rec.train_config("geometric", "diano")
    assert plain_cfg.tie_weight == 0.0 and plain_cfg.field_loss == "mse"
    assert rec.train_config("temporal", "diano", carrier=True).field_loss == "mse"
    assert (
        rec.train_config("geometric", "diano", standing=True, field_loss="mse").field_loss == "mse"
    )
    assert "centreline velocity" in rec.describe("geometric", standing=True)
    assert "relative error" in rec.describe("geometric", standing=True)
    for benchmark, scenario, preset in (
        ("cylinder2d", "temporal", "default"),
        ("stenosis2d", None, "paper"),
    ):
        with pytest.raises(ConfigError, match="--standing"):
            model_config(
                benchmark, "diano", scenario, preset, 0.05, [], False, None, None, None, True
            )
    # the baselines have no latent line
    assert not hasattr(
        model_config("stenosis2d", "cnn_ae", None, "default", 0.01, [], False, standing=True),
        "pde",
    )


def test_relative_field_loss_is_the_squared_rel_l2_and_weighs_weak_snapshots_alike() -> None:
    from diano.metrics import rel_l2
    from diano.training.objectives import normalised_mse, relative_mse

    config = default_config("diano", "cylinder2d", "static", size="tiny")
    model = build_model("diano", config)
    model.out_norm.std.fill_(2.0)
    torch.manual_seed(0)
    truth = torch.randn(3, 1, 16, 16)
    pred = truth + 0.1 * torch.randn_like(truth)
    mask = torch.ones(1, 1, 16, 16)
    mask[..., :4] = 0
    expected = float((rel_l2(pred, truth, mask, reduction="none") ** 2).mean())
    assert float(relative_mse(model, pred, truth, mask)) == pytest.approx(expected, rel=1e-5)
    assert float(relative_mse(model, pred, truth, None)) == pytest.approx(
        float((rel_l2(pred, truth, reduction="none") ** 2).mean()), rel=1e-5
    )
    # a snapshot with a tenth of the energy and the same relative error weighs the same;
    # the mean squared error all but ignores it
    weak = torch.cat([truth[:1], 0.1 * truth[1:2]])
    weak_pred = torch.cat([pred[:1], 0.1 * pred[1:2]])
    rel = relative_mse(model, weak_pred, weak, mask)
    strong = relative_mse(model, pred[:2], truth[:2], mask)
    assert float(rel) == pytest.approx(float(strong), rel=1e-3)  # up to the energy floor
    mse = normalised_mse(model, weak_pred, weak, mask)
    assert float(mse) < 0.6 * float(normalised_mse(model, pred[:2], truth[:2], mask))
    # a field with no energy is measured against a floor, not divided by zero
    zero = relative_mse(model, pred, torch.zeros_like(truth), mask)
    assert torch.isfinite(zero) and float(zero) > 1.0


def test_field_loss_setting_reaches_the_objective_and_the_command() -> None:
    config = default_config("diano", "stenosis2d", "geometric", size="tiny")
    model = build_model("diano", config)
    u = torch.randn(2, 3, 1, 32, 64)
    u[1] *= 0.05  # a weak window: the relative loss weighs it as much as the strong one
    mask = torch.ones(2, 1, 1, 32, 64, dtype=torch.bool)
    cfg = TrainConfig(tie_weight=0.0, recon_weight=0.0)
    mse = Objective(model, cfg)({"u": u, "mask": mask}, 2, [1, 2]).total
    rel = Objective(model, cfg.replace(field_loss="relative"))({"u": u, "mask": mask}, 2, [1, 2])
    std = float(model.out_norm.std)
    with torch.no_grad():
        z = model.encode(u[:, 0], mask[:, 0])
        steps = [model.decode(model.step(z, n), (32, 64)) for n in (1, 2)]
    expected_rel = np.mean(
        [float((((p - u[:, n]) ** 2).flatten(1).sum(1) / (u[:, n] ** 2).flatten(1).sum(1)).mean())
         for p, n in zip(steps, (1, 2), strict=True)]
    )  # fmt: skip
    expected_mse = np.mean(
        [float(((p - u[:, n]) ** 2).mean()) / std**2 for p, n in zip(steps, (1, 2), strict=True)]
    )
    # up to the energy floor (1e-6 of a unit variance per cell)
    assert float(rel.total.detach()) == pytest.approx(expected_rel, rel=1e-3)
    assert float(mse.detach()) == pytest.approx(expected_mse, rel=1e-4)
    with pytest.raises(ConfigError, match="field_loss"):
        TrainConfig(field_loss="l1")
    args = _args(field_loss="relative")
    from diano.training.command import _overrides

    assert _overrides(args)["field_loss"] == "relative"
    assert "field_loss" not in _overrides(_args())
