"""Checkpoints: one safetensors file per model, a manifest with hashes, ``load_pretrained``.

Layout::

    checkpoints/<benchmark>/<model>-<scenario>.safetensors
    checkpoints/manifest.json
        {"format": 1, "files": {"<benchmark>/<model>-<scenario>.safetensors":
            {"sha256", "size", "model", "benchmark", "scenario", "metrics"}}}

A file holds the model's ``state_dict`` (weights and the normaliser buffers) as tensors and, in
its metadata (strings only), ``format``, ``model``, ``benchmark``, ``scenario``, ``config``
(JSON of the dataclass), ``normalizer``, ``metrics``, ``data_sha256``, ``code_version``,
``command`` (the training command that reproduces it), ``extra`` (free-form JSON: trained
horizon, PDE coefficients, dt mapping), ``dtype`` and ``complex_tensors``. Weights may be
stored in float16 (``half=True``) and come back as float32; buffers stay float32. Only
tensors and strings are stored, and nothing here uses a loader that can run code.

The root folder is the repository's ``checkpoints/`` unless ``$DIANO_CHECKPOINT_DIR`` (or a
``root`` argument) says otherwise. Command line: ``diano checkpoints [list|verify] [--root DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from diano import BENCHMARKS, SCENARIOS
from diano.data.io import code_version, sha256_file
from diano.device import resolve_device
from diano.errors import CheckpointError, ConfigError, DianoError
from diano.models.base import LatentModel
from diano.models.presets import DEFAULT_SCENARIO, supported_scenarios
from diano.models.registry import MODELS, build_model, config_from_dict, config_to_dict

FORMAT = 1
MANIFEST = "manifest.json"
ENV_ROOT = "DIANO_CHECKPOINT_DIR"
SUFFIX = ".safetensors"
_REQUIRED = ("format", "model", "benchmark", "scenario", "config", "normalizer", "metrics")


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint file says about itself (metadata decoded from JSON), plus its hash."""

    path: Path
    model: str
    benchmark: str
    scenario: str
    config: dict[str, Any]
    normalizer: dict[str, Any]
    metrics: dict[str, Any]
    data_sha256: str = ""
    code_version: str = ""
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float32"
    sha256: str = ""
    size: int = 0


@dataclass(frozen=True)
class ManifestEntry:
    """One file listed in ``manifest.json``; ``path`` is relative to the root (POSIX)."""

    path: str
    model: str
    benchmark: str
    scenario: str
    sha256: str
    size: int
    metrics: dict[str, Any]


# -- names and locations ------------------------------------------------------------------
def default_root() -> Path:
    """``$DIANO_CHECKPOINT_DIR`` if set, else the repository's ``checkpoints/`` folder."""
    env = os.environ.get(ENV_ROOT)
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[1] / "checkpoints"


def _check_names(benchmark: str, model: str, scenario: str | None) -> str:
    """Validate the names; return the scenario (the benchmark's main one when ``None``)."""
    if benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; valid: {list(BENCHMARKS)}")
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; valid: {sorted(MODELS)}")
    scenario = DEFAULT_SCENARIO[benchmark] if scenario is None else scenario
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario {scenario!r}; valid: {list(SCENARIOS)}")
    supported = supported_scenarios(model, benchmark)
    if not supported:
        benchmarks = [b for b in BENCHMARKS if supported_scenarios(model, b)]
        raise ConfigError(
            f"model {model!r} has no {benchmark!r} variant; valid benchmarks: {benchmarks}"
        )
    if scenario not in supported:
        raise ConfigError(
            f"model {model!r} has no scenario {scenario!r} on {benchmark!r}; "
            f"valid: {list(supported)}"
        )
    return scenario


def checkpoint_path(
    benchmark: str, model: str, scenario: str, root: str | os.PathLike | None = None
) -> Path:
    """``<root>/<benchmark>/<model>-<scenario>.safetensors`` (names are validated)."""
    scenario = _check_names(benchmark, model, scenario)
    return Path(root or default_root()) / benchmark / f"{model}-{scenario}{SUFFIX}"


def _names_from_path(path: Path) -> dict[str, str]:
    """The names a file's location implies (only those that parse as known names)."""
    names: dict[str, str] = {}
    if path.parent.name in BENCHMARKS:
        names["benchmark"] = path.parent.name
    model, _, scenario = path.name.removesuffix(SUFFIX).partition("-")
    if model in MODELS and scenario in SCENARIOS:
        names.update(model=model, scenario=scenario)
    return names


