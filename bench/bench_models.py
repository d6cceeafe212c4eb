"""Model latency on the CPU at batch 1: encode, step and decode per registered model.

Every model is built from its default ``cylinder2d`` temporal preset (128×128 vorticity;
DIANO and the CNN autoencoder with a 16×16 latent, the MLP autoencoder with 256 latent
values, the CNO on the field itself) with random weights, which do not change the cost.
Each operation runs ``--warmup`` times, then ``--blocks`` blocks of ``--runs`` times under
``torch.inference_mode`` with ``torch.set_num_threads(--threads)``; the median and the 95th
percentile of the block with the lowest median are reported (other jobs on a shared machine
only ever slow a block down).
Models with 4-D convolution weights are also timed in ``channels_last`` memory format and
the faster format is reported (on the CPU it helps some convolutions and slows others).

The result replaces the section between the ``bench_models`` markers of
``docs/benchmarks.md`` (created if missing), so other benchmark scripts keep theirs::

    .venv/bin/python bench/bench_models.py            # writes docs/benchmarks.md
    .venv/bin/python bench/bench_models.py --no-write # prints the section only
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from diano import MODEL_NAMES, __version__
from diano.models import build_model, default_config
from diano.reporting import cpu_name, write_section

BENCHMARK, SCENARIO = "cylinder2d", "temporal"
TARGET_MS = 10.0  # aim: DIANO encode + step + decode on 2 cores at 128×128
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def time_ms(fn: Callable[[], object], warmup: int, runs: int, blocks: int) -> tuple[float, float]:
    """Median and 95th percentile of ``fn``'s wall time in milliseconds.

    ``blocks`` blocks of ``runs`` calls are timed and the block with the lowest median is
    kept: on a shared machine other jobs slow some blocks down, never speed one up.
    """
    for _ in range(warmup):
        fn()
    best: tuple[float, float] | None = None
    for _ in range(blocks):
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1e3)
        samples.sort()
        p95 = samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)]
        if best is None or statistics.median(samples) < best[0]:
            best = (statistics.median(samples), p95)
    return best


def to_channels_last(model: torch.nn.Module) -> None:
    """Put the 4-D (conv) weights in channels_last; other parameters stay as they are."""
    for p in model.parameters():
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)


def measure(name: str, warmup: int, runs: int, blocks: int) -> dict:
    """Latency of one model in the faster of its memory formats."""
    config = default_config(name, BENCHMARK, SCENARIO)
    torch.manual_seed(0)
    base = build_model(name, config).eval()
    has_conv = any(p.dim() == 4 for p in base.parameters())
    best = None
    for fmt in ("contiguous", "channels_last") if has_conv else ("contiguous",):
        model = build_model(name, config).eval()
        model.load_state_dict(base.state_dict())
        u = torch.randn(1, len(config.in_channels), *config.grid_shape)
        if fmt == "channels_last":
            to_channels_last(model)
            u = u.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            z = model.encode(u)
            result = {
                "encode": time_ms(lambda m=model, x=u: m.encode(x), warmup, runs, blocks),
                "step": time_ms(lambda m=model, x=z: m.step(x), warmup, runs, blocks),
                "decode": time_ms(lambda m=model, x=z: m.decode(x), warmup, runs, blocks),
            }
        result["total"] = sum(result[op][0] for op in ("encode", "step", "decode"))
        if best is None or result["total"] < best["total"]:
            best = {**result, "format": fmt}
    latent = "×".join(map(str, base.latent_shape))
    return {"name": name, "params": base.n_parameters, "latent": latent, **best}


def render(
    rows: list[dict], args: argparse.Namespace, load: tuple[float, ...], end_load: float
) -> str:
    """The markdown section (its markers are added when it is written)."""
    ms = "{:.2f} / {:.2f}".format
    lines = [
        "## Model latency (CPU, batch 1)",
        "",
        f"Measured by `bench/bench_models.py` on {dt.date.today().isoformat()}: {cpu_name()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, diano {__version__}, "
        f"`torch.set_num_threads({args.threads})`; load average {load[0]:.2f} at the start "
        f"and {end_load:.2f} at the end (other jobs share this machine; p95 shows their "
        f"interference). Default `{BENCHMARK}` `{SCENARIO}` presets, 128×128 vorticity, "
        f"random weights, batch 1; median / p95 in ms over {args.runs} runs after "
        f"{args.warmup} warm-up runs (the block with the lowest median of {args.blocks}), "
        f"`torch.inference_mode`; the faster memory format is reported.",
        "",
        "| model | parameters | latent | memory format | encode | step | decode "
        "| encode + step + decode (median) |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['params']:,} | {r['latent']} | {r['format']} | "
            f"{ms(*r['encode'])} | {ms(*r['step'])} | {ms(*r['decode'])} | {r['total']:.2f} |"
        )
    diano = next((r for r in rows if r["name"] == "diano"), None)
    if diano is not None:
        verdict = "met" if diano["total"] <= TARGET_MS else "not met"
        lines += [
            "",
            f"Aim: DIANO encode + step + decode ≤ {TARGET_MS:g} ms on {args.threads} cores at "
            f"128×128 — **{verdict}** ({diano['total']:.2f} ms).",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=3, help="keep the least disturbed block")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    rows = []
    for name in args.models:
        rows.append(measure(name, args.warmup, args.runs, args.blocks))
        r = rows[-1]
        print(
            f"{name:7s} {r['format']:13s} encode {r['encode'][0]:8.2f}  step {r['step'][0]:8.2f}"
            f"  decode {r['decode'][0]:8.2f}  ms (median)",
            flush=True,
        )
    section = render(rows, args, load, os.getloadavg()[0])
    print(section)
    if not args.no_write:
        write_section(args.out, "bench_models", section)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
