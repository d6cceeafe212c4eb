"""The small samples committed under ``data/samples/``, cut from a generated set.

float16, gzip, written with :func:`diano.data.io.write_case` so that
``diano.data.load("<benchmark>")`` finds them, plus a sha256 ``manifest.json``:

* ``cylinder2d``: the held-out Re 180 and Re 225, 301 consecutive snapshots each, vorticity
  (128 × 128, ≈ 3 shedding periods);
* ``stenosis2d``: the last cycle of the held-out case, all channels;
* ``coronary3d``: the first six held-out geometries, all channels.

Fine-grid references (:func:`write_fine_reference`, :data:`FINE_SPECS`): the held-out
cylinder Re 180 stored at every lattice node (256 × 256, ``stride=1``) for the sample's first
32 snapshots, ``fine_cylinder2d_re180.h5``: the same run as the sample, so every second node
of it is the sample. The ``fine_`` prefix keeps it out of ``diano.data.load("cylinder2d")``;
its ``sample_kind`` attribute is ``"fine_reference"``. Made with::

    python -c "from diano.data.generators.samples import write_fine_reference as w; w()"
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


# -- fine-grid references --------------------------------------------------------------
@dataclass(frozen=True)
class FineSpec:
    """A fine-grid reference of a committed sample: the same run stored at every lattice node.

    Attributes:
        case: the sample it refines (file stem); the reference holds its first ``n_times``
            snapshots at ``stride`` instead of the sample's stride.
        stride: lattice stride of the reference (the sample's is 2).
        n_times: snapshots kept.
        channels: channels kept.
    """

    case: str
    stride: int
    n_times: int
    channels: tuple[str, ...]


#: the committed fine references: the cylinder's held-out Re 180 on the 256 × 256 lattice
FINE_SPECS = {"cylinder2d": FineSpec("cylinder2d_re180", 1, 32, ("vorticity",))}
#: prefix of fine-reference files: ``diano.data.load(benchmark)`` reads ``<benchmark>_*.h5``
#: only, so a reference never shows up as a case of its own
FINE_PREFIX = "fine_"


def fine_reference_path(case: str, folder: Path | None = None) -> Path:
    """Where the fine reference of sample ``case`` (file stem) lives (it may not exist)."""
    from diano.data.io import samples_dir

    return (Path(folder) if folder is not None else samples_dir()) / f"{FINE_PREFIX}{case}.h5"


def write_fine_reference(
    benchmark: str = "cylinder2d",
    *,
    out: Path | None = None,
    device: str = "cpu",
    force: bool = False,
    result=None,
) -> Path:
    """Simulate and write the fine reference of ``benchmark``'s sample (``FINE_SPECS``).

    The run is the sample's case (the configuration stored in the sample file) with the
    window stored every ``spec.stride``-th node and ``spec.n_times`` snapshots, so its
    snapshots fall at the sample's first times and sub-sampling it by ``2 // stride`` gives
    the sample. The shedding check needs several periods and is skipped for this short
    record; the stability checks run. float16, gzip; the samples manifest is refreshed.

    Args:
        benchmark: benchmark with an entry in :data:`FINE_SPECS`.
        out: samples folder (default: ``samples_dir()``), which must hold the sample.
        device: where the lattice runs (the Re 180 case takes about a minute or two of CPU).
        force: replace an existing reference.
        result: an already simulated :class:`~diano.data.generators.common.CaseResult` of
            that configuration (skips the simulation).

    Raises:
        DataError: no fine reference is defined for ``benchmark``, or the sample is missing.
    """
    from diano.data.generators.cylinder import CylinderConfig, run_case
    from diano.data.io import read_info, samples_dir, write_case, write_manifest

    if benchmark not in FINE_SPECS:
        raise DataError(
            f"no fine reference is defined for {benchmark!r}; known: {list(FINE_SPECS)}"
        )
    spec = FINE_SPECS[benchmark]
    out = Path(out) if out is not None else samples_dir()
    sample = out / f"{spec.case}.h5"
    if not sample.is_file():
        raise DataError(f"{sample} is missing; the fine reference refines that sample")
    config = dict(read_info(sample).attrs["config"])
    config.update(stride=spec.stride, n_snapshots=spec.n_times)
    cfg = CylinderConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
    if result is None:
        result = run_case(cfg, device, check_shedding=False)
    keep = [result.channels.index(c) for c in spec.channels]
    attrs = dict(result.attrs)
    attrs.update(
        sample_kind="fine_reference",
        reference_of={"file": sample.name, "stride_ratio": 2 // spec.stride},
    )
    return_path = write_case(
        fine_reference_path(spec.case, out),
        result.fields[: spec.n_times, keep],
        list(spec.channels),
        result.mask.astype(np.uint8),
        {
            k: (np.asarray(v)[: spec.n_times] if k == "t" else np.asarray(v), u)
            for k, (v, u) in result.coords.items()
        },
        attrs,
        overwrite=force,
        dtype=np.float16,
        compression_level=9,
    )
    write_manifest(out)
    return return_path