# -- saving -------------------------------------------------------------------------------
def save_checkpoint(
    model: LatentModel,
    path: str | os.PathLike,
    *,
    benchmark: str,
    metrics: dict[str, Any],
    data_sha256: str,
    command: str,
    extra: dict[str, Any] | None = None,
    half: bool = False,
) -> CheckpointInfo:
    """Write ``model`` to ``path`` (atomically: a temporary file renamed into place).

    Args:
        model: a registered model (its ``name`` is a key of ``MODELS``).
        path: target file; under the standard layout its folder and name must agree with
            ``benchmark``, ``model.name`` and ``model.scenario``.
        benchmark: benchmark the model was trained on.
        metrics: JSON-serialisable evaluation results (scalars become the manifest's
            headline metrics).
        data_sha256: hash of the training data (file or manifest).
        command: the command that reproduces the training run.
        extra: free-form JSON (trained horizon, latent PDE coefficients, dt mapping, ...).
        half: store floating-point weights in float16 (buffers stay float32).

    Raises:
        ConfigError: unknown names. CheckpointError: the path contradicts the names, or the
            metadata is not JSON-serialisable.
    """
    path = Path(path)
    _check_names(benchmark, model.name, model.scenario)
    expected = {"benchmark": benchmark, "model": model.name, "scenario": model.scenario}
    for key, value in _names_from_path(path).items():
        if value != expected[key]:
            raise CheckpointError(
                f"checkpoint {path}: the path says {key} {value!r}, the model is {expected[key]!r}"
            )
    buffers = {name for name, _ in model.named_buffers()}
    tensors: dict[str, torch.Tensor] = {}
    complex_keys = []
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu")
        if tensor.is_complex():
            complex_keys.append(key)
            tensor = torch.view_as_real(tensor)  # (..., 2) real pairs, so half storage works
        if half and tensor.is_floating_point() and key not in buffers:
            tensor = tensor.half()
        tensors[key] = tensor.contiguous().clone()  # safetensors refuses shared storage
    try:
        metadata = {
            "format": str(FORMAT),
            **expected,
            "config": json.dumps(config_to_dict(model.config)),
            "normalizer": json.dumps(
                {"in": model.in_norm.as_dict(), "out": model.out_norm.as_dict()}
            ),
            "metrics": json.dumps(metrics),
            "data_sha256": str(data_sha256),
            "code_version": code_version(),
            "command": str(command),
            "extra": json.dumps(extra or {}),
            "dtype": "float16" if half else "float32",
            "complex_tensors": json.dumps(complex_keys),
            "n_parameters": str(model.n_parameters),
        }
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint {path}: metadata is not JSON-serialisable: {exc}"
        ) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return read_checkpoint_info(path)


# -- reading ------------------------------------------------------------------------------
def _decode_metadata(path: Path, raw: dict[str, str] | None) -> dict[str, Any]:
    if not raw:
        raise CheckpointError(f"checkpoint {path}: the file has no metadata")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise CheckpointError(f"checkpoint {path}: metadata lacks {missing}")
    if raw["format"] != str(FORMAT):
        raise CheckpointError(
            f"checkpoint {path}: format {raw['format']!r} is not supported (this version "
            f"reads {FORMAT})"
        )
    meta: dict[str, Any] = dict(raw)
    for key in ("config", "normalizer", "metrics", "extra", "complex_tensors"):
        if key in raw:
            try:
                meta[key] = json.loads(raw[key])
            except ValueError as exc:
                raise CheckpointError(
                    f"checkpoint {path}: metadata {key!r} is not JSON: {exc}"
                ) from exc
    if meta["model"] not in MODELS:
        raise CheckpointError(
            f"checkpoint {path}: unknown model {meta['model']!r}; valid: {sorted(MODELS)}"
        )
    for key, value in _names_from_path(path).items():
        if meta[key] != value:
            raise CheckpointError(
                f"checkpoint {path}: metadata names {key} {meta[key]!r}, the path says {value!r}"
            )
    return meta


def _info(path: Path, meta: dict[str, Any], sha256: str, size: int) -> CheckpointInfo:
    known = {f.name for f in fields(CheckpointInfo)} - {"path", "sha256", "size"}
    values = {key: value for key, value in meta.items() if key in known}
    return CheckpointInfo(path=path, sha256=sha256, size=size, **values)


