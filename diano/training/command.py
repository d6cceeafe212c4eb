"""``diano train``: train a model on a generated data set and write its checkpoint.

    diano train BENCHMARK MODEL [--scenario S] [--preset default|paper|quick]
                [--device auto] [--epochs N] [--minutes M] [--seed N] [--resume] ...
    diano train --all [--preset default]       # every shipped checkpoint, one after another
    torchrun --nproc-per-node 2 -m diano train BENCHMARK MODEL ...   # DDP

The checkpoint goes to ``checkpoints/<benchmark>/<model>-<scenario>.safetensors`` for the
``default`` preset (the shipped layout, manifest updated) and under the run folder for other
presets, unless ``--out`` says where. It records the command, the training settings, the
latent PDE with its dt mapping and trained horizon, the training history, and the scores on
the committed samples (which the test suite re-checks) and on the held-out cases.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from diano.errors import ConfigError

#: the checkpoints the app ships: (benchmark, model, scenario)
SHIPPED: tuple[tuple[str, str, str], ...] = (
    ("cylinder2d", "diano", "temporal"),
    ("cylinder2d", "diano", "static"),
    ("cylinder2d", "cnn_ae", "temporal"),
    ("cylinder2d", "cno", "temporal"),
    ("cylinder2d", "mlp_ae", "temporal"),
    ("stenosis2d", "diano", "geometric"),
    ("stenosis2d", "cnn_ae", "geometric"),
    ("stenosis2d", "cno", "geometric"),
    ("stenosis2d", "mlp_ae", "geometric"),
    ("coronary3d", "diano", "many_to_one"),
    ("coronary3d", "cnn_ae", "many_to_one"),
    ("coronary3d", "cno", "many_to_one"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options to ``parser``."""
    from diano.training.config import RECIPES

    parser.add_argument("benchmark", nargs="?", help="cylinder2d, stenosis2d or coronary3d")
    parser.add_argument("model", nargs="?", help="diano, cno, cnn_ae or mlp_ae")
    parser.add_argument("--all", action="store_true", help="train every shipped checkpoint")
    parser.add_argument("--scenario", default=None, help="scenario (default: the benchmark's)")
    parser.add_argument(
        "--preset", default="default", choices=sorted(RECIPES), help="training recipe"
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    parser.add_argument(
        "--data", type=Path, default=None, help="data folder (default: the generated set)"
    )
    parser.add_argument("--out", type=Path, default=None, help="checkpoint file to write")
    parser.add_argument("--run-dir", type=Path, default=None, help="folder of the resumable state")
    parser.add_argument(
        "--resume", action="store_true", help="continue from the run folder's state"
    )
    parser.add_argument(
        "--force", action="store_true", help="with --all: retrain existing checkpoints"
    )
    parser.add_argument("--half", action="store_true", help="store the weights in float16")
    parser.add_argument(
        "--learnable-pde", action="store_true", help="train nu and the velocity too"
    )
    parser.add_argument(
        "--scheme",
        choices=("central2", "central4", "oucs2"),
        default=None,
        help="latent PDE stencil",
    )
    parser.add_argument("--nu", type=float, default=None, help="latent PDE diffusivity")
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="latent advection speed along the flow: cylinder2d in U∞ (default 0.85, the "
        "vortex convection speed), stenosis2d in window lengths per cardiac cycle (default "
        "1.0: the march is exactly periodic with the cycle)",
    )
    parser.add_argument(
        "--carrier",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cylinder2d temporal DIANO: a two-channel latent, an open field fed at the "
        "cylinder by a periodic carrier (readable over the whole box and still shedding; the "
        "default recipe's choice); --no-carrier keeps the single periodic latent (the measured "
        "recipe 'fs' with --tie-region wake)",
    )
    parser.add_argument(
        "--correction",
        type=int,
        default=None,
        metavar="WIDTH",
        help="carrier latent: a learned local rate (two 3×3 convolutions of WIDTH hidden "
        "channels, on the field and the position) in the latent PDE downstream of the source; "
        "the default recipe's is 16, 0 is the pure advection–diffusion",
    )
    parser.add_argument(
        "--standing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stenosis2d geometric DIANO: a two-channel line, a standing profile the march "
        "leaves alone plus a travelling part, their sum tied to the centreline velocity read "
        "from the vorticity (a readable line; the default recipe's choice); --no-standing "
        "keeps the one-channel phase line",
    )
    parser.add_argument(
        "--skip-kernel",
        type=int,
        default=None,
        metavar="K",
        help="DIANO: width of the Fourier blocks' skip convolution (odd; 1 is the paper's "
        "pointwise map, 3 a local 3×3 kernel next to the truncated spectrum; default: the "
        "recipe's)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    for name, kind in (
        ("epochs", int), ("iters-per-epoch", int), ("minutes", float), ("batch-size", int),
        ("lr", float), ("seed", int), ("k-start", int), ("k-max", int), ("n-decoded", int),
        ("tie-weight", float), ("recon-weight", float), ("patience", int), ("num-workers", int),
        ("edit-weight", float), ("edit-amplitude", float), ("edit-start", float),
        ("edit-steps", int),
    ):  # fmt: skip
        parser.add_argument(
            f"--{name}", type=kind, default=None, help=f"override the preset's {name}"
        )
    parser.add_argument(
        "--tie-region", choices=("wake", "box"), default=None, help="where the tie is measured"
    )
    parser.add_argument("--holdout", choices=("random", "time"), default=None, help="static split")
    parser.add_argument(
        "--field-loss",
        choices=("mse", "relative"),
        default=None,
        help="compare decoded fields by the mean squared error of the normalised fields, or by "
        "their squared relative L2 per snapshot, which weighs a pulsatile flow's slow phase as "
        "much as its peak (default: the recipe's)",
    )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "epochs", "iters_per_epoch", "minutes", "batch_size", "lr", "seed", "k_start", "k_max",
        "n_decoded", "tie_weight", "recon_weight", "patience", "num_workers", "tie_region",
        "holdout", "edit_weight", "edit_amplitude", "edit_start", "edit_steps", "field_loss",
    )  # fmt: skip
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def model_config(
    benchmark: str,
    model: str,
    scenario: str | None,
    preset: str,
    snapshot_dt: float | None,
    train_re: list[float],
    learnable: bool,
    pde_changes: dict[str, Any] | None = None,
    speed: float | None = None,
    carrier: bool | None = None,
    standing: bool | None = None,
    skip_kernel: int | None = None,
) -> Any:
    """The model config for a recipe, with the latent PDE set from the data's time step
    (``pde_changes``, e.g. ``{"scheme": "oucs2"}``, override its fields; ``speed`` sets the
    advection speed along the flow, in U∞ for the cylinder wake and in window lengths per
    cardiac cycle for the stenosis; ``carrier`` makes the cylinder's temporal latent a
    carrier latent, :func:`~diano.models.presets.carrier_config`, or keeps it periodic;
    ``None`` leaves it to the recipe; ``standing`` likewise makes the stenosis line a
    standing profile plus a travelling part, :func:`~diano.models.presets.standing_config`;
    ``skip_kernel`` sets the width of DIANO's skip convolutions, ``None`` leaves it to the
    recipe)."""
    from diano.models.presets import (
        carrier_config,
        cylinder_pde,
        default_config,
        paper_config,
        standing_config,
        stenosis_pde,
    )
    from diano.training.config import recipe

    rec = recipe(preset)
    config = default_config(model, benchmark, scenario, size=rec.model_size)
    if skip_kernel is None and model == "diano":
        skip_kernel = rec.skip_kernel.get((benchmark, config.scenario))
    if model != "diano":
        if skip_kernel is not None:
            raise ConfigError(f"--skip-kernel sets DIANO's Fourier blocks, not {model!r}'s")
        return config
    if rec.latent == "paper":
        re = float(sum(train_re) / len(train_re)) if train_re else 100.0
        config = paper_config(benchmark, config.scenario, re=re)
        if rec.model_size == "tiny":
            config = dataclasses.replace(
                default_config(model, benchmark, scenario, size="tiny"), pde=config.pde
            )
    elif benchmark == "cylinder2d" and config.scenario == "temporal":
        re = float(sum(train_re) / len(train_re)) if train_re else 100.0
        kwargs = {"snapshot_dt": snapshot_dt} if snapshot_dt else {}
        if speed is not None:
            kwargs["speed"] = speed
        if kwargs:
            config = dataclasses.replace(config, pde=cylinder_pde(re=re, **kwargs))
    elif benchmark == "stenosis2d" and config.scenario == "geometric" and speed is not None:
        config = dataclasses.replace(config, pde=stenosis_pde(windows_per_cycle=speed))
    marched = (benchmark, config.scenario) in (
        ("cylinder2d", "temporal"),
        ("stenosis2d", "geometric"),
    )
    if speed is not None and (rec.latent == "paper" or not marched):
        raise ConfigError(
            "--speed sets the default recipe's latent advection (cylinder2d temporal, "
            f"stenosis2d geometric); not {benchmark} {config.scenario} with preset {preset!r}"
        )
    if learnable:
        config = dataclasses.replace(config, learnable_pde=True)
    changes = {k: v for k, v in (pde_changes or {}).items() if v is not None}
    correction = changes.pop("correction", None)
    if changes:
        if config.pde is None or not hasattr(config.pde, "scheme"):
            raise ConfigError(
                f"--scheme and --nu apply to a latent advection PDE; {config.scenario} has none"
            )
        config = dataclasses.replace(config, pde=dataclasses.replace(config.pde, **changes))
    carrier_able = (benchmark, config.scenario) == ("cylinder2d", "temporal")
    if carrier is None:
        carrier = rec.carrier and carrier_able
        if carrier and learnable:
            raise ConfigError(
                "the default cylinder2d temporal latent is a carrier latent with fixed "
                "coefficients; add --no-carrier to learn nu and the velocity"
            )
    if carrier:
        if not carrier_able or rec.latent == "paper":
            raise ConfigError(
                "--carrier applies to the default recipe's cylinder2d temporal latent, not "
                f"{benchmark} {config.scenario} with preset {preset!r}"
            )
        if learnable:
            raise ConfigError("--carrier keeps the latent PDE fixed; drop --learnable-pde")
        config = carrier_config(config)
    standing_able = (benchmark, config.scenario) == ("stenosis2d", "geometric")
    if standing is None:
        standing = rec.standing and standing_able and rec.latent != "paper"
    if standing:
        if not standing_able or rec.latent == "paper":
            raise ConfigError(
                "--standing applies to the default recipe's stenosis2d geometric line, not "
                f"{benchmark} {config.scenario} with preset {preset!r}"
            )
        config = standing_config(config)
    if correction is None:  # the recipe's, on its carrier latent
        correction = rec.correction if carrier else 0
    if correction:
        if not carrier:
            raise ConfigError("--correction adds a learned rate to a carrier latent; drop it")
        config = dataclasses.replace(
            config, pde=dataclasses.replace(config.pde, correction=int(correction))
        )
    if skip_kernel is not None:
        config = dataclasses.replace(config, skip_kernel=int(skip_kernel))
    return config


