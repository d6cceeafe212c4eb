"""The small samples committed under ``data/samples/``, cut from a generated set.

float16, gzip, written with :func:`diano.data.io.write_case` so that
``diano.data.load("<benchmark>")`` finds them, plus a sha256 ``manifest.json``:

* ``cylinder2d``: the held-out Re 180 and Re 225, 301 consecutive snapshots each, vorticity
  (128 × 128, ≈ 3 shedding periods);
* ``stenosis2d``: the last cycle of the held-out case, all channels;
* ``coronary3d``: the first six held-out geometries, all channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diano.errors import DataError


@dataclass(frozen=True)
class SampleSpec:
    """What to cut: source cases (file stems), channels and snapshot range."""

    cases: tuple[str, ...]
    channels: tuple[str, ...] | None
    n_times: int | None


SPECS = {
    "cylinder2d": SampleSpec(("cylinder2d_re180", "cylinder2d_re225"), ("vorticity",), 301),
    "stenosis2d": SampleSpec(("stenosis2d_s45_re110",), None, None),
    "coronary3d": SampleSpec(tuple(f"coronary3d_{i:04d}" for i in range(180, 186)), None, None),
}


def write_samples(
    benchmark: str, *, source: Path | None = None, out: Path | None = None, force: bool = False
) -> list[Path]:
    """Write the committed samples of ``benchmark`` and refresh the samples manifest.

    Args:
        benchmark: benchmark name.
        source: folder of the generated set (default: ``data_dir(benchmark)``).
        out: samples folder (default: ``diano.data.io.samples_dir()``).
        force: replace existing sample files.

    Returns:
        The files written.

    Raises:
        DataError: a source case is missing (generate the full set first).
    """
    from diano.data.io import (
        data_dir,
        read_case,
        samples_dir,
        sha256_file,
        write_case,
        write_manifest,
    )

    spec = SPECS[benchmark]
    source = Path(source) if source is not None else data_dir(benchmark)
    out = Path(out) if out is not None else samples_dir()
    written = []
    for name in spec.cases:
        path = source / f"{name}.h5"
        if not path.is_file():
            raise DataError(f"{path} is missing; run `diano generate {benchmark}` first")
        time = slice(0, spec.n_times) if spec.n_times is not None else None
        data = read_case(path, channels=list(spec.channels) if spec.channels else None, time=time)
        # the writer sets the format version and the creation time itself
        attrs = {k: v for k, v in data.attrs.items() if k not in ("format", "created")}
        attrs["sample_of"] = {
            "file": path.name,
            "sha256": sha256_file(path),
            "time_index": [int(data.time_index[0]), int(data.time_index[-1]) + 1],
        }
        coords = {k: (np.asarray(v), data.units.get(k, "")) for k, v in data.coords.items()}
        target = out / f"{name}.h5"
        written.append(
            write_case(
                target,
                data.fields,
                list(data.channels),
                data.mask.astype(np.uint8),
                coords,
                attrs,
                overwrite=force,
                dtype=np.float16,
                compression_level=9,
            )
        )
    write_manifest(out)
    return written
