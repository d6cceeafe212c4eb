"""Small fixture checkpoints and sample cases for the app's tests, benchmark and screenshots.

Writes, under ``ROOT``:

* ``samples/cylinder2d_re180.h5`` and ``cylinder2d_re225.h5``: synthetic vortex streets
  (:func:`diano.explore.vortex_street`, Lamb–Oseen vortices convecting behind a cylinder);
* ``checkpoints/cylinder2d/<model>-temporal.safetensors`` for every registered model, built
  from ``default_config(model, "cylinder2d", "temporal", size="tiny")`` with random weights
  (or, with ``--fit-steps``, fitted for a few seconds to the street), plus ``manifest.json``;
* with ``--benchmarks stenosis2d coronary3d`` (:func:`make_geometric_fixture`): a synthetic
  stenosed channel ``samples/stenosis2d_syn.h5`` and two tubes ``samples/coronary3d_syn*.h5``
  (:mod:`diano.explore.synthetic`) and random-weight ``stenosis2d/<model>-geometric`` and
  ``coronary3d/<model>-many_to_one`` checkpoints of every model with a preset there.

Point the app at them with ``DIANO_CHECKPOINT_DIR=ROOT/checkpoints`` and
``DIANO_SAMPLES_DIR=ROOT/samples``::

    python scripts/make_fixture_checkpoints.py /tmp/fixture --fit-steps 300
    DIANO_CHECKPOINT_DIR=/tmp/fixture/checkpoints DIANO_SAMPLES_DIR=/tmp/fixture/samples \\
        streamlit run app.py
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from diano import MODEL_NAMES
from diano.checkpoints import checkpoint_path, save_checkpoint, update_manifest
from diano.data import load, sha256_file, write_case
from diano.explore import vortex_street
from diano.explore.synthetic import stenosis_channel, vessel_tube
from diano.models.presets import (
    carrier_config,
    default_config,
    standing_config,
    supported_scenarios,
)
from diano.models.registry import build_model

BENCHMARK = "cylinder2d"
CASES = (180.0, 225.0)
#: the trained horizon recorded in the fixtures' metadata (steps)
HORIZON = 20


def _config(
    name: str,
    grid: int,
    latent: int | None,
    size: str = "tiny",
    carrier: bool = False,
    correction: int = 0,
):
    config = default_config(name, BENCHMARK, "temporal", size=size)
    if latent is not None and hasattr(config, "latent_shape"):
        config = dataclasses.replace(config, grid_shape=(grid, grid), latent_shape=(latent, latent))
    if carrier and name == "diano":
        config = carrier_config(config)
        if correction:
            pde = dataclasses.replace(config.pde, correction=correction)
            config = dataclasses.replace(config, pde=pde)
    return config


def _fit(model: torch.nn.Module, fields: torch.Tensor, steps: int) -> float:
    """A few seconds of Adam on reconstruction plus one-step prediction (for pictures only)."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss = torch.zeros(())
    for _ in range(steps):
        index = torch.randint(0, fields.shape[0] - 1, (8,))
        u0, u1 = fields[index], fields[index + 1]
        z = model.encode(u0)
        rec = model.decode(z, output_shape=tuple(u0.shape[2:]))
        nxt = model.decode(model.step(z), output_shape=tuple(u0.shape[2:]))
        loss = ((rec - u0) ** 2).mean() + ((nxt - u1) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return float(loss.detach())


def make_fixture(
    root: str | Path,
    n: int = 64,
    n_times: int = 60,
    latent: int | None = None,
    fit_steps: int = 0,
    models: tuple[str, ...] = MODEL_NAMES,
    size: str = "tiny",
    carrier: bool = False,
    correction: int = 0,
) -> tuple[Path, Path]:
    """Write the fixture cases and checkpoints; return ``(checkpoint_dir, samples_dir)``.

    Args:
        root: folder to write into (created).
        n: grid size of the cases (``n × n``).
        n_times: snapshots per case.
        latent: latent size ``M`` for the grid-latent models (default: the tiny preset's).
        fit_steps: Adam steps fitting each model to the first case (0: random weights).
        models: which registered models to save.
        size: preset size, ``"tiny"`` (tests) or ``"default"`` (the shipped models' size,
            for timings; use ``n=128``).
        carrier: DIANO's latent is a carrier latent (two channels; needs ``latent`` >= 8).
        correction: with ``carrier``, the width of a learned local rate in its latent PDE
            (its zero-initialised output layer filled with random weights, so it acts).
    """
    root = Path(root)
    samples, checkpoints = root / "samples", root / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    for re in CASES:
        case = vortex_street(n=n, n_times=n_times, re=re)
        write_case(samples / f"{BENCHMARK}_re{re:g}.h5", **case, overwrite=True)
    data = load(samples / f"{BENCHMARK}_re{CASES[0]:g}.h5")
    data_sha = sha256_file(data.path)
    torch.manual_seed(0)
    for name in models:
        model = build_model(name, _config(name, n, latent, size, carrier, correction))
        rate = getattr(getattr(model, "solver", None), "correction", None)
        if rate is not None:
            with torch.no_grad():
                rate.out.weight.normal_(0.0, 0.2)
        channels = list(model.config.in_channels)
        model.set_normalizer(data.normalizer_stats(channels))
        fields = data.torch(channels)
        loss = _fit(model, fields, fit_steps) if fit_steps else None
        path = checkpoint_path(BENCHMARK, name, "temporal", checkpoints)
        command = (
            f"python scripts/make_fixture_checkpoints.py {root} --n {n} --times {n_times} "
            f"--size {size} --fit-steps {fit_steps}"
            + (f" --latent {latent}" if latent is not None else "")
            + (" --carrier" if carrier else "")
            + (f" --correction {correction}" if correction else "")
        )
        metrics = {"fixture": "random weights" if not fit_steps else f"fitted {fit_steps} steps"}
        if loss is not None:
            metrics["train_loss"] = loss
        save_checkpoint(
            model,
            path,
            benchmark=BENCHMARK,
            metrics=metrics,
            data_sha256=data_sha,
            command=command,
            extra={"trained_horizon": HORIZON},
        )
        update_manifest(path, root=checkpoints)
    return checkpoints, samples


def _save_random(
    model: torch.nn.Module, benchmark: str, scenario: str, data, checkpoints: Path, command: str
) -> None:
    """Random weights with the case's normaliser, saved and added to the manifest."""
    model.set_normalizer(
        data.normalizer_stats(list(model.config.in_channels)),
        data.normalizer_stats(list(model.config.out_channels)),
    )
    path = checkpoint_path(benchmark, model.name, scenario, checkpoints)
    save_checkpoint(
        model,
        path,
        benchmark=benchmark,
        metrics={"fixture": "random weights"},
        data_sha256=sha256_file(data.path),
        command=command,
    )
    update_manifest(path, root=checkpoints)


def make_geometric_fixture(
    root: str | Path,
    stenosis: tuple[int, int, int] = (16, 64, 12),
    vessel: int = 32,
    models: tuple[str, ...] = MODEL_NAMES,
    benchmarks: tuple[str, ...] = ("stenosis2d", "coronary3d"),
    standing: bool = False,
) -> tuple[Path, Path]:
    """Synthetic ``stenosis2d`` and ``coronary3d`` cases and tiny random-weight checkpoints.

    Args:
        root: folder to write ``samples/`` and ``checkpoints/`` into (created).
        stenosis: ``(H, W, T)`` of the stenosed channel; DIANO's grid is set to ``(H, W)``
            and its line to ``W / 4`` points, the baselines keep their tiny grids.
        vessel: ``n`` of the ``n³`` tubes (Re 60 and 80); DIANO's grid is set to ``n³``
            (latent 8³).
        models: registered models to save (those with a preset for the benchmark).
        benchmarks: which of the two to write.
        standing: DIANO's stenosis line with a standing profile plus a travelling part
            (:func:`~diano.models.presets.standing_config`).

    Returns:
        ``(checkpoint_dir, samples_dir)``.
    """
    root = Path(root)
    samples, checkpoints = root / "samples", root / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    command = f"python scripts/make_fixture_checkpoints.py {root} --benchmarks " + " ".join(
        benchmarks
    )
    torch.manual_seed(0)
    if "stenosis2d" in benchmarks:
        h, w, n_times = stenosis
        path = write_case(
            samples / "stenosis2d_syn.h5", **stenosis_channel(h, w, n_times), overwrite=True
        )
        data = load(path)
        for name in models:
            if "geometric" not in supported_scenarios(name, "stenosis2d"):
                continue
            config = default_config(name, "stenosis2d", "geometric", size="tiny")
            if name == "diano":
                config = dataclasses.replace(config, grid_shape=(h, w), latent_shape=(w // 4,))
                if standing:
                    config = standing_config(config)
            model = build_model(name, config)
            _save_random(model, "stenosis2d", "geometric", data, checkpoints, command)
    if "coronary3d" in benchmarks:
        path = write_case(samples / "coronary3d_syn.h5", **vessel_tube(vessel), overwrite=True)
        other = vessel_tube(vessel, severity=0.35, re=80.0, seed=1)
        write_case(samples / "coronary3d_syn_b.h5", **other, overwrite=True)
        data = load(path)
        for name in models:
            if "many_to_one" not in supported_scenarios(name, "coronary3d"):
                continue
            config = default_config(name, "coronary3d", "many_to_one", size="tiny")
            if name == "diano":
                config = dataclasses.replace(config, grid_shape=(vessel,) * 3)
            model = build_model(name, config)
            _save_random(model, "coronary3d", "many_to_one", data, checkpoints, command)
    return checkpoints, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder to write samples/ and checkpoints/ into")
    parser.add_argument("--n", type=int, default=64, help="grid size of the cases")
    parser.add_argument("--times", type=int, default=60, help="snapshots per case")
    parser.add_argument("--latent", type=int, default=None, help="latent size M (grid latents)")
    parser.add_argument("--fit-steps", type=int, default=0, help="Adam steps per model")
    parser.add_argument("--size", choices=("tiny", "default"), default="tiny", help="presets")
    parser.add_argument(
        "--benchmarks",
        nargs="+",
        choices=(BENCHMARK, "stenosis2d", "coronary3d"),
        default=(BENCHMARK,),
        help="benchmarks to write fixtures for (stenosis2d, coronary3d: synthetic cases)",
    )
    parser.add_argument(
        "--stenosis",
        nargs=3,
        type=int,
        default=(64, 256, 24),
        metavar=("H", "W", "T"),
        help="grid and snapshots of the synthetic stenosis case",
    )
    parser.add_argument("--vessel", type=int, default=64, help="n of the synthetic n³ vessel")
    parser.add_argument(
        "--standing", action="store_true", help="DIANO's stenosis line: standing + travelling"
    )
    parser.add_argument(
        "--carrier", action="store_true", help="DIANO with a carrier latent (--latent >= 8)"
    )
    parser.add_argument(
        "--correction", type=int, default=0, help="with --carrier: width of a learned local rate"
    )
    args = parser.parse_args()
    if BENCHMARK in args.benchmarks:
        ckpt, samples = make_fixture(
            args.root,
            args.n,
            args.times,
            args.latent,
            args.fit_steps,
            size=args.size,
            carrier=args.carrier,
            correction=args.correction,
        )
    others = tuple(b for b in args.benchmarks if b != BENCHMARK)
    if others:
        ckpt, samples = make_geometric_fixture(
            args.root, tuple(args.stenosis), args.vessel, benchmarks=others, standing=args.standing
        )
    print(f"DIANO_CHECKPOINT_DIR={ckpt} DIANO_SAMPLES_DIR={samples}")


if __name__ == "__main__":
    main()
