"""``diano generate``: make a benchmark's data set with the lattice-Boltzmann generators.

    diano generate cylinder2d|stenosis2d|coronary3d [--device auto] [--out DIR] [--quick]
                   [--seed N] [--force] [--workers N] [--eager] [--only NAME ...]
    diano generate cylinder2d|stenosis2d|coronary3d --samples [--out DIR]

Files go to ``diano.data.io.data_dir(<benchmark>)`` (``$DIANO_DATA_DIR`` or the user cache;
``--quick`` sets go to its ``quick/`` sub-folder), one HDF5 file per case, plus a sha256
``manifest.json``. Existing files are kept and skipped (so an interrupted run resumes)
unless ``--force``. A case that fails its checks leaves no file; the others go on, and the
run ends by listing the failures with exit status 1. ``--samples`` writes the small float16
samples committed under ``data/samples/`` from an already generated set.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from diano.errors import DataError, ValidationError

#: errors that fail one case and let the others go on (anything else stops the run)
CASE_ERRORS = (DataError, ValidationError)
BENCHMARK_NAMES = ("cylinder2d", "stenosis2d", "coronary3d")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate`` options to ``parser``."""
    parser.add_argument("benchmark", choices=BENCHMARK_NAMES, help="which data set to make")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: the data cache)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small, fast set with the same layout"
    )
    parser.add_argument("--seed", type=int, default=0, help="base random seed (default: 0)")
    parser.add_argument(
        "--force", action="store_true", help="regenerate and replace existing files"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="cases run in parallel processes (default: 1)"
    )
    parser.add_argument("--eager", action="store_true", help="do not use torch.compile")
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NAME",
        help="only cases whose name contains NAME",
    )
    parser.add_argument(
        "--samples",
        action="store_true",
        help="write the committed float16 samples (data/samples) from the generated set",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the requested set; returns the exit status (0 on success)."""
    from diano.data.generators import generator
    from diano.data.io import data_dir, write_manifest

    if args.samples:
        from diano.data.generators.samples import write_samples

        for path in write_samples(args.benchmark, out=args.out, force=args.force):
            print(f"wrote {path}")
        return 0
    from diano.device import resolve_device
    from diano.errors import ConfigError

    if args.workers < 1:
        raise ConfigError(f"--workers must be ≥ 1, got {args.workers}")
    resolve_device(args.device)  # an unknown or absent device fails before any work
    module = generator(args.benchmark)
    configs = module.cases(quick=args.quick, seed=args.seed)
    if args.only:
        names = [c.name for c in configs]
        configs = [c for c in configs if any(s in c.name for s in args.only)]
        if not configs:
            shown = names if len(names) <= 8 else [*names[:3], "...", *names[-3:]]
            raise ConfigError(
                f"--only {' '.join(args.only)} matches none of the {len(names)} "
                f"{args.benchmark} cases {shown}"
            )
    out = (
        args.out
        if args.out is not None
        else data_dir(args.benchmark) / ("quick" if args.quick else "")
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [c for c in configs if not _done(out / f"{c.name}.h5", args.force)]
    print(
        f"{args.benchmark}: {len(configs)} cases in {out}; "
        f"{len(configs) - len(todo)} already there, {len(todo)} to make"
    )
    options = {"device": args.device, "overwrite": args.force, "compile": not args.eager}
    failed: list[str] = []
    if args.workers == 1 or len(todo) <= 1:
        for cfg in tqdm(todo, desc=args.benchmark, unit="case", disable=len(todo) <= 1):
            try:
                _report(_run_one(args.benchmark, cfg, out, options, progress=True, threads=None))
            except CASE_ERRORS as exc:
                failed.append(_failure(cfg.name, exc))
    else:
        threads = max(1, (os.cpu_count() or 1) // args.workers)
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
            futures = {
                pool.submit(_run_one, args.benchmark, cfg, out, options, False, threads): cfg.name
                for cfg in todo
            }
            for future in tqdm(
                cf.as_completed(futures), total=len(futures), desc=args.benchmark, unit="case"
            ):
                try:
                    _report(future.result())
                except CASE_ERRORS as exc:
                    failed.append(_failure(futures[future], exc))
    manifest = write_manifest(out)
    print(f"manifest: {manifest}")
    if failed:
        print(f"{len(failed)} of {len(todo)} cases failed (no file written for them):")
        for line in failed:
            print(f"  {line}")
        return 1
    return 0


def _failure(name: str, exc: Exception) -> str:
    """One line for a failed case; printed at once so a long run shows it as it happens."""
    line = f"{name}: {exc}"
    tqdm.write(f"FAILED {line}")
    return line


def _done(path: Path, force: bool) -> bool:
    """True when ``path`` holds a complete, readable case file that is to be kept."""
    if force or not path.exists():
        return False
    from diano.data.io import read_info

    try:
        read_info(path)
    except DataError as exc:
        raise DataError(
            f"{path} exists but is not a valid case file ({exc}); rerun with --force"
        ) from exc
    return True


def _run_one(
    benchmark: str,
    cfg: Any,
    out: Path,
    options: dict[str, Any],
    progress: bool,
    threads: int | None,
) -> dict[str, Any]:
    """Generate and write one case (also the worker entry point)."""
    import torch

    from diano.data.generators import generate_case, generator
    from diano.device import resolve_device

    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    attrs = generate_case(
        generator(benchmark),
        cfg,
        out / f"{cfg.name}.h5",
        device=resolve_device(options["device"]),
        overwrite=options["overwrite"],
        compile=options["compile"],
        progress=progress,
    )
    return {"name": cfg.name, "seconds": time.perf_counter() - start, "attrs": attrs}


def _report(result: dict[str, Any]) -> None:
    attrs = result["attrs"]
    checks = attrs.get("checks", {})
    parts = [
        f"{result['name']}: {result['seconds']:.0f} s",
        f"max lattice speed {checks.get('max_lattice_speed', float('nan')):.3f}",
    ]
    if "St" in attrs:
        parts.append(f"St {attrs['St']:.4f}")
    if "flux_ratios" in checks:
        parts.append(f"flux ratios {[round(r, 4) for r in checks['flux_ratios']]}")
    if "cycle_mismatch" in checks:
        parts.append(f"cycle mismatch {checks['cycle_mismatch']:.2%}")
    tqdm.write("; ".join(parts))