def train_one(
    benchmark: str, model_name: str, args: argparse.Namespace, scenario: str | None = None
) -> Path:
    """Train one model and write its checkpoint; returns the checkpoint path."""
    import torch

    from diano.checkpoints import checkpoint_path, save_checkpoint, update_manifest
    from diano.data import load
    from diano.device import resolve_device
    from diano.evaluation.protocols import evaluate_cases
    from diano.models import build_model
    from diano.models.registry import config_to_dict
    from diano.training.config import recipe
    from diano.training.data import open_cases, tie_region, training_data
    from diano.training.loop import init_distributed, train

    device = resolve_device(args.device)
    rank, world = init_distributed(device)
    rec = recipe(args.preset)
    cases = open_cases(benchmark, args.data, "train")
    train_re = [r for r in cases.reynolds if r is not None]
    from diano.training.data import _snapshot_dt

    mcfg = model_config(
        benchmark,
        model_name,
        scenario,
        args.preset,
        _snapshot_dt(cases),
        train_re,
        args.learnable_pde,
        {
            "scheme": getattr(args, "scheme", None),
            "nu": getattr(args, "nu", None),
            "correction": getattr(args, "correction", None),
        },
        getattr(args, "speed", None),
        getattr(args, "carrier", None),
        getattr(args, "standing", None),
        getattr(args, "skip_kernel", None),
    )
    carrier = bool(getattr(mcfg, "carrier", False))
    standing = bool(getattr(getattr(mcfg, "pde", None), "standing", 0))
    tcfg = rec.train_config(
        mcfg.scenario, model_name, carrier, standing=standing, **_overrides(args)
    )
    data = training_data(benchmark, mcfg, tcfg, args.data)
    torch.manual_seed(tcfg.seed)
    model = build_model(model_name, mcfg)
    model.set_normalizer(data.in_stats, data.out_stats)
    latent_grid = tuple(model.latent_shape[1:])
    region = tie_region(benchmark, latent_grid, data.coords, tcfg.tie_region)
    # edits go where a person edits a flow: the wake (on the cylinder), anywhere otherwise
    edit_region = tie_region(benchmark, latent_grid, data.coords, "wake")
    tag = f"{model_name}-{mcfg.scenario}" + ("" if args.preset == "default" else f"-{args.preset}")
    run_dir = args.run_dir or Path("runs") / benchmark / f"{tag}-s{tcfg.seed}"
    if rank == 0:
        print(
            f"{benchmark} {model_name} ({mcfg.scenario}, preset {args.preset}): "
            f"{model.n_parameters:,} parameters, {len(data.train)} training and "
            f"{len(data.val)} validation samples from {data.source}; run folder {run_dir}"
        )
    start = time.perf_counter()
    history = train(
        model, data.train, data.val, tcfg,
        device=device, run_dir=run_dir, tie_region=region, edit_region=edit_region,
        resume=args.resume,
        progress_bar=not args.no_progress,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if rank != 0:
        return Path()
    model = model.cpu().eval()
    if args.half:
        # score the weights as they will be stored, so the reported numbers reproduce
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    metrics: dict[str, Any] = {
        "val_score": history.best_score,
        "train_minutes": round(history.seconds / 60.0, 2),
        "n_parameters": model.n_parameters,
    }
    try:
        sample = load(benchmark)  # the committed samples
    except Exception as exc:  # noqa: BLE001 - no samples yet: record why
        metrics["samples"] = f"not scored: {exc}"[:200]
    else:
        scored = evaluate_cases(model, list(sample), max_steps=None, n_starts=3)
        metrics["samples"] = scored
        metrics.update(_headline(mcfg.scenario, scored, "sample"))
    try:
        heldout = open_cases(benchmark, args.data, "heldout")
    except Exception as exc:  # noqa: BLE001
        metrics["heldout"] = f"not scored: {exc}"[:200]
    else:
        scored = evaluate_cases(model, list(heldout), n_starts=5)
        metrics["heldout"] = scored
        metrics.update(_headline(mcfg.scenario, scored, "heldout"))
    out = args.out
    if out is None:
        out = (
            checkpoint_path(benchmark, model_name, mcfg.scenario)
            if args.preset == "default"
            else run_dir / benchmark / f"{model_name}-{mcfg.scenario}.safetensors"
        )
    pde = getattr(mcfg, "pde", None)
    extra = {
        "preset": args.preset,
        "recipe": rec.describe(mcfg.scenario, carrier, standing),
        "train_config": dataclasses.asdict(tcfg),
        "trained_horizon": tcfg.k_max if mcfg.scenario in ("temporal", "geometric") else 0,
        "snapshot_dt": data.snapshot_dt,
        "latent_pde": config_to_dict(pde) if dataclasses.is_dataclass(pde) else None,
        "dt_mapping": "one latent step of the latent PDE's dt per snapshot interval "
        f"({data.snapshot_dt} in the data's time unit)"
        if pde is not None and mcfg.scenario != "many_to_one"
        else None,
        "train_cases": data.cases,
        "history": history.epochs,
        "stopped": history.stopped,
        "wall_seconds": round(seconds, 1),
        "device": str(device),
        "world_size": world,
    }
    if getattr(mcfg, "learnable_pde", False):
        extra["learned_pde"] = _learned(model)
    command = (
        "diano train " + " ".join(shlex.quote(a) for a in reproducing_args(sys.argv[2:]))
        if sys.argv[1:2] == ["train"]
        else (
            f"diano train {benchmark} {model_name} --scenario {mcfg.scenario} "
            f"--preset {args.preset}"
        )
    )
    info = save_checkpoint(
        model, out, benchmark=benchmark, metrics=metrics, data_sha256=data.sha256,
        command=command, extra=extra, half=args.half,
    )  # fmt: skip
    if args.out is None and args.preset == "default":
        update_manifest(out)
    print(
        f"wrote {out} ({info.sha256[:12]}); "
        + json.dumps(
            _headline(mcfg.scenario, metrics.get("samples", {}), "sample")
            if isinstance(metrics.get("samples"), dict)
            else {}
        )
    )
    return out


def _learned(model: Any) -> dict[str, Any]:
    solver = getattr(model, "solver", None)
    out: dict[str, Any] = {}
    for name in ("nu", "velocity"):
        value = getattr(solver, name, None)
        if value is not None and hasattr(value, "detach"):
            out[name] = value.detach().cpu().reshape(-1).tolist()
    return out


def _headline(scenario: str, scored: dict[str, Any], prefix: str) -> dict[str, float]:
    """A few scalars for the manifest: reconstruction or rollout errors at 1 and 2 periods."""
    mean = scored.get("mean", {}) if isinstance(scored, dict) else {}
    out: dict[str, float] = {}
    if scenario == "static" or scenario == "many_to_one":
        if "rel_l2" in mean:
            out[f"{prefix}_rel_l2"] = mean["rel_l2"]
        if "latent_corr" in mean:
            out[f"{prefix}_latent_corr"] = mean["latent_corr"]
        return out
    for key in ("0.5T", "1T", "2T"):
        if key in mean.get("model", {}):
            out[f"{prefix}_rollout_{key}"] = mean["model"][key]
    if "latent_corr_wake" in mean and "0T" in mean["latent_corr_wake"]:
        out[f"{prefix}_latent_corr_wake"] = mean["latent_corr_wake"]["0T"]
    if "latent_corr_line" in mean and "0T" in mean["latent_corr_line"]:
        out[f"{prefix}_latent_corr_line"] = mean["latent_corr_line"]["0T"]
    return out


def reproducing_args(argv: list[str]) -> list[str]:
    """The ``train`` arguments that reproduce a checkpoint, free of this machine: the scratch
    folder (``--run-dir``, which does not change the result) is dropped and ``--out`` is made
    relative to the repository where it lies inside it."""
    from diano.reporting import portable_path

    out: list[str] = []
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name == "--run-dir":
            if not eq:
                next(args, None)
            continue
        if name == "--out":
            value = value if eq else next(args, "")
            out += ["--out", portable_path(value)]
            continue
        out.append(arg)
    return out


def run(args: argparse.Namespace) -> int:
    """Train one model (or every shipped one with ``--all``); returns the exit status."""
    if args.all:
        from diano.checkpoints import checkpoint_path

        for benchmark, model, scenario in SHIPPED:
            path = checkpoint_path(benchmark, model, scenario)
            if path.exists() and not args.force:
                print(f"{path} exists; skipped (--force retrains)")
                continue
            train_one(benchmark, model, args, scenario)
        return 0
    if not args.benchmark or not args.model:
        raise ConfigError(
            "name a benchmark and a model (e.g. `diano train cylinder2d diano`), or use --all"
        )
    from diano import BENCHMARKS
    from diano.models import MODELS

    if args.benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {args.benchmark!r}; valid names: {list(BENCHMARKS)}")
    if args.model not in MODELS:
        raise ConfigError(f"unknown model {args.model!r}; valid names: {sorted(MODELS)}")
    from diano.models.presets import default_config

    default_config(args.model, args.benchmark, args.scenario)  # an unsupported scenario fails here
    train_one(args.benchmark, args.model, args, args.scenario)
    return 0
