"""Lattice-Boltzmann generator throughput (MLUPS, compiled and eager) and time per data set.

For each generator lattice (cylinder2d 512×256 with sponge, stenosis2d 768×66 with sponges,
coronary3d 88×32×32: the 64-plane vessel of sample 0 with its straight end sections) the
step is timed compiled (``torch.compile``) and eager, on the CPU with
``torch.set_num_threads(--threads)`` and on CUDA when present. MLUPS = million lattice-node
updates per second; compile time is the first call. The time per data set is
(a) measured: the sum of the ``wall_seconds`` attributes of the generated files found in the
data cache (``diano.data.io.data_dir``), and (b) estimated: lattice steps of the set divided by
the measured compiled step rate (no snapshot or check overhead).

The result replaces the section between the ``bench_lbm`` markers of ``docs/benchmarks.md``::

    .venv/bin/python bench/bench_lbm.py             # writes docs/benchmarks.md
    .venv/bin/python bench/bench_lbm.py --no-write  # prints the section only
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from diano import __version__
from diano.data.generators import coronary, cylinder, stenosis
from diano.data.generators.geometry import cylinder_mask, stenosed_channel_mask
from diano.data.generators.vessel import build_vessel
from diano.data.simulators import D2Q9Channel, D3Q19Channel
from diano.data.simulators.lattice import sponge_ramp
from diano.reporting import cpu_name, write_section

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def _cylinder_sim(device: str, compile: bool) -> tuple[D2Q9Channel, float]:
    cfg = cylinder.CylinderConfig(re=100.0)
    d = cfg.diameter
    nx, ny = cfg.box[0] * d, cfg.box[1] * d
    solid = torch.from_numpy(cylinder_mask((ny, nx), (4 * d, 4 * d), d / 2 - 0.5))
    sponge = sponge_ramp(nx, nx - 1 - int(round(cfg.sponge[0] * d)), cfg.sponge[1])
    sim = D2Q9Channel(
        solid, cfg.tau, u0=cfg.u_lattice, sponge=sponge, device=device, compile=compile
    )
    return sim, cfg.u_lattice


def _stenosis_sim(device: str, compile: bool) -> tuple[D2Q9Channel, torch.Tensor]:
    cfg = stenosis.StenosisConfig(severity=0.5, re=125.0)
    h, nx = cfg.height, int(cfg.length * cfg.height)
    solid = torch.from_numpy(
        stenosed_channel_mask(nx, h, cfg.severity, cfg.centre * h, cfg.stenosis_length * h)
    )
    sponge = sponge_ramp(nx, nx - 1 - int(round(cfg.sponge[0] * h)), cfg.sponge[1])
    sponge = sponge + sponge_ramp(
        nx, int(round(cfg.inlet_sponge[0] * h)), cfg.inlet_sponge[1], side="inlet"
    )
    sim = D2Q9Channel(solid, cfg.tau, u0=cfg.u_mean, sponge=sponge, device=device, compile=compile)
    return sim, cfg.u_mean


def _coronary_sim(device: str, compile: bool) -> tuple[D3Q19Channel, torch.Tensor]:
    """Sample 0 of the set as the generator runs it: vessel, straight end sections, sponges."""
    cfg = coronary.CoronaryConfig(index=0)
    sample = coronary.draw_sample(cfg)
    vessel = build_vessel(sample.geometry, cfg.lattice)
    (n_pre, pre_peak), (n_post, post_peak) = cfg.inlet_sponge, cfg.outlet_sponge
    solid = coronary._extend(vessel.solid, n_pre, n_post)
    u0 = coronary._extend(
        coronary._initial_velocity(sample.geometry, vessel.solid, sample.u_lattice, cfg.diameter),
        n_pre,
        n_post,
    )
    n = solid.shape[2]
    sponge = sponge_ramp(n, n_pre, pre_peak, side="inlet") + sponge_ramp(
        n, n_post, post_peak, side="outlet"
    )
    sim = D3Q19Channel(
        torch.from_numpy(solid),
        sample.tau,
        u0=torch.from_numpy(u0),
        sponge=sponge,
        device=device,
        compile=compile,
    )
    return sim, torch.as_tensor(u0[:, :, 0], dtype=sim.dtype, device=sim.device)


LATTICES: dict[str, Callable[[str, bool], tuple[object, object]]] = {
    "cylinder2d": _cylinder_sim,
    "stenosis2d": _stenosis_sim,
    "coronary3d": _coronary_sim,
}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(name: str, device: str, compile: bool, seconds: float) -> dict:
    """Compile (first call) and run for about ``seconds``; return steps/s and MLUPS."""
    sim, u_in = LATTICES[name](device, compile)
    start = time.perf_counter()
    sim.step(u_in)
    _sync(device)
    first = time.perf_counter() - start
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(20):
            sim.step(u_in)
        n += 20
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    sim.check_stability()
    nodes = int(np.prod(sim.shape))
    rate = n / elapsed
    return {
        "lattice": "×".join(str(s) for s in sim.shape[::-1]),
        "nodes": nodes,
        "first": first,
        "steps_per_s": rate,
        "mlups": rate * nodes / 1e6,
        "compiled": sim.compiled,
    }


def set_steps(name: str) -> int:
    """Lattice steps of the full set of ``name`` (sum over its cases)."""
    if name == "cylinder2d":
        total = 0
        for cfg in cylinder.cases():
            every = max(1, round(cfg.dt_snapshot * cfg.steps_per_time))
            total += round(cfg.spinup * cfg.steps_per_time) + cfg.n_snapshots * every
        return total
    if name == "stenosis2d":
        return sum(round(cfg.n_cycles * cfg.period) for cfg in stenosis.cases())
    # coronary: steps depend on convergence; use the typical count measured in the cache
    return 0


def measured_set(name: str) -> tuple[int, float, float]:
    """Files in the data cache for ``name``, their summed ``wall_seconds`` and lattice steps
    (coronary)."""
    from diano.data.io import data_dir, read_info

    folder = data_dir(name)
    files = sorted(p for p in folder.glob("*.h5") if not p.name.startswith("."))
    seconds, steps = 0.0, 0.0
    for path in files:
        attrs = read_info(path).attrs
        seconds += float(attrs.get("wall_seconds", 0.0))
        steps += float(attrs.get("checks", {}).get("steps", 0.0))
    return len(files), seconds, steps


def render(
    rows: list[dict], sets: list[dict], args: argparse.Namespace, load: tuple[float, ...]
) -> str:
    lines = [
        "## Lattice-Boltzmann data generation",
        "",
        f"Measured by `bench/bench_lbm.py` on {dt.date.today().isoformat()}: {cpu_name()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, diano {__version__}, "
        f"`torch.set_num_threads({args.threads})`, load average {load[0]:.2f} at the start (the "
        "machine is shared, so rates are lower bounds). Step = collision, boundaries and streaming "
        f"of the generator's lattice; about {args.seconds:g} s of steps after the first "
        "(compiling) call.",
        "",
        "| lattice | device | mode | nodes | first call (s) | steps/s | MLUPS |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        mode = "compiled" if r["compiled"] else "eager"
        lines.append(
            f"| {r['name']} {r['lattice']} | {r['device']} | {mode} | {r['nodes']:,} | "
            f"{r['first']:.1f} | {r['steps_per_s']:.0f} | {r['mlups']:.1f} |"
        )
    lines += [
        "",
        "Time per full data set on the CPU (`diano generate <benchmark>`): *measured* is the sum "
        "of the `wall_seconds` attributes of the files in the data cache (blank when the set is "
        "not there), *estimated* is the set's lattice steps at the compiled rate above "
        "(coronary: the measured mean steps per sample × 200).",
        "",
        "| set | files | measured (min) | estimated (min) |",
        "|---|---:|---:|---:|",
    ]
    for s in sets:
        measured = f"{s['seconds'] / 60:.1f}" if s["files"] else ""
        estimate = f"{s['estimate'] / 60:.1f}" if s["estimate"] else ""
        lines.append(f"| {s['name']} | {s['files']} | {measured} | {estimate} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="timed seconds per lattice and mode"
    )
    parser.add_argument("--lattices", nargs="+", default=list(LATTICES), choices=list(LATTICES))
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for name in args.lattices:
        for device in devices:
            for compile in (True, False):
                row = time_steps(name, device, compile, args.seconds) | {
                    "name": name,
                    "device": device,
                }
                rows.append(row)
                mode = "compiled" if row["compiled"] else "eager"
                print(f"{name} {device} {mode}: {row['mlups']:.1f} MLUPS", flush=True)
    sets = []
    for name in args.lattices:
        rate = next(
            r["steps_per_s"]
            for r in rows
            if r["name"] == name and r["device"] == "cpu" and r["compiled"]
        )
        files, seconds, steps = measured_set(name)
        total = set_steps(name) or (steps / files * coronary.N_FULL if files else 0)
        sets.append({"name": name, "files": files, "seconds": seconds, "estimate": total / rate})
    section = render(rows, sets, args, load)
    print(section)
    if not args.no_write:
        write_section(args.out, "bench_lbm", section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
