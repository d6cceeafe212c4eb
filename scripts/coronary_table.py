"""Print the coronary3d table of ``docs/data.md`` from the generated files.

    DIANO_DATA_DIR=/work/data .venv/bin/python scripts/coronary_table.py

Reads every ``coronary3d_*.h5`` of the set (attributes only) and prints the markdown: the
split, the ranges of Re, severity, τ and the checks made when each file was written, the
centreline kinds, and the draws that were replaced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import h5py
import numpy as np

from diano.data import data_dir

ROWS = (
    ("Re = UD/ν", "re", "{:.1f}"),
    ("severity s", "severity", "{:.2f}"),
    ("τ", "tau", "{:.4f}"),
    ("largest flux deviation at ¼, ½, ¾ length", "flux", "{:.1e}"),
    ("field change over the last half flow-through", "change", "{:.1e}"),
    ("flow-throughs to steady state", "flow_throughs", "{:.1f}"),
    ("lattice steps", "steps", "{:,.0f}"),
    ("max lattice speed", "speed", "{:.3f}"),
    ("wall time, s (1 thread per case)", "wall", "{:.0f}"),
)


def _attr(f: h5py.File, key: str):
    value = f.attrs[key]
    return json.loads(value) if key in json.loads(f.attrs.get("json_attrs", "[]")) else value


def read(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("coronary3d_*.h5")):
        with h5py.File(path, "r") as f:
            checks, geo = _attr(f, "checks"), _attr(f, "geometry")
            rows.append(
                {
                    "name": path.stem,
                    "split": str(f.attrs["split"]),
                    "re": float(f.attrs["Re"]),
                    "severity": float(f.attrs["severity"]),
                    "tau": float(f.attrs["tau"]),
                    "flux": float(np.max(np.abs(np.asarray(checks["flux_ratios"]) - 1.0))),
                    "change": float(checks["field_change"]),
                    "flow_throughs": float(checks["flow_throughs"]),
                    "steps": float(checks["steps"]),
                    "speed": float(checks["max_lattice_speed"]),
                    "wall": float(f.attrs["wall_seconds"]),
                    "kind": str(geo["kind"]),
                    "eccentric": float(geo.get("eccentricity", 0.0)) > 0.0,
                    "replaced": checks.get("replaced_draws", []),
                }
            )
    return rows


def table(rows: list[dict], expected: int) -> str:
    n = len(rows)
    splits = {s: sum(r["split"] == s for r in rows) for s in ("train", "heldout")}
    lines = [
        f"Checks when written, and what the generated files hold ({n} files: "
        f"{splits['train']} train, {splits['heldout']} held out)."
        + ("" if n == expected else f" **{n} of the {expected} samples were generated.**"),
        "",
        "| quantity | min | median | max |",
        "|---|---:|---:|---:|",
    ]
    for label, key, fmt in ROWS:
        v = np.array([r[key] for r in rows])
        lines.append(
            f"| {label} | {fmt.format(v.min())} | {fmt.format(np.median(v))} | "
            f"{fmt.format(v.max())} |"
        )
    kinds = {k: sum(r["kind"] == k for r in rows) for k in sorted({r["kind"] for r in rows})}
    lines += [
        "",
        "Centrelines: "
        + ", ".join(f"{v} {k}" for k, v in kinds.items())
        + f"; {sum(r['eccentric'] for r in rows)} eccentric stenoses.",
    ]
    lines.append(
        "A draw whose run fails its checks is replaced by the next draw of the same index (at "
        "most 3 times) and the file keeps the failure it replaced (`checks.replaced_draws`)."
    )
    replaced = [(r["name"], why) for r in rows for why in r["replaced"]]
    lines += [f"- {name}, {why}" for name, why in replaced] or ["No draw was replaced."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", type=Path, default=None, help="default: $DIANO_DATA_DIR/coronary3d"
    )
    parser.add_argument("--expected", type=int, default=200)
    args = parser.parse_args(argv)
    folder = args.dir or data_dir() / "coronary3d"
    rows = read(folder)
    if not rows:
        print(f"no coronary3d files in {folder}", file=sys.stderr)
        return 1
    print(table(rows, args.expected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