def read_checkpoint_info(path: str | os.PathLike) -> CheckpointInfo:
    """Read and check a checkpoint's metadata without building the model."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: the file is missing")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = _decode_metadata(path, f.metadata())
    except (SafetensorError, OSError, ValueError) as exc:
        if isinstance(exc, DianoError):
            raise
        raise CheckpointError(
            f"checkpoint {path}: unreadable header (truncated or corrupted): {exc}"
        ) from exc
    return _info(path, meta, sha256_file(path), path.stat().st_size)


def _check_against_manifest(path: Path, manifest: Path) -> None:
    entries = _read_manifest(manifest)
    try:
        key = path.resolve().relative_to(manifest.resolve().parent).as_posix()
    except ValueError:
        raise CheckpointError(
            f"checkpoint {path}: not inside the folder of the manifest {manifest}"
        ) from None
    if key not in entries:
        raise CheckpointError(f"checkpoint {path}: not listed in the manifest {manifest}")
    entry = entries[key]
    size = path.stat().st_size
    if size != entry.get("size"):
        kind = "truncated" if size < entry.get("size", 0) else "wrong size"
        raise CheckpointError(
            f"checkpoint {path}: {kind}: {size} bytes, the manifest says {entry.get('size')}"
        )
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        raise CheckpointError(
            f"checkpoint {path}: sha256 mismatch (corrupted or modified): "
            f"{digest[:16]}… vs {str(entry.get('sha256'))[:16]}… in the manifest"
        )


def load_checkpoint(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    manifest: str | os.PathLike | None = None,
) -> tuple[LatentModel, CheckpointInfo]:
    """Rebuild a model from a checkpoint file, in eval mode on ``device``.

    Args:
        path: the ``.safetensors`` file.
        device: "cpu", "cuda" or "auto".
        manifest: a ``manifest.json`` whose entry for ``path`` (relative to the manifest's
            folder) must match the file's size and sha256.

    Raises:
        CheckpointError: the file is missing, truncated, corrupted (unreadable header or hash
            mismatch), unlisted, its metadata contradicts its path, or its config does not
            fit its weights (missing, unexpected or differently shaped tensors).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: the file is missing")
    if manifest is not None:
        _check_against_manifest(path, Path(manifest))
    info = read_checkpoint_info(path)
    try:
        model = build_model(info.model, config_from_dict(info.model, info.config))
    except ConfigError as exc:
        raise CheckpointError(
            f"checkpoint {path}: its config does not build a model: {exc}"
        ) from exc
    if model.scenario != info.scenario:
        raise CheckpointError(
            f"checkpoint {path}: metadata scenario {info.scenario!r}, config {model.scenario!r}"
        )
    expected = model.state_dict()
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            complex_keys = set(json.loads(f.metadata().get("complex_tensors", "[]")))
            stored = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: unreadable tensors: {exc}") from exc
    missing, unexpected = sorted(set(expected) - set(stored)), sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {path}: the config does not fit the weights: missing tensors "
            f"{missing[:5]}{' …' if len(missing) > 5 else ''}, unexpected tensors "
            f"{unexpected[:5]}{' …' if len(unexpected) > 5 else ''}"
        )
    state = {}
    for key, target in expected.items():
        tensor = stored[key]
        if key in complex_keys:
            tensor = torch.view_as_complex(tensor.float().contiguous())
        if tuple(tensor.shape) != tuple(target.shape):
            raise CheckpointError(
                f"checkpoint {path}: the config does not fit the weights: tensor {key!r} has "
                f"shape {tuple(tensor.shape)} in the file, the config builds {tuple(target.shape)}"
            )
        state[key] = tensor.to(target.dtype)
    model.load_state_dict(state, strict=True)
    return model.to(resolve_device(device)).eval(), info


# -- manifest -----------------------------------------------------------------------------
def _read_manifest(manifest: Path) -> dict[str, dict[str, Any]]:
    if not manifest.is_file():
        raise CheckpointError(f"manifest {manifest}: the file is missing")
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"manifest {manifest}: unreadable JSON: {exc}") from exc
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("files"), dict)
    ):
        raise CheckpointError(
            f'manifest {manifest}: expected {{"format": {FORMAT}, "files": {{...}}}}'
        )
    return data["files"]


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The scalar metrics (numbers and short strings) of a checkpoint, for the manifest."""
    return {
        k: v
        for k, v in metrics.items()
        if isinstance(v, (int, float)) or (isinstance(v, str) and len(v) <= 80)
    }


def update_manifest(
    path: str | os.PathLike, root: str | os.PathLike | None = None
) -> ManifestEntry:
    """Add or refresh the manifest entry of the checkpoint ``path`` under ``root``."""
    root = Path(root or default_root())
    path = Path(path)
    info = read_checkpoint_info(path)
    try:
        key = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise CheckpointError(f"checkpoint {path}: not inside the checkpoint root {root}") from None
    manifest = root / MANIFEST
    files = _read_manifest(manifest) if manifest.is_file() else {}
    entry = ManifestEntry(
        key, info.model, info.benchmark, info.scenario, info.sha256, info.size,
        _headline(info.metrics),
    )  # fmt: skip
    files[key] = {k: v for k, v in asdict(entry).items() if k != "path"}
    text = json.dumps({"format": FORMAT, "files": dict(sorted(files.items()))}, indent=2)
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=root)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, manifest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return entry


def list_checkpoints(root: str | os.PathLike | None = None) -> list[ManifestEntry]:
    """The checkpoints the manifest under ``root`` lists, sorted by path."""
    files = _read_manifest(Path(root or default_root()) / MANIFEST)
    names = ("model", "benchmark", "scenario", "sha256", "size")
    return [
        ManifestEntry(key, *(entry.get(f, "") for f in names), entry.get("metrics", {}))
        for key, entry in sorted(files.items())
    ]


def verify_manifest(root: str | os.PathLike | None = None) -> list[str]:
    """Check every listed file (size, sha256, metadata, weights against config) and look for
    unlisted ones; return one line per problem (empty when all is well)."""
    root = Path(root or default_root())
    manifest = root / MANIFEST
    try:
        files = _read_manifest(manifest)
    except CheckpointError as exc:
        return [str(exc)]
    problems = []
    for key in sorted(files):
        try:
            load_checkpoint(root / key, manifest=manifest)
        except DianoError as exc:
            problems.append(str(exc))
    for path in sorted(root.rglob(f"*{SUFFIX}")):
        if path.relative_to(root).as_posix() not in files:
            problems.append(f"checkpoint {path}: not listed in the manifest {manifest}")
    return problems


def load_pretrained(
    benchmark: str,
    model: str,
    scenario: str | None = None,
    device: str | torch.device = "cpu",
    root: str | os.PathLike | None = None,
) -> LatentModel:
    """Load a shipped checkpoint, verified against the manifest, in eval mode.

    Args:
        benchmark: "cylinder2d", "stenosis2d" or "coronary3d".
        model: "diano", "cno", "cnn_ae" or "mlp_ae".
        scenario: default: the benchmark's main scenario (cylinder2d: temporal,
            stenosis2d: geometric, coronary3d: many_to_one).
        device: "cpu", "cuda" or "auto".
        root: checkpoint folder (default ``$DIANO_CHECKPOINT_DIR`` or the repository's).

    Raises:
        ConfigError: unknown benchmark, model or scenario (the message lists valid names).
        CheckpointError: no such checkpoint, or it fails verification.
    """
    scenario = _check_names(benchmark, model, scenario)
    root = Path(root or default_root())
    path = checkpoint_path(benchmark, model, scenario, root)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path}: the file is missing; no pretrained {model} for {benchmark} "
            f"({scenario}) yet — train one with `diano train`"
        )
    return load_checkpoint(path, device=device, manifest=root / MANIFEST)[0]


# -- command line -------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("list", "verify"),
        default="list",
        help="list the manifest's checkpoints, or verify every file against it",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help=f"checkpoint folder (default ${ENV_ROOT} or ./checkpoints)",
    )


def run(args: argparse.Namespace) -> int:
    root = Path(args.root or default_root())
    if args.action == "verify":
        problems = verify_manifest(root)
        for line in problems:
            print(f"BAD  {line}")
        print(f"{len(problems)} problem(s) in {root / MANIFEST} and the files it lists")
        return 1 if problems else 0
    entries = list_checkpoints(root)
    if not entries:
        print(f"no checkpoints listed in {root / MANIFEST}")
    for e in entries:
        metrics = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in e.metrics.items()
        )
        print(f"{e.path:48s} {e.size / 2**20:6.2f} MiB  {metrics}")
    return 0
